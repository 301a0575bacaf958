//! The node agent's node-level work: register this machine as a Node and keep its status
//! fresh (capacity, conditions, heartbeat) as the kubelet does. Pod workers, probes and
//! back-off come with the pod runtime.

pub mod agent;
pub mod dns;
pub mod info;
pub mod kubelet;
pub mod probe;
pub mod service_proxy;
pub mod volumes;

use crate::api::error::ApiResult;
use crate::api::kinds;
use crate::api::object::now_rfc3339;
use crate::api::request::WriteOptions;
use crate::cluster::Cluster;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often the node's conditions are refreshed (the kubelet's nodeStatusUpdateFrequency).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Kubelet's hard eviction threshold for memory.available.
const MEMORY_AVAILABLE_MIN: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub name: String,
    pub max_pods: u32,
    /// Filesystem whose free space decides DiskPressure (the state directory).
    pub state_dir: PathBuf,
}

/// A pressure condition: `(status, reason, message)`.
fn condition(kind: &str, pressure: bool, now: &str, previous: Option<&Value>) -> Value {
    let (status, reason, message) = match (kind, pressure) {
        ("MemoryPressure", false) => (
            "False",
            "KubeletHasSufficientMemory",
            "peapod has sufficient memory available",
        ),
        ("MemoryPressure", true) => (
            "True",
            "KubeletHasInsufficientMemory",
            "peapod has insufficient memory available",
        ),
        ("DiskPressure", false) => (
            "False",
            "KubeletHasNoDiskPressure",
            "peapod has no disk pressure",
        ),
        ("DiskPressure", true) => ("True", "KubeletHasDiskPressure", "peapod has disk pressure"),
        ("PIDPressure", false) => (
            "False",
            "KubeletHasSufficientPID",
            "peapod has sufficient PID available",
        ),
        ("PIDPressure", true) => (
            "True",
            "KubeletHasInsufficientPID",
            "peapod has insufficient PID available",
        ),
        (_, _) => ("True", "KubeletReady", "peapod is posting ready status"),
    };
    // lastTransitionTime only moves when the status changes.
    let transition = previous
        .filter(|p| p["status"] == status)
        .and_then(|p| p["lastTransitionTime"].as_str())
        .unwrap_or(now);
    json!({
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": now,
        "lastTransitionTime": transition,
    })
}

fn meminfo_available() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = m
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Disk pressure as the kubelet's default: less than 10% of the filesystem available.
fn disk_pressure(dir: &std::path::Path) -> bool {
    match nix::sys::statvfs::statvfs(dir) {
        Ok(s) if s.blocks() > 0 => (s.blocks_available() as f64) < (s.blocks() as f64) * 0.10,
        _ => false,
    }
}

/// More than 90% of pid_max in use.
fn pid_pressure() -> bool {
    let max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u64::MAX);
    let used = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count()
        })
        .unwrap_or(0) as u64;
    used * 10 > max * 9
}

/// The conditions of this node now, keeping transition times from `previous`.
pub fn conditions(opts: &NodeOptions, previous: &[Value]) -> Vec<Value> {
    let now = now_rfc3339();
    let prev = |t: &str| previous.iter().find(|c| c["type"] == t);
    let mem = meminfo_available().is_some_and(|a| a < MEMORY_AVAILABLE_MIN);
    vec![
        condition("MemoryPressure", mem, &now, prev("MemoryPressure")),
        condition(
            "DiskPressure",
            disk_pressure(&opts.state_dir),
            &now,
            prev("DiskPressure"),
        ),
        condition("PIDPressure", pid_pressure(), &now, prev("PIDPressure")),
        condition("Ready", false, &now, prev("Ready")),
    ]
}

/// Create or refresh this machine's Node: our labels and status, the user's other fields kept.
pub async fn register(cluster: &dyn Cluster, opts: &NodeOptions) -> ApiResult<Value> {
    let kind = kinds::lookup("nodes")
        .ok_or_else(|| crate::api::error::ApiError::internal("nodes kind missing"))?;
    let mut desired = info::node_object(&opts.name, opts.max_pods);
    match cluster.get(kind, None, &opts.name).await {
        Err(e) if e.is_not_found() => {
            desired["status"]["conditions"] = json!(conditions(opts, &[]));
            cluster.create(desired, &WriteOptions::default()).await
        }
        Err(e) => Err(e),
        Ok(mut current) => {
            if let (Some(labels), Some(ours)) = (
                current["metadata"]
                    .as_object_mut()
                    .map(|m| m.entry("labels").or_insert(json!({}))),
                desired["metadata"]["labels"].as_object(),
            ) {
                for (k, v) in ours {
                    labels[k] = v.clone();
                }
            }
            let current = cluster.update(current, &WriteOptions::default()).await?;
            heartbeat_status(cluster, current, desired["status"].clone(), opts).await
        }
    }
}

async fn heartbeat_status(
    cluster: &dyn Cluster,
    mut node: Value,
    mut status: Value,
    opts: &NodeOptions,
) -> ApiResult<Value> {
    let previous: Vec<Value> = node["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    status["conditions"] = json!(conditions(opts, &previous));
    node["status"] = status;
    cluster.update_status(node).await
}

/// Register, then refresh the node's status every `HEARTBEAT` until the task is aborted.
pub async fn run(cluster: Arc<dyn Cluster>, opts: NodeOptions) {
    let mut registered = false;
    loop {
        let result = if registered {
            match kinds::lookup("nodes") {
                Some(kind) => match cluster.get(kind, None, &opts.name).await {
                    Ok(node) => {
                        let status = node["status"].clone();
                        heartbeat_status(cluster.as_ref(), node, status, &opts).await
                    }
                    // Someone deleted the Node: register again, as the kubelet does.
                    Err(e) if e.is_not_found() => register(cluster.as_ref(), &opts).await,
                    Err(e) => Err(e),
                },
                None => return,
            }
        } else {
            register(cluster.as_ref(), &opts).await
        };
        match result {
            Ok(_) => registered = true,
            Err(e) => tracing::warn!(node = %opts.name, "node status update failed: {e}"),
        }
        tokio::time::sleep(HEARTBEAT).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::embedded::EmbeddedCluster;
    use crate::store::{Store, StoreOptions};

    #[tokio::test]
    async fn registers_keeps_user_labels_and_refreshes_conditions() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
        let c = EmbeddedCluster::new(store, dir.path().join("logs"));
        let opts = NodeOptions {
            name: "box".into(),
            max_pods: 110,
            state_dir: dir.path().to_path_buf(),
        };
        let n = register(&c, &opts).await.unwrap();
        assert_eq!(n["metadata"]["labels"]["kubernetes.io/hostname"], "box");
        let ready = n["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "True");
        assert_eq!(n["status"]["capacity"]["pods"], "110");
        // a user label survives re-registration
        let kind = kinds::lookup("nodes").unwrap();
        let mut cur = c.get(kind, None, "box").await.unwrap();
        cur["metadata"]["labels"]["gpu"] = json!("true");
        c.update(cur, &WriteOptions::default()).await.unwrap();
        let n = register(&c, &opts).await.unwrap();
        assert_eq!(n["metadata"]["labels"]["gpu"], "true");
        assert_eq!(n["status"]["nodeInfo"]["operatingSystem"], "linux");
    }
}
