//! A Deployment of real busybox httpd pods through the CLI against `peapod serve`, as root
//! (issue 5's must-show): replicas 3 → `scale --replicas=5` → a rolling update with
//! maxSurge 1 / maxUnavailable 0 sampled throughout (never fewer than 5 ready pods), two
//! ReplicaSets with revisions 1 and 2, `rollout history`, `rollout undo` reusing the first
//! ReplicaSet as revision 3, a rollout to a missing image that stalls without taking ready
//! pods below 5 and an undo that recovers; then deletion with the default cascade (ReplicaSets
//! and pods go) and with `--cascade=orphan` (they stay, without ownerReferences).

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the Deployment tests need root (CI runs them as root)"
    );
}

fn manifest(name: &str, replicas: u32, version: &str, image: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    kubernetes.io/change-cause: version {version}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: {image}
        command: ["httpd", "-f", "-p", "8080"]
        env:
        - {{name: VERSION, value: "{version}"}}
        readinessProbe:
          tcpSocket: {{port: 8080}}
          periodSeconds: 1
"#
    )
}

fn json(p: &Peapod, args: &[&str]) -> Value {
    let out = p.run(args);
    serde_json::from_str(out.ok()).unwrap_or(Value::Null)
}

fn items(v: Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

fn ready(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn ready_pods(p: &Peapod, app: &str) -> usize {
    let out = p.run(&["get", "pods", "-l", &format!("app={app}"), "-o", "json"]);
    if out.code != 0 {
        return usize::MAX; // a failed sample says nothing
    }
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    items(v).iter().filter(|p| ready(p)).count()
}

fn replica_sets(p: &Peapod, app: &str) -> Vec<Value> {
    items(json(
        p,
        &["get", "rs", "-l", &format!("app={app}"), "-o", "json"],
    ))
}

fn revision(rs: &Value) -> &str {
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .unwrap_or("")
}

fn name(obj: &Value) -> String {
    obj["metadata"]["name"].as_str().unwrap_or("").to_string()
}

#[track_caller]
fn wait_until(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in {secs}s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rolled_out(p: &Peapod, deploy: &str) {
    let out = p.run(&["rollout", "status", deploy, "--timeout=120s"]);
    assert!(
        out.ok().contains("successfully rolled out"),
        "{}",
        out.stdout
    );
}

/// Runs `work` while a thread samples the ready pods of `app`; returns the smallest count
/// seen and the number of samples.
fn sampled(p: &Peapod, app: &str, work: impl FnOnce()) -> (usize, usize) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let (mut min, mut n) = (usize::MAX, 0);
            while !stop.load(Ordering::Relaxed) {
                min = min.min(ready_pods(p, app));
                n += 1;
            }
            (min, n)
        });
        work();
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap()
    })
}

fn apply(p: &Peapod, file: &str, text: &str) {
    let f = p.file(file, text);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
}

