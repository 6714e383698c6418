//! Projections: read models kept up to date from the global event stream.
//!
//! A projection reads the [global stream](crate::store::EventStream) of one or more machine
//! types, decoded, upcast and typed ([`Subscription`]), and applies each event to a read model
//! (a table of orders by status, a search index, a report). A [`ProjectionRunner`] first catches
//! up from the projection's stored checkpoint, then follows new commits live.
//!
//! # Guarantees
//!
//! **Order.** Events arrive in stream order: one order every reader sees, in which each actor's
//! events are in version order. No event is ever skipped, also under concurrent writers in other
//! processes and pipelined batches (see the no-skip rule of [`store::EventStream`]).
//!
//! **Delivery.** Two modes:
//!
//! * *at-least-once* ([`Projection`], [`ProjectionRunner::spawn`]): the checkpoint is saved
//!   after the events it covers were handled, every N events or T time
//!   ([`ProjectionRunner::checkpoint_every`]), when the stream has been quiet for a poll
//!   interval, and when the projection stops. A crash redelivers exactly the events after the
//!   last saved checkpoint, never fewer. Make the handler idempotent.
//! * *exactly-once* ([`TransactionalProjection`], `ProjectionRunner::spawn_exactly_once`; a
//!   read model in the store's SQL database): each page is one transaction in which the handler
//!   writes the read model and the checkpoint is saved. They commit together or not at all, so a
//!   crash at any point neither loses nor repeats an event in the read model.
//!
//! **Checkpoints** are stored in the same database as the events
//! ([`CheckpointStore`](crate::store::CheckpointStore)), keyed by the projection's name.
//!
//! **Failures.** A handler error is retried per a [`Schedule`](machine_core::Schedule)
//! ([`ProjectionRunner::retry`]); when the schedule gives up, that projection alone stops with
//! [`ProjectionError::Handler`] naming the event, its checkpoint just before it. An event that
//! cannot be decoded stops it with [`ProjectionError::Unreadable`]: a projection never passes an
//! event silently. Transient store errors never stop a projection: it waits, reloads its
//! checkpoint and carries on. Other projections, and the actors writing, are not affected.
//!
//! **Live.** A caught-up projection waits for the store's
//! [`CommitSignal`](crate::store::CommitSignal) or its poll interval
//! ([`ProjectionRunner::poll_interval`]), whichever comes first. Every store signals the commits
//! of its own process. A Postgres store also carries the commits of other processes: it sends a
//! `NOTIFY` on its schema's channel
//! (`PostgresStore::commit_channel`) after commits
//! (never inside the append's transaction, at most one per 10 ms), and a following projection
//! `LISTEN`s on it over a connection of its own, reconnecting with a backoff when it is lost.
//! SQLite projections in other processes find commits by polling.
//!
//! A wake-up is only a hint to read now. What a projection reads is decided by the stream's
//! order and horizon, so a lost notification (a listener reconnecting, a failed send) delays it
//! by at most a poll interval and never makes it skip an event: keep the poll interval as the
//! bound on latency when a wake-up is lost.
//!
//! **Partitions.** A slow read model can run as K workers, each owning a hash range of actor
//! ids ([`Partition`], [`ProjectionRunner::partition`]): per-actor order is kept, each worker
//! has its own checkpoint.
//!
//! **Rebuild.** [`ProjectionRunner::rebuild`] resets the read model and the checkpoint and
//! replays the stream from the beginning; the result is the read model a live run builds.
//!
//! # Example
//!
//! A projection counting events per actor, run at least once over every `Order` actor
//! (`examples/projection.rs` keeps an exactly-once SQL table instead):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//! use machine_persist::projection::{Envelope, Projection, ProjectionRunner, Subscription};
//! use machine_persist::{MemoryStore, PersistConfig, Persistable};
//!
//! #[derive(Clone, Default)]
//! struct Counts(Arc<Mutex<HashMap<String, u64>>>);
//!
//! impl<E: Send + Sync + 'static> Projection for CountsOf<E> {
//!     type Event = E;
//!     type Error = std::convert::Infallible;
//!
//!     async fn handle(&mut self, event: &Envelope<E>) -> Result<(), Self::Error> {
//!         let mut counts = self.0 .0.lock().unwrap_or_else(|poison| poison.into_inner());
//!         *counts.entry(event.actor_id.to_string()).or_default() += 1;
//!         Ok(())
//!     }
//! }
//! # struct CountsOf<E>(Counts, std::marker::PhantomData<E>);
//!
//! fn start<M: Persistable>(store: MemoryStore, counts: Counts) {
//!     let orders = Subscription::<M::Event>::new().machine(&PersistConfig::<M>::new());
//!     let handle = ProjectionRunner::new(store, "event-counts", orders)
//!         .spawn(CountsOf(counts, std::marker::PhantomData));
//!     # drop(handle);
//! }
//! ```
//!
//! [`store::EventStream`]: crate::store::EventStream

mod at_least_once;
mod envelope;
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod exactly_once;
mod handler;
mod partition;
mod read_ahead;
mod retry;
mod runner;
mod status;
mod subscription;

use at_least_once::AtLeastOnce;
pub use envelope::Envelope;
pub use error::ProjectionError;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use exactly_once::TransactionalStore;
pub use handler::Projection;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use handler::TransactionalProjection;
pub use partition::Partition;
pub use runner::{ProjectionRunner, DEFAULT_BATCH, DEFAULT_POLL_INTERVAL};
pub use status::{Phase, ProjectionHandle, ProjectionStatus};
pub use subscription::Subscription;
