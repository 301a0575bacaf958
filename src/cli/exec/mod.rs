//! `exec POD [-c C] [-i] [-t] -- CMD...`: run a command in a running container. The pod's
//! shim tells the container's host pid; `exec_in` then starts the command in the container's
//! namespaces and cgroups with this process as its parent. Without -t the command gets our
//! stdout and stderr (and stdin with -i) directly; with -t it gets a new pty whose master we
//! copy to and from the local terminal, which is put in raw mode meanwhile. The command's
//! exit code becomes ours, with kubectl's `command terminated with exit code N`.

use super::args::ExecArgs;
use super::logs::default_container;
use super::{CliError, Ctx, Io};
use crate::api::error::ApiError;
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::cluster::Cluster;
use crate::runtime::container::{ExecSpec, Stdio, exec_in, sys};
use serde_json::Value;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: ExecArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let name = pod_name(&a.pod)?;
    if a.command.is_empty() {
        return Err(CliError::msg(
            "you must specify at least one command for the container",
        ));
    }
    let kind = kinds::lookup("pods").ok_or_else(|| CliError::msg("pods are not served"))?;
    let pod = cluster.get(kind, Some(&ctx.namespace), &name).await?;
    let (container, note) = choose_container(&pod, a.container.as_deref())?;
    if let Some(n) = note {
        io.errln(n);
    }
    let not_found = || {
        CliError::msg(format!(
            "unable to upgrade connection: container not found ({container:?})"
        ))
    };
    let uid = pod.uid();
    if uid.is_empty() {
        return Err(not_found());
    }
    let shim = match crate::runtime::shim::connect(&ctx.state.join("pods").join(uid)).await {
        Ok(s) => s,
        Err(crate::runtime::shim::ShimError::Gone(_)) => return Err(not_found()),
        Err(e) => return Err(CliError::msg(format!("unable to upgrade connection: {e}"))),
    };
    let state = shim
        .state()
        .await
        .map_err(|e| CliError::msg(format!("unable to upgrade connection: {e}")))?;
    let pid = state
        .containers
        .iter()
        .find(|r| r.container == container && r.finished_at.is_none())
        .map(|r| r.pid)
        .ok_or_else(not_found)?;

    let mut env = container_env(pid);
    let tty = if a.tty && a.stdin && !is_terminal(0) {
        io.errln("Unable to use a TTY - input is not a terminal or the right kind of file");
        false
    } else {
        a.tty
    };
    if tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        // As containerd does for a terminal exec.
        env.push("TERM=xterm".to_string());
    }
    let spec = ExecSpec {
        argv: a.command.clone(),
        env,
        cwd: working_dir(&pod, &container, pid),
        tty,
        rlimits: Vec::new(),
    };
    let _ = io.out.flush();
    let _ = io.err.flush();
    let code = if tty {
        run_terminal(pid, spec, a.stdin).await?
    } else {
        let stdin = a.stdin;
        tokio::task::spawn_blocking(move || {
            // SAFETY: our standard streams stay open for the whole process.
            let (i, o, e) = unsafe {
                (
                    BorrowedFd::borrow_raw(0),
                    BorrowedFd::borrow_raw(1),
                    BorrowedFd::borrow_raw(2),
                )
            };
            run_plain(pid, &spec, stdin.then_some(i), o, e)
        })
        .await
        .map_err(|e| CliError::msg(format!("exec task failed: {e}")))?
        .map_err(CliError::Msg)?
    };
    if code != 0 {
        io.errln(format!("command terminated with exit code {code}"));
        return Err(CliError::Exit(code));
    }
    Ok(())
}

/// `POD`, `pod/POD` or `po/POD`.
fn pod_name(arg: &str) -> Result<String, CliError> {
    match arg.split_once('/') {
        Some((kind, name)) if kinds::lookup(kind).is_some_and(|k| k.kind == "Pod") => {
            Ok(name.to_string())
        }
        Some((kind, _)) => Err(CliError::msg(format!(
            "peapod exec runs in pods only; {kind:?} is not a pod"
        ))),
        None if arg.is_empty() => Err(CliError::msg("a pod name is required")),
        None => Ok(arg.to_string()),
    }
}

