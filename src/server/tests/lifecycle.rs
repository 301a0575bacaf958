//! Socket lifecycle: permissions, stale and live sockets, shutdown with open streams.

use super::fake::Fake;
use super::{Harness, pod, spawn_server, wait_ready};
use crate::api::kinds::lookup;
use crate::api::request::{ListOptions, LogOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::remote::RemoteCluster;
use futures::StreamExt;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn socket_is_private_and_removed_on_shutdown() {
    let mut h = Harness::start().await;
    let mode = std::fs::metadata(&h.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    h.stop().await.unwrap();
    assert!(!h.socket.exists());
    let e = h.client.ping().await.unwrap_err();
    assert_eq!(e.reason, crate::api::error::Reason::ServiceUnavailable);
}

#[tokio::test]
async fn a_live_socket_is_not_taken_over() {
    let mut h = Harness::start().await;
    let cluster: Arc<dyn Cluster> = Arc::new(Fake::new());
    let e = super::super::serve(cluster, &h.socket, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    assert!(
        e.to_string().contains(&h.socket.display().to_string()),
        "{e}"
    );
    // The first server is unaffected.
    h.client.ping().await.unwrap();
    h.stop().await.unwrap();
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_other_files_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("peapod.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let (stop, server) = spawn_server(Arc::new(Fake::new()), &socket);
    let client = RemoteCluster::new(socket.clone());
    wait_ready(&client).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(Fake::new());
    let e = super::super::serve(cluster, &file, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let mut h = Harness::start().await;
    h.client
        .create(pod("team", "web", "web"), &WriteOptions::default())
        .await
        .unwrap();
    let from_now = ListOptions {
        resource_version: Some("5".into()),
        ..Default::default()
    };
    let mut watch = h
        .client
        .watch(lookup("pods").unwrap(), None, &from_now)
        .await
        .unwrap();
    let follow = LogOptions {
        follow: true,
        ..Default::default()
    };
    let mut logs = h.client.logs("team", "web", &follow).await.unwrap();

    tokio::time::timeout(Duration::from_secs(2), h.stop())
        .await
        .expect("shutdown waited for the streams")
        .unwrap();
    assert!(!h.socket.exists());
    let end = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
    let mut rest = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(5), logs.next())
        .await
        .unwrap()
    {
        rest.push(chunk.unwrap());
    }
    assert_eq!(rest.concat(), b"one\ntwo\nthree\n");
}

#[tokio::test]
async fn the_client_survives_a_server_restart() {
    let mut h = Harness::start().await;
    // The ping left an idle pooled connection to the first server.
    h.client.ping().await.unwrap();
    h.stop().await.unwrap();
    let (stop, server) = spawn_server(Arc::new(Fake::new()), &h.socket);
    wait_ready(&RemoteCluster::new(h.socket.clone())).await;
    h.client.ping().await.unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
