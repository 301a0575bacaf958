//! `peapod bench`: the store and API benchmark of the README. It starts a private peapod (store,
//! controllers, socket API) in a temporary state directory and drives it through the API like
//! any client: batched creates, one-transaction-per-create (sequential and concurrent), label
//! selector lists, and a watch fanned out to many watchers.

pub mod console;
pub mod deploy;
pub mod measure;
pub mod pods;

use crate::api::kinds;
use crate::api::request::{BatchMode, ListOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::remote::RemoteCluster;
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Pods created in batches.
    pub pods: usize,
    /// Pods per batch request.
    pub batch: usize,
    /// Pods created one request (one durable transaction) each.
    pub single: usize,
    /// Concurrent clients for the single-create run.
    pub concurrency: usize,
    /// Watchers of pods during the creates.
    pub watchers: usize,
    /// Repetitions of each list measurement.
    pub list_runs: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            pods: 10_000,
            batch: 1_000,
            single: 2_000,
            concurrency: 16,
            watchers: 20,
            list_runs: 20,
        }
    }
}

fn pod(i: usize, prefix: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{prefix}-{i}"), "namespace": "default",
                     "labels": {"app": format!("app-{}", i % 10), "tier": if i.is_multiple_of(2) {"web"} else {"db"}}},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"],
                                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// Run the benchmark; prints a table and returns an error line on failure.
pub async fn run(opts: BenchOptions) -> Result<(), String> {
    let dir = tempfile_dir()?;
    let result = run_in(&dir, &opts).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let base = std::env::temp_dir().join(format!("peapod-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
    Ok(base)
}

async fn run_in(dir: &std::path::Path, o: &BenchOptions) -> Result<(), String> {
    let store = crate::daemon::open_store(dir).map_err(|f| f.message())?;
    let embedded: Arc<dyn Cluster> = Arc::new(crate::cluster::embedded::EmbeddedCluster::new(
        store,
        dir.join("logs"),
    ));
    let socket = crate::daemon::socket_path(dir);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let (c, s) = (embedded.clone(), socket.clone());
        tokio::spawn(async move {
            let _ = crate::server::serve(c, &s, async move {
                let _ = stop_rx.await;
            })
            .await;
        })
    };
    let api = Arc::new(RemoteCluster::new(socket.clone()));
    let mut ready = false;
    for _ in 0..100 {
        if api.ping().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !ready {
        return Err(format!(
            "bench server did not come up on {}",
            socket.display()
        ));
    }
    let po = kinds::lookup("pods").ok_or("pods kind missing")?;
    let total = o.pods + o.single;
    println!(
        "peapod bench: {} pods batched ({} per request), {} single creates, {} watchers, through the API socket",
        o.pods, o.batch, o.single, o.watchers
    );

    // Watchers: each counts ADDED pod events until it has seen every pod. They take the
    // events as encoded lines: decoding them is the watching client's cost, not peapod's.
    let mut watchers = Vec::new();
    for _ in 0..o.watchers {
        let mut s = api
            .watch_encoded(po, None, &ListOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        watchers.push(tokio::spawn(async move {
            let mut seen = 0usize;
            while let Some(ev) = s.next().await {
                match ev {
                    Ok(line) if line.starts_with(br#"{"type":"ADDED""#) => {
                        seen += 1;
                        if seen == total {
                            return Ok(Instant::now());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Err(format!("watch ended after {seen} of {total} events"))
        }));
    }

    let start_all = Instant::now();
    // Batches go out from two clients at once, so one batch is encoded and decoded while the
    // store commits the other.
    let t = Instant::now();
    let batches: Vec<(usize, usize)> = (0..o.pods)
        .step_by(o.batch.max(1))
        .map(|i| (i, (i + o.batch.max(1)).min(o.pods)))
        .collect();
    let mut clients = Vec::new();
    for c in 0..2 {
        let api = api.clone();
        let mine: Vec<(usize, usize)> = batches.iter().copied().skip(c).step_by(2).collect();
        clients.push(tokio::spawn(async move {
            for (from, to) in mine {
                let objs: Vec<Value> = (from..to).map(|n| pod(n, "batch")).collect();
                api.apply_batch(objs, BatchMode::Create, "default", &WriteOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }));
    }
    for c in clients {
        c.await.map_err(|e| e.to_string())??;
    }
    let batched = t.elapsed();

    let seq_n = o.single / 4;
    let t = Instant::now();
    for n in 0..seq_n {
        api.create(pod(n, "seq"), &WriteOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    }
    let sequential = t.elapsed();

    let conc_n = o.single - seq_n;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..o.concurrency.max(1) {
        let api = api.clone();
        let (conc, step) = (conc_n, o.concurrency.max(1));
        tasks.push(tokio::spawn(async move {
            let mut n = w;
            while n < conc {
                api.create(pod(n, "conc"), &WriteOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                n += step;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let concurrent = t.elapsed();

    let mut fanout = Duration::ZERO;
    for w in watchers {
        let done = tokio::time::timeout(Duration::from_secs(120), w)
            .await
            .map_err(|_| "watchers did not see every event within 120 s".to_string())?
            .map_err(|e| e.to_string())??;
        fanout = fanout.max(done.duration_since(start_all));
    }

    let mut list_some = Vec::new();
    let mut list_all = Vec::new();
    let mut counts = (0, 0);
    for _ in 0..o.list_runs {
        let t = Instant::now();
        let l = api
            .list(
                po,
                None,
                &ListOptions {
                    label_selector: Some("app=app-3".into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        list_some.push(t.elapsed());
        counts.0 = l.items.len();
        let t = Instant::now();
        let l = api
            .list(
                po,
                None,
                &ListOptions {
                    label_selector: Some("tier in (web,db)".into()),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        list_all.push(t.elapsed());
        counts.1 = l.items.len();
    }
    let _ = stop_tx.send(());
    let _ = server.await;

    println!("{:<52} {:>12}", "measurement", "result");
    println!(
        "{:<52} {:>9.0} /s",
        format!("batched create ({} pods, 2 clients)", o.pods),
        rate(o.pods, batched)
    );
    println!(
        "{:<52} {:>9.0} /s",
        format!("single create, 1 client ({seq_n} pods)"),
        rate(seq_n, sequential)
    );
    println!(
        "{:<52} {:>9.0} /s",
        format!("single create, {} clients ({conc_n} pods)", o.concurrency),
        rate(conc_n, concurrent)
    );
    println!(
        "{:<52} {:>9.1} ms",
        format!("list with selector app=app-3 ({} of {total})", counts.0),
        median(list_some).as_secs_f64() * 1e3
    );
    println!(
        "{:<52} {:>9.1} ms",
        format!(
            "list with selector tier in (web,db) ({} of {total})",
            counts.1
        ),
        median(list_all).as_secs_f64() * 1e3
    );
    println!(
        "{:<52} {:>9.2} s",
        format!("{} watchers saw all {total} events", o.watchers),
        fanout.as_secs_f64()
    );
    Ok(())
}
