//! The watch hub: fans committed changes out to watchers. Each watcher has a bounded queue;
//! a watcher that falls behind is cut off (its stream ends with Expired and the client
//! re-lists), so a slow reader never blocks writers nor grows memory without bound.

use crate::store::db::Change;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Which changes a watcher wants: one resource (`pods`), optionally one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchFilter {
    pub resource: String,
    pub namespace: Option<String>,
}

impl WatchFilter {
    /// Prefix of store keys this filter selects.
    pub fn key_prefix(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/", self.resource, ns),
            None => format!("{}/", self.resource),
        }
    }
    pub fn wants(&self, key: &str) -> bool {
        key.starts_with(&self.key_prefix())
    }
}

struct Watcher {
    prefix: String,
    tx: mpsc::Sender<Arc<Change>>,
    overflowed: Arc<AtomicBool>,
}

/// Receiving end of one watcher.
pub struct WatchReceiver {
    pub rx: mpsc::Receiver<Arc<Change>>,
    /// Set when the hub dropped this watcher because its queue was full.
    pub overflowed: Arc<AtomicBool>,
}

pub struct WatchHub {
    watchers: Mutex<Vec<Watcher>>,
    capacity: usize,
}

impl WatchHub {
    pub fn new(capacity: usize) -> WatchHub {
        WatchHub {
            watchers: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }

    /// Register a watcher. The caller must hold the store's write lock so that no change is
    /// published between reading the state it replays and this registration.
    pub fn subscribe(&self, filter: &WatchFilter) -> WatchReceiver {
        let (tx, rx) = mpsc::channel(self.capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        let w = Watcher {
            prefix: filter.key_prefix(),
            tx,
            overflowed: overflowed.clone(),
        };
        if let Ok(mut ws) = self.watchers.lock() {
            ws.push(w);
        }
        WatchReceiver { rx, overflowed }
    }

    /// Deliver changes; never blocks. Watchers whose receiver is gone are removed, watchers whose
    /// queue is full are cut off.
    pub fn publish(&self, changes: &[Arc<Change>]) {
        let Ok(mut ws) = self.watchers.lock() else {
            return;
        };
        ws.retain(|w| {
            for c in changes {
                if !c.key.starts_with(&w.prefix) {
                    continue;
                }
                match w.tx.try_send(c.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        w.overflowed.store(true, Ordering::Release);
                        return false;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            true
        });
    }

    pub fn watcher_count(&self) -> usize {
        self.watchers.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::request::EventType;
    use serde_json::json;

    fn change(rev: u64, key: &str) -> Arc<Change> {
        Arc::new(Change {
            revision: rev,
            key: key.into(),
            event_type: EventType::Added,
            object: Arc::new(json!({})),
            json: bytes::Bytes::from_static(b"{}"),
            prev: None,
        })
    }

    #[test]
    fn filters_by_prefix_and_cuts_off_slow_watchers() {
        let hub = WatchHub::new(2);
        let all = WatchFilter {
            resource: "pods".into(),
            namespace: None,
        };
        let ns = WatchFilter {
            resource: "pods".into(),
            namespace: Some("a".into()),
        };
        let mut slow = hub.subscribe(&all);
        let mut fast = hub.subscribe(&ns);
        hub.publish(&[change(1, "pods/a/x"), change(2, "pods/b/y")]);
        assert_eq!(fast.rx.try_recv().unwrap().revision, 1);
        assert!(fast.rx.try_recv().is_err());
        // the slow watcher has 2 queued (full); a third change overflows it
        hub.publish(&[change(3, "pods/c/z")]);
        assert!(slow.overflowed.load(Ordering::Acquire));
        assert_eq!(hub.watcher_count(), 1);
        assert_eq!(slow.rx.try_recv().unwrap().revision, 1);
        assert_eq!(slow.rx.try_recv().unwrap().revision, 2);
        assert!(slow.rx.try_recv().is_err());
        drop(fast);
        hub.publish(&[change(4, "pods/a/x")]);
        assert_eq!(hub.watcher_count(), 0);
    }
}
