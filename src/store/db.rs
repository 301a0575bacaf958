//! Persistence on redb: three tables and nothing else. `objects` maps the encoded key to the
//! object's canonical JSON; `meta` holds the global revision and the compaction point; `log`
//! maps each revision to its watch event so a watcher can resume after a restart.

use crate::api::error::{ApiError, ApiResult};
use crate::api::request::EventType;
use bytes::Bytes;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

const REVISION: &str = "revision";
const COMPACTED: &str = "compacted";

/// One change of one transaction, already assigned its revision.
#[derive(Debug, Clone)]
pub struct Change {
    pub revision: u64,
    pub key: String,
    pub event_type: EventType,
    /// The object after the change; for deletions its last state (with the deletion revision).
    pub object: Arc<Value>,
    /// `object` encoded once as JSON: written to disk, sent to list and watch clients.
    pub json: Bytes,
    /// The object before the change (absent for creations).
    pub prev: Option<Arc<Value>>,
}

/// A stored object with its JSON encoding.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Arc<Value>,
    pub json: Bytes,
}

/// The log record of a change: `{"type":..,"key":..,"object":<json>}` built from the cached
/// encoding instead of encoding the object again.
fn log_record(c: &Change) -> Vec<u8> {
    let head = serde_json::to_vec(&json!({"type": c.event_type.as_str(), "key": c.key}))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(head.len() + c.json.len() + 12);
    out.extend_from_slice(&head[..head.len().saturating_sub(1)]);
    out.extend_from_slice(b",\"object\":");
    out.extend_from_slice(&c.json);
    out.push(b'}');
    out
}

/// An event read back from the log (no previous state is kept there).
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub revision: u64,
    pub key: String,
    pub event_type: EventType,
    pub object: Value,
}

/// What `load` finds in the file.
pub struct Loaded {
    pub objects: Vec<(String, Entry)>,
    pub revision: u64,
    pub compacted: u64,
}

pub struct Db {
    db: Database,
}

fn storage(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("store: {e}"))
}

impl Db {
    /// Open or create the database file. `Err(None)` means another process holds it.
    pub fn open(path: &Path) -> Result<Db, Option<String>> {
        match Database::create(path) {
            Ok(db) => Ok(Db { db }),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(None),
            Err(e) => Err(Some(format!("cannot open store {}: {e}", path.display()))),
        }
    }

    /// Read every object and the revision counters; creates the tables on first start.
    pub fn load(&self) -> ApiResult<Loaded> {
        let tx = self.db.begin_write().map_err(storage)?;
        {
            tx.open_table(OBJECTS).map_err(storage)?;
            tx.open_table(META).map_err(storage)?;
            tx.open_table(LOG).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        let rx = self.db.begin_read().map_err(storage)?;
        let objects_t = rx.open_table(OBJECTS).map_err(storage)?;
        let meta = rx.open_table(META).map_err(storage)?;
        let mut objects = Vec::new();
        for entry in objects_t.iter().map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            let value: Value = serde_json::from_slice(v.value())
                .map_err(|e| storage(format!("object {} is not valid JSON: {e}", k.value())))?;
            let entry = Entry {
                value: Arc::new(value),
                json: Bytes::copy_from_slice(v.value()),
            };
            objects.push((k.value().to_string(), entry));
        }
        let revision = meta
            .get(REVISION)
            .map_err(storage)?
            .map(|g| g.value())
            .unwrap_or(0);
        let compacted = meta
            .get(COMPACTED)
            .map_err(storage)?
            .map(|g| g.value())
            .unwrap_or(0);
        Ok(Loaded {
            objects,
            revision,
            compacted,
        })
    }

    /// Write a transaction's changes, its log entries and the new revision atomically; drop log
    /// entries beyond `retention`. Returns the new compaction point.
    pub fn commit(
        &self,
        changes: &[Change],
        revision: u64,
        compacted: u64,
        retention: u64,
        durable: bool,
    ) -> ApiResult<u64> {
        let mut tx = self.db.begin_write().map_err(storage)?;
        let durability = if durable {
            Durability::Immediate
        } else {
            Durability::None
        };
        tx.set_durability(durability).map_err(storage)?;
        let mut new_compacted = compacted;
        {
            let mut objects = tx.open_table(OBJECTS).map_err(storage)?;
            let mut log = tx.open_table(LOG).map_err(storage)?;
            let mut meta = tx.open_table(META).map_err(storage)?;
            for c in changes {
                match c.event_type {
                    EventType::Deleted => {
                        objects.remove(c.key.as_str()).map_err(storage)?;
                    }
                    _ => {
                        objects
                            .insert(c.key.as_str(), c.json.as_ref())
                            .map_err(storage)?;
                    }
                }
                let entry = log_record(c);
                log.insert(c.revision, entry.as_slice()).map_err(storage)?;
            }
            if revision > retention && revision - retention > compacted {
                new_compacted = revision - retention;
                log.retain_in(compacted..=new_compacted, |_, _| false)
                    .map_err(storage)?;
                meta.insert(COMPACTED, new_compacted).map_err(storage)?;
            }
            meta.insert(REVISION, revision).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(new_compacted)
    }

    /// Make every earlier non-durable commit durable (one fsync).
    pub fn sync(&self) -> ApiResult<()> {
        let mut tx = self.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    /// Log entries with revision in `(after, upto]`, in order.
    pub fn read_log(&self, after: u64, upto: u64) -> ApiResult<Vec<LoggedEvent>> {
        let rx = self.db.begin_read().map_err(storage)?;
        let log = rx.open_table(LOG).map_err(storage)?;
        let mut out = Vec::new();
        if after >= upto {
            return Ok(out);
        }
        for entry in log.range(after + 1..=upto).map_err(storage)? {
            let (rev, body) = entry.map_err(storage)?;
            let v: Value = serde_json::from_slice(body.value()).map_err(storage)?;
            let event_type = v["type"]
                .as_str()
                .and_then(EventType::parse)
                .unwrap_or(EventType::Modified);
            out.push(LoggedEvent {
                revision: rev.value(),
                key: v["key"].as_str().unwrap_or("").to_string(),
                event_type,
                object: v.get("object").cloned().unwrap_or(Value::Null),
            });
        }
        Ok(out)
    }
}
