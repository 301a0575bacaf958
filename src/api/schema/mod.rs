//! Strict field validation against the Kubernetes OpenAPI schemas (from k8s-openapi's schemars
//! feature): unknown fields with a did-you-mean, and wrong JSON types.
//!
//! Each kind's schema is generated once, on first use, and kept for the life of the process.

mod walk;

use crate::api::error::FieldError;
use crate::api::kinds::KindInfo;
use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
use serde_json::Value;
use std::sync::OnceLock;

type Generate = fn() -> Value;

/// Kinds with a schema: (group, kind, generator).
const SCHEMAS: &[(&str, &str, Generate)] = &[
    ("", "ConfigMap", root::<core::ConfigMap>),
    ("", "Endpoints", root::<core::Endpoints>),
    ("", "Event", root::<core::Event>),
    ("", "Namespace", root::<core::Namespace>),
    ("", "Node", root::<core::Node>),
    (
        "",
        "PersistentVolumeClaim",
        root::<core::PersistentVolumeClaim>,
    ),
    ("", "PersistentVolume", root::<core::PersistentVolume>),
    ("", "Pod", root::<core::Pod>),
    (
        "",
        "ReplicationController",
        root::<core::ReplicationController>,
    ),
    ("", "Secret", root::<core::Secret>),
    ("", "ServiceAccount", root::<core::ServiceAccount>),
    ("", "Service", root::<core::Service>),
    ("apps", "DaemonSet", root::<apps::DaemonSet>),
    ("apps", "Deployment", root::<apps::Deployment>),
    ("apps", "ReplicaSet", root::<apps::ReplicaSet>),
    ("apps", "StatefulSet", root::<apps::StatefulSet>),
    ("batch", "CronJob", root::<batch::CronJob>),
    ("batch", "Job", root::<batch::Job>),
    (
        "discovery.k8s.io",
        "EndpointSlice",
        root::<k8s_openapi::api::discovery::v1::EndpointSlice>,
    ),
];

static CACHE: [OnceLock<Value>; SCHEMAS.len()] = [const { OnceLock::new() }; SCHEMAS.len()];

fn root<T: schemars::JsonSchema>() -> Value {
    schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value()
}

/// The JSON schema of a kind: the root object schema with every referenced definition under
/// `$defs` (references are `#/$defs/<name>`, names as in the Kubernetes OpenAPI document,
/// e.g. `io.k8s.api.core.v1.PodSpec`). `None` for kinds without one.
pub fn schema_for(kind: &KindInfo) -> Option<&'static Value> {
    let index = SCHEMAS
        .iter()
        .position(|(group, name, _)| *group == kind.group && *name == kind.kind)?;
    let (_, _, generate) = SCHEMAS[index];
    Some(CACHE[index].get_or_init(generate))
}

/// Every unknown field (`FieldErrorType::Unknown`) and type mismatch (`TypeMismatch`) in `obj`.
///
/// Paths use Kubernetes notation: struct fields dotted (`spec.containers[0].image`), map
/// entries in brackets (`metadata.labels[version]`). An unknown field's children are not
/// checked. Kinds without a schema are not checked at all.
pub fn check_fields(kind: &KindInfo, obj: &Value) -> Vec<FieldError> {
    match schema_for(kind) {
        Some(schema) => walk::check(schema, obj),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
