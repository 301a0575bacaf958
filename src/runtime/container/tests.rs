//! Root tests: real containers from a busybox rootfs built at test time. Every test reaps what
//! it started and checks that no process, mount or sandbox holder is left.

use super::*;
use crate::runtime::sandbox::{Sandbox, SandboxOptions};
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// A busybox rootfs: bin/busybox plus a relative symlink per applet, and a world-writable /tmp.
fn busybox_rootfs(dir: &Path) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox"))
        .expect("the runtime tests need /bin/busybox (busybox-static)");
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
    std::fs::set_permissions(
        dir.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
}

struct Pod {
    tmp: tempfile::TempDir,
    sandbox: Option<Sandbox>,
}

impl Pod {
    fn new(hostname: &str, share_pid: bool) -> Pod {
        Pod::with(SandboxOptions {
            hostname: hostname.to_string(),
            share_pid,
            host_network: false,
        })
    }

    fn with(opts: SandboxOptions) -> Pod {
        let tmp = tempfile::tempdir().unwrap();
        busybox_rootfs(&tmp.path().join("rootfs"));
        Pod {
            tmp,
            sandbox: Some(Sandbox::create(opts).unwrap()),
        }
    }

    fn rootfs(&self) -> Rootfs {
        Rootfs::Dir(self.tmp.path().join("rootfs"))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    fn sh(&self, script: &str) -> ContainerSpec {
        let mut spec = ContainerSpec::new(
            self.rootfs(),
            vec!["/bin/sh".into(), "-c".into(), script.into()],
        );
        spec.env = vec!["PATH=/bin".into()];
        spec
    }

    fn start(&self, spec: &ContainerSpec) -> Result<Running, Error> {
        let (r, w) = sys::report_pipe().unwrap();
        let stdio = Stdio {
            stdin: None,
            stdout: Some(w.as_fd()),
            stderr: Some(w.as_fd()),
        };
        let child = spawn(spec, self.sandbox(), stdio)?;
        Ok(Running {
            child: Some(child),
            out: Some(r),
        })
    }

    /// Runs a container to the end: (stdout+stderr, exit code).
    fn run(&self, spec: &ContainerSpec) -> Result<(String, i32), Error> {
        Ok(self.start(spec)?.finish())
    }

    fn output(&self, script: &str) -> String {
        let (out, code) = self.run(&self.sh(script)).unwrap();
        assert_eq!(code, 0, "{script}: {out}");
        out
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            let pid = sb.pid();
            sb.destroy().unwrap();
            assert_gone(pid);
        }
        // Every mount lived in a container's mount namespace: none may show up here.
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = self.tmp.path().to_str().unwrap();
        if !std::thread::panicking() {
            assert!(
                !mountinfo.contains(dir),
                "mount left under {dir}:\n{mountinfo}"
            );
        }
    }
}

/// A started container that is killed and reaped if the test fails before it ends.
struct Running {
    child: Option<Child>,
    out: Option<OwnedFd>,
}

impl Running {
    fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.pid)
    }

    fn kill(&self) {
        if let Some(c) = &self.child {
            c.signal(libc::SIGKILL).unwrap();
        }
    }

    fn finish(mut self) -> (String, i32) {
        finish(self.child.take().unwrap(), self.out.take().unwrap())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            let _ = c.signal(libc::SIGKILL);
            let _ = c.wait();
        }
    }
}

fn finish(child: Child, r: OwnedFd) -> (String, i32) {
    let mut out = String::new();
    std::fs::File::from(r).read_to_string(&mut out).unwrap();
    let pid = child.pid;
    let status = child.wait().unwrap();
    assert_gone(pid);
    (
        out,
        status.code().unwrap_or(128 + status.signal().unwrap_or(0)),
    )
}

fn assert_gone(pid: i32) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} is still there"
    );
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().map(str::trim_end).collect()
}

#[test]
fn hostname_and_etc_files_as_root() {
    let pod = Pod::new("pod-a", false);
    std::fs::write(pod.path("hosts"), "127.0.0.1 localhost\n10.0.0.7 pod-a\n").unwrap();
    std::fs::write(pod.path("hostname"), "pod-a\n").unwrap();
    std::fs::write(pod.path("resolv.conf"), "nameserver 10.0.0.10\n").unwrap();
    let mut spec = pod.sh("hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf; ls /sys/class/net; cat /sys/class/net/lo/flags");
    spec.etc = EtcFiles {
        hosts: Some(pod.path("hosts")),
        hostname: Some(pod.path("hostname")),
        resolv_conf: Some(pod.path("resolv.conf")),
    };
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    // Only loopback, and up (IFF_UP|IFF_LOOPBACK = 0x9): the pod's own network namespace.
    assert_eq!(
        lines(&out),
        [
            "pod-a",
            "pod-a",
            "127.0.0.1 localhost",
            "10.0.0.7 pod-a",
            "nameserver 10.0.0.10",
            "lo",
            "0x9"
        ]
    );
}

