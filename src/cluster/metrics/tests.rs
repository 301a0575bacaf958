//! Rates and formats (pure), the metrics route through the server and client, and a root test
//! on a real pod cgroup tree with a busy process in it.

use super::*;
use crate::api::error::Reason;
use crate::api::request::{ListOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::embedded::EmbeddedCluster;
use crate::cluster::remote::RemoteCluster;
use crate::runtime::cgroup::Cgroups;
use crate::store::{Store, StoreOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn sample(base: Instant, ms: u64, cpu_ns: u64) -> CpuSample {
    CpuSample {
        at: base + Duration::from_millis(ms),
        cpu_ns,
    }
}

#[test]
fn a_rate_is_cpu_time_over_wall_time() {
    let t = Instant::now();
    // Half a core for two seconds.
    let r = rate_between(sample(t, 0, 1_000), sample(t, 2_000, 1_000_001_000)).unwrap();
    assert_eq!(r.nanocores, 500_000_000);
    assert_eq!(r.window, Duration::from_secs(2));
    // Two busy cores.
    let r = rate_between(sample(t, 0, 0), sample(t, 150, 300_000_000)).unwrap();
    assert_eq!(r.nanocores, 2_000_000_000);
    // Too close together, reversed in time, or a counter that restarted.
    assert_eq!(rate_between(sample(t, 0, 0), sample(t, 50, 10)), None);
    assert_eq!(rate_between(sample(t, 500, 0), sample(t, 0, 10)), None);
    assert_eq!(rate_between(sample(t, 0, 500), sample(t, 1_000, 10)), None);
}

#[test]
fn the_tracker_measures_from_the_previous_reading_while_it_is_fresh() {
    let t = Instant::now();
    let key = || ("uid-1".to_string(), "app".to_string());
    let mut tr = RateTracker::default();
    // First sight: no rate, read again.
    assert_eq!(tr.rate(key(), sample(t, 0, 0)), None);
    // 150 ms later: a rate; the window is short, so the start is kept.
    let r = tr.rate(key(), sample(t, 150, 15_000_000)).unwrap();
    assert_eq!(
        (r.nanocores, r.window),
        (100_000_000, Duration::from_millis(150))
    );
    // A quick second request measures from the same start, over a longer window...
    let r = tr.rate(key(), sample(t, 1_000, 100_000_000)).unwrap();
    assert_eq!(
        (r.nanocores, r.window),
        (100_000_000, Duration::from_secs(1))
    );
    // ...which, at a second, becomes the next start.
    let r = tr.rate(key(), sample(t, 3_000, 1_100_000_000)).unwrap();
    assert_eq!(
        (r.nanocores, r.window),
        (500_000_000, Duration::from_secs(2))
    );
    // A reading too close to the start keeps the start and asks for another reading.
    assert_eq!(tr.rate(key(), sample(t, 3_050, 1_100_000_000)), None);
    assert!(tr.rate(key(), sample(t, 3_200, 1_100_000_000)).is_some());
    // Long ago is stale: sample again.
    assert_eq!(tr.rate(key(), sample(t, 60_000, 2_000_000_000)), None);
    assert!(tr.rate(key(), sample(t, 60_150, 2_000_000_000)).is_some());
    // A recreated cgroup restarts its counter: no negative rate.
    assert_eq!(tr.rate(key(), sample(t, 62_000, 5)), None);
    let r = tr.rate(key(), sample(t, 62_200, 20_000_005)).unwrap();
    assert_eq!(r.nanocores, 100_000_000);
    // Another container of the same pod, or the same name in another pod, is separate.
    let other = ("uid-2".to_string(), "app".to_string());
    assert_eq!(tr.rate(other, sample(t, 62_200, 0)), None);
    assert_eq!(tr.len(), 2);
    tr.prune(t + Duration::from_secs(200));
    assert!(tr.is_empty());
}

#[test]
fn quantities_are_written_as_metrics_server_writes_them() {
    assert_eq!(cpu_quantity(0), "0");
    assert_eq!(cpu_quantity(1_234_567), "1234567n");
    assert_eq!(cpu_quantity(12_000_000), "12m");
    assert_eq!(cpu_quantity(5_000), "5u");
    assert_eq!(cpu_quantity(2_000_000_000), "2");
    assert_eq!(cpu_quantity(1_500_000_000), "1500m");
    assert_eq!(memory_quantity(0), "0");
    assert_eq!(memory_quantity(1_263_616), "1234Ki");
    assert_eq!(memory_quantity(64 << 20), "64Mi");
    assert_eq!(memory_quantity(1_000_001), "1000001");
    // What kubectl reads back.
    let q = Quantity::parse(&cpu_quantity(1_234_567)).unwrap();
    assert_eq!(q.nano_value(), 1_234_567);
}

#[test]
fn durations_are_written_as_go_writes_them() {
    let ms = Duration::from_millis;
    assert_eq!(go_duration(Duration::ZERO), "0s");
    assert_eq!(go_duration(Duration::from_nanos(999)), "999ns");
    assert_eq!(go_duration(Duration::from_nanos(1_500)), "1.5µs");
    assert_eq!(go_duration(ms(150)), "150ms");
    assert_eq!(go_duration(ms(1_500)), "1.5s");
    assert_eq!(go_duration(ms(10_341)), "10.341s");
    assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
    assert_eq!(go_duration(ms(123_250)), "2m3.25s");
    assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    assert_eq!(
        go_duration(Duration::from_nanos(3_723_000_000_001)),
        "1h2m3.000000001s"
    );
}

fn store(dir: &Path) -> Arc<Store> {
    Arc::new(Store::open(&dir.join("s.redb"), StoreOptions::default()).unwrap())
}

/// Serves `cluster` on a socket in `dir` until the returned sender is dropped.
async fn serve(cluster: Arc<dyn Cluster>, dir: &Path) -> (RemoteCluster, PathBuf, impl Drop) {
    let socket = dir.join("api.sock");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let s = socket.clone();
    tokio::spawn(async move {
        let _ = crate::server::serve(cluster, &s, async move {
            let _ = stopped.await;
        })
        .await;
    });
    let client = RemoteCluster::new(socket.clone());
    for _ in 0..200 {
        if client.ping().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (client, socket, DropSender(Some(stop)))
}

struct DropSender(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSender {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            let _ = s.send(());
        }
    }
}

/// One GET over the socket: (status code, body).
async fn raw_get(socket: &Path, path: &str) -> (u16, String) {
    let mut s = tokio::net::UnixStream::connect(socket).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: peapod\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (code, body.to_string())
}

#[tokio::test]
async fn without_a_cgroup_parent_the_metrics_api_is_unavailable_locally_and_remotely() {
    let dir = tempfile::tempdir().unwrap();
    let c: Arc<dyn Cluster> = Arc::new(EmbeddedCluster::new(store(dir.path()), dir.path().into()));
    let e = c
        .pod_metrics(Some("default"), &ListOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::ServiceUnavailable);
    assert!(is_unavailable(&e), "{}", e.message);
    let (client, _socket, _stop) = serve(c, dir.path()).await;
    let e = client
        .pod_metrics(None, &ListOptions::default())
        .await
        .unwrap_err();
    assert!(is_unavailable(&e), "{}", e.message);
    assert_eq!(e.reason, Reason::ServiceUnavailable);
}

#[tokio::test]
async fn pods_without_cgroups_have_no_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let parent = format!("peapod-test-top-none-{}", std::process::id());
    let c = EmbeddedCluster::new(store(dir.path()), dir.path().into()).with_cgroup_parent(parent);
    c.create(pod("web", "web"), &WriteOptions::default())
        .await
        .unwrap();
    let c: Arc<dyn Cluster> = Arc::new(c);
    let all = ListOptions::default();
    assert!(c.pod_metrics(None, &all).await.unwrap().is_empty());
    let (client, socket, _stop) = serve(c, dir.path()).await;
    assert!(client.pod_metrics(None, &all).await.unwrap().is_empty());
    let (code, body) = raw_get(
        &socket,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        list,
        json!({"kind": "PodMetricsList", "apiVersion": API_VERSION, "metadata": {}, "items": []})
    );
    let (code, body) = raw_get(
        &socket,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web",
    )
    .await;
    assert_eq!(code, 404, "{body}");
    assert!(
        body.contains(r#"podmetrics.metrics.k8s.io \"default/web\" not found"#),
        "{body}"
    );
}

fn pod(name: &str, app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
    "spec": {"containers": [
        {"name": "busy", "image": "busybox"},
        {"name": "idle", "image": "busybox"},
        {"name": "stopped", "image": "busybox"}
    ]}})
}

