//! Validation tests, written from what the Kubernetes API server answers. Objects go through
//! `apply_defaults` first, as they do in the API server.

mod meta;
mod other;
mod pod;
mod update;
mod workloads;

use super::{validate_create, validate_update};
use crate::api::defaults::apply_defaults;
use crate::api::kinds::lookup;
use serde_json::{Value, json};

/// Every problem with a defaulted object, as `path: message` lines.
pub(super) fn create(kind: &str, mut obj: Value) -> Vec<String> {
    let k = lookup(kind).unwrap();
    apply_defaults(k, &mut obj);
    validate_create(k, &obj)
        .iter()
        .map(|e| e.to_string())
        .collect()
}

pub(super) fn update(kind: &str, mut new: Value, mut old: Value) -> Vec<String> {
    let k = lookup(kind).unwrap();
    apply_defaults(k, &mut new);
    apply_defaults(k, &mut old);
    validate_update(k, &new, &old)
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[track_caller]
pub(super) fn assert_valid(kind: &str, obj: Value) {
    let errs = create(kind, obj);
    assert!(
        errs.is_empty(),
        "expected {kind} to be valid, got {errs:#?}"
    );
}

/// The object has exactly these problems (in order).
#[track_caller]
pub(super) fn assert_errs(kind: &str, obj: Value, want: &[&str]) {
    assert_eq!(create(kind, obj), want);
}

/// Among the problems there is one equal to `want`.
#[track_caller]
pub(super) fn assert_has(errs: &[String], want: &str) {
    assert!(
        errs.iter().any(|e| e == want),
        "missing {want:?} in {errs:#?}"
    );
}

/// Among the problems there is one starting with `prefix`.
#[track_caller]
pub(super) fn assert_has_prefix(errs: &[String], prefix: &str) {
    assert!(
        errs.iter().any(|e| e.starts_with(prefix)),
        "missing {prefix:?}… in {errs:#?}"
    );
}

pub(super) fn pod_spec() -> Value {
    json!({"containers": [{"name": "web", "image": "nginx:1.25"}]})
}

pub(super) fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"}, "spec": pod_spec()})
}

/// A pod with `f` applied to its (undefaulted) spec.
pub(super) fn pod_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut p = pod();
    f(&mut p["spec"]);
    p
}

pub(super) fn template(labels: Value) -> Value {
    json!({"metadata": {"labels": labels}, "spec": pod_spec()})
}

pub(super) fn deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}))}})
}

#[test]
fn every_kind_accepts_a_minimal_valid_object() {
    assert_valid("Pod", pod());
    assert_valid("Deployment", deployment());
    let sel = json!({"matchLabels": {"app": "x"}});
    let t = template(json!({"app": "x"}));
    assert_valid(
        "ReplicaSet",
        json!({"metadata": {"name": "x"}, "spec": {"selector": sel, "template": t}}),
    );
    assert_valid(
        "DaemonSet",
        json!({"metadata": {"name": "x"}, "spec": {"selector": sel, "template": t}}),
    );
    assert_valid(
        "StatefulSet",
        json!({"metadata": {"name": "x"}, "spec": {"selector": sel, "serviceName": "x", "template": t}}),
    );
    assert_valid(
        "ReplicationController",
        json!({"metadata": {"name": "x"}, "spec": {"template": t}}),
    );
    let mut jt = template(json!({"app": "x"}));
    jt["spec"]["restartPolicy"] = json!("Never");
    assert_valid(
        "Job",
        json!({"metadata": {"name": "x"}, "spec": {"template": jt}}),
    );
    assert_valid(
        "CronJob",
        json!({"metadata": {"name": "x"}, "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": jt}}}}),
    );
    assert_valid(
        "Service",
        json!({"metadata": {"name": "x"}, "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}),
    );
    assert_valid(
        "ConfigMap",
        json!({"metadata": {"name": "x"}, "data": {"a.txt": "hello"}}),
    );
    assert_valid(
        "Secret",
        json!({"metadata": {"name": "x"}, "data": {"a": "aGk="}}),
    );
    assert_valid("Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_valid("ServiceAccount", json!({"metadata": {"name": "x"}}));
    assert_valid("Node", json!({"metadata": {"name": "node-1.local"}}));
    assert_valid(
        "PersistentVolumeClaim",
        json!({"metadata": {"name": "x"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    );
    assert_valid(
        "PersistentVolume",
        json!({"metadata": {"name": "x"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/data"}}}),
    );
}

#[test]
fn nothing_panics_on_malformed_objects() {
    let shapes = [
        json!(null),
        json!("pod"),
        json!([1, 2]),
        json!({"metadata": "x", "spec": 3}),
        json!({"metadata": {"name": 3, "labels": [1], "annotations": "x", "ownerReferences": {}, "finalizers": [1]}}),
        json!({"spec": {"containers": {"a": 1}, "volumes": "x", "selector": [], "template": "x", "ports": 7}}),
        json!({"spec": {"containers": [1, null, {"ports": [1, {"containerPort": "x"}], "env": "x", "resources": {"limits": [1]}}]}}),
        json!({"spec": {"template": {"metadata": 1, "spec": {"containers": [{"livenessProbe": 1, "volumeMounts": [3]}]}}, "strategy": "x", "updateStrategy": {"rollingUpdate": 5}}}),
        json!({"spec": {"jobTemplate": {"spec": 1}, "schedule": 5, "ports": [{"port": "x", "targetPort": [1], "nodePort": "y"}]}}),
        json!({"data": {"a": 1, "b": null}, "binaryData": 3, "type": 4, "immutable": "yes"}),
    ];
    for kind in crate::api::kinds::KINDS {
        for obj in &shapes {
            let _ = validate_create(kind, obj);
            let _ = validate_update(kind, obj, &shapes[4]);
            let _ = validate_update(kind, &shapes[5], obj);
            let mut d = obj.clone();
            apply_defaults(kind, &mut d);
            let _ = validate_create(kind, &d);
        }
    }
}
