//! The object store: redb for durability, an in-memory copy of every object for fast reads
//! (like the API server's watch cache), a global revision, and a watch hub.
//!
//! Writes are serialized by one mutex: a write reads the cache, computes its changes in a
//! `Txn` overlay, commits them to redb in one transaction, then updates the cache and
//! publishes the changes. Readers only take the cache's read lock.

mod db;
mod durable;
mod lifecycle;
mod service_alloc;
mod txn;
pub mod watch;

pub use db::{Change, Entry};
pub use lifecycle::{PROTECTED_NAMESPACES, SYSTEM_NAMESPACES};
pub use txn::Txn;

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectKey;
use crate::api::request::EventType;
use db::Db;
use durable::SyncState;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use watch::{WatchFilter, WatchHub, WatchReceiver};

/// Tunables; defaults suit a workstation.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Revisions of history kept in the event log for resuming watches.
    pub log_retention: u64,
    /// Events a watcher may have queued before it is cut off.
    pub watch_queue: usize,
    /// fsync every commit (off only for benchmarks of the non-durable path).
    pub durable: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            log_retention: 50_000,
            watch_queue: 20_000,
            durable: true,
        }
    }
}

struct Cache {
    objects: BTreeMap<String, Entry>,
    revision: u64,
    compacted: u64,
}

pub struct Store {
    path: PathBuf,
    db: Db,
    cache: RwLock<Cache>,
    writer: Mutex<()>,
    hub: WatchHub,
    opts: StoreOptions,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
    /// The synced revision, for writers waiting without a thread (`wait_durable_async`).
    synced_tx: tokio::sync::watch::Sender<u64>,
}

/// Why the store could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Another process holds the database lock.
    Locked,
    Other(String),
}

impl Store {
    /// Open (or create) `path`, load every object, and make sure the system namespaces exist.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store, OpenError> {
        let db = match Db::open(path) {
            Ok(db) => db,
            Err(None) => return Err(OpenError::Locked),
            Err(Some(msg)) => return Err(OpenError::Other(msg)),
        };
        let loaded = db.load().map_err(|e| OpenError::Other(e.message))?;
        let objects = loaded.objects.into_iter().collect();
        let store = Store {
            path: path.to_path_buf(),
            db,
            cache: RwLock::new(Cache {
                objects,
                revision: loaded.revision,
                compacted: loaded.compacted,
            }),
            writer: Mutex::new(()),
            hub: WatchHub::new(opts.watch_queue),
            opts,
            sync: Mutex::new(SyncState {
                synced: loaded.revision,
                ..Default::default()
            }),
            synced_cv: Condvar::new(),
            synced_tx: tokio::sync::watch::Sender::new(loaded.revision),
        };
        store
            .ensure_system_namespaces()
            .map_err(|e| OpenError::Other(e.message))?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The revision of the last committed write.
    pub fn revision(&self) -> u64 {
        self.cache.read().map(|c| c.revision).unwrap_or(0)
    }

    /// One object by key.
    pub fn get_key(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.cache
            .read()
            .ok()?
            .objects
            .get(&key.encode())
            .map(|e| e.value.clone())
    }

