//! The divergence check: does today's code still replay yesterday's history?
//!
//! Restore and time travel trust that folding the journal with the current handlers reaches the
//! states the actor really went through. That holds only while handlers stay pure and
//! compatible: a handler that reads the clock, or a change of logic deployed over an existing
//! journal, silently gives every restored actor a different state. The journal alone cannot tell,
//! because events do not record the state after them; what can tell are the states written at the
//! time — every stored snapshot, and the registry's state tag and head.
//!
//! [`Repository::verify`](crate::Repository::verify) folds an actor's whole journal with the current code, through the same
//! fold as restore and [`state_at`](crate::Repository::state_at), and compares the result with
//! each of those records; [`Repository::verify_all`](crate::Repository::verify_all) does it for every actor a filter selects.
//! Nothing is written and no running actor is touched. The [`Verification`] names the first
//! version where the records and the replay part ways, with both states, so a test or a CI job
//! can run it against a copy of production data before a deploy:
//!
//! ```no_run
//! # async fn check<M: machine_persist::Persistable>(orders: machine_persist::Repository<M>)
//! # -> Result<(), machine_persist::PersistError> {
//! let report = orders.verify_all(machine_persist::ActorFilter::new()).await?;
//! assert!(report.is_consistent(), "{report}");
//! # Ok(()) }
//! ```
//!
//! A divergence can only be seen where something was recorded: with the default snapshot
//! schedule (every 100 events) a change at version 3 shows at the first snapshot after it, or at
//! the head. Snapshot more often, or verify actors with short histories, to pin it down exactly.

mod check;
mod report;

pub use report::{Divergence, Verification, VerifyReport};
