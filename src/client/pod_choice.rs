//! Which pods a `KIND/NAME` means and which of them kubectl picks: the pod selector of a
//! controller or service, and kubectl's orders for logs (`ByLogging`) and for attaching
//! (`GetFirstPod`: exec, port-forward). Shared by the CLI and the console.

use crate::api::object::ObjectExt;
use crate::api::selector::LabelSelector;
use serde_json::Value;
use std::collections::BTreeMap;

/// The pod selector of a controller (or service), as a label selector string.
pub fn pod_selector(obj: &Value) -> Option<String> {
    let spec_selector = obj.pointer("/spec/selector")?;
    let sel = match obj.kind_str() {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            LabelSelector::from_json(spec_selector).ok()??
        }
        "ReplicationController" | "Service" => {
            let labels: BTreeMap<String, String> = spec_selector
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
            LabelSelector::from_labels(&labels)
        }
        _ => return None,
    };
    (!sel.is_everything()).then(|| sel.to_string())
}

pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

fn ready_since(pod: &Value) -> Option<String> {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?
        .get("lastTransitionTime")?
        .as_str()
        .map(str::to_string)
}

fn max_restarts(pod: &Value) -> i64 {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// kubectl's `ByLogging` order: the pod whose logs are most interesting comes first.
pub fn by_logging(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let node = |p: &Value| p.str_at("/spec/nodeName").unwrap_or("").is_empty();
    let phase = |p: &Value| match p.str_at("/status/phase") {
        Some("Pending") => 2,
        Some("Unknown") => 1,
        _ => 0,
    };
    // Earlier times first; a missing time last.
    let time = |x: Option<String>, y: Option<String>| match (x, y) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    node(a)
        .cmp(&node(b))
        .then(phase(a).cmp(&phase(b)))
        .then(is_ready(b).cmp(&is_ready(a)))
        .then_with(|| {
            if is_ready(a) && is_ready(b) {
                time(ready_since(a), ready_since(b))
            } else {
                Ordering::Equal
            }
        })
        .then(max_restarts(b).cmp(&max_restarts(a)))
        .then_with(|| {
            time(
                a.creation_timestamp().map(str::to_string),
                b.creation_timestamp().map(str::to_string),
            )
        })
}

/// kubectl's `GetFirstPod` order (the reverse of `ActivePods`): a scheduled, running, ready
/// pod, ready the longest, with the fewest restarts, the oldest.
pub fn most_attachable_first(a: &Value, b: &Value) -> std::cmp::Ordering {
    let scheduled = |p: &Value| !p.str_at("/spec/nodeName").unwrap_or("").is_empty();
    let phase = |p: &Value| match p.str_at("/status/phase") {
        Some("Running") => 2,
        Some("Unknown") => 1,
        _ => 0,
    };
    scheduled(b)
        .cmp(&scheduled(a))
        .then(phase(b).cmp(&phase(a)))
        .then(is_ready(b).cmp(&is_ready(a)))
        .then_with(|| match (ready_since(a), ready_since(b)) {
            (Some(x), Some(y)) if is_ready(a) && is_ready(b) => x.cmp(&y),
            _ => std::cmp::Ordering::Equal,
        })
        .then(max_restarts(a).cmp(&max_restarts(b)))
        .then_with(|| {
            a.creation_timestamp()
                .unwrap_or("")
                .cmp(b.creation_timestamp().unwrap_or(""))
        })
}
