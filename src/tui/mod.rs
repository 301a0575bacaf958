//! The console: a k9s-style TUI over any `Cluster`. One task owns the state (`app::App`);
//! watches, the terminal reader, log tails, metrics and cluster requests run beside it and
//! send messages. Bursts of messages are applied together and redraws are capped at the
//! configured refresh rate, so a flood of watch events or log lines costs a few frames.

pub mod app;
pub mod config;
mod effects;
mod forwards;
pub mod keymap;
pub mod labels;
pub mod logs;
pub mod pods_index;
pub mod table;
pub mod theme;
pub mod view;
pub mod widgets;

use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, WatchEvent};
use crate::cluster::Cluster;
use app::{App, Effect, Session};
use crossterm::event::{self, Event, KeyEventKind};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// How the console was started (flags over the config file).
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// The state directory, for `peapod exec` when a shell is opened.
    pub state_dir: Option<PathBuf>,
    pub readonly: bool,
    pub theme: Option<String>,
    pub config: Option<PathBuf>,
    pub mouse: bool,
}

/// What the UI loop receives.
pub enum Msg {
    Key(event::KeyEvent),
    Mouse(event::MouseEvent),
    Resize,
    Namespace(WatchEvent),
    Node(WatchEvent),
    Pod(WatchEvent),
    /// An event of the main table's watch of generation `.0`.
    Main(u64, WatchEvent),
    /// A watch restarted: drop what it delivered before (`main` carries its generation).
    Reset(&'static str, u64),
    /// Lines for the logs pane from tail number `.0`.
    Logs(u64, logs::Batch),
    /// CPU and memory of pods by `namespace/name`.
    Metrics(HashMap<String, (u64, u64)>),
    Report(effects::Report),
    /// A port-forward started, failed or accepted a connection.
    Forward(forwards::ForwardMsg),
}

/// Which stream a watch feeds.
#[derive(Clone, Copy)]
enum Feed {
    Namespaces,
    Nodes,
    Pods,
    Main(u64),
}

/// Keep one kind in sync: watch (initial snapshot as ADDED), and on error start again.
/// A main-table watch stops once the table shows another kind.
fn spawn_watch(
    cluster: Arc<dyn Cluster>,
    kind: &'static KindInfo,
    feed: Feed,
    tx: mpsc::Sender<Msg>,
    current: Arc<AtomicU64>,
) {
    tokio::spawn(async move {
        let live = || match feed {
            Feed::Main(g) => current.load(Ordering::Relaxed) == g,
            _ => true,
        };
        let (name, generation) = match feed {
            Feed::Namespaces => ("namespaces", 0),
            Feed::Nodes => ("nodes", 0),
            Feed::Pods => ("pods", 0),
            Feed::Main(g) => ("main", g),
        };
        while live() {
            if tx.send(Msg::Reset(name, generation)).await.is_err() {
                return;
            }
            if let Ok(mut stream) = cluster.watch(kind, None, &ListOptions::default()).await {
                while let Some(Ok(ev)) = stream.next().await {
                    if !live() {
                        return;
                    }
                    let msg = match feed {
                        Feed::Namespaces => Msg::Namespace(ev),
                        Feed::Nodes => Msg::Node(ev),
                        Feed::Pods => Msg::Pod(ev),
                        Feed::Main(g) => Msg::Main(g, ev),
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

/// Terminal events come from a plain thread (crossterm's reads block). While `paused` (a
/// shell owns the terminal) it does not read, so the shell gets every key.
fn spawn_input(tx: mpsc::Sender<Msg>, paused: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        loop {
            if paused.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match event::poll(Duration::from_millis(50)) {
                Ok(false) => continue,
                Ok(true) if paused.load(Ordering::Acquire) => continue,
                Ok(true) => {}
                Err(_) => return,
            }
            let msg = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Ok(Event::Resize(_, _)) => Msg::Resize,
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.blocking_send(msg).is_err() {
                return;
            }
        }
    });
}

/// CPU and memory of every running pod, every few seconds (what `peapod top pod` reads).
fn spawn_metrics(cluster: Arc<dyn Cluster>, tx: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let Ok(items) = cluster.pod_metrics(None, &ListOptions::default()).await else {
                // A cluster that cannot measure pods: the columns stay n/a.
                continue;
            };
            let mut m = HashMap::new();
            for item in &items {
                let (mut cpu, mut mem) = (0u64, 0u64);
                for c in item["containers"].as_array().into_iter().flatten() {
                    let q = |p: &str| crate::api::quantity::Quantity::from_json(&c["usage"][p]);
                    cpu += q("cpu").map_or(0, |q| q.milli_value().max(0) as u64);
                    mem += q("memory").map_or(0, |q| q.value().max(0) as u64);
                }
                let key = format!("{}/{}", item.namespace().unwrap_or(""), item.name());
                m.insert(key, (cpu, mem));
            }
            if tx.send(Msg::Metrics(m)).await.is_err() {
                return;
            }
        }
    });
}

/// Run the console until the user quits. The terminal is restored on every exit path,
/// panics included.
pub async fn run(cluster: Arc<dyn Cluster>, opts: ConsoleOptions) -> Result<(), String> {
    let loaded = config::load(&config::LoadOptions::from_env(
        opts.config.clone(),
        opts.theme.clone(),
    ));
    // A config file named on the command line must be readable; problems inside files are
    // shown in the console (and by `peapod check-config`).
    if let Some(path) = &opts.config
        && let Err(e) = std::fs::metadata(path)
    {
        return Err(format!("--config {}: {e}", path.display()));
    }
    let mut terminal = ratatui::try_init().map_err(|e| format!("cannot open the terminal: {e}"))?;
    let mouse = opts.mouse || loaded.config.mouse;
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    }
    let result = event_loop(&mut terminal, cluster, opts, loaded).await;
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    }
    ratatui::restore();
    result
}

/// The config problems as one line for the status bar.
fn problems_line(problems: &[config::Problem]) -> Option<String> {
    match problems {
        [] => None,
        [one] => Some(format!("{one} (peapod check-config)")),
        [first, rest @ ..] => Some(format!(
            "{first} and {} more (peapod check-config)",
            rest.len()
        )),
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    cluster: Arc<dyn Cluster>,
    opts: ConsoleOptions,
    loaded: config::Loaded,
) -> Result<(), String> {
    let (tx, mut rx) = mpsc::channel::<Msg>(8192);
    let main_generation = Arc::new(AtomicU64::new(0));
    for (plural, feed) in [
        ("namespaces", Feed::Namespaces),
        ("nodes", Feed::Nodes),
        ("pods", Feed::Pods),
    ] {
        if let Some(kind) = kinds::lookup(plural) {
            spawn_watch(
                cluster.clone(),
                kind,
                feed,
                tx.clone(),
                main_generation.clone(),
            );
        }
    }
    spawn_metrics(cluster.clone(), tx.clone());
    let paused = Arc::new(AtomicBool::new(false));
    spawn_input(tx.clone(), paused.clone());

    let session = Session {
        endpoint: cluster.endpoint(),
        version: cluster
            .server_version()
            .await
            .unwrap_or_else(|_| crate::api::server_version()),
        readonly: opts.readonly,
    };
    let refresh = Duration::from_millis(loaded.config.refresh_rate_ms);
    let capacity = loaded.config.log_buffer_lines;
    let mut app = App::new(session, loaded.config, loaded.keymap, loaded.theme);
    if let Some(w) = problems_line(&loaded.problems) {
        app.error(w);
    }
    let mut follower = logs::LogFollower::new(capacity);
    let sink = logs::LogSink::channel(tx.clone(), Msg::Logs);
    let mut tick = tokio::time::interval(refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    // SIGTERM and SIGHUP (a closed terminal or SSH session) end the console like `q`, so the
    // terminal is restored (ctrl-c arrives as a key in raw mode).
    let mut stop = termination_signals();
    let mut forwards = forwards::Forwards::default();
    loop {
        tokio::select! {
            _ = stop.recv() => return Ok(()),
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                let mut batch = Batch::default();
                batch.add(msg);
                // Drain what else is queued: a burst costs one frame.
                while batch.len < 4096 {
                    match rx.try_recv() {
                        Ok(m) => batch.add(m),
                        Err(_) => break,
                    }
                }
                // A key is answered with a frame at once; data changes wait for the tick, so
                // floods of events and log lines cost at most one frame per refresh period.
                let keyed = batch.items.iter().any(|m| matches!(m, Msg::Key(_) | Msg::Mouse(_) | Msg::Resize));
                let effects = batch.apply(&mut app, &mut follower, &mut forwards);
                for id in std::mem::take(&mut app.lost_forwards) {
                    forwards.stop(id);
                }
                for effect in effects {
                    match effect {
                        Effect::PortForward { id, target, ports } => forwards.start(
                            cluster.clone(), opts.state_dir.clone(), tx.clone(), id, target, ports,
                        ),
                        Effect::StopForward(id) => forwards.stop(id),
                        effect => run_effect(effect, &mut app, &cluster, &tx, &main_generation, &paused, &opts, terminal),
                    }
                }
                if app.quit {
                    return Ok(());
                }
                let pod = app.log_pod();
                follower.follow(pod.as_deref(), &cluster, &sink);
                dirty = true;
                if keyed {
                    draw(terminal, &mut app, &follower)?;
                    dirty = false;
                }
            }
            _ = tick.tick() => {
                // Tails that could not start yet are retried on time.
                let pod = app.log_pod();
                dirty |= follower.follow(pod.as_deref(), &cluster, &sink);
                if dirty {
                    draw(terminal, &mut app, &follower)?;
                    dirty = false;
                }
            }
        }
    }
}

fn draw(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    follower: &logs::LogFollower,
) -> Result<(), String> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    // Terminals that support it show the frame at once (no tearing over SSH); others ignore
    // the sequences.
    let _ = crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate);
    let drawn = terminal
        .draw(|f| {
            app.areas = view::draw(f, app, &LogsAdapter(follower));
        })
        .map(|_| ())
        .map_err(|e| format!("drawing failed: {e}"));
    let _ = crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate);
    drawn
}

