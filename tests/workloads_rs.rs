//! A ReplicaSet of real busybox pods through the CLI against `peapod serve`, as root: three
//! pods run, a deleted pod is replaced (the time is printed), `peapod scale` to 5 and 1,
//! readyReplicas, and deleting the ReplicaSet takes its pods (garbage collection).

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the ReplicaSet tests need root (CI runs them as root)"
    );
}

const RS: &str = r#"
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:test
        command: ["sleep", "3600"]
"#;

fn json(p: &Peapod, args: &[&str]) -> Value {
    let out = p.run(args);
    serde_json::from_str(out.ok()).unwrap_or(Value::Null)
}

/// Pods labelled app=web that are not being deleted.
fn live_pods(p: &Peapod) -> Vec<Value> {
    json(p, &["get", "pods", "-l", "app=web", "-o", "json"])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect()
}

fn running(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
}

fn name(pod: &Value) -> String {
    pod["metadata"]["name"].as_str().unwrap_or("").to_string()
}

/// Polls every 50 ms until `check` holds on the live pods; returns them and the time taken.
#[track_caller]
fn wait_pods(p: &Peapod, what: &str, secs: u64, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let pods = live_pods(p);
        if check(&pods) {
            return pods;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen; pods: {:#}",
            Value::Array(pods)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn all_running(n: usize) -> impl Fn(&[Value]) -> bool {
    move |pods| pods.len() == n && pods.iter().all(running)
}

fn rs_status(p: &Peapod) -> Value {
    json(p, &["get", "rs", "web", "-o", "json"])["status"].clone()
}

#[test]
fn replicaset_keeps_scales_and_heals_its_pods_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    let f = p.file("rs.yaml", RS);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();

    let pods = wait_pods(&p, "3 Running pods", 60, all_running(3));
    for pod in &pods {
        let n = name(pod);
        assert!(n.starts_with("web-") && n.len() == 9, "{n}");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while rs_status(&p)["readyReplicas"] != 3 {
        assert!(
            Instant::now() < deadline,
            "readyReplicas: {}",
            rs_status(&p)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = rs_status(&p);
    assert_eq!(status["replicas"], 3);
    assert_eq!(status["availableReplicas"], 3);
    assert_eq!(status["fullyLabeledReplicas"], 3);
    assert_eq!(status["observedGeneration"], 1);
    let events = p.run(&["get", "events", "-o", "json"]);
    assert!(
        events.ok().contains("Created pod: web-"),
        "SuccessfulCreate events: {}",
        events.stdout
    );

    // Self-healing: the deletion starts, the pod is no longer active, a new one runs.
    let victim = name(&pods[0]);
    let start = Instant::now();
    p.run(&["delete", "pod", &victim, "--wait=false"]).ok();
    let healed = wait_pods(&p, "a replacement Running", 30, |ps| {
        all_running(3)(ps) && ps.iter().all(|x| name(x) != victim)
    });
    let took = start.elapsed();
    eprintln!("replacement of a deleted pod Running after {took:?}");
    assert!(
        // 0.1-0.3 s here; the bound leaves room for a loaded CI machine.
        took < Duration::from_secs(3),
        "replacement took {took:?} (the issue asks for 1 s)"
    );
    assert_eq!(healed.len(), 3);

    let out = p.run(&["scale", "rs/web", "--replicas=5"]);
    assert_eq!(out.ok(), "replicaset.apps/web scaled\n");
    wait_pods(&p, "5 Running pods", 60, all_running(5));
    let out = p.run(&["scale", "rs", "web", "--replicas=1", "--current-replicas=5"]);
    assert_eq!(out.ok(), "replicaset.apps/web scaled\n");
    let one = wait_pods(&p, "1 pod left", 30, all_running(1));
    let out = p.run(&["scale", "rs/web", "--replicas=2", "--current-replicas=5"]);
    assert_eq!(out.failed(), "error: Expected replicas to be 5, was 1\n");
    // Which pod survives is Kubernetes' rank with log2 age buckets: pods a second or two
    // apart can share a bucket, so the order is unit-tested (podcontrol_tests) rather than
    // here.
    assert_eq!(one.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while rs_status(&p)["replicas"] != 1 {
        assert!(Instant::now() < deadline, "status: {}", rs_status(&p));
        std::thread::sleep(Duration::from_millis(100));
    }

    // Deleting the ReplicaSet takes its pods with it.
    p.run(&["delete", "rs", "web"]).ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = json(&p, &["get", "pods", "-l", "app=web", "-o", "json"]);
        if all["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(Instant::now() < deadline, "pods left: {all:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const RC: &str = r#"
apiVersion: v1
kind: ReplicationController
metadata:
  name: old
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: old}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: busybox:test
        command: ["sleep", "3600"]
"#;

#[test]
fn replication_controller_replaces_a_failed_pod_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    let f = p.file("rc.yaml", RC);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
    let rc = json(&p, &["get", "rc", "old", "-o", "json"]);
    assert_eq!(rc["spec"]["selector"]["app"], "old", "selector defaulted");
    let list = |p: &Peapod| -> Vec<Value> {
        json(p, &["get", "pods", "-l", "app=old", "-o", "json"])["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let pods = loop {
        let ps = list(&p);
        if ps.len() == 2 && ps.iter().all(running) {
            break ps;
        }
        assert!(Instant::now() < deadline, "2 Running pods: {ps:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Kill the shim this test's peapod started for one pod: the node agent marks the pod
    // Failed (ShimDied); a Failed pod is not active, so the controller starts another.
    let victim = name(&pods[0]);
    let uid = pods[0]["metadata"]["uid"].as_str().unwrap().to_string();
    let shim_pid: i32 = std::fs::read_to_string(p.state().join("pods").join(&uid).join("shim.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ps = list(&p);
        let failed = ps
            .iter()
            .any(|x| name(x) == victim && x["status"]["reason"] == "ShimDied");
        let others: Vec<&Value> = ps.iter().filter(|x| name(x) != victim).collect();
        if failed && others.len() == 2 && others.iter().all(|x| running(x)) {
            break;
        }
        assert!(Instant::now() < deadline, "no replacement: {ps:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "replacement of a pod whose shim died Running after {:?}",
        start.elapsed()
    );
    // The status follows the pods a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rc = json(&p, &["get", "rc", "old", "-o", "json"]);
        if rc["status"]["replicas"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{rc:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
    p.run(&["delete", "rc", "old"]).ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !list(&p).is_empty() {
        assert!(Instant::now() < deadline, "pods left: {:#?}", list(&p));
        std::thread::sleep(Duration::from_millis(100));
    }
}
