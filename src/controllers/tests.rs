//! Garbage collection and namespace deletion against a real store, with the controllers
//! running as they do in `peapod serve`.

use crate::api::kinds::lookup;
use crate::api::object::{ObjectExt, OwnerReference};
use crate::api::request::{DeleteOptions, Propagation, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::embedded::EmbeddedCluster;
use crate::store::{Store, StoreOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

struct Env {
    _dir: tempfile::TempDir,
    cluster: Arc<dyn Cluster>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let cluster: Arc<dyn Cluster> = Arc::new(EmbeddedCluster::new(store, dir.path().join("logs")));
    let handles = super::start_all(cluster.clone());
    Env {
        _dir: dir,
        cluster,
        handles,
    }
}

fn cm(name: &str, ns: &str, owner: Option<&Value>, block: bool) -> Value {
    let mut o =
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":ns}});
    if let Some(owner) = owner {
        let mut r = OwnerReference::controller_of(owner);
        r["blockOwnerDeletion"] = json!(block);
        o["metadata"]["ownerReferences"] = json!([r]);
    }
    o
}

async fn gone(c: &dyn Cluster, kind: &str, ns: Option<&str>, name: &str) -> bool {
    let k = lookup(kind).unwrap();
    for _ in 0..200 {
        if c.get(k, ns, name).await.is_err_and(|e| e.is_not_found()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_removes_dependents() {
    let e = env();
    let c = e.cluster.as_ref();
    let w = WriteOptions::default();
    let owner = c
        .create(cm("owner", "default", None, false), &w)
        .await
        .unwrap();
    c.create(cm("dep", "default", Some(&owner), false), &w)
        .await
        .unwrap();
    c.delete(
        lookup("cm").unwrap(),
        Some("default"),
        "owner",
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    assert!(gone(c, "cm", Some("default"), "dep").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let e = env();
    let c = e.cluster.as_ref();
    let w = WriteOptions::default();
    let owner = c
        .create(cm("owner", "default", None, false), &w)
        .await
        .unwrap();
    let mut dep = cm("dep", "default", Some(&owner), true);
    dep["metadata"]["finalizers"] = json!(["test/hold"]);
    c.create(dep, &w).await.unwrap();
    let opts = DeleteOptions {
        propagation: Some(Propagation::Foreground),
        ..Default::default()
    };
    let k = lookup("cm").unwrap();
    c.delete(k, Some("default"), "owner", &opts).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // the dependent is being deleted but held by its finalizer: the owner must wait
    let d = c.get(k, Some("default"), "dep").await.unwrap();
    assert!(d.deletion_timestamp().is_some());
    let o = c.get(k, Some("default"), "owner").await.unwrap();
    assert_eq!(o.finalizers(), vec!["foregroundDeletion".to_string()]);
    let mut d = d.clone();
    d["metadata"].as_object_mut().unwrap().remove("finalizers");
    c.update(d, &w).await.unwrap();
    assert!(gone(c, "cm", Some("default"), "dep").await);
    assert!(gone(c, "cm", Some("default"), "owner").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let e = env();
    let c = e.cluster.as_ref();
    let w = WriteOptions::default();
    let owner = c
        .create(cm("owner", "default", None, false), &w)
        .await
        .unwrap();
    c.create(cm("dep", "default", Some(&owner), true), &w)
        .await
        .unwrap();
    let opts = DeleteOptions {
        propagation: Some(Propagation::Orphan),
        ..Default::default()
    };
    let k = lookup("cm").unwrap();
    c.delete(k, Some("default"), "owner", &opts).await.unwrap();
    assert!(gone(c, "cm", Some("default"), "owner").await);
    let d = c.get(k, Some("default"), "dep").await.unwrap();
    assert!(d.owner_references().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_deletion_cascades_to_its_content() {
    let e = env();
    let c = e.cluster.as_ref();
    let w = WriteOptions::default();
    c.create(
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}),
        &w,
    )
    .await
    .unwrap();
    c.create(cm("a", "shop", None, false), &w).await.unwrap();
    c.create(
        json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},
               "spec":{"containers":[{"name":"c","image":"busybox:1"}]}}),
        &w,
    )
    .await
    .unwrap();
    c.delete(
        lookup("ns").unwrap(),
        None,
        "shop",
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    assert!(gone(c, "ns", None, "shop").await);
    assert!(
        c.get(lookup("cm").unwrap(), Some("shop"), "a")
            .await
            .is_err()
    );
    assert!(
        c.get(lookup("po").unwrap(), Some("shop"), "p")
            .await
            .is_err()
    );
}