#[test]
fn containers_in_one_sandbox_talk_over_localhost_and_share_shm_as_root() {
    let pod = Pod::new("pod-net", false);
    std::fs::create_dir(pod.path("shm")).unwrap();
    let mut server = pod.sh("echo hello-from-server > /tmp/index.html; echo shared > /dev/shm/x; exec httpd -f -p 127.0.0.1:8080 -h /tmp");
    server.shm = Some(pod.path("shm"));
    let mut client = pod.sh(
        "for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/index.html 2>/dev/null && cat /dev/shm/x && exit 0; usleep 50000; done; exit 1",
    );
    client.shm = Some(pod.path("shm"));
    let server = pod.start(&server).unwrap();
    let (out, code) = pod.run(&client).unwrap();
    server.kill();
    let (_, server_code) = server.finish();
    assert_eq!(
        (code, lines(&out)),
        (0, vec!["hello-from-server", "shared"]),
        "{out}"
    );
    assert_eq!(server_code, 128 + libc::SIGKILL);
    // The host's loopback never saw it: nothing listens on 8080 here.
    assert!(std::net::TcpStream::connect("127.0.0.1:8080").is_err());
}

#[test]
fn dev_proc_and_sys_are_the_containers_own_as_root() {
    let pod = Pod::new("pod-dev", false);
    let out = pod.output(
        "ls /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; readlink /dev/fd; \
         echo x > /dev/null && head -c 5 /dev/zero | wc -c && head -c 5 /dev/urandom | wc -c; \
         stat -c '%a' /dev/shm; cut -d' ' -f2,3 /proc/mounts",
    );
    let l = lines(&out);
    assert_eq!(
        l[0], "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero",
        "{out}"
    );
    assert_eq!(
        &l[1..6],
        ["pts/ptmx", "/proc/self/fd", "5", "5", "1777"],
        "{out}"
    );
    // Only the container's mounts: no host path is left after pivot_root.
    let mut mounts = l[6..].to_vec();
    let masked_or_ro = mounts
        .iter()
        .filter(|m| m.starts_with("/proc/") || m.starts_with("/sys/"))
        .count();
    mounts.retain(|m| !m.starts_with("/proc/") && !m.starts_with("/sys/"));
    assert!(mounts[0].starts_with("/ "), "{out}");
    let want = [
        "/proc proc",
        "/sys sysfs",
        "/dev tmpfs",
        "/dev/pts devpts",
        "/dev/shm tmpfs",
        "/dev/mqueue mqueue",
    ];
    assert_eq!(mounts[1..], want, "{out}");
    assert!(
        masked_or_ro >= 4,
        "masked and read-only paths are mounts too: {out}"
    );
}

#[test]
fn host_network_sees_the_hosts_interfaces_as_root() {
    let pod = Pod::with(SandboxOptions {
        hostname: "pod-hostnet".into(),
        share_pid: false,
        host_network: true,
    });
    let mut host: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    host.sort();
    let out = pod.output("ls /sys/class/net; hostname");
    let mut l = lines(&out);
    assert_eq!(
        l.pop(),
        Some("pod-hostnet"),
        "the UTS namespace is still the pod's"
    );
    assert_eq!(l, host);
}

#[test]
fn tty_becomes_the_controlling_terminal_as_root() {
    let pod = Pod::new("pod-tty", false);
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut spec = pod.sh("[ -t 0 ] && echo stdin-is-a-tty; cut -d' ' -f7 /proc/self/stat");
    spec.tty = true;
    let slave = Some(pty.slave.as_fd());
    let child = spawn(
        &spec,
        pod.sandbox(),
        Stdio {
            stdin: slave,
            stdout: slave,
            stderr: slave,
        },
    )
    .unwrap();
    let mut running = Running {
        child: Some(child),
        out: None,
    };
    drop(pty.slave);
    // The master reads EIO once the last slave fd is closed.
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(running.child.take().unwrap().wait().unwrap().success());
    let out = String::from_utf8(out).unwrap();
    let l = lines(&out);
    assert_eq!(l.first(), Some(&"stdin-is-a-tty"), "{out:?}");
    // tty_nr of the process: non-zero only with a controlling terminal.
    assert_ne!(l.get(1).copied().unwrap_or("0"), "0", "{out:?}");
}

