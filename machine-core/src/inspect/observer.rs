//! The observer trait, and a recorder that keeps everything.

use std::sync::{Arc, Mutex};

use super::{OwnedRecord, Record};
use crate::model::Machine;

/// Receives the inspection records of the actors it is attached to.
///
/// Any `Fn(&Record<M>)` closure is an observer:
///
/// ```
/// use machine_core::{Observer, Record, RecordKind};
/// # fn f<M: machine_core::Machine>() -> std::sync::Arc<dyn Observer<M>> {
/// std::sync::Arc::new(|record: &Record<'_, M>| {
///     if let RecordKind::Error { error } = &record.kind {
///         eprintln!("{}: {error}", record.actor);
///     }
/// })
/// # }
/// ```
pub trait Observer<M: Machine>: Send + Sync + 'static {
    /// Called for every record. Must not block.
    fn record(&self, record: &Record<'_, M>);
}

impl<M: Machine, F> Observer<M> for F
where
    F: Fn(&Record<'_, M>) + Send + Sync + 'static,
{
    fn record(&self, record: &Record<'_, M>) {
        self(record)
    }
}

/// An observer that keeps an owned copy of every record, for tests and debugging tools.
///
/// ```
/// use machine_core::Recorder;
/// # fn f<M: machine_core::Machine>() {
/// let recorder = Recorder::<M>::new();
/// // SpawnOptions::new().observer(recorder.observer())
/// assert!(recorder.records().is_empty());
/// # }
/// ```
pub struct Recorder<M: Machine> {
    records: Arc<Mutex<Vec<OwnedRecord<M>>>>,
}

impl<M: Machine> Clone for Recorder<M> {
    fn clone(&self) -> Self {
        Self {
            records: Arc::clone(&self.records),
        }
    }
}

impl<M: Machine> Default for Recorder<M> {
    fn default() -> Self {
        Self {
            records: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<M: Machine> Recorder<M> {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// This recorder as an observer to attach to actors.
    pub fn observer(&self) -> Arc<dyn Observer<M>> {
        Arc::new(self.clone())
    }

    /// A copy of every record so far, in the order received.
    pub fn records(&self) -> Vec<OwnedRecord<M>> {
        self.lock().clone()
    }

    /// Forgets every record so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<OwnedRecord<M>>> {
        // Records are only ever pushed; a panic elsewhere cannot leave the vector inconsistent.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<M: Machine> Observer<M> for Recorder<M> {
    fn record(&self, record: &Record<'_, M>) {
        self.lock().push(record.to_owned());
    }
}
