//! The console's main table with 10,000 pods: loading them from a watch (10,000 upserts),
//! and the per-frame cost — one watch update, then the 40 rows on screen built. The issue's
//! target is a frame with 10,000 pods in the store at p99 ≤ 4 ms; this measures the model's
//! share of it (no terminal drawing). Run: `cargo bench --bench tui_table`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use peapod::api::kinds::lookup;
use peapod::api::request::{EventType, WatchEvent};
use peapod::tui::table::{ResourceTable, SortColumn};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The same allocator as the peapod binary, so the numbers match what it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PODS: usize = 10_000;

fn now() -> jiff::Timestamp {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

fn pod(i: usize, restarts: usize) -> Arc<Value> {
    let ns = format!("ns-{}", i % 20);
    Arc::new(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("web-{i:05}"), "namespace": ns, "uid": format!("uid-{i}"),
            "creationTimestamp": format!("2024-05-01T{:02}:{:02}:00Z", (i / 60) % 12, i % 60),
            "labels": {"app": format!("app-{}", i % 10), "tier": "web"}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], "nodeName": "node-1"},
        "status": {"phase": "Running", "podIP": format!("10.1.{}.{}", i / 250, i % 250),
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "main", "ready": true, "restartCount": restarts,
                "state": {"running": {"startedAt": "2024-05-01T00:00:00Z"}}}]}
    }))
}

fn loaded(objs: &[Arc<Value>]) -> ResourceTable {
    let mut t = ResourceTable::new(lookup("pods").unwrap());
    for o in objs {
        t.upsert(o.clone());
    }
    t.refresh();
    t
}

/// One frame: a pod changes (as a watch MODIFIED does), then the screen's rows are built.
fn frame(t: &mut ResourceTable, updates: &[Arc<Value>], i: &mut usize) -> usize {
    t.upsert(updates[*i % updates.len()].clone());
    *i += 1;
    t.visible_rows(0, 40, now()).len()
}

/// p50/p99/max of single frames, which criterion's means do not show.
fn percentiles(name: &str, t: &mut ResourceTable, updates: &[Arc<Value>]) {
    let mut i = 0;
    let mut samples: Vec<Duration> = (0..10_000)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(frame(t, updates, &mut i));
            start.elapsed()
        })
        .collect();
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name}: frame p50 {:?}, p99 {:?}, max {:?} over {} frames",
        p(0.5),
        p(0.99),
        samples[samples.len() - 1],
        samples.len()
    );
}

fn table(c: &mut Criterion) {
    let objs: Vec<Arc<Value>> = (0..PODS).map(|i| pod(i, 0)).collect();
    // Updates bump restarts, so under a RESTARTS sort each one moves its row.
    let updates: Vec<Arc<Value>> = (0..PODS).step_by(7).map(|i| pod(i, i % 13)).collect();

    c.bench_function("tui_table/upsert_10000_pods", |b| {
        b.iter_batched(|| objs.clone(), |objs| loaded(&objs), BatchSize::LargeInput)
    });

    // The initial list as one burst, as the event loop drains it: one sort instead of
    // 10,000 inserts into the row list.
    let events: Vec<WatchEvent> = objs
        .iter()
        .map(|o| WatchEvent {
            event_type: EventType::Added,
            object: (**o).clone(),
        })
        .collect();
    c.bench_function("tui_table/apply_batch_10000_pods", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                let mut t = ResourceTable::new(lookup("pods").unwrap());
                t.apply_batch(events);
                t.refresh();
                t
            },
            BatchSize::LargeInput,
        )
    });

    let mut g = c.benchmark_group("tui_table/frame_10000_pods");
    type Setup = fn(&mut ResourceTable);
    let cases: [(&str, Setup); 4] = [
        ("all_namespaces", |_| {}),
        ("sorted_by_restarts", |t| {
            t.sort_by(SortColumn::Restarts);
        }),
        ("regex_filter", |t| {
            t.set_filter("web-0[0-4]").unwrap();
        }),
        ("label_filter_one_namespace", |t| {
            t.set_namespace(Some("ns-3".into()));
            t.set_filter("-l app in (app-3,app-4)").unwrap();
        }),
    ];
    for (name, setup) in cases {
        let mut t = loaded(&objs);
        setup(&mut t);
        t.refresh();
        let mut i = 0;
        g.bench_function(name, |b| b.iter(|| frame(&mut t, &updates, &mut i)));
        percentiles(name, &mut t, &updates);
    }
    g.finish();
}

criterion_group!(benches, table);
criterion_main!(benches);
