//! What `kubectl port-forward` does on the client side, shared by the CLI and the console:
//! pick the pod behind `pod/NAME`, `svc/NAME` or `deploy/NAME` (and other controllers), turn
//! service ports and named ports into container port numbers, and start the forward with
//! `net::portforward` (which enters the pod's network namespace on this machine).

use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::ListOptions;
pub use crate::client::pod_choice::most_attachable_first;
use crate::client::pod_choice::pod_selector;
use crate::cluster::Cluster;
use crate::net::portforward::PodNetns;
pub use crate::net::portforward::{
    Forward, ForwardEvent, ListenAddr, PortPair, parse_addresses, parse_ports,
};
use serde_json::Value;
use std::path::Path;
use tokio::sync::mpsc;

/// The pod a forward goes to and the numeric ports.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub ports: Vec<PortPair>,
}

/// Resolves `TYPE/NAME` (or a bare pod name) and the port specs to a running pod and numeric
/// ports, as kubectl's port-forward `Complete` does. A controller or service without pods
/// is looked at again until `wait_for_pods` has passed (`--pod-running-timeout`).
pub async fn resolve(
    cluster: &dyn Cluster,
    namespace: &str,
    object: &str,
    ports: &[String],
    wait_for_pods: std::time::Duration,
) -> Result<Target, String> {
    let (resource, name) = object.split_once('/').unwrap_or(("pod", object));
    if name.is_empty() {
        return Err(format!("{object:?}: a name is required (TYPE/NAME)"));
    }
    let kind = kinds::lookup(resource)
        .ok_or_else(|| format!("the server doesn't have a resource type {resource:?}"))?;
    let pods = kinds::lookup("pods").ok_or("pods are not served")?;
    let obj = cluster
        .get(kind, Some(namespace), name)
        .await
        .map_err(|e| e.message)?;
    let pod = if kind.kind == "Pod" {
        obj.clone()
    } else {
        let selector = pod_selector(&obj).ok_or_else(|| {
            format!(
                "cannot port-forward to {} {name:?}: it selects no pods (only pods, services \
                 with a selector, deployments, replicasets, statefulsets, daemonsets and jobs)",
                kind.resource()
            )
        })?;
        let opts = ListOptions {
            label_selector: Some(selector.clone()),
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + wait_for_pods;
        let mut found = loop {
            let items = cluster
                .list(pods, Some(namespace), &opts)
                .await
                .map_err(|e| e.message)?
                .items;
            if !items.is_empty() || tokio::time::Instant::now() >= deadline {
                break items;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        };
        found.sort_by(most_attachable_first);
        found.into_iter().next().ok_or_else(|| {
            format!(
                "{}/{name} has no pods (selector {selector})",
                kind.resource()
            )
        })?
    };
    let phase = pod.str_at("/status/phase").unwrap_or("Pending");
    if phase != "Running" {
        return Err(format!(
            "unable to forward port because pod {} is not running. Current status={phase}",
            pod.name()
        ));
    }
    let numeric = if kind.kind == "Service" {
        translate_service_ports(ports, &obj, &pod)?
    } else {
        convert_pod_named_ports(ports, &pod)?
    };
    let ports = crate::net::portforward::parse_ports(&numeric)?;
    Ok(Target {
        namespace: namespace.to_string(),
        pod: pod.name().to_string(),
        uid: pod.uid().to_string(),
        ports,
    })
}

/// Starts forwarding to `target` on this machine (the pod's shim lives in `<state>/pods`).
pub async fn start(
    state_dir: &Path,
    target: &Target,
    addresses: &[ListenAddr],
    events: mpsc::UnboundedSender<ForwardEvent>,
) -> Result<Forward, String> {
    if target.uid.is_empty() {
        return Err(format!("pod {} has no uid yet", target.pod));
    }
    let netns = PodNetns::open(&state_dir.join("pods").join(&target.uid))
        .await
        .map_err(|e| format!("pod {}/{}: {e}", target.namespace, target.pod))?;
    Forward::start(netns, addresses, &target.ports, events).await
}

/// Resolves and starts in one step (the console's Shift-F): the target and the running
/// forward.
pub async fn resolve_and_start(
    cluster: &dyn Cluster,
    state_dir: &Path,
    namespace: &str,
    object: &str,
    ports: &[String],
    addresses: &[ListenAddr],
    events: mpsc::UnboundedSender<ForwardEvent>,
) -> Result<(Target, Forward), String> {
    let target = resolve(cluster, namespace, object, ports, std::time::Duration::ZERO).await?;
    let forward = start(state_dir, &target, addresses, events).await?;
    Ok((target, forward))
}

/// Checks the shape of `[LOCAL:]REMOTE` before anything is resolved: LOCAL a port number or
/// empty, REMOTE a port number or a port name.
pub fn check_port_spec(spec: &str) -> Result<(), String> {
    let (local, remote) = match spec.split_once(':') {
        Some((l, r)) => (l, r),
        None => ("", spec),
    };
    if !local.is_empty() && local.parse::<u16>().is_err() {
        return Err(format!(
            "{spec:?}: the local port must be a number (or empty)"
        ));
    }
    let named = !remote.is_empty()
        && remote.len() <= 15
        && remote
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    match remote.parse::<u16>() {
        Ok(0) => Err(format!("{spec:?}: the remote port must be > 0")),
        Ok(_) => Ok(()),
        Err(_) if named && remote.chars().any(|c| c.is_ascii_lowercase()) => Ok(()),
        Err(_) => Err(format!("{spec:?}: use [LOCAL:]REMOTE, e.g. 8080:80")),
    }
}

/// kubectl's `splitPort`: `L:R` or a single port used for both.
fn split_port(spec: &str) -> (&str, &str) {
    match spec.split_once(':') {
        Some((l, r)) if !r.contains(':') => (l, r),
        _ => (spec, spec),
    }
}

fn join_port(local: &str, original_remote: &str, remote: &str) -> String {
    if local != original_remote {
        format!("{local}:{remote}")
    } else {
        remote.to_string()
    }
}

/// The number of the container port named `name` in any container of the pod.
fn container_port_by_name(pod: &Value, name: &str) -> Result<u16, String> {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|p| p.get("containerPort").and_then(Value::as_u64))
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| format!("Pod '{}' does not have a named port '{name}'", pod.name()))
}

