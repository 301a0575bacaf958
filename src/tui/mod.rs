//! The console. This first cut shows the namespaces pane (with pod counts, `all` on top) and
//! the pods pane, both live from watches, with keyboard focus and selection. The full console
//! (labels and logs panes, command mode, actions, keymaps, themes) grows here.

pub mod keymap;
mod state;
pub mod table;
pub mod theme;
mod view;

use crate::api::kinds;
use crate::api::request::{ListOptions, WatchEvent};
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
    spawn_input(tx);
    let mut app = App::new(cluster.endpoint());
    let mut tick = tokio::time::interval(Duration::from_millis(33));
    let mut dirty = true;
    loop {
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                if handle(&mut app, msg) {
                    return Ok(());
                }
                // Drain what else is queued before drawing: bursts cost one frame.
                while let Ok(msg) = rx.try_recv() {
                    if handle(&mut app, msg) {
                        return Ok(());
                    }
                }
                dirty = true;
            }
            _ = tick.tick() => {
                if dirty {
                    terminal.draw(|f| view::draw(f, &app)).map_err(|e| format!("drawing failed: {e}"))?;
                    dirty = false;
                }
            }
        }
    }
}

/// Apply one message; true means quit.
fn handle(app: &mut App, msg: Msg) -> bool {
    match msg {
        Msg::Key(k) => match app.keymap.action("table", &k) {
            Some("app.quit") => return true,
            Some("focus.next") | Some("focus.prev") => app.toggle_focus(),
            Some("row.up") => app.move_selection(-1),
            Some("row.down") => app.move_selection(1),
            Some("page.up") => app.move_selection(-10),
            Some("page.down") => app.move_selection(10),
            Some("row.first") => app.move_selection(i64::MIN / 2),
            Some("row.last") => app.move_selection(i64::MAX / 2),
            Some("namespace.all") => app.select_all_namespaces(),
            Some("row.open") if app.focus == Focus::Namespaces => app.toggle_focus(),
            _ => {}
        },
        Msg::Resize => {}
        Msg::Namespace(ev) => app.apply_namespace(ev),
        Msg::Pod(ev) => app.apply_pod(ev),
        Msg::Reset(plural) => app.reset(plural),
    }
    false
}