/// The logs pane as the view draws it.
struct LogsAdapter<'a>(&'a logs::LogFollower);

impl view::LogsView for LogsAdapter<'_> {
    fn render(
        &self,
        area: ratatui::layout::Rect,
        buf: &mut ratatui::buffer::Buffer,
        app: &App,
        focused: bool,
    ) {
        self.0.render(area, buf, &app.theme, focused)
    }
}

/// Messages drained in one go, with consecutive watch events grouped so tables apply them
/// as one burst.
#[derive(Default)]
struct Batch {
    len: usize,
    items: Vec<Msg>,
}

impl Batch {
    fn add(&mut self, m: Msg) {
        self.len += 1;
        self.items.push(m);
    }

    fn apply(
        self,
        app: &mut App,
        follower: &mut logs::LogFollower,
        forwards: &mut forwards::Forwards,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut pods: Vec<WatchEvent> = Vec::new();
        let mut main: Vec<WatchEvent> = Vec::new();
        let mut main_gen = 0;
        let flush = |app: &mut App, pods: &mut Vec<WatchEvent>, main: &mut Vec<WatchEvent>, g| {
            if !pods.is_empty() {
                app.apply_pods(std::mem::take(pods));
            }
            if !main.is_empty() {
                app.apply_main(g, std::mem::take(main));
            }
        };
        for msg in self.items {
            match msg {
                Msg::Pod(ev) => pods.push(ev),
                Msg::Main(g, ev) => {
                    if g != main_gen {
                        flush(app, &mut pods, &mut main, main_gen);
                        main_gen = g;
                    }
                    main.push(ev);
                }
                other => {
                    flush(app, &mut pods, &mut main, main_gen);
                    match other {
                        Msg::Key(k) => {
                            let typing = follower.is_searching();
                            let r = app.on_key(k, typing);
                            for input in r.logs {
                                let pod = app.log_pod();
                                let handled = match input {
                                    app::LogsInput::Action(a) => {
                                        follower.on_action(&a, pod.as_deref())
                                    }
                                    app::LogsInput::Key(k) => follower.on_key(k),
                                    app::LogsInput::Container {
                                        pod,
                                        name,
                                        previous,
                                    } => {
                                        follower.show_container(&pod, &name, previous);
                                        logs::Handled::Done
                                    }
                                };
                                match handled {
                                    logs::Handled::Message(m) => app.info(m),
                                    logs::Handled::Error(e) => app.error(e),
                                    logs::Handled::Done | logs::Handled::Ignored => {}
                                }
                            }
                            effects.extend(r.effects);
                        }
                        Msg::Resize => {}
                        Msg::Mouse(m) => app.on_mouse(m),
                        Msg::Namespace(ev) => app.apply_namespace(ev),
                        Msg::Node(ev) => app.apply_node(ev),
                        Msg::Reset(what, g) => app.reset(what, g),
                        Msg::Logs(g, b) => {
                            follower.on_batch(g, b);
                        }
                        Msg::Metrics(m) => app.set_metrics(m),
                        Msg::Report(effects::Report::Line { text, error }) => {
                            if error {
                                app.error(text)
                            } else if !text.is_empty() {
                                app.info(text)
                            }
                        }
                        Msg::Report(effects::Report::Text { title, text, usage }) => {
                            app.show_text(&title, &text, usage)
                        }
                        Msg::Forward(m) => forwards.on_msg(app, m),
                        Msg::Pod(_) | Msg::Main(..) => {}
                    }
                }
            }
        }
        flush(app, &mut pods, &mut main, main_gen);
        effects
    }
}

