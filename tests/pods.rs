//! Pods that really run (issue 3's "must show"), through the CLI against `peapod serve`, as
//! root: the sidecar example, init containers, limits and OOM kills, crash-loop back-off,
//! probes, graceful termination, and re-adoption after peapod is killed. Every test deletes
//! its pods and checks that nothing is left: processes, mounts, cgroups, directories.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the pod tests need root (CI runs them as root)"
    );
}

fn pod_json(p: &Peapod, name: &str) -> Option<Value> {
    let out = p.run(&["get", "pod", name, "-o", "json"]);
    if out.code != 0 {
        return None;
    }
    serde_json::from_str(&out.stdout).ok()
}

/// Polls the pod until `check` holds (20 s at most); returns the pod.
#[track_caller]
fn wait_for(p: &Peapod, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(pod) = pod_json(p, name)
            && check(&pod)
        {
            return pod;
        }
        if Instant::now() > deadline {
            panic!(
                "pod {name}: {what} did not happen; last seen: {:#}",
                pod_json(p, name).unwrap_or(Value::Null)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn uid_of(pod: &Value) -> String {
    pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Polls `check` every 100 ms until it holds; fails with `what` after `secs` seconds.
#[track_caller]
fn wait_until(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

fn container<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["status"]["containerStatuses"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or(&Value::Null)
}

fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn apply(p: &Peapod, name: &str, yaml: &str) {
    let f = p.file(&format!("{name}.yaml"), yaml);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
}

/// What a pod leaves on the host, looked up by its uid.
fn leftovers(p: &Peapod, uid: &str) -> Vec<String> {
    let mut found = Vec::new();
    let dir = p.state().join("pods").join(uid);
    if dir.exists() {
        found.push(format!("directory {}", dir.display()));
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for l in mountinfo.lines().filter(|l| l.contains(uid)) {
        found.push(format!("mount {l}"));
    }
    for root in [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup",
    ] {
        let cg = Path::new(root).join("peapod").join(format!("pod{uid}"));
        if cg.exists() {
            found.push(format!("cgroup {}", cg.display()));
        }
    }
    found
}

#[track_caller]
fn delete_and_check_gone(p: &Peapod, name: &str, uid: &str) {
    p.run(&["delete", "pod", name, "--timeout=60s"]).ok();
    assert!(pod_json(p, name).is_none(), "pod {name} still exists");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = leftovers(p, uid);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pod {name} left behind: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SIDECAR: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 5
  volumes:
  - name: shared
    emptyDir: {}
  containers:
  - name: server
    image: busybox:test
    command: ["sh", "-c", "echo served-from-the-volume > /shared/index.html && exec httpd -f -p 8080 -h /shared"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
  - name: fetcher
    image: busybox:test
    command: ["sh", "-c", "while true; do wget -q -O - http://localhost:8080/ || echo fetch-failed; sleep 0.2; done"]
"#;

#[test]
fn sidecar_pod_shares_a_volume_and_localhost_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "web", SIDECAR);
    let pod = wait_for(&p, "web", "Running with 2 ready containers", |pod| {
        phase(pod) == "Running" && ready(pod)
    });
    let uid = uid_of(&pod);
    assert_eq!(container(&pod, "server")["restartCount"], 0);
    assert!(container(&pod, "server")["state"]["running"]["startedAt"].is_string());

    // The fetcher reaches the server over the pod's localhost and reads the shared volume.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = p.run(&["logs", "web", "-c", "fetcher"]);
        if logs.stdout.contains("served-from-the-volume") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fetcher never got the page: {logs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let host = p.run(&["exec", "web", "-c", "server", "--", "hostname"]);
    assert_eq!(host.ok().trim(), "web");
    // Each container has its own pid namespace: no host processes, only its own.
    let ps = p.run(&["exec", "web", "-c", "server", "--", "ps", "-o", "pid,comm"]);
    let procs: Vec<&str> = ps.ok().lines().skip(1).collect();
    assert!(
        procs.len() <= 3,
        "unexpected processes in the container: {procs:?}"
    );
    assert!(procs.iter().any(|l| l.contains("httpd")), "{procs:?}");
    let exit = p.run(&["exec", "web", "-c", "server", "--", "sh", "-c", "exit 3"]);
    assert_eq!(exit.code, 3, "{exit:?}");
    // Live usage from the pod's cgroups, per container.
    let top = p.run(&["top", "pod", "web", "--containers", "--no-headers"]);
    let mut rows: Vec<String> = top
        .ok()
        .lines()
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    rows.sort();
    assert_eq!(rows, ["web fetcher", "web server"], "{top:?}");
    let missing = p.run(&["top", "pod", "nope"]);
    assert!(missing.failed().contains("not found"), "{missing:?}");

    delete_and_check_gone(&p, "web", &uid);
}

const INIT: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: tomcat
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: webapps
    emptyDir: {}
  initContainers:
  - name: war
    image: busybox:test
    command: ["sh", "-c", "sleep 1; echo sample-war > /webapps/sample.war"]
    volumeMounts:
    - {name: webapps, mountPath: /webapps}
  containers:
  - name: tomcat
    image: busybox:test
    command: ["sh", "-c", "cat /usr/local/tomcat/webapps/sample.war; exec sleep 3600"]
    volumeMounts:
    - {name: webapps, mountPath: /usr/local/tomcat/webapps}
"#;

#[test]
fn init_container_fills_a_volume_before_the_app_starts_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "tomcat", INIT);
    let first = wait_for(&p, "tomcat", "the init container running", |pod| {
        pod["status"]["initContainerStatuses"][0]["state"]["running"].is_object()
    });
    assert_eq!(phase(&first), "Pending");
    assert_eq!(
        container(&first, "tomcat")["state"]["waiting"]["reason"],
        "PodInitializing"
    );
    let listed = p.run(&["get", "pod", "tomcat", "--no-headers"]);
    assert!(listed.ok().contains("Init:0/1"), "{listed:?}");
    let pod = wait_for(&p, "tomcat", "Running", |pod| phase(pod) == "Running");
    let init = &pod["status"]["initContainerStatuses"][0];
    assert_eq!(init["state"]["terminated"]["reason"], "Completed");
    assert_eq!(init["state"]["terminated"]["exitCode"], 0);
    let uid = uid_of(&pod);
    wait_until("the app did not see the init container's file", 10, || {
        p.run(&["logs", "tomcat"]).stdout.contains("sample-war")
    });
    delete_and_check_gone(&p, "tomcat", &uid);
}

const LIMITS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: limited
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:test
    command: ["sleep", "3600"]
    resources:
      limits: {cpu: 500m, memory: 128Mi}
---
apiVersion: v1
kind: Pod
metadata:
  name: hog
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:test
    command: ["sh", "-c", "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x=$x$x; done"]
    resources:
      limits: {memory: 32Mi}
---
apiVersion: v1
kind: Pod
metadata:
  name: bomb
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: bomb
    image: busybox:test
    command: ["sh", "-c", "sh -c 'i=0; while [ $i -lt 400 ]; do sleep 600 & i=$((i+1)); done'; echo survived; exec sleep 600"]
"#;

fn cgroup_file(controller: &str, uid: &str, container: &str, file: &str) -> String {
    let v1 = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("peapod")
        .join(format!("pod{uid}"))
        .join(format!("ctr-{container}"))
        .join(file);
    std::fs::read_to_string(&v1).unwrap_or_else(|e| panic!("read {}: {e}", v1.display()))
}

#[test]
fn limits_reach_the_cgroups_and_oom_and_fork_bombs_are_contained_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let server = p.serve_env(&[("PEAPOD_POD_PIDS_LIMIT", "64")]);
    let _cleanup = Cleanup(&p);
    apply(&p, "limits", LIMITS);
    let pod = wait_for(&p, "limited", "Running", |pod| phase(pod) == "Running");
    let uid = uid_of(&pod);
    if Path::new("/sys/fs/cgroup/cpu/peapod").exists() {
        assert_eq!(
            cgroup_file("cpu", &uid, "main", "cpu.cfs_quota_us").trim(),
            "50000"
        );
        assert_eq!(
            cgroup_file("cpu", &uid, "main", "cpu.cfs_period_us").trim(),
            "100000"
        );
        assert_eq!(
            cgroup_file("memory", &uid, "main", "memory.limit_in_bytes").trim(),
            (128 * 1024 * 1024).to_string()
        );
    } else {
        assert_eq!(
            cgroup_file("", &uid, "main", "cpu.max").trim(),
            "50000 100000"
        );
        assert_eq!(
            cgroup_file("", &uid, "main", "memory.max").trim(),
            (128 * 1024 * 1024).to_string()
        );
    }

    let hog = wait_for(&p, "hog", "OOMKilled", |pod| {
        container(pod, "hog")["state"]["terminated"].is_object()
    });
    let t = &container(&hog, "hog")["state"]["terminated"];
    assert_eq!(t["reason"], "OOMKilled", "{hog:#}");
    assert_eq!(t["exitCode"], 137);
    assert_eq!(phase(&hog), "Failed");

    // The fork bomb hits the pod's pids limit; the host keeps answering.
    let bomb = wait_for(&p, "bomb", "running", |pod| phase(pod) == "Running");
    wait_until("the fork loop never hit the limit", 20, || {
        p.run(&["logs", "bomb"]).stdout.contains("survived")
    });
    let bomb_uid = uid_of(&bomb);
    let pids = std::fs::read_to_string(
        Path::new("/sys/fs/cgroup/pids/peapod")
            .join(format!("pod{bomb_uid}"))
            .join("pids.current"),
    )
    .or_else(|_| {
        std::fs::read_to_string(
            Path::new("/sys/fs/cgroup/peapod")
                .join(format!("pod{bomb_uid}"))
                .join("pids.current"),
        )
    })
    .unwrap_or_else(|e| {
        panic!(
            "pids.current of the bomb pod: {e}; pod: {:#}",
            pod_json(&p, "bomb").unwrap_or_default()
        )
    });
    let pids: u32 = pids.trim().parse().unwrap();
    assert!((50..=64).contains(&pids), "pids: {pids}");
    let logs = p.run(&["logs", "bomb"]);
    assert!(logs.stdout.contains("can't fork"), "{logs:?}");
    p.run(&["get", "pods"]).ok();

    let hog_uid = uid_of(&hog);
    delete_and_check_gone(&p, "limited", &uid);
    delete_and_check_gone(&p, "hog", &hog_uid);
    delete_and_check_gone(&p, "bomb", &bomb_uid);
    drop(server);
}

const CRASH: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: crash
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: crash
    image: busybox:test
    command: ["sh", "-c", "echo crashing; exit 1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: probed
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: live
    image: busybox:test
    command: ["sh", "-c", "touch /tmp/alive; sleep 2; rm /tmp/alive; sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 1
  - name: unready
    image: busybox:test
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
"#;

#[test]
fn crash_loops_back_off_and_probes_restart_and_gate_readiness_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "crash", CRASH);
    let pod = wait_for(&p, "crash", "CrashLoopBackOff", |pod| {
        container(pod, "crash")["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let c = container(&pod, "crash");
    assert!(c["restartCount"].as_u64().unwrap() >= 1, "{c}");
    assert_eq!(c["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(c["lastState"]["terminated"]["reason"], "Error");
    assert!(
        c["state"]["waiting"]["message"]
            .as_str()
            .unwrap()
            .starts_with("back-off 10s restarting failed container=crash pod=crash_default("),
        "{c}"
    );
    assert_eq!(phase(&pod), "Running");
    let listed = p.run(&["get", "pod", "crash", "--no-headers"]);
    assert!(listed.ok().contains("CrashLoopBackOff"), "{listed:?}");
    let previous = p.run(&["logs", "crash", "--previous"]);
    assert!(previous.ok().contains("crashing"), "{previous:?}");

    let probed = wait_for(&p, "probed", "a liveness restart", |pod| {
        container(pod, "live")["restartCount"].as_u64() >= Some(1)
    });
    assert_eq!(container(&probed, "unready")["ready"], false);
    assert!(!ready(&probed));
    let events = p.run(&["get", "events", "-o", "json"]);
    assert!(events.ok().contains("Unhealthy"), "no Unhealthy event");

    let uid = uid_of(&pod);
    let probed_uid = uid_of(&probed);
    delete_and_check_gone(&p, "crash", &uid);
    delete_and_check_gone(&p, "probed", &probed_uid);
}

const GRACEFUL: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: graceful
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: main
    image: busybox:test
    command: ["sh", "-c", "trap 'echo got-TERM; exit 0' TERM; echo waiting; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop-ran > /proc/1/fd/1"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: stubborn
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: busybox:test
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
"#;

#[test]
fn deletion_runs_pre_stop_then_sigterm_and_kills_at_the_deadline_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "graceful", GRACEFUL);
    let pod = wait_for(&p, "graceful", "Running", |pod| phase(pod) == "Running");
    let stubborn = wait_for(&p, "stubborn", "Running", |pod| phase(pod) == "Running");
    let uid = uid_of(&pod);
    let log = p
        .state()
        .join("logs")
        .join(format!("default_graceful_{uid}"))
        .join("main")
        .join("0.log");
    let mut watcher = p.spawn(&["get", "pod", "graceful", "-w", "--no-headers"]);
    let started = Instant::now();
    delete_and_check_gone(&p, "graceful", &uid);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the trap should end it early"
    );
    let _ = watcher.kill();
    let out = watcher.wait_with_output().unwrap();
    let rows = String::from_utf8_lossy(&out.stdout);
    assert!(rows.contains("Terminating"), "{rows}");
    // The log is gone with the pod; the shim wrote it before: read what the logs showed.
    assert!(!log.exists());

    let stubborn_uid = uid_of(&stubborn);
    let started = Instant::now();
    delete_and_check_gone(&p, "stubborn", &stubborn_uid);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "SIGKILL should come at the 2 s deadline, took {took:?}"
    );
}

#[test]
fn pre_stop_and_sigterm_reach_the_container_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "graceful", GRACEFUL);
    let pod = wait_for(&p, "graceful", "Running", |pod| phase(pod) == "Running");
    let uid = uid_of(&pod);
    // Follow the log while the pod is deleted: the preStop hook and the trap both write.
    let mut follow = p.spawn(&["logs", "graceful", "-f"]);
    std::thread::sleep(Duration::from_millis(300));
    p.run(&["delete", "pod", "graceful", "--wait=false"]).ok();
    let out = {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(_)) = follow.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                let _ = follow.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        follow.wait_with_output().unwrap()
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("prestop-ran"), "{text}");
    assert!(text.contains("got-TERM"), "{text}");
    let pre = text.find("prestop-ran").unwrap();
    let term = text.find("got-TERM").unwrap();
    assert!(pre < term, "preStop must run before SIGTERM: {text}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while pod_json(&p, "graceful").is_some() {
        assert!(Instant::now() < deadline, "pod not removed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !leftovers(&p, &uid).is_empty() {
        assert!(Instant::now() < deadline, "left: {:?}", leftovers(&p, &uid));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pods_survive_a_killed_peapod_and_are_re_adopted_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let server = p.serve();
    let mut yaml = String::new();
    for i in 0..20 {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  labels: {{app: many}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: c\n    image: busybox:test\n    command: [\"sleep\", \"3600\"]\n"
        ));
    }
    apply(&p, "many", &yaml);
    let mut before = Vec::new();
    for i in 0..20 {
        let pod = wait_for(&p, &format!("p{i}"), "Running", |pod| {
            phase(pod) == "Running"
        });
        before.push(pod);
    }
    // kill -9 the serving peapod: the pods' shims keep running.
    server.kill();
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    for (i, old) in before.iter().enumerate() {
        let name = format!("p{i}");
        let pod = wait_for(&p, &name, "re-adopted", |pod| {
            phase(pod) == "Running" && ready(pod)
        });
        let c = container(&pod, "c");
        assert_eq!(c["restartCount"], 0, "{name} restarted: {c}");
        assert_eq!(
            c["state"]["running"]["startedAt"],
            container(old, "c")["state"]["running"]["startedAt"],
            "{name} was started again"
        );
    }
    let uids: Vec<String> = before.iter().map(uid_of).collect();
    p.run(&["delete", "pods", "-l", "app=many", "--timeout=60s"])
        .ok();
    let deadline = Instant::now() + Duration::from_secs(15);
    for uid in &uids {
        while !leftovers(&p, uid).is_empty() {
            assert!(Instant::now() < deadline, "left: {:?}", leftovers(&p, uid));
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const CONFIGURED: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello, mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: czNjcjN0}
---
apiVersion: v1
kind: Pod
metadata:
  name: configured
  labels: {app: configured}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: cfg
    configMap: {name: settings}
  containers:
  - name: main
    image: busybox:test
    command: ["sh", "-c", "echo greeting=$GREETING password=$PASSWORD pod=$POD_NAME ns=$POD_NS mode=$mode; exec sleep 3600"]
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: settings, key: greeting}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    envFrom:
    - configMapRef: {name: settings}
      prefix: X_
    - configMapRef: {name: settings}
    volumeMounts:
    - {name: cfg, mountPath: /etc/settings}
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  terminationGracePeriodSeconds: 1
  hostNetwork: true
  containers:
  - name: main
    image: busybox:test
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: nopull}
spec:
  containers:
  - name: main
    image: 127.0.0.1:9/nothing/here:1
"#;

#[test]
fn env_config_volumes_host_network_and_pull_failures_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(&p, "configured", CONFIGURED);
    let pod = wait_for(&p, "configured", "Running", |pod| phase(pod) == "Running");
    wait_until("no output", 10, || {
        p.run(&["logs", "configured"]).stdout.contains("greeting=")
    });
    assert_eq!(
        p.run(&["logs", "configured"]).ok().trim(),
        "greeting=hello password=s3cr3t pod=configured ns=default mode=fast"
    );
    let env = p.run(&["exec", "configured", "--", "env"]);
    assert!(env.ok().contains("X_greeting=hello"), "{env:?}");
    let cat = p.run(&["exec", "configured", "--", "cat", "/etc/settings/mode"]);
    assert_eq!(cat.ok(), "fast");
    // An edit of the ConfigMap reaches the mounted file while the pod runs.
    apply(
        &p,
        "settings",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {greeting: hello, mode: slow}\n",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let cat = p.run(&["exec", "configured", "--", "cat", "/etc/settings/mode"]);
        if cat.stdout == "slow" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the update never reached the volume: {cat:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // hostNetwork: the host's network namespace and hostname.
    wait_for(&p, "hostnet", "Running", |pod| phase(pod) == "Running");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        p.run(&["exec", "hostnet", "--", "hostname"]).ok().trim(),
        host.trim()
    );
    let host_links = std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .count();
    let pod_links = p.run(&["exec", "hostnet", "--", "cat", "/proc/net/dev"]);
    assert_eq!(pod_links.ok().lines().count(), host_links);

    // A pull that cannot work: ErrImagePull, then ImagePullBackOff, with the reason.
    let nopull = wait_for(&p, "nopull", "ImagePullBackOff", |pod| {
        container(pod, "main")["state"]["waiting"]["reason"] == "ImagePullBackOff"
    });
    let msg = container(&nopull, "main")["state"]["waiting"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(msg.contains("127.0.0.1:9"), "{msg}");
    let uid = uid_of(&pod);
    delete_and_check_gone(&p, "configured", &uid);
}

#[test]
fn a_pod_whose_shim_dies_fails_and_leaves_nothing_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    apply(
        &p,
        "victim",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: victim}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - {name: main, image: busybox:test, command: [sleep, '3600']}\n",
    );
    let pod = wait_for(&p, "victim", "Running", |pod| phase(pod) == "Running");
    let uid = uid_of(&pod);
    let shim_pid: i32 = std::fs::read_to_string(p.state().join("pods").join(&uid).join("shim.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The shim this test's peapod started, by its pid.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let failed = wait_for(&p, "victim", "Failed", |pod| phase(pod) == "Failed");
    assert_eq!(failed["status"]["reason"], "ShimDied");
    let c = container(&failed, "main");
    assert_eq!(c["state"]["terminated"]["reason"], "ContainerStatusUnknown");
    // Its container and sandbox are gone already, before the pod is deleted.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cg = Path::new("/sys/fs/cgroup/pids/peapod").join(format!("pod{uid}"));
        let v2 = Path::new("/sys/fs/cgroup/peapod").join(format!("pod{uid}"));
        if !cg.exists() && !v2.exists() {
            break;
        }
        assert!(Instant::now() < deadline, "the pod's cgroup is still there");
        std::thread::sleep(Duration::from_millis(100));
    }
    delete_and_check_gone(&p, "victim", &uid);
}
