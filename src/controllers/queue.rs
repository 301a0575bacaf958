//! A de-duplicating work queue, as client-go's: a key is queued at most once; a key that
//! changes while being processed is queued again when processing ends; failed keys come back
//! after an exponential back-off.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

struct State<K> {
    queue: VecDeque<K>,
    queued: HashSet<K>,
    processing: HashSet<K>,
    dirty: HashSet<K>,
    failures: HashMap<K, u32>,
}

pub struct WorkQueue<K> {
    state: Mutex<State<K>>,
    notify: Notify,
    base_delay: Duration,
    max_delay: Duration,
}

impl<K: Clone + Eq + Hash + Send + Sync + 'static> WorkQueue<K> {
    pub fn new(base_delay: Duration, max_delay: Duration) -> Arc<WorkQueue<K>> {
        Arc::new(WorkQueue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: HashSet::new(),
                processing: HashSet::new(),
                dirty: HashSet::new(),
                failures: HashMap::new(),
            }),
            notify: Notify::new(),
            base_delay,
            max_delay,
        })
    }

    pub fn add(&self, key: K) {
        let Ok(mut s) = self.state.lock() else { return };
        if s.processing.contains(&key) {
            s.dirty.insert(key);
            return;
        }
        if s.queued.insert(key.clone()) {
            s.queue.push_back(key);
            drop(s);
            self.notify.notify_one();
        }
    }

    pub fn add_after(self: &Arc<Self>, key: K, delay: Duration) {
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            q.add(key);
        });
    }

    /// Re-queue after the key's next back-off step (5 ms doubling, capped).
    pub fn add_rate_limited(self: &Arc<Self>, key: K) {
        let n = {
            let Ok(mut s) = self.state.lock() else { return };
            let n = s.failures.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(20));
        let delay = self.base_delay.saturating_mul(factor).min(self.max_delay);
        self.add_after(key, delay);
    }

    /// Clear the key's back-off after a success.
    pub fn forget(&self, key: &K) {
        if let Ok(mut s) = self.state.lock() {
            s.failures.remove(key);
        }
    }

    /// Wait for the next key; it stays "processing" until `done`.
    pub async fn next(&self) -> K {
        loop {
            let notified = self.notify.notified();
            if let Ok(mut s) = self.state.lock()
                && let Some(k) = s.queue.pop_front()
            {
                s.queued.remove(&k);
                s.processing.insert(k.clone());
                if !s.queue.is_empty() {
                    self.notify.notify_one();
                }
                return k;
            }
            notified.await;
        }
    }

    pub fn done(&self, key: &K) {
        let again = {
            let Ok(mut s) = self.state.lock() else { return };
            s.processing.remove(key);
            s.dirty.remove(key)
        };
        if again {
            self.add(key.clone());
        }
    }

    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.queue.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deduplicates_and_requeues_dirty_keys() {
        let q = WorkQueue::new(Duration::from_millis(1), Duration::from_millis(10));
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.len(), 2);
        let k = q.next().await;
        assert_eq!(k, "a");
        q.add("a"); // changed while processing
        assert_eq!(q.len(), 1);
        q.done(&k);
        assert_eq!(q.len(), 2);
        assert_eq!(q.next().await, "b");
        assert_eq!(q.next().await, "a");
    }

    #[tokio::test]
    async fn rate_limited_keys_come_back() {
        let q = WorkQueue::new(Duration::from_millis(1), Duration::from_millis(10));
        q.add_rate_limited("x");
        let k = tokio::time::timeout(Duration::from_secs(2), q.next())
            .await
            .unwrap();
        assert_eq!(k, "x");
    }
}
