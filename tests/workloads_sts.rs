//! StatefulSet must-show, through the CLI against `peapod serve`, as root: web-0, web-1,
//! web-2 created strictly in order, web-1's claim keeps its data across a pod deletion,
//! scale-down removes web-2 before web-1, and the claims stay.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the StatefulSet test needs root (CI runs it as root)"
    );
}

const WEB: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: REPLICAS
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
        readinessProbe:
          exec: {command: ["true"]}
          periodSeconds: 1
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Mi}}
"#;

fn apply(p: &Peapod, replicas: u32) {
    let f = p.file("web.yaml", &WEB.replace("REPLICAS", &replicas.to_string()));
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
}

fn list(p: &Peapod, what: &[&str]) -> Vec<Value> {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend(["-o", "json"]);
    let out = p.run(&args);
    serde_json::from_str::<Value>(&out.stdout)
        .ok()
        .and_then(|v| v["items"].as_array().cloned())
        .unwrap_or_default()
}

fn web_pods(p: &Peapod) -> Vec<Value> {
    list(p, &["pods", "-l", "app=web"])
}

/// `get pods -l app=web -o json` from another thread (the sampler's).
fn pods_at(state: &std::path::Path) -> Vec<Value> {
    let bin = std::env::var_os("PEAPOD_TEST_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_peapod").into());
    let out = std::process::Command::new(bin)
        .arg("--state-dir")
        .arg(state)
        .args(["get", "pods", "-l", "app=web", "-o", "json"])
        .env_remove("PEAPOD_HOME")
        .output();
    out.ok()
        .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
        .and_then(|v| v["items"].as_array().cloned())
        .unwrap_or_default()
}

fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or("")
}

fn running_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

#[track_caller]
fn wait_until(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Samples the set's pods in the background until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Vec<Value>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(p: &Peapod) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, out) = (stop.clone(), samples.clone());
        let state = p.state().to_path_buf();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let pods = pods_at(&state);
                out.lock().unwrap().push(pods);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler {
            stop,
            samples,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Vec<Vec<Value>> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

fn find<'a>(sample: &'a [Value], n: &str) -> Option<&'a Value> {
    sample.iter().find(|p| name(p) == n)
}

/// Deletes the set (its pods go with it) and then whatever is left, even on failure.
struct Teardown<'a>(&'a Peapod);

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .run(&["delete", "statefulset", "web", "--timeout=30s"]);
    }
}

#[test]
fn statefulset_orders_pods_and_keeps_claims_as_root() {
    require_root();
    let started = Instant::now();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    let _teardown = Teardown(&p);

    // Strictly ordered creation.
    let sampler = Sampler::start(&p);
    apply(&p, 3);
    wait_until("web-0..2 never all Running and Ready", 40, || {
        let pods = web_pods(&p);
        pods.len() == 3 && pods.iter().all(running_ready)
    });
    let samples = sampler.finish();
    assert!(samples.len() >= 3, "too few samples: {}", samples.len());
    for s in &samples {
        for k in 1..3 {
            if find(s, &format!("web-{k}")).is_some() {
                let prev = find(s, &format!("web-{}", k - 1));
                assert!(
                    prev.is_some_and(running_ready),
                    "web-{k} existed while web-{} was not Running and Ready: {:#?}",
                    k - 1,
                    s.iter()
                        .map(|p| (name(p), &p["status"]["phase"]))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
    let pods = web_pods(&p);
    let web0 = find(&pods, "web-0").unwrap();
    assert_eq!(web0["spec"]["hostname"], "web-0");
    assert_eq!(web0["spec"]["subdomain"], "web");
    assert_eq!(
        web0["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"],
        "web-0"
    );
    assert_eq!(
        web0["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
        "0"
    );
    assert_eq!(
        p.run(&["exec", "web-0", "--", "hostname"]).ok().trim(),
        "web-0"
    );
    let sts: Value =
        serde_json::from_str(p.run(&["get", "sts", "web", "-o", "json"]).ok()).unwrap();
    wait_until("status never showed 3 ready replicas", 10, || {
        let s: Value =
            serde_json::from_str(&p.run(&["get", "sts", "web", "-o", "json"]).stdout).unwrap();
        s["status"]["readyReplicas"] == 3 && s["status"]["updatedReplicas"] == 3
    });
    assert!(
        sts["status"]["updateRevision"]
            .as_str()
            .unwrap()
            .starts_with("web-")
    );

    // web-1's data survives its pod.
    let uid1 = find(&pods, "web-1").unwrap()["metadata"]["uid"].clone();
    p.run(&["exec", "web-1", "--", "sh", "-c", "echo hi > /data/x"])
        .ok();
    p.run(&["delete", "pod", "web-1", "--timeout=30s"]).ok();
    wait_until("web-1 was not recreated", 30, || {
        web_pods(&p)
            .iter()
            .any(|p| name(p) == "web-1" && p["metadata"]["uid"] != uid1 && running_ready(p))
    });
    let read = p.run(&["exec", "web-1", "--", "cat", "/data/x"]);
    assert_eq!(read.ok().trim(), "hi");
    let claims: Vec<String> = list(&p, &["pvc"])
        .iter()
        .map(|c| name(c).to_string())
        .collect();
    assert_eq!(claims, ["data-web-0", "data-web-1", "data-web-2"]);

    // Scale to 1: web-2 goes first, web-1 only once web-2 is gone.
    let sampler = Sampler::start(&p);
    apply(&p, 1);
    wait_until("scale-down to web-0 did not finish", 30, || {
        let pods = web_pods(&p);
        pods.len() == 1 && name(&pods[0]) == "web-0"
    });
    let samples = sampler.finish();
    for s in &samples {
        if find(s, "web-2").is_some() {
            let w1 = find(s, "web-1");
            assert!(
                w1.is_some_and(|p| p["metadata"]["deletionTimestamp"].is_null()),
                "web-1 went before web-2 was gone"
            );
        }
    }
    assert!(
        samples
            .iter()
            .any(|s| find(s, "web-1").is_some() && find(s, "web-2").is_none()),
        "web-1 and web-2 went together"
    );
    let claims = list(&p, &["pvc"]);
    assert_eq!(claims.len(), 3, "claims must stay after scale-down");

    p.run(&["delete", "statefulset", "web", "--timeout=30s"])
        .ok();
    wait_until("the set's pods were not deleted with it", 30, || {
        web_pods(&p).is_empty()
    });
    eprintln!("statefulset test took {:?}", started.elapsed());
}
