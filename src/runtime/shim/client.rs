//! The node agent's side: launch a shim, talk to it (async, tokio).
//!
//! Every request opens its own connection to `<pod_dir>/shim.sock`, so clients hold no state
//! and any process (a restarted agent, a test) can talk to a running shim.

use super::protocol::{
    ContainerRecord, Request, Response, ShimConfig, ShimState, StartError, StartRequest,
};
use crate::runtime::container::sys;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// How long one request may take (a container start mounts its filesystems; shutdown kills
/// and waits for every container).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `launch` waits for the shim to report, and `shutdown` for it to exit.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// No shim answers at this pod directory (never started, or it died).
    #[error("the pod's shim is not running ({0})")]
    Gone(String),
    #[error("{0}")]
    Other(String),
}

/// A connection target: the pod directory of a running shim.
#[derive(Debug, Clone)]
pub struct ShimClient {
    pub pod_dir: PathBuf,
    pub shim_pid: i32,
    pub sandbox_pid: i32,
}

fn io_error(pod_dir: &Path, e: io::Error) -> ShimError {
    let sock = pod_dir.join(super::SOCKET);
    match e.kind() {
        io::ErrorKind::NotFound
        | io::ErrorKind::ConnectionRefused
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ShimError::Gone(format!("{}: {e}", sock.display())),
        _ => ShimError::Other(format!("shim socket {}: {e}", sock.display())),
    }
}

/// Connects and sends one request line.
async fn send(pod_dir: &Path, request: &Request) -> Result<BufReader<UnixStream>, ShimError> {
    let mut stream = UnixStream::connect(pod_dir.join(super::SOCKET))
        .await
        .map_err(|e| io_error(pod_dir, e))?;
    let mut line = serde_json::to_vec(request)
        .map_err(|e| ShimError::Other(format!("encode a shim request: {e}")))?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .await
        .map_err(|e| io_error(pod_dir, e))?;
    Ok(BufReader::new(stream))
}

/// Reads one JSON line; `None` when the shim closed the connection.
async fn receive<T: serde::de::DeserializeOwned>(
    pod_dir: &Path,
    reader: &mut BufReader<UnixStream>,
) -> Result<Option<T>, ShimError> {
    let mut line = String::new();
    if reader
        .read_line(&mut line)
        .await
        .map_err(|e| io_error(pod_dir, e))?
        == 0
    {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| ShimError::Other(format!("bad answer from the shim: {e}: {line:?}")))
}

/// One request, one response.
async fn call(pod_dir: &Path, request: &Request) -> Result<Response, ShimError> {
    let exchange = async {
        let mut reader = send(pod_dir, request).await?;
        receive::<Response>(pod_dir, &mut reader)
            .await?
            .ok_or_else(|| {
                ShimError::Gone(format!(
                    "{}: closed without answering",
                    pod_dir.join(super::SOCKET).display()
                ))
            })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            ShimError::Other(format!(
                "the shim of {} did not answer within {}s",
                pod_dir.display(),
                REQUEST_TIMEOUT.as_secs()
            ))
        })?
}

fn unexpected(response: Response) -> ShimError {
    match response {
        Response::Error(msg) => ShimError::Other(msg),
        other => ShimError::Other(format!("unexpected answer from the shim: {other:?}")),
    }
}

