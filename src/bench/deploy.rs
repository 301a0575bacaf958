//! `peapod bench deploy`: a Deployment of busybox pods scaled 0 → N → 0 on a private peapod
//! (store, controllers, scheduler, node agent, real pods), timing what a user waits for —
//! all N pods Running, then all gone — and what peapod itself spends meanwhile: its CPU time
//! (this process: store, controllers, agent; the per-pod shims are separate processes) and
//! its peak memory.

use super::measure::{cpu_time, status_kib};
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, Patch, WriteOptions};
use crate::cluster::Cluster;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct DeployBenchOptions {
    /// Replicas to scale to.
    pub replicas: usize,
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "bench"}},
            "template": {
                "metadata": {"labels": {"app": "bench"}},
                "spec": {
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "main", "image": "busybox:bench",
                        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                    }]
                }
            }
        }
    })
}

/// Running pods of the deployment, and how many pods it has at all.
async fn count(cluster: &dyn Cluster) -> Result<(usize, usize), String> {
    let pods = kinds::lookup("pods").ok_or("pods kind missing")?;
    let opts = ListOptions {
        label_selector: Some("app=bench".into()),
        ..Default::default()
    };
    let list = cluster
        .list(pods, Some("default"), &opts)
        .await
        .map_err(|e| e.to_string())?;
    let running = list
        .items
        .iter()
        .filter(|p| {
            p.str_at("/status/phase") == Some("Running") && p.deletion_timestamp().is_none()
        })
        .count();
    Ok((running, list.items.len()))
}

async fn wait_for(
    cluster: &dyn Cluster,
    what: &str,
    timeout: Duration,
    done: impl Fn(usize, usize) -> bool,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let (running, total) = count(cluster).await?;
        if done(running, total) {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            return Err(format!(
                "{what}: not reached in {timeout:?} ({running} running, {total} pods)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scale(cluster: &dyn Cluster, replicas: usize) -> Result<(), String> {
    let deploy = kinds::lookup("deployments").ok_or("deployments kind missing")?;
    cluster
        .patch(
            deploy,
            Some("default"),
            "bench",
            Patch::Merge(json!({"spec": {"replicas": replicas}})),
            &WriteOptions::default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub async fn run(o: DeployBenchOptions) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("peapod bench deploy needs root (it runs real pods)".into());
    }
    let dir = std::env::temp_dir().join(format!("peapod-bench-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let parent = format!("peapod-bench-{}", std::process::id());
    let result = run_in(&dir, &parent, &o).await;
    if let Err(e) = crate::net::reset(&super::pods::bench_network(), &dir) {
        eprintln!("peapod bench: the benchmark's pod network was not removed: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Ok(cg) = crate::runtime::cgroup::Cgroups::new(&parent) {
        let _ = cg.parent().remove();
    }
    result
}

async fn run_in(dir: &Path, parent: &str, o: &DeployBenchOptions) -> Result<(), String> {
    let (cluster, tasks, _) = super::pods::start_private(dir, parent, o.replicas).await?;
    let result = measure(cluster.as_ref(), o).await;
    // Whatever happened, no pod is left running.
    let _ = scale(cluster.as_ref(), 0).await;
    let _ = wait_for(
        cluster.as_ref(),
        "clean-up",
        Duration::from_secs(120),
        |_, t| t == 0,
    )
    .await;
    for t in tasks {
        t.abort();
    }
    let m = result?;
    println!(
        "peapod bench deploy: a Deployment of busybox pods scaled 0 → {n} → 0 on this machine",
        n = o.replicas
    );
    println!("{:<52} {:>12}", "measurement", "result");
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    println!(
        "{:<52} {:>12}",
        format!("scale 0 → {}: all Running", o.replicas),
        secs(m.up)
    );
    println!(
        "{:<52} {:>12}",
        format!("scale {} → 0: all gone", o.replicas),
        secs(m.down)
    );
    println!(
        "{:<52} {:>12}",
        "peapod CPU (user+sys) while scaling up",
        secs(m.cpu_up)
    );
    println!(
        "{:<52} {:>12}",
        "peapod CPU (user+sys) while scaling down",
        secs(m.cpu_down)
    );
    println!(
        "{:<52} {:>9} MiB",
        "peapod peak memory (VmHWM, whole run)",
        m.peak_kib / 1024
    );
    println!(
        "{:<52} {:>9} MiB",
        format!("peapod memory with {} pods Running (VmRSS)", o.replicas),
        m.rss_at_top_kib / 1024
    );
    Ok(())
}

struct Measured {
    up: Duration,
    down: Duration,
    cpu_up: Duration,
    cpu_down: Duration,
    peak_kib: u64,
    rss_at_top_kib: u64,
}

async fn measure(cluster: &dyn Cluster, o: &DeployBenchOptions) -> Result<Measured, String> {
    let n = o.replicas;
    cluster
        .create(deployment(), &WriteOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let cpu0 = cpu_time();
    scale(cluster, n).await?;
    let up = wait_for(cluster, "all Running", Duration::from_secs(300), |r, _| {
        r >= n
    })
    .await?;
    let cpu1 = cpu_time();
    let rss_at_top_kib = status_kib("VmRSS:").unwrap_or(0);
    scale(cluster, 0).await?;
    let down = wait_for(cluster, "all gone", Duration::from_secs(300), |_, t| t == 0).await?;
    let cpu2 = cpu_time();
    Ok(Measured {
        up,
        down,
        cpu_up: cpu1.saturating_sub(cpu0),
        cpu_down: cpu2.saturating_sub(cpu1),
        peak_kib: status_kib("VmHWM:").unwrap_or(0),
        rss_at_top_kib,
    })
}
