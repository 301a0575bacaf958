//! A StatefulSet pod's identity and storage, after Kubernetes' stateful_set_utils.go: the
//! name `<set>-<ordinal>`, the labels statefulset.kubernetes.io/pod-name and
//! apps.kubernetes.io/pod-index, hostname = pod name, subdomain = serviceName, and one claim
//! `<claim>-<set>-<ordinal>` per volumeClaimTemplate mounted in place of any template volume
//! of the same name.

use crate::api::object::{ObjectExt, OwnerReference};
use crate::controllers::podcontrol;
use crate::controllers::statefulset::revision::REVISION_LABEL;
use serde_json::{Map, Value, json};

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The ordinal of a pod named `<set>-<n>` that belongs to `set` (Kubernetes' getParentNameAndOrdinal
/// with the parent check of isMemberOf); `None` for any other name.
pub fn ordinal_of(set: &str, pod_name: &str) -> Option<i64> {
    let rest = pod_name.strip_prefix(set)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// The set a pod name `<set>-<n>` points to, if it has that form.
pub fn parent_of(pod_name: &str) -> Option<&str> {
    let (parent, ord) = pod_name.rsplit_once('-')?;
    (!ord.is_empty() && ord.bytes().all(|b| b.is_ascii_digit())).then_some(parent)
}

pub fn pod_name(set: &Value, ordinal: i64) -> String {
    format!("{}-{ordinal}", set.name())
}

pub fn claim_name(template_name: &str, set: &Value, ordinal: i64) -> String {
    format!("{template_name}-{}", pod_name(set, ordinal))
}

fn claim_templates(set: &Value) -> Vec<Value> {
    set.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Kubernetes' newVersionedStatefulSetPod: the pod of `ordinal` built from `template`, with
/// its identity, its claims as volumes and the revision label.
pub fn new_pod(set: &Value, template: &Value, revision: &str, ordinal: i64) -> Value {
    let mut pod = podcontrol::pod_from_template(set, template, "");
    let name = pod_name(set, ordinal);
    if let Some(m) = pod["metadata"].as_object_mut() {
        m.remove("generateName");
        m.insert("name".into(), json!(name));
    }
    let labels = &mut pod["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[POD_NAME_LABEL] = json!(name);
    labels[POD_INDEX_LABEL] = json!(ordinal.to_string());
    labels[REVISION_LABEL] = json!(revision);
    pod["spec"]["hostname"] = json!(name);
    if let Some(svc) = set.str_at("/spec/serviceName").filter(|s| !s.is_empty()) {
        pod["spec"]["subdomain"] = json!(svc);
    }
    // Kubernetes' updateStorage: claims replace template volumes of the same name.
    let mut volumes: Vec<Value> = pod["spec"]["volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for t in claim_templates(set) {
        let tname = t.name().to_string();
        volumes.retain(|v| v["name"].as_str() != Some(tname.as_str()));
        volumes.push(json!({"name": tname,
            "persistentVolumeClaim": {"claimName": claim_name(&tname, set, ordinal)}}));
    }
    if !volumes.is_empty() {
        pod["spec"]["volumes"] = Value::Array(volumes);
    }
    pod
}

/// The claims of `ordinal` (Kubernetes' getPersistentVolumeClaims): template metadata and
/// spec, the set's matchLabels added to the labels, in the set's namespace.
pub fn claims_for(set: &Value, ordinal: i64) -> Vec<Value> {
    let match_labels: Map<String, Value> = set
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    claim_templates(set)
        .into_iter()
        .map(|t| {
            let mut meta = t
                .get("metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let name = claim_name(t.name(), set, ordinal);
            meta.insert("name".into(), json!(name));
            if let Some(ns) = set.namespace() {
                meta.insert("namespace".into(), json!(ns));
            }
            let mut labels = meta
                .get("labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in &match_labels {
                labels.insert(k.clone(), v.clone());
            }
            if !labels.is_empty() {
                meta.insert("labels".into(), Value::Object(labels));
            }
            for f in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
                meta.remove(f);
            }
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": meta,
                   "spec": t.get("spec").cloned().unwrap_or_else(|| json!({}))})
        })
        .collect()
}

/// Whether the pod has the identity of `ordinal` in `set` (Kubernetes' identityMatches).
pub fn identity_matches(set: &Value, pod: &Value, ordinal: i64) -> bool {
    let name = pod_name(set, ordinal);
    let svc = set.str_at("/spec/serviceName").unwrap_or("");
    pod.name() == name
        && pod.namespace() == set.namespace()
        && pod.label(POD_NAME_LABEL) == Some(name.as_str())
        && pod.str_at("/spec/hostname") == Some(name.as_str())
        && (svc.is_empty() || pod.str_at("/spec/subdomain") == Some(svc))
}

/// `persistentVolumeClaimRetentionPolicy` (whenDeleted, whenScaled), `Retain` by default.
pub fn retention(set: &Value) -> (bool, bool) {
    let delete = |f: &str| {
        set.pointer(&format!("/spec/persistentVolumeClaimRetentionPolicy/{f}"))
            .and_then(Value::as_str)
            == Some("Delete")
    };
    (delete("whenDeleted"), delete("whenScaled"))
}

fn owner_ref(owner: &Value, kind: &str, api_version: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": owner.name(),
           "uid": owner.uid(), "blockOwnerDeletion": true})
}

