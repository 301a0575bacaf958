//! The whole console with 10,000 pods over 20 namespaces (loaded through `App::apply_pods` in
//! bursts, as the event loop does) on a 160x48 `TestBackend`, the logs pane following the
//! selected pod with 1,000 lines: a frame after one pod MODIFIED event, key → frame for row
//! movement, `/web-1` typing and a namespace switch, and a frame under a regex filter. The
//! issue's targets: frame p99 ≤ 4 ms, key → frame ≤ 16 ms. Criterion reports means; the p50
//! and p99 of 2,000 single iterations of each case are printed at the end.
//! Run: `cargo bench --bench tui_console`.

use criterion::{Criterion, criterion_group, criterion_main};
use peapod::bench::console::{
    Console, Step, pct, set_regex_filter, step_filter_typing, step_modified, step_namespace,
    step_row, time_steps,
};
use peapod::tui::app::Focus;
use std::time::Duration;

// The same allocator as the peapod binary, so the numbers match what it does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PODS: usize = 10_000;
const SAMPLES: usize = 2_000;

fn console() -> Console {
    let mut c = Console::new(PODS, 160, 48, 1_000).unwrap();
    c.draw().unwrap();
    c
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The logs tails are tasks: spawn them on this runtime.
    let _guard = rt.enter();
    type Setup = fn(&mut Console);
    let cases: [(&str, Setup, Step); 5] = [
        ("frame_after_pod_modified", |_| {}, step_modified),
        ("key_j_k_then_frame", |_| {}, step_row),
        (
            "key_typing_filter_web-1_then_frame",
            |_| {},
            step_filter_typing,
        ),
        ("key_namespace_switch_then_frame", |_| {}, step_namespace),
        (
            "frame_after_pod_modified_regex_filter",
            |c| {
                c.app.focus = Focus::Table;
                set_regex_filter(c);
            },
            step_modified,
        ),
    ];
    let mut report = Vec::new();
    let mut g = c.benchmark_group("tui_console/10000_pods_160x48");
    for (name, setup, step) in cases {
        let mut con = console();
        setup(&mut con);
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                step(&mut con, i);
                i += 1;
                con.draw().unwrap()
            })
        });
        // A fresh console, so the sampled sequence starts where the step expects (typing
        // cycles whole).
        let mut fresh = console();
        setup(&mut fresh);
        let mut v = time_steps(&mut fresh, SAMPLES, step).unwrap();
        report.push((name, pct(&mut v, 0.5), pct(&mut v, 0.99), v[v.len() - 1]));
    }
    g.finish();
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    println!("\np50/p99/max of {SAMPLES} single iterations (step + frame), 10,000 pods, 160x48:");
    for (name, p50, p99, max) in report {
        println!(
            "{name:<40} p50 {:>10}  p99 {:>10}  max {:>10}",
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
