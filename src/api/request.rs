//! Request options and results shared by the store, the `Cluster` trait, the HTTP server and
//! the remote client. They mirror Kubernetes' ListOptions, DeleteOptions and watch events.

use crate::api::error::{ApiError, ApiResult};
use serde_json::{Value, json};
use std::sync::Arc;

/// Options of list and watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Label selector in kubectl syntax (`app=web,env in (prod)`).
    pub label_selector: Option<String>,
    /// Field selector (`metadata.name=x,status.phase!=Running`).
    pub field_selector: Option<String>,
    /// For watch: deliver events after this revision ("0"/None = current state first as ADDED).
    pub resource_version: Option<String>,
}

/// A list result: the items and the revision they were read at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectList {
    pub items: Vec<Value>,
    pub resource_version: u64,
}

/// A list whose items are shared with the cluster's cache rather than copied: what controllers
/// read on every sync, where copying every pod of a namespace dominated their cost.
#[derive(Debug, Clone, Default)]
pub struct SharedList {
    pub items: Vec<Arc<Value>>,
    pub resource_version: u64,
}

/// A watch event whose object is shared with the cluster's cache (and with every other
/// watcher) rather than copied for each.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedWatchEvent {
    pub event_type: EventType,
    pub object: Arc<Value>,
}

/// How strictly unknown fields are treated (`--validate`, `fieldValidation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FieldValidation {
    #[default]
    Strict,
    Warn,
    Ignore,
}

impl FieldValidation {
    pub fn parse(s: &str) -> ApiResult<FieldValidation> {
        match s.to_ascii_lowercase().as_str() {
            "strict" | "true" => Ok(FieldValidation::Strict),
            "warn" => Ok(FieldValidation::Warn),
            "ignore" | "false" => Ok(FieldValidation::Ignore),
            other => Err(ApiError::bad_request(format!(
                "invalid validation mode {other:?}: use strict, warn or ignore"
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FieldValidation::Strict => "Strict",
            FieldValidation::Warn => "Warn",
            FieldValidation::Ignore => "Ignore",
        }
    }
}

/// Options of create, update, patch and apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_validation: FieldValidation,
}

/// Deletion propagation (`--cascade`, `propagationPolicy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    pub fn parse(s: &str) -> ApiResult<Propagation> {
        match s.to_ascii_lowercase().as_str() {
            "background" | "true" => Ok(Propagation::Background),
            "foreground" => Ok(Propagation::Foreground),
            "orphan" | "false" => Ok(Propagation::Orphan),
            other => Err(ApiError::bad_request(format!(
                "invalid propagation policy {other:?}: use background, foreground or orphan"
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

/// Options of delete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Seconds the object may take to stop; `Some(0)` with a pod means immediate removal.
    pub grace_period_seconds: Option<i64>,
    pub propagation: Option<Propagation>,
    /// Only delete if the uid still matches.
    pub precondition_uid: Option<String>,
    /// Only delete if the resourceVersion still matches.
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// The `DeleteOptions` body the API takes.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
        if let Some(g) = self.grace_period_seconds {
            v["gracePeriodSeconds"] = json!(g);
        }
        if let Some(p) = self.propagation {
            v["propagationPolicy"] = json!(p.as_str());
        }
        let mut pre = json!({});
        if let Some(u) = &self.precondition_uid {
            pre["uid"] = json!(u);
        }
        if let Some(r) = &self.precondition_resource_version {
            pre["resourceVersion"] = json!(r);
        }
        if pre.as_object().is_some_and(|m| !m.is_empty()) {
            v["preconditions"] = pre;
        }
        if self.dry_run {
            v["dryRun"] = json!(["All"]);
        }
        v
    }

    pub fn from_json(v: &Value) -> ApiResult<DeleteOptions> {
        let propagation = match v.get("propagationPolicy").and_then(Value::as_str) {
            Some(p) => Some(Propagation::parse(p)?),
            None => match v.get("orphanDependents").and_then(Value::as_bool) {
                Some(true) => Some(Propagation::Orphan),
                _ => None,
            },
        };
        Ok(DeleteOptions {
            grace_period_seconds: v.get("gracePeriodSeconds").and_then(Value::as_i64),
            propagation,
            precondition_uid: v
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(str::to_string),
            precondition_resource_version: v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string),
            dry_run: v
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty()),
        })
    }
}

/// What a delete did: removed the object now, or marked it for deletion (finalizers, grace).
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteOutcome {
    Deleted(Value),
    Pending(Value),
}

impl DeleteOutcome {
    pub fn object(&self) -> &Value {
        match self {
            DeleteOutcome::Deleted(v) | DeleteOutcome::Pending(v) => v,
        }
    }
}

/// A patch body, by content type.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    Merge(Value),
    /// RFC 6902 JSON patch (`application/json-patch+json`).
    Json(Value),
}

impl Patch {
    pub fn content_type(&self) -> &'static str {
        match self {
            Patch::Merge(_) => "application/merge-patch+json",
            Patch::Json(_) => "application/json-patch+json",
        }
    }
    pub fn body(&self) -> &Value {
        match self {
            Patch::Merge(v) | Patch::Json(v) => v,
        }
    }
}

/// What `apply` did with one object (kubectl prints `created`, `configured`, `unchanged`).
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyOutcome {
    Created(Value),
    Configured(Value),
    Unchanged(Value),
}

impl ApplyOutcome {
    pub fn object(&self) -> &Value {
        match self {
            ApplyOutcome::Created(v) | ApplyOutcome::Configured(v) | ApplyOutcome::Unchanged(v) => {
                v
            }
        }
    }
    pub fn verb(&self) -> &'static str {
        match self {
            ApplyOutcome::Created(_) => "created",
            ApplyOutcome::Configured(_) => "configured",
            ApplyOutcome::Unchanged(_) => "unchanged",
        }
    }
}

/// One operation of an atomic batch: `apply` (create or three-way update) or plain `create`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    Apply,
    Create,
}

/// Watch event types, as in `watch.EventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    Error,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
            EventType::Error => "ERROR",
        }
    }
    pub fn parse(s: &str) -> Option<EventType> {
        match s {
            "ADDED" => Some(EventType::Added),
            "MODIFIED" => Some(EventType::Modified),
            "DELETED" => Some(EventType::Deleted),
            "ERROR" => Some(EventType::Error),
            _ => None,
        }
    }
}

/// One watch event: `{"type":"ADDED","object":{...}}` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    pub event_type: EventType,
    pub object: Value,
}

impl WatchEvent {
    pub fn to_json(&self) -> Value {
        json!({"type": self.event_type.as_str(), "object": self.object})
    }
    pub fn from_json(v: &Value) -> ApiResult<WatchEvent> {
        let t = v
            .get("type")
            .and_then(Value::as_str)
            .and_then(EventType::parse)
            .ok_or_else(|| ApiError::internal(format!("malformed watch event: {v}")))?;
        Ok(WatchEvent {
            event_type: t,
            object: v.get("object").cloned().unwrap_or(Value::Null),
        })
    }
}

/// Options of pod log reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    /// RFC3339 time: only lines at or after it (`sinceTime`; exclusive with `since_seconds`).
    pub since_time: Option<String>,
    /// Stop after this many bytes of output (`limitBytes`).
    pub limit_bytes: Option<i64>,
}
