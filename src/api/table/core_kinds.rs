//! Rows of core kinds: services, endpoints, namespaces, nodes, config maps, secrets, service
//! accounts, volumes and claims, events.

use super::{
    AGE, Column, NAME, age, arr, col, format_label_map, i, int, map_len, name, s, since, wide,
};
use serde_json::Value;

pub(super) const SERVICE: &[Column] = &[
    NAME,
    col("Type"),
    col("Cluster-IP"),
    col("External-IP"),
    col("Port(s)"),
    AGE,
    wide("Selector"),
];
pub(super) const ENDPOINTS: &[Column] = &[NAME, col("Endpoints"), AGE];
pub(super) const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    col("AddressType"),
    col("Ports"),
    col("Endpoints"),
    AGE,
];
pub(super) const NAMESPACE: &[Column] = &[NAME, col("Status"), AGE];
pub(super) const NODE: &[Column] = &[
    NAME,
    col("Status"),
    col("Roles"),
    AGE,
    col("Version"),
    wide("Internal-IP"),
    wide("External-IP"),
    wide("OS-Image"),
    wide("Kernel-Version"),
    wide("Container-Runtime"),
];
pub(super) const CONFIGMAP: &[Column] = &[NAME, int("Data"), AGE];
pub(super) const SECRET: &[Column] = &[NAME, col("Type"), int("Data"), AGE];
pub(super) const SERVICEACCOUNT: &[Column] = &[NAME, int("Secrets"), AGE];
pub(super) const PVC: &[Column] = &[
    NAME,
    col("Status"),
    col("Volume"),
    col("Capacity"),
    col("Access Modes"),
    col("StorageClass"),
    col("VolumeAttributesClass"),
    AGE,
    wide("VolumeMode"),
];
pub(super) const PV: &[Column] = &[
    NAME,
    col("Capacity"),
    col("Access Modes"),
    col("Reclaim Policy"),
    col("Status"),
    col("Claim"),
    col("StorageClass"),
    col("VolumeAttributesClass"),
    col("Reason"),
    AGE,
    wide("VolumeMode"),
];
pub(super) const EVENT: &[Column] = &[
    col("Last Seen"),
    col("Type"),
    col("Reason"),
    col("Object"),
    wide("Subobject"),
    wide("Source"),
    col("Message"),
    wide("First Seen"),
    Column {
        name: "Count",
        wide_only: true,
        ty: "integer",
        format: "",
    },
    Column {
        name: "Name",
        wide_only: true,
        ty: "string",
        format: "name",
    },
];

fn none_if_empty(v: &str) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v.to_string()
    }
}

