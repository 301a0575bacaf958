//! One run of a container inside the shim: its process, its output pipes and its log file,
//! and the record of how it started and ended.

use super::os;
use super::protocol::{ContainerRecord, StartError, StartErrorKind, StartRequest};
use crate::runtime::container::{self, Stdio};
use crate::runtime::logs::{LogWriter, Rotation, Stream};
use crate::runtime::sandbox::Sandbox;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Read size for container pipes: small, so the shim stays small; a pipe holds 64 KiB and the
/// loop comes back to it at once.
pub(super) const READ_CHUNK: usize = 8 * 1024;

pub(super) struct Run {
    pub record: ContainerRecord,
    /// The process until it is reaped.
    pub pidfd: Option<OwnedFd>,
    /// Read ends of stdout and stderr until EOF.
    pub pipes: [Option<OwnedFd>; 2],
    pub log: LogWriter,
    /// When the process was reaped.
    pub exited: Option<Instant>,
    /// The exit record was written and sent.
    pub published: bool,
    /// Bytes were logged since the last flush.
    pub dirty: bool,
    record_path: PathBuf,
}

fn start_error(kind: StartErrorKind, message: impl Into<String>) -> StartError {
    StartError {
        kind,
        message: message.into(),
    }
}

/// A container name is a DNS label in Kubernetes; here it only has to be a safe file name.
fn check_name(name: &str) -> Result<(), StartError> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\0']) || name.len() > 253 {
        return Err(start_error(
            StartErrorKind::Invalid,
            format!("container name {name:?} is not a valid file name"),
        ));
    }
    Ok(())
}

pub(super) fn record_path(pod_dir: &Path, container: &str, attempt: u32) -> PathBuf {
    pod_dir
        .join("containers")
        .join(container)
        .join(format!("{attempt}.json"))
}

impl Run {
    /// Starts the container with its output going to new pipes and its log file.
    pub fn start(
        pod_dir: &Path,
        sandbox: &Sandbox,
        rotation: Rotation,
        req: &StartRequest,
    ) -> Result<Run, StartError> {
        check_name(&req.container)?;
        let sys = |what: &str, e: std::io::Error| {
            start_error(
                StartErrorKind::Sys,
                format!("container {}: {what}: {e}", req.container),
            )
        };
        let record_path = record_path(pod_dir, &req.container, req.attempt);
        if let Some(dir) = record_path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| sys(&format!("create {}", dir.display()), e))?;
        }
        let log = LogWriter::open(&req.log_dir, req.attempt, rotation)
            .map_err(|e| sys(&format!("open the log in {}", req.log_dir.display()), e))?;
        let (out_r, out_w) = os::output_pipe().map_err(|e| sys("create a pipe", e))?;
        let (err_r, err_w) = os::output_pipe().map_err(|e| sys("create a pipe", e))?;
        let stdio = Stdio {
            stdin: None,
            stdout: Some(out_w.as_fd()),
            stderr: Some(err_w.as_fd()),
        };
        let started_at = os::now_nanos();
        let child = container::spawn(&req.spec, sandbox, stdio).map_err(|e| {
            let kind = match e {
                container::Error::Invalid(_) => StartErrorKind::Invalid,
                container::Error::Setup(_) => StartErrorKind::Setup,
                container::Error::Exec(_) => StartErrorKind::Exec,
                container::Error::Sys { .. } => StartErrorKind::Sys,
            };
            start_error(kind, format!("container {}: {e}", req.container))
        })?;
        // Only the container holds the write ends now: EOF means every writer is gone.
        drop((out_w, err_w));
        let pid = child.pid;
        let run = Run {
            record: ContainerRecord {
                container: req.container.clone(),
                attempt: req.attempt,
                pid,
                started_at,
                finished_at: None,
                exit_code: None,
                signal: None,
            },
            pidfd: Some(child.into_pidfd()),
            pipes: [Some(out_r), Some(err_r)],
            log,
            exited: None,
            published: false,
            dirty: false,
            record_path,
        };
        // A restarted agent learns the attempt numbers from these files; failing to write one
        // is not worth killing the container for.
        let _ = run.save();
        Ok(run)
    }

    pub fn running(&self) -> bool {
        self.pidfd.is_some()
    }

    pub fn save(&self) -> std::io::Result<()> {
        let mut json = serde_json::to_vec(&self.record).map_err(std::io::Error::other)?;
        json.push(b'\n');
        os::write_atomic(&self.record_path, &json)
    }

    /// Reads what one pipe has; at EOF the pipe is closed and its last line completed.
    /// Returns false when the pipe has nothing more right now.
    pub fn pump(&mut self, which: usize, buf: &mut [u8]) -> bool {
        let stream = if which == 0 {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        let Some(fd) = &self.pipes[which] else {
            return false;
        };
        match os::read_some(fd.as_fd(), buf) {
            Ok(None) => false,
            Ok(Some(n)) if n > 0 => {
                // A full disk loses output but must not take the pod down.
                let _ = self.log.write(stream, &buf[..n]);
                self.dirty = true;
                true
            }
            // EOF, or an error that will not go away: the stream is over.
            _ => {
                let _ = self.log.close_stream(stream);
                self.pipes[which] = None;
                false
            }
        }
    }

    /// Reads both pipes until they have nothing more right now.
    pub fn drain(&mut self, buf: &mut [u8]) {
        for which in 0..2 {
            while self.pump(which, buf) {}
        }
    }

    pub fn flush(&mut self) {
        if self.dirty {
            let _ = self.log.flush();
            self.dirty = false;
        }
    }

    /// The process exited: reap it and fill in the exit fields (not yet published).
    pub fn reaped(&mut self) {
        let Some(_pidfd) = self.pidfd.take() else {
            return;
        };
        // Only this code reaps container processes (the orphan reaper skips them), so the
        // status is there; if it is not, the record says "finished, code unknown".
        if let Ok(status) = crate::runtime::container::sys::wait_pid(self.record.pid) {
            let (code, signal) = os::exit_of(status);
            self.record.exit_code = Some(code);
            self.record.signal = signal;
        }
        self.record.finished_at = Some(os::now_nanos());
        self.exited = Some(Instant::now());
    }

    pub fn pipes_closed(&self) -> bool {
        self.pipes.iter().all(Option::is_none)
    }
}
