//! `peapod bench pods`: the pod runtime benchmark of the README. A private peapod (store,
//! scheduler, node agent, shims) in a temporary state directory runs busybox pods made from
//! the host's busybox-static, and measures what users wait for: one pod create→Running,
//! many pods created at once, the memory a pod's shim and sandbox holder cost, and
//! delete→gone. The raw floor (sandbox + one container process, no peapod around it) is
//! measured in the same run for comparison.

use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::{DeleteOptions, EventType, ListOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::runtime::container::{self, ContainerSpec, Rootfs, Stdio};
use crate::runtime::sandbox::{Sandbox, SandboxOptions};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct PodBenchOptions {
    /// Sequential single-pod runs.
    pub runs: usize,
    /// Pods created at once.
    pub count: usize,
}

/// When each pod was first seen Running and when it was gone, by name.
#[derive(Default)]
struct Seen {
    running: HashMap<String, Instant>,
    gone: HashMap<String, Instant>,
}

/// The `p` quantile of samples (see `measure::pct`).
fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    super::measure::pct(&mut v, p)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The private pod network of a benchmark: its own bridge and network, so that it never
/// shares a bridge (or addresses) with a peapod running on this machine.
pub(crate) fn bench_network() -> crate::net::NetworkOptions {
    crate::net::NetworkOptions {
        bridge: format!("ppbench{}", std::process::id() % 100_000),
        pod_cidr: crate::net::cidr::Ipv4Cidr::new(std::net::Ipv4Addr::new(10, 251, 0, 0), 16)
            .unwrap_or(crate::net::cidr::Ipv4Cidr::DEFAULT_PODS),
        masquerade: false,
    }
}

/// A benchmark pod, on the pod network or (`host_network`) on the host's.
fn ms2(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn pod(name: &str, host_network: bool) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"bench": "pods"}},
        "spec": {
            "hostNetwork": host_network,
            "terminationGracePeriodSeconds": 5,
            "containers": [{
                "name": "main", "image": "busybox:bench",
                // pid 1 of its namespace: it must handle SIGTERM itself to stop gracefully.
                "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
            }]
        }
    })
}

