//! How far a long load has got, read by another thread (the browser's gauge, the command line's
//! progress line), and a way for that thread to call the load off.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters a loader bumps as it goes; cheap enough to update per chunk of input.
#[derive(Debug, Default)]
pub struct Progress {
    bytes_total: AtomicU64,
    bytes_read: AtomicU64,
    records: AtomicU64,
    cancelled: AtomicBool,
    /// What is being read now: a file name, or a TAXII collection's page.
    stage: Mutex<String>,
}

/// One reading of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    pub bytes_total: u64,
    pub bytes_read: u64,
    pub records: u64,
    pub stage: String,
}

impl ProgressSnapshot {
    /// The share of the input read, from 0 to 1; 0 while the size is not known.
    pub fn ratio(&self) -> f64 {
        if self.bytes_total == 0 { 0.0 } else { (self.bytes_read as f64 / self.bytes_total as f64).min(1.0) }
    }
}

impl Progress {
    /// Adds to the number of bytes the load will read (each file's size, as it is found).
    pub fn add_total(&self, bytes: u64) {
        self.bytes_total.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_stage(&self, stage: impl Into<String>) {
        if let Ok(mut s) = self.stage.lock() {
            *s = stage.into();
        }
    }

    /// Asks the load to stop at its next chunk; it then fails with `LoadError::Cancelled`.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            stage: self.stage.lock().map(|s| s.clone()).unwrap_or_default(),
        }
    }
}
