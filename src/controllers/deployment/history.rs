//! Revisions and history: the annotations a Deployment puts on its ReplicaSets
//! (`SetNewReplicaSetAnnotations`, `SetReplicasAnnotations`), which old ReplicaSets
//! `revisionHistoryLimit` lets go (`cleanupDeployment`), and the ReplicaSet a rollback
//! returns to (kubectl's `deploymentRevision`). Shared with `rollout history|undo`.

use super::util::{
    self, DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY, by_revision, revision,
    skip_annotation, spec_replicas, status_replicas,
};
use crate::api::object::ObjectExt;
use serde_json::{Map, Value};

/// Kubernetes caps the revision-history annotation at this many characters.
const MAX_REV_HISTORY_CHARS: usize = 2000;

fn annotations_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = obj
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let ann = meta
        .as_object_mut()?
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !ann.is_object() {
        *ann = Value::Object(Map::new());
    }
    ann.as_object_mut()
}

fn set_if_changed(m: &mut Map<String, Value>, key: &str, value: String) -> bool {
    if m.get(key).and_then(Value::as_str) == Some(value.as_str()) {
        return false;
    }
    m.insert(key.to_string(), Value::String(value));
    true
}

/// `SetReplicasAnnotations`: desired-replicas and max-replicas. Returns whether they changed.
pub fn set_replicas_annotations(rs: &mut Value, desired: i64, max: i64) -> bool {
    let Some(m) = annotations_mut(rs) else {
        return false;
    };
    let a = set_if_changed(m, DESIRED_REPLICAS, desired.to_string());
    let b = set_if_changed(m, MAX_REPLICAS, max.to_string());
    a | b
}

/// `ReplicasAnnotationsNeedUpdate`.
pub fn replicas_annotations_need_update(rs: &Value, desired: i64, max: i64) -> bool {
    rs.annotation(DESIRED_REPLICAS) != Some(desired.to_string().as_str())
        || rs.annotation(MAX_REPLICAS) != Some(max.to_string().as_str())
}

/// `SetNewReplicaSetAnnotations`: copy the Deployment's annotations (but the skipped ones),
/// raise the revision to `new_revision` (keeping the old one in revision-history when a
/// rollback reuses this ReplicaSet), and on creation the replicas annotations.
pub fn set_new_rs_annotations(
    d: &Value,
    rs: &mut Value,
    new_revision: i64,
    exists: bool,
    max_surge: i64,
) -> bool {
    let mut changed = false;
    let d_ann = d.annotations();
    let Some(m) = annotations_mut(rs) else {
        return false;
    };
    for (k, v) in &d_ann {
        if skip_annotation(k) {
            continue;
        }
        changed |= set_if_changed(m, k, v.clone());
    }
    let old = m.get(REVISION).and_then(Value::as_str).map(str::to_string);
    let old_n = match &old {
        None => 0,
        Some(s) if s.is_empty() => 0,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            // Kubernetes leaves a ReplicaSet with an unreadable revision alone.
            Err(_) => return changed,
        },
    };
    if old_n < new_revision {
        m.insert(REVISION.into(), Value::String(new_revision.to_string()));
        changed = true;
        if let Some(old) = old.filter(|s| !s.is_empty()) {
            let history = m
                .get(REVISION_HISTORY)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if history.is_empty() {
                m.insert(REVISION_HISTORY.into(), Value::String(old));
            } else {
                let mut parts: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > MAX_REV_HISTORY_CHARS && start < parts.len() {
                    total -= parts[start].len() + 1;
                    start += 1;
                }
                if total <= MAX_REV_HISTORY_CHARS {
                    parts = parts.split_off(start);
                    parts.push(&old);
                    m.insert(REVISION_HISTORY.into(), Value::String(parts.join(",")));
                }
            }
        }
    }
    if !exists {
        let desired = spec_replicas(d);
        changed |= set_replicas_annotations(rs, desired, desired + max_surge);
    }
    changed
}

/// `cleanupDeployment`: names of old ReplicaSets to delete so at most
/// `revisionHistoryLimit` remain; only empty, settled ones, lowest revisions first.
pub fn cleanup(old: &[Value], limit: Option<i64>) -> Vec<String> {
    let Some(limit) = limit else {
        return Vec::new();
    };
    let mut alive: Vec<&Value> = old
        .iter()
        .filter(|r| r.deletion_timestamp().is_none())
        .collect();
    let diff = alive.len() as i64 - limit;
    if diff <= 0 {
        return Vec::new();
    }
    alive.sort_by(|a, b| by_revision(a, b));
    alive
        .into_iter()
        .take(diff as usize)
        .filter(|rs| {
            status_replicas(rs) == 0
                && spec_replicas(rs) == 0
                && rs.generation() <= util::int_at(rs, "/status/observedGeneration").unwrap_or(0)
        })
        .map(|rs| rs.name().to_string())
        .collect()
}

