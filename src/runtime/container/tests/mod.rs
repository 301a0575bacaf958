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

mod isolation;
mod security;