/// The owner references a claim should carry (Kubernetes' updateClaimOwnerRefForSetAndPod):
/// the set owns it when whenDeleted is Delete (and the pod is in range, if whenScaled is
/// Delete too); the pod owns it when whenScaled is Delete and the pod is condemned — the
/// garbage collector then deletes the claim with its owner. References to other objects
/// stay. Returns `None` when nothing changes.
pub fn claim_owner_refs(
    set: &Value,
    pod: Option<&Value>,
    claim: &Value,
    in_range: bool,
) -> Option<Vec<Value>> {
    let (when_deleted, when_scaled) = retention(set);
    let (set_ref, pod_ref) = match (when_deleted, when_scaled) {
        (false, false) => (false, false),
        (true, false) => (true, false),
        (false, true) => (false, !in_range),
        (true, true) => (in_range, !in_range),
    };
    let refs: Vec<Value> = claim
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pod_uid = pod.map(|p| p.uid()).unwrap_or("");
    let mut out: Vec<Value> = refs
        .iter()
        .filter(|r| {
            let uid = r["uid"].as_str().unwrap_or("");
            uid != set.uid() && (pod_uid.is_empty() || uid != pod_uid)
        })
        .cloned()
        .collect();
    if set_ref {
        out.push(owner_ref(set, "StatefulSet", "apps/v1"));
    }
    if pod_ref && let Some(p) = pod {
        out.push(owner_ref(p, "Pod", "v1"));
    }
    let same = |a: &[Value], b: &[Value]| {
        let uids = |v: &[Value]| {
            let mut u: Vec<String> = v
                .iter()
                .filter_map(OwnerReference::from_value)
                .map(|r| r.uid)
                .collect();
            u.sort();
            u
        };
        uids(a) == uids(b)
    };
    (!same(&refs, &out)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Value {
        json!({"apiVersion":"apps/v1","kind":"StatefulSet",
          "metadata":{"name":"web","namespace":"default","uid":"set-uid"},
          "spec":{"serviceName":"nginx","selector":{"matchLabels":{"app":"nginx"}},
            "template":{"metadata":{"labels":{"app":"nginx"}},
              "spec":{"containers":[{"name":"c","image":"i"}],
                      "volumes":[{"name":"www","emptyDir":{}},{"name":"other","emptyDir":{}}]}},
            "volumeClaimTemplates":[{"metadata":{"name":"www","labels":{"tier":"db"}},
              "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}})
    }

    #[test]
    fn ordinals_parse_only_members() {
        assert_eq!(ordinal_of("web", "web-0"), Some(0));
        assert_eq!(ordinal_of("web", "web-12"), Some(12));
        assert_eq!(ordinal_of("web", "web-x"), None);
        assert_eq!(ordinal_of("web", "web-"), None);
        assert_eq!(ordinal_of("web", "webby-1"), None);
        assert_eq!(ordinal_of("web", "web-api-1"), None);
        assert_eq!(parent_of("web-api-3"), Some("web-api"));
        assert_eq!(parent_of("web"), None);
    }

    #[test]
    fn pods_carry_identity_claims_and_revision() {
        let s = set();
        let pod = new_pod(&s, &s["spec"]["template"], "web-abc", 2);
        assert_eq!(pod["metadata"]["name"], "web-2");
        assert!(pod["metadata"].get("generateName").is_none());
        assert_eq!(pod["metadata"]["labels"][POD_NAME_LABEL], "web-2");
        assert_eq!(pod["metadata"]["labels"][POD_INDEX_LABEL], "2");
        assert_eq!(pod["metadata"]["labels"][REVISION_LABEL], "web-abc");
        assert_eq!(pod["metadata"]["labels"]["app"], "nginx");
        assert_eq!(pod["spec"]["hostname"], "web-2");
        assert_eq!(pod["spec"]["subdomain"], "nginx");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "set-uid");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        let vols = pod["spec"]["volumes"].as_array().unwrap();
        assert_eq!(vols.len(), 2);
        assert_eq!(vols[0]["name"], "other");
        assert_eq!(vols[1]["persistentVolumeClaim"]["claimName"], "www-web-2");
        assert!(identity_matches(&s, &pod, 2));
        assert!(!identity_matches(&s, &pod, 1));
    }

    #[test]
    fn claims_are_named_per_ordinal_with_selector_labels() {
        let c = claims_for(&set(), 1);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["metadata"]["name"], "www-web-1");
        assert_eq!(c[0]["metadata"]["namespace"], "default");
        assert_eq!(
            c[0]["metadata"]["labels"],
            json!({"tier":"db","app":"nginx"})
        );
        assert_eq!(c[0]["spec"]["resources"]["requests"]["storage"], "1Gi");
    }

    #[test]
    fn retention_policy_decides_claim_owners() {
        let mut s = set();
        let pod = json!({"metadata":{"name":"web-1","uid":"pod-uid"}});
        let claim = json!({"metadata":{"name":"www-web-1"}});
        // Retain/Retain: never owned.
        assert_eq!(claim_owner_refs(&s, Some(&pod), &claim, false), None);
        s["spec"]["persistentVolumeClaimRetentionPolicy"] =
            json!({"whenDeleted":"Delete","whenScaled":"Retain"});
        let refs = claim_owner_refs(&s, Some(&pod), &claim, true).unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0]["uid"], "set-uid");
        s["spec"]["persistentVolumeClaimRetentionPolicy"] =
            json!({"whenDeleted":"Retain","whenScaled":"Delete"});
        assert_eq!(claim_owner_refs(&s, Some(&pod), &claim, true), None);
        let refs = claim_owner_refs(&s, Some(&pod), &claim, false).unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0]["uid"], "pod-uid");
        // Already right: nothing to write.
        let owned = json!({"metadata":{"name":"www-web-1","ownerReferences":refs}});
        assert_eq!(claim_owner_refs(&s, Some(&pod), &owned, false), None);
        // Back in range (scaled up again): the pod reference goes.
        assert_eq!(claim_owner_refs(&s, Some(&pod), &owned, true), Some(vec![]));
    }
}