/// Starts `<exe> shim <pod_dir>` (which double-forks and detaches), waits until its socket
/// answers, and returns a client. Fails with the shim's own message if the sandbox could not
/// be created; then nothing is left behind.
pub async fn launch(
    exe: &Path,
    pod_dir: &Path,
    config: &ShimConfig,
) -> Result<ShimClient, ShimError> {
    if let Ok(running) = connect(pod_dir).await {
        return Err(ShimError::Other(format!(
            "pod {}: a shim already runs for it (pid {})",
            config.pod, running.shim_pid
        )));
    }
    let other = |what: &str, e: &dyn std::fmt::Display| {
        ShimError::Other(format!("pod {}: {what}: {e}", config.pod))
    };
    tokio::fs::create_dir_all(pod_dir)
        .await
        .map_err(|e| other(&format!("create {}", pod_dir.display()), &e))?;
    let json = serde_json::to_vec_pretty(config).map_err(|e| other("encode the config", &e))?;
    let path = pod_dir.join(super::CONFIG);
    let tmp = pod_dir.join(format!(".{}.tmp", super::CONFIG));
    tokio::fs::write(&tmp, &json)
        .await
        .map_err(|e| other(&format!("write {}", tmp.display()), &e))?;
    tokio::fs::rename(&tmp, &path)
        .await
        .map_err(|e| other(&format!("write {}", path.display()), &e))?;
    let output = tokio::process::Command::new(exe)
        .arg("shim")
        .arg(pod_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output();
    let output = tokio::time::timeout(PROCESS_TIMEOUT, output)
        .await
        .map_err(|_| {
            ShimError::Other(format!(
                "pod {}: the shim did not report within {}s",
                config.pod,
                PROCESS_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| other(&format!("run {} shim", exe.display()), &e))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        let msg = text.trim();
        let msg = msg.strip_prefix("peapod shim: ").unwrap_or(msg);
        return Err(ShimError::Other(if msg.is_empty() {
            format!("pod {}: the shim failed ({})", config.pod, output.status)
        } else {
            msg.to_string()
        }));
    }
    connect(pod_dir).await
}

/// Re-adopts the shim of `pod_dir` if one answers.
pub async fn connect(pod_dir: &Path) -> Result<ShimClient, ShimError> {
    match call(pod_dir, &Request::State).await? {
        Response::State(state) => Ok(ShimClient {
            pod_dir: pod_dir.to_path_buf(),
            shim_pid: state.shim_pid,
            sandbox_pid: state.sandbox_pid,
        }),
        other => Err(unexpected(other)),
    }
}

impl ShimClient {
    pub async fn start(
        &self,
        req: StartRequest,
    ) -> Result<Result<ContainerRecord, StartError>, ShimError> {
        match call(&self.pod_dir, &Request::Start(req)).await? {
            Response::Started(record) => Ok(Ok(record)),
            Response::StartFailed(e) => Ok(Err(e)),
            other => Err(unexpected(other)),
        }
    }

    pub async fn signal(&self, container: &str, signal: i32) -> Result<(), ShimError> {
        let request = Request::Signal {
            container: container.to_string(),
            signal,
        };
        match call(&self.pod_dir, &request).await? {
            Response::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    pub async fn state(&self) -> Result<ShimState, ShimError> {
        match call(&self.pod_dir, &Request::State).await? {
            Response::State(state) => Ok(state),
            other => Err(unexpected(other)),
        }
    }

    /// Exit records as they happen; the channel closes when the shim exits or dies.
    /// Every exit after this returns is delivered (the shim confirms the registration).
    pub async fn watch(&self) -> Result<tokio::sync::mpsc::Receiver<ContainerRecord>, ShimError> {
        let pod_dir = self.pod_dir.clone();
        let register = async {
            let mut reader = send(&pod_dir, &Request::Watch).await?;
            match receive::<Response>(&pod_dir, &mut reader).await? {
                Some(Response::Ok) => Ok(reader),
                Some(other) => Err(unexpected(other)),
                None => Err(ShimError::Gone(format!(
                    "{}: closed without answering",
                    pod_dir.join(super::SOCKET).display()
                ))),
            }
        };
        let mut reader = tokio::time::timeout(REQUEST_TIMEOUT, register)
            .await
            .map_err(|_| ShimError::Other("the shim did not answer Watch".to_string()))??;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    r = receive::<ContainerRecord>(&pod_dir, &mut reader) => r,
                    _ = tx.closed() => break,
                };
                match next {
                    Ok(Some(record)) => {
                        if tx.send(record).await.is_err() {
                            break;
                        }
                    }
                    // The shim exited (or sent garbage): the channel closes.
                    _ => break,
                }
            }
        });
        Ok(rx)
    }

    /// Kills everything in the pod and waits until the shim has exited.
    pub async fn shutdown(&self) -> Result<(), ShimError> {
        // Opened before asking, so that the wait below cannot follow a recycled pid.
        let pidfd = sys::pidfd_open(self.shim_pid).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH) => ShimError::Gone(format!("process {} has exited", self.shim_pid)),
            _ => ShimError::Other(format!("open shim process {}: {e}", self.shim_pid)),
        })?;
        match call(&self.pod_dir, &Request::Shutdown).await? {
            Response::Ok => {}
            other => return Err(unexpected(other)),
        }
        let exited = async {
            // SAFETY: the OwnedFd is a valid pidfd, owned (and closed) by the AsyncFd only.
            let fd = unsafe {
                tokio::io::unix::AsyncFd::register_with_interest(
                    pidfd,
                    tokio::io::Interest::READABLE,
                )
            }
            .map_err(|e| io::Error::other(e.to_string()))?;
            let _ = fd.readable().await?;
            io::Result::Ok(())
        };
        match tokio::time::timeout(PROCESS_TIMEOUT, exited).await {
            Ok(Ok(())) => {
                reap_if_child(self.shim_pid);
                Ok(())
            }
            Ok(Err(e)) => Err(ShimError::Other(format!(
                "wait for shim process {}: {e}",
                self.shim_pid
            ))),
            Err(_) => Err(ShimError::Other(format!(
                "shim process {} did not exit within {}s of Shutdown",
                self.shim_pid,
                PROCESS_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Reaps an exited shim when it is our child: a node agent that is a child subreaper
/// inherits the shims it launched (the double fork re-parents them to it), and PID 1 may reap
/// slowly. Not our child (a re-adopted shim): nothing happens. Call only after the process
/// exited; an exited child keeps its pid until reaped, so this cannot hit a recycled pid.
pub fn reap_if_child(pid: i32) {
    // SAFETY: waitpid with WNOHANG on one pid; no memory is passed.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
    }
}
