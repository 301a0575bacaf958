//! Facts about this machine for the Node object: name, capacity, addresses, versions. Read
//! from /proc and uname; nothing here writes.

use serde_json::{Value, json};

/// The node's name: the hostname, lowercased (Node names are DNS subdomains).
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// MemTotal from /proc/meminfo, in KiB.
fn memory_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn uname() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => (
            u.release().to_string_lossy().into_owned(),
            u.machine().to_string_lossy().into_owned(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

/// PRETTY_NAME from /etc/os-release.
fn os_image() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "Linux".to_string())
}

/// Go's GOARCH names, as the kubernetes.io/arch label uses them.
fn goarch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" | "armv6l" => "arm",
        "i686" | "i386" => "386",
        other => other,
    }
}

/// The Node object this machine registers as (metadata, spec, and a status with capacity,
/// allocatable, addresses and node info; conditions are added by the agent).
pub fn node_object(name: &str, max_pods: u32) -> Value {
    let (kernel, machine) = uname();
    let arch = goarch(&machine).to_string();
    let cpu = cpus().to_string();
    let mem = format!("{}Ki", memory_kib());
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": arch,
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": arch,
                "node-role.kubernetes.io/control-plane": "",
            },
        },
        "spec": {},
        "status": {
            "capacity": {"cpu": cpu, "memory": mem, "pods": max_pods.to_string()},
            "allocatable": {"cpu": cpu, "memory": mem, "pods": max_pods.to_string()},
            "addresses": [{"type": "Hostname", "address": name}],
            "nodeInfo": {
                "architecture": arch,
                "operatingSystem": "linux",
                "kernelVersion": kernel,
                "osImage": os_image(),
                "containerRuntimeVersion": format!("peapod://{}", env!("CARGO_PKG_VERSION")),
                "kubeletVersion": crate::api::server_version(),
                "kubeProxyVersion": "",
                "machineID": std::fs::read_to_string("/etc/machine-id").unwrap_or_default().trim(),
                "systemUUID": "",
                "bootID": std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default().trim(),
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_object_describes_this_machine() {
        let n = node_object("box", 110);
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/os"], "linux");
        assert!(
            n["status"]["capacity"]["cpu"]
                .as_str()
                .unwrap()
                .parse::<usize>()
                .unwrap()
                >= 1
        );
        assert!(
            n["status"]["capacity"]["memory"]
                .as_str()
                .unwrap()
                .ends_with("Ki")
        );
        assert_eq!(n["status"]["capacity"]["pods"], "110");
        assert_eq!(goarch("x86_64"), "amd64");
        assert!(!hostname().is_empty());
    }
}
