//! Objects are canonical JSON (`serde_json::Value`, insertion order preserved) so that every
//! field a user wrote survives a round trip, including ones peapod does not act on. These
//! helpers read and write the well-known metadata fields without going through typed structs.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Finalizer of an object deleted with foreground propagation: it stays until its blocking
/// dependents are gone.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// Finalizer of an object deleted with orphan propagation: it stays until its dependents no
/// longer reference it.
pub const ORPHAN_FINALIZER: &str = "orphan";

/// Read-only accessors on an object.
pub trait ObjectExt {
    fn str_at(&self, pointer: &str) -> Option<&str>;
    fn kind_str(&self) -> &str;
    fn api_version(&self) -> &str;
    fn name(&self) -> &str;
    fn namespace(&self) -> Option<&str>;
    fn uid(&self) -> &str;
    fn resource_version(&self) -> &str;
    fn labels(&self) -> BTreeMap<String, String>;
    fn annotations(&self) -> BTreeMap<String, String>;
    fn label(&self, key: &str) -> Option<&str>;
    fn annotation(&self, key: &str) -> Option<&str>;
    fn deletion_timestamp(&self) -> Option<&str>;
    fn finalizers(&self) -> Vec<String>;
    fn owner_references(&self) -> Vec<OwnerReference>;
    fn creation_timestamp(&self) -> Option<&str>;
    fn generation(&self) -> i64;
}

impl ObjectExt for Value {
    fn str_at(&self, pointer: &str) -> Option<&str> {
        self.pointer(pointer).and_then(Value::as_str)
    }
    fn kind_str(&self) -> &str {
        self.str_at("/kind").unwrap_or("")
    }
    fn api_version(&self) -> &str {
        self.str_at("/apiVersion").unwrap_or("")
    }
    fn name(&self) -> &str {
        self.str_at("/metadata/name").unwrap_or("")
    }
    fn namespace(&self) -> Option<&str> {
        self.str_at("/metadata/namespace").filter(|s| !s.is_empty())
    }
    fn uid(&self) -> &str {
        self.str_at("/metadata/uid").unwrap_or("")
    }
    fn resource_version(&self) -> &str {
        self.str_at("/metadata/resourceVersion").unwrap_or("")
    }
    fn labels(&self) -> BTreeMap<String, String> {
        string_map(self.pointer("/metadata/labels"))
    }
    fn annotations(&self) -> BTreeMap<String, String> {
        string_map(self.pointer("/metadata/annotations"))
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.pointer("/metadata/labels")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.pointer("/metadata/annotations")
            .and_then(|l| l.get(key))
            .and_then(Value::as_str)
    }
    fn deletion_timestamp(&self) -> Option<&str> {
        self.str_at("/metadata/deletionTimestamp")
    }
    fn finalizers(&self) -> Vec<String> {
        self.pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    fn owner_references(&self) -> Vec<OwnerReference> {
        self.pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(OwnerReference::from_value).collect())
            .unwrap_or_default()
    }
    fn creation_timestamp(&self) -> Option<&str> {
        self.str_at("/metadata/creationTimestamp")
    }
    fn generation(&self) -> i64 {
        self.pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.ownerReferences[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: bool,
    pub block_owner_deletion: bool,
}

impl OwnerReference {
    pub fn from_value(v: &Value) -> Option<OwnerReference> {
        Some(OwnerReference {
            api_version: v.get("apiVersion")?.as_str()?.to_string(),
            kind: v.get("kind")?.as_str()?.to_string(),
            name: v.get("name")?.as_str()?.to_string(),
            uid: v.get("uid")?.as_str()?.to_string(),
            controller: v
                .get("controller")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            block_owner_deletion: v
                .get("blockOwnerDeletion")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// The owner reference a controller puts on what it creates.
    pub fn controller_of(owner: &Value) -> Value {
        serde_json::json!({
            "apiVersion": owner.api_version(),
            "kind": owner.kind_str(),
            "name": owner.name(),
            "uid": owner.uid(),
            "controller": true,
            "blockOwnerDeletion": true,
        })
    }
}

/// Mutable access to `metadata`, creating it if absent. Fails only if the object is not a map.
pub fn metadata_mut(obj: &mut Value) -> ApiResult<&mut Map<String, Value>> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("object must be a JSON/YAML mapping"))?;
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
        .ok_or_else(|| ApiError::internal("metadata is not a mapping"))
}

/// Set (or with `None` remove) a metadata field.
pub fn set_meta(obj: &mut Value, field: &str, value: Option<Value>) -> ApiResult<()> {
    let meta = metadata_mut(obj)?;
    match value {
        Some(v) => {
            meta.insert(field.to_string(), v);
        }
        None => {
            meta.remove(field);
        }
    }
    Ok(())
}

/// Set or remove one key of a string map in metadata (`labels`, `annotations`); drops the map
/// when it becomes empty.
pub fn set_meta_map_entry(
    obj: &mut Value,
    map: &str,
    key: &str,
    value: Option<&str>,
) -> ApiResult<()> {
    let meta = metadata_mut(obj)?;
    let entry = meta.entry(map).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Some(m) = entry.as_object_mut() {
        match value {
            Some(v) => {
                m.insert(key.to_string(), Value::String(v.to_string()));
            }
            None => {
                m.remove(key);
            }
        }
        if m.is_empty() {
            meta.remove(map);
        }
    }
    Ok(())
}

/// Resolve the kind of an object from its `apiVersion` and `kind`, with a helpful error.
pub fn kind_of(obj: &Value) -> ApiResult<&'static KindInfo> {
    let kind = obj.kind_str();
    let av = obj.api_version();
    if kind.is_empty() {
        return Err(ApiError::bad_request(
            "Object 'Kind' is missing; add a `kind:` field",
        ));
    }
    if av.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{kind}: apiVersion is missing; add `apiVersion:` (for example {})",
            kinds::KINDS
                .iter()
                .find(|k| k.kind == kind)
                .map(|k| k.api_version())
                .unwrap_or_else(|| "v1".into())
        )));
    }
    kinds::by_api_version(av, kind).ok_or_else(|| {
        match kinds::KINDS.iter().find(|k| k.kind == kind) {
            Some(k) => ApiError::bad_request(format!(
                "no kind {kind:?} is registered for version {av:?}; use apiVersion: {}",
                k.api_version()
            )),
            None => ApiError::bad_request(format!(
                "no matches for kind {kind:?} in version {av:?}; peapod serves: {}",
                kinds::KINDS
                    .iter()
                    .map(|k| k.kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    })
}

/// A reference to one stored object, as used in store keys and messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// `pods`, `deployments.apps`.
    pub resource: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: &KindInfo, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            resource: kind.resource(),
            namespace: if kind.namespaced {
                namespace.unwrap_or("").to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }

    /// Store encoding: `resource/namespace/name` (namespace empty when cluster-scoped). Sorted
    /// keys keep one resource, and one namespace within it, contiguous for range scans.
    pub fn encode(&self) -> String {
        format!("{}/{}/{}", self.resource, self.namespace, self.name)
    }

    pub fn decode(s: &str) -> Option<ObjectKey> {
        let mut it = s.splitn(3, '/');
        Some(ObjectKey {
            resource: it.next()?.to_string(),
            namespace: it.next()?.to_string(),
            name: it.next()?.to_string(),
        })
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.resource, self.name)
        } else {
            write!(
                f,
                "{}/{} in namespace {}",
                self.resource, self.name, self.namespace
            )
        }
    }
}