pub async fn run(o: PodBenchOptions) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("peapod bench pods needs root (it runs real pods)".into());
    }
    let dir = std::env::temp_dir().join(format!("peapod-bench-pods-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let parent = format!("peapod-bench-{}", std::process::id());
    let result = run_in(&dir, &parent, &o).await;
    if let Err(e) = crate::net::reset(&bench_network(), &dir) {
        eprintln!("peapod bench: the benchmark's pod network was not removed: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(cg) = crate::runtime::cgroup::Cgroups::new(&parent) {
        let _ = cg.parent().remove();
    }
    result
}

/// A private peapod in `dir`: busybox imported as `busybox:bench`, the node registered, the
/// controllers, the scheduler and the node agent (pods under the cgroup `parent`) running.
/// Returns the cluster, the tasks to abort at the end, and the image's layer.
pub(crate) async fn start_private(
    dir: &Path,
    parent: &str,
    max_pods: usize,
) -> Result<(Arc<dyn Cluster>, Vec<tokio::task::JoinHandle<()>>, PathBuf), String> {
    let tar = dir.join("busybox.tar");
    let bytes = crate::image::busybox::rootfs_tar(Path::new("/bin/busybox")).map_err(|e| {
        format!("build the busybox image from /bin/busybox: {e} (install busybox-static)")
    })?;
    std::fs::write(&tar, bytes).map_err(|e| e.to_string())?;
    let images = crate::image::ImageStore::open(dir.join("images")).map_err(|e| e.to_string())?;
    images
        .import(&tar, Some("busybox:bench"), &[r#"CMD ["sh"]"#.to_string()])
        .map_err(|e| e.to_string())?;
    let layer = images
        .resolve("busybox:bench")
        .map_err(|e| e.to_string())?
        .and_then(|i| i.layers.first().cloned())
        .ok_or("the imported image has no layer")?;
    let store = crate::daemon::open_store(dir).map_err(|f| f.message())?;
    let cluster: Arc<dyn Cluster> = Arc::new(crate::cluster::embedded::EmbeddedCluster::new(
        store,
        dir.join("logs"),
    ));
    let node = crate::node::info::hostname();
    let node_opts = crate::node::NodeOptions {
        name: node.clone(),
        max_pods: (max_pods + 10) as u32,
        state_dir: dir.to_path_buf(),
    };
    crate::node::register(cluster.as_ref(), &node_opts)
        .await
        .map_err(|e| e.to_string())?;
    let mut tasks = crate::controllers::start_all(cluster.clone());
    tasks.extend(crate::controllers::runtime::spawn(
        cluster.clone(),
        Arc::new(crate::controllers::scheduler::Scheduler::default()),
    ));
    let mut agent = crate::node::agent::AgentOptions::new(node, dir.to_path_buf())?;
    agent.cgroup_parent = parent.to_string();
    agent.network = bench_network();
    tasks.push(tokio::spawn(crate::node::agent::run(
        cluster.clone(),
        agent,
    )));
    Ok((cluster, tasks, layer))
}

async fn run_in(dir: &Path, parent: &str, o: &PodBenchOptions) -> Result<(), String> {
    let (cluster, mut tasks, layer) = start_private(dir, parent, o.count).await?;
    let floor = raw_floor(&layer, o.runs.max(10))?;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let notify = Arc::new(Notify::new());
    let po = kinds::lookup("pods").ok_or("pods kind missing")?;
    let mut events = cluster
        .watch(po, Some("default"), &ListOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    {
        let (seen, notify) = (seen.clone(), notify.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(ev)) = events.next().await {
                let now = Instant::now();
                let name = ev.object.name().to_string();
                if let Ok(mut s) = seen.lock() {
                    if ev.event_type == EventType::Deleted {
                        s.gone.insert(name, now);
                    } else if ev.object.str_at("/status/phase") == Some("Running") {
                        s.running.entry(name).or_insert(now);
                    }
                }
                notify.notify_waiters();
            }
        }));
    }
    let result = measure(cluster.as_ref(), &seen, &notify, dir, o).await;
    for t in tasks {
        t.abort();
    }
    let Measured {
        single,
        single_host,
        delete,
        delete_host,
        batches,
        memory,
        net_single,
        net_batch,
    } = result?;
    println!(
        "peapod bench pods: busybox pods on this machine (own network, IPC, UTS, pid and mount namespaces, cgroups, overlay rootfs)"
    );
    let row = |what: String, v: &[Duration]| {
        println!(
            "{what:<52} {:>12} {:>12}",
            ms(pct(v.to_vec(), 0.5)),
            ms(pct(v.to_vec(), 0.99))
        );
    };
    let row2 = |what: String, v: &[Duration]| {
        println!(
            "{what:<52} {:>12} {:>12}",
            ms2(pct(v.to_vec(), 0.5)),
            ms2(pct(v.to_vec(), 0.99))
        );
    };
    println!("{:<52} {:>12} {:>12}", "measurement", "p50", "p99");
    row(
        "raw floor: sandbox + container process, exec'd".into(),
        &floor,
    );
    row(format!("one pod create→Running ({} runs)", o.runs), &single);
    row(
        format!("one hostNetwork pod create→Running ({} runs)", o.runs),
        &single_host,
    );
    let work = |v: &[(Duration, Duration)]| v.iter().map(|t| t.0).collect::<Vec<_>>();
    let waited = |v: &[(Duration, Duration)]| v.iter().map(|t| t.1).collect::<Vec<_>>();
    row2(
        format!("pod network setup, single pods ({})", net_single.len()),
        &work(&net_single),
    );
    row2(
        "  … as the pod waits for it (hand-over included)".into(),
        &waited(&net_single),
    );
    row(
        "one pod delete→gone (graceful, SIGTERM handled)".into(),
        &delete,
    );
    row("one hostNetwork pod delete→gone".into(), &delete_host);
    for (b, label) in batches.iter().zip(["", " hostNetwork"]) {
        row(
            format!("{} pods{label} at once: each create→Running", o.count),
            &b.lat,
        );
        println!(
            "{:<52} {:>12}",
            format!("{} pods{label} at once: all Running", o.count),
            ms(b.all_running)
        );
        println!(
            "{:<52} {:>12}",
            format!("{} pods{label} at once: delete→all gone", o.count),
            ms(b.all_gone)
        );
    }
    row2(
        format!("pod network setup, {} pods at once", net_batch.len()),
        &work(&net_batch),
    );
    row2(
        "  … as the pod waits for it (queue included)".into(),
        &waited(&net_batch),
    );
    println!(
        "{:<52} {:>12} {:>12}",
        "memory per pod at rest (median)", "RSS", "PSS"
    );
    for (what, rss, pss) in memory {
        println!("{what:<52} {:>9} KiB {:>8} KiB", rss, pss);
    }
    Ok(())
}

struct Measured {
    /// One pod create→Running, on the pod network.
    single: Vec<Duration>,
    /// One pod create→Running, hostNetwork.
    single_host: Vec<Duration>,
    delete: Vec<Duration>,
    delete_host: Vec<Duration>,
    /// Many pods at once: on the pod network, then hostNetwork.
    batches: Vec<Batch>,
    memory: Vec<(String, u64, u64)>,
    /// Per-pod network setups (veth, address, route) as timed by the pod network, (work,
    /// waited): of the single pods, and of the pods created at once.
    net_single: Vec<(Duration, Duration)>,
    net_batch: Vec<(Duration, Duration)>,
}

struct Batch {
    /// Each pod's create→Running.
    lat: Vec<Duration>,
    all_running: Duration,
    all_gone: Duration,
}

async fn wait_until(
    seen: &Mutex<Seen>,
    notify: &Notify,
    timeout: Duration,
    done: impl Fn(&Seen) -> bool,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let waiter = notify.notified();
        if seen.lock().map(|s| done(&s)).unwrap_or(false) {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, waiter).await.is_err() {
            return Err(
                "pods did not reach the expected state in time (see `peapod get pods` and events)"
                    .into(),
            );
        }
    }
}

async fn measure(
    cluster: &dyn Cluster,
    seen: &Mutex<Seen>,
    notify: &Notify,
    dir: &Path,
    o: &PodBenchOptions,
) -> Result<Measured, String> {
    let po = kinds::lookup("pods").ok_or("pods kind missing")?;
    let timeout = Duration::from_secs(120);
    let mut single = Vec::new();
    let mut single_host = Vec::new();
    let mut delete = Vec::new();
    let mut delete_host = Vec::new();
    // Alternating pod-network and hostNetwork pods, so that both see the same machine state.
    for i in 0..o.runs * 2 {
        let host_network = i % 2 == 1;
        let name = format!("single-{i}");
        let t0 = Instant::now();
        cluster
            .create(pod(&name, host_network), &WriteOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        wait_until(seen, notify, timeout, |s| s.running.contains_key(&name)).await?;
        if let Ok(s) = seen.lock() {
            let took = s.running[&name] - t0;
            if host_network {
                single_host.push(took);
            } else {
                single.push(took);
            }
        }
        let t1 = Instant::now();
        cluster
            .delete(po, Some("default"), &name, &DeleteOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        wait_until(seen, notify, timeout, |s| s.gone.contains_key(&name)).await?;
        if let Ok(s) = seen.lock() {
            let took = s.gone[&name] - t1;
            if host_network {
                delete_host.push(took);
            } else {
                delete.push(took);
            }
        }
    }
    let net_single = crate::net::take_setup_times();
    let mut batches = Vec::new();
    let mut memory_at_rest = Vec::new();
    // The batch on the pod network, then the same batch with hostNetwork.
    for host_network in [false, true] {
        let prefix = if host_network { "many-host" } else { "many" };
        let names: Vec<String> = (0..o.count).map(|i| format!("{prefix}-{i}")).collect();
        let t0 = Instant::now();
        let write = WriteOptions::default();
        let creates = names
            .iter()
            .map(|n| cluster.create(pod(n, host_network), &write));
        for r in futures::future::join_all(creates).await {
            r.map_err(|e| e.to_string())?;
        }
        wait_until(seen, notify, timeout, |s| {
            names.iter().all(|n| s.running.contains_key(n))
        })
        .await?;
        let all_running = t0.elapsed();
        let lat: Vec<Duration> = seen
            .lock()
            .map(|s| names.iter().map(|n| s.running[n] - t0).collect())
            .unwrap_or_default();
        if !host_network {
            // Memory at rest: a shim trims its resident code after a second without events.
            tokio::time::sleep(Duration::from_secs(2)).await;
            memory_at_rest = memory(dir).await;
        }
        let t1 = Instant::now();
        let del = DeleteOptions::default();
        let deletes = names
            .iter()
            .map(|n| cluster.delete(po, Some("default"), n, &del));
        for r in futures::future::join_all(deletes).await {
            r.map_err(|e| e.to_string())?;
        }
        wait_until(seen, notify, timeout, |s| {
            names.iter().all(|n| s.gone.contains_key(n))
        })
        .await?;
        batches.push(Batch {
            lat,
            all_running,
            all_gone: t1.elapsed(),
        });
    }
    Ok(Measured {
        single,
        single_host,
        delete,
        delete_host,
        batches,
        memory: memory_at_rest,
        net_single,
        net_batch: crate::net::take_setup_times(),
    })
}

/// `Rss` and `Pss` of a process in KiB.
fn rss_pss(pid: i32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some((field("Rss:")?, field("Pss:")?))
}

/// Median memory of the shims and sandbox holders of the running pods, read from /proc
/// without talking to the shims (a request would wake them and map their code back in).
async fn memory(dir: &Path) -> Vec<(String, u64, u64)> {
    let mut shims = Vec::new();
    let mut holders = Vec::new();
    let pods: Vec<PathBuf> = std::fs::read_dir(dir.join("pods"))
        .map(|e| e.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    for p in pods {
        let Some(shim) = std::fs::read_to_string(p.join(crate::runtime::shim::PID_FILE))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(m) = rss_pss(shim) {
            shims.push(m);
        }
        // The holder is the shim's first child.
        let children = std::fs::read_to_string(format!("/proc/{shim}/task/{shim}/children"))
            .unwrap_or_default();
        if let Some(m) = children
            .split_whitespace()
            .next()
            .and_then(|c| c.parse::<i32>().ok())
            .and_then(rss_pss)
        {
            holders.push(m);
        }
    }
    let median = |mut v: Vec<(u64, u64)>| -> (u64, u64) {
        if v.is_empty() {
            return (0, 0);
        }
        v.sort();
        v[v.len() / 2]
    };
    let (s, h) = (median(shims), median(holders));
    vec![
        ("shim (peapod shim)".to_string(), s.0, s.1),
        ("sandbox holder (pause)".to_string(), h.0, h.1),
    ]
}

/// The floor without peapod: create a sandbox, start one container process (`/bin/true` in
/// the image's layer, its own mount and pid namespaces), wait for it, destroy the sandbox.
fn raw_floor(layer: &Path, runs: usize) -> Result<Vec<Duration>, String> {
    let mut out = Vec::new();
    for i in 0..runs {
        let t0 = Instant::now();
        let sb = Sandbox::create(SandboxOptions {
            hostname: format!("floor-{i}"),
            share_pid: false,
            host_network: false,
        })
        .map_err(|e| e.to_string())?;
        let spec = ContainerSpec::new(Rootfs::Dir(layer.to_path_buf()), vec!["/bin/true".into()]);
        let child = container::spawn(&spec, &sb, Stdio::default()).map_err(|e| e.to_string());
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                let _ = sb.destroy();
                return Err(e);
            }
        };
        let _ = child.wait();
        let _ = sb.destroy();
        out.push(t0.elapsed());
    }
    Ok(out)
}
