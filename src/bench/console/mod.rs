//! `peapod bench console`: the console benchmark of the README. No cluster: an `App` is fed
//! 10,000 pods over 20 namespaces the way the event loop feeds it (watch events applied in
//! bursts with `App::apply_pods`), and frames are drawn with `view::draw` on ratatui's
//! `TestBackend`, so a frame is the state update, the layout, every pane and ratatui's diff
//! of the screen (not the terminal's write). The logs pane is the real `LogFollower` with a
//! real tail, fed by a cluster that only serves logs.
//!
//! Measured: a frame after one pod MODIFIED event (a live console's steady state), key → frame
//! (row movement, `/` filter typing, switching namespace), a frame under a regex filter, the
//! memory the pods cost (VmRSS), and 1,000,000 log lines through the tail and
//! `LogFollower::on_batch` with a frame after every batch (wall, CPU, worst frame).
//!
//! The fixture and the steps are public so `benches/tui_console.rs` measures the same thing.

mod fixture;

pub use super::measure::{cpu_time, pct, rss_kib};
use crate::api::error::ApiResult;
use crate::api::request::{EventType, LogOptions, WatchEvent};
use crate::cluster::logs_only::{LogSource, LogsOnly};
use crate::cluster::{Cluster, LogStream};
use crate::tui::app::{App, Focus, Session};
use crate::tui::config::Config;
use crate::tui::keymap::Keymap;
use crate::tui::logs::{Batch, LogFollower, LogLine, LogSink};
use crate::tui::theme::Theme;
use crate::tui::view::{self, LogsView};
use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
pub use fixture::*;
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub const NAMESPACES: usize = 20;

#[derive(Debug, Clone)]
pub struct ConsoleBenchOptions {
    /// Pods in the store (and in the console).
    pub pods: usize,
    /// Timed frames per measurement (p99 needs a few thousand).
    pub frames: usize,
    /// Lines pushed through the logs pane.
    pub log_lines: usize,
}

impl Default for ConsoleBenchOptions {
    fn default() -> Self {
        ConsoleBenchOptions {
            pods: 10_000,
            frames: 2_000,
            log_lines: 1_000_000,
        }
    }
}

// ---- the fixture --------------------------------------------------------------------------

/// The logs pane as the event loop draws it.
struct Logs<'a>(&'a LogFollower);

impl LogsView for Logs<'_> {
    fn render(&self, area: Rect, buf: &mut Buffer, app: &App, focused: bool) {
        self.0.render(area, buf, &app.theme, focused)
    }
}

/// A console as the event loop holds it: the state, the logs follower following the selected
/// pod, and a terminal (here a `TestBackend`). Needs a tokio runtime (the tails are tasks).
pub struct Console {
    pub app: App,
    pub logs: LogFollower,
    pub cluster: Arc<LogsOnly<NextStream>>,
    cluster_dyn: Arc<dyn Cluster>,
    sink: LogSink,
    pub batches: mpsc::Receiver<(u64, Batch)>,
    terminal: Terminal<TestBackend>,
    /// Which pod the next MODIFIED event changes.
    tick: usize,
    pods: usize,
}

impl Console {
    /// `pods` pods loaded in bursts of 1,000, on a `width`×`height` screen; the logs pane
    /// follows the selected pod and holds `log_lines` lines.
    pub fn new(pods: usize, width: u16, height: u16, log_lines: usize) -> Result<Console, String> {
        let mut app = new_app();
        load_pods(&mut app, pods, 1_000);
        Console::with_app(app, pods, width, height, log_lines)
    }

    pub fn with_app(
        app: App,
        pods: usize,
        width: u16,
        height: u16,
        log_lines: usize,
    ) -> Result<Console, String> {
        let cluster = Arc::new(LogsOnly(NextStream::default()));
        let (tx, rx) = mpsc::channel(8192);
        let terminal = Terminal::new(TestBackend::new(width, height))
            .map_err(|e| format!("test terminal: {e}"))?;
        let mut c = Console {
            logs: LogFollower::new(app.config.log_buffer_lines),
            app,
            cluster_dyn: cluster.clone(),
            cluster,
            sink: LogSink::channel(tx, |g, b| (g, b)),
            batches: rx,
            terminal,
            tick: 0,
            pods,
        };
        c.follow();
        if log_lines > 0
            && let Some(g) = c.logs.generations().last().copied()
        {
            let lines = (0..log_lines)
                .map(|i| LogLine::new(&log_text(i)).with_ts("2026-11-22T11:59:00.000000000Z"))
                .collect();
            c.logs.on_batch(
                g,
                Batch {
                    lines,
                    ..Batch::default()
                },
            );
        }
        Ok(c)
    }