/// The container to run in: `-c` (which must be one of the pod's containers), else kubectl's
/// default with its note. A completed pod is refused as kubectl does.
fn choose_container(
    pod: &Value,
    requested: Option<&str>,
) -> Result<(String, Option<String>), CliError> {
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if phase == "Succeeded" || phase == "Failed" {
        return Err(CliError::msg(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    let Some(c) = requested else {
        return match default_container(pod) {
            (Some(c), notes) => Ok((c, (!notes.is_empty()).then(|| notes.join("\n")))),
            (None, _) => Err(CliError::msg(format!(
                "pod {} does not have any containers",
                pod.name()
            ))),
        };
    };
    let known = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|list| pod.pointer(&format!("/spec/{list}"))?.as_array())
        .flatten()
        .any(|k| k.get("name").and_then(Value::as_str) == Some(c));
    if !known {
        return Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {}",
            pod.name()
        ))
        .into());
    }
    Ok((c.to_string(), None))
}

/// The container's environment: its main process's initial one (what the runtime set).
fn container_env(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|e| !e.is_empty())
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// workingDir of the container, else the main process's directory as the container sees it
/// (the image's WORKDIR), else /.
fn working_dir(pod: &Value, container: &str, pid: i32) -> String {
    let from_spec = ["containers", "initContainers"]
        .iter()
        .filter_map(|list| pod.pointer(&format!("/spec/{list}"))?.as_array())
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .and_then(|c| c.get("workingDir")?.as_str())
        .filter(|d| d.starts_with('/'));
    if let Some(d) = from_spec {
        return d.to_string();
    }
    match std::fs::read_link(format!("/proc/{pid}/cwd")) {
        Ok(p) => {
            let p = p.to_string_lossy().into_owned();
            if p.starts_with('/') && !p.ends_with(" (deleted)") {
                p
            } else {
                "/".to_string()
            }
        }
        Err(_) => "/".to_string(),
    }
}

fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(fd) == 1 }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or(128 + status.signal().unwrap_or(0))
}

/// Runs the command with the given streams (None stdin is /dev/null) and waits for it.
fn run_plain(
    pid: i32,
    spec: &ExecSpec,
    stdin: Option<BorrowedFd<'_>>,
    stdout: BorrowedFd<'_>,
    stderr: BorrowedFd<'_>,
) -> Result<i32, String> {
    let stdio = Stdio {
        stdin,
        stdout: Some(stdout),
        stderr: Some(stderr),
    };
    let child = exec_in(pid, spec, stdio).map_err(|e| exec_error(&e))?;
    let status = child
        .wait()
        .map_err(|e| format!("wait for the command: {e}"))?;
    Ok(exit_code(status))
}

fn exec_error(e: &crate::runtime::container::Error) -> String {
    format!("Internal error occurred: error executing command in container: {e}")
}

/// Restores the local terminal when dropped.
struct RawMode;

