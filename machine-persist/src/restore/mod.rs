//! Restore: latest snapshot + the journal after it, folded with the machine's own handlers.
//!
//! Folding runs [`Machine::transition`](machine_core::Machine::transition) on every journaled
//! event after the snapshot, exactly as the live actor did, and performs no effect. Anything that
//! does not fit — an undecodable payload, a version gap, an event the machine now refuses — is a
//! typed error naming the actor and the version; it never panics and never touches another actor.

mod fold;
mod report;

pub(crate) use fold::{fold_events, load, Folded};
pub use report::RestoreReport;