    /// What the loop does after every burst: the logs pane follows the selected pod.
    pub fn follow(&mut self) -> bool {
        let pod = self.app.log_pod();
        self.logs
            .follow(pod.as_deref(), &self.cluster_dyn, &self.sink)
    }

    /// Draw one frame; returns the areas drawn.
    pub fn draw(&mut self) -> Result<view::Areas, String> {
        let mut areas = view::Areas::default();
        let (app, logs) = (&mut self.app, &self.logs);
        self.terminal
            .draw(|f| areas = view::draw(f, app, &Logs(logs)))
            .map_err(|e| format!("drawing failed: {e}"))?;
        Ok(areas)
    }

    /// Draw one frame; returns the time in `view::draw` and the whole frame's (the rest is
    /// ratatui's diff of the screen and the backend).
    pub fn draw_timed(&mut self) -> Result<(Duration, Duration), String> {
        let t = Instant::now();
        let mut inner = Duration::ZERO;
        let (app, logs) = (&mut self.app, &self.logs);
        self.terminal
            .draw(|f| {
                let t = Instant::now();
                view::draw(f, app, &Logs(logs));
                inner = t.elapsed();
            })
            .map_err(|e| format!("drawing failed: {e}"))?;
        Ok((inner, t.elapsed()))
    }

    /// One pod changes (its restart count), as a watch MODIFIED event does.
    pub fn modify_one(&mut self) {
        self.tick += 1;
        let i = (self.tick * 7919) % self.pods.max(1);
        self.app
            .apply_pods(vec![event(EventType::Modified, pod(i, self.tick % 5))]);
        self.follow();
    }

    /// A key as the loop handles it: the app's keys, then the logs pane follows the pod.
    pub fn key(&mut self, k: KeyEvent) {
        let typing = self.logs.is_searching();
        let _ = self.app.on_key(k, typing);
        self.follow();
    }

    /// Type a string (each char is one key event).
    pub fn type_text(&mut self, s: &str) {
        for c in s.chars() {
            self.key(char_key(c));
        }
    }

    /// The screen of the last frame, as text (for checks).
    pub fn screen(&self) -> String {
        format!("{}", self.terminal.backend())
    }
}

pub fn char_key(c: char) -> KeyEvent {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), mods)
}

pub fn code_key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

// ---- the scenarios ------------------------------------------------------------------------

/// One step of a scenario, done before the timed frame.
pub type Step = fn(&mut Console, usize);

/// A frame after one pod MODIFIED event.
pub fn step_modified(c: &mut Console, _: usize) {
    c.modify_one();
}

/// `j` or `k` (alternating runs of 100, so the cursor stays inside the table).
pub fn step_row(c: &mut Console, i: usize) {
    c.key(char_key(if (i / 100).is_multiple_of(2) {
        'j'
    } else {
        'k'
    }));
}

/// Typing `/web-1`, then Esc (the filter before typing comes back), one key per frame.
pub fn step_filter_typing(c: &mut Console, i: usize) {
    const KEYS: [char; 6] = ['/', 'w', 'e', 'b', '-', '1'];
    match i % 7 {
        6 => c.key(code_key(KeyCode::Esc)),
        n => c.key(char_key(KEYS[n])),
    }
}

/// With the namespaces pane focused, `j` and `k`: all namespaces ↔ ns-00, a table rebuild.
pub fn step_namespace(c: &mut Console, i: usize) {
    c.app.focus = Focus::Namespaces;
    c.key(char_key(if i.is_multiple_of(2) { 'j' } else { 'k' }));
}

/// Put a `/` regex filter on the pods table (as typed, then Enter).
pub fn set_regex_filter(c: &mut Console) {
    c.key(char_key('/'));
    c.type_text("web-1[0-4]-0");
    c.key(code_key(KeyCode::Enter));
}

/// Time `n` iterations of `step` + one frame.
pub fn time_steps(c: &mut Console, n: usize, step: Step) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        step(c, i);
        c.draw()?;
        out.push(t.elapsed());
    }
    Ok(out)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// What the 1,000,000-line ingest measured.
pub struct Ingest {
    pub lines: usize,
    pub dropped: u64,
    pub batches: usize,
    pub wall: Duration,
    pub cpu: Duration,
    /// `on_batch` + one frame, per batch.
    pub frames: Vec<Duration>,
}

