//! Pod and pod template validation (ValidatePodSpec and the parts of it that matter here:
//! volumes, containers, policies, tolerations).

use super::container::{self, Ctx};
use super::meta::{validate_labels, validate_template_meta};
use super::names;
use super::{Errs, Path, at, get, int_at, items, string};
use crate::api::defaults::pod::VOLUME_SOURCES;
use crate::api::quantity::Quantity;
use serde_json::Value;
use std::collections::BTreeSet;

/// How a pod spec is checked, which depends on where it sits.
#[derive(Default)]
pub(crate) struct SpecOpts {
    /// A Pod object, not a template: adds the checks Kubernetes makes only on Pods.
    pub is_pod: bool,
    /// Detail of the `Required value` error for a missing restartPolicy.
    pub restart_required_detail: &'static str,
    /// Volume names provided from outside the pod spec (StatefulSet volumeClaimTemplates).
    pub extra_volumes: Vec<String>,
}

pub(super) fn validate_pod(obj: &Value, errs: &mut Errs) {
    let opts = SpecOpts {
        is_pod: true,
        ..SpecOpts::default()
    };
    validate_pod_spec(at(obj, "spec"), &Path::root("spec"), &opts, errs);
}

/// A `PodTemplateSpec` at `path` (`spec.template`); `Required` when absent.
pub(crate) fn validate_pod_template(
    template: Option<&Value>,
    path: &Path,
    opts: &SpecOpts,
    errs: &mut Errs,
) {
    let Some(template) = template.filter(|t| !t.is_null()) else {
        errs.required(path, "");
        return;
    };
    validate_template_meta(at(template, "metadata"), &path.child("metadata"), errs);
    validate_pod_spec(at(template, "spec"), &path.child("spec"), opts, errs);
}

pub(crate) fn validate_pod_spec(spec: &Value, path: &Path, opts: &SpecOpts, errs: &mut Errs) {
    let mut volumes = validate_volumes(items(spec, "volumes"), &path.child("volumes"), errs);
    volumes.extend(opts.extra_volumes.iter().cloned());
    let ctx = Ctx {
        volumes: &volumes,
        is_pod: opts.is_pod,
        host_network: super::bool_at(spec, "hostNetwork"),
    };
    container::validate_containers(spec, path, &ctx, errs);

    let restart = string(spec, "restartPolicy");
    match restart {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.required(&path.child("restartPolicy"), opts.restart_required_detail),
        other => errs.not_supported(
            &path.child("restartPolicy"),
            &Value::from(other),
            &["Always", "OnFailure", "Never"],
        ),
    }
    let dns = string(spec, "dnsPolicy");
    match dns {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" => {}
        "None" => {
            if get(spec, "dnsConfig").is_none() {
                errs.required(
                    &path.child("dnsConfig"),
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                );
            }
        }
        "" => errs.required(&path.child("dnsPolicy"), ""),
        other => errs.not_supported(
            &path.child("dnsPolicy"),
            &Value::from(other),
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ),
    }
    errs.non_negative(
        &path.child("terminationGracePeriodSeconds"),
        int_at(spec, "terminationGracePeriodSeconds"),
    );
    if let Some(v) = get(spec, "activeDeadlineSeconds") {
        let n = v.as_i64().unwrap_or(0);
        if !(1..=i32::MAX as i64).contains(&n) {
            errs.invalid(
                &path.child("activeDeadlineSeconds"),
                v,
                names::inclusive_range_error(1, i32::MAX as i64),
            );
        }
    }
    validate_labels(spec.get("nodeSelector"), &path.child("nodeSelector"), errs);
    for field in ["serviceAccountName", "schedulerName", "priorityClassName"] {
        let v = string(spec, field);
        if !v.is_empty() {
            errs.invalid_each(&path.child(field), v, names::is_dns1123_subdomain(v));
        }
    }
    for field in ["hostname", "subdomain"] {
        let v = string(spec, field);
        if !v.is_empty() {
            errs.invalid_each(&path.child(field), v, names::is_dns1123_label(v));
        }
    }
    validate_tolerations(items(spec, "tolerations"), &path.child("tolerations"), errs);
    for (i, s) in items(spec, "imagePullSecrets").iter().enumerate() {
        if string(s, "name").is_empty() {
            errs.required(&path.child("imagePullSecrets").index(i).child("name"), "");
        }
    }
}

/// Check volumes; returns the names of the valid ones (mounts may only refer to those).
fn validate_volumes(volumes: &[Value], path: &Path, errs: &mut Errs) -> BTreeSet<String> {
    let mut valid = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (i, vol) in volumes.iter().enumerate() {
        let vp = path.index(i);
        let mut el = Errs::default();
        validate_volume_source(vol, &vp, &mut el);
        let name = string(vol, "name");
        if name.is_empty() {
            el.required(&vp.child("name"), "");
        } else {
            el.invalid_each(&vp.child("name"), name, names::is_dns1123_label(name));
        }
        if !seen.insert(name.to_string()) {
            el.duplicate(&vp.child("name"), &Value::from(name));
        }
        if el.0.is_empty() {
            valid.insert(name.to_string());
        }
        errs.0.extend(el.0);
    }
    valid
}

