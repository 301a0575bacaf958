//! The node agent's pod side (the kubelet's job): watch the pods bound to this node and run
//! one worker per pod that drives it to its spec through the pod's shim, writes its status
//! and events, and tears it down when it is deleted.
//!
//! A restarted agent finds running pods by their shim socket under `<state>/pods/<uid>/` and
//! re-adopts them without restarting anything. Pod directories whose pod no longer exists are
//! cleaned up (their shim told to shut down): the agent only ever stops processes that one of
//! its shims started.

mod container;
mod events;
mod layout;
mod probes;
mod setup;
pub mod status;
mod stop;
mod worker;

use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::{EventType, ListOptions};
use crate::cluster::Cluster;
use crate::image::ImageStore;
use crate::net::{NetworkOptions, PodNetwork};
use crate::runtime::cgroup::Cgroups;
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub use layout::PodLayout;

/// How the agent runs pods.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub node_name: String,
    pub state_dir: PathBuf,
    /// The peapod binary, re-executed as `peapod shim <pod-dir>`.
    pub shim_exe: PathBuf,
    /// Parent cgroup of all pods (relative to the hierarchy roots).
    pub cgroup_parent: String,
    /// pids.max of every pod cgroup, so a fork bomb stops there.
    pub pod_pids_limit: Option<i64>,
    /// The nameserver of pods with dnsPolicy ClusterFirst: the pod network's gateway once
    /// the agent runs the cluster DNS there; `None` gives them the host's resolver, as the
    /// kubelet does without `--cluster-dns`.
    pub cluster_dns: Option<std::net::IpAddr>,
    /// The pod network (bridge, pod CIDR, masquerade) of pods without hostNetwork.
    pub network: NetworkOptions,
}

impl AgentOptions {
    pub fn new(node_name: String, state_dir: PathBuf) -> Result<AgentOptions, String> {
        let shim_exe = std::env::current_exe()
            .map_err(|e| format!("cannot find peapod's own executable to start pod shims: {e}"))?;
        Ok(AgentOptions {
            node_name,
            state_dir,
            shim_exe,
            cgroup_parent: cgroup_parent(),
            pod_pids_limit: Some(
                std::env::var("PEAPOD_POD_PIDS_LIMIT")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(4096),
            ),
            cluster_dns: None,
            network: NetworkOptions::resolve(None, None, false)?,
        })
    }
}

