//! Restore: latest snapshot + the journal after it, folded with the machine's own handlers.
//!
//! Folding runs [`Machine::transition`](machine_core::Machine::transition) on every journaled
//! event after the snapshot, exactly as the live actor did, and performs no effect. Anything that
//! does not fit — an undecodable payload, a version gap, an event the machine now refuses — is a
//! typed error naming the actor and the version; it never panics and never touches another actor.
//!
//! Before an actor is started, what was stored must agree with itself: the registry's machine
//! type is the repository's, no snapshot is above the registry's head, and the journal ends
//! exactly at that head. An actor whose data disagrees would conflict on every call and stop,
//! and restoring it would repeat the cycle, so it fails to restore with
//! [`PersistError::Inconsistent`](crate::PersistError::Inconsistent) instead. An actor with
//! journaled events but no snapshot folds from the configured initial state, or fails with
//! [`PersistError::MissingGenesis`](crate::PersistError::MissingGenesis); it is never reported
//! as having nothing stored.

mod fold;
mod report;

pub(crate) use fold::{fold_events, fold_one, Folded, Loader};
pub use report::{Listing, RestoreReport};
