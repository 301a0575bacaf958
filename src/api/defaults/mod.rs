//! Kubernetes defaulting per kind, as the API server applies it on create and update
//! (pkg/apis/*/v1/defaults.go). Works in place on canonical JSON: a default is written only
//! where a field is unset (absent, `null`, or the zero value Go cannot tell from unset), so
//! defaulting is idempotent and never drops what a user wrote. Fields of the wrong JSON type
//! are left alone for schema checking to report.

mod core;
pub(crate) mod pod;
mod workloads;

#[cfg(test)]
pub(crate) use core::base64_encode;

use crate::api::kinds::KindInfo;
use crate::api::quantity::Quantity;
use serde_json::{Map, Value};

/// Fill in defaults in place (restartPolicy, terminationGracePeriodSeconds, ...).
pub fn apply_defaults(kind: &KindInfo, obj: &mut Value) {
    let Some(obj) = obj.as_object_mut() else {
        return;
    };
    match kind.kind {
        "Pod" => pod::default_pod(obj),
        "ReplicationController" => workloads::replication_controller(obj),
        "ReplicaSet" => workloads::replica_set(obj),
        "Deployment" => workloads::deployment(obj),
        "DaemonSet" => workloads::daemon_set(obj),
        "StatefulSet" => workloads::stateful_set(obj),
        "Job" => workloads::job(obj),
        "CronJob" => workloads::cron_job(obj),
        "Service" => core::service(obj),
        "Secret" => core::secret(obj),
        "Namespace" => core::namespace(obj),
        "PersistentVolumeClaim" => core::persistent_volume_claim(obj),
        "PersistentVolume" => core::persistent_volume(obj),
        "Endpoints" => core::endpoints(obj),
        _ => {}
    }
}

/// Absent or `null`: what Go sees as a nil pointer.
fn is_unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Set `key` when it is absent or `null`.
fn default_value(map: &mut Map<String, Value>, key: &str, value: Value) {
    if is_unset(map.get(key)) {
        map.insert(key.to_string(), value);
    }
}

/// Set a string field when it is absent, `null` or `""` (Go cannot tell `""` from unset).
fn default_str(map: &mut Map<String, Value>, key: &str, value: &str) {
    let unset = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    };
    if unset {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Set a non-pointer integer field when it is absent, `null` or 0.
fn default_if_zero(map: &mut Map<String, Value>, key: &str, value: i64) {
    let unset = match map.get(key) {
        None | Some(Value::Null) => true,
        Some(v) => v.as_f64() == Some(0.0),
    };
    if unset {
        map.insert(key.to_string(), Value::from(value));
    }
}

/// An existing nested object, if `key` holds one.
fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// A nested object, created when unset; `None` if `key` holds something else.
fn ensure_child<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    if is_unset(map.get(key)) {
        map.insert(key.to_string(), Value::Object(Map::new()));
    }
    child(map, key)
}

/// Every object element of the array at `key`.
fn each_item<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Resource lists are stored rounded up to milli-units in canonical form (SetDefaults_ResourceList
/// plus the Quantity encoder): `0.5` becomes `500m`, `1n` becomes `1m`. Values that do not parse
/// are kept for validation to report.
fn canonical_resource_list(map: &mut Map<String, Value>, key: &str) {
    if let Some(list) = child(map, key) {
        for v in list.values_mut() {
            if let Ok(q) = Quantity::from_json(v)
                && !v.is_null()
            {
                *v = q.round_up_milli().to_json();
            }
        }
    }
}

#[cfg(test)]
mod tests;