/// The parent cgroup of all pods: `PEAPOD_CGROUP_PARENT`, else `peapod`.
pub fn cgroup_parent() -> String {
    std::env::var("PEAPOD_CGROUP_PARENT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "peapod".to_string())
}

/// Removes the pods' parent cgroup when no pod is left under it (plain rmdir of each
/// hierarchy's directory: it fails, harmlessly, while any pod cgroup exists).
pub fn remove_cgroup_parent_if_empty() {
    if let Ok(cgroups) = Cgroups::new(&cgroup_parent()) {
        for dir in cgroups.parent().dirs() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// What every pod worker shares.
pub(crate) struct Shared {
    pub cluster: Arc<dyn Cluster>,
    pub opts: AgentOptions,
    pub cgroups: Cgroups,
    pub images: Arc<ImageStore>,
    pub events: events::EventSink,
    pub host_ip: String,
    pub network: Arc<PodNetwork>,
    /// The cluster DNS on the pod network's gateway, while the agent runs (`None` when it
    /// could not start: pods then resolve with the host's resolvers).
    _dns: Option<crate::node::dns::ClusterDns>,
}

impl Shared {
    pub fn layout(&self, uid: &str) -> PodLayout {
        PodLayout::new(&self.opts.state_dir, uid)
    }
}

struct WorkerHandle {
    pod: watch::Sender<Option<Value>>,
}

/// Runs the pod side of the node agent until the task is aborted.
pub async fn run(cluster: Arc<dyn Cluster>, opts: AgentOptions) {
    // The shims we launch are re-parented to us (not to a PID 1 that may reap slowly) and
    // reaped by pid when they exit; see `shim::reap_if_child`.
    // SAFETY: a prctl flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let shared = match prepare(cluster.clone(), opts).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!("the node agent cannot run pods: {e}");
            eprintln!("peapod: pods cannot run on this machine: {e}");
            return;
        }
    };
    let Some(pods) = kinds::lookup("pods") else {
        return;
    };
    let mut workers: HashMap<String, WorkerHandle> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let selector = format!("spec.nodeName={}", shared.opts.node_name);
    let mut first = true;
    loop {
        let list = match cluster
            .list(
                pods,
                None,
                &ListOptions {
                    field_selector: Some(selector.clone()),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("node agent: listing pods failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let present: std::collections::HashSet<String> =
            list.items.iter().map(|p| p.uid().to_string()).collect();
        // Pods that disappeared while we were not watching.
        for (uid, w) in &workers {
            if !present.contains(uid) {
                let _ = w.pod.send(None);
            }
        }
        if first {
            first = false;
            stop::clean_orphans(&shared, &present).await;
        }
        for pod in list.items {
            dispatch(&shared, &mut workers, &done_tx, Some(pod), None);
        }
        let mut stream = match cluster
            .watch(
                pods,
                None,
                &ListOptions {
                    field_selector: Some(selector.clone()),
                    resource_version: Some(list.resource_version.to_string()),
                    ..Default::default()
                },
            )
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("node agent: watching pods failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            tokio::select! {
                ev = stream.next() => match ev {
                    Some(Ok(ev)) => {
                        let uid = ev.object.uid().to_string();
                        if ev.event_type == EventType::Deleted {
                            dispatch(&shared, &mut workers, &done_tx, None, Some(uid));
                        } else {
                            dispatch(&shared, &mut workers, &done_tx, Some(ev.object), None);
                        }
                    }
                    // Expired or a broken stream: list again.
                    Some(Err(e)) => {
                        tracing::debug!("node agent: pod watch ended: {e}");
                        break;
                    }
                    None => break,
                },
                Some(uid) = done_rx.recv() => {
                    workers.remove(&uid);
                }
            }
        }
    }
}

/// Hands a pod (or its removal) to its worker, starting one when needed.
fn dispatch(
    shared: &Arc<Shared>,
    workers: &mut HashMap<String, WorkerHandle>,
    done: &mpsc::UnboundedSender<String>,
    pod: Option<Value>,
    removed_uid: Option<String>,
) {
    match (pod, removed_uid) {
        (Some(pod), _) => {
            let uid = pod.uid().to_string();
            if uid.is_empty() {
                return;
            }
            if let Some(w) = workers.get(&uid)
                && w.pod.send(Some(pod.clone())).is_ok()
            {
                return;
            }
            let (tx, rx) = watch::channel(Some(pod));
            workers.insert(uid.clone(), WorkerHandle { pod: tx });
            let shared = shared.clone();
            let done = done.clone();
            tokio::spawn(async move {
                worker::run(shared, rx).await;
                let _ = done.send(uid);
            });
        }
        (None, Some(uid)) => {
            if let Some(w) = workers.get(&uid) {
                let _ = w.pod.send(None);
            }
        }
        (None, None) => {}
    }
}

async fn prepare(cluster: Arc<dyn Cluster>, mut opts: AgentOptions) -> Result<Shared, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err(
            "running pods needs root (namespaces, cgroups, mounts); run peapod as root".into(),
        );
    }
    let cgroups = Cgroups::new(&opts.cgroup_parent)
        .map_err(|e| e.to_string())?
        .with_pod_pids_limit(opts.pod_pids_limit);
    let images =
        Arc::new(ImageStore::open(opts.state_dir.join("images")).map_err(|e| e.to_string())?);
    std::fs::create_dir_all(opts.state_dir.join("pods"))
        .map_err(|e| format!("create {}: {e}", opts.state_dir.join("pods").display()))?;
    let network = {
        let (net_opts, state) = (opts.network.clone(), opts.state_dir.clone());
        tokio::task::spawn_blocking(move || PodNetwork::open(net_opts, &state))
            .await
            .map_err(|e| format!("pod network: {e}"))??
    };
    let network = Arc::new(network);
    let dns = start_cluster_dns(cluster.clone(), network.clone()).await;
    opts.cluster_dns = dns.as_ref().map(|d| d.server.udp_addr.ip());
    let host_ip = host_ip(cluster.as_ref(), &opts.node_name).await;
    let events = events::EventSink::start(cluster.clone(), &opts.node_name);
    Ok(Shared {
        cluster,
        opts,
        cgroups,
        images,
        events,
        host_ip,
        network,
        _dns: dns,
    })
}

/// Start the cluster DNS on the pod network's gateway (port 53), which pods with dnsPolicy
/// ClusterFirst get as their nameserver. Without it (the bridge cannot be made, or port 53
/// is taken there) pods resolve with the host's resolvers, as the kubelet does without
/// `--cluster-dns`.
async fn start_cluster_dns(
    cluster: Arc<dyn Cluster>,
    network: Arc<PodNetwork>,
) -> Option<crate::node::dns::ClusterDns> {
    let gateway = match tokio::task::spawn_blocking(move || network.ensure_bridge_now()).await {
        Ok(Ok(ip)) => ip,
        Ok(Err(e)) => {
            tracing::warn!("cluster DNS not started: {e}");
            return None;
        }
        Err(e) => {
            tracing::warn!("cluster DNS not started: {e}");
            return None;
        }
    };
    let addr = std::net::SocketAddr::new(gateway.into(), crate::net::dns::DNS_PORT);
    match crate::node::dns::start(cluster, addr, crate::net::dns::Upstream::from_host()).await {
        Ok(dns) => Some(dns),
        Err(e) => {
            tracing::warn!("cluster DNS not started on {addr}: {e}; pods use the host's resolvers");
            None
        }
    }
}

/// The node's InternalIP, else loopback.
async fn host_ip(cluster: &dyn Cluster, node: &str) -> String {
    let Some(kind) = kinds::lookup("nodes") else {
        return "127.0.0.1".into();
    };
    cluster
        .get(kind, None, node)
        .await
        .ok()
        .and_then(|n| {
            n.pointer("/status/addresses")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .find(|a| a["type"] == "InternalIP")
                        .and_then(|a| a["address"].as_str().map(str::to_string))
                })
        })
        .unwrap_or_else(|| "127.0.0.1".into())
}