fn strings(obj: &Value, ptr: &str) -> Vec<String> {
    arr(obj, ptr)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `loadBalancerStatusStringer`: ingress IPs/hostnames, shortened unless wide.
fn load_balancer(obj: &Value, wide: bool) -> String {
    let ingress: Vec<&str> = arr(obj, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| {
            if !s(i, "/ip").is_empty() {
                s(i, "/ip")
            } else {
                s(i, "/hostname")
            }
        })
        .filter(|x| !x.is_empty())
        .collect();
    let r = ingress.join(",");
    if !wide && r.chars().count() > 16 {
        format!("{}...", r.chars().take(13).collect::<String>())
    } else {
        r
    }
}

/// The EXTERNAL-IP cell (`getServiceExternalIP`); the wide flag only affects load balancers,
/// and the short form is what both outputs of a Table carry.
fn external_ip(obj: &Value) -> String {
    let external = strings(obj, "/spec/externalIPs");
    match s(obj, "/spec/type") {
        "ClusterIP" | "" | "NodePort" => {
            if external.is_empty() {
                "<none>".into()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer(obj, false);
            if !external.is_empty() {
                let mut all: Vec<String> = Vec::new();
                if !lb.is_empty() {
                    all.extend(lb.split(',').map(str::to_string));
                }
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".into()
            }
        }
        "ExternalName" => s(obj, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

/// `makePortString`: `80/TCP,443:30443/TCP`.
fn ports(obj: &Value) -> String {
    let p: Vec<String> = arr(obj, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = if s(p, "/protocol").is_empty() {
                "TCP"
            } else {
                s(p, "/protocol")
            };
            let node_port = i(p, "/nodePort");
            if node_port > 0 {
                format!("{}:{node_port}/{proto}", i(p, "/port"))
            } else {
                format!("{}/{proto}", i(p, "/port"))
            }
        })
        .collect();
    none_if_empty(&p.join(","))
}

pub(super) fn service(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let ty = if s(obj, "/spec/type").is_empty() {
        "ClusterIP"
    } else {
        s(obj, "/spec/type")
    };
    let cluster_ip = arr(obj, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| s(obj, "/spec/clusterIP"));
    vec![
        name(obj),
        ty.to_string(),
        none_if_empty(cluster_ip),
        external_ip(obj),
        ports(obj),
        age(obj, now),
        format_label_map(obj.pointer("/spec/selector")),
    ]
}

/// `formatEndpoints`: up to three `ip:port` entries, then `+ N more...`; with `port_name`,
/// only that port (as `describe service` shows per port).
pub fn format_endpoints(obj: &Value, port_name: Option<&str>) -> String {
    let subsets = arr(obj, "/subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addrs = arr(ss, "/addresses");
        let ports = arr(ss, "/ports");
        if ports.is_empty() {
            count += addrs.len();
            for a in addrs {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(s(a, "/ip").to_string());
            }
            continue;
        }
        for p in ports
            .iter()
            .filter(|p| port_name.is_none_or(|n| s(p, "/name") == n))
        {
            count += addrs.len();
            for a in addrs {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                let ip = s(a, "/ip");
                // net.JoinHostPort brackets IPv6 addresses.
                let host = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                list.push(format!("{host}:{}", i(p, "/port")));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - MAX)
    } else {
        ret
    }
}

pub(super) fn endpoints(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    vec![name(obj), format_endpoints(obj, None), age(obj, now)]
}

/// kubectl's EndpointSlice row: ports joined (`<unset>` when none), up to three addresses
/// then `+ N more...` (`<unset>` when none).
pub(super) fn endpoint_slice(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let ports: Vec<String> = arr(obj, "/ports")
        .iter()
        .map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(n) => n.to_string(),
            None => "<unset>".into(),
        })
        .collect();
    let addresses: Vec<&str> = arr(obj, "/endpoints")
        .iter()
        .flat_map(|e| arr(e, "/addresses"))
        .filter_map(Value::as_str)
        .collect();
    const MAX: usize = 3;
    let endpoints = match addresses.len() {
        0 => "<unset>".to_string(),
        n if n > MAX => format!("{} + {} more...", addresses[..MAX].join(","), n - MAX),
        _ => addresses.join(","),
    };
    vec![
        name(obj),
        s(obj, "/addressType").to_string(),
        if ports.is_empty() {
            "<unset>".into()
        } else {
            ports.join(",")
        },
        endpoints,
        age(obj, now),
    ]
}

pub(super) fn namespace(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    vec![
        name(obj),
        s(obj, "/status/phase").to_string(),
        age(obj, now),
    ]
}

fn node_address(obj: &Value, ty: &str) -> String {
    arr(obj, "/status/addresses")
        .iter()
        .find(|a| s(a, "/type") == ty)
        .map(|a| s(a, "/address").to_string())
        .unwrap_or_else(|| "<none>".into())
}

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` labels and `kubernetes.io/role`.
fn node_roles(obj: &Value) -> String {
    let mut roles = std::collections::BTreeSet::new();
    if let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.insert(role.to_string());
                }
            } else if k == "kubernetes.io/role"
                && let Some(v) = v.as_str().filter(|v| !v.is_empty())
            {
                roles.insert(v.to_string());
            }
        }
    }
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

pub(super) fn node(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let mut status: Vec<String> = Vec::new();
    if let Some(c) = arr(obj, "/status/conditions")
        .iter()
        .rev()
        .find(|c| s(c, "/type") == "Ready")
    {
        status.push(if s(c, "/status") == "True" {
            "Ready".into()
        } else {
            "NotReady".into()
        });
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if obj
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        status.push("SchedulingDisabled".into());
    }
    let unknown = |v: &str| {
        if v.is_empty() {
            "<unknown>".to_string()
        } else {
            v.to_string()
        }
    };
    vec![
        name(obj),
        status.join(","),
        node_roles(obj),
        age(obj, now),
        s(obj, "/status/nodeInfo/kubeletVersion").to_string(),
        node_address(obj, "InternalIP"),
        node_address(obj, "ExternalIP"),
        unknown(s(obj, "/status/nodeInfo/osImage")),
        unknown(s(obj, "/status/nodeInfo/kernelVersion")),
        unknown(s(obj, "/status/nodeInfo/containerRuntimeVersion")),
    ]
}

pub(super) fn configmap(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let n = map_len(obj, "/data") + map_len(obj, "/binaryData");
    vec![name(obj), n.to_string(), age(obj, now)]
}

pub(super) fn secret(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    // Stored secrets carry only `data`; count write-only `stringData` keys too in case a
    // client shows an object that was not stored yet.
    let mut keys: std::collections::BTreeSet<&String> = std::collections::BTreeSet::new();
    for ptr in ["/data", "/stringData"] {
        if let Some(m) = obj.pointer(ptr).and_then(Value::as_object) {
            keys.extend(m.keys());
        }
    }
    let ty = if s(obj, "/type").is_empty() {
        "Opaque"
    } else {
        s(obj, "/type")
    };
    vec![
        name(obj),
        ty.to_string(),
        keys.len().to_string(),
        age(obj, now),
    ]
}

pub(super) fn serviceaccount(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    vec![
        name(obj),
        arr(obj, "/secrets").len().to_string(),
        age(obj, now),
    ]
}

/// `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, de-duplicated.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(long, _)| has(long))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// Storage class: the beta annotation wins over `spec.storageClassName`.
fn storage_class(obj: &Value) -> String {
    obj.pointer("/metadata/annotations/volume.beta.kubernetes.io~1storage-class")
        .and_then(Value::as_str)
        .unwrap_or_else(|| s(obj, "/spec/storageClassName"))
        .to_string()
}

fn attributes_class(obj: &Value) -> String {
    let v = s(obj, "/spec/volumeAttributesClassName");
    if v.is_empty() {
        "<unset>".into()
    } else {
        v.to_string()
    }
}

fn volume_mode(obj: &Value) -> String {
    let v = s(obj, "/spec/volumeMode");
    if v.is_empty() {
        "<unset>".into()
    } else {
        v.to_string()
    }
}

fn phase_or_terminating(obj: &Value) -> String {
    if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating".into()
    } else {
        s(obj, "/status/phase").to_string()
    }
}

/// A quantity as written; numbers (rare in YAML) are shown as they are.
fn quantity(obj: &Value, ptr: &str) -> String {
    match obj.pointer(ptr) {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    }
}

pub(super) fn pvc(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let volume = s(obj, "/spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity(obj, "/status/capacity/storage"),
            access_modes(arr(obj, "/status/accessModes")),
        )
    };
    vec![
        name(obj),
        phase_or_terminating(obj),
        volume.to_string(),
        capacity,
        modes,
        storage_class(obj),
        attributes_class(obj),
        age(obj, now),
        volume_mode(obj),
    ]
}

