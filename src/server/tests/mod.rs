//! The real server on a temporary socket in front of an in-memory `Cluster`, driven through
//! `RemoteCluster` (client.rs), with raw HTTP (raw.rs), and through its lifecycle (lifecycle.rs).

mod client;
mod fake;
mod lifecycle;
mod raw;

use crate::cluster::Cluster;
use crate::cluster::remote::RemoteCluster;
use fake::Fake;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct Harness {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub fake: Arc<Fake>,
    pub client: RemoteCluster,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Run `serve` on `socket` in a task; the sender stops it.
pub fn spawn_server(
    fake: Arc<Fake>,
    socket: &Path,
) -> (oneshot::Sender<()>, JoinHandle<std::io::Result<()>>) {
    let (tx, rx) = oneshot::channel::<()>();
    let socket = socket.to_path_buf();
    let cluster: Arc<dyn Cluster> = fake;
    let server = tokio::spawn(async move {
        super::serve(cluster, &socket, async {
            let _ = rx.await;
        })
        .await
    });
    (tx, server)
}

/// Wait until something answers /version on the socket.
pub async fn wait_ready(client: &RemoteCluster) {
    for _ in 0..200 {
        if client.ping().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server did not come up");
}

impl Harness {
    pub async fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("peapod.sock");
        let fake = Arc::new(Fake::new());
        let (stop, server) = spawn_server(fake.clone(), &socket);
        let client = RemoteCluster::new(socket.clone());
        wait_ready(&client).await;
        Harness {
            _dir: dir,
            socket,
            fake,
            client,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Shut the server down and return what `serve` returned.
    pub async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let server = self.server.take().expect("server already stopped");
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve did not stop")
            .unwrap()
    }
}

/// A raw HTTP/1.1 exchange with `Connection: close`: status code, head, body.
pub async fn raw(
    socket: &Path,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let mut s = UnixStream::connect(socket).await.unwrap();
    let ct = content_type
        .map(|c| format!("Content-Type: {c}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, head.to_string(), body.to_string())
}

/// The same with a JSON answer.
pub async fn raw_json(
    socket: &Path,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let (code, _, body) = raw(socket, method, path, content_type, body).await;
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"));
    (code, v)
}

pub fn pod(ns: &str, name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    })
}
