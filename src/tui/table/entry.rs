//! One object of a table, kept compact. A parsed `serde_json::Value` of a pod costs about
//! 15 KiB (with `preserve_order` every JSON object is an `IndexMap` and every key its own
//! allocation) for 1.5 KB of JSON, so 10,000 pods would take 150 MB. An entry keeps the
//! object as its compact JSON text instead, plus what sorting and filtering read on every
//! rebuild (key, namespace, name, uid, creation time, pod status, labels, the kubectl cells
//! and the `/` filter text, about 200 bytes together), all taken from the object when it
//! arrives. The text is parsed only when the whole object is needed: the rows on screen, the
//! selected or marked objects.

use crate::api::kinds::KindInfo;
use crate::api::object::{ObjectExt, parse_time};
use crate::api::selector::LabelSelector;
use crate::api::table::{self, columns};
use serde_json::Value;
use std::cell::OnceCell;
use std::sync::Arc;

/// The key of an object in its table: `namespace/name`, or `name` for cluster-scoped kinds.
pub fn key_of(obj: &Value) -> String {
    match obj.namespace() {
        Some(ns) => format!("{ns}/{}", obj.name()),
        None => obj.name().to_string(),
    }
}

/// One object and what sorting and filtering read from it, computed when it arrives.
pub(super) struct Entry {
    pub key: Box<str>,
    /// The object as compact JSON (`serde_json::to_string`); see [`Entry::object`].
    json: Box<str>,
    pub namespace: Box<str>,
    pub name: Box<str>,
    pub uid: Box<str>,
    pub created: Option<jiff::Timestamp>,
    /// Pods only: kubectl's STATUS and the restart count.
    pub pod_status: Option<(Box<str>, i64)>,
    /// `metadata.labels` with string values, sorted by key (label selectors read them; a
    /// label whose value is not a string counts as absent, as `matches_object` has it).
    labels: Box<[(Box<str>, Box<str>)]>,
    /// kubectl cells for sorting by a column, joined by `SEP`. Time-relative cells are
    /// computed against the creation time and mean nothing here.
    cells: Box<str>,
    /// What `/text` matches (see [`filter_text`]).
    pub haystack: Box<str>,
    /// The parsed object, only for `ResourceTable::get`, which must lend a reference; the
    /// table drops it at its next change so parsed objects do not pile up.
    pub parsed: OnceCell<Arc<Value>>,
}

impl Entry {
    /// Everything sorting and filtering need is taken now, from the object at hand (a few
    /// µs): later it would cost a parse, and the first `/` key or column sort would parse
    /// every object.
    pub fn new(kind: &KindInfo, obj: &Value) -> Entry {
        let pod_status = (kind.kind == "Pod").then(|| {
            let (status, _, _, restarts, _) = table::pod_status(obj);
            (status.into_boxed_str(), restarts)
        });
        let mut labels: Vec<(Box<str>, Box<str>)> = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into())))
            .collect();
        labels.sort_unstable();
        let created = obj.creation_timestamp().and_then(parse_time);
        let namespace: Box<str> = obj.namespace().unwrap_or("").into();
        let cells = cells_of(kind, obj, created);
        let haystack = filter_text(kind, &cells, &namespace);
        let cells = cells
            .iter()
            .map(|c| c.replace(SEP, " "))
            .collect::<Vec<_>>()
            .join(SEP_STR)
            .into_boxed_str();
        Entry {
            key: key_of(obj).into_boxed_str(),
            // Serializing a `Value` cannot fail (its map keys are strings).
            json: serde_json::to_string(obj)
                .unwrap_or_default()
                .into_boxed_str(),
            namespace,
            name: obj.name().into(),
            uid: obj.uid().into(),
            created,
            pod_status,
            labels: labels.into_boxed_slice(),
            cells,
            haystack,
            parsed: OnceCell::new(),
        }
    }

    /// The object, parsed from its JSON text (about 10 µs for a pod). `None` only if the
    /// text does not parse back, which serde_json's own output always does unless the
    /// object nests deeper than its recursion limit (128), which no API object can (the
    /// API's JSON is read with the same limit).
    pub fn object(&self) -> Option<Value> {
        serde_json::from_str(&self.json).ok()
    }

    /// The object as an `Arc`, `null` in the case [`Entry::object`] returns `None`.
    pub fn object_arc(&self) -> Arc<Value> {
        Arc::new(self.object().unwrap_or(Value::Null))
    }

    /// The value of a label.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| self.labels[i].1.as_ref())
    }

    /// Whether the object's labels satisfy a selector.
    pub fn matches_labels(&self, sel: &LabelSelector) -> bool {
        sel.requirements()
            .iter()
            .all(|r| r.matches_value(self.label(r.key())))
    }

    /// Cell `i` of the kubectl row (see `cells`); empty past the last.
    pub fn cell(&self, i: usize) -> &str {
        self.cells.split(SEP).nth(i).unwrap_or("")
    }
}

/// Separates the cells in `Entry::cells`: ASCII unit separator, which a cell never holds
/// (one that did would have it replaced by a space, for sorting only).
const SEP: char = '\x1f';
const SEP_STR: &str = "\x1f";

/// kubectl cells of an object, time-relative ones against its creation time.
fn cells_of(kind: &KindInfo, obj: &Value, created: Option<jiff::Timestamp>) -> Vec<String> {
    table::row(kind, obj, created.unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

/// What `/text` matches: the row's cells (times left out) and the namespace.
pub(super) fn filter_text(kind: &KindInfo, cells: &[String], namespace: &str) -> Box<str> {
    let cols = columns(kind);
    let mut parts: Vec<&str> = Vec::with_capacity(cols.len() + 1);
    for (c, cell) in cols.iter().zip(cells) {
        match c.name {
            "Age" | "Last Seen" | "Duration" | "Last Schedule" => {}
            // `3 (5m ago)`: the count matters, the time does not.
            "Restarts" => parts.push(cell.split(" (").next().unwrap_or("")),
            _ => parts.push(cell),
        }
    }
    if !namespace.is_empty() {
        parts.push(namespace);
    }
    parts.join(" ").into_boxed_str()
}
