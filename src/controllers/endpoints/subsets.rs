//! The Endpoints subsets of one Service, computed from its pods as Kubernetes' endpoints
//! controller does (pkg/controller/endpoint): pods without an IP are skipped, finished pods
//! and (unless `publishNotReadyAddresses`) terminating pods are left out, ready pods go to
//! `addresses` and the rest to `notReadyAddresses`, and each service port's `targetPort` is
//! resolved per pod (a name is looked up among that pod's container ports). Pods with the
//! same resolved ports share one subset (RepackSubsets).

use crate::api::object::ObjectExt;
use crate::controllers::podcontrol;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The port of `pod` a service port's `targetPort` names: the number itself, or the
/// `containerPort` of the container port with that name and protocol. `None` when a named
/// port is not found in this pod (the pod then gets no endpoint for this port).
pub fn resolve_target_port(pod: &Value, service_port: &Value) -> Option<i64> {
    let protocol = service_port
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("TCP");
    match service_port.get("targetPort") {
        Some(Value::Number(n)) => n.as_i64().filter(|p| *p > 0),
        Some(Value::String(name)) if !name.is_empty() => {
            if let Ok(n) = name.parse::<i64>() {
                return Some(n);
            }
            pod.pointer("/spec/containers")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(|c| c.get("ports").and_then(Value::as_array))
                .flatten()
                .find(|p| {
                    p.get("name").and_then(Value::as_str) == Some(name)
                        && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == protocol
                })
                .and_then(|p| p.get("containerPort").and_then(Value::as_i64))
        }
        _ => service_port.get("port").and_then(Value::as_i64),
    }
}

/// The endpointslice controller's rule: an IP and not finished; terminating pods stay
/// (with their `terminating` condition).
pub(super) fn belongs_in_slice(pod: &Value) -> bool {
    belongs(pod, true)
}

/// Kubernetes' ShouldPodBeInEndpoints: has an IP, is not finished, and is not terminating
/// unless the service publishes not-ready addresses.
fn belongs(pod: &Value, include_terminating: bool) -> bool {
    if pod.str_at("/status/podIP").is_none_or(str::is_empty) {
        return false;
    }
    if matches!(
        pod.str_at("/status/phase"),
        Some("Succeeded") | Some("Failed")
    ) {
        return false;
    }
    include_terminating || pod.deletion_timestamp().is_none()
}

fn address(pod: &Value, service: &Value) -> Value {
    let mut a = Map::new();
    a.insert(
        "ip".into(),
        json!(pod.str_at("/status/podIP").unwrap_or("")),
    );
    // A pod with hostname and a subdomain naming this service gets a DNS record by name.
    if let Some(h) = pod.str_at("/spec/hostname").filter(|h| !h.is_empty())
        && pod.str_at("/spec/subdomain") == Some(service.name())
    {
        a.insert("hostname".into(), json!(h));
    }
    if let Some(node) = pod.str_at("/spec/nodeName").filter(|n| !n.is_empty()) {
        a.insert("nodeName".into(), json!(node));
    }
    a.insert(
        "targetRef".into(),
        json!({"kind": "Pod", "namespace": pod.namespace().unwrap_or(""),
               "name": pod.name(), "uid": pod.uid()}),
    );
    Value::Object(a)
}

pub(super) fn endpoint_port(service_port: &Value, port: i64) -> Value {
    let mut p = Map::new();
    if let Some(n) = service_port
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        p.insert("name".into(), json!(n));
    }
    p.insert("port".into(), json!(port));
    p.insert(
        "protocol".into(),
        service_port
            .get("protocol")
            .cloned()
            .unwrap_or_else(|| json!("TCP")),
    );
    if let Some(ap) = service_port.get("appProtocol") {
        p.insert("appProtocol".into(), ap.clone());
    }
    Value::Object(p)
}

fn sort_key_ip(a: &Value) -> (Option<std::net::IpAddr>, String) {
    let ip = a.get("ip").and_then(Value::as_str).unwrap_or("");
    (ip.parse().ok(), ip.to_string())
}

/// `spec.publishNotReadyAddresses`.
pub(super) fn publishes_not_ready(service: &Value) -> bool {
    service
        .pointer("/spec/publishNotReadyAddresses")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `spec.ports`.
pub(super) fn ports_of(service: &Value) -> Vec<&Value> {
    service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// One subset being built: its ports, ready and not-ready addresses.
type Group = (Vec<Value>, Vec<Value>, Vec<Value>);

/// The subsets of `service` given the pods its selector matches.
pub fn compute_subsets<'a>(
    service: &Value,
    pods: impl IntoIterator<Item = &'a Value>,
) -> Vec<Value> {
    let publish_not_ready = publishes_not_ready(service);
    let service_ports = ports_of(service);
    // Resolved port list (as canonical JSON text for grouping) → its subset.
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in pods {
        if !belongs(pod, publish_not_ready) {
            continue;
        }
        let ports: Vec<Value> = service_ports
            .iter()
            .filter_map(|sp| resolve_target_port(pod, sp).map(|p| endpoint_port(sp, p)))
            .collect();
        // A pod that serves none of the ports is no endpoint (a headless service without
        // ports still lists its pods).
        if ports.is_empty() && !service_ports.is_empty() {
            continue;
        }
        let mut sorted = ports.clone();
        sorted.sort_by_key(|p| p.to_string());
        let group = groups
            .entry(Value::Array(sorted.clone()).to_string())
            .or_insert_with(|| (sorted, Vec::new(), Vec::new()));
        if publish_not_ready || podcontrol::is_ready(pod) {
            group.1.push(address(pod, service));
        } else {
            group.2.push(address(pod, service));
        }
    }
    groups
        .into_values()
        .map(|(ports, mut ready, mut not_ready)| {
            ready.sort_by_key(sort_key_ip);
            not_ready.sort_by_key(sort_key_ip);
            let mut s = Map::new();
            if !ready.is_empty() {
                s.insert("addresses".into(), Value::Array(ready));
            }
            if !not_ready.is_empty() {
                s.insert("notReadyAddresses".into(), Value::Array(not_ready));
            }
            if !ports.is_empty() {
                s.insert("ports".into(), Value::Array(ports));
            }
            Value::Object(s)
        })
        .collect()
}
