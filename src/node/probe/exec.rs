//! Exec probes and hooks: run a command inside the container with stdout and stderr captured
//! in one pipe (the kubelet combines them), up to a byte limit, within a deadline. The
//! process is ours (exec_in makes us its parent): on timeout it is killed through its pidfd,
//! and it is always reaped.

use crate::runtime::container::sys;
use crate::runtime::container::{ExecSpec, Stdio, exec_in};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How much output the kubelet keeps from an exec probe (10 KiB).
pub const MAX_OUTPUT: usize = 10 * 1024;

/// The end of one exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecResult {
    /// The command ended: exit code (128+signal when killed by a signal) and output.
    Exited { code: i32, output: String },
    /// The deadline passed; the process was killed and reaped.
    TimedOut,
    /// It could not be started (container gone, executable missing, ...).
    Failed(String),
}

/// Runs `argv` in the container whose main process is `container_pid` (blocking: call it
/// from a blocking thread). Output beyond `limit` bytes is read and dropped so the command
/// never blocks on a full pipe.
pub fn run(
    container_pid: i32,
    argv: &[String],
    env: &[String],
    timeout: Option<Duration>,
    limit: usize,
) -> ExecResult {
    if argv.is_empty() {
        return ExecResult::Failed("no command given".to_string());
    }
    let (r, w) = match sys::report_pipe() {
        Ok(p) => p,
        Err(e) => return ExecResult::Failed(format!("create a pipe: {e}")),
    };
    let spec = ExecSpec {
        argv: argv.to_vec(),
        env: env.to_vec(),
        ..ExecSpec::default()
    };
    let stdio = Stdio {
        stdin: None,
        stdout: Some(w.as_fd()),
        stderr: Some(w.as_fd()),
    };
    let child = match exec_in(container_pid, &spec, stdio) {
        Ok(c) => c,
        Err(e) => return ExecResult::Failed(e.to_string()),
    };
    // Our copy of the write end must go, or EOF never comes.
    drop(w);
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut output = Vec::new();
    let finished = collect(&r, child.pidfd(), deadline, limit, &mut output);
    if !finished {
        // ESRCH only if it exited in between: the wait below reaps it either way.
        let _ = child.signal(libc::SIGKILL);
    }
    let status = child.wait();
    if !finished {
        return ExecResult::TimedOut;
    }
    let code = match status {
        Ok(s) => {
            use std::os::unix::process::ExitStatusExt;
            s.code().unwrap_or(128 + s.signal().unwrap_or(0))
        }
        Err(e) => return ExecResult::Failed(format!("wait for the command: {e}")),
    };
    ExecResult::Exited {
        code,
        output: String::from_utf8_lossy(&output).into_owned(),
    }
}

/// Reads the pipe until the process has exited (then drains what is already written: a
/// background child may keep the pipe open forever) or the deadline passes. True when the
/// process exited in time.
fn collect(
    r: &OwnedFd,
    pidfd: std::os::fd::BorrowedFd<'_>,
    deadline: Option<Instant>,
    limit: usize,
    out: &mut Vec<u8>,
) -> bool {
    let mut pipe_open = true;
    let mut buf = [0u8; 4096];
    loop {
        let wait_ms = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                left.as_millis().clamp(1, i32::MAX as u128) as i32
            }
            None => -1,
        };
        let mut fds = [
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if pipe_open { r.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd entries (a negative fd is ignored by poll).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, wait_ms) };
        if n < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            // Cannot wait any more: treat as a timeout so the process is killed.
            return false;
        }
        if pipe_open && fds[1].revents != 0 {
            match read_some(r, &mut buf) {
                Some(0) | None => pipe_open = false,
                Some(k) => keep(out, &buf[..k], limit),
            }
        }
        if fds[0].revents != 0 {
            // Exited: take what is already in the pipe without waiting for EOF.
            while pipe_open && readable_now(r) {
                match read_some(r, &mut buf) {
                    Some(0) | None => pipe_open = false,
                    Some(k) => keep(out, &buf[..k], limit),
                }
            }
            return true;
        }
    }
}

fn keep(out: &mut Vec<u8>, data: &[u8], limit: usize) {
    let room = limit.saturating_sub(out.len());
    out.extend_from_slice(&data[..data.len().min(room)]);
}

fn readable_now(r: &OwnedFd) -> bool {
    let mut pfd = libc::pollfd {
        fd: r.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 }
}

/// One read; `None` on error.
fn read_some(r: &OwnedFd, buf: &mut [u8]) -> Option<usize> {
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Some(n as usize);
        }
        if sys::errno() != libc::EINTR {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_capped() {
        let mut out = Vec::new();
        keep(&mut out, b"hello", 8);
        keep(&mut out, b"world", 8);
        assert_eq!(out, b"hellowor");
        keep(&mut out, b"more", 8);
        assert_eq!(out.len(), 8);
    }

    #[test]
    fn empty_command_is_refused() {
        assert!(matches!(
            run(std::process::id() as i32, &[], &[], None, MAX_OUTPUT),
            ExecResult::Failed(_)
        ));
    }
}