/// (pid, command) of busybox `ps` output (PID USER COMMAND), header skipped.
fn ps(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<_> = l.split_whitespace().collect();
            Some((f.first()?.parse().ok()?, f.get(2..)?.join(" ")))
        })
        .collect()
}

#[test]
fn ps_shows_only_the_containers_processes_as_root() {
    let pod = Pod::new("pod-ps", false);
    let procs = ps(&pod.output("ps; true"));
    assert_eq!(procs.len(), 2, "{procs:?}");
    assert_eq!(
        procs[0],
        (1, "/bin/sh -c ps; true".to_string()),
        "pid 1 is the command"
    );
    // busybox sh forks its ps applet without exec: it shows as "{ps} <sh's command line>".
    assert!(
        procs[1].1 == "ps" || procs[1].1.starts_with("{ps}"),
        "{procs:?}"
    );

    // With a shared pid namespace the sandbox holder is pid 1, as pause is in Kubernetes.
    let shared = Pod::new("pod-ps-shared", true);
    let mut spec = shared.sh("ps; true");
    spec.share_pid = true;
    let (out, code) = shared.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    let procs = ps(&out);
    assert!(
        procs
            .first()
            .is_some_and(|p| p.0 == 1 && p.1.starts_with("{peapod-sandbox}")),
        "{out}"
    );
    assert_eq!(procs.len(), 3, "{out}");
    // Sharing needs a sandbox made for it.
    let mut spec = pod.sh("true");
    spec.share_pid = true;
    assert!(matches!(pod.run(&spec), Err(Error::Invalid(_))));
}

fn status_field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn capabilities_default_added_dropped_privileged_as_root() {
    let pod = Pod::new("pod-caps", false);
    let out = pod.output("cat /proc/1/status");
    for f in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(&out, f), "00000000a80425fb", "{f}");
    }
    assert_eq!(status_field(&out, "CapInh:"), "0000000000000000");
    assert_eq!(status_field(&out, "CapAmb:"), "0000000000000000");
    assert_eq!(status_field(&out, "NoNewPrivs:"), "0");

    let mut spec = pod.sh("cat /proc/1/status");
    spec.capabilities = Capabilities {
        add: vec!["NET_ADMIN".into()],
        drop: vec!["CHOWN".into()],
    };
    spec.no_new_privs = true;
    let (out, _) = pod.run(&spec).unwrap();
    assert_eq!(status_field(&out, "CapEff:"), "00000000a80435fa");
    assert_eq!(status_field(&out, "CapBnd:"), "00000000a80435fa");
    assert_eq!(status_field(&out, "NoNewPrivs:"), "1");

    // Privileged: everything peapod itself holds (here all but CAP_SYS_RESOURCE).
    let mut spec =
        pod.sh("cat /proc/1/status; echo 1 > /proc/sys/kernel/hostname && echo sys-writable");
    spec.privileged = true;
    let (out, _) = pod.run(&spec).unwrap();
    let own = format!(
        "{:016x}",
        sys::own_permitted_caps().unwrap() & caps::all(caps::last_cap())
    );
    assert_eq!(status_field(&out, "CapEff:"), own);
    assert!(
        out.contains("sys-writable"),
        "privileged has no read-only /proc/sys: {out}"
    );

    let mut spec = pod.sh("true");
    spec.capabilities.add = vec!["NET_ADMINZ".into()];
    let err = pod.run(&spec).unwrap_err().to_string();
    assert!(err.contains("capabilities.add[0]"), "{err}");
}

#[test]
fn run_as_user_and_working_dir_as_root() {
    let pod = Pod::new("pod-user", false);
    let mut spec = pod.sh(
        "id -u; id -g; id -G; pwd; grep CapEff /proc/self/status; touch /x 2>&1 || echo denied",
    );
    spec.user = User {
        uid: 1000,
        gid: 3000,
        additional_gids: vec![2000],
    };
    spec.cwd = "/work/dir".into();
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    let l = lines(&out);
    // A non-root user keeps the bounding set but no effective capabilities after exec,
    // exactly as in Kubernetes.
    assert_eq!(
        &l[..5],
        [
            "1000",
            "3000",
            "3000 2000",
            "/work/dir",
            "CapEff:\t0000000000000000"
        ]
    );
    assert_eq!(l.last(), Some(&"denied"), "{out}");
}

