//! Probe rules (pure) and root tests against a busybox container running `httpd` in its own
//! pod sandbox. Every root test kills and reaps what it started and destroys its sandbox.

use super::*;
use crate::runtime::container::{Child, ContainerSpec, Rootfs, Stdio, spawn};
use crate::runtime::sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

#[test]
fn timing_defaults_and_overrides() {
    let t = Timing::of(&json!({"exec": {"command": ["true"]}}));
    assert_eq!(
        t,
        Timing {
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        }
    );
    let t = Timing::of(&json!({
        "initialDelaySeconds": 5, "periodSeconds": 2, "timeoutSeconds": 3,
        "successThreshold": 2, "failureThreshold": 1
    }));
    assert_eq!(
        (
            t.initial_delay.as_secs(),
            t.period.as_secs(),
            t.timeout.as_secs()
        ),
        (5, 2, 3)
    );
    assert_eq!((t.success_threshold, t.failure_threshold), (2, 1));
    // Out-of-range values (which validation rejects) fall back to the defaults.
    let t = Timing::of(&json!({"periodSeconds": 0, "timeoutSeconds": -1, "failureThreshold": 0}));
    assert_eq!(
        (t.period.as_secs(), t.timeout.as_secs(), t.failure_threshold),
        (10, 1, 3)
    );
}

#[test]
fn tracker_needs_consecutive_results() {
    let timing = Timing::of(&json!({"successThreshold": 2, "failureThreshold": 3}));
    // Readiness starts as failure.
    let mut t = Tracker::new(timing, Some(false));
    assert_eq!(t.observe(true), None, "one success is below the threshold");
    assert_eq!(t.observe(false), None, "already failing");
    assert_eq!(t.observe(true), None, "the failure reset the run");
    assert_eq!(t.observe(true), Some(true));
    assert_eq!(t.observe(true), None, "no change, no report");
    assert_eq!(t.observe(false), None);
    assert_eq!(t.observe(false), None);
    assert_eq!(t.observe(true), None, "a success resets the failure run");
    assert_eq!(t.observe(false), None);
    assert_eq!(t.observe(false), None);
    assert_eq!(t.observe(false), Some(false));
    assert_eq!(t.result, Some(false));
    assert_eq!(t.observe(false), None);

    // Liveness starts unknown: the first success is a change.
    let mut t = Tracker::new(Timing::of(&json!({})), None);
    assert_eq!(t.observe(true), Some(true));
    assert_eq!(t.observe(false), None);
    assert_eq!(t.observe(false), None);
    assert_eq!(t.observe(false), Some(false));
}

#[test]
fn ports_by_number_and_name() {
    let target = Target {
        ports: vec![("http".into(), 8080)],
        container: "web".into(),
        ..Target::default()
    };
    assert_eq!(resolve_port(Some(&json!(80)), &target), Ok(80));
    assert_eq!(resolve_port(Some(&json!("http")), &target), Ok(8080));
    assert_eq!(
        resolve_port(Some(&json!("metrics")), &target),
        Err("couldn't find port: metrics in container \"web\"".to_string())
    );
    assert_eq!(
        resolve_port(Some(&json!(70000)), &target),
        Err("invalid port number: 70000".to_string())
    );
    assert!(resolve_port(None, &target).is_err());
}

#[test]
fn http_requests_from_actions() {
    let target = Target {
        pod_ip: "10.1.0.5".into(),
        ..Target::default()
    };
    let req = http_request(
        &json!({"path": "/healthz", "port": 80, "httpHeaders": [{"name": "X-A", "value": "1"}]}),
        &target,
        "probe",
    )
    .unwrap();
    assert_eq!(req.url(), "http://10.1.0.5:80/healthz");
    assert_eq!(req.headers, vec![("X-A".to_string(), "1".to_string())]);
    assert_eq!(req.user_agent, "kube-probe/1.33");
    let req = http_request(&json!({"port": 80, "host": "a.b"}), &Target::default(), "x").unwrap();
    assert_eq!(req.url(), "http://a.b:80/");
    let req = http_request(&json!({"port": 80}), &Target::default(), "x").unwrap();
    assert_eq!(req.host, "127.0.0.1", "no pod IP: loopback in the pod");
    assert_eq!(
        http_request(&json!({"port": 80, "scheme": "HTTPS"}), &target, "probe").unwrap_err(),
        "HTTPS probes are not supported"
    );
}

#[tokio::test]
async fn probes_without_handler_or_with_grpc_fail() {
    let t = Target::default();
    assert_eq!(
        probe_once("Liveness", &json!({"grpc": {"port": 1}}), &t).await,
        Outcome::Failure("Liveness probe failed: gRPC probes are not supported yet".into())
    );
    let Outcome::Failure(m) = probe_once("Readiness", &json!({}), &t).await else {
        panic!("no handler must fail")
    };
    assert!(m.starts_with("Readiness probe errored"), "{m}");
}

