//! The shim process itself (no async runtime): detach, create the sandbox, serve.
//!
//! `peapod shim <pod-dir>` runs as the child of the node agent, which waits for it to exit.
//! It forks an intermediate process that `setsid`s and forks the shim proper, then exits at
//! once; the shim is re-parented to init (or the nearest subreaper), out of the agent's
//! session and process tree. The launched process stays until the shim reports over a pipe
//! that it is ready (socket bound, stdio closed) or why it failed, and exits 0 or prints the
//! message and exits 1. So when `launch` sees it exit, the shim either answers on its socket
//! or has cleaned up after itself.

use super::os;
use super::protocol::ShimConfig;
use super::serve::Server;
use crate::runtime::sandbox::{Sandbox, SandboxOptions};
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// What the shim writes on its ready pipe when it serves.
const READY: &str = "ready";

/// Entry point of `peapod shim <pod-dir>`: returns the process exit code.
pub fn run(pod_dir: &Path) -> i32 {
    // Nothing the agent had open may live on in a process that outlives it; everything the
    // shim opens from here on is close-on-exec.
    // SAFETY: closing fds no Rust object of ours owns yet.
    unsafe { libc::close_range(3, u32::MAX, 0) };
    let fail = |msg: String| {
        eprintln!("peapod shim: {msg}");
        1
    };
    let pod_dir = match std::fs::canonicalize(pod_dir) {
        Ok(p) => p,
        Err(e) => return fail(format!("pod directory {}: {e}", pod_dir.display())),
    };
    let config = match read_config(&pod_dir) {
        Ok(c) => c,
        Err(msg) => return fail(msg),
    };
    let (ready_r, ready_w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => return fail(format!("create a pipe: {e}")),
    };
    // SAFETY: this process is single-threaded (nothing has started a thread yet), so the
    // children may run any code.
    match unsafe { libc::fork() } {
        -1 => fail(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            drop(ready_r);
            // SAFETY: setsid and fork in a single-threaded child.
            unsafe {
                if libc::setsid() == -1 {
                    report(
                        &ready_w,
                        &format!("setsid: {}", std::io::Error::last_os_error()),
                    );
                    libc::_exit(1);
                }
                match libc::fork() {
                    -1 => {
                        report(
                            &ready_w,
                            &format!("fork: {}", std::io::Error::last_os_error()),
                        );
                        libc::_exit(1);
                    }
                    0 => shim(pod_dir, config, ready_w),
                    _ => libc::_exit(0),
                }
            }
        }
        intermediate => {
            drop(ready_w);
            let _ = crate::runtime::container::sys::wait_pid(intermediate);
            let mut msg = String::new();
            let _ = std::fs::File::from(ready_r).read_to_string(&mut msg);
            match msg.as_str() {
                READY => 0,
                "" => fail(format!(
                    "pod {}: the shim exited before it was ready",
                    config.pod
                )),
                _ => fail(msg),
            }
        }
    }
}

fn read_config(pod_dir: &Path) -> Result<ShimConfig, String> {
    let path = pod_dir.join(super::CONFIG);
    let text = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Sends the ready word or an error message to the launcher (short: one atomic pipe write).
fn report(fd: &OwnedFd, msg: &str) {
    let _ = nix::unistd::write(fd, msg.as_bytes());
}

/// The shim proper (the grandchild): set up, tell the launcher, serve, exit.
fn shim(pod_dir: PathBuf, config: ShimConfig, ready: OwnedFd) -> ! {
    let server = match setup(pod_dir, config) {
        Ok(s) => s,
        Err(msg) => {
            report(&ready, &msg);
            std::process::exit(1);
        }
    };
    // The launcher's stderr pipe must not stay open in us: it waits for its EOF.
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for target in 0..3 {
            // SAFETY: dup2 onto the standard fds.
            unsafe { libc::dup2(null.as_raw_fd(), target) };
        }
    }
    report(&ready, READY);
    drop(ready);
    os::release_clean_file_pages();
    std::process::exit(server.serve())
}

fn setup(pod_dir: PathBuf, config: ShimConfig) -> Result<Server, String> {
    let pod = config.pod.clone();
    // SAFETY: prctl and chdir with valid arguments.
    unsafe {
        // Processes orphaned inside the pod come to us, not to init, and we reap them.
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::chdir(c"/".as_ptr());
    }
    let me = std::process::id().to_string();
    for procs in &config.cgroup_procs {
        std::fs::write(procs, &me)
            .map_err(|e| format!("pod {pod}: join cgroup {}: {e}", procs.display()))?;
    }
    let sandbox = Sandbox::create_bound_to_caller(SandboxOptions {
        hostname: config.hostname.clone(),
        share_pid: config.share_pid,
        host_network: config.host_network,
    })
    .map_err(|e| format!("pod {pod}: {e}"))?;
    let listener = match listen(&pod_dir, &pod) {
        Ok(l) => l,
        Err(msg) => {
            let _ = sandbox.destroy();
            return Err(msg);
        }
    };
    let pid_file = pod_dir.join(super::PID_FILE);
    if let Err(e) = os::write_atomic(&pid_file, format!("{me}\n").as_bytes()) {
        let _ = sandbox.destroy();
        let _ = std::fs::remove_file(pod_dir.join(super::SOCKET));
        return Err(format!("pod {pod}: write {}: {e}", pid_file.display()));
    }
    if let Ok(title) = std::ffi::CString::new(format!("peapod-shim {pod}")) {
        // SAFETY: a valid C string; the kernel keeps its first 15 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, title.as_ptr(), 0, 0, 0) };
    }
    Ok(Server::new(pod_dir, config, sandbox, listener))
}

/// Binds `<pod_dir>/shim.sock` (0600), refusing when another shim answers there.
fn listen(pod_dir: &Path, pod: &str) -> Result<UnixListener, String> {
    let path = pod_dir.join(super::SOCKET);
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            return Err(format!(
                "pod {pod}: another shim already serves {}",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(&path);
    }
    // SAFETY: umask only changes the mode of files created meanwhile (we are one thread).
    let old = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(&path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| format!("pod {pod}: bind {}: {e}", path.display()))?;
    let ok = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .and_then(|_| listener.set_nonblocking(true));
    if let Err(e) = ok {
        let _ = std::fs::remove_file(&path);
        return Err(format!("pod {pod}: {}: {e}", path.display()));
    }
    Ok(listener)
}