#[test]
fn readonly_rootfs_refuses_writes_as_root() {
    let pod = Pod::new("pod-ro", false);
    let mut spec = pod.sh("touch /x 2>&1; echo rc=$?; touch /scratch/y && echo scratch-ok; touch /dev/shm/z && echo shm-ok");
    spec.readonly_rootfs = true;
    spec.mounts = vec![Mount {
        source: PathBuf::new(),
        destination: "/scratch".into(),
        kind: MountKind::Tmpfs {
            size: Some(1 << 20),
            mode: Some(0o700),
        },
    }];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert!(
        out.contains("scratch-ok") && out.contains("shm-ok"),
        "{out}"
    );
    assert!(!pod.path("rootfs/x").exists());
}

#[test]
fn overlay_writes_go_to_upper_and_lowerdirs_stay_untouched_as_root() {
    let pod = Pod::new("pod-overlay", false);
    let top = pod.path("layer-top");
    std::fs::create_dir_all(top.join("data")).unwrap();
    std::fs::write(top.join("data/a"), "from the top layer\n").unwrap();
    std::fs::write(top.join("data/b"), "keep\n").unwrap();
    for d in ["upper", "work", "merged"] {
        std::fs::create_dir(pod.path(d)).unwrap();
    }
    let rootfs = Rootfs::Overlay {
        lowerdirs: vec![top.clone(), pod.path("rootfs")],
        upper: pod.path("upper"),
        work: pod.path("work"),
        merged: pod.path("merged"),
    };
    let mut spec = pod.sh("cat /data/a; echo new > /new; rm /data/a; cat /data/a 2>/dev/null || echo gone; cat /data/b");
    spec.rootfs = rootfs;
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(
        (code, lines(&out)),
        (0, vec!["from the top layer", "gone", "keep"]),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(pod.path("upper/new")).unwrap(),
        "new\n"
    );
    // rm of a lower file leaves a whiteout (a 0:0 character device) in upper.
    let meta = std::fs::symlink_metadata(pod.path("upper/data/a")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &meta.file_type()
    ));
    assert_eq!(
        std::fs::read_to_string(top.join("data/a")).unwrap(),
        "from the top layer\n"
    );
    assert!(!pod.path("rootfs/new").exists() && !top.join("new").exists());
    assert_eq!(
        std::fs::read_dir(pod.path("merged")).unwrap().count(),
        0,
        "merged is only a mount point"
    );
}