fn validate_volume_source(vol: &Value, path: &Path, errs: &mut Errs) {
    let present: Vec<&str> = VOLUME_SOURCES
        .iter()
        .copied()
        .filter(|s| get(vol, s).is_some())
        .collect();
    match present.as_slice() {
        [] => errs.required(path, "must specify a volume type"),
        [_, rest @ ..] => {
            for extra in rest {
                errs.forbidden(
                    &path.child(extra),
                    "may not specify more than 1 volume type",
                );
            }
        }
    }
    let Some(first) = present.first() else { return };
    let src = at(vol, first);
    let sp = path.child(first);
    match *first {
        "hostPath" => {
            if string(src, "path").is_empty() {
                errs.required(&sp.child("path"), "");
            }
            let t = string(src, "type");
            const TYPES: &[&str] = &[
                "",
                "DirectoryOrCreate",
                "Directory",
                "FileOrCreate",
                "File",
                "Socket",
                "CharDevice",
                "BlockDevice",
            ];
            if !TYPES.contains(&t) {
                errs.not_supported(&sp.child("type"), &Value::from(t), TYPES);
            }
        }
        "emptyDir" => {
            if let Some(limit) = get(src, "sizeLimit") {
                match Quantity::from_json(limit) {
                    Ok(q) if q < Quantity::zero() => errs.forbidden(
                        &sp.child("sizeLimit"),
                        "SizeLimit field must be a valid resource quantity",
                    ),
                    Ok(_) => {}
                    Err(_) => errs.invalid(&sp.child("sizeLimit"), limit, quantity_reason(limit)),
                }
            }
            let medium = string(src, "medium");
            if !matches!(medium, "" | "Memory") && !medium.starts_with("HugePages") {
                errs.not_supported(
                    &sp.child("medium"),
                    &Value::from(medium),
                    &["", "Memory", "HugePages"],
                );
            }
        }
        "secret" => {
            if string(src, "secretName").is_empty() {
                errs.required(&sp.child("secretName"), "");
            }
            validate_projection_items(src, &sp, errs);
        }
        "configMap" => {
            if string(src, "name").is_empty() {
                errs.required(&sp.child("name"), "");
            }
            validate_projection_items(src, &sp, errs);
        }
        "persistentVolumeClaim" if string(src, "claimName").is_empty() => {
            errs.required(&sp.child("claimName"), "");
        }
        "nfs" => {
            if string(src, "server").is_empty() {
                errs.required(&sp.child("server"), "");
            }
            let p = string(src, "path");
            if p.is_empty() {
                errs.required(&sp.child("path"), "");
            } else if !p.starts_with('/') {
                errs.invalid_str(&sp.child("path"), p, "must be an absolute path");
            }
        }
        _ => {}
    }
}

/// `defaultMode` and `items` of secret and configMap volumes.
fn validate_projection_items(src: &Value, path: &Path, errs: &mut Errs) {
    if let Some(mode) = get(src, "defaultMode")
        && !mode.as_i64().is_some_and(|m| (0..=0o777).contains(&m))
    {
        errs.invalid(
            &path.child("defaultMode"),
            mode,
            "must be a number between 0 and 0777 (octal), both inclusive",
        );
    }
    for (i, item) in items(src, "items").iter().enumerate() {
        let ip = path.child("items").index(i);
        let key = string(item, "key");
        if key.is_empty() {
            errs.required(&ip.child("key"), "");
        }
        let p = string(item, "path");
        if p.is_empty() {
            errs.required(&ip.child("path"), "");
        } else {
            container::validate_local_descending_path(p, &ip.child("path"), errs);
            if p.starts_with("..") {
                errs.invalid_str(&ip.child("path"), p, "must not start with '..'");
            }
        }
    }
}

/// apimachinery's reason for a quantity that does not parse.
pub(crate) fn quantity_reason(v: &Value) -> String {
    match v {
        Value::String(s) => Quantity::try_parse(s.trim())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        Value::Number(n) => Quantity::try_parse(&n.to_string())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        _ => "must be a quantity string such as \"500m\" or \"128Mi\"".to_string(),
    }
}

fn validate_tolerations(tolerations: &[Value], path: &Path, errs: &mut Errs) {
    for (i, t) in tolerations.iter().enumerate() {
        let tp = path.index(i);
        let key = string(t, "key");
        let op = string(t, "operator");
        let effect = string(t, "effect");
        let value = string(t, "value");
        if !key.is_empty() {
            errs.invalid_each(&tp.child("key"), key, names::validate_label_key(key));
        }
        if key.is_empty() && op != "Exists" {
            errs.invalid_str(
                &tp.child("operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            );
        }
        if get(t, "tolerationSeconds").is_some() && effect != "NoExecute" {
            errs.invalid_str(
                &tp.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        match op {
            "Equal" | "" => errs.invalid_each(
                &tp.child("operator"),
                value,
                names::validate_label_value(value),
            ),
            "Exists" => {
                if !value.is_empty() {
                    errs.invalid(
                        &tp.child("operator"),
                        t,
                        "value must be empty when `operator` is 'Exists'",
                    );
                }
            }
            other => errs.not_supported(
                &tp.child("operator"),
                &Value::from(other),
                &["Equal", "Exists"],
            ),
        }
        if !effect.is_empty() && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            errs.not_supported(
                &tp.child("effect"),
                &Value::from(effect),
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            );
        }
    }
}
