//! Durable actions: the transactional outbox and its dispatcher.
//!
//! A transition action declared with [`Actions::durable`](machine_core::Actions::durable) is a
//! value (a [`DurableAction`](machine_core::DurableAction)), registered per machine type with
//! [`PersistConfig::durable`](crate::PersistConfig::durable). When its step commits, the
//! journal writer stores the action in the same transaction as the event (one more multi-row
//! insert on SQLite, one more data-modifying CTE of the same single statement on Postgres), so
//! the action exists exactly when its event does: never for an event that was not committed,
//! always for one that was.
//!
//! # The delivery guarantee
//!
//! * **At least once, after the commit.** Every stored action runs until an attempt succeeds or
//!   its retry [`Schedule`](machine_core::Schedule) ends ([`DurablePolicy::retry`]), also
//!   across crashes and restarts: an action whose dispatcher died is claimed by another
//!   dispatcher (or the restarted one) once its lease ends
//!   ([`DispatchConfig::lease`]). It never runs for an uncommitted event, and never on replay.
//! * **One dispatcher at a time.** A pending action is claimed by one dispatcher until a lease
//!   ends; claims are taken atomically in the store, so two processes never claim the same
//!   action at once, and an attempt is cancelled before its claim can end
//!   ([`DispatchConfig::attempt_timeout`]). An attempt's record applies only under the exact
//!   claim it ran under, so a dispatcher that outlived its claim cannot overwrite the record of
//!   the one that took it over.
//! * **Duplicates, bounded.** An attempt runs again only when the process that ran it died (or
//!   lost the store) before its end was recorded durably, so a completed attempt may be repeated
//!   once per such crash. Records are not flushed by their own commit (SQLite: while appends
//!   flow, they are written in the next append's transaction, flushed with it; otherwise the
//!   write connection runs their transaction with `synchronous = NORMAL`; Postgres: `SET LOCAL
//!   synchronous_commit = off`): the next flushed commit, such as the journal's next append,
//!   makes them durable, as it follows them in the log. A crash of the process alone loses no
//!   record; a power loss, or a crash of the database server, may lose the last unflushed ones,
//!   and their actions run again, with the same key. Every attempt carries the same [`IdempotencyKey`](machine_core::IdempotencyKey)
//!   (actor, version, action name): pass it downstream and the effect happens once.
//! * **Recorded.** Every ended attempt is recorded in the store: the attempt count, the last
//!   failure as a [`SerializedCause`](machine_core::SerializedCause), and the outcome
//!   ([`ActionStatus`](crate::store::ActionStatus)); [`Repository::actions`](crate::Repository::actions)
//!   reads them. Records are written many per transaction, a few statements for any number
//!   (one per group of records that set the same values, one for the rest;
//!   [`Outbox::record_many`](crate::store::Outbox::record_many)), off the attempts' path.
//! * **Dead letters.** When the schedule ends, the action is dead-lettered; with
//!   [`DurablePolicy::on_failed`] an event made from the action and its last cause is first fed
//!   back to the actor (restored if needed), so the machine can compensate. The feedback is
//!   at least once as well: a crash between it and the dead letter repeats it.
//!
//! Without a persistence layer, a durable action runs once like a plain action.

mod config;
mod dispatcher;
mod policy;
mod runner;

pub use config::DispatchConfig;
pub use policy::{default_action_retry, DurablePolicy};

pub(crate) use dispatcher::Dispatcher;
pub(crate) use policy::{EncodeFailure, Handlers, Registered};
pub(crate) use runner::{Job, MachineActions};
