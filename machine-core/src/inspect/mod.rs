//! Inspection: a typed record of everything an actor does, for tools and tests.
//!
//! Its items are exported at the crate root, whose documentation describes them.

mod observer;
mod record;

pub use observer::{Observer, Recorder};
pub use record::{
    EffectKind, EffectStatus, EventOutcome, OwnedRecord, OwnedRecordKind, Record, RecordKind,
};