pub(super) fn pv(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let claim = match obj.pointer("/spec/claimRef").filter(|c| c.is_object()) {
        Some(c) => format!("{}/{}", s(c, "/namespace"), s(c, "/name")),
        None => String::new(),
    };
    vec![
        name(obj),
        quantity(obj, "/spec/capacity/storage"),
        access_modes(arr(obj, "/spec/accessModes")),
        s(obj, "/spec/persistentVolumeReclaimPolicy").to_string(),
        phase_or_terminating(obj),
        claim,
        storage_class(obj),
        attributes_class(obj),
        s(obj, "/status/reason").to_string(),
        age(obj, now),
        volume_mode(obj),
    ]
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

/// Event times as kubectl computes them: (last seen, first seen, count).
pub(crate) fn event_times(obj: &Value, now: jiff::Timestamp) -> (String, String, i64) {
    let first_ts = s(obj, "/firstTimestamp");
    let first = if first_ts.is_empty() {
        since(Some(s(obj, "/eventTime")), now)
    } else {
        since(Some(first_ts), now)
    };
    let last_ts = s(obj, "/lastTimestamp");
    let mut last = if last_ts.is_empty() {
        first.clone()
    } else {
        since(Some(last_ts), now)
    };
    let mut count = i(obj, "/count");
    if obj.pointer("/series").is_some_and(Value::is_object) {
        last = since(Some(s(obj, "/series/lastObservedTime")), now);
        count = i(obj, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    (last, first, count)
}

pub(super) fn event(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let (last, first, count) = event_times(obj, now);
    let kind = s(obj, "/involvedObject/kind").to_lowercase();
    let target = match s(obj, "/involvedObject/name") {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let component = first_non_empty(s(obj, "/source/component"), s(obj, "/reportingComponent"));
    let instance = first_non_empty(s(obj, "/source/host"), s(obj, "/reportingInstance"));
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        last,
        s(obj, "/type").to_string(),
        s(obj, "/reason").to_string(),
        target,
        s(obj, "/involvedObject/fieldPath").to_string(),
        source,
        s(obj, "/message").trim().to_string(),
        first,
        count.to_string(),
        name(obj),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::table::tests::now;
    use serde_json::json;

    fn meta() -> Value {
        json!({"name": "x", "creationTimestamp": "2024-05-01T07:00:00Z"})
    }

    #[test]
    fn services() {
        let svc = json!({"metadata": meta(), "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"], "selector": {"app": "web"},
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}});
        assert_eq!(
            service(&svc, now()),
            [
                "x",
                "NodePort",
                "10.96.0.10",
                "<none>",
                "80:30080/TCP,53/UDP",
                "5h",
                "app=web"
            ]
        );
        let lb = json!({"metadata": meta(), "spec": {"type": "LoadBalancer", "clusterIP": "None"}});
        assert_eq!(
            &service(&lb, now())[1..5],
            ["LoadBalancer", "None", "<pending>", "<none>"]
        );
        let en = json!({"metadata": meta(), "spec": {"type": "ExternalName", "externalName": "example.com"}});
        assert_eq!(service(&en, now())[3], "example.com");
    }

    #[test]
    fn endpoints_are_shortened_after_three() {
        let ep = json!({"metadata": meta(), "subsets": [{
            "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "10.0.0.3"}, {"ip": "10.0.0.4"}],
            "ports": [{"port": 80}]}]});
        assert_eq!(
            endpoints(&ep, now())[1],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more..."
        );
        assert_eq!(endpoints(&json!({"metadata": meta()}), now())[1], "<none>");
    }

    #[test]
    fn endpoint_slices() {
        let slice = json!({"metadata": meta(), "addressType": "IPv4",
            "ports": [{"port": 80}, {"port": 443}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]},
                          {"addresses": ["10.0.0.3"]}, {"addresses": ["10.0.0.4"]}]});
        let row = endpoint_slice(&slice, now());
        assert_eq!(
            row[1..4],
            ["IPv4", "80,443", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."]
        );
        let empty = endpoint_slice(&json!({"metadata": meta(), "addressType": "IPv4"}), now());
        assert_eq!(empty[2..4], ["<unset>", "<unset>"]);
    }

    #[test]
    fn nodes() {
        let n = json!({"metadata": {"name": "n1", "creationTimestamp": "2024-05-01T07:00:00Z",
                "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.33.0"},
                       "addresses": [{"type": "InternalIP", "address": "192.168.1.2"}]}});
        assert_eq!(
            node(&n, now()),
            [
                "n1",
                "Ready,SchedulingDisabled",
                "control-plane,edge",
                "5h",
                "v1.33.0",
                "192.168.1.2",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]
        );
    }

    #[test]
    fn config_and_secrets() {
        let cm =
            json!({"metadata": meta(), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
        assert_eq!(configmap(&cm, now()), ["x", "3", "5h"]);
        let sec = json!({"metadata": meta(), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}});
        assert_eq!(secret(&sec, now()), ["x", "kubernetes.io/tls", "2", "5h"]);
        let sa = json!({"metadata": meta()});
        assert_eq!(serviceaccount(&sa, now()), ["x", "0", "5h"]);
        let ns = json!({"metadata": meta(), "status": {"phase": "Active"}});
        assert_eq!(namespace(&ns, now()), ["x", "Active", "5h"]);
    }

    #[test]
    fn volumes() {
        let c = json!({"metadata": meta(), "spec": {"volumeName": "pv1", "storageClassName": "standard",
                "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}});
        assert_eq!(
            pvc(&c, now()),
            [
                "x", "Bound", "pv1", "2Gi", "RWO,RWX", "standard", "<unset>", "5h", "<unset>"
            ]
        );
        let unbound = json!({"metadata": meta(), "status": {"phase": "Pending"}});
        assert_eq!(&pvc(&unbound, now())[..5], ["x", "Pending", "", "", ""]);
        let v = json!({"metadata": meta(), "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "c"}},
            "status": {"phase": "Bound"}});
        assert_eq!(
            &pv(&v, now())[..10],
            [
                "x",
                "5Gi",
                "RWO",
                "Retain",
                "Bound",
                "default/c",
                "",
                "<unset>",
                "",
                "5h"
            ]
        );
    }

    #[test]
    fn events() {
        let e = json!({"metadata": {"name": "web.17a"}, "type": "Normal", "reason": "Scheduled",
            "involvedObject": {"kind": "Pod", "name": "web"}, "message": " Successfully assigned \n",
            "source": {"component": "default-scheduler"},
            "firstTimestamp": "2024-05-01T11:50:00Z", "lastTimestamp": "2024-05-01T11:59:00Z", "count": 4});
        assert_eq!(
            event(&e, now()),
            [
                "60s",
                "Normal",
                "Scheduled",
                "pod/web",
                "",
                "default-scheduler",
                "Successfully assigned",
                "10m",
                "4",
                "web.17a"
            ]
        );
        let e2 = json!({"metadata": {"name": "n"}, "eventTime": "2024-05-01T11:59:58.123456Z",
            "involvedObject": {"kind": "Node"}, "reportingComponent": "kubelet", "reportingInstance": "n1"});
        let r = event(&e2, now());
        assert_eq!(
            (r[0].as_str(), r[3].as_str(), r[5].as_str(), r[8].as_str()),
            ("1s", "node", "kubelet, n1", "1")
        );
    }
}