#[allow(clippy::too_many_arguments)]
fn run_effect(
    effect: Effect,
    app: &mut App,
    cluster: &Arc<dyn Cluster>,
    tx: &mpsc::Sender<Msg>,
    main_generation: &Arc<AtomicU64>,
    paused: &Arc<AtomicBool>,
    opts: &ConsoleOptions,
    terminal: &mut ratatui::DefaultTerminal,
) {
    match effect {
        Effect::WatchMain { kind, generation } => {
            main_generation.store(generation, Ordering::Relaxed);
            spawn_watch(
                cluster.clone(),
                kind,
                Feed::Main(generation),
                tx.clone(),
                main_generation.clone(),
            );
        }
        Effect::Shell {
            namespace,
            pod,
            container,
        } => {
            let result = shell(
                terminal,
                paused,
                opts,
                &namespace,
                &pod,
                container.as_deref(),
            );
            match result {
                Ok(()) => app.info(format!("shell in {namespace}/{pod} ended")),
                Err(e) => app.error(e),
            }
        }
        other => {
            let (cluster, tx) = (cluster.clone(), tx.clone());
            let ns = app.namespace().map(str::to_string);
            tokio::spawn(async move {
                let report = effects::run(cluster, other, ns).await;
                let _ = tx.send(Msg::Report(report)).await;
            });
        }
    }
}