/// kubectl's `convertPodNamedPortToNumber`: a remote port name becomes the container port.
pub fn convert_pod_named_ports(ports: &[String], pod: &Value) -> Result<Vec<String>, String> {
    ports
        .iter()
        .map(|spec| {
            let (local, remote) = split_port(spec);
            let number = if remote.parse::<u16>().is_ok() {
                remote.to_string()
            } else {
                container_port_by_name(pod, remote)?.to_string()
            };
            Ok(join_port(local, remote, &number))
        })
        .collect()
}

/// kubectl's `translateServicePortToTargetPort`: the remote port names a service port (by
/// number or name) and becomes its targetPort, a number or a named container port of the
/// pod; a headless service forwards the port as given.
pub fn translate_service_ports(
    ports: &[String],
    svc: &Value,
    pod: &Value,
) -> Result<Vec<String>, String> {
    let svc_ports: Vec<&Value> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let port_of = |p: &Value| p.get("port").and_then(Value::as_u64);
    ports
        .iter()
        .map(|spec| {
            let (mut local, remote) = split_port(spec);
            let number: u64 = match remote.parse::<u16>() {
                Ok(n) => n.into(),
                Err(_) => svc_ports
                    .iter()
                    .find(|p| p.get("name").and_then(Value::as_str) == Some(remote))
                    .and_then(|p| port_of(p))
                    .ok_or_else(|| {
                        format!(
                            "Service '{}' does not have a named port '{remote}'",
                            svc.name()
                        )
                    })?,
            };
            let number_text = number.to_string();
            if local == remote {
                local = &number_text;
            }
            let sp = svc_ports
                .iter()
                .find(|p| port_of(p) == Some(number))
                .ok_or_else(|| {
                    format!(
                        "Service {} does not have a service port {number}",
                        svc.name()
                    )
                })?;
            let target = if svc.str_at("/spec/clusterIP") == Some("None") {
                number_text.clone()
            } else {
                match sp.get("targetPort") {
                    Some(Value::String(name)) => match name.parse::<u16>() {
                        Ok(n) if n > 0 => n.to_string(),
                        _ => container_port_by_name(pod, name)?.to_string(),
                    },
                    Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => n.to_string(),
                    _ => number_text.clone(),
                }
            };
            Ok(if local != target {
                format!("{local}:{target}")
            } else {
                target
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
