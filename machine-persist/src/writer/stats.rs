//! Counters of the writer, for monitoring and benchmarks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared between the writer task and its handles.
#[derive(Debug, Default)]
pub(super) struct Counters {
    batches: AtomicU64,
    requests: AtomicU64,
    failed_batches: AtomicU64,
    largest_batch: AtomicU64,
    abandoned: AtomicU64,
}

impl Counters {
    pub(super) fn record(&self, size: usize, failed: bool) {
        let size = size as u64;
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(size, Ordering::Relaxed);
        if failed {
            self.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        self.largest_batch.fetch_max(size, Ordering::Relaxed);
    }

    pub(super) fn abandoned(&self, requests: usize) {
        self.abandoned.store(requests as u64, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> WriterStats {
        WriterStats {
            batches: self.batches.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            abandoned: self.abandoned.load(Ordering::Relaxed),
        }
    }
}

/// What a [`JournalWriter`](super::JournalWriter) has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches handed to the journal (each one transaction).
    pub batches: u64,
    /// Requests in those batches.
    pub requests: u64,
    /// Batches that failed with a store error (after any retries).
    pub failed_batches: u64,
    /// The largest batch so far.
    pub largest_batch: u64,
    /// Requests (and in-flight batches) dropped by [`JournalWriter::abandon`](super::JournalWriter::abandon).
    pub abandoned: u64,
}

impl WriterStats {
    /// Average requests per batch (0 before the first batch).
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.requests as f64 / self.batches as f64
        }
    }
}