// ---- root tests -----------------------------------------------------------------------

/// A pod sandbox with one busybox container serving /www with httpd on port 8080.
struct Pod {
    tmp: tempfile::TempDir,
    sandbox: Option<Sandbox>,
    child: Option<Child>,
}

impl Pod {
    fn start() -> Pod {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("rootfs");
        busybox_rootfs(&root);
        std::fs::create_dir_all(root.join("www")).unwrap();
        std::fs::write(root.join("www/index.html"), "hello\n").unwrap();
        let sandbox = Sandbox::create(SandboxOptions {
            hostname: "probe".into(),
            share_pid: false,
            host_network: false,
        })
        .unwrap();
        let mut pod = Pod {
            tmp,
            sandbox: Some(sandbox),
            child: None,
        };
        let mut spec = ContainerSpec::new(
            Rootfs::Dir(root),
            ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
                .map(String::from)
                .to_vec(),
        );
        spec.env = vec!["PATH=/bin".into()];
        let child = spawn(&spec, pod.sandbox.as_ref().unwrap(), Stdio::default()).unwrap();
        pod.child = Some(child);
        pod.wait_listening();
        pod
    }

    fn target(&self) -> Target {
        Target {
            container_pid: self.child.as_ref().unwrap().pid,
            sandbox_pid: self.sandbox.as_ref().unwrap().pid(),
            env: vec!["PATH=/bin".into()],
            pod_ip: String::new(),
            ports: vec![("http".into(), 8080)],
            container: "web".into(),
            pod: "probe_default(uid-1)".into(),
        }
    }

    fn wait_listening(&self) {
        let target = self.target();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = json!({"tcpSocket": {"port": 8080}});
            if rt.block_on(probe_once("Startup", &probe, &target)) == Outcome::Success {
                return;
            }
            assert!(Instant::now() < deadline, "httpd did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            let pid = c.pid;
            let _ = c.signal(libc::SIGKILL);
            let _ = c.wait();
            assert_gone(pid);
        }
        if let Some(sb) = self.sandbox.take() {
            let pid = sb.pid();
            sb.destroy().unwrap();
            assert_gone(pid);
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = self.tmp.path().to_str().unwrap().to_string();
        if !std::thread::panicking() {
            assert!(!mountinfo.contains(&dir), "mount left under {dir}");
        }
    }
}

fn assert_gone(pid: i32) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} is still there"
    );
}

/// A busybox rootfs: bin/busybox plus a relative symlink per applet (as the runtime tests).
pub(crate) fn busybox_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox"))
        .expect("the probe tests need /bin/busybox (busybox-static)");
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .filter(|a| *a != "busybox")
    {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
}

/// Pids of processes named `comm` in the pid namespace of `pid`.
fn in_pid_ns(pid: i32, comm: &str) -> Vec<i32> {
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/ns/pid")).is_ok_and(|n| n == ns)
                && std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == comm)
        })
        .collect()
}