#[test]
fn masked_and_readonly_paths_as_root() {
    let pod = Pod::new("pod-mask", false);
    // Which of the masked paths exist depends on the kernel's config; check those that do.
    let present: Vec<_> = DEFAULT_MASKED_PATHS
        .iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    assert!(present.len() >= 2, "{present:?}");
    let script = format!(
        "for p in {}; do if [ -d $p ]; then echo $p $(ls $p | wc -l); else echo $p $(wc -c < $p); fi; done; \
         echo hacked > /proc/sys/kernel/hostname; echo rc=$?; hostname",
        present
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = pod.output(&script);
    let l = lines(&out);
    let want: Vec<_> = present.iter().map(|p| format!("{p} 0")).collect();
    assert_eq!(&l[..present.len()], want, "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert_eq!(l.last(), Some(&"pod-mask"));
}

#[test]
fn bind_and_tmpfs_mounts_as_root() {
    let pod = Pod::new("pod-mounts", false);
    std::fs::create_dir(pod.path("vol")).unwrap();
    std::fs::write(pod.path("vol/f"), "volume data\n").unwrap();
    std::fs::write(pod.path("single"), "one file\n").unwrap();
    let mut spec = pod.sh(
        "cat /data/f /etc/single; touch /data/g 2>&1; echo rc=$?; grep ' /scratch ' /proc/mounts",
    );
    spec.mounts = vec![
        Mount {
            source: PathBuf::new(),
            destination: "/scratch".into(),
            kind: MountKind::Tmpfs {
                size: Some(1 << 20),
                mode: Some(0o700),
            },
        },
        Mount {
            source: pod.path("vol"),
            destination: "/data".into(),
            kind: MountKind::Bind { readonly: true },
        },
        Mount {
            source: pod.path("single"),
            destination: "/etc/single".into(),
            kind: MountKind::Bind { readonly: false },
        },
    ];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("volume data\none file\n"), "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert!(
        out.contains("size=1024k") && out.contains("mode=700"),
        "{out}"
    );
    assert!(!pod.path("vol/g").exists());
}

#[test]
fn mount_targets_cannot_escape_the_rootfs_as_root() {
    let pod = Pod::new("pod-escape", false);
    let outside = pod.path("outside");
    std::fs::create_dir(&outside).unwrap();
    // The image points /escape at a host directory and /etc/hosts at a host file.
    std::os::unix::fs::symlink(&outside, pod.path("rootfs/escape")).unwrap();
    std::fs::create_dir(pod.path("rootfs/etc")).unwrap();
    std::os::unix::fs::symlink(outside.join("hosts"), pod.path("rootfs/etc/hosts")).unwrap();
    std::fs::write(pod.path("hosts"), "127.0.0.1 localhost\n").unwrap();
    let mut spec = pod.sh("cat /etc/hosts");
    spec.etc.hosts = Some(pod.path("hosts"));
    spec.mounts = vec![Mount {
        source: PathBuf::new(),
        destination: "/escape/sub".into(),
        kind: MountKind::Tmpfs {
            size: None,
            mode: None,
        },
    }];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!((code, out.as_str()), (0, "127.0.0.1 localhost\n"));
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing was created on the host"
    );
    // Both were resolved inside the rootfs instead.
    let inside = pod.path("rootfs").join(outside.strip_prefix("/").unwrap());
    assert!(inside.join("sub").is_dir() && inside.join("hosts").is_file());
}

#[test]
fn errors_reach_the_caller_as_root() {
    let pod = Pod::new("pod-errors", false);
    let run_err = |spec: &ContainerSpec| pod.run(spec).unwrap_err();
    let mut spec = pod.sh("");
    spec.argv = vec!["/bin/nosuch".into()];
    let err = run_err(&spec);
    assert!(matches!(err, Error::Exec(_)));
    assert_eq!(
        err.to_string(),
        "exec \"/bin/nosuch\": No such file or directory"
    );
    spec.argv = vec!["nosuch".into()];
    assert_eq!(
        run_err(&spec).to_string(),
        "exec \"nosuch\": executable file not found in $PATH"
    );
    std::fs::write(pod.path("rootfs/notexec"), "data").unwrap();
    spec.argv = vec!["/notexec".into()];
    assert_eq!(
        run_err(&spec).to_string(),
        "exec \"/notexec\": Permission denied"
    );

    let mut spec = pod.sh("true");
    let missing = pod.path("no-such-volume");
    spec.mounts = vec![Mount {
        source: missing.clone(),
        destination: "/data".into(),
        kind: MountKind::Bind { readonly: false },
    }];
    let err = run_err(&spec);
    assert!(matches!(err, Error::Setup(_)));
    assert_eq!(
        err.to_string(),
        format!(
            "bind {} on /data: No such file or directory",
            missing.display()
        )
    );

    let mut spec = pod.sh("true");
    let merged = pod.path("merged");
    spec.rootfs = Rootfs::Overlay {
        lowerdirs: vec![pod.path("no-layer")],
        upper: pod.path("u"),
        work: pod.path("w"),
        merged: merged.clone(),
    };
    std::fs::create_dir(&merged).unwrap();
    let err = run_err(&spec).to_string();
    assert!(
        err.starts_with(&format!("mount overlay on {}: ", merged.display())),
        "{err}"
    );

    let mut spec = pod.sh("true");
    spec.mounts = vec![Mount {
        source: PathBuf::new(),
        destination: "data".into(),
        kind: MountKind::Tmpfs {
            size: None,
            mode: None,
        },
    }];
    assert_eq!(
        run_err(&spec).to_string(),
        "mounts[0].destination \"data\": must be an absolute path"
    );
}

