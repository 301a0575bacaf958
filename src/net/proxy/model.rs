//! What the proxy programs, derived from Services and their Endpoints: one `ServicePort`
//! per (Service, port) that has a ClusterIP, with the ready endpoints to balance over.
//! Plain data, so rendering the rules is a pure function that tests can pin down.

use crate::api::object::ObjectExt;
use serde_json::Value;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "" | "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            _ => None,
        }
    }
    /// The name nftables uses (`tcp`, `udp`).
    pub fn nft(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One endpoint: a pod's IP and the resolved target port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// One port of one Service, as the proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub namespace: String,
    pub name: String,
    /// The service port's name (`""` for a single unnamed port).
    pub port_name: String,
    pub protocol: Protocol,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    /// The node port, for NodePort and LoadBalancer Services.
    pub node_port: Option<u16>,
    /// ClientIP session affinity: how long a client sticks to its endpoint after its last
    /// new connection.
    pub affinity_timeout_seconds: Option<u32>,
    /// Ready endpoints, sorted; empty means connections are rejected.
    pub endpoints: Vec<Endpoint>,
}

fn u16_at(v: &Value, key: &str) -> Option<u16> {
    v.get(key)
        .and_then(Value::as_i64)
        .and_then(|n| u16::try_from(n).ok())
        .filter(|n| *n != 0)
}

/// The ready endpoints of `endpoints` for the service port named `port_name` with this
/// protocol (Endpoints name their ports after the service's ports).
fn ready_endpoints(
    endpoints: Option<&Value>,
    port_name: &str,
    protocol: Protocol,
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    let subsets = endpoints
        .and_then(|e| e.get("subsets"))
        .and_then(Value::as_array);
    for subset in subsets.into_iter().flatten() {
        let port = subset
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| {
                p.get("name").and_then(Value::as_str).unwrap_or("") == port_name
                    && Protocol::parse(p.get("protocol").and_then(Value::as_str).unwrap_or(""))
                        == Some(protocol)
            })
            .and_then(|p| u16_at(p, "port"));
        let Some(port) = port else {
            continue;
        };
        for a in subset
            .get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(ip) = a
                .get("ip")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
            {
                out.push(Endpoint { ip, port });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The service ports the proxy programs for `service`, given its Endpoints. Headless and
/// ExternalName Services have none (DNS serves them), nor do ports of protocols the proxy
/// does not balance (SCTP).
pub fn service_ports(service: &Value, endpoints: Option<&Value>) -> Vec<ServicePort> {
    let ty = service.str_at("/spec/type").unwrap_or("ClusterIP");
    if ty == "ExternalName" {
        return Vec::new();
    }
    let Some(cluster_ip) = service
        .str_at("/spec/clusterIP")
        .and_then(|s| s.parse::<Ipv4Addr>().ok())
    else {
        return Vec::new();
    };
    let affinity_timeout_seconds = (service.str_at("/spec/sessionAffinity") == Some("ClientIP"))
        .then(|| {
            service
                .pointer("/spec/sessionAffinityConfig/clientIP/timeoutSeconds")
                .and_then(Value::as_i64)
                .and_then(|t| u32::try_from(t).ok())
                .filter(|t| *t > 0)
                .unwrap_or(10800)
        });
    let node_ports = matches!(ty, "NodePort" | "LoadBalancer");
    let mut out = Vec::new();
    for p in service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(protocol) =
            Protocol::parse(p.get("protocol").and_then(Value::as_str).unwrap_or(""))
        else {
            continue;
        };
        let Some(port) = u16_at(p, "port") else {
            continue;
        };
        let port_name = p
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        out.push(ServicePort {
            namespace: service.namespace().unwrap_or("default").to_string(),
            name: service.name().to_string(),
            endpoints: ready_endpoints(endpoints, &port_name, protocol),
            port_name,
            protocol,
            cluster_ip,
            port,
            node_port: if node_ports {
                u16_at(p, "nodePort")
            } else {
                None
            },
            affinity_timeout_seconds,
        });
    }
    out
}
