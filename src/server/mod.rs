//! Kubernetes-style REST API over the local unix socket. STUB (being written on branch wt-d).

use crate::cluster::Cluster;
use std::path::Path;
use std::sync::Arc;

pub async fn serve(
    _cluster: Arc<dyn Cluster>,
    _socket: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    shutdown.await;
    Ok(())
}
