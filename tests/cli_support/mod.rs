//! Running the built `peapod` binary against a fresh state directory, for the CLI tests.
#![allow(dead_code)]

pub mod tmux;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What one command printed and returned.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Assert success and return stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
    /// Assert exit code 1 and return stderr.
    #[track_caller]
    pub fn failed(&self) -> &str {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stderr
    }
}

/// A fresh peapod state directory, with a pod network of its own (bridge and CIDR) so that
/// tests running at once never share a bridge or an address, nor touch a real `peapod0`.
pub struct Peapod {
    pub dir: tempfile::TempDir,
    /// The test's bridge (`PEAPOD_BRIDGE`), removed when the Peapod is dropped.
    pub bridge: String,
    /// The test's pod network (`PEAPOD_POD_CIDR`).
    pub pod_cidr: String,
    /// The test's service proxy table (`PEAPOD_SERVICE_PROXY_TABLE`), never the real one.
    pub proxy_table: String,
}

static NETWORKS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Peapod {
    pub fn new() -> Peapod {
        let n = NETWORKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        Peapod {
            dir: tempfile::tempdir().expect("tempdir"),
            bridge: format!("ppt{}x{}", pid % 100_000, n % 1000),
            pod_cidr: format!("10.{}.{}.0/24", 64 + pid % 128, n % 256),
            proxy_table: format!("ppsvc{}x{}", pid % 100_000, n % 1000),
        }
    }

    pub fn state(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        // PEAPOD_TEST_BIN overrides the binary cargo built (useful when several checkouts
        // share one target directory and may replace each other's binary mid-run).
        let bin = std::env::var_os("PEAPOD_TEST_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_peapod")));
        let mut c = Command::new(bin);
        c.arg("--state-dir").arg(self.state()).args(args);
        // Keep the user's settings out of the test.
        c.env_remove("PEAPOD_HOME")
            .env_remove("KUBE_EDITOR")
            .env_remove("EDITOR")
            .env_remove("PEAPOD_MASQUERADE")
            .env("PEAPOD_BRIDGE", &self.bridge)
            .env("PEAPOD_POD_CIDR", &self.pod_cidr)
            .env("PEAPOD_SERVICE_PROXY_TABLE", &self.proxy_table);
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, "")
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        self.run_full(args, stdin, &[])
    }

    /// Run with extra environment variables (e.g. `KUBE_EDITOR` for `edit`).
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        self.run_full(args, "", env)
    }

    fn run_full(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Out {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn peapod");
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().expect("wait for peapod");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Write a manifest into the state's parent temp dir and return its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.state().join(name);
        std::fs::write(&p, text).expect("write manifest");
        p
    }

    /// Start `peapod serve` and wait until its socket answers.
    pub fn serve(&self) -> Server {
        self.serve_env(&[])
    }

    /// `serve` with extra environment variables (e.g. `PEAPOD_POD_PIDS_LIMIT`).
    pub fn serve_env(&self, env: &[(&str, &str)]) -> Server {
        let mut cmd = self.command(&["serve"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn peapod serve");
        let server = Server {
            child,
            remove_pods: [
                // Controllers first, or they would replace the pods deleted.
                self.command(&[
                    "delete",
                    "deployments,replicasets,replicationcontrollers,statefulsets,daemonsets,jobs,cronjobs",
                    "--all",
                    "-A",
                    "--wait=false",
                ]),
                self.command(&[
                    "delete",
                    "pods",
                    "--all",
                    "-A",
                    "--grace-period=0",
                    "--force",
                ]),
            ],
            pods_dir: self.state().join("pods"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        // Only probe the socket: a CLI command run before serve holds the store would open
        // the store itself and keep serve from starting.
        let socket = self.state().join("peapod.sock");
        loop {
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                let out = self.run(&["version"]);
                assert!(out.ok().contains("peapod.sock"), "{out:?}");
                return server;
            }
            assert!(Instant::now() < deadline, "peapod serve did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start a long-running command (e.g. `get -w`) with stdout piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn peapod")
    }
}

impl Drop for Peapod {
    /// Removes the test's pod network and service proxy table (its servers are dropped
    /// first: declared later).
    fn drop(&mut self) {
        if self.state().join("network").exists() {
            let _ = self
                .command(&["serve", "--reset-network"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A running `peapod serve`, stopped with SIGTERM when dropped. Pods outlive peapod by
/// design (their shims keep running), so dropping the server first removes every pod it
/// still has: a test never leaves processes, mounts or cgroups behind.
pub struct Server {
    child: Child,
    remove_pods: [Command; 2],
    pods_dir: PathBuf,
}

impl Server {
    /// `kill -9` the server and reap it; its pods keep running.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn remove_pods(&mut self) {
        let running = matches!(self.child.try_wait(), Ok(None));
        let has_pods = std::fs::read_dir(&self.pods_dir).is_ok_and(|mut d| d.next().is_some());
        if !running || !has_pods {
            return;
        }
        // Again while pods remain: a ReplicaSet being deleted may still replace one.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_dir(&self.pods_dir).is_ok_and(|mut d| d.next().is_some())
            && Instant::now() < deadline
        {
            for c in &mut self.remove_pods {
                let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait (up to 10 s) for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.remove_pods();
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "peapod serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.remove_pods();
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The manifest of the issue: a namespace, two labelled pods and a config map.
pub const SHOP: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels:
    app: web
    env: prod
    rel: stable
spec:
  containers:
  - name: nginx
    image: nginx:1.25
---
apiVersion: v1
kind: Pod
metadata:
  name: canary
  namespace: shop
  labels:
    app: web
    env: dev
    rel: canary
spec:
  containers:
  - name: nginx
    image: nginx:1.26
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
";

/// Rows of a table without the header, split on whitespace into (first column, rest).
pub fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// A busybox image with every applet linked, a passwd file and a web root.
pub fn import_busybox(p: &Peapod) {
    let bb = std::fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) is installed");
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    for d in ["bin", "etc", "tmp", "www", "root", "data"] {
        add(d, tar::EntryType::Directory, 0o755, b"", None);
    }
    add("bin/busybox", tar::EntryType::Regular, 0o755, &bb, None);
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" {
            add(
                &format!("bin/{applet}"),
                tar::EntryType::Symlink,
                0o777,
                b"",
                Some("busybox"),
            );
        }
    }
    add(
        "etc/passwd",
        tar::EntryType::Regular,
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        None,
    );
    add(
        "etc/group",
        tar::EntryType::Regular,
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
        None,
    );
    add(
        "www/index.html",
        tar::EntryType::Regular,
        0o644,
        b"hello from the image\n",
        None,
    );
    let tarball = b.into_inner().unwrap();
    let path = p.state().join("busybox-test.tar");
    std::fs::write(&path, tarball).unwrap();
    let out = p.run(&[
        "image",
        "import",
        path.to_str().unwrap(),
        "busybox:test",
        "--change",
        r#"CMD ["sh"]"#,
    ]);
    out.ok();
}

/// Deletes every workload controller and force-deletes every pod, again until no pod is
/// left and their directories are gone (20 s at most): a ReplicaSet whose deletion is still
/// under way may replace a pod deleted meanwhile. It needs a running server (serve or the
/// console): the shims outlive peapod by design.
pub fn remove_all_pods(p: &Peapod) {
    let pods = p.state().join("pods");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // Controllers first, or they would make new pods for the ones deleted.
        let _ = p.run(&[
            "delete",
            "deployments,replicasets,replicationcontrollers,statefulsets,daemonsets,jobs,cronjobs",
            "--all",
            "-A",
            "--wait=false",
        ]);
        let _ = p.run(&[
            "delete",
            "pods",
            "--all",
            "-A",
            "--grace-period=0",
            "--force",
        ]);
        std::thread::sleep(Duration::from_millis(200));
        let no_pods = p
            .run(&["get", "pods", "-A", "-o", "name"])
            .stdout
            .trim()
            .is_empty();
        let no_dirs = !std::fs::read_dir(&pods).is_ok_and(|mut d| d.next().is_some());
        if (no_pods && no_dirs) || Instant::now() > deadline {
            return;
        }
    }
}

/// On a failing test, removes its pods while its server still runs (declare it after the
/// server so it drops first).
pub struct Cleanup<'a>(pub &'a Peapod);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            remove_all_pods(self.0);
        }
    }
}
