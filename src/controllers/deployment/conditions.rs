//! Deployment status and conditions, as Kubernetes' `progress.go` and `sync.go`
//! (`calculateStatus`, `syncRolloutStatus`): counts from the ReplicaSets, `Available`
//! (MinimumReplicasAvailable / MinimumReplicasUnavailable) and `Progressing`
//! (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
//! ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed).

use super::rolling::max_unavailable;
use super::util::{self, available, progress_deadline, ready, spec_replicas, status_replicas};
use crate::api::object::{ObjectExt, parse_time};
use serde_json::{Map, Value, json};
use std::time::Duration;

pub const PROGRESSING: &str = "Progressing";
pub const AVAILABLE: &str = "Available";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

fn stamp(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new condition with both times `now`.
pub fn condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: jiff::Timestamp,
) -> Value {
    let t = stamp(now);
    json!({"type": kind, "status": status, "lastUpdateTime": t, "lastTransitionTime": t,
           "reason": reason, "message": message})
}

pub fn get<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

pub fn remove(status: &mut Value, kind: &str) {
    if let Some(a) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        a.retain(|c| c["type"] != kind);
    }
}

/// `SetDeploymentCondition`: same status and reason → unchanged; same status → keep the
/// transition time; the condition moves to the end.
pub fn set(status: &mut Value, mut cond: Value) {
    let kind = cond["type"].as_str().unwrap_or("").to_string();
    if let Some(cur) = get(status, &kind) {
        if cur["status"] == cond["status"] && cur["reason"] == cond["reason"] {
            return;
        }
        if cur["status"] == cond["status"] {
            cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
        }
    }
    remove(status, &kind);
    if !status.is_object() {
        *status = Value::Object(Map::new());
    }
    let list = status
        .as_object_mut()
        .map(|m| m.entry("conditions").or_insert_with(|| json!([])));
    if let Some(Value::Array(a)) = list {
        a.push(cond);
    } else if let Some(l) = list {
        *l = json!([cond]);
    }
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// `calculateStatus`: counts summed over the ReplicaSets, conditions carried over, and the
/// Available condition set from the minimum availability.
pub fn calculate_status(
    d: &Value,
    all: &[Value],
    new: Option<&Value>,
    now: jiff::Timestamp,
) -> Value {
    let avail = util::sum(all, available);
    let total = util::sum(all, spec_replicas);
    let mut status = json!({
        "observedGeneration": d.generation(),
        "replicas": util::sum(all, status_replicas),
        "updatedReplicas": new.map(status_replicas).unwrap_or(0),
        "readyReplicas": util::sum(all, ready),
        "availableReplicas": avail,
        "unavailableReplicas": (total - avail).max(0),
    });
    if let Some(c) = d.pointer("/status/collisionCount") {
        status["collisionCount"] = c.clone();
    }
    if let Some(c) = d.pointer("/status/conditions") {
        status["conditions"] = c.clone();
    }
    if avail >= spec_replicas(d) - max_unavailable(d) {
        set(
            &mut status,
            condition(
                AVAILABLE,
                "True",
                MIN_AVAILABLE,
                "Deployment has minimum availability.",
                now,
            ),
        );
    } else {
        set(
            &mut status,
            condition(
                AVAILABLE,
                "False",
                MIN_UNAVAILABLE,
                "Deployment does not have minimum availability.",
                now,
            ),
        );
    }
    status
}

/// `DeploymentComplete`.
pub fn complete(d: &Value, status: &Value) -> bool {
    let want = spec_replicas(d);
    int(status, "updatedReplicas") == want
        && int(status, "replicas") == want
        && int(status, "availableReplicas") == want
        && int(status, "observedGeneration") >= d.generation()
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available pods.
pub fn progressing(d: &Value, new_status: &Value) -> bool {
    let old = d.get("status").cloned().unwrap_or(Value::Null);
    let old_old = int(&old, "replicas") - int(&old, "updatedReplicas");
    let new_old = int(new_status, "replicas") - int(new_status, "updatedReplicas");
    int(new_status, "updatedReplicas") > int(&old, "updatedReplicas")
        || new_old < old_old
        || int(new_status, "readyReplicas") > int(&old, "readyReplicas")
        || int(new_status, "availableReplicas") > int(&old, "availableReplicas")
}

/// `DeploymentTimedOut`: no progress reported for progressDeadlineSeconds.
pub fn timed_out(d: &Value, new_status: &Value, now: jiff::Timestamp) -> bool {
    let Some(deadline) = progress_deadline(d) else {
        return false;
    };
    let Some(cond) = get(new_status, PROGRESSING) else {
        return false;
    };
    match cond["reason"].as_str() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => cond["lastUpdateTime"]
            .as_str()
            .and_then(parse_time)
            .is_some_and(|from| from + jiff::SignedDuration::from_secs(deadline) < now),
    }
}

/// `syncRolloutStatus` without the write: the status the Deployment should have now.
pub fn rollout_status(
    d: &Value,
    all: &[Value],
    new: Option<&Value>,
    now: jiff::Timestamp,
) -> Value {
    let mut status = calculate_status(d, all, new, now);
    if progress_deadline(d).is_none() {
        remove(&mut status, PROGRESSING);
    }
    let current = d
        .pointer("/status")
        .and_then(|s| get(s, PROGRESSING))
        .cloned();
    let is_complete = int(&status, "replicas") == int(&status, "updatedReplicas")
        && current
            .as_ref()
            .is_some_and(|c| c["reason"] == NEW_RS_AVAILABLE);
    if progress_deadline(d).is_some() && !is_complete {
        let who = |what: &str| match new {
            Some(rs) => format!("ReplicaSet {:?} {what}", rs.name()),
            None => format!("Deployment {:?} {what}", d.name()),
        };
        if complete(d, &status) {
            let msg = who("has successfully progressed.");
            set(
                &mut status,
                condition(PROGRESSING, "True", NEW_RS_AVAILABLE, &msg, now),
            );
        } else if progressing(d, &status) {
            let msg = who("is progressing.");
            let mut cond = condition(PROGRESSING, "True", RS_UPDATED, &msg, now);
            if let Some(cur) = &current {
                if cur["status"] == "True" {
                    cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                }
                remove(&mut status, PROGRESSING);
            }
            set(&mut status, cond);
        } else if timed_out(d, &status, now) {
            let msg = who("has timed out progressing.");
            set(
                &mut status,
                condition(PROGRESSING, "False", TIMED_OUT, &msg, now),
            );
        }
    }
    status
}

/// `requeueStuckDeployment`: when to look again so a stuck rollout times out on time.
pub fn requeue_after(d: &Value, status: &Value, now: jiff::Timestamp) -> Option<Duration> {
    let deadline = progress_deadline(d)?;
    let cond = get(status, PROGRESSING)?;
    if cond["reason"] == NEW_RS_AVAILABLE || cond["reason"] == TIMED_OUT || complete(d, status) {
        return None;
    }
    let from = cond["lastUpdateTime"].as_str().and_then(parse_time)?;
    let at = from + jiff::SignedDuration::from_secs(deadline);
    let left = now.duration_until(at);
    // A second after the deadline passes, as Kubernetes (it requeues at deadline + 1s).
    Some(Duration::from_secs_f64(left.as_secs_f64().max(0.0)) + Duration::from_secs(1))
}

/// `checkPausedConditions`: the Progressing condition to record on pause or resume, if any.
pub fn paused_condition(d: &Value, now: jiff::Timestamp) -> Option<Value> {
    progress_deadline(d)?;
    let status = d.get("status").cloned().unwrap_or(Value::Null);
    let cond = get(&status, PROGRESSING);
    if cond.is_some_and(|c| c["reason"] == TIMED_OUT) {
        return None;
    }
    let paused_exists = cond.is_some_and(|c| c["reason"] == PAUSED);
    let paused = util::paused(d);
    let new = if paused && !paused_exists {
        condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    } else if !paused && paused_exists {
        condition(
            PROGRESSING,
            "Unknown",
            RESUMED,
            "Deployment is resumed",
            now,
        )
    } else {
        return None;
    };
    let mut status = status;
    set(&mut status, new);
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn deploy(replicas: i64, generation: i64, status: Value) -> Value {
        json!({"metadata":{"name":"web","generation":generation},
               "spec":{"replicas":replicas,"progressDeadlineSeconds":600,
                       "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}},
               "status":status})
    }

    fn rs(name: &str, replicas: i64, avail: i64) -> Value {
        json!({"metadata":{"name":name},"spec":{"replicas":replicas},
               "status":{"replicas":replicas,"readyReplicas":avail,"availableReplicas":avail}})
    }

    #[test]
    fn set_keeps_transition_time_and_skips_no_ops() {
        let now = t("2024-01-01T00:00:00Z");
        let later = t("2024-01-01T00:01:00Z");
        let mut s = json!({});
        set(
            &mut s,
            condition(PROGRESSING, "True", NEW_RS_CREATED, "a", now),
        );
        set(
            &mut s,
            condition(PROGRESSING, "True", NEW_RS_CREATED, "b", later),
        );
        assert_eq!(get(&s, PROGRESSING).unwrap()["message"], "a");
        set(
            &mut s,
            condition(PROGRESSING, "True", RS_UPDATED, "c", later),
        );
        let c = get(&s, PROGRESSING).unwrap();
        assert_eq!(c["lastTransitionTime"], "2024-01-01T00:00:00Z");
        assert_eq!(c["lastUpdateTime"], "2024-01-01T00:01:00Z");
        set(
            &mut s,
            condition(PROGRESSING, "False", TIMED_OUT, "d", later),
        );
        assert_eq!(
            get(&s, PROGRESSING).unwrap()["lastTransitionTime"],
            "2024-01-01T00:01:00Z"
        );
        assert_eq!(s["conditions"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn status_counts_and_availability() {
        let now = t("2024-01-01T00:00:00Z");
        let d = deploy(3, 2, json!({}));
        let s = calculate_status(
            &d,
            &[rs("a", 2, 2), rs("b", 2, 1)],
            Some(&rs("b", 2, 1)),
            now,
        );
        assert_eq!(s["replicas"], 4);
        assert_eq!(s["updatedReplicas"], 2);
        assert_eq!(s["availableReplicas"], 3);
        assert_eq!(s["unavailableReplicas"], 1);
        assert_eq!(s["observedGeneration"], 2);
        assert_eq!(get(&s, AVAILABLE).unwrap()["reason"], MIN_AVAILABLE);
        let s = calculate_status(&d, &[rs("a", 3, 2)], None, now);
        assert_eq!(get(&s, AVAILABLE).unwrap()["status"], "False");
        assert_eq!(get(&s, AVAILABLE).unwrap()["reason"], MIN_UNAVAILABLE);
    }

    #[test]
    fn progress_then_completion_then_stable() {
        let now = t("2024-01-01T00:00:00Z");
        let created = condition(PROGRESSING, "True", NEW_RS_CREATED, "Created", now);
        let d = deploy(
            2,
            1,
            json!({"replicas":2,"updatedReplicas":0,"availableReplicas":2,"conditions":[created]}),
        );
        let s = rollout_status(
            &d,
            &[rs("old", 1, 1), rs("new", 1, 1)],
            Some(&rs("new", 1, 1)),
            now,
        );
        let c = get(&s, PROGRESSING).unwrap();
        assert_eq!(c["reason"], RS_UPDATED);
        assert_eq!(c["message"], "ReplicaSet \"new\" is progressing.");
        let mut d2 = d.clone();
        d2["status"] = s;
        let s = rollout_status(
            &d2,
            &[rs("old", 0, 0), rs("new", 2, 2)],
            Some(&rs("new", 2, 2)),
            now,
        );
        assert_eq!(get(&s, PROGRESSING).unwrap()["reason"], NEW_RS_AVAILABLE);
        assert!(complete(&d2, &s));
        assert!(requeue_after(&d2, &s, now).is_none());
    }

    #[test]
    fn no_progress_past_the_deadline_times_out() {
        let start = t("2024-01-01T00:00:00Z");
        let cond = condition(PROGRESSING, "True", RS_UPDATED, "x", start);
        let st = json!({"replicas":3,"updatedReplicas":1,"readyReplicas":2,"availableReplicas":2,"conditions":[cond]});
        let d = deploy(2, 1, st);
        let all = [rs("old", 2, 2), rs("new", 1, 0)];
        let new = rs("new", 1, 0);
        let s = rollout_status(&d, &all, Some(&new), t("2024-01-01T00:05:00Z"));
        assert_eq!(get(&s, PROGRESSING).unwrap()["reason"], RS_UPDATED);
        let wait = requeue_after(&d, &s, t("2024-01-01T00:05:00Z")).unwrap();
        assert_eq!(wait.as_secs(), 301);
        let s = rollout_status(&d, &all, Some(&new), t("2024-01-01T00:10:01Z"));
        let c = get(&s, PROGRESSING).unwrap();
        assert_eq!(c["reason"], TIMED_OUT);
        assert_eq!(c["status"], "False");
        assert_eq!(
            c["message"],
            "ReplicaSet \"new\" has timed out progressing."
        );
    }

    #[test]
    fn pause_and_resume_conditions() {
        let now = t("2024-01-01T00:00:00Z");
        let mut d = deploy(1, 1, json!({}));
        assert!(paused_condition(&d, now).is_none());
        d["spec"]["paused"] = json!(true);
        let s = paused_condition(&d, now).unwrap();
        assert_eq!(get(&s, PROGRESSING).unwrap()["reason"], PAUSED);
        d["status"] = s;
        assert!(paused_condition(&d, now).is_none());
        d["spec"]["paused"] = json!(false);
        let s = paused_condition(&d, now).unwrap();
        assert_eq!(get(&s, PROGRESSING).unwrap()["reason"], RESUMED);
    }
}