    pub fn get(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Arc<Value>> {
        let key = ObjectKey::new(kind, namespace, name);
        self.get_key(&key)
            .ok_or_else(|| ApiError::not_found(&kind.resource(), name))
    }

    /// Objects of one resource (optionally one namespace) passing `keep`, with the revision
    /// they were read at.
    pub fn list(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        keep: impl Fn(&Value) -> bool,
    ) -> (Vec<Arc<Value>>, u64) {
        let (entries, rev) = self.list_entries(kind, namespace, keep);
        (entries.into_iter().map(|e| e.value).collect(), rev)
    }

    /// `list` with each object's JSON encoding (what the API serves without re-encoding).
    pub fn list_entries(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        keep: impl Fn(&Value) -> bool,
    ) -> (Vec<Entry>, u64) {
        let filter = WatchFilter {
            resource: kind.resource(),
            namespace: if kind.namespaced {
                namespace.map(str::to_string)
            } else {
                None
            },
        };
        let prefix = filter.key_prefix();
        let Ok(cache) = self.cache.read() else {
            return (Vec::new(), 0);
        };
        let items = cache
            .objects
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, e)| keep(&e.value))
            .map(|(_, e)| e.clone())
            .collect();
        (items, cache.revision)
    }

    /// Run `f` against a consistent view and commit what it changed in one redb transaction.
    /// Nothing is written if `f` fails.
    pub fn write<T>(&self, f: impl FnOnce(&mut Txn) -> ApiResult<T>) -> ApiResult<T> {
        self.transact(true, f)
    }

    /// `write`, or with `commit == false` a dry run: the result is computed, nothing stored.
    pub fn transact<T>(
        &self,
        commit: bool,
        f: impl FnOnce(&mut Txn) -> ApiResult<T>,
    ) -> ApiResult<T> {
        let _w = self
            .writer
            .lock()
            .map_err(|_| ApiError::internal("store writer lock poisoned"))?;
        let (result, changes, revision, compacted) = {
            let cache = self
                .cache
                .read()
                .map_err(|_| ApiError::internal("store cache lock poisoned"))?;
            let mut txn = Txn::new(&cache.objects, cache.revision);
            let result = f(&mut txn)?;
            let (changes, revision) = txn.finish();
            (result, changes, revision, cache.compacted)
        };
        if changes.is_empty() || !commit {
            return Ok(result);
        }
        // Commit without fsync, then wait for a group fsync that covers this revision: writers
        // arriving during one fsync share the next (group commit), so concurrent clients get
        // many durable transactions per disk flush.
        let compacted = self.db.commit(
            &changes,
            revision,
            compacted,
            self.opts.log_retention,
            false,
        )?;
        let changes: Vec<Arc<Change>> = changes.into_iter().map(Arc::new).collect();
        {
            let mut cache = self
                .cache
                .write()
                .map_err(|_| ApiError::internal("store cache lock poisoned"))?;
            for c in &changes {
                match c.event_type {
                    EventType::Deleted => {
                        cache.objects.remove(&c.key);
                    }
                    _ => {
                        let entry = Entry {
                            value: c.object.clone(),
                            json: c.json.clone(),
                        };
                        cache.objects.insert(c.key.clone(), entry);
                    }
                }
            }
            cache.revision = revision;
            cache.compacted = compacted;
        }
        if let Ok(mut sync) = self.sync.lock() {
            sync.pending.extend(changes);
        }
        drop(_w);
        if !durable::defer(revision) {
            self.wait_durable(revision)?;
        }
        Ok(result)
    }

    /// Start watching. With `from: None` the current objects are returned as the initial
    /// state (the caller sends them as ADDED); with `Some(rev)` the logged changes after `rev`
    /// are replayed. Either way the receiver then gets every later change.
    pub fn watch(
        &self,
        kind: &KindInfo,
        namespace: Option<&str>,
        from: Option<u64>,
    ) -> ApiResult<WatchStart> {
        let filter = WatchFilter {
            resource: kind.resource(),
            namespace: if kind.namespaced {
                namespace.map(str::to_string)
            } else {
                None
            },
        };
        // Holding the writer lock: no change can be published between the snapshot and the
        // subscription, so nothing is lost or duplicated.
        let _w = self
            .writer
            .lock()
            .map_err(|_| ApiError::internal("store writer lock poisoned"))?;
        let (revision, compacted) = {
            let c = self
                .cache
                .read()
                .map_err(|_| ApiError::internal("store cache lock poisoned"))?;
            (c.revision, c.compacted)
        };
        let initial = match from {
            None => {
                let (items, _) = self.list_entries(kind, namespace, |_| true);
                Initial::Snapshot(items)
            }
            Some(rev) if rev > revision => {
                return Err(ApiError::bad_request(format!(
                    "resourceVersion {rev} is newer than the store's current revision {revision}"
                )));
            }
            Some(rev) if rev < compacted => {
                return Err(ApiError::expired(format!(
                    "too old resource version: {rev} ({compacted})"
                )));
            }
            Some(rev) => {
                let events = self.db.read_log(rev, revision)?;
                Initial::Replay(
                    events
                        .into_iter()
                        .filter(|e| filter.wants(&e.key))
                        .collect(),
                )
            }
        };
        let receiver = self.hub.subscribe(&filter);
        Ok(WatchStart {
            initial,
            revision,
            receiver,
        })
    }

    pub fn watcher_count(&self) -> usize {
        self.hub.watcher_count()
    }
}

/// What a new watcher starts with.
pub enum Initial {
    Snapshot(Vec<Entry>),
    Replay(Vec<db::LoggedEvent>),
}

pub struct WatchStart {
    pub initial: Initial,
    /// Store revision at subscription.
    pub revision: u64,
    pub receiver: WatchReceiver,
}

pub use db::LoggedEvent;
#[cfg(test)]
mod tests;