/// Current time in Kubernetes' RFC 3339 form with second precision (`2024-01-02T03:04:05Z`).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parse an RFC 3339 timestamp as written in objects.
pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_and_setters() {
        let mut p = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x","labels":{"app":"web"}}});
        assert_eq!(p.name(), "a");
        assert_eq!(p.namespace(), Some("x"));
        assert_eq!(p.label("app"), Some("web"));
        set_meta_map_entry(&mut p, "labels", "app", None).unwrap();
        assert!(p.pointer("/metadata/labels").is_none());
        set_meta_map_entry(&mut p, "annotations", "k", Some("v")).unwrap();
        assert_eq!(p.annotation("k"), Some("v"));
        assert_eq!(kind_of(&p).unwrap().plural, "pods");
    }

    #[test]
    fn keys_round_trip() {
        let k = ObjectKey::new(kinds::lookup("deploy").unwrap(), Some("ns1"), "web");
        assert_eq!(k.encode(), "deployments.apps/ns1/web");
        assert_eq!(ObjectKey::decode(&k.encode()), Some(k));
        let n = ObjectKey::new(kinds::lookup("ns").unwrap(), Some("ignored"), "web");
        assert_eq!(n.encode(), "namespaces//web");
    }

    #[test]
    fn missing_kind_is_explained() {
        let e = kind_of(&json!({"kind":"Pod","apiVersion":"apps/v1"})).unwrap_err();
        assert!(e.message.contains("use apiVersion: v1"), "{}", e.message);
    }
}
