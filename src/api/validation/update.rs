//! What an update may not change, per kind (ValidateXxxUpdate).

use super::{Errs, Path, at, get, string};
use crate::api::kinds::KindInfo;
use crate::api::quantity::Quantity;
use serde_json::{Map, Value};

pub(super) fn validate_kind_update(kind: &KindInfo, new: &Value, old: &Value, errs: &mut Errs) {
    match kind.kind {
        "Pod" => pod(new, old, errs),
        "Deployment" | "ReplicaSet" | "DaemonSet" => selector_immutable(new, old, errs),
        "StatefulSet" => stateful_set(new, old, errs),
        "Job" => job(new, old, errs),
        "Service" => service(new, old, errs),
        "PersistentVolumeClaim" => persistent_volume_claim(new, old, errs),
        "PersistentVolume" => persistent_volume(new, old, errs),
        "Secret" => {
            if at(new, "type") != at(old, "type") {
                errs.immutable(&Path::root("type"), at(new, "type"));
            }
            immutable_data(new, old, &["data"], errs);
        }
        "ConfigMap" => immutable_data(new, old, &["data", "binaryData"], errs),
        _ => {}
    }
}

/// `spec` of both objects as maps (empty when absent or malformed).
fn specs(new: &Value, old: &Value) -> (Map<String, Value>, Map<String, Value>) {
    let m = |v: &Value| {
        v.get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    (m(new), m(old))
}

/// Make `dst[key]` what `src[key]` is (present or absent).
fn copy_field(dst: &mut Map<String, Value>, src: &Map<String, Value>, key: &str) {
    match src.get(key) {
        Some(v) => {
            dst.insert(key.to_string(), v.clone());
        }
        None => {
            dst.remove(key);
        }
    }
}

/// Up to `limit` paths at which two values differ, to tell users what they changed.
fn diff_paths(a: &Value, b: &Value, path: &Path, limit: usize, out: &mut Vec<String>) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.dedup();
            let mut seen = std::collections::BTreeSet::new();
            for k in keys.into_iter().filter(|k| seen.insert(*k)) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff_paths(va, vb, &path.child(k), limit, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                diff_paths(va, vb, &path.index(i), limit, out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

const POD_UPDATE_MSG: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn pod(new: &Value, old: &Value, errs: &mut Errs) {
    let (ns, os) = specs(new, old);
    let path = Path::root("spec");
    let ads_path = path.child("activeDeadlineSeconds");
    match (
        ns.get("activeDeadlineSeconds").filter(|v| !v.is_null()),
        os.get("activeDeadlineSeconds").filter(|v| !v.is_null()),
    ) {
        (Some(n), o) => {
            let nv = n.as_i64().unwrap_or(-1);
            if !(0..=i32::MAX as i64).contains(&nv) {
                errs.invalid(
                    &ads_path,
                    n,
                    super::names::inclusive_range_error(0, i32::MAX as i64),
                );
            } else if o.and_then(Value::as_i64).is_some_and(|ov| ov < nv) {
                errs.invalid(&ads_path, n, "must be less than or equal to previous value");
                return;
            }
        }
        (None, Some(_)) => errs.invalid(
            &ads_path,
            &Value::Null,
            "must not update from a positive integer to nil value",
        ),
        (None, None) => {}
    }

    // Take the new spec, undo every change that is allowed, and compare with the old one.
    let mut munged = ns.clone();
    for list in ["containers", "initContainers"] {
        let (Some(Value::Array(nc)), Some(Value::Array(oc))) = (munged.get_mut(list), os.get(list))
        else {
            continue;
        };
        if nc.len() != oc.len() {
            continue;
        }
        for (n, o) in nc.iter_mut().zip(oc) {
            if let (Some(n), Some(o)) = (n.as_object_mut(), o.as_object()) {
                copy_field(n, o, "image");
            }
        }
    }
    copy_field(&mut munged, &os, "activeDeadlineSeconds");
    let grace = |m: &Map<String, Value>| {
        m.get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
    };
    if grace(&os).is_some_and(|g| g < 0) && grace(&ns) == Some(1) {
        copy_field(&mut munged, &os, "terminationGracePeriodSeconds");
    }
    let list = |m: &Map<String, Value>, k: &str| {
        m.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (new_tol, old_tol) = (list(&ns, "tolerations"), list(&os, "tolerations"));
    if old_tol.iter().all(|t| new_tol.contains(t)) {
        copy_field(&mut munged, &os, "tolerations");
    }
    // Scheduling gates may only be removed.
    let (new_gates, old_gates) = (list(&ns, "schedulingGates"), list(&os, "schedulingGates"));
    if new_gates.iter().all(|g| old_gates.contains(g)) {
        copy_field(&mut munged, &os, "schedulingGates");
    }
    let (munged, os) = (Value::Object(munged), Value::Object(os));
    if munged != os {
        let mut changed = Vec::new();
        diff_paths(&os, &munged, &path, 5, &mut changed);
        errs.forbidden(
            &path,
            &format!("{POD_UPDATE_MSG}; changed: {}", changed.join(", ")),
        );
    }
}

fn selector_immutable(new: &Value, old: &Value, errs: &mut Errs) {
    let (n, o) = (
        at(at(new, "spec"), "selector"),
        at(at(old, "spec"), "selector"),
    );
    if n != o {
        errs.immutable(&Path::root("spec").child("selector"), n);
    }
}

fn stateful_set(new: &Value, old: &Value, errs: &mut Errs) {
    let (mut ns, os) = specs(new, old);
    let mut os = os;
    for field in [
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "revisionHistoryLimit",
        "persistentVolumeClaimRetentionPolicy",
    ] {
        ns.remove(field);
        os.remove(field);
    }
    if ns != os {
        errs.forbidden(
            &Path::root("spec"),
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
    }
}

fn job(new: &Value, old: &Value, errs: &mut Errs) {
    let (ns, os) = specs(new, old);
    let path = Path::root("spec");
    let null = Value::Null;
    let field = |m: &Map<String, Value>, k: &str| {
        m.get(k)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null)
    };
    // A selector left out of an update is carried over by the store (it generated it).
    if ns.get("selector").is_some_and(|s| !s.is_null())
        && field(&ns, "selector") != field(&os, "selector")
    {
        errs.immutable(&path.child("selector"), ns.get("selector").unwrap_or(&null));
    }
    let indexed = ns.get("completionMode").and_then(Value::as_str) == Some("Indexed");
    let completions = field(&ns, "completions");
    if completions != field(&os, "completions") {
        if !indexed {
            errs.immutable(&path.child("completions"), &completions);
        } else if !completions.is_null() && completions != field(&ns, "parallelism") {
            errs.invalid(
                &path.child("completions"),
                &completions,
                "can only be modified in tandem with spec.parallelism",
            );
        }
    }
    for k in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "successPolicy",
        "managedBy",
    ] {
        let v = field(&ns, k);
        if v != field(&os, k) {
            errs.immutable(&path.child(k), &v);
        }
    }
    // A suspended Job that never started may still change its scheduling directives.
    let mut old_template = field(&os, "template");
    let new_template = field(&ns, "template");
    let suspended = os.get("suspend").and_then(Value::as_bool) == Some(true)
        && at(at(old, "status"), "startTime").is_null();
    if suspended
        && let (Some(ot), Some(nt)) = (old_template.as_object_mut(), new_template.as_object())
    {
        let nm = nt
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(om) = ot
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            copy_field(om, &nm, "labels");
            copy_field(om, &nm, "annotations");
        }
        let nspec = nt
            .get("spec")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(ospec) = ot.get_mut("spec").and_then(Value::as_object_mut) {
            for k in ["nodeSelector", "tolerations", "affinity", "schedulingGates"] {
                copy_field(ospec, &nspec, k);
            }
        }
    }
    if new_template != old_template {
        errs.immutable(&path.child("template"), &new_template);
    }
}

fn service(new: &Value, old: &Value, errs: &mut Errs) {
    let (ns, os) = (at(new, "spec"), at(old, "spec"));
    if string(ns, "type") == "ExternalName" || string(os, "type") == "ExternalName" {
        return;
    }
    // An update that leaves clusterIP out keeps the allocated one (the store copies it).
    let (n, o) = (string(ns, "clusterIP"), string(os, "clusterIP"));
    if !n.is_empty() && !o.is_empty() && n != o {
        errs.immutable(&Path::root("spec").child("clusterIP"), at(ns, "clusterIP"));
    }
}

fn persistent_volume_claim(new: &Value, old: &Value, errs: &mut Errs) {
    let (mut ns, mut os) = specs(new, old);
    let path = Path::root("spec");
    let storage = |m: &Map<String, Value>| {
        m.get("resources")
            .and_then(|r| r.get("requests"))
            .and_then(|r| r.get("storage"))
            .and_then(|q| Quantity::from_json(q).ok())
    };
    let (new_size, old_size) = (storage(&ns), storage(&os));
    // Binding may fill in volumeName once.
    if string(at(old, "spec"), "volumeName").is_empty() {
        copy_field(&mut os, &ns, "volumeName");
    }
    copy_field(&mut os, &ns, "volumeAttributesClassName");
    let bound = [new, old]
        .iter()
        .any(|o| string(at(o, "status"), "phase") == "Bound");
    if bound {
        for m in [&mut ns, &mut os] {
            if let Some(requests) = m
                .get_mut("resources")
                .and_then(|r| r.get_mut("requests"))
                .and_then(Value::as_object_mut)
            {
                requests.remove("storage");
            }
        }
    }
    if ns != os {
        errs.forbidden(&path, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims");
    }
    if let (Some(n), Some(o)) = (new_size, old_size)
        && bound
        && n < o
    {
        errs.forbidden(
            &path.child("resources").child("requests").child("storage"),
            "field can not be less than previous value",
        );
    }
}

fn persistent_volume(new: &Value, old: &Value, errs: &mut Errs) {
    let (mut ns, mut os) = specs(new, old);
    let path = Path::root("spec");
    if ns.get("volumeMode") != os.get("volumeMode") {
        errs.immutable(
            &path.child("volumeMode"),
            ns.get("volumeMode").unwrap_or(&Value::Null),
        );
    }
    // Everything but these fields is the volume source, fixed at creation.
    for k in [
        "capacity",
        "accessModes",
        "claimRef",
        "persistentVolumeReclaimPolicy",
        "storageClassName",
        "mountOptions",
        "volumeMode",
        "nodeAffinity",
        "volumeAttributesClassName",
    ] {
        ns.remove(k);
        os.remove(k);
    }
    if ns != os {
        errs.forbidden(
            &path.child("persistentvolumesource"),
            "spec.persistentvolumesource is immutable after creation",
        );
    }
}

/// ConfigMap/Secret marked `immutable: true`: the flag and the data are frozen.
fn immutable_data(new: &Value, old: &Value, fields: &[&str], errs: &mut Errs) {
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.forbidden(
            &Path::root("immutable"),
            "field is immutable when `immutable` is set",
        );
    }
    for f in fields {
        let empty = |v: Option<&Value>| {
            v.is_none_or(|x| x.is_null() || x.as_object().is_some_and(Map::is_empty))
        };
        let (n, o) = (get(new, f), get(old, f));
        if n != o && !(empty(n) && empty(o)) {
            errs.forbidden(&Path::root(f), "field is immutable when `immutable` is set");
        }
    }
}
