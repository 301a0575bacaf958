//! Services, Endpoints and Pods (as API JSON) into the zone's plain entries.

use super::zone::{EndpointAddress, ServiceEntry, ServicePort};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn ports(list: Option<&Value>) -> Vec<ServicePort> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some(ServicePort {
                name: s(p, "/name").to_string(),
                protocol: match s(p, "/protocol") {
                    "" => "TCP".to_string(),
                    other => other.to_string(),
                },
                port: u16::try_from(p.get("port")?.as_u64()?).ok()?,
            })
        })
        .collect()
}

/// Pods with `spec.hostname` and `spec.subdomain`, by (namespace, name): an endpoint of a
/// headless service named like the subdomain gets the pod's hostname, as the endpoints
/// controller would have set it.
pub type HostnamedPods = HashMap<(String, String), (String, String)>;

/// Remembers the pod's hostname and subdomain if it has both.
pub fn hostnamed_pod(pod: &Value) -> Option<((String, String), (String, String))> {
    let (host, sub) = (s(pod, "/spec/hostname"), s(pod, "/spec/subdomain"));
    if host.is_empty() || sub.is_empty() {
        return None;
    }
    Some((
        (
            s(pod, "/metadata/namespace").to_string(),
            s(pod, "/metadata/name").to_string(),
        ),
        (host.to_string(), sub.to_string()),
    ))
}

/// The DNS view of a Service and its Endpoints (ready addresses; not-ready ones too when the
/// service publishes them).
pub fn service_entry(svc: &Value, endpoints: Option<&Value>, pods: &HostnamedPods) -> ServiceEntry {
    let name = s(svc, "/metadata/name").to_string();
    let namespace = match s(svc, "/metadata/namespace") {
        "" => "default".to_string(),
        ns => ns.to_string(),
    };
    let external_name = (s(svc, "/spec/type") == "ExternalName")
        .then(|| s(svc, "/spec/externalName").to_string())
        .filter(|n| !n.is_empty());
    let cluster_ip = s(svc, "/spec/clusterIP");
    let headless = cluster_ip == "None";
    let mut cluster_ips: Vec<IpAddr> = svc
        .pointer("/spec/clusterIPs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str()?.parse().ok())
        .collect();
    if cluster_ips.is_empty()
        && let Ok(ip) = cluster_ip.parse()
    {
        cluster_ips.push(ip);
    }
    let publish_not_ready =
        svc.pointer("/spec/publishNotReadyAddresses") == Some(&Value::Bool(true));
    let mut entry = ServiceEntry {
        ports: ports(svc.pointer("/spec/ports")),
        name,
        namespace,
        cluster_ips,
        headless,
        external_name,
        ..Default::default()
    };
    let subsets = endpoints
        .and_then(|e| e.get("subsets"))
        .and_then(Value::as_array);
    for subset in subsets.into_iter().flatten() {
        let mut lists = vec![subset.get("addresses")];
        if publish_not_ready {
            lists.push(subset.get("notReadyAddresses"));
        }
        for a in lists
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            let Ok(ip) = s(a, "/ip").parse::<IpAddr>() else {
                continue;
            };
            let mut hostname = Some(s(a, "/hostname").to_string()).filter(|h| !h.is_empty());
            if hostname.is_none() && s(a, "/targetRef/kind") == "Pod" {
                let key = (entry.namespace.clone(), s(a, "/targetRef/name").to_string());
                if let Some((host, sub)) = pods.get(&key)
                    && *sub == entry.name
                {
                    hostname = Some(host.clone());
                }
            }
            if !entry.endpoints.iter().any(|e| e.ip == ip) {
                entry.endpoints.push(EndpointAddress { ip, hostname });
            }
        }
        for p in ports(subset.get("ports")) {
            if !entry.endpoint_ports.contains(&p) {
                entry.endpoint_ports.push(p);
            }
        }
    }
    entry
}