#[test]
fn rlimits_below_the_hard_limit_as_root() {
    let pod = Pod::new("pod-rlimit", false);
    let mut spec = pod.sh("ulimit -n; ulimit -Hn");
    spec.rlimits = vec![Rlimit {
        resource: RlimitResource::Nofile,
        soft: 100,
        hard: 200,
    }];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!((code, lines(&out)), (0, vec!["100", "200"]));

    let (_, host_hard) = sys::get_rlimit(libc::RLIMIT_NOFILE as libc::c_int).unwrap();
    spec.rlimits = vec![Rlimit {
        resource: RlimitResource::Nofile,
        soft: 100,
        hard: host_hard + 1,
    }];
    let err = pod.run(&spec).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    let err = err.to_string();
    assert!(
        err.contains("RLIMIT_NOFILE") && err.contains("above this host's hard limit"),
        "{err}"
    );
    assert_eq!(
        RlimitResource::from_name("nofile"),
        Some(RlimitResource::Nofile)
    );
}

/// A throwaway cgroup v1 pids cgroup, removed on drop (this host has cgroup v1 controllers).
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The kernel refuses while tasks remain; all were reaped before we get here.
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn exec_in_joins_the_containers_namespaces_and_cgroup_as_root() {
    let pod = Pod::new("pod-exec", false);
    std::fs::write(pod.path("rootfs/marker"), "inside the rootfs\n").unwrap();
    let cg = TestCgroup(PathBuf::from(format!(
        "/sys/fs/cgroup/pids/peapod-test-{}",
        std::process::id()
    )));
    std::fs::create_dir(&cg.0).unwrap();
    let mut spec = pod.sh("");
    spec.argv = vec!["/bin/sleep".into(), "60".into()];
    spec.user = User {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![],
    };
    spec.cgroup_procs = vec![cg.0.join("cgroup.procs")];
    let main = pod.start(&spec).unwrap();

    let exec = ExecSpec {
        argv: vec!["sh".into(), "-c".into(), "hostname; id -u; cat /marker; cat /proc/1/cmdline | tr '\\0' ' '; echo; grep pids /proc/self/cgroup; ps | wc -l".into()],
        env: vec!["PATH=/bin".into()],
        cwd: "/tmp".into(),
        ..ExecSpec::default()
    };
    let (r, w) = sys::report_pipe().unwrap();
    let child = exec_in(
        main.pid(),
        &exec,
        Stdio {
            stdin: None,
            stdout: Some(w.as_fd()),
            stderr: Some(w.as_fd()),
        },
    )
    .unwrap();
    drop(w);
    let (out, code) = finish(child, r);
    assert_eq!(code, 0, "{out}");
    let cgroup_line = format!("pids:/peapod-test-{}", std::process::id());
    let l = lines(&out);
    assert_eq!(
        &l[..4],
        ["pod-exec", "1000", "inside the rootfs", "/bin/sleep 60"],
        "{out}"
    );
    assert!(l[4].ends_with(&cgroup_line), "{out}");
    // ps header + sleep + sh + ps + wc: the container's pid namespace.
    assert_eq!(l[5], "5", "{out}");

    main.kill();
    let pid = main.pid();
    main.finish();
    let err = exec_in(pid, &exec, Stdio::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not running"), "{err}");
}

/// Not a timed assertion: prints the median of sandbox create + spawn `/bin/true` + wait +
/// destroy. Run with `cargo test --release --lib spawn_latency -- --ignored --nocapture`.
#[test]
#[ignore]
fn spawn_latency_as_root() {
    let tmp = tempfile::tempdir().unwrap();
    busybox_rootfs(tmp.path());
    let spec = ContainerSpec::new(
        Rootfs::Dir(tmp.path().to_path_buf()),
        vec!["/bin/true".into()],
    );
    let (mut total, mut create, mut spawn_wait) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..100 {
        let t0 = Instant::now();
        let sb = Sandbox::create(SandboxOptions {
            hostname: "bench".into(),
            share_pid: false,
            host_network: false,
        })
        .unwrap();
        let t1 = Instant::now();
        let child = spawn(&spec, &sb, Stdio::default()).unwrap();
        assert!(child.wait().unwrap().success());
        let t2 = Instant::now();
        sb.destroy().unwrap();
        total.push(t2 - t0);
        create.push(t1 - t0);
        spawn_wait.push(t2 - t1);
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "median {:.3} ms, p90 {:.3}, min {:.3}, max {:.3}",
            ms(v[v.len() / 2]),
            ms(v[v.len() * 9 / 10]),
            ms(v[0]),
            ms(v[v.len() - 1])
        )
    };
    eprintln!("sandbox create:          {}", stats(&mut create));
    eprintln!("spawn /bin/true + wait:  {}", stats(&mut spawn_wait));
    eprintln!("create + spawn + wait:   {}", stats(&mut total));
}