impl RawMode {
    fn enable() -> Option<RawMode> {
        crossterm::terminal::enable_raw_mode()
            .ok()
            .map(|()| RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// The window size of a terminal fd.
fn window_size(fd: BorrowedFd<'_>) -> Option<libc::winsize> {
    // SAFETY: winsize is plain integers; all zero is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills a winsize.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some(ws)
}

/// Sets the pty's size; the kernel sends SIGWINCH to its foreground process group.
fn set_window_size(master: BorrowedFd<'_>, ws: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads a winsize.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, ws) };
}

/// `-t`: a pty session with the local terminal (raw mode when stdin is one), the window size
/// following SIGWINCH.
async fn run_terminal(pid: i32, spec: ExecSpec, with_stdin: bool) -> Result<i32, CliError> {
    // SAFETY: our standard streams stay open for the whole process.
    let (stdin, stdout) = unsafe { (BorrowedFd::borrow_raw(0), BorrowedFd::borrow_raw(1)) };
    let size = window_size(stdin).or_else(|| window_size(stdout));
    let pty = open_pty(size.as_ref()).map_err(CliError::Msg)?;
    let raw = (with_stdin && is_terminal(0))
        .then(RawMode::enable)
        .flatten();
    let input = if with_stdin {
        Some(
            stdin
                .try_clone_to_owned()
                .map_err(|e| CliError::msg(format!("duplicate stdin: {e}")))?,
        )
    } else {
        None
    };
    let output = stdout
        .try_clone_to_owned()
        .map_err(|e| CliError::msg(format!("duplicate stdout: {e}")))?;
    let resizer = match (
        size.is_some(),
        pty.master.try_clone(),
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()),
    ) {
        (true, Ok(master), Ok(mut winch)) => Some(tokio::spawn(async move {
            while winch.recv().await.is_some() {
                // SAFETY: as above.
                let stdin = unsafe { BorrowedFd::borrow_raw(0) };
                if let Some(ws) = window_size(stdin) {
                    set_window_size(master.as_fd(), &ws);
                }
            }
        })),
        _ => None,
    };
    let result = tokio::task::spawn_blocking(move || pty_session(pid, &spec, pty, input, output))
        .await
        .map_err(|e| CliError::msg(format!("exec task failed: {e}")));
    if let Some(r) = resizer {
        r.abort();
    }
    drop(raw);
    result?.map_err(CliError::Msg)
}

struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

fn open_pty(size: Option<&libc::winsize>) -> Result<Pty, String> {
    let ws = size.map(|s| nix::pty::Winsize {
        ws_row: s.ws_row,
        ws_col: s.ws_col,
        ws_xpixel: s.ws_xpixel,
        ws_ypixel: s.ws_ypixel,
    });
    let p = nix::pty::openpty(ws.as_ref(), None).map_err(|e| format!("open a pty: {e}"))?;
    for fd in [&p.master, &p.slave] {
        // Neither end may leak into other processes we start (only dup2'd copies do).
        // SAFETY: fcntl on an fd we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(Pty {
        master: p.master,
        slave: p.slave,
    })
}

/// Runs the command on the pty's slave, copies `input` to the master (on a thread of its
/// own: a terminal read cannot be interrupted) and the master to `output` until the command
/// exits, then returns its exit code.
fn pty_session(
    pid: i32,
    spec: &ExecSpec,
    pty: Pty,
    input: Option<OwnedFd>,
    output: OwnedFd,
) -> Result<i32, String> {
    let Pty { master, slave } = pty;
    let stdio = Stdio {
        stdin: Some(slave.as_fd()),
        stdout: Some(slave.as_fd()),
        stderr: Some(slave.as_fd()),
    };
    let child = exec_in(pid, spec, stdio).map_err(|e| exec_error(&e))?;
    // Only the command holds the slave now: its exit shows as EIO/HUP on the master.
    drop(slave);
    let done = Arc::new(AtomicBool::new(false));
    if let (Some(input), Ok(m)) = (input, master.try_clone()) {
        let done = done.clone();
        // Detached: it ends at EOF or with the process (a terminal read blocks).
        let _ = std::thread::Builder::new()
            .name("peapod-exec-in".to_string())
            .spawn(move || copy_input(input, m, &done));
    }
    copy_output(&master, &output, child.pidfd());
    done.store(true, Ordering::Relaxed);
    let status = child
        .wait()
        .map_err(|e| format!("wait for the command: {e}"))?;
    Ok(exit_code(status))
}

fn read_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> isize {
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 || sys::errno() != libc::EINTR {
            return n;
        }
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: data is valid for its length.
        let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if n > 0 {
            data = &data[n as usize..];
        } else if n < 0 && sys::errno() == libc::EINTR {
            continue;
        } else {
            return false;
        }
    }
    true
}

fn copy_input(input: OwnedFd, master: OwnedFd, done: &AtomicBool) {
    let mut buf = [0u8; 4096];
    while !done.load(Ordering::Relaxed) {
        let n = read_fd(input.as_fd(), &mut buf);
        if n <= 0 || !write_all(master.as_fd(), &buf[..n as usize]) {
            return;
        }
    }
}

/// Copies the master to `output` until the command has exited and what it wrote is out
/// (a background process of it may keep the pty open: we do not wait for that).
fn copy_output(master: &OwnedFd, output: &OwnedFd, pidfd: BorrowedFd<'_>) {
    let mut buf = [0u8; 4096];
    let mut writable = true;
    let mut pipe = |buf: &mut [u8]| -> bool {
        let n = read_fd(master.as_fd(), buf);
        if n <= 0 {
            // EIO: no slave left.
            return false;
        }
        if writable {
            writable = write_all(output.as_fd(), &buf[..n as usize]);
        }
        true
    };
    let mut master_open = true;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if master_open { master.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return;
        }
        if master_open && fds[1].revents != 0 {
            master_open = pipe(&mut buf);
        }
        if fds[0].revents != 0 {
            while master_open && readable(master.as_fd()) {
                master_open = pipe(&mut buf);
            }
            return;
        }
    }
}

fn readable(fd: BorrowedFd<'_>) -> bool {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 && pfd.revents & libc::POLLIN != 0 }
}

#[cfg(test)]
mod tests;
