//! What one DaemonSet sync does, after Kubernetes' daemon_controller.go (manage,
//! podsShouldBeOnNode, updateDaemonSetStatus) and update.go (rollingUpdate without surge),
//! as a pure function of the DaemonSet, the nodes and its pods:
//! - a node that should run the pod and has none gets one; Failed pods are deleted (and
//!   replaced on a later sync); of several running pods on a node the oldest stays;
//! - a node that should no longer run it (selector, affinity, NoExecute taint) loses it;
//! - only when nothing is left to create or delete, RollingUpdate deletes old pods: those
//!   not available at once, available ones while fewer than maxUnavailable nodes are
//!   unavailable (the next sync creates their replacements).

use crate::api::object::{ObjectExt, parse_time};
use crate::controllers::daemonset::nodes;
use crate::controllers::podcontrol;
use crate::controllers::statefulset::revision::pod_revision;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create a pod for this node.
    Create(String),
    /// Delete this pod; `failed` when it is a Failed pod being replaced.
    Delete { name: String, failed: bool },
}

pub fn min_ready_seconds(ds: &Value) -> i64 {
    ds.pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// An int-or-percent against `total`, percentages rounded up (GetScaledValueFromIntOrPercent
/// with roundUp, as the DaemonSet controller calls it). Malformed values count as 0.
pub fn scaled(v: Option<&Value>, total: usize) -> usize {
    match v {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        Some(Value::String(s)) => match s.strip_suffix('%').map(str::parse::<usize>) {
            Some(Ok(p)) => (p * total).div_ceil(100),
            _ => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

fn deleting(p: &Value) -> bool {
    p.deletion_timestamp().is_some()
}

fn failed(p: &Value) -> bool {
    p.str_at("/status/phase") == Some("Failed")
}

fn created(p: &Value) -> Option<jiff::Timestamp> {
    p.creation_timestamp().and_then(parse_time)
}

/// The DaemonSet's pods by the node they are for, oldest first.
pub fn by_node(pods: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut map: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in pods {
        if let Some(n) = nodes::target_node(p) {
            map.entry(n).or_default().push(p);
        }
    }
    for list in map.values_mut() {
        list.sort_by_key(|p| (created(p), p.name().to_string()));
    }
    map
}

/// The create and delete steps of one sync; `template` is `nodes::daemon_template` and
/// `hash` its revision hash.
pub fn plan(
    ds: &Value,
    template: &Value,
    node_list: &[Value],
    pods: &[Value],
    hash: &str,
    now: jiff::Timestamp,
) -> Vec<Step> {
    let on_node = by_node(pods);
    let mut steps = Vec::new();
    let del = |p: &Value, failed: bool| Step::Delete {
        name: p.name().to_string(),
        failed,
    };
    for node in node_list {
        let (run, keep) = nodes::should_run(template, node);
        let here = on_node.get(node.name()).cloned().unwrap_or_default();
        if !keep {
            steps.extend(here.iter().filter(|p| !deleting(p)).map(|p| del(p, false)));
            continue;
        }
        let mut running = Vec::new();
        for p in here.iter().filter(|p| !deleting(p)) {
            if failed(p) {
                steps.push(del(p, true));
            } else {
                running.push(*p);
            }
        }
        if running.is_empty() {
            if run {
                steps.push(Step::Create(node.name().to_string()));
            }
        } else {
            steps.extend(running.iter().skip(1).map(|p| del(p, false)));
        }
    }
    // Pods for nodes that are gone and never got scheduled.
    for (node, list) in &on_node {
        if !node_list.iter().any(|n| n.name() == node) {
            steps.extend(
                list.iter()
                    .filter(|p| {
                        !deleting(p) && p.str_at("/spec/nodeName").is_none_or(str::is_empty)
                    })
                    .map(|p| del(p, false)),
            );
        }
    }
    if steps.is_empty() && ds.str_at("/spec/updateStrategy/type") != Some("OnDelete") {
        steps = rolling_update(ds, template, node_list, &on_node, hash, now);
    }
    steps
}

/// update.go's rollingUpdate with maxSurge 0.
fn rolling_update(
    ds: &Value,
    template: &Value,
    node_list: &[Value],
    on_node: &BTreeMap<String, Vec<&Value>>,
    hash: &str,
    now: jiff::Timestamp,
) -> Vec<Step> {
    let desired = node_list
        .iter()
        .filter(|n| nodes::should_run(template, n).0)
        .count();
    let ru = ds.pointer("/spec/updateStrategy/rollingUpdate");
    let surge = scaled(ru.and_then(|r| r.get("maxSurge")), desired);
    let mut max_unavailable = scaled(
        Some(
            ru.and_then(|r| r.get("maxUnavailable"))
                .unwrap_or(&json!(1)),
        ),
        desired,
    );
    if max_unavailable == 0 && surge == 0 {
        max_unavailable = 1;
    }
    let mrs = min_ready_seconds(ds);
    let mut unavailable = 0usize;
    let mut replace_now = Vec::new();
    let mut candidates = Vec::new();
    for pods in on_node.values() {
        let live: Vec<&&Value> = pods.iter().filter(|p| !deleting(p)).collect();
        let new: Vec<&&Value> = live
            .iter()
            .copied()
            .filter(|p| pod_revision(p) == hash)
            .collect();
        let old: Vec<&&Value> = live
            .iter()
            .copied()
            .filter(|p| pod_revision(p) != hash)
            .collect();
        if new.len() > 1 || old.len() > 1 {
            unavailable += 1;
            continue;
        }
        match (new.first(), old.first()) {
            (Some(n), None) if !podcontrol::is_available(n, mrs, now) => unavailable += 1,
            (None, Some(o)) => {
                if !podcontrol::is_available(o, mrs, now) {
                    replace_now.push(o.name().to_string());
                } else if unavailable < max_unavailable {
                    candidates.push(o.name().to_string());
                }
            }
            _ => {}
        }
    }
    let room = max_unavailable
        .saturating_sub(unavailable)
        .min(candidates.len());
    replace_now
        .into_iter()
        .chain(candidates.into_iter().take(room))
        .map(|name| Step::Delete {
            name,
            failed: false,
        })
        .collect()
}

/// Kubernetes' updateDaemonSetStatus counts.
pub fn status(
    ds: &Value,
    template: &Value,
    node_list: &[Value],
    pods: &[Value],
    hash: &str,
    now: jiff::Timestamp,
) -> Value {
    let on_node = by_node(pods);
    let mrs = min_ready_seconds(ds);
    let (mut desired, mut current, mut mis, mut ready, mut updated, mut available) =
        (0, 0, 0, 0, 0, 0);
    for node in node_list {
        let (run, _) = nodes::should_run(template, node);
        let here: Vec<&Value> = on_node
            .get(node.name())
            .map(|l| l.iter().copied().filter(|p| !deleting(p)).collect())
            .unwrap_or_default();
        if run {
            desired += 1;
            if let Some(p) = here.first() {
                current += 1;
                if podcontrol::is_ready(p) {
                    ready += 1;
                    if podcontrol::is_available(p, mrs, now) {
                        available += 1;
                    }
                }
                if pod_revision(p) == hash {
                    updated += 1;
                }
            }
        } else if !here.is_empty() {
            mis += 1;
        }
    }
    let mut status: Map<String, Value> = ds
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in [
        ("currentNumberScheduled", current),
        ("numberMisscheduled", mis),
        ("desiredNumberScheduled", desired),
        ("numberReady", ready),
    ] {
        status.insert(k.into(), json!(v));
    }
    if ds.generation() > 0 {
        status.insert("observedGeneration".into(), json!(ds.generation()));
    }
    // omitempty fields, as the API writes them.
    for (k, v) in [
        ("updatedNumberScheduled", updated),
        ("numberAvailable", available),
        ("numberUnavailable", desired - available),
    ] {
        if v > 0 {
            status.insert(k.into(), json!(v));
        } else {
            status.remove(k);
        }
    }
    Value::Object(status)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
