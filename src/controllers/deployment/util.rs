//! Reading Deployments and ReplicaSets (canonical JSON) the way Kubernetes'
//! `deployment/util` does: replica counts, revisions, orderings, template equality.

use super::hash::POD_TEMPLATE_HASH;
use crate::api::object::{ObjectExt, parse_time};
use serde_json::Value;
use std::cmp::Ordering;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
pub const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

/// Annotations a Deployment does not copy to its ReplicaSets (and rollback does not copy
/// back): Kubernetes' `annotationsToSkip`.
pub fn skip_annotation(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO
    )
}

pub fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

/// `spec.replicas` (both kinds default it to 1).
pub fn spec_replicas(obj: &Value) -> i64 {
    int_at(obj, "/spec/replicas").unwrap_or(1).max(0)
}

pub fn status_replicas(obj: &Value) -> i64 {
    int_at(obj, "/status/replicas").unwrap_or(0)
}

pub fn available(obj: &Value) -> i64 {
    int_at(obj, "/status/availableReplicas").unwrap_or(0)
}

pub fn ready(obj: &Value) -> i64 {
    int_at(obj, "/status/readyReplicas").unwrap_or(0)
}

pub fn is_recreate(d: &Value) -> bool {
    d.str_at("/spec/strategy/type") == Some("Recreate")
}

pub fn paused(d: &Value) -> bool {
    d.pointer("/spec/paused")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `progressDeadlineSeconds`, unless unset or MaxInt32 (Kubernetes' "no deadline").
pub fn progress_deadline(d: &Value) -> Option<i64> {
    int_at(d, "/spec/progressDeadlineSeconds").filter(|s| *s != i64::from(i32::MAX))
}

pub fn revision_history_limit(d: &Value) -> Option<i64> {
    int_at(d, "/spec/revisionHistoryLimit")
}

/// The revision annotation as a number (`Revision` in Kubernetes); absent or bad → None.
pub fn revision(obj: &Value) -> Option<i64> {
    obj.annotation(REVISION).and_then(|s| s.parse().ok())
}

/// Highest revision among the ReplicaSets (0 when none has one).
pub fn max_revision(rss: &[Value]) -> i64 {
    rss.iter().filter_map(revision).max().unwrap_or(0)
}

pub fn sum(rss: &[Value], f: fn(&Value) -> i64) -> i64 {
    rss.iter().map(f).sum()
}

/// Active: wants pods (`FilterActiveReplicaSets`).
pub fn active(rss: &[Value]) -> Vec<Value> {
    rss.iter()
        .filter(|r| spec_replicas(r) > 0)
        .cloned()
        .collect()
}

fn created(obj: &Value) -> Option<jiff::Timestamp> {
    obj.creation_timestamp().and_then(parse_time)
}

/// `ReplicaSetsByCreationTimestamp`: older first, then by name.
pub fn by_creation(a: &Value, b: &Value) -> Ordering {
    match (created(a), created(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        _ => a.name().cmp(b.name()),
    }
}

/// `ReplicaSetsBySizeOlder`: larger first; equal sizes older first.
pub fn by_size_older(a: &Value, b: &Value) -> Ordering {
    spec_replicas(b)
        .cmp(&spec_replicas(a))
        .then_with(|| by_creation(a, b))
}

/// `ReplicaSetsBySizeNewer`: larger first; equal sizes newer first.
pub fn by_size_newer(a: &Value, b: &Value) -> Ordering {
    spec_replicas(b)
        .cmp(&spec_replicas(a))
        .then_with(|| by_creation(b, a))
}

/// `ReplicaSetsByRevision`: lower revision first; without revisions by creation.
pub fn by_revision(a: &Value, b: &Value) -> Ordering {
    match (revision(a), revision(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        _ => by_creation(a, b),
    }
}

/// A pod template without the `pod-template-hash` label (an empty label map dropped).
pub fn template_without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
        if labels.is_empty()
            && let Some(m) = t.pointer_mut("/metadata").and_then(Value::as_object_mut)
        {
            m.remove("labels");
        }
    }
    t
}

/// `EqualIgnoreHash`: the templates are the same apart from the hash label.
pub fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    template_without_hash(a) == template_without_hash(b)
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template is the Deployment's.
pub fn find_new(d: &Value, rss: &[Value]) -> Option<Value> {
    let template = d.pointer("/spec/template").unwrap_or(&Value::Null);
    let mut sorted: Vec<&Value> = rss.iter().collect();
    sorted.sort_by(|a, b| by_creation(a, b));
    sorted
        .into_iter()
        .find(|rs| {
            equal_ignore_hash(
                rs.pointer("/spec/template").unwrap_or(&Value::Null),
                template,
            )
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(name: &str, created: &str, replicas: i64, rev: Option<i64>) -> Value {
        let mut v = json!({"metadata":{"name":name,"creationTimestamp":created},"spec":{"replicas":replicas}});
        if let Some(r) = rev {
            v["metadata"]["annotations"] = json!({REVISION: r.to_string()});
        }
        v
    }

    #[test]
    fn orderings_follow_kubernetes() {
        let a = rs("a", "2024-01-01T00:00:00Z", 3, Some(2));
        let b = rs("b", "2024-01-01T00:00:05Z", 3, Some(1));
        let c = rs("c", "2024-01-01T00:00:09Z", 1, None);
        let mut v = vec![c.clone(), b.clone(), a.clone()];
        v.sort_by(by_creation);
        assert_eq!(
            v.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        v.sort_by(by_size_older);
        assert_eq!(
            v.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        v.sort_by(by_size_newer);
        assert_eq!(
            v.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        v.sort_by(by_revision);
        // c has no revision: compared by creation with the others.
        assert_eq!(
            v.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        assert_eq!(max_revision(&v), 2);
    }

    #[test]
    fn new_replica_set_is_found_ignoring_the_hash() {
        let d = json!({"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"x"}]}}}});
        let mut old = rs("old", "2024-01-01T00:00:00Z", 1, Some(1));
        old["spec"]["template"] = json!({"metadata":{"labels":{"app":"web","pod-template-hash":"1"}},"spec":{"containers":[{"name":"c","image":"y"}]}});
        let mut new = rs("new", "2024-01-01T00:00:01Z", 1, Some(2));
        new["spec"]["template"] = json!({"metadata":{"labels":{"pod-template-hash":"2","app":"web"}},"spec":{"containers":[{"image":"x","name":"c"}]}});
        assert_eq!(find_new(&d, &[old.clone(), new]).unwrap().name(), "new");
        assert!(find_new(&d, &[old]).is_none());
    }

    #[test]
    fn skipped_annotations() {
        assert!(skip_annotation(REVISION));
        assert!(skip_annotation(LAST_APPLIED));
        assert!(!skip_annotation(CHANGE_CAUSE));
    }
}
