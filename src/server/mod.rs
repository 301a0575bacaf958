//! Kubernetes-style REST API over the local unix socket: HTTP/1.1 (hyper), JSON bodies, JSON-line
//! watch streams, legacy discovery, and one peapod extension (atomic batch apply). It knows the
//! cluster only through the `Cluster` trait.

mod discovery;
mod handlers;
mod params;
mod respond;
mod routes;
#[cfg(test)]
mod tests;

use crate::cluster::Cluster;
use handlers::Ctx;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long in-flight requests may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Serve the API on `socket` until `shutdown` completes; then stop accepting, give in-flight
/// requests a moment, end open streams, and remove the socket file.
///
/// A stale socket file (nothing answers on it) is replaced; a live one is an `AddrInUse` error.
pub async fn serve(
    cluster: Arc<dyn Cluster>,
    socket: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = bind(socket).await?;
    // Remember which file we created, so shutdown never removes a successor's socket.
    let identity = std::fs::metadata(socket).map(|m| (m.dev(), m.ino())).ok();
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        cluster,
        stop: stop_rx.clone(),
    });
    let mut conns = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_connection(ctx.clone(), stream, stop_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept on {}: {e}", socket.display());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
    }
    let current = std::fs::symlink_metadata(socket)
        .map(|m| (m.dev(), m.ino()))
        .ok();
    if current.is_some() && current == identity {
        let _ = std::fs::remove_file(socket);
    }
    Ok(())
}

/// Bind the listener, replacing a stale socket file, and restrict it to the owner.
async fn bind(socket: &Path) -> io::Result<UnixListener> {
    let shown = socket.display();
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{shown} exists and is not a socket: move it away and start again"),
            ));
        }
        Ok(_) => match UnixStream::connect(socket).await {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("another peapod is already serving on {shown}"),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(socket).map_err(|e| {
                    io::Error::new(e.kind(), format!("removing stale socket {shown}: {e}"))
                })?;
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("probing existing socket {shown}: {e}"),
                ));
            }
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("{shown}: {e}"))),
    }
    let listener = UnixListener::bind(socket)
        .map_err(|e| io::Error::new(e.kind(), format!("binding {shown}: {e}")))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io::Error::new(e.kind(), format!("restricting {shown} to mode 0600: {e}")))?;
    Ok(listener)
}

/// One keep-alive HTTP/1.1 connection; on shutdown it finishes the current response and closes.
async fn serve_connection(ctx: Arc<Ctx>, stream: UnixStream, mut stop: watch::Receiver<bool>) {
    let service = service_fn(move |req| {
        let ctx = ctx.clone();
        async move { Ok::<_, std::convert::Infallible>(handlers::handle(ctx, req).await) }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!("api connection: {e}");
            }
            return;
        }
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!("api connection during shutdown: {e}");
    }
}
