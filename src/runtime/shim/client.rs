//! The node agent's side: launch a shim, talk to it (async, tokio).

use super::protocol::{ContainerRecord, ShimConfig, ShimState, StartError, StartRequest};
use std::path::{Path, PathBuf};

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

/// Starts `<exe> shim <pod_dir>` (which double-forks and detaches), waits until its socket
/// answers, and returns a client. Fails with the shim's own message if the sandbox could not
/// be created; then nothing is left behind.
pub async fn launch(
    exe: &Path,
    pod_dir: &Path,
    config: &ShimConfig,
) -> Result<ShimClient, ShimError> {
    let _ = (exe, pod_dir, config);
    todo!()
}

/// Re-adopts the shim of `pod_dir` if one answers.
pub async fn connect(pod_dir: &Path) -> Result<ShimClient, ShimError> {
    let _ = pod_dir;
    todo!()
}

impl ShimClient {
    pub async fn start(
        &self,
        req: StartRequest,
    ) -> Result<Result<ContainerRecord, StartError>, ShimError> {
        let _ = req;
        todo!()
    }

    pub async fn signal(&self, container: &str, signal: i32) -> Result<(), ShimError> {
        let _ = (container, signal);
        todo!()
    }

    pub async fn state(&self) -> Result<ShimState, ShimError> {
        todo!()
    }

    /// Exit records as they happen; the channel closes when the shim exits or dies.
    pub async fn watch(&self) -> Result<tokio::sync::mpsc::Receiver<ContainerRecord>, ShimError> {
        todo!()
    }

    /// Kills everything in the pod and waits until the shim has exited.
    pub async fn shutdown(&self) -> Result<(), ShimError> {
        todo!()
    }
}
