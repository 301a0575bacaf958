//! Messages between the node agent and a pod's shim (JSON, one per line).

use crate::runtime::container::ContainerSpec;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What the shim needs to create the pod sandbox (written to `<pod-dir>/shim.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimConfig {
    pub pod_uid: String,
    /// `namespace/name`, for messages and the process title.
    pub pod: String,
    /// Sandbox hostname (pod name or spec.hostname).
    pub hostname: String,
    pub share_pid: bool,
    pub host_network: bool,
    /// Log rotation: bytes per file and files kept (10 MiB × 5 by default).
    pub log_max_size: u64,
    pub log_max_files: usize,
    /// `cgroup.procs` files the shim and its sandbox holder join (the pod cgroup), if any.
    pub cgroup_procs: Vec<PathBuf>,
}

/// Start one run of a container. Its logs go to `<log_dir>/<attempt>.log`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartRequest {
    pub container: String,
    /// The restart count of this run (0 for the first).
    pub attempt: u32,
    pub spec: ContainerSpec,
    pub log_dir: PathBuf,
}

/// One run of a container: running while `finished_at` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub container: String,
    pub attempt: u32,
    /// Host pid while running.
    pub pid: i32,
    /// RFC 3339 with nanoseconds.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Exit status: code for a normal exit, 128+signal when killed by a signal.
    pub exit_code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartErrorKind {
    /// The spec cannot run here (CreateContainerError).
    Invalid,
    /// A setup step failed: mounts, user, capabilities (CreateContainerError).
    Setup,
    /// execve failed (RunContainerError).
    Exec,
    /// A system call in the shim failed.
    Sys,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct StartError {
    pub kind: StartErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimState {
    pub shim_pid: i32,
    pub sandbox_pid: i32,
    /// The latest run of every container started so far.
    pub containers: Vec<ContainerRecord>,
}

// One request at a time, short-lived: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Start(StartRequest),
    /// Signal the running process of a container (no-op when it is not running).
    Signal {
        container: String,
        signal: i32,
    },
    State,
    /// Keep the connection open; the shim writes a `ContainerRecord` line per exit.
    Watch,
    /// Kill every container (SIGKILL), destroy the sandbox, remove the socket and exit.
    Shutdown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Started(ContainerRecord),
    StartFailed(StartError),
    State(ShimState),
    Ok,
    Error(String),
}
