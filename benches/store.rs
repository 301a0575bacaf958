//! In-process costs of the store, below the API socket: list with a label selector over
//! 10,000 pods, and the JSON encode/decode a list response pays. `peapod bench` measures the
//! same through the API; comparing the two shows what the socket and JSON add.

use criterion::{Criterion, criterion_group, criterion_main};

// The same allocator as the peapod binary, so the numbers match what it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use peapod::api::kinds::lookup;
use peapod::api::request::{BatchMode, ListOptions, WriteOptions};
use peapod::cluster::Cluster;
use peapod::cluster::embedded::EmbeddedCluster;
use peapod::store::{Store, StoreOptions};
use serde_json::{Value, json};
use std::sync::Arc;

fn pod(i: usize) -> Value {
    json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":format!("p-{i}"),"namespace":"default",
        "labels":{"app":format!("app-{}", i % 10),"tier":"web"}},
        "spec":{"containers":[{"name":"main","image":"busybox:1.36","command":["sleep","3600"],
        "resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}})
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let objs: Vec<Value> = (0..10_000).map(pod).collect();
    store
        .apply_batch(objs, BatchMode::Create, "default", &WriteOptions::default())
        .unwrap();
    let cluster = EmbeddedCluster::new(store.clone(), dir.path().join("logs"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let po = lookup("pods").unwrap();
    let sel = ListOptions {
        label_selector: Some("app=app-3".into()),
        ..Default::default()
    };
    c.bench_function("store list 10k pods, selector matches 1k", |b| {
        b.iter(|| {
            rt.block_on(cluster.list(po, None, &sel))
                .unwrap()
                .items
                .len()
        })
    });
    let all = ListOptions {
        label_selector: Some("tier=web".into()),
        ..Default::default()
    };
    c.bench_function("store list 10k pods, selector matches all", |b| {
        b.iter(|| {
            rt.block_on(cluster.list(po, None, &all))
                .unwrap()
                .items
                .len()
        })
    });
    let items = rt.block_on(cluster.list(po, None, &sel)).unwrap().items;
    let body = serde_json::to_vec(&json!({"items": items})).unwrap();
    c.bench_function("encode 1k pods as JSON", |b| {
        b.iter(|| serde_json::to_vec(&items).unwrap().len())
    });
    c.bench_function("decode 1k pods from JSON", |b| {
        b.iter(|| serde_json::from_slice::<Value>(&body).unwrap().is_object())
    });
    let mut n = 0usize;
    c.bench_function("create 100 pods in one batch (validated, durable)", |b| {
        b.iter(|| {
            let objs: Vec<Value> = (0..100).map(|i| pod(100_000 + n * 100 + i)).collect();
            n += 1;
            store
                .apply_batch(objs, BatchMode::Create, "default", &WriteOptions::default())
                .unwrap()
                .len()
        })
    });
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(store);
