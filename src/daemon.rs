//! Process model: state directory, store lock, `serve`, and how a CLI verb reaches the cluster.
//! STUB: signatures fixed; implementation pending.

use crate::cluster::Cluster;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `--state-dir`, else `PEAPOD_HOME`, else /var/lib/peapod as root, else the XDG data dir.
pub fn state_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| PathBuf::from("/var/lib/peapod"))
}

/// A connection to the cluster for one CLI invocation.
pub struct Connection {
    pub cluster: Arc<dyn Cluster>,
    /// True when no `peapod serve`/console runs and this process opened the store itself.
    pub embedded: bool,
}

/// Use the socket of a running peapod if there is one, else open the store directly (waiting
/// briefly for another short-lived CLI to release it). Errors are one line for the user.
pub async fn connect(_state: &Path) -> Result<Connection, String> {
    Err("not implemented".into())
}

/// Options of `peapod serve`.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {}

/// Run headless: hold the store, run controllers, serve the socket until SIGINT/SIGTERM.
pub async fn serve(_state: &Path, _opts: ServeOptions) -> Result<(), String> {
    Err("not implemented".into())
}
