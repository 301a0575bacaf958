//! Durability: group commit. A write commits to redb without fsync, queues its changes and
//! waits until an fsync covers its revision; whoever finds no fsync running performs one for
//! everything queued, then publishes those changes to watchers (only durable changes are
//! watched). Writers arriving during one fsync share the next, so concurrent clients get many
//! durable transactions per disk flush.
//!
//! Synchronous callers wait on a condvar. The embedded cluster runs writes on tokio's
//! blocking pool; blocking those threads for the fsync made a burst of 500 pod creations hold
//! 250+ threads (each with its allocator heap). Instead it runs the writes inside
//! `deferring_durability`, which records the revision to wait for and starts a sync if none
//! runs, and then awaits `wait_durable_async` without a thread.

use super::{Change, Store};
use crate::api::error::{ApiError, ApiResult};
use std::cell::Cell;
use std::sync::Arc;

/// What is on disk, what waits for the next fsync.
#[derive(Default)]
pub(super) struct SyncState {
    pub synced: u64,
    pub failed: u64,
    pub syncing: bool,
    pub pending: Vec<Arc<Change>>,
}

thread_local! {
    /// `Some` while `deferring_durability` runs on this thread: the highest revision its
    /// writes committed (0: none yet).
    static DEFERRED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Inside `deferring_durability`, record `revision` instead of waiting for it; returns
/// whether it was recorded.
pub(super) fn defer(revision: u64) -> bool {
    DEFERRED.with(|d| match d.get() {
        Some(r) => {
            d.set(Some(r.max(revision)));
            true
        }
        None => false,
    })
}

fn poisoned() -> ApiError {
    ApiError::internal("store sync lock poisoned")
}

fn lost(revision: u64) -> ApiError {
    ApiError::internal(format!(
        "store: writing revision {revision} to disk failed; the change may be lost"
    ))
}

impl Store {
    /// Run `f` (store writes) without waiting until they are on disk; returns its result and
    /// the revision to pass to `wait_durable_async` (`None`: nothing written). This thread
    /// performs at most one fsync, when none is running.
    pub fn deferring_durability<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&Store) -> T,
    ) -> (T, Option<u64>) {
        let outer = DEFERRED.with(|d| d.replace(Some(0)));
        let result = f(self);
        let revision = DEFERRED.with(|d| d.replace(outer)).filter(|r| *r > 0);
        if revision.is_some() {
            self.sync_pending(Some(self));
        }
        (result, revision)
    }

    /// Block until `revision` is on disk (and watched).
    pub(super) fn wait_durable(&self, revision: u64) -> ApiResult<()> {
        let mut st = self.sync.lock().map_err(|_| poisoned())?;
        loop {
            if st.synced >= revision {
                return Ok(());
            }
            if st.failed >= revision {
                return Err(lost(revision));
            }
            if st.syncing {
                st = self.synced_cv.wait(st).map_err(|_| poisoned())?;
                continue;
            }
            drop(st);
            self.sync_pending(None);
            st = self.sync.lock().map_err(|_| poisoned())?;
        }
    }

    /// Wait until `revision`, written inside `deferring_durability`, is on disk, without
    /// holding a thread.
    pub async fn wait_durable_async(&self, revision: u64) -> ApiResult<()> {
        // Subscribed before looking, so a sync finishing in between still wakes us.
        let mut synced = self.synced_tx.subscribe();
        loop {
            {
                let st = self.sync.lock().map_err(|_| poisoned())?;
                if st.synced >= revision {
                    return Ok(());
                }
                if st.failed >= revision {
                    return Err(lost(revision));
                }
                // Otherwise a sync is running or queued: `sync_pending` never stops while
                // changes are pending.
            }
            if synced.changed().await.is_err() {
                return Err(ApiError::internal("store closed while writing"));
            }
        }
    }

    /// Sync everything pending unless a sync is running (that one picks it up when done).
    /// With `handoff`, a sync that finds more pending when done continues on a new blocking
    /// task, so this thread returns after one fsync; without, it goes on here. Either way no
    /// change stays unsynced, even when its writer stopped waiting.
    fn sync_pending(&self, handoff: Option<&Arc<Store>>) {
        loop {
            let batch = {
                let Ok(mut st) = self.sync.lock() else {
                    return;
                };
                if st.syncing || st.pending.is_empty() {
                    return;
                }
                st.syncing = true;
                std::mem::take(&mut st.pending)
            };
            let more = self.sync_batch(batch);
            if let (true, Some(store), Ok(rt)) =
                (more, handoff, tokio::runtime::Handle::try_current())
            {
                let store = store.clone();
                rt.spawn_blocking(move || store.sync_pending(Some(&store)));
                return;
            }
        }
    }

    /// fsync (when durable) for `batch`, then mark it synced (or failed) and publish it;
    /// returns whether more changes are pending.
    fn sync_batch(&self, batch: Vec<Arc<Change>>) -> bool {
        let upto = batch.last().map(|c| c.revision).unwrap_or(0);
        let result = if self.opts.durable {
            self.db.sync()
        } else {
            Ok(())
        };
        // A poisoned lock means a thread panicked holding it; the state is still the best
        // there is, and waiters must not hang.
        let mut st = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        st.syncing = false;
        match result {
            Ok(()) => {
                st.synced = st.synced.max(upto);
                self.hub.publish(&batch);
            }
            Err(e) => {
                tracing::error!("store fsync failed: {e}");
                st.failed = st.failed.max(upto);
            }
        }
        self.synced_tx.send_replace(st.synced.max(st.failed));
        self.synced_cv.notify_all();
        !st.pending.is_empty()
    }
}