#[test]
fn deployment_rolls_forward_and_back_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);

    apply(&p, "web.yaml", &manifest("web", 3, "1", "busybox:test"));
    rolled_out(&p, "deploy/web");
    assert_eq!(ready_pods(&p, "web"), 3);

    let out = p.run(&["scale", "deploy/web", "--replicas=5"]);
    assert_eq!(out.ok(), "deployment.apps/web scaled\n");
    rolled_out(&p, "deploy/web");
    wait_until("5 ready pods", 60, || ready_pods(&p, "web") == 5);
    let first = replica_sets(&p, "web");
    assert_eq!(first.len(), 1);
    let first_name = name(&first[0]);
    assert_eq!(revision(&first[0]), "1");

    // Rolling update, sampled throughout: never fewer than 5 ready pods.
    let (min, samples) = sampled(&p, "web", || {
        apply(&p, "web.yaml", &manifest("web", 5, "2", "busybox:test"));
        rolled_out(&p, "deploy/web");
    });
    assert!(samples >= 5, "only {samples} samples");
    assert!(min >= 5, "ready pods fell to {min} during the rollout");
    let rss = replica_sets(&p, "web");
    let mut revs: Vec<&str> = rss.iter().map(revision).collect();
    revs.sort();
    assert_eq!(revs, ["1", "2"]);

    let out = p.run(&["rollout", "history", "deploy/web"]);
    assert_eq!(
        out.ok(),
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         version 1\n2         version 2\n\n"
    );

    // Undo reuses the first ReplicaSet, now revision 3.
    let out = p.run(&["rollout", "undo", "deploy/web"]);
    assert_eq!(out.ok(), "deployment.apps/web rolled back\n");
    rolled_out(&p, "deploy/web");
    let rss = replica_sets(&p, "web");
    assert_eq!(rss.len(), 2);
    let back = rss
        .iter()
        .find(|r| name(r) == first_name)
        .expect("first RS kept");
    assert_eq!(revision(back), "3");
    assert_eq!(back["spec"]["replicas"], 5);

    // A missing image stalls: the old pods stay ready; undo recovers.
    let (min, _) = sampled(&p, "web", || {
        let out = p.run(&["set", "image", "deploy/web", "c=nothing-here:nope"]);
        assert_eq!(out.ok(), "deployment.apps/web image updated\n");
        wait_until("a stalled new ReplicaSet", 30, || {
            replica_sets(&p, "web")
                .iter()
                .any(|r| revision(r) == "4" && r["spec"]["replicas"] == 1)
        });
        std::thread::sleep(Duration::from_secs(4));
        let out = p.run(&["rollout", "status", "deploy/web", "--watch=false"]);
        assert!(
            out.ok()
                .starts_with("Waiting for deployment \"web\" rollout to finish"),
            "{}",
            out.stdout
        );
        let out = p.run(&["rollout", "undo", "deploy/web"]);
        assert_eq!(out.ok(), "deployment.apps/web rolled back\n");
        rolled_out(&p, "deploy/web");
    });
    assert!(
        min >= 5,
        "ready pods fell to {min} during the stalled rollout"
    );
    wait_until("5 ready pods after recovery", 60, || {
        ready_pods(&p, "web") == 5
    });

    // Default cascade: ReplicaSets and pods go.
    p.run(&["delete", "deploy", "web"]).ok();
    wait_until("ReplicaSets gone", 60, || {
        replica_sets(&p, "web").is_empty()
    });
    wait_until("pods gone", 60, || {
        items(json(&p, &["get", "pods", "-l", "app=web", "-o", "json"])).is_empty()
    });
}

#[test]
fn orphan_cascade_keeps_replica_sets_and_pods_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "api.yaml", &manifest("api", 2, "1", "busybox:test"));
    rolled_out(&p, "deploy/api");

    // Orphaning the Deployment: its ReplicaSet stays and loses its ownerReference.
    p.run(&["delete", "deploy", "api", "--cascade=orphan"]).ok();
    std::thread::sleep(Duration::from_secs(1));
    let rss = replica_sets(&p, "api");
    assert_eq!(rss.len(), 1);
    assert!(
        rss[0]["metadata"]["ownerReferences"].is_null(),
        "{:#}",
        rss[0]
    );
    // Orphaning the ReplicaSet in turn: the pods stay, without ownerReferences, still ready.
    p.run(&["delete", "rs", &name(&rss[0]), "--cascade=orphan"])
        .ok();
    std::thread::sleep(Duration::from_secs(1));
    let pods = items(json(&p, &["get", "pods", "-l", "app=api", "-o", "json"]));
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        assert!(pod["metadata"]["ownerReferences"].is_null(), "{pod:#}");
        assert!(ready(pod), "{pod:#}");
    }
    p.run(&[
        "delete",
        "pods",
        "-l",
        "app=api",
        "--grace-period=0",
        "--force",
    ])
    .ok();
}