fn fails(o: Outcome) -> String {
    match o {
        Outcome::Failure(m) => m,
        Outcome::Success => panic!("expected a failure"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_and_tcp_probes_in_the_pod_network_as_root() {
    let pod = tokio::task::spawn_blocking(Pod::start).await.unwrap();
    let t = pod.target();
    let ok = json!({"httpGet": {"path": "/index.html", "port": 8080}});
    assert_eq!(probe_once("Readiness", &ok, &t).await, Outcome::Success);
    let named = json!({"httpGet": {"path": "/", "port": "http",
        "httpHeaders": [{"name": "X-Probe", "value": "1"}]}});
    assert_eq!(probe_once("Readiness", &named, &t).await, Outcome::Success);
    let missing = json!({"httpGet": {"path": "/nope", "port": 8080}});
    assert_eq!(
        fails(probe_once("Liveness", &missing, &t).await),
        "Liveness probe failed: HTTP probe failed with statuscode: 404"
    );
    let closed = json!({"httpGet": {"path": "/", "port": 8081}});
    assert_eq!(
        fails(probe_once("Liveness", &closed, &t).await),
        "Liveness probe failed: Get \"http://127.0.0.1:8081/\": dial tcp 127.0.0.1:8081: \
         connect: connection refused"
    );

    assert_eq!(
        probe_once("Liveness", &json!({"tcpSocket": {"port": 8080}}), &t).await,
        Outcome::Success
    );
    assert_eq!(
        fails(probe_once("Liveness", &json!({"tcpSocket": {"port": 8081}}), &t).await),
        "Liveness probe failed: dial tcp 127.0.0.1:8081: connect: connection refused"
    );

    // Hooks: any response is enough (the kubelet ignores the status); no answer fails.
    let hook = json!({"httpGet": {"path": "/nope", "port": 8080}});
    assert_eq!(run_hook(&hook, &t, Duration::from_secs(5)).await, Ok(()));
    let hook = json!({"httpGet": {"path": "/stop", "port": 8081}});
    let err = run_hook(&hook, &t, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        err.starts_with(
            "HTTP lifecycle hook (/stop) for Container \"web\" in Pod \"probe_default(uid-1)\" \
             failed - error: Get \"http://127.0.0.1:8081/stop\": dial tcp"
        ),
        "{err}"
    );

    // A gone sandbox is a clear failure, not a probe from the host's namespace.
    let gone = Target {
        sandbox_pid: i32::MAX,
        ..t.clone()
    };
    let m = fails(probe_once("Liveness", &json!({"tcpSocket": {"port": 8080}}), &gone).await);
    assert!(m.contains("is not running"), "{m}");
    drop(pod);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_probes_and_hooks_as_root() {
    let pod = tokio::task::spawn_blocking(Pod::start).await.unwrap();
    let t = pod.target();
    // Generous timeouts except where the timeout itself is tested: on a loaded 2-core
    // machine starting a command in the container can take most of a second.
    let exec = |argv: &[&str]| json!({"exec": {"command": argv}, "timeoutSeconds": 10});
    assert_eq!(
        probe_once("Liveness", &exec(&["true"]), &t).await,
        Outcome::Success
    );
    assert_eq!(
        fails(probe_once("Liveness", &exec(&["false"]), &t).await),
        "Liveness probe failed: "
    );
    assert_eq!(
        fails(
            probe_once(
                "Liveness",
                &exec(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
                &t
            )
            .await
        ),
        "Liveness probe failed: out\nerr\n"
    );
    // The command runs in the container: its hostname is the pod's, its files the image's.
    assert_eq!(
        probe_once(
            "Liveness",
            &exec(&[
                "sh",
                "-c",
                "test $(hostname) = probe && test -f /www/index.html"
            ]),
            &t
        )
        .await,
        Outcome::Success
    );
    // Output is cut at 10 KiB.
    let m = fails(
        probe_once(
            "Liveness",
            &exec(&["sh", "-c", "yes | head -c 100000; exit 1"]),
            &t,
        )
        .await,
    );
    assert_eq!(m.len(), "Liveness probe failed: ".len() + 10 * 1024);
    // A background child holding the pipe does not hold the probe.
    let started = Instant::now();
    assert_eq!(
        probe_once(
            "Liveness",
            &exec(&["sh", "-c", "sleep 7 >/dev/stdout & exit 0"]),
            &t
        )
        .await,
        Outcome::Success
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let m = fails(probe_once("Liveness", &exec(&["nosuch"]), &t).await);
    assert!(
        m.starts_with("Liveness probe errored and resulted in unknown state: "),
        "{m}"
    );

    // Timeout: the command is killed and reaped.
    let container_pid = t.container_pid;
    let before = in_pid_ns(container_pid, "sleep");
    let started = Instant::now();
    assert_eq!(
        fails(
            probe_once(
                "Liveness",
                &json!({"exec": {"command": ["sleep", "30"]}, "timeoutSeconds": 1}),
                &t
            )
            .await
        ),
        "Liveness probe failed: command \"sleep 30\" timed out"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let after = in_pid_ns(container_pid, "sleep");
    assert!(
        after.iter().all(|p| before.contains(p)),
        "the timed-out sleep is still there: {after:?}"
    );

    // Hooks.
    let hook = json!({"exec": {"command": ["true"]}});
    assert_eq!(run_hook(&hook, &t, Duration::from_secs(5)).await, Ok(()));
    let hook = json!({"exec": {"command": ["sh", "-c", "echo no; exit 2"]}});
    assert_eq!(
        run_hook(&hook, &t, Duration::from_secs(5)).await,
        Err(
            "Exec lifecycle hook ([sh -c echo no; exit 2]) for Container \"web\" in Pod \
             \"probe_default(uid-1)\" failed - error: command 'sh -c echo no; exit 2' exited \
             with 2, message: \"no\\n\""
                .to_string()
        )
    );
    let hook = json!({"exec": {"command": ["sleep", "30"]}});
    let started = Instant::now();
    let err = run_hook(&hook, &t, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(pod);
}

#[tokio::test]
async fn sleep_hooks() {
    let t = Target::default();
    let started = Instant::now();
    assert_eq!(
        run_hook(
            &json!({"sleep": {"seconds": 0}}),
            &t,
            Duration::from_secs(1)
        )
        .await,
        Ok(())
    );
    let err = run_hook(
        &json!({"sleep": {"seconds": 30}}),
        &t,
        Duration::from_millis(50),
    )
    .await
    .unwrap_err();
    assert!(
        err.ends_with("container terminated before sleep hook finished"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}