/// Stream `lines` log lines through a real tail into `c.logs` (a fresh follower on the selected
/// pod), applying each batch with `on_batch` and drawing a frame after it, as the loop does.
pub async fn ingest(c: &mut Console, lines: usize) -> Result<Ingest, String> {
    c.logs = LogFollower::new(c.app.config.log_buffer_lines);
    // Batches of the old follower's tails are ignored by generation; drop them anyway.
    while c.batches.try_recv().is_ok() {}
    c.cluster.serve(log_stream(lines));
    let (cpu0, t0) = (cpu_time(), Instant::now());
    c.follow();
    let mut seen = 0usize;
    let mut dropped = 0u64;
    let mut frames = Vec::new();
    while seen + (dropped as usize) < lines {
        let Ok(Some((g, b))) =
            tokio::time::timeout(Duration::from_secs(60), c.batches.recv()).await
        else {
            return Err(format!(
                "the log tail stopped after {seen} of {lines} lines"
            ));
        };
        let t = Instant::now();
        seen += b.lines.len();
        dropped += b.dropped;
        c.logs.on_batch(g, b);
        c.draw()?;
        frames.push(t.elapsed());
    }
    Ok(Ingest {
        lines: seen,
        dropped,
        batches: frames.len(),
        wall: t0.elapsed(),
        cpu: cpu_time().saturating_sub(cpu0),
        frames,
    })
}

