//! `kill -9` of the process holding the store while 1,000 objects are being written: the
//! next start opens the store, every object is whole or absent, and revisions are consistent.

use peapod::api::kinds::lookup;
use peapod::api::object::ObjectExt;
use peapod::api::request::{BatchMode, WriteOptions};
use peapod::cluster::Cluster;
use peapod::cluster::remote::RemoteCluster;
use peapod::store::{Store, StoreOptions};
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cm(i: usize) -> serde_json::Value {
    json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":format!("cm-{i}"),"namespace":"default"},
           "data":{"index": i.to_string(), "payload": "x".repeat(512)}})
}

/// The test's own pod network and service proxy table (never a real `peapod0`), removed with
/// `serve --reset-network` when the test ends, however it ends.
struct Network<'a> {
    state: &'a std::path::Path,
    env: [(&'static str, String); 3],
}

impl Network<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_peapod"));
        c.arg("--state-dir").arg(self.state).args(args);
        c.envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("PEAPOD_HOME")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }
}

impl Drop for Network<'_> {
    fn drop(&mut self) {
        let _ = self.command(&["serve", "--reset-network"]).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_applying_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let id = std::process::id() % 100_000;
    let network = Network {
        state,
        env: [
            ("PEAPOD_BRIDGE", format!("ppcc{id}")),
            ("PEAPOD_POD_CIDR", format!("10.{}.250.0/24", 64 + id % 128)),
            ("PEAPOD_SERVICE_PROXY_TABLE", format!("ppcc{id}")),
        ],
    };
    let mut serve = network.command(&["serve"]).spawn().unwrap();
    let api = RemoteCluster::new(state.join("peapod.sock"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.ping().await.is_err() {
        assert!(Instant::now() < deadline, "peapod serve did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 200 objects as one atomic batch, 800 with one request each from 4 clients; the kill
    // lands while the single creates are under way.
    let writer = tokio::spawn(async move {
        let batch: Vec<_> = (0..200).map(cm).collect();
        let _ = api
            .apply_batch(batch, BatchMode::Apply, "default", &WriteOptions::default())
            .await;
        let api = std::sync::Arc::new(api);
        let mut tasks = Vec::new();
        for w in 0..4 {
            let api = api.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = 200 + w;
                while i < 1000 {
                    if api.create(cm(i), &WriteOptions::default()).await.is_err() {
                        break;
                    }
                    i += 4;
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    serve.kill().unwrap(); // SIGKILL
    serve.wait().unwrap();
    let _ = writer.await;

    let store = Store::open(&state.join("store.redb"), StoreOptions::default())
        .expect("store reopens after kill -9");
    let rev = store.revision();
    let (items, _) = store.list(lookup("cm").unwrap(), Some("default"), |_| true);
    let mut rvs = std::collections::HashSet::new();
    for o in &items {
        let i: usize = o["data"]["index"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            o["data"]["payload"].as_str().unwrap().len(),
            512,
            "object {i} is whole"
        );
        assert!(!o.uid().is_empty());
        let v: u64 = o.resource_version().parse().unwrap();
        assert!(v <= rev, "resourceVersion {v} beyond store revision {rev}");
        assert!(rvs.insert(v), "resourceVersion {v} used twice");
    }
    // the atomic batch is all or nothing
    let batch_count = items
        .iter()
        .filter(|o| {
            o["data"]["index"]
                .as_str()
                .unwrap()
                .parse::<usize>()
                .unwrap()
                < 200
        })
        .count();
    assert!(
        batch_count == 0 || batch_count == 200,
        "batch partly applied: {batch_count}"
    );
    // the kill landed while objects were still being written
    assert!(
        items.len() < 1000,
        "all {} objects were written before the kill",
        items.len()
    );
    // the store keeps working after recovery
    let po = store.create(cm(5000), &WriteOptions::default()).unwrap();
    assert_eq!(po.resource_version(), (rev + 1).to_string());
    // nothing is left running
    assert!(
        !state.join("peapod.sock").exists()
            || std::os::unix::net::UnixStream::connect(state.join("peapod.sock")).is_err()
    );
}