/// Suspend the console, run `peapod exec -it` with a shell in the pod, then come back.
fn shell(
    terminal: &mut ratatui::DefaultTerminal,
    paused: &AtomicBool,
    opts: &ConsoleOptions,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find peapod itself: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    if let Some(dir) = &opts.state_dir {
        cmd.arg("--state-dir").arg(dir);
    }
    cmd.args(["exec", "-it", "-n", namespace, pod]);
    if let Some(c) = container {
        cmd.args(["-c", c]);
    }
    cmd.args([
        "--",
        "sh",
        "-c",
        "command -v bash >/dev/null 2>&1 && exec bash || exec sh",
    ]);
    paused.store(true, Ordering::Release);
    ratatui::restore();
    println!("peapod: shell in {namespace}/{pod} (exit to return to the console)");
    let status = cmd.status();
    let back = ratatui::try_init().map(|t| *terminal = t);
    let _ = terminal.clear();
    paused.store(false, Ordering::Release);
    back.map_err(|e| format!("cannot take the terminal back: {e}"))?;
    match status {
        Ok(s) if s.success() || s.code().is_some() => Ok(()),
        Ok(s) => Err(format!("the shell in {namespace}/{pod} ended: {s}")),
        Err(e) => Err(format!("cannot start peapod exec: {e}")),
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
