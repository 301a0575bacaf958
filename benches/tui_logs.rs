//! The logs pane under load: ingest 1,000,000 lines (with timestamps, some with ANSI colour)
//! through the tail task into the ring buffer, and draw a 160×48 frame with a full buffer.
//! Run: `cargo bench --bench tui_logs`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bytes::Bytes;
use futures::StreamExt;
use peapod::tui::logs::{LogBuffer, LogLine, LogView, LogsPane, TailConfig, spawn_tail_stream};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use std::hint::black_box;
use std::time::Duration;

const LINES: usize = 1_000_000;

/// The reader's output in 64 KiB chunks, as the log stream delivers it.
fn chunks() -> Vec<Bytes> {
    let mut text = String::new();
    for i in 0..LINES {
        if i % 10 == 0 {
            text.push_str(&format!(
                "2024-05-01T10:00:00.{i:09}Z \x1b[32mINFO\x1b[0m request {i} served in 3ms\n"
            ));
        } else {
            text.push_str(&format!(
                "2024-05-01T10:00:00.{i:09}Z GET /api/v1/items/{i} 200 OK user=alice\n"
            ));
        }
    }
    text.as_bytes()
        .chunks(64 * 1024)
        .map(Bytes::copy_from_slice)
        .collect()
}

fn ingest(c: &mut Criterion) {
    let data = chunks();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("logs");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("ingest 1M lines into a 10k buffer", |b| {
        b.iter(|| {
            rt.block_on(async {
                let stream = futures::stream::iter(data.clone().into_iter().map(Ok)).boxed();
                let (mut rx, h) = spawn_tail_stream(stream, true, None, TailConfig::default());
                let mut buf = LogBuffer::default();
                let mut batches = 0;
                while let Some(batch) = rx.recv().await {
                    batches += 1;
                    buf.note_dropped(batch.dropped);
                    buf.push_batch(batch.lines);
                }
                h.await.unwrap();
                assert_eq!(buf.end_seq(), LINES as u64);
                black_box(batches)
            })
        })
    });
    g.finish();
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("logs");
    let area = Rect::new(0, 0, 160, 48);
    for cap in [10_000, 1_000_000] {
        let mut buf = LogBuffer::new(cap);
        buf.push_batch(
            (0..cap)
                .map(|i| {
                    LogLine::new(&format!(
                        "\x1b[32mINFO\x1b[0m GET /api/v1/items/{i} 200 OK user=alice {}",
                        "x".repeat(i % 200)
                    ))
                    .with_ts("2024-05-01T10:00:00.000000000Z")
                })
                .collect(),
        );
        let mut view = LogView::default();
        view.toggle_timestamps();
        view.toggle_wrap();
        view.set_search("items/9");
        g.bench_function(format!("frame 160x48, {cap} lines, wrap+search"), |b| {
            let mut frame = Buffer::empty(area);
            b.iter(|| {
                frame.reset();
                black_box(LogsPane::new(&buf, &view, "web/app").render_counted(area, &mut frame))
            })
        });
    }
    g.finish();
}

/// What the console does per delivery: append a batch, then draw only the visible slice.
/// 1,000,000 pre-parsed lines in the follower's 5,000-line batches into its default-sized
/// (100,000 line) buffer, one 160x48 frame per batch.
fn ingest_and_render(c: &mut Criterion) {
    let mut g = c.benchmark_group("logs");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let area = Rect::new(0, 0, 160, 48);
    let make = || -> Vec<Vec<LogLine>> {
        (0..LINES)
            .map(|i| {
                let text = if i % 10 == 0 {
                    format!("\x1b[32mINFO\x1b[0m request {i} served in 3ms")
                } else {
                    format!("GET /api/v1/items/{i} 200 OK user=alice")
                };
                LogLine::new(&text).with_ts("2024-05-01T10:00:00.000000000Z")
            })
            .collect::<Vec<_>>()
            .chunks(5_000)
            .map(<[LogLine]>::to_vec)
            .collect()
    };
    g.bench_function(
        "ingest 1,000,000 lines through push_batch + render of the visible slice",
        |b| {
            b.iter_batched(
                make,
                |batches| {
                    let mut buf = LogBuffer::new(100_000);
                    let mut view = LogView::default();
                    view.set_search("items/9");
                    let mut frame = Buffer::empty(area);
                    let mut laid_out = 0;
                    for batch in batches {
                        buf.push_batch(batch);
                        frame.reset();
                        laid_out +=
                            LogsPane::new(&buf, &view, "web/app").render_counted(area, &mut frame);
                    }
                    assert_eq!(buf.end_seq(), LINES as u64);
                    black_box(laid_out)
                },
                BatchSize::PerIteration,
            )
        },
    );
    g.finish();
}

criterion_group!(benches, ingest, render, ingest_and_render);
criterion_main!(benches);
