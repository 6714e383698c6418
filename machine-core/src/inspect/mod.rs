//! Inspection: a typed record of everything an actor does, for tools and tests.
//!
//! Every actor can be given an [`Observer`] (see `SpawnOptions::observer`). It receives a
//! [`Record`] for each spawn, event offered, committed transition, effect start/finish/failure,
//! error and stop, with a wall-clock timestamp. The same steps are wrapped in `tracing` spans
//! and events (target `machine_core`), so logs and observers tell the same story.
//!
//! Observers run on the actor's task (effect records on the effect's task) and must be quick:
//! push to a channel or a buffer, never block.

mod observer;
mod record;

pub use observer::{Observer, Recorder};
pub use record::{
    EffectKind, EffectStatus, EventOutcome, OwnedRecord, OwnedRecordKind, Record, RecordKind,
};
