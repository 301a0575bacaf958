//! The console. This first cut shows the namespaces pane (with pod counts, `all` on top) and
//! the pods pane, both live from watches, with keyboard focus and selection. The full console
//! (labels and logs panes, command mode, actions, keymaps, themes) grows here.

pub mod config;
pub mod keymap;
pub mod labels; pub mod pods_index;
pub mod logs;
mod state;
pub mod table;
pub mod theme;
pub mod widgets;
mod view;

use crate::api::kinds;
use crate::api::request::{ListOptions, LogOptions, WatchEvent};
use crate::cluster::Cluster;
use crossterm::event::{self, Event, KeyEventKind};
use futures::StreamExt;
use state::{App, Focus};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the UI loop receives: a key, or a change from a watch.
enum Msg {
    Key(event::KeyEvent),
    Resize,
    Namespace(WatchEvent),
    Pod(WatchEvent),
    /// A watch restarted: drop what it delivered before.
    Reset(&'static str),
    /// Lines for the logs pane from tail number `.0` (older tails' batches are dropped).
    Logs(u64, logs::Batch),
}

/// The running tail of the logs pane.
struct Tail {
    generation: u64,
    task: tokio::task::JoinHandle<()>,
    forward: tokio::task::JoinHandle<()>,
    started: std::time::Instant,
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.task.abort();
        self.forward.abort();
    }
}

/// Keeps the logs pane on the selected pod: a new pod starts a new tail; a stopped container
/// that restarts continues in the same pane after a restart marker; a tail that could not
/// start (the container is not running yet) is retried when the pod changes.
fn sync_logs(
    app: &mut App,
    cluster: &Arc<dyn Cluster>,
    tx: &mpsc::Sender<Msg>,
    tail: &mut Option<Tail>,
    generation: &mut u64,
) {
    let wanted = app.wanted_log_source();
    let same_pod = wanted.as_ref().map(|w| &w.uid) == app.log_source.as_ref().map(|s| &s.uid);
    let restarted = match (&wanted, &app.log_source, &app.log_ended) {
        (Some(w), Some(s), Some(Ok(()))) => same_pod && w.restarts > s.restarts,
        _ => false,
    };
    let retry = matches!(app.log_ended, Some(Err(_)))
        && same_pod
        && tail
            .as_ref()
            .is_none_or(|t| t.started.elapsed() >= Duration::from_secs(1));
    if same_pod && !restarted && !retry {
        return;
    }
    *tail = None;
    if !same_pod {
        app.logs.clear();
        app.log_view = logs::LogView::default();
    } else if restarted {
        app.logs.mark_restart(None);
    }
    app.log_source = wanted.clone();
    app.log_ended = None;
    let Some(source) = wanted else {
        return;
    };
    *generation += 1;
    let target = logs::LogTarget {
        namespace: source.namespace,
        pod: source.pod,
        container: None,
        tag_container: false,
    };
    // A new pod shows its recent past; a restarted container its whole new log.
    let base = LogOptions {
        follow: true,
        tail_lines: (!same_pod).then_some(1000),
        ..Default::default()
    };
    let opts = app.log_view.options(&base);
    let (mut batches, task) = logs::spawn_tail(cluster.clone(), target, opts);
    let (tx, generation_now) = (tx.clone(), *generation);
    let forward = tokio::spawn(async move {
        while let Some(b) = batches.recv().await {
            if tx.send(Msg::Logs(generation_now, b)).await.is_err() {
                return;
            }
        }
    });
    *tail = Some(Tail {
        generation: generation_now,
        task,
        forward,
        started: std::time::Instant::now(),
    });
}

/// Keep one kind in sync: watch (initial snapshot as ADDED), and on error start again.
fn spawn_watch(cluster: Arc<dyn Cluster>, plural: &'static str, tx: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        let Some(kind) = kinds::lookup(plural) else {
            return;
        };
        loop {
            if tx.send(Msg::Reset(plural)).await.is_err() {
                return;
            }
            if let Ok(mut stream) = cluster.watch(kind, None, &ListOptions::default()).await {
                while let Some(Ok(ev)) = stream.next().await {
                    let msg = if plural == "pods" {
                        Msg::Pod(ev)
                    } else {
                        Msg::Namespace(ev)
                    };
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

/// Terminal events come from a plain thread: crossterm's `read` blocks.
fn spawn_input(tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            let msg = match ev {
                Event::Key(k) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Event::Resize(_, _) => Msg::Resize,
                _ => continue,
            };
            if tx.blocking_send(msg).is_err() {
                return;
            }
        }
    });
}