/// kubectl's `deploymentRevision`: the ReplicaSet of revision `to` (0 = the one before the
/// newest). Errors are kubectl's messages.
pub fn rollback_target<'a>(name: &str, rss: &'a [Value], to: i64) -> Result<&'a Value, String> {
    if to > 0 {
        return rss
            .iter()
            .find(|rs| revision(rs) == Some(to))
            .ok_or_else(|| format!("unable to find specified revision {to} in history"));
    }
    let mut with_rev: Vec<(i64, &Value)> = rss
        .iter()
        .filter_map(|r| revision(r).map(|n| (n, r)))
        .collect();
    with_rev.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    with_rev
        .get(1)
        .map(|(_, r)| *r)
        .ok_or_else(|| format!("no rollout history found for deployment {name:?}"))
}

/// `rollout history` rows: (revision, change-cause) sorted by revision.
pub fn history_rows(rss: &[Value]) -> Vec<(i64, String)> {
    let mut rows: Vec<(i64, String)> = rss
        .iter()
        .filter_map(|rs| {
            let n = revision(rs)?;
            let cause = rs.annotation(util::CHANGE_CAUSE).unwrap_or("").to_string();
            Some((n, cause))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows.dedup_by_key(|r| r.0);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d() -> Value {
        json!({"metadata":{"name":"web","annotations":{
            "kubernetes.io/change-cause":"set image x",
            "kubectl.kubernetes.io/last-applied-configuration":"{}",
            REVISION:"7"}},"spec":{"replicas":3}})
    }

    #[test]
    fn new_replica_set_gets_revision_cause_and_replicas() {
        let mut rs = json!({"metadata":{"name":"web-1"}});
        assert!(set_new_rs_annotations(&d(), &mut rs, 1, false, 1));
        let a = rs.annotations();
        assert_eq!(a.get(REVISION).map(String::as_str), Some("1"));
        assert_eq!(
            a.get(util::CHANGE_CAUSE).map(String::as_str),
            Some("set image x")
        );
        assert_eq!(a.get(DESIRED_REPLICAS).map(String::as_str), Some("3"));
        assert_eq!(a.get(MAX_REPLICAS).map(String::as_str), Some("4"));
        assert!(!a.contains_key(util::LAST_APPLIED));
        assert!(!a.contains_key(REVISION_HISTORY));
        // Nothing new: unchanged.
        assert!(!set_new_rs_annotations(&d(), &mut rs, 1, true, 1));
    }

    #[test]
    fn reused_replica_set_keeps_its_old_revisions() {
        let mut rs = json!({"metadata":{"name":"web-1","annotations":{REVISION:"1"}}});
        assert!(set_new_rs_annotations(&d(), &mut rs, 3, true, 1));
        assert_eq!(rs.annotation(REVISION), Some("3"));
        assert_eq!(rs.annotation(REVISION_HISTORY), Some("1"));
        assert!(set_new_rs_annotations(&d(), &mut rs, 5, true, 1));
        assert_eq!(rs.annotation(REVISION_HISTORY), Some("1,3"));
        // A lower revision never lowers it.
        set_new_rs_annotations(&d(), &mut rs, 2, true, 1);
        assert_eq!(rs.annotation(REVISION), Some("5"));
    }

    fn old(name: &str, rev: i64, replicas: i64) -> Value {
        json!({"metadata":{"name":name,"generation":1,"annotations":{REVISION: rev.to_string()}},
               "spec":{"replicas":replicas},"status":{"replicas":replicas,"observedGeneration":1}})
    }

    #[test]
    fn cleanup_deletes_oldest_empty_revisions_over_the_limit() {
        let olds = [
            old("c", 3, 0),
            old("a", 1, 0),
            old("b", 2, 1),
            old("d", 4, 0),
        ];
        assert_eq!(cleanup(&olds, Some(2)), vec!["a".to_string()]);
        assert_eq!(cleanup(&olds, Some(0)), vec!["a", "c", "d"]);
        assert!(cleanup(&olds, Some(10)).is_empty());
        assert!(cleanup(&olds, None).is_empty());
    }

    #[test]
    fn rollback_targets_like_kubectl() {
        let rss = [old("a", 1, 0), old("b", 3, 0), old("c", 2, 3)];
        assert_eq!(rollback_target("web", &rss, 0).unwrap().name(), "c");
        assert_eq!(rollback_target("web", &rss, 1).unwrap().name(), "a");
        assert_eq!(
            rollback_target("web", &rss, 9).unwrap_err(),
            "unable to find specified revision 9 in history"
        );
        assert_eq!(
            rollback_target("web", &rss[..1], 0).unwrap_err(),
            "no rollout history found for deployment \"web\""
        );
        assert_eq!(
            history_rows(&rss).iter().map(|r| r.0).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }
}
