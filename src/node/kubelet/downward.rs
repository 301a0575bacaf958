//! The downward API for environment variables: `fieldRef` (pod metadata, spec and status
//! fields) and `resourceFieldRef` (a container's requests and limits), as the kubelet
//! resolves them (podFieldSelectorRuntimeValue, ExtractContainerResourceValue).

use crate::api::quantity::{Quantity, QuantityFormat};
use serde_json::Value;

/// What a container's unset limits default to: the node's allocatable resources, as the
/// kubelet's defaultPodLimitsForDownwardAPI fills them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocatable {
    pub cpu: Quantity,
    pub memory: Quantity,
    pub ephemeral_storage: Quantity,
}

impl Allocatable {
    /// This machine: its CPU count, MemTotal from /proc/meminfo and the size of the root
    /// filesystem (what peapod reports as the node's allocatable).
    pub fn host() -> Allocatable {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mem_kib: i128 = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0);
        let disk: i128 = nix::sys::statvfs::statvfs("/")
            .map(|s| s.blocks() as i128 * s.fragment_size() as i128)
            .unwrap_or(0);
        Allocatable {
            cpu: Quantity::from_value(cpus as i128, QuantityFormat::DecimalSI),
            memory: Quantity::from_value(mem_kib * 1024, QuantityFormat::BinarySI),
            ephemeral_storage: Quantity::from_value(disk, QuantityFormat::BinarySI),
        }
    }
}

/// IPs the kubelet knows that the pod object may not carry yet.
pub struct Addresses<'a> {
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
}

/// A `fieldRef` value. Pod and host IPs prefer the kubelet's own (`addresses`) over the
/// pod's status, which may lag behind.
pub fn field_ref(pod: &Value, field_path: &str, addr: &Addresses<'_>) -> Result<String, String> {
    let meta = &pod["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let ips = |own: &str, plural: &str, single: &str| -> Vec<String> {
        if !own.is_empty() {
            return vec![own.to_string()];
        }
        let listed: Vec<String> = pod["status"][plural]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["ip"].as_str()).map(String::from))
            .into_iter()
            .flatten()
            .collect();
        if !listed.is_empty() {
            return listed;
        }
        pod["status"][single]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(|s| vec![s.to_string()])
            .unwrap_or_default()
    };
    match field_path {
        "metadata.name" => return Ok(text(&meta["name"])),
        "metadata.namespace" => return Ok(text(&meta["namespace"])),
        "metadata.uid" => return Ok(text(&meta["uid"])),
        "metadata.labels" => return Ok(format_map(&meta["labels"])),
        "metadata.annotations" => return Ok(format_map(&meta["annotations"])),
        "spec.nodeName" => return Ok(text(&pod["spec"]["nodeName"])),
        "spec.serviceAccountName" => return Ok(text(&pod["spec"]["serviceAccountName"])),
        "status.podIP" => {
            return Ok(ips(addr.pod_ip, "podIPs", "podIP")
                .into_iter()
                .next()
                .unwrap_or_default());
        }
        "status.podIPs" => return Ok(ips(addr.pod_ip, "podIPs", "podIP").join(",")),
        "status.hostIP" => {
            return Ok(ips(addr.host_ip, "hostIPs", "hostIP")
                .into_iter()
                .next()
                .unwrap_or_default());
        }
        "status.hostIPs" => return Ok(ips(addr.host_ip, "hostIPs", "hostIP").join(",")),
        _ => {}
    }
    // `metadata.labels['key']` and `metadata.annotations['key']` (fieldpath.SplitMaybeSubscriptedPath).
    if let Some((path, key)) = field_path
        .strip_suffix("']")
        .and_then(|s| s.split_once("['"))
        .filter(|(path, _)| !path.is_empty())
    {
        return match path {
            "metadata.labels" | "metadata.annotations" => {
                let field = if path == "metadata.labels" {
                    "labels"
                } else {
                    "annotations"
                };
                Ok(text(&meta[field][key]))
            }
            _ => Err(format!(
                "fieldPath {field_path:?} does not support subscript"
            )),
        };
    }
    Err(format!("unsupported fieldPath: {field_path}"))
}

