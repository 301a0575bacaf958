use super::*;
use crate::api::request::{DeleteOptions, WriteOptions};
use crate::cluster::embedded::EmbeddedCluster;
use crate::net::dns::wire::{self, RCODE_NOERROR, RCODE_NXDOMAIN, RData, TYPE_A};
use crate::store::{Store, StoreOptions};
use serde_json::json;
use std::time::Instant;

async fn create(c: &dyn Cluster, obj: Value) {
    c.create(obj, &WriteOptions::default()).await.unwrap();
}

/// Polls the zone until `name` answers `want` (A records, sorted), 5 s at most.
async fn wait_for(dns: &ClusterDns, name: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let a = dns.zone.get().lookup(name, TYPE_A);
        let mut got: Vec<String> = a
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(ip) => Some(ip.to_string()),
                _ => None,
            })
            .collect();
        got.sort();
        let done = if want.is_empty() {
            a.rcode == RCODE_NXDOMAIN
        } else {
            a.rcode == RCODE_NOERROR && got == want
        };
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: want {want:?}, got {got:?} ({})",
            a.rcode
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zone_follows_services_endpoints_and_pods() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let cluster: Arc<dyn Cluster> = Arc::new(EmbeddedCluster::new(store, dir.path().join("logs")));
    let upstream = Upstream {
        servers: Vec::new(),
        timeout: Duration::from_millis(100),
    };
    let dns = start(cluster.clone(), "127.0.0.1:0".parse().unwrap(), upstream)
        .await
        .unwrap();

    create(
        &*cluster,
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}}),
    )
    .await;
    wait_for(&dns, "web.default.svc.cluster.local", &["10.96.0.20"]).await;

    // A headless service of a StatefulSet: web-0 has hostname/subdomain; the Endpoints name
    // it only by targetRef.
    create(
        &*cluster,
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"clusterIP": "None", "ports": [{"port": 5432}]}}),
    )
    .await;
    create(
        &*cluster,
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "db-0", "namespace": "default"},
        "spec": {"hostname": "db-0", "subdomain": "db",
                 "containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    create(&*cluster, json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "db", "namespace": "default"},
        "subsets": [{"addresses": [
            {"ip": "10.88.0.5", "targetRef": {"kind": "Pod", "name": "db-0", "namespace": "default"}},
            {"ip": "10.88.0.6"}],
            "ports": [{"port": 5432}]}]}))
    .await;
    wait_for(
        &dns,
        "db.default.svc.cluster.local",
        &["10.88.0.5", "10.88.0.6"],
    )
    .await;
    wait_for(&dns, "db-0.db.default.svc.cluster.local", &["10.88.0.5"]).await;

    // Through the server over UDP.
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(
        &wire::build_query(3, "db-0.db.default.svc.cluster.local", TYPE_A),
        dns.server.udp_addr,
    )
    .await
    .unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let resp = &buf[..n];
    assert_eq!(u16::from_be_bytes([resp[6], resp[7]]), 1, "one answer");
    assert_eq!(&resp[n - 4..], &[10, 88, 0, 5]);

    // Deleting the service removes its names.
    let svc = kinds::lookup("services").unwrap();
    cluster
        .delete(svc, Some("default"), "web", &DeleteOptions::default())
        .await
        .unwrap();
    wait_for(&dns, "web.default.svc.cluster.local", &[]).await;
}
