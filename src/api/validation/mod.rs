//! Validation per kind, as the API server does it (pkg/apis/*/validation): every problem is
//! reported, each as a `FieldError` with the API server's path and wording. Objects arrive
//! defaulted. Unknown fields and JSON type errors belong to `schema`; here a value of the wrong
//! type is treated as absent, and nothing panics whatever the input.

mod config;
mod container;
pub mod cron;
mod meta;
mod names;
mod pod;
mod service;
mod update;
mod workloads;

#[cfg(test)]
mod tests;

use crate::api::error::{FieldError, FieldErrorType};
use crate::api::kinds::KindInfo;
use serde_json::{Map, Value};
use std::fmt;

/// Problems with a (defaulted) object about to be created.
pub fn validate_create(kind: &KindInfo, obj: &Value) -> Vec<FieldError> {
    let mut errs = Errs::default();
    meta::validate_object_meta(kind, obj, &mut errs);
    validate_kind(kind, obj, &mut errs);
    errs.0
}

/// Problems with an update from `old` to `new` (both defaulted), including immutable fields.
pub fn validate_update(kind: &KindInfo, new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Errs::default();
    meta::validate_object_meta(kind, new, &mut errs);
    meta::validate_object_meta_update(new, old, &mut errs);
    validate_kind(kind, new, &mut errs);
    update::validate_kind_update(kind, new, old, &mut errs);
    errs.0
}

fn validate_kind(kind: &KindInfo, obj: &Value, errs: &mut Errs) {
    match kind.kind {
        "Pod" => pod::validate_pod(obj, errs),
        "ReplicationController" => workloads::replication_controller(obj, errs),
        "ReplicaSet" => workloads::replica_set(obj, errs),
        "Deployment" => workloads::deployment(obj, errs),
        "DaemonSet" => workloads::daemon_set(obj, errs),
        "StatefulSet" => workloads::stateful_set(obj, errs),
        "Job" => workloads::job(obj, errs),
        "CronJob" => workloads::cron_job(obj, errs),
        "Service" => service::validate_service(obj, errs),
        "ConfigMap" => config::config_map(obj, errs),
        "Secret" => config::secret(obj, errs),
        "Namespace" => config::namespace(obj, errs),
        "PersistentVolumeClaim" => config::persistent_volume_claim(obj, errs),
        "PersistentVolume" => config::persistent_volume(obj, errs),
        _ => {}
    }
}

/// A field path in Kubernetes notation (`spec.containers[0].ports[1].name`, `data[key]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn root(name: &str) -> Path {
        Path(name.to_string())
    }
    pub(crate) fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }
    pub(crate) fn index(&self, i: usize) -> Path {
        Path(format!("{}[{i}]", self.0))
    }
    pub(crate) fn key(&self, k: &str) -> Path {
        Path(format!("{}[{k}]", self.0))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collected problems, with constructors worded like apimachinery's `field` package.
#[derive(Debug, Default)]
pub(crate) struct Errs(pub(crate) Vec<FieldError>);

impl Errs {
    pub(crate) fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    /// `Required value` or `Required value: <detail>`.
    pub(crate) fn required(&mut self, path: &Path, detail: &str) {
        let msg = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        self.push(FieldError::new(
            FieldErrorType::Required,
            path.to_string(),
            msg,
        ));
    }
    pub(crate) fn invalid(&mut self, path: &Path, value: &Value, detail: impl fmt::Display) {
        self.push(FieldError::invalid(path.to_string(), value, detail));
    }
    /// Invalid with a value shown as the API server prints it (Go syntax such as
    /// `map[string]string{"app":"x"}`).
    pub(crate) fn invalid_shown(&mut self, path: &Path, shown: &str, detail: impl fmt::Display) {
        let msg = format!("Invalid value: {shown}: {detail}");
        self.push(FieldError::new(
            FieldErrorType::Invalid,
            path.to_string(),
            msg,
        ));
    }
    pub(crate) fn invalid_str(&mut self, path: &Path, value: &str, detail: impl fmt::Display) {
        self.invalid(path, &Value::String(value.to_string()), detail);
    }
    /// One Invalid error per message, all for the same string value.
    pub(crate) fn invalid_each(&mut self, path: &Path, value: &str, msgs: Vec<String>) {
        for m in msgs {
            self.invalid_str(path, value, m);
        }
    }
    pub(crate) fn not_supported(&mut self, path: &Path, value: &Value, allowed: &[&str]) {
        self.push(FieldError::not_supported(path.to_string(), value, allowed));
    }
    pub(crate) fn duplicate(&mut self, path: &Path, value: &Value) {
        self.push(FieldError::duplicate(path.to_string(), value));
    }
    pub(crate) fn forbidden(&mut self, path: &Path, detail: &str) {
        self.push(FieldError::forbidden(path.to_string(), detail));
    }
    pub(crate) fn too_long(&mut self, path: &Path, max_bytes: usize) {
        let msg = format!("Too long: may not be more than {max_bytes} bytes");
        self.push(FieldError::new(
            FieldErrorType::TooLong,
            path.to_string(),
            msg,
        ));
    }
    /// apimachinery's `field.NotFound` (a reference to something that does not exist).
    pub(crate) fn not_found(&mut self, path: &Path, value: &str) {
        let msg = format!("Not found: {value:?}");
        self.push(FieldError::new(
            FieldErrorType::NotFound,
            path.to_string(),
            msg,
        ));
    }
    /// `must be greater than or equal to 0` for a negative integer.
    pub(crate) fn non_negative(&mut self, path: &Path, value: Option<i64>) {
        if let Some(v) = value.filter(|v| *v < 0) {
            self.invalid(path, &Value::from(v), "must be greater than or equal to 0");
        }
    }
    pub(crate) fn immutable(&mut self, path: &Path, new: &Value) {
        self.invalid(path, new, "field is immutable");
    }
}

// Tolerant accessors: a value of the wrong JSON type reads as absent.

/// A field that is present and not `null`.
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}
pub(crate) fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}
/// A string field, `""` when absent (Go's zero value).
pub(crate) fn string<'a>(v: &'a Value, key: &str) -> &'a str {
    str_at(v, key).unwrap_or("")
}
pub(crate) fn int_at(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}
pub(crate) fn bool_at(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}
pub(crate) fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
pub(crate) fn object<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}
/// `null` for a missing field, so callers can chain lookups.
pub(crate) fn at<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// Go's `%#v` of a `map[string]string` (sorted keys), used where the API server prints one.
pub(crate) fn go_string_map(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let mut pairs: Vec<(&String, String)> = m
                .iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            pairs.sort();
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
            format!("map[string]string{{{}}}", body.join(", "))
        }
    }
}
