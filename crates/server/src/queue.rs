//! The queue between ingest and correlation.
//!
//! Embedded mode uses [`InProcessQueue`]: acknowledged findings are already durable in the store
//! (flagged "not yet correlated"), so the queue only carries their ids to wake the correlator and
//! to measure depth for backpressure; after a restart the backlog is read back from the store.
//! A scale-out transport (NATS JetStream) implements the same trait.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Returned when the queue cannot take more events now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backpressure {
    pub depth: usize,
    pub limit: usize,
}

pub trait EventQueue: Send + Sync {
    /// Reserves room for `n` events, or says the queue is full.
    fn admit(&self, n: usize) -> Result<(), Backpressure>;
    /// Hands accepted event ids to the consumers.
    fn publish(&self, ids: Vec<String>);
    /// Takes up to `max` ids, waiting up to `wait` for the first.
    fn take(&self, max: usize, wait: Duration) -> Vec<String>;
    /// Events waiting.
    fn depth(&self) -> usize;
    fn capacity(&self) -> usize;
}

/// A bounded in-memory queue (embedded mode).
#[derive(Debug)]
pub struct InProcessQueue {
    items: Mutex<VecDeque<String>>,
    ready: Condvar,
    capacity: usize,
}

impl InProcessQueue {
    pub fn new(capacity: usize) -> Self {
        InProcessQueue {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }
}

impl EventQueue for InProcessQueue {
    fn admit(&self, n: usize) -> Result<(), Backpressure> {
        let depth = self.depth();
        if depth.saturating_add(n) > self.capacity && depth > 0 {
            return Err(Backpressure {
                depth,
                limit: self.capacity,
            });
        }
        Ok(())
    }

    fn publish(&self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        if let Ok(mut q) = self.items.lock() {
            q.extend(ids);
        }
        self.ready.notify_all();
    }

    fn take(&self, max: usize, wait: Duration) -> Vec<String> {
        let Ok(mut q) = self.items.lock() else {
            return Vec::new();
        };
        if q.is_empty() {
            q = match self.ready.wait_timeout(q, wait) {
                Ok((q, _)) => q,
                Err(_) => return Vec::new(),
            };
        }
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    fn depth(&self) -> usize {
        self.items.lock().map(|q| q.len()).unwrap_or(0)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_full_and_drains_in_order() {
        let q = InProcessQueue::new(3);
        assert!(q.admit(3).is_ok());
        q.publish(vec!["a".into(), "b".into(), "c".into()]);
        assert_eq!(q.admit(1), Err(Backpressure { depth: 3, limit: 3 }));
        assert_eq!(q.take(2, Duration::ZERO), vec!["a", "b"]);
        assert!(q.admit(1).is_ok());
        assert_eq!(q.take(9, Duration::from_millis(1)), vec!["c"]);
        assert!(q.take(9, Duration::from_millis(1)).is_empty());
    }
}