/// Run the benchmark; prints a table. With `memory_split` it only prints where the pods'
/// memory goes (run in a process of its own by the full benchmark: the allocator keeps freed
/// pages resident, so pieces measured after other work would read as free).
pub async fn run(o: ConsoleBenchOptions, memory_split_only: bool) -> Result<(), String> {
    if memory_split_only {
        for (what, kib) in memory_split(o.pods) {
            println!("{what}\t{kib}");
        }
        return Ok(());
    }
    // Memory first, in order, before anything is freed: load, first frame, full logs.
    let rss_start = rss_kib().unwrap_or(0);
    let t = Instant::now();
    let mut app = new_app();
    load_pods(&mut app, o.pods, 1_000);
    let load = t.elapsed();
    let rss_pods = rss_kib().unwrap_or(0);
    let mut c = Console::with_app(app, o.pods, 160, 48, 1_000)?;
    c.draw()?;
    let rss_frame = rss_kib().unwrap_or(0);
    let ing = ingest(&mut c, o.log_lines).await?;
    let rss_logs = rss_kib().unwrap_or(0);

    println!(
        "peapod bench console: {} pods in {NAMESPACES} namespaces, frames on a TestBackend (state update + layout + every pane + ratatui's diff; no terminal write)",
        o.pods
    );
    println!(
        "{:<56} {:>11} {:>11} {:>8}",
        "measurement", "p50", "p99", "target"
    );
    let row = |name: String, mut v: Vec<Duration>, target: &str| {
        println!(
            "{name:<56} {:>11} {:>11} {target:>8}",
            ms(pct(&mut v, 0.5)),
            ms(pct(&mut v, 0.99))
        );
    };
    let n = o.frames;
    row(
        "frame after 1 pod MODIFIED, 160x48".into(),
        time_steps(&mut c, n, step_modified)?,
        "≤ 4 ms",
    );
    row(
        "key j/k → frame, 160x48".into(),
        time_steps(&mut c, n, step_row)?,
        "≤ 16 ms",
    );
    let typing = time_steps(&mut c, n.div_ceil(7) * 7, step_filter_typing)?;
    // The first letter after `/` is the first text filter: it builds every row's filter text.
    let first_filter_key = typing.get(1).copied().unwrap_or_default();
    row(
        "key → frame typing /web-1 then Esc, 160x48".into(),
        typing,
        "≤ 16 ms",
    );
    println!(
        "{:<56} {:>11}",
        "  the first filter key (builds every row's filter text)",
        ms(first_filter_key)
    );
    row(
        "key → frame switching namespace (all ↔ ns-00)".into(),
        time_steps(&mut c, n / 4, step_namespace)?,
        "≤ 16 ms",
    );
    c.app.focus = Focus::Table;
    set_regex_filter(&mut c);
    let shown = c.app.table.len();
    row(
        format!("frame after 1 MODIFIED, /web-1[0-4]-0 ({shown} rows)"),
        time_steps(&mut c, n, step_modified)?,
        "≤ 4 ms",
    );
    let rss_used = rss_kib().unwrap_or(0);
    // Where a steady-state frame's time goes.
    let (mut update, mut drawn, mut diff, mut floor) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let t = Instant::now();
        c.modify_one();
        update.push(t.elapsed());
        let (d, all) = c.draw_timed()?;
        drawn.push(d);
        diff.push(all.saturating_sub(d));
    }
    // The machine's noise: the same fixed work every time, so its p99 over its p50 is what
    // other processes and the scheduler add.
    for _ in 0..n {
        let t = Instant::now();
        let mut x = 0u64;
        for i in 0..400_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
        std::hint::black_box(x);
        floor.push(t.elapsed());
    }
    row("  split: apply 1 MODIFIED + logs follow".into(), update, "");
    row(
        "  split: view::draw (every pane into the buffer)".into(),
        drawn,
        "",
    );
    row("  split: ratatui diff + TestBackend".into(), diff, "");
    row(
        "noise floor: fixed CPU work, same every time".into(),
        floor,
        "",
    );
    let log_capacity = c.app.config.log_buffer_lines;
    drop(c);
    // The same console on a small terminal.
    let mut small = Console::new(o.pods, 80, 24, 1_000)?;
    small.draw()?;
    row(
        "frame after 1 pod MODIFIED, 80x24".into(),
        time_steps(&mut small, n, step_modified)?,
        "≤ 4 ms",
    );
    row(
        "key j/k → frame, 80x24".into(),
        time_steps(&mut small, n, step_row)?,
        "≤ 16 ms",
    );
    drop(small);

    let mut frames = ing.frames.clone();
    let worst = frames.iter().max().copied().unwrap_or_default();
    println!(
        "{:<56} {:>11} {:>11} {:>8}",
        format!(
            "log ingest: on_batch + frame per batch ({} batches)",
            ing.batches
        ),
        ms(pct(&mut frames, 0.5)),
        ms(pct(&mut frames, 0.99)),
        "≤ 16 ms"
    );
    println!(
        "{:<56} {:>11}",
        "log ingest: worst batch + frame",
        ms(worst)
    );
    println!(
        "{:<56} {:>11}",
        format!(
            "log ingest: {} lines ({} dropped by the tail), wall",
            ing.lines, ing.dropped
        ),
        ms(ing.wall)
    );
    println!(
        "{:<56} {:>11}",
        "log ingest: CPU (user+sys, all threads, incl. tail parse)",
        ms(ing.cpu)
    );
    println!(
        "{:<56} {:>9.0}/s",
        "log ingest: lines per second (wall)",
        (ing.lines as u64 + ing.dropped) as f64 / ing.wall.as_secs_f64().max(1e-9)
    );
    println!(
        "{:<56} {:>11}",
        format!("load {} pods (ADDED in bursts of 1,000)", o.pods),
        ms(load)
    );
    println!(
        "{:<56} {:>11} {:>11} {:>8}",
        "memory (VmRSS)", "delta", "total", "target"
    );
    let mem = |what: String, kib: u64, target: &str| {
        println!(
            "{what:<56} {:>11} {:>11} {target:>8}",
            mib(kib.saturating_sub(rss_start)),
            mib(kib)
        );
    };
    mem(format!("{} pods loaded into the App", o.pods), rss_pods, "");
    mem(
        "… after the first 160x48 frame".into(),
        rss_frame,
        "≤ 150 MB",
    );
    mem(
        format!("… and a full log buffer ({log_capacity} lines)"),
        rss_logs,
        "≤ 150 MB",
    );
    mem(
        "… after the frame and key measurements above".into(),
        rss_used,
        "≤ 150 MB",
    );
    // Where the pods' memory goes, measured in a fresh process.
    let split = std::env::current_exe().ok().and_then(|exe| {
        std::process::Command::new(exe)
            .args(["bench", "console", "--memory-split", "--pods"])
            .arg(o.pods.to_string())
            .output()
            .ok()
    });
    if let Some(out) = split.filter(|o| o.status.success()) {
        println!(
            "{:<56} {:>11}",
            "memory split (a fresh process, VmRSS deltas)", "delta"
        );
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((what, kib)) = line.split_once('\t')
                && let Ok(kib) = kib.parse::<i64>()
            {
                println!(
                    "{what:<56} {:>11}",
                    format!("{:.1} MiB", kib as f64 / 1024.0)
                );
            }
        }
    }
    Ok(())
}