/// A private cgroup tree and the children put in it; dropping kills and reaps the children
/// (by pid) and removes the tree.
struct Fixture {
    cgroups: Cgroups,
    kids: Vec<Child>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for k in &mut self.kids {
            let _ = k.kill();
            let _ = k.wait();
        }
        if let Err(e) = self.cgroups.parent().remove() {
            eprintln!("test cleanup: {e}");
        }
    }
}

/// Starts `sh -c script` inside `cg` (it joins before exec, so its memory is charged there).
fn start_in(cg: &crate::runtime::cgroup::Cgroup, script: &str) -> Child {
    let paths = cg.procs_paths().unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: join_self only calls open/write/close.
    unsafe {
        cmd.pre_exec(move || paths.join_self());
    }
    cmd.spawn().unwrap()
}

fn usage_of(m: &Value, container: &str) -> (i128, i128) {
    let c = m["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == container)
        .unwrap_or_else(|| panic!("no {container} in {m}"));
    (
        Quantity::from_json(&c["usage"]["cpu"])
            .unwrap()
            .nano_value(),
        Quantity::from_json(&c["usage"]["memory"]).unwrap().value(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_container_shows_cpu_and_memory_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "pod metrics tests need root (run the suite as root)"
    );
    let dir = tempfile::tempdir().unwrap();
    let parent = format!("peapod-test-top-{}", std::process::id());
    let c = EmbeddedCluster::new(store(dir.path()), dir.path().into())
        .with_cgroup_parent(parent.clone());
    let created = c
        .create(pod("busy", "busy"), &WriteOptions::default())
        .await
        .unwrap();
    c.create(pod("elsewhere", "other"), &WriteOptions::default())
        .await
        .unwrap();
    let mut fx = Fixture {
        cgroups: Cgroups::new(&parent).unwrap(),
        kids: Vec::new(),
    };
    let pod_cg = fx.cgroups.pod(created.uid()).unwrap();
    let busy = pod_cg.container("busy").unwrap();
    let idle = pod_cg.container("idle").unwrap();
    // A container cgroup without processes: a container that is not running.
    pod_cg.container("stopped").unwrap();
    fx.kids.push(start_in(&busy, "while :; do :; done"));
    fx.kids.push(start_in(&idle, "exec sleep 60"));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let c: Arc<dyn Cluster> = Arc::new(c);
    let all = ListOptions::default();
    let started = Instant::now();
    let items = c.pod_metrics(Some("default"), &all).await.unwrap();
    // The first request samples twice.
    assert!(started.elapsed() >= SAMPLE_GAP);
    assert_eq!(items.len(), 1, "{items:?}");
    let m = &items[0];
    assert_eq!(m["kind"], "PodMetrics");
    assert_eq!(m["apiVersion"], API_VERSION);
    assert_eq!(m["metadata"]["name"], "busy");
    assert_eq!(m["metadata"]["namespace"], "default");
    assert_eq!(m["metadata"]["labels"], json!({"app": "busy"}));
    assert!(m["metadata"]["creationTimestamp"].is_string());
    assert!(crate::api::object::parse_time(m["timestamp"].as_str().unwrap()).is_some());
    let window = m["window"].as_str().unwrap();
    assert!(window.ends_with("ms") || window.ends_with('s'), "{window}");
    let names: Vec<&str> = m["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["busy", "idle"],
        "the stopped container is not measured"
    );
    let (cpu, mem) = usage_of(m, "busy");
    // A shell spinning on a shared two-core machine: well above 50 millicores.
    assert!(cpu > 50_000_000, "busy cpu {cpu}n in {m}");
    assert!(mem > 0, "busy memory {mem} in {m}");
    let (idle_cpu, idle_mem) = usage_of(m, "idle");
    assert!(idle_cpu < cpu / 10, "idle cpu {idle_cpu}n vs busy {cpu}n");
    assert!(idle_mem > 0);

    // A second request soon after measures from the kept reading, without sampling again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let items = c.pod_metrics(None, &all).await.unwrap();
    assert!(started.elapsed() < SAMPLE_GAP, "{:?}", started.elapsed());
    assert!(usage_of(&items[0], "busy").0 > 50_000_000, "{items:?}");

    // Selectors pick pods as a pod list does.
    let by = |l: Option<&str>, f: Option<&str>| ListOptions {
        label_selector: l.map(String::from),
        field_selector: f.map(String::from),
        ..Default::default()
    };
    assert_eq!(
        c.pod_metrics(None, &by(Some("app=busy"), None))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        c.pod_metrics(None, &by(Some("app=other"), None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        c.pod_metrics(Some("kube-system"), &all)
            .await
            .unwrap()
            .is_empty()
    );
    let e = c
        .pod_metrics(None, &by(Some("app in ("), None))
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::BadRequest, "{}", e.message);

    // The same through the API socket.
    let (client, socket, _stop) = serve(c.clone(), dir.path()).await;
    let items = client
        .pod_metrics(Some("default"), &by(Some("app=busy"), None))
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert!(usage_of(&items[0], "busy").0 > 50_000_000);
    let (code, body) = raw_get(
        &socket,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/busy",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (one["kind"].as_str(), one["metadata"]["name"].as_str()),
        (Some("PodMetrics"), Some("busy"))
    );
    let (code, _) = raw_get(
        &socket,
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/elsewhere",
    )
    .await;
    assert_eq!(code, 404);

    // Once the processes are gone, the pod has nothing running to measure.
    for k in &mut fx.kids {
        k.kill().unwrap();
        k.wait().unwrap();
    }
    assert!(c.pod_metrics(None, &all).await.unwrap().is_empty());
}