/// Run the console until the user quits. The terminal is restored on every exit path.
pub async fn run(cluster: Arc<dyn Cluster>) -> Result<(), String> {
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot open the terminal: {e}"))?;
    let result = event_loop(&mut terminal, cluster).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    cluster: Arc<dyn Cluster>,
) -> Result<(), String> {
    let (tx, mut rx) = mpsc::channel::<Msg>(4096);
    spawn_watch(cluster.clone(), "namespaces", tx.clone());
    spawn_watch(cluster.clone(), "pods", tx.clone());
    let log_tx = tx.clone();
    spawn_input(tx);
    let loaded = config::load(&config::LoadOptions::from_env(None, None));
    let warning = match loaded.problems.as_slice() {
        [] => None,
        [one] => Some(format!("{one} (peapod check-config)")),
        [first, rest @ ..] => Some(format!(
            "{first} and {} more (peapod check-config)",
            rest.len()
        )),
    };
    let mut app = App::with_config(cluster.endpoint(), loaded.keymap, loaded.theme, warning);
    let mut tick = tokio::time::interval(Duration::from_millis(33));
    let mut dirty = true;
    let mut tail: Option<Tail> = None;
    let mut generation = 0u64;
    // SIGTERM and SIGHUP (a closed terminal or SSH session) end the console like `q`, so the
    // terminal is restored (ctrl-c arrives as a key in raw mode).
    let mut stop = termination_signals();
    loop {
        tokio::select! {
            _ = stop.recv() => return Ok(()),
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                let current = tail.as_ref().map(|t| t.generation);
                if handle(&mut app, msg, current) {
                    return Ok(());
                }
                // Drain what else is queued before drawing: bursts cost one frame.
                while let Ok(msg) = rx.try_recv() {
                    if handle(&mut app, msg, current) {
                        return Ok(());
                    }
                }
                sync_logs(&mut app, &cluster, &log_tx, &mut tail, &mut generation);
                dirty = true;
            }
            _ = tick.tick() => {
                if let Ok(size) = terminal.size() {
                    app.log_height = view::log_lines(size.height);
                }
                if dirty {
                    terminal.draw(|f| view::draw(f, &app)).map_err(|e| format!("drawing failed: {e}"))?;
                    dirty = false;
                }
            }
        }
    }
}

/// The action a key completes in the pods table, if any (multi-key bindings wait for their
/// next key). Any key clears the config warning.
fn feed_key(app: &mut App, k: &event::KeyEvent) -> Option<String> {
    app.warning = None;
    let context = if app.focus == state::Focus::Logs {
        "logs"
    } else {
        "table.pods"
    };
    match app.keys.feed(&app.keymap, context, k) {
        keymap::KeyMatch::Matched(action) => Some(action),
        keymap::KeyMatch::Pending | keymap::KeyMatch::NoMatch => None,
    }
}

/// A channel that receives once SIGTERM or SIGHUP arrives (never without handlers).
fn termination_signals() -> mpsc::Receiver<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = mpsc::channel(1);
    for kind in [SignalKind::terminate(), SignalKind::hangup()] {
        if let Ok(mut s) = signal(kind) {
            let tx = tx.clone();
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ = tx.send(()).await;
                }
            });
        }
    }
    rx
}

/// Apply one message; true means quit. `tail` is the generation of the running log tail.
fn handle(app: &mut App, msg: Msg, tail: Option<u64>) -> bool {
    match msg {
        Msg::Key(k) => match feed_key(app, &k).as_deref() {
            Some("app.quit") => return true,
            Some("focus.next") => app.focus_next(),
            Some("focus.prev") => app.focus_prev(),
            Some("logs.follow") => app.log_view.toggle_follow(&app.logs, app.log_height),
            Some("logs.wrap") => app.log_view.toggle_wrap(),
            Some("logs.timestamps") => app.log_view.toggle_timestamps(),
            Some("row.first") if app.focus == Focus::Logs => app.log_view.to_top(&app.logs),
            Some("row.last") if app.focus == Focus::Logs => app.log_view.resume(),
            Some("row.up") => app.move_selection(-1),
            Some("row.down") => app.move_selection(1),
            Some("page.up") => app.move_selection(-10),
            Some("page.down") => app.move_selection(10),
            Some("row.first") => app.move_selection(i64::MIN / 2),
            Some("row.last") => app.move_selection(i64::MAX / 2),
            Some("namespace.all") => app.select_all_namespaces(),
            Some("row.open") if app.focus == Focus::Namespaces => app.focus_next(),
            _ => {}
        },
        Msg::Resize => {}
        Msg::Namespace(ev) => app.apply_namespace(ev),
        Msg::Pod(ev) => app.apply_pod(ev),
        Msg::Reset(plural) => app.reset(plural),
        Msg::Logs(generation, batch) => {
            if Some(generation) == tail {
                app.logs.note_dropped(batch.dropped);
                app.logs.push_batch(batch.lines);
                if let Some(end) = batch.end {
                    if let Err(e) = &end {
                        app.logs.push(logs::LogLine::new(&format!("({e})")));
                    }
                    app.log_ended = Some(end);
                }
            }
        }
    }
    false
}