/// Where the pods' memory goes: the same pods built piece by piece, with VmRSS after each
/// piece (rows: what, delta KiB). Run in a process of its own. Pieces are measured in an
/// order where nothing is freed before it is measured (the allocator keeps freed pages), and
/// the pods reach the table as the watch delivers them: parsed objects in bursts of 1,000,
/// dropped once applied.
pub fn memory_split(pods: usize) -> Vec<(String, i64)> {
    let rss = || rss_kib().unwrap_or(0) as i64;
    let mut out = Vec::new();
    let base = rss();
    // One pod at a time: the index keeps only labels, and nothing big is freed.
    let mut index = crate::tui::pods_index::PodIndex::default();
    for i in 0..pods {
        index.upsert(&pod(i, 0));
    }
    let r0 = rss();
    out.push(("pod index (namespaces and labels panes)".into(), r0 - base));
    let mut table = crate::tui::table::ResourceTable::new(crate::tui::app::pods_kind());
    let mut json_bytes = 0usize;
    for from in (0..pods).step_by(1_000) {
        let burst: Vec<WatchEvent> = (from..(from + 1_000).min(pods))
            .map(|i| event(EventType::Added, pod(i, 0)))
            .collect();
        json_bytes += burst
            .iter()
            .map(|ev| serde_json::to_vec(&ev.object).map_or(0, |b| b.len()))
            .sum::<usize>();
        table.apply_batch(burst);
    }
    table.refresh();
    let r1 = rss();
    out.push((
        format!(
            "pods table ({} B of JSON per pod), loaded in bursts of 1,000",
            json_bytes / pods.max(1)
        ),
        r1 - r0,
    ));
    let _ = table.set_filter("web-1");
    let shown = table.len();
    let r2 = rss();
    out.push((
        format!("pods table after a / filter ({shown} rows match)"),
        r2 - r1,
    ));
    out.push(("total".into(), r2 - base));
    // For scale: the same pods held as parsed serde_json Values, as the table once did.
    let values: Vec<Value> = (0..pods).map(|i| pod(i, 0)).collect();
    let r3 = rss();
    out.push((
        "for scale: the same pods as serde_json Values".into(),
        r3 - r2,
    ));
    drop(values);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn the_fixture_is_a_console_with_every_pod_and_a_logs_pane() {
        let rt = rt();
        let _g = rt.enter();
        let mut c = Console::new(2_000, 160, 48, 50).unwrap();
        assert_eq!(c.app.table.len(), 2_000);
        assert_eq!(c.logs.buffer().len(), 50);
        c.draw().unwrap();
        let screen = c.screen();
        assert!(screen.contains("ns-00"), "{screen}");
        assert!(screen.contains("items/49 200"), "{screen}");
    }

    #[test]
    fn the_steps_do_what_they_say() {
        let rt = rt();
        let _g = rt.enter();
        let mut c = Console::new(1_000, 160, 48, 0).unwrap();
        c.draw().unwrap();
        let first = c.app.table.selected_key().map(str::to_string);
        step_row(&mut c, 0);
        assert_ne!(c.app.table.selected_key().map(str::to_string), first);
        for i in 0..6 {
            step_filter_typing(&mut c, i);
        }
        assert_eq!(c.app.table.filter().source(), "web-1");
        step_filter_typing(&mut c, 6);
        assert_eq!(c.app.table.filter().source(), "");
        step_namespace(&mut c, 0);
        assert_eq!(c.app.namespace(), Some("ns-00"));
        assert_eq!(c.app.table.len(), 50);
        step_namespace(&mut c, 1);
        assert_eq!(c.app.namespace(), None);
        c.app.focus = Focus::Table;
        set_regex_filter(&mut c);
        assert_eq!(c.app.table.filter().source(), "web-1[0-4]-0");
        assert!(c.app.table.len() < 1_000 && !c.app.table.is_empty());
    }

    #[test]
    fn ingest_delivers_every_line_and_a_frame_per_batch() {
        let rt = rt();
        rt.block_on(async {
            let mut c = Console::new(100, 80, 24, 0).unwrap();
            let ing = ingest(&mut c, 20_000).await.unwrap();
            assert_eq!(ing.lines as u64 + ing.dropped, 20_000);
            assert_eq!(ing.frames.len(), ing.batches);
            assert!(ing.batches >= 4, "{} batches of at most 5,000", ing.batches);
            c.draw().unwrap();
            assert!(c.screen().contains("items/19999"), "{}", c.screen());
        });
    }

    #[test]
    fn percentiles_and_process_figures() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(pct(&mut v, 0.5), Duration::from_millis(51));
        assert_eq!(pct(&mut v, 0.99), Duration::from_millis(99));
        assert!(rss_kib().unwrap() > 0);
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(20) {}
        assert!(cpu_time() > Duration::ZERO);
    }
}
