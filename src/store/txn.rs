//! A write transaction's view: the committed objects plus this transaction's own changes, so
//! later steps of one batch see earlier ones (a Namespace created before a Pod in it).

use crate::api::object::{ObjectKey, set_meta};
use crate::api::request::EventType;
use crate::store::db::{Change, Entry};
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Objects are encoded once, when written; every reader of the bytes shares them.
fn encode(obj: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(obj).unwrap_or_default())
}

pub struct Txn<'a> {
    base: &'a BTreeMap<String, Entry>,
    /// Keys this transaction wrote: `Some` = current object, `None` = deleted.
    overlay: BTreeMap<String, Option<Arc<Value>>>,
    changes: Vec<Change>,
    revision: u64,
}

impl<'a> Txn<'a> {
    pub(super) fn new(base: &'a BTreeMap<String, Entry>, revision: u64) -> Txn<'a> {
        Txn {
            base,
            overlay: BTreeMap::new(),
            changes: Vec::new(),
            revision,
        }
    }

    pub(super) fn finish(self) -> (Vec<Change>, u64) {
        (self.changes, self.revision)
    }

    /// The revision the next change will get.
    pub fn next_revision(&self) -> u64 {
        self.revision + 1
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        let k = key.encode();
        match self.overlay.get(&k) {
            Some(v) => v.clone(),
            None => self.base.get(&k).map(|e| e.value.clone()),
        }
    }

    /// Every object whose encoded key starts with `prefix`, as seen by this transaction.
    pub fn scan(&self, prefix: &str) -> Vec<(String, Arc<Value>)> {
        let mut merged: BTreeMap<String, Arc<Value>> = self
            .base
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        for (k, v) in self
            .overlay
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            match v {
                Some(v) => {
                    merged.insert(k.clone(), v.clone());
                }
                None => {
                    merged.remove(k);
                }
            }
        }
        merged.into_iter().collect()
    }

    /// Store `obj` under `key` with a fresh resourceVersion; returns the stored object.
    pub fn put(&mut self, key: &ObjectKey, mut obj: Value) -> Arc<Value> {
        self.revision += 1;
        let _ = set_meta(
            &mut obj,
            "resourceVersion",
            Some(Value::String(self.revision.to_string())),
        );
        let prev = self.get(key);
        let json = encode(&obj);
        let obj = Arc::new(obj);
        let k = key.encode();
        self.overlay.insert(k.clone(), Some(obj.clone()));
        let event_type = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.changes.push(Change {
            revision: self.revision,
            key: k,
            event_type,
            object: obj.clone(),
            json,
            prev,
        });
        obj
    }

    /// Remove `key`; the DELETED event carries the object's last state.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let prev = self.get(key)?;
        self.revision += 1;
        let mut last = (*prev).clone();
        let _ = set_meta(
            &mut last,
            "resourceVersion",
            Some(Value::String(self.revision.to_string())),
        );
        let json = encode(&last);
        let last = Arc::new(last);
        let k = key.encode();
        self.overlay.insert(k.clone(), None);
        self.changes.push(Change {
            revision: self.revision,
            key: k,
            event_type: EventType::Deleted,
            object: last.clone(),
            json,
            prev: Some(prev),
        });
        Some(last)
    }
}
