//! The per-pod shim, end to end: `peapod shim` launched from a tokio process, containers from
//! a busybox rootfs built at test time. Needs root (namespaces, mounts).
//!
//! The test process makes itself a child subreaper, so every shim (and, when a shim is
//! killed, its orphans) is re-parented to it; each test reaps exactly the pids it caused.

use peapod::runtime::container::{ContainerSpec, Rootfs};
use peapod::runtime::shim::{
    self, ContainerRecord, ShimClient, ShimConfig, ShimError, StartErrorKind, StartRequest,
};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_peapod");

fn subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl with valid arguments.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(r, 0, "prctl(PR_SET_CHILD_SUBREAPER)");
    });
}

/// A busybox rootfs: bin/busybox plus a relative symlink per applet, and a world-writable /tmp.
fn busybox_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox"))
        .expect("the shim tests need /bin/busybox (busybox-static)");
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
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
}

fn alive(pid: i32) -> bool {
    // A zombie has exited: only "running or sleeping" counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().chars().next())
        })
        .flatten()
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// Reaps `pid` if it is (or becomes) our child; waits up to 10 s for it to exit.
fn reap(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on one pid.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid || (r == -1 && !alive(pid)) || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(pid: i32) {
    if pid > 0 && alive(pid) {
        // SAFETY: a pid this test caused to exist (checked alive just before).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// One pod directory with its shim; shut down (or killed and reaped) when dropped.
struct Pod {
    tmp: tempfile::TempDir,
    name: String,
    client: Option<ShimClient>,
    /// Container pids seen, killed on drop if anything is left.
    pids: Vec<i32>,
}

impl Pod {
    fn new(name: &str) -> Pod {
        subreaper();
        let tmp = tempfile::Builder::new()
            .prefix("peapod-shim-")
            .tempdir_in("/tmp")
            .unwrap();
        busybox_rootfs(&tmp.path().join("rootfs"));
        Pod {
            tmp,
            name: name.to_string(),
            client: None,
            pids: Vec::new(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("pod")
    }

    fn config(&self) -> ShimConfig {
        ShimConfig {
            pod_uid: "uid-1".into(),
            pod: format!("default/{}", self.name),
            hostname: self.name.clone(),
            share_pid: false,
            host_network: false,
            log_max_size: 1 << 40,
            log_max_files: 5,
            cgroup_procs: Vec::new(),
        }
    }

    async fn launch(&mut self) -> ShimClient {
        let client = shim::launch(Path::new(EXE), &self.dir(), &self.config())
            .await
            .unwrap();
        self.client = Some(client.clone());
        client
    }

    fn client(&self) -> &ShimClient {
        self.client.as_ref().unwrap()
    }

    fn sh(&self, script: &str) -> ContainerSpec {
        let mut spec = ContainerSpec::new(
            Rootfs::Dir(self.tmp.path().join("rootfs")),
            vec!["/bin/sh".into(), "-c".into(), script.into()],
        );
        spec.env = vec!["PATH=/bin".into()];
        spec
    }

    fn log_dir(&self, container: &str) -> PathBuf {
        self.tmp.path().join("logs").join(container)
    }

    async fn start(&mut self, container: &str, spec: ContainerSpec) -> ContainerRecord {
        let req = StartRequest {
            container: container.into(),
            attempt: 0,
            spec,
            log_dir: self.log_dir(container),
        };
        let record = self.client().start(req).await.unwrap().unwrap();
        self.pids.push(record.pid);
        record
    }

    /// The messages of a container's CRI log, in order.
    fn log(&self, container: &str, stream: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.log_dir(container).join("0.log")).unwrap();
        text.lines()
            .filter_map(|l| {
                let mut p = l.splitn(4, ' ');
                let ts = p.next()?;
                assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{l}");
                let s = p.next()?;
                assert_eq!(p.next(), Some("F"), "{l}");
                (s == stream).then(|| p.next().unwrap_or("").to_string())
            })
            .collect()
    }

    fn record_file(&self, container: &str) -> ContainerRecord {
        let path = self.dir().join("containers").join(container).join("0.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Synchronous Shutdown (no runtime in Drop): one JSON line, one answer.
        let sock = self.dir().join(shim::SOCKET);
        if let Ok(mut s) = std::os::unix::net::UnixStream::connect(&sock) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = s.write_all(b"\"Shutdown\"\n");
            let _ = BufReader::new(s).read_line(&mut String::new());
        }
        // Whatever a failed test or a killed shim left behind.
        for pid in self
            .pids
            .iter()
            .copied()
            .chain([client.sandbox_pid, client.shim_pid])
        {
            kill(pid);
            reap(pid);
        }
    }
}

async fn next_exit(rx: &mut tokio::sync::mpsc::Receiver<ContainerRecord>) -> ContainerRecord {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("no exit record within 60s")
        .expect("the watch closed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_start_log_and_exit_record_as_root() {
    let mut pod = Pod::new("web-1");
    let client = pod.launch().await;
    let dir = pod.dir();
    // The shim is detached: its own session, not our launched child, a named process.
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", client.shim_pid)).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // SAFETY: getsid(0) is always valid.
    let our_session = unsafe { libc::getsid(0) };
    // A session of its own (the intermediate's, which exited), whose leader it is not.
    assert_ne!(fields[3], our_session.to_string(), "session id: {stat}");
    assert_ne!(
        fields[3],
        client.shim_pid.to_string(),
        "session leader: {stat}"
    );
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", client.shim_pid)).unwrap();
    assert_eq!(comm.trim(), "peapod-shim def", "the kernel keeps 15 bytes");
    // Its stdio is /dev/null; the socket is private.
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{}/fd/{fd}", client.shim_pid)).unwrap();
        assert_eq!(target, Path::new("/dev/null"));
    }
    let mode = std::fs::metadata(dir.join(shim::SOCKET))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pid_file = std::fs::read_to_string(dir.join(shim::PID_FILE)).unwrap();
    assert_eq!(pid_file.trim(), client.shim_pid.to_string());
    // The sandbox holder is the shim's child.
    let holder = std::fs::read_to_string(format!("/proc/{}/stat", client.sandbox_pid)).unwrap();
    let ppid = holder
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap();
    assert_eq!(ppid, client.shim_pid.to_string());

    let mut exits = client.watch().await.unwrap();
    let started = pod
        .start(
            "app",
            pod.sh("echo hello; echo oops >&2; printf 'no newline'; exit 3"),
        )
        .await;
    assert!(started.finished_at.is_none() && started.pid > 0);
    assert!(started.started_at.parse::<jiff::Timestamp>().is_ok());
    let done = next_exit(&mut exits).await;
    assert_eq!((done.container.as_str(), done.attempt), ("app", 0));
    assert_eq!((done.exit_code, done.signal), (Some(3), None));
    let finished: jiff::Timestamp = done.finished_at.as_deref().unwrap().parse().unwrap();
    assert!(finished >= started.started_at.parse().unwrap());
    assert_eq!(pod.log("app", "stdout"), vec!["hello", "no newline"]);
    assert_eq!(pod.log("app", "stderr"), vec!["oops"]);
    // The record on disk and the shim's state agree with the watch.
    assert_eq!(pod.record_file("app"), done);
    let state = client.state().await.unwrap();
    assert_eq!(state.containers, vec![done.clone()]);
    assert_eq!(
        (state.shim_pid, state.sandbox_pid),
        (client.shim_pid, client.sandbox_pid)
    );
    // A second run of the same container is a new attempt with its own log.
    let mut req = StartRequest {
        container: "app".into(),
        attempt: 1,
        spec: pod.sh("echo again"),
        log_dir: pod.log_dir("app"),
    };
    let again = client.start(req.clone()).await.unwrap().unwrap();
    pod.pids.push(again.pid);
    assert_eq!(next_exit(&mut exits).await.exit_code, Some(0));
    let text = std::fs::read_to_string(pod.log_dir("app").join("1.log")).unwrap();
    assert!(text.ends_with(" stdout F again\n"), "{text}");
    // While a run is going, another start of that container is refused.
    req.attempt = 2;
    req.spec = pod.sh("sleep 1000");
    let long = client.start(req.clone()).await.unwrap().unwrap();
    pod.pids.push(long.pid);
    let refused = client.start(req).await.unwrap().unwrap_err();
    assert_eq!(refused.kind, StartErrorKind::Invalid);
    assert!(refused.message.contains("already running"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_share_hostname_and_localhost_and_take_signals_as_root() {
    let mut pod = Pod::new("sidecar-pod");
    let client = pod.launch().await;
    let mut exits = client.watch().await.unwrap();
    // httpd daemonizes; the shell (pid 1 of the container) traps SIGTERM: pid 1 of a pid
    // namespace gets no signal it has no handler for, as with any container runtime.
    let server = pod
        .start(
            "server",
            pod.sh(
                "hostname; mkdir -p /tmp/www; echo pod-page > /tmp/www/index.html; \
                    httpd -p 127.0.0.1:8080 -h /tmp/www; \
                    trap 'echo got TERM; exit 7' TERM; while :; do sleep 0.05; done",
            ),
        )
        .await;
    pod.start(
        "fetcher",
        pod.sh("hostname; for i in $(seq 100); do \
                  wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1"),
    )
    .await;
    let fetched = next_exit(&mut exits).await;
    assert_eq!(
        (fetched.container.as_str(), fetched.exit_code),
        ("fetcher", Some(0))
    );
    assert_eq!(
        pod.log("fetcher", "stdout"),
        vec!["sidecar-pod", "pod-page"]
    );
    // The host cannot reach the pod's loopback: the pod has its own network namespace.
    assert!(std::net::TcpStream::connect("127.0.0.1:8080").is_err());
    // Signal reaches exactly the running process; a stopped container is a no-op.
    client.signal("server", libc::SIGTERM).await.unwrap();
    let stopped = next_exit(&mut exits).await;
    assert_eq!(stopped.container, "server");
    assert_eq!(stopped.pid, server.pid);
    assert_eq!((stopped.exit_code, stopped.signal), (Some(7), None));
    client.signal("server", libc::SIGTERM).await.unwrap();
    client.signal("nosuch", libc::SIGTERM).await.unwrap();
    assert_eq!(pod.log("server", "stdout"), vec!["sidecar-pod", "got TERM"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_client_readopts_the_shim_as_root() {
    let mut pod = Pod::new("readopt");
    let dir = pod.dir();
    // The launching "agent" runs on its own runtime, which is then gone entirely.
    let launched = {
        let dir2 = dir.clone();
        let config = pod.config();
        let spec = pod.sh("echo up; exec sleep 1000");
        let log_dir = pod.log_dir("app");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let c = shim::launch(Path::new(EXE), &dir2, &config).await.unwrap();
                let r = c
                    .start(StartRequest {
                        container: "app".into(),
                        attempt: 0,
                        spec,
                        log_dir,
                    })
                    .await
                    .unwrap()
                    .unwrap();
                (c, r)
            })
        })
        .join()
        .unwrap()
    };
    let (old, record) = launched;
    pod.client = Some(old.clone());
    pod.pids.push(record.pid);
    let client = shim::connect(&dir).await.unwrap();
    assert_eq!(
        (client.shim_pid, client.sandbox_pid),
        (old.shim_pid, old.sandbox_pid)
    );
    let state = client.state().await.unwrap();
    assert_eq!(state.containers, vec![record.clone()]);
    assert!(alive(record.pid));
    let mut exits = client.watch().await.unwrap();
    client.signal("app", libc::SIGKILL).await.unwrap();
    let done = next_exit(&mut exits).await;
    assert_eq!(
        (done.exit_code, done.signal),
        (Some(137), Some(libc::SIGKILL))
    );
    assert_eq!(pod.log("app", "stdout"), vec!["up"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_nothing_behind_as_root() {
    let mut pod = Pod::new("gone");
    let client = pod.launch().await;
    let a = pod.start("a", pod.sh("exec sleep 1000")).await;
    let b = pod.start("b", pod.sh("sleep 1000 & sleep 1000")).await;
    let mut exits = client.watch().await.unwrap();
    client.shutdown().await.unwrap();
    // Shutdown returns once the shim has exited; it is our child (we are its subreaper).
    reap(client.shim_pid);
    for pid in [client.shim_pid, client.sandbox_pid, a.pid, b.pid] {
        assert!(!alive(pid), "process {pid} survived Shutdown");
    }
    assert!(!std::path::Path::new(&format!("/proc/{}", client.shim_pid)).exists());
    let dir = pod.dir();
    assert!(!dir.join(shim::SOCKET).exists());
    assert!(!dir.join(shim::PID_FILE).exists());
    // Both runs ended by SIGKILL, recorded on disk and sent to the watcher; then it closed.
    let mut seen = [next_exit(&mut exits).await, next_exit(&mut exits).await];
    seen.sort_by(|x, y| x.container.cmp(&y.container));
    for (rec, name) in seen.iter().zip(["a", "b"]) {
        assert_eq!(rec.container, name);
        assert_eq!(rec.exit_code, Some(137));
        assert_eq!(&pod.record_file(name), rec);
    }
    assert!(exits.recv().await.is_none());
    // No mount of the containers shows up here, and nothing answers any more.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains(pod.tmp.path().to_str().unwrap()));
    assert!(matches!(shim::connect(&dir).await, Err(ShimError::Gone(_))));
    pod.client = None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_shim_is_gone_and_its_pod_can_be_cleaned_up_as_root() {
    let mut pod = Pod::new("killed");
    let client = pod.launch().await;
    let c = pod.start("app", pod.sh("exec sleep 1000")).await;
    // SAFETY: the shim this test launched.
    unsafe { libc::kill(client.shim_pid, libc::SIGKILL) };
    reap(client.shim_pid);
    // The socket file stays but nothing answers: the agent marks the pod Failed.
    let dir = pod.dir();
    assert!(dir.join(shim::SOCKET).exists());
    match shim::connect(&dir).await {
        Err(ShimError::Gone(msg)) => assert!(msg.contains("shim.sock"), "{msg}"),
        other => panic!("expected Gone, got {other:?}"),
    }
    assert!(matches!(client.state().await, Err(ShimError::Gone(_))));
    // SIGKILL cannot be caught: the kernel kills the sandbox holder with its shim (parent
    // death signal), so the pod's namespaces are not held forever. The container outlives
    // it until the agent kills what is left in the pod's cgroup; the start record on disk
    // still names the container's pid.
    reap(client.sandbox_pid);
    assert!(
        !alive(client.sandbox_pid),
        "the sandbox holder outlived its shim"
    );
    assert!(alive(c.pid));
    assert_eq!(pod.record_file("app").pid, c.pid);
    kill(c.pid);
    reap(c.pid);
    // A new shim can take over the directory (the stale socket is replaced).
    let again = pod.launch().await;
    assert_ne!(again.shim_pid, client.shim_pid);
    again.shutdown().await.unwrap();
    reap(again.shim_pid);
    pod.client = None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_failures_are_readable_as_root() {
    let mut pod = Pod::new("fails");
    let client = pod.launch().await;
    let mut spec = pod.sh("");
    spec.argv = vec!["/bin/nosuch".into()];
    let req = StartRequest {
        container: "app".into(),
        attempt: 0,
        spec,
        log_dir: pod.log_dir("app"),
    };
    let err = client.start(req.clone()).await.unwrap().unwrap_err();
    assert_eq!(err.kind, StartErrorKind::Exec, "{err}");
    assert!(err.message.contains("/bin/nosuch"), "{err}");
    assert!(err.message.contains("No such file or directory"), "{err}");
    // A container name that is no file name.
    let bad = StartRequest {
        container: "../x".into(),
        ..req
    };
    let err = client.start(bad).await.unwrap().unwrap_err();
    assert_eq!(err.kind, StartErrorKind::Invalid, "{err}");
    // Nothing was recorded as started.
    assert!(client.state().await.unwrap().containers.is_empty());
    // A sandbox that cannot be created: launch fails with the reason and leaves nothing.
    let other = tempfile::tempdir_in("/tmp").unwrap();
    let mut config = pod.config();
    config.hostname = "x".repeat(65);
    let err = shim::launch(Path::new(EXE), other.path(), &config)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("hostname"), "{err}");
    assert!(!other.path().join(shim::SOCKET).exists());
    assert!(!other.path().join(shim::PID_FILE).exists());
    // And a second launch onto a served directory is refused.
    let err = shim::launch(Path::new(EXE), &pod.dir(), &pod.config())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already runs"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_lines_are_all_logged_as_root() {
    let mut pod = Pod::new("chatty");
    let client = pod.launch().await;
    let mut exits = client.watch().await.unwrap();
    pod.start("app", pod.sh("seq 1 1000000; seq 1 1000 >&2"))
        .await;
    let done = next_exit(&mut exits).await;
    assert_eq!(done.exit_code, Some(0));
    // The exit record is only published once the pipes reached EOF: all output is there.
    let out = pod.log("app", "stdout");
    assert_eq!(out.len(), 1_000_000);
    for (i, line) in out.iter().enumerate() {
        assert_eq!(line, &(i + 1).to_string());
    }
    assert_eq!(pod.log("app", "stderr").len(), 1000);
}

fn smaps_kib(pid: i32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    text.lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap()
}

/// Anonymous memory in mappings that are no file (heap, stacks): what the shim's own code
/// allocates, unlike the binary's relocated data, which depends on how it is linked.
fn heap_kib(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let mut total = 0;
    let mut file_backed = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // "start-end perms offset dev inode [path]": a path not in brackets is a file.
            file_backed = words.nth(4).is_some_and(|p| p.starts_with('/'));
        } else if first == "Anonymous:" && !file_backed {
            total += words
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// Prints the shim's memory (run with --nocapture to see it) and checks what the shim's own
/// code controls: its heap and stack. Rss and Pss also count the binary's pages, which a
/// debug build has many more of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shim_memory_is_small_as_root() {
    let mut pod = Pod::new("small");
    let client = pod.launch().await;
    let pid = client.shim_pid;
    let measure = |pid: i32| {
        [
            smaps_kib(pid, "Rss"),
            smaps_kib(pid, "Pss"),
            smaps_kib(pid, "Anonymous"),
            heap_kib(pid),
        ]
    };
    let idle = measure(pid);
    let mut exits = client.watch().await.unwrap();
    pod.start("app", pod.sh("echo hi; exec sleep 1000")).await;
    pod.start("once", pod.sh("seq 1 20000")).await;
    next_exit(&mut exits).await;
    let running = measure(pid);
    let holder = measure(client.sandbox_pid);
    eprintln!(
        "shim memory (KiB: Rss, Pss, Anonymous, heap+stack): idle {idle:?}; with one running \
         container {running:?}; sandbox holder {holder:?}"
    );
    assert!(running[3] <= 512, "shim heap and stack {} KiB", running[3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holders_death_ends_the_pod_as_root() {
    let mut pod = Pod::new("orphaned");
    let client = pod.launch().await;
    let c = pod.start("app", pod.sh("exec sleep 1000")).await;
    let mut exits = client.watch().await.unwrap();
    // SAFETY: the sandbox holder of the shim this test launched.
    unsafe { libc::kill(client.sandbox_pid, libc::SIGKILL) };
    // With nothing holding the pod's namespaces the shim kills its containers, records them
    // and exits.
    let done = next_exit(&mut exits).await;
    assert_eq!(
        (done.container.as_str(), done.exit_code),
        ("app", Some(137))
    );
    assert!(exits.recv().await.is_none());
    reap(client.shim_pid);
    for pid in [client.shim_pid, client.sandbox_pid, c.pid] {
        assert!(!alive(pid), "process {pid} survived");
    }
    assert!(!pod.dir().join(shim::SOCKET).exists());
    assert!(matches!(
        shim::connect(&pod.dir()).await,
        Err(ShimError::Gone(_))
    ));
    pod.client = None;
}
