//! Recording Events, as client-go's event recorder: one Event per (object, reason, message),
//! repeated occurrences bump `count` and `lastTimestamp` instead of adding objects.

use crate::api::error::ApiResult;
use crate::api::kinds;
use crate::api::object::{ObjectExt, now_rfc3339};
use crate::api::request::{ListOptions, WriteOptions};
use crate::cluster::Cluster;
use serde_json::{Value, json};

/// `Normal` or `Warning`, as Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Normal,
    Warning,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Normal => "Normal",
            EventKind::Warning => "Warning",
        }
    }
}

/// Who reports: the component (`default-scheduler`, `kubelet`, `replicaset-controller`) and
/// the host it runs on.
#[derive(Debug, Clone)]
pub struct Source {
    pub component: String,
    pub host: String,
}

/// Record an event about `obj`. Failures are returned but callers usually only log them:
/// an event must never stop the work it describes.
pub async fn record(
    cluster: &dyn Cluster,
    source: &Source,
    obj: &Value,
    kind: EventKind,
    reason: &str,
    message: &str,
) -> ApiResult<Value> {
    let Some(ev_kind) = kinds::lookup("events") else {
        return Err(crate::api::error::ApiError::internal("events kind missing"));
    };
    let ns = obj.namespace().unwrap_or("default").to_string();
    let now = now_rfc3339();
    let selector = format!("involvedObject.uid={},reason={reason}", obj.uid());
    let existing = cluster
        .list(
            ev_kind,
            Some(&ns),
            &ListOptions {
                field_selector: Some(selector),
                ..Default::default()
            },
        )
        .await?;
    if let Some(mut ev) = existing.items.into_iter().find(|e| e["message"] == message) {
        let count = ev["count"].as_i64().unwrap_or(1) + 1;
        ev["count"] = json!(count);
        ev["lastTimestamp"] = json!(now);
        return cluster.update(ev, &WriteOptions::default()).await;
    }
    let stamp = jiff::Timestamp::now().as_nanosecond();
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{:x}", obj.name(), stamp), "namespace": ns},
        "involvedObject": {
            "apiVersion": obj.api_version(),
            "kind": obj.kind_str(),
            "name": obj.name(),
            "namespace": obj.namespace(),
            "uid": obj.uid(),
            "resourceVersion": obj.resource_version(),
        },
        "reason": reason,
        "message": message,
        "type": kind.as_str(),
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": source.component, "host": source.host},
        "reportingComponent": source.component,
        "reportingInstance": source.host,
    });
    cluster.create(ev, &WriteOptions::default()).await
}
