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

/// A Job's generated selector, as the API server's job strategy does once the Job has its
/// uid: unless `spec.manualSelector` is true, the pod template gets the `controller-uid` and
/// `job-name` labels (plain and `batch.kubernetes.io/`), and an absent selector becomes
/// `batch.kubernetes.io/controller-uid=<uid>`.
pub fn generate_job_selector(obj: &mut Value) {
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if uid.is_empty() || spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let template = spec
        .entry("template")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(t) = template.as_object_mut() {
        let meta = t
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            let labels = m
                .entry("labels")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(l) = labels.as_object_mut() {
                for (k, v) in [
                    ("batch.kubernetes.io/controller-uid", &uid),
                    ("batch.kubernetes.io/job-name", &name),
                    ("controller-uid", &uid),
                    ("job-name", &name),
                ] {
                    l.insert(k.into(), Value::String(v.clone()));
                }
            }
        }
    }
    if spec.get("selector").is_none_or(Value::is_null) {
        spec.insert(
            "selector".into(),
            serde_json::json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
    }
}

#[cfg(test)]
mod job_selector_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_selector_is_generated_from_the_uid_unless_manual() {
        let mut job = json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"template": {"spec": {}}}});
        generate_job_selector(&mut job);
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
        let labels = &job["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels["job-name"], "pi");
        assert_eq!(labels["controller-uid"], "u-1");
        let mut manual = json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}}}});
        let before = manual.clone();
        generate_job_selector(&mut manual);
        assert_eq!(manual, before);
    }
}
