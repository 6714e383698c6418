//! The identifier of a persisted actor, and the one rule every backend holds ids to.
//!
//! Every row the store keeps is keyed by an [`ActorId`], the runtime's own id type. Databases
//! differ in what a key may hold: Postgres refuses text with a NUL byte and index entries beyond
//! about 2.7 KB, SQLite and memory accept anything. So the framework applies one rule of its own,
//! the same everywhere, before an id reaches a store: **an actor id is 1 to
//! [`MAX_ACTOR_ID_BYTES`] bytes of UTF-8 without a NUL**; a machine type the same, up to
//! [`MAX_MACHINE_TYPE_BYTES`]. A request that breaks it is refused alone, with a typed
//! [`InvalidId`], at `spawn`, `restore` and `call` time and by every backend's append.

use std::fmt;

pub use machine_core::ActorId;

/// The longest actor id accepted, in bytes.
pub const MAX_ACTOR_ID_BYTES: usize = 512;

/// The longest machine type accepted, in bytes.
pub const MAX_MACHINE_TYPE_BYTES: usize = 128;

/// Which kind of name broke the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// An actor id.
    ActorId,
    /// A machine type.
    MachineType,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::ActorId => "actor id",
            IdKind::MachineType => "machine type",
        })
    }
}

/// What is wrong with a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdProblem {
    /// It has no bytes.
    #[error("it is empty")]
    Empty,
    /// It is longer than the limit.
    #[error("it is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// It contains a NUL byte.
    #[error("it contains a NUL byte at byte {at}")]
    Nul {
        /// The offset of the first NUL.
        at: usize,
    },
}

/// An actor id or machine type that breaks the storage rule.
///
/// ```
/// use machine_persist::store::{check_actor_id, IdProblem};
///
/// assert!(check_actor_id("order-1").is_ok());
/// let error = check_actor_id("a\0b").unwrap_err();
/// assert_eq!(error.problem, IdProblem::Nul { at: 1 });
/// assert!(check_actor_id(&"x".repeat(513)).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {preview}: {problem}")]
pub struct InvalidId {
    /// Actor id or machine type.
    pub kind: IdKind,
    /// The start of the rejected name, escaped (at most 64 characters).
    pub preview: String,
    /// What is wrong with it.
    pub problem: IdProblem,
}

fn check(kind: IdKind, name: &str, max: usize) -> Result<(), InvalidId> {
    let problem = if name.is_empty() {
        IdProblem::Empty
    } else if name.len() > max {
        IdProblem::TooLong {
            len: name.len(),
            max,
        }
    } else if let Some(at) = name.bytes().position(|byte| byte == 0) {
        IdProblem::Nul { at }
    } else {
        return Ok(());
    };
    let head: String = name.chars().take(64).collect();
    Err(InvalidId {
        kind,
        preview: format!("{head:?}"),
        problem,
    })
}

/// Checks an actor id against the storage rule (1 to [`MAX_ACTOR_ID_BYTES`] bytes, no NUL).
pub fn check_actor_id(id: &str) -> Result<(), InvalidId> {
    check(IdKind::ActorId, id, MAX_ACTOR_ID_BYTES)
}

/// Checks the id of a store operation against the storage rule: a hostile id is the same typed
/// error on every backend.
pub(crate) fn valid(actor_id: &ActorId) -> Result<(), crate::StoreError> {
    Ok(check_actor_id(actor_id.as_str())?)
}

/// Checks a machine type against the storage rule (1 to [`MAX_MACHINE_TYPE_BYTES`] bytes, no
/// NUL).
pub fn check_machine_type(machine_type: &str) -> Result<(), InvalidId> {
    check(IdKind::MachineType, machine_type, MAX_MACHINE_TYPE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_is_length_and_no_nul() {
        assert!(check_actor_id("a").is_ok());
        assert!(check_actor_id(&"é".repeat(256)).is_ok());
        assert_eq!(check_actor_id("").unwrap_err().problem, IdProblem::Empty);
        assert_eq!(
            check_actor_id(&"é".repeat(257)).unwrap_err().problem,
            IdProblem::TooLong { len: 514, max: 512 }
        );
        let nul = check_machine_type("Ord\0er").unwrap_err();
        assert_eq!(nul.problem, IdProblem::Nul { at: 3 });
        assert_eq!(
            nul.to_string(),
            r#"invalid machine type "Ord\0er": it contains a NUL byte at byte 3"#
        );
    }

    #[test]
    fn a_huge_id_is_previewed_not_copied() {
        let error = check_actor_id(&"y".repeat(100_000)).unwrap_err();
        assert!(error.to_string().len() < 200);
    }
}
