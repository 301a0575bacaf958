//! DaemonSet must-show, through the CLI against `peapod serve`, as root: a DaemonSet with
//! nodeSelector `gpu: "true"` has no pod until the node gets the label, then one Running pod
//! on it, and none again once the label goes.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the DaemonSet test needs root (CI runs it as root)"
    );
}

const AGENT: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: gpu-agent
spec:
  selector:
    matchLabels: {app: gpu-agent}
  template:
    metadata:
      labels: {app: gpu-agent}
    spec:
      terminationGracePeriodSeconds: 1
      nodeSelector:
        gpu: "true"
      containers:
      - name: c
        image: busybox:test
        command: ["sleep", "3600"]
"#;

fn get_json(p: &Peapod, args: &[&str]) -> Value {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend(["-o", "json"]);
    serde_json::from_str(&p.run(&a).stdout).unwrap_or(Value::Null)
}

fn agent_pods(p: &Peapod) -> Vec<Value> {
    get_json(p, &["pods", "-l", "app=gpu-agent"])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[track_caller]
fn wait_until(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Teardown<'a>(&'a Peapod);

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .run(&["delete", "daemonset", "gpu-agent", "--timeout=30s"]);
    }
}

#[test]
fn daemonset_follows_the_node_label_as_root() {
    require_root();
    let started = Instant::now();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    let _teardown = Teardown(&p);
    let mut node = String::new();
    wait_until("the node never registered", 20, || {
        get_json(&p, &["nodes"])["items"][0]["metadata"]["name"].is_string()
    });
    node.push_str(
        get_json(&p, &["nodes"])["items"][0]["metadata"]["name"]
            .as_str()
            .unwrap(),
    );

    let f = p.file("agent.yaml", AGENT);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
    // The controller has looked at the set (observedGeneration) and found no node for it.
    wait_until("the DaemonSet status was never written", 10, || {
        let ds = get_json(&p, &["daemonset", "gpu-agent"]);
        ds["status"]["observedGeneration"] == 1 && ds["status"]["desiredNumberScheduled"] == 0
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        agent_pods(&p).is_empty(),
        "a pod appeared without the label"
    );

    p.run(&["label", "node", &node, "gpu=true"]).ok();
    wait_until("the daemon pod never ran", 30, || {
        agent_pods(&p)
            .iter()
            .any(|pod| pod["status"]["phase"] == "Running")
    });
    let pods = agent_pods(&p);
    assert_eq!(pods.len(), 1, "one pod per node");
    let pod = &pods[0];
    assert_eq!(pod["spec"]["nodeName"], node.as_str());
    assert!(
        pod["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("gpu-agent-")
    );
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "DaemonSet");
    assert!(pod["metadata"]["labels"]["controller-revision-hash"].is_string());
    let tolerations = pod["spec"]["tolerations"].as_array().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t["key"] == "node.kubernetes.io/unschedulable")
    );
    wait_until("status never counted the pod", 10, || {
        let ds = get_json(&p, &["daemonset", "gpu-agent"]);
        ds["status"]["desiredNumberScheduled"] == 1 && ds["status"]["currentNumberScheduled"] == 1
    });

    p.run(&["label", "node", &node, "gpu-"]).ok();
    wait_until("the daemon pod did not go with the label", 30, || {
        agent_pods(&p).is_empty()
    });
    eprintln!("daemonset test took {:?}", started.elapsed());
}
