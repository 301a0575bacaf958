//! What one StatefulSet sync does, after Kubernetes' stateful_set_control.go
//! (updateStatefulSet), as a pure function of the set and its pods:
//! - pods `<set>-<start>` … `<set>-<start+replicas-1>` are replicas, others are condemned;
//! - replicas are created, and Failed / Succeeded ones deleted for re-creation, in ordinal
//!   order; with OrderedReady (monotonic) the sync stops at the first pod it creates or that
//!   is terminating or not yet Running and Ready; with Parallel it goes on;
//! - condemned pods are deleted from the highest ordinal; OrderedReady deletes one at a time,
//!   waits for it to be gone, and only while every other pod is healthy;
//! - RollingUpdate deletes, from the highest ordinal down to the partition, the first pod not
//!   of the update revision, once all higher ones are healthy; OnDelete never does.

use crate::api::object::ObjectExt;
use crate::controllers::podcontrol;
use crate::controllers::statefulset::identity::ordinal_of;
use crate::controllers::statefulset::revision::pod_revision;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create the pod of this ordinal (with its claims first).
    Create(i64),
    /// Delete this pod; `condemned` when it is out of range (scale-down), which makes its
    /// claims follow whenScaled.
    Delete { name: String, condemned: bool },
}

pub fn replicas(set: &Value) -> i64 {
    set.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0)
}

pub fn start_ordinal(set: &Value) -> i64 {
    set.pointer("/spec/ordinals/start")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0)
}

pub fn min_ready_seconds(set: &Value) -> i64 {
    set.pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn monotonic(set: &Value) -> bool {
    set.str_at("/spec/podManagementPolicy") != Some("Parallel")
}

fn on_delete(set: &Value) -> bool {
    set.str_at("/spec/updateStrategy/type") == Some("OnDelete")
}

fn partition(set: &Value) -> i64 {
    set.pointer("/spec/updateStrategy/rollingUpdate/partition")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0)
}

fn terminating(pod: &Value) -> bool {
    pod.deletion_timestamp().is_some()
}

fn finished(pod: &Value) -> bool {
    matches!(
        pod.str_at("/status/phase"),
        Some("Failed") | Some("Succeeded")
    )
}

/// Kubernetes' isRunningAndReady (and, with minReadySeconds, isRunningAndAvailable).
pub fn healthy(pod: &Value, min_ready: i64, now: jiff::Timestamp) -> bool {
    pod.str_at("/status/phase") == Some("Running")
        && podcontrol::is_available(pod, min_ready, now)
        && !terminating(pod)
}

/// The steps of one sync. `pods` are the set's pods (claimed, terminating ones included).
pub fn plan(set: &Value, pods: &[Value], update_revision: &str, now: jiff::Timestamp) -> Vec<Step> {
    let set_name = set.name();
    let (start, count) = (start_ordinal(set), replicas(set));
    let min_ready = min_ready_seconds(set);
    let mono = monotonic(set);
    let mut slots: Vec<Option<&Value>> = vec![None; count as usize];
    let mut condemned: Vec<(i64, &Value)> = Vec::new();
    for pod in pods {
        let Some(ord) = ordinal_of(set_name, pod.name()) else {
            continue;
        };
        if ord >= start && ord < start + count {
            slots[(ord - start) as usize] = Some(pod);
        } else {
            condemned.push((ord, pod));
        }
    }
    condemned.sort_by_key(|(ord, _)| *ord);
    let is_healthy = |p: &Value| healthy(p, min_ready, now);
    // The first unhealthy pod, replicas first (a missing one counts), then condemned.
    let first_unhealthy: Option<String> = slots
        .iter()
        .enumerate()
        .find(|(_, p)| !p.is_some_and(is_healthy))
        .map(|(i, _)| format!("{set_name}-{}", start + i as i64))
        .or_else(|| {
            condemned
                .iter()
                .find(|(_, p)| !is_healthy(p))
                .map(|(_, p)| p.name().to_string())
        });
    let mut steps = Vec::new();
    for (i, slot) in slots.iter().enumerate() {
        let ord = start + i as i64;
        match slot {
            None => {
                steps.push(Step::Create(ord));
                if mono {
                    return steps;
                }
            }
            Some(p) if terminating(p) => {
                if mono {
                    return steps;
                }
            }
            Some(p) if finished(p) => {
                // Deleted now, created again once it is gone.
                steps.push(Step::Delete {
                    name: p.name().to_string(),
                    condemned: false,
                });
                if mono {
                    return steps;
                }
            }
            Some(p) if !is_healthy(p) => {
                if mono {
                    return steps;
                }
            }
            Some(_) => {}
        }
    }
    for (_, p) in condemned.iter().rev() {
        if terminating(p) {
            if mono {
                return steps;
            }
            continue;
        }
        if mono && !is_healthy(p) && first_unhealthy.as_deref() != Some(p.name()) {
            return steps;
        }
        steps.push(Step::Delete {
            name: p.name().to_string(),
            condemned: true,
        });
        if mono {
            return steps;
        }
    }
    if on_delete(set) {
        return steps;
    }
    for i in (partition(set).min(count)..count).rev() {
        let Some(p) = slots[i as usize] else {
            return steps;
        };
        if pod_revision(p) != update_revision && !terminating(p) {
            steps.push(Step::Delete {
                name: p.name().to_string(),
                condemned: false,
            });
            return steps;
        }
        if !is_healthy(p) {
            return steps;
        }
    }
    steps
}

/// The status of the set (Kubernetes' computeReplicaStatus and completeRollingUpdate), with
/// `current_revision` as the sync saw it.
pub fn status(
    set: &Value,
    pods: &[Value],
    current_revision: &str,
    update_revision: &str,
    now: jiff::Timestamp,
) -> Value {
    let min_ready = min_ready_seconds(set);
    let (mut replicas_n, mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0, 0);
    for p in pods {
        replicas_n += 1;
        if p.str_at("/status/phase") == Some("Running") && podcontrol::is_ready(p) {
            ready += 1;
            if podcontrol::is_available(p, min_ready, now) {
                available += 1;
            }
        }
        if !terminating(p) {
            let rev = pod_revision(p);
            if rev == current_revision {
                current += 1;
            }
            if rev == update_revision {
                updated += 1;
            }
        }
    }
    let mut current_revision = current_revision.to_string();
    // completeRollingUpdate: every pod updated and ready makes the update the current one.
    let rolling = set.str_at("/spec/updateStrategy/type") != Some("OnDelete");
    let want = replicas(set);
    if rolling && updated == want && ready == want && replicas_n == want {
        current_revision = update_revision.to_string();
        current = updated;
    }
    let mut status: Map<String, Value> = set
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if set.generation() > 0 {
        status.insert("observedGeneration".into(), json!(set.generation()));
    }
    status.insert("replicas".into(), json!(replicas_n));
    status.insert("readyReplicas".into(), json!(ready));
    status.insert("currentReplicas".into(), json!(current));
    status.insert("updatedReplicas".into(), json!(updated));
    status.insert("availableReplicas".into(), json!(available));
    status.insert("currentRevision".into(), json!(current_revision));
    status.insert("updateRevision".into(), json!(update_revision));
    let collisions = status.get("collisionCount").cloned();
    status.insert("collisionCount".into(), collisions.unwrap_or(json!(0)));
    Value::Object(status)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
