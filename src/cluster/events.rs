//! Recording Events, as client-go's event recorder: one Event per (object, reason, message),
//! repeated occurrences bump `count` and `lastTimestamp` instead of adding objects.

use crate::api::error::ApiResult;
use crate::api::kinds;
use crate::api::object::{ObjectExt, now_rfc3339};
use crate::api::request::WriteOptions;
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

/// `<object>.<16 hex digits>`: FNV-1a over the object's uid, the reason and the message.
fn event_name(obj: &Value, reason: &str, message: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [obj.uid(), reason, message] {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{}.{h:016x}", obj.name())
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
    // One Event per (object, reason, message), found by a name derived from them: a get
    // instead of a list, so recording stays O(1) however many events the namespace holds.
    let name = event_name(obj, reason, message);
    match cluster.get(ev_kind, Some(&ns), &name).await {
        Ok(mut ev) => {
            let count = ev["count"].as_i64().unwrap_or(1) + 1;
            ev["count"] = json!(count);
            ev["lastTimestamp"] = json!(now);
            return cluster.update(ev, &WriteOptions::default()).await;
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
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