/// fieldpath.FormatMap: `key="value"` lines, keys sorted, values quoted as Go's %q does.
fn format_map(map: &Value) -> String {
    let mut pairs: Vec<(&String, &str)> = map
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Go's strconv.Quote for the characters label and annotation values contain in practice.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `resourceFieldRef` value for `container` (or the pod's container named
/// `selector.containerName`), in whole `divisor` units rounded up.
pub fn resource_field_ref(
    pod: &Value,
    container: &Value,
    selector: &Value,
    allocatable: &Allocatable,
) -> Result<String, String> {
    let target = match selector["containerName"].as_str().filter(|s| !s.is_empty()) {
        None => container,
        Some(name) => ["containers", "initContainers"]
            .iter()
            .filter_map(|list| pod["spec"][list].as_array())
            .flatten()
            .find(|c| c["name"] == name)
            .ok_or_else(|| format!("container {name} not found"))?,
    };
    let resource = selector["resource"].as_str().unwrap_or_default();
    let divisor = match &selector["divisor"] {
        Value::Null => Quantity::from_value(1, QuantityFormat::DecimalSI),
        d => Quantity::from_json(d)?,
    };
    // A zero divisor means "1", as the kubelet reads an unset one.
    let divisor = if divisor.is_zero() {
        Quantity::from_value(1, QuantityFormat::DecimalSI)
    } else {
        divisor
    };
    let (kind, name) = resource
        .split_once('.')
        .filter(|(k, _)| *k == "limits" || *k == "requests")
        .ok_or_else(|| format!("unsupported container resource : {resource}"))?;
    let default = match (kind, name) {
        ("limits", "cpu") => Some(allocatable.cpu),
        ("limits", "memory") => Some(allocatable.memory),
        ("limits", "ephemeral-storage") => Some(allocatable.ephemeral_storage),
        _ => None,
    };
    let supported =
        matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-");
    if !supported {
        return Err(format!("unsupported container resource : {resource}"));
    }
    let quantity = match &target["resources"][kind][name] {
        Value::Null => default.unwrap_or_else(Quantity::zero),
        q => Quantity::from_json(q)?,
    };
    let value = if name == "cpu" {
        ceil_div(quantity.milli_value(), divisor.milli_value())
    } else {
        ceil_div(quantity.value(), divisor.value())
    };
    Ok(value.to_string())
}

/// `ceil(n / d)` as the kubelet computes it (math.Ceil of the quotient).
fn ceil_div(n: i128, d: i128) -> i128 {
    if d == 0 {
        return n;
    }
    let q = n / d;
    if n % d != 0 && ((n > 0) == (d > 0)) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {
                "name": "web", "namespace": "shop", "uid": "u-1",
                "labels": {"app": "web", "tier": "front"},
                "annotations": {"note": "say \"hi\"\nbye"}
            },
            "spec": {
                "nodeName": "box", "serviceAccountName": "sa",
                "containers": [
                    {"name": "app", "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}, "requests": {"cpu": "100m"}}},
                    {"name": "side"}
                ],
                "initContainers": [{"name": "init", "resources": {"limits": {"memory": "1Gi"}}}]
            },
            "status": {"podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.9"}, {"ip": "fd00::9"}], "hostIP": "192.168.1.2"}
        })
    }

    fn alloc() -> Allocatable {
        Allocatable {
            cpu: Quantity::parse("4").unwrap(),
            memory: Quantity::parse("8Gi").unwrap(),
            ephemeral_storage: Quantity::parse("100Gi").unwrap(),
        }
    }

    fn field(path: &str, pod_ip: &str) -> Result<String, String> {
        field_ref(
            &pod(),
            path,
            &Addresses {
                pod_ip,
                host_ip: "",
            },
        )
    }

    fn res(container: usize, sel: Value) -> Result<String, String> {
        let p = pod();
        resource_field_ref(&p, &p["spec"]["containers"][container], &sel, &alloc())
    }

    #[test]
    fn metadata_and_spec_fields() {
        assert_eq!(field("metadata.name", "").unwrap(), "web");
        assert_eq!(field("metadata.namespace", "").unwrap(), "shop");
        assert_eq!(field("metadata.uid", "").unwrap(), "u-1");
        assert_eq!(field("metadata.labels['tier']", "").unwrap(), "front");
        assert_eq!(field("metadata.labels['none']", "").unwrap(), "");
        assert_eq!(
            field("metadata.annotations['note']", "").unwrap(),
            "say \"hi\"\nbye"
        );
        assert_eq!(
            field("metadata.labels", "").unwrap(),
            "app=\"web\"\ntier=\"front\""
        );
        assert_eq!(
            field("metadata.annotations", "").unwrap(),
            "note=\"say \\\"hi\\\"\\nbye\""
        );
        assert_eq!(field("spec.nodeName", "").unwrap(), "box");
        assert_eq!(field("spec.serviceAccountName", "").unwrap(), "sa");
        assert_eq!(
            field("spec.containers['x']", "").unwrap_err(),
            "fieldPath \"spec.containers['x']\" does not support subscript"
        );
        assert_eq!(
            field("spec.restartPolicy", "").unwrap_err(),
            "unsupported fieldPath: spec.restartPolicy"
        );
    }

    #[test]
    fn ips_prefer_the_kubelets_then_the_status() {
        assert_eq!(field("status.podIP", "").unwrap(), "10.0.0.9");
        assert_eq!(field("status.podIPs", "").unwrap(), "10.0.0.9,fd00::9");
        assert_eq!(field("status.podIP", "10.1.1.1").unwrap(), "10.1.1.1");
        assert_eq!(field("status.podIPs", "10.1.1.1").unwrap(), "10.1.1.1");
        assert_eq!(field("status.hostIP", "").unwrap(), "192.168.1.2");
        assert_eq!(field("status.hostIPs", "").unwrap(), "192.168.1.2");
        let bare = json!({"metadata": {"name": "p"}});
        let a = Addresses {
            pod_ip: "",
            host_ip: "127.0.0.1",
        };
        assert_eq!(field_ref(&bare, "status.podIP", &a).unwrap(), "");
        assert_eq!(field_ref(&bare, "status.hostIP", &a).unwrap(), "127.0.0.1");
    }

    #[test]
    fn cpu_rounds_up_to_whole_divisor_units() {
        assert_eq!(res(0, json!({"resource": "limits.cpu"})).unwrap(), "1");
        assert_eq!(
            res(0, json!({"resource": "limits.cpu", "divisor": "1m"})).unwrap(),
            "250"
        );
        assert_eq!(
            res(0, json!({"resource": "limits.cpu", "divisor": "100m"})).unwrap(),
            "3"
        );
        assert_eq!(
            res(0, json!({"resource": "requests.cpu", "divisor": "1m"})).unwrap(),
            "100"
        );
        assert_eq!(
            res(0, json!({"resource": "limits.cpu", "divisor": "0"})).unwrap(),
            "1"
        );
    }

    #[test]
    fn memory_in_divisor_units_and_unset_limits_are_the_nodes() {
        assert_eq!(
            res(0, json!({"resource": "limits.memory"})).unwrap(),
            (64 << 20).to_string()
        );
        assert_eq!(
            res(0, json!({"resource": "limits.memory", "divisor": "1Mi"})).unwrap(),
            "64"
        );
        assert_eq!(
            res(0, json!({"resource": "limits.memory", "divisor": "1G"})).unwrap(),
            "1"
        );
        // No limits: the node's allocatable; no requests: 0.
        assert_eq!(res(1, json!({"resource": "limits.cpu"})).unwrap(), "4");
        assert_eq!(
            res(1, json!({"resource": "limits.memory", "divisor": "1Gi"})).unwrap(),
            "8"
        );
        assert_eq!(
            res(
                1,
                json!({"resource": "limits.ephemeral-storage", "divisor": "1Gi"})
            )
            .unwrap(),
            "100"
        );
        assert_eq!(res(1, json!({"resource": "requests.memory"})).unwrap(), "0");
        assert_eq!(
            res(1, json!({"resource": "limits.hugepages-2Mi"})).unwrap(),
            "0"
        );
    }

    #[test]
    fn another_container_by_name() {
        let sel = json!({"resource": "limits.memory", "divisor": "1Mi", "containerName": "init"});
        assert_eq!(res(1, sel).unwrap(), "1024");
        let sel = json!({"resource": "limits.cpu", "containerName": "app"});
        assert_eq!(res(1, sel).unwrap(), "1");
        let sel = json!({"resource": "limits.cpu", "containerName": "gone"});
        assert_eq!(res(1, sel).unwrap_err(), "container gone not found");
        assert_eq!(
            res(0, json!({"resource": "limits.gpu"})).unwrap_err(),
            "unsupported container resource : limits.gpu"
        );
    }

    #[test]
    fn host_allocatable_is_positive() {
        let a = Allocatable::host();
        assert!(a.cpu.value() >= 1);
        assert!(a.memory.value() > 0);
    }
}
