//! The follower: everything about which log the pane shows and the tails feeding it, so the
//! console's loop only reports the selected pod ([`LogFollower::follow`]), the actions and
//! keys of the logs context, and the batches the tails deliver ([`LogFollower::on_batch`]).
//!
//! Every tail gets its own generation number; a batch whose tail was replaced (another pod,
//! container or range) is ignored. A container that restarts continues in the same pane after
//! a marker; a tail that could not start (the container is still being created) is retried.

use super::buffer::{LogBuffer, LogLine};
use super::pane::{LogStyles, LogsPane, PaneStatus};
use super::pod_info::PodInfo;
use super::search::{MatchIndex, SearchInput};
use super::sink::LogSink;
use super::tail::{Batch, LogTarget, TailConfig, spawn_tail_with};
use super::view::{LogView, TimeRange};
use crate::api::request::LogOptions;
use crate::cluster::Cluster;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// A tail that failed is tried again after this long (or as soon as the pod changes).
const RETRY: Duration = Duration::from_secs(1);

/// Where saved logs go when set (else the current directory).
pub const LOG_DIR_ENV: &str = "PEAPOD_LOG_DIR";

/// What became of an action or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Not the follower's: the caller may handle it.
    Ignored,
    /// Done; redraw.
    Done,
    /// Done; show this in the message bar.
    Message(String),
    /// Failed; show this as an error.
    Error(String),
}

/// Which containers the pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    /// The pod's default container (kubectl's choice).
    Default,
    One(String),
    /// Every container that ran, each line prefixed with its container.
    All,
}

/// One running (or ended) tail.
struct Tail {
    generation: u64,
    container: Option<String>,
    /// The container's restart count when the tail started.
    restarts: i64,
    opts: LogOptions,
    started: Instant,
    /// How the stream ended: `Ok` when the container stopped, `Err` when it failed.
    ended: Option<Result<(), String>>,
    /// The last error shown, so a retried tail failing alike adds no line.
    last_error: Option<String>,
    /// Timestamp of the last line delivered (a retry continues after it).
    last_ts: Option<Box<str>>,
    /// A retry's lines up to this time were shown already.
    skip_until: Option<jiff::Timestamp>,
    task: Option<JoinHandle<()>>,
    forward: Option<JoinHandle<()>>,
}

impl Drop for Tail {
    fn drop(&mut self) {
        for h in [self.task.take(), self.forward.take()]
            .into_iter()
            .flatten()
        {
            h.abort();
        }
    }
}

struct Env {
    cluster: Arc<dyn Cluster>,
    sink: LogSink,
}

pub struct LogFollower {
    buffer: LogBuffer,
    view: LogView,
    matches: MatchIndex,
    input: Option<SearchInput>,
    tail_cfg: TailConfig,
    pod: Option<PodInfo>,
    selection: Selection,
    previous: bool,
    tails: Vec<Tail>,
    generation: u64,
    env: Option<Env>,
    /// Text rows of the last frame (for paging); written by `render`.
    height: AtomicUsize,
    save_dir: Option<PathBuf>,
}

impl LogFollower {
    /// A follower keeping at most `capacity` lines (the config's `log_buffer_lines`).
    pub fn new(capacity: usize) -> LogFollower {
        LogFollower {
            buffer: LogBuffer::new(capacity),
            view: LogView::default(),
            matches: MatchIndex::default(),
            input: None,
            tail_cfg: TailConfig {
                // At most ~30 deliveries a second per tail, whatever the rate: a timed batch
                // every 33 ms, or a full one of 5,000 lines (100,000 lines/s = 20 of them).
                interval: Duration::from_millis(33),
                batch_lines: 5_000,
                max_pending: capacity.max(1),
                channel: 4,
            },
            pod: None,
            selection: Selection::Default,
            previous: false,
            tails: Vec::new(),
            generation: 0,
            env: None,
            height: AtomicUsize::new(10),
            save_dir: None,
        }
    }

    /// Batching of the tails started from now on.
    pub fn with_tail_config(mut self, cfg: TailConfig) -> LogFollower {
        self.tail_cfg = cfg;
        self
    }

    /// Save into `dir` instead of `$PEAPOD_LOG_DIR` or the current directory.
    pub fn with_save_dir(mut self, dir: PathBuf) -> LogFollower {
        self.save_dir = Some(dir);
        self
    }

    /// How the tails batch (one delivery per 33 ms, or per 5,000 lines, at most).
    pub fn tail_config(&self) -> TailConfig {
        self.tail_cfg
    }

    pub fn buffer(&self) -> &LogBuffer {
        &self.buffer
    }

    pub fn view(&self) -> &LogView {
        &self.view
    }

    /// True while the user types a search: send keys to [`LogFollower::on_key`] first.
    pub fn is_searching(&self) -> bool {
        self.input.is_some()
    }

    /// Text rows of the pane (set by `render`; for a caller drawing with [`LogsPane`]).
    pub fn set_height(&self, rows: usize) {
        self.height.store(rows.max(1), Ordering::Relaxed);
    }

    fn h(&self) -> usize {
        self.height.load(Ordering::Relaxed).max(1)
    }

    /// Generations of the running tails (oldest first).
    pub fn generations(&self) -> Vec<u64> {
        self.tails.iter().map(|t| t.generation).collect()
    }

    /// Follow the selected pod. Call it whenever the selection or the pod changes, and on the
    /// UI's tick (retries of tails that could not start are timed). Cheap when nothing changed.
    /// Returns true when the pane changed.
    pub fn follow(
        &mut self,
        pod: Option<&Value>,
        cluster: &Arc<dyn Cluster>,
        sink: &LogSink,
    ) -> bool {
        self.env = Some(Env {
            cluster: cluster.clone(),
            sink: sink.clone(),
        });
        self.update_pod(pod.map(PodInfo::of))
    }

    fn update_pod(&mut self, info: Option<PodInfo>) -> bool {
        let uid = |p: &Option<PodInfo>| p.as_ref().map(|p| p.uid.clone());
        if uid(&info) != uid(&self.pod) {
            self.pod = info;
            if self.selection != Selection::All {
                self.selection = Selection::Default;
            }
            self.previous = false;
            self.restart_all();
            return true;
        }
        let changed = info != self.pod;
        self.pod = info;
        self.reconcile(changed)
    }

    /// The pane's source: `pod/container`, `pod (all containers)`.
    pub fn source(&self) -> String {
        let Some(p) = &self.pod else {
            return "no pod selected".to_string();
        };
        match &self.selection {
            Selection::All => format!("{} (all containers)", p.name),
            Selection::One(c) => format!("{}/{c}", p.name),
            Selection::Default => match &p.default {
                Some(c) => format!("{}/{c}", p.name),
                None => p.name.clone(),
            },
        }
    }

    /// The title's state beyond the view's flags.
    pub fn status(&self) -> PaneStatus {
        let mut flags = Vec::new();
        if self.previous {
            flags.push("previous".to_string());
        }
        if self.pod.is_some() {
            if self.tails.is_empty() {
                flags.push("waiting".to_string());
            } else if self.tails.iter().all(|t| t.ended.is_some()) {
                let failed = self.tails.iter().any(|t| matches!(t.ended, Some(Err(_))));
                flags.push(if failed { "failed" } else { "ended" }.to_string());
            }
        }
        let matches = (!self.view.query().is_empty()).then(|| {
            let at = self
                .view
                .current_match
                .and_then(|m| self.matches.position(m));
            (at, self.matches.count())
        });
        PaneStatus {
            flags,
            matches,
            typing: self.input.as_ref().map(|i| i.text.clone()),
        }
    }

    /// The pane widget with the default styles (see `render` for the theme's).
    pub fn pane(&self) -> LogsPane<'_> {
        LogsPane::new(&self.buffer, &self.view, self.source()).status(self.status())
    }

    /// Draw the pane with the theme's logs roles; remembers the height for paging.
    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        theme: &crate::tui::theme::Theme,
        focused: bool,
    ) {
        self.set_height(area.height.saturating_sub(2) as usize);
        self.pane()
            .styles(LogStyles::from_theme(theme, focused))
            .render(area, buf);
    }

    /// Apply a tail's batch; a replaced tail's is ignored. Returns true when the pane changed.
    pub fn on_batch(&mut self, generation: u64, batch: Batch) -> bool {
        let all = self.selection == Selection::All;
        let Some(t) = self.tails.iter_mut().find(|t| t.generation == generation) else {
            return false;
        };
        self.buffer.note_dropped(batch.dropped);
        let mut lines = batch.lines;
        if let Some(until) = t.skip_until {
            // A retry asked from the last line's time on: drop what was shown already.
            let seen = lines
                .iter()
                .take_while(|l| {
                    l.ts.as_deref()
                        .and_then(|ts| ts.parse::<jiff::Timestamp>().ok())
                        .is_some_and(|ts| ts <= until)
                })
                .count();
            lines.drain(..seen);
            if !lines.is_empty() {
                t.skip_until = None;
            }
        }
        if let Some(last) = lines.iter().rev().find_map(|l| l.ts.clone()) {
            t.last_ts = Some(last);
            t.last_error = None;
        }
        self.buffer.push_batch(lines);
        let ended = batch.end.is_some();
        if let Some(end) = batch.end {
            if let Err(e) = &end
                && t.last_error.as_ref() != Some(e)
            {
                let mut line = LogLine::new(&format!("({e})"));
                if all && let Some(c) = &t.container {
                    line = line.with_container(Arc::from(c.as_str()));
                }
                self.buffer.push(line);
                t.last_error = Some(e.clone());
            }
            t.ended = Some(end);
        }
        self.matches.sync(&self.buffer, &self.view);
        if ended {
            // The pod may already say the container restarted.
            self.reconcile(false);
        }
        true
    }

    /// The containers to tail now.
    fn wanted(&self) -> Vec<Option<String>> {
        let Some(p) = &self.pod else {
            return Vec::new();
        };
        match &self.selection {
            Selection::Default => vec![p.default.clone()],
            Selection::One(c) => vec![Some(c.clone())],
            Selection::All => p
                .started()
                .into_iter()
                .map(|c| Some(c.to_string()))
                .collect(),
        }
    }

    /// Options for a fresh tail: the view's range, live or the previous container's log.
    fn range_options(&self) -> LogOptions {
        self.view.options(&LogOptions {
            follow: !self.previous,
            previous: self.previous,
            ..LogOptions::default()
        })
    }

    /// Forget the lines and start every wanted tail afresh (another pod, container, range).
    fn restart_all(&mut self) {
        self.tails.clear();
        self.buffer.clear();
        self.view.resume();
        self.matches.sync(&self.buffer, &self.view);
        let opts = self.range_options();
        for c in self.wanted() {
            let restarts = self.pod.as_ref().map_or(0, |p| p.restarts(c.as_deref()));
            self.spawn(c, opts.clone(), restarts, None);
        }
    }

    /// Restart tails whose container restarted, retry those that failed, and (all-containers)
    /// start containers that began running. Returns true when something started.
    fn reconcile(&mut self, pod_changed: bool) -> bool {
        if self.previous {
            return false;
        }
        let Some(pod) = self.pod.clone() else {
            return false;
        };
        let mut acted = false;
        let mut i = 0;
        while i < self.tails.len() {
            let t = &self.tails[i];
            let now = pod.restarts(t.container.as_deref());
            // A stream that broke (rather than ended) still gives way to the new run.
            let restarted = t.ended.is_some() && now > t.restarts;
            let retry =
                matches!(t.ended, Some(Err(_))) && (pod_changed || t.started.elapsed() >= RETRY);
            if !restarted && !retry {
                i += 1;
                continue;
            }
            let old = self.tails.remove(i);
            let c = old.container.clone();
            if restarted {
                // Prefixed with its container only where every line is.
                let tag = self.selection == Selection::All;
                self.buffer.mark_restart_in(c.as_deref(), tag);
                // The new run's whole log: it began after the marker.
                let opts = LogOptions {
                    follow: true,
                    timestamps: true,
                    ..LogOptions::default()
                };
                self.spawn(c, opts, now, None);
            } else {
                let mut opts = old.opts.clone();
                let mut skip = None;
                if let Some(ts) = &old.last_ts {
                    // Lines were shown: continue after the last one, not from the range again.
                    opts.tail_lines = None;
                    opts.since_seconds = None;
                    opts.since_time = Some(ts.to_string());
                    skip = ts.parse().ok();
                }
                self.spawn(c, opts, now, old.last_error.clone());
                if let Some(t) = self.tails.last_mut() {
                    t.skip_until = skip;
                    t.last_ts = old.last_ts.clone();
                }
            }
            acted = true;
            // The new tail went to the end; `i` now points at the next old one.
        }
        if self.selection == Selection::All {
            let opts = self.range_options();
            for c in self.wanted() {
                if !self.tails.iter().any(|t| t.container == c) {
                    let restarts = pod.restarts(c.as_deref());
                    self.spawn(c, opts.clone(), restarts, None);
                    acted = true;
                }
            }
        }
        if acted {
            self.matches.sync(&self.buffer, &self.view);
        }
        acted
    }

    fn spawn(
        &mut self,
        container: Option<String>,
        opts: LogOptions,
        restarts: i64,
        last_error: Option<String>,
    ) {
        let (Some(env), Some(pod)) = (&self.env, &self.pod) else {
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        let mut tail = Tail {
            generation,
            container: container.clone(),
            restarts,
            opts: opts.clone(),
            started: Instant::now(),
            ended: None,
            last_error,
            last_ts: None,
            skip_until: None,
            task: None,
            forward: None,
        };
        if tokio::runtime::Handle::try_current().is_err() {
            // Only a caller outside tokio gets here (a test); say so instead of panicking.
            tail.ended = Some(Err("logs need a tokio runtime".to_string()));
            self.tails.push(tail);
            return;
        }
        let target = LogTarget {
            namespace: pod.namespace.clone(),
            pod: pod.name.clone(),
            container,
            tag_container: self.selection == Selection::All,
        };
        let (mut rx, task) = spawn_tail_with(env.cluster.clone(), target, opts, self.tail_cfg);
        let sink = env.sink.clone();
        let forward = tokio::spawn(async move {
            while let Some(b) = rx.recv().await {
                if !sink.send(generation, b).await {
                    return;
                }
            }
        });
        tail.task = Some(task);
        tail.forward = Some(forward);
        self.tails.push(tail);
    }

    /// An action of the logs context (or `pod.logs.previous` from the pods table) for `pod`,
    /// the selected pod.
    pub fn on_action(&mut self, action: &str, pod: Option<&Value>) -> Handled {
        if let Some(p) = pod {
            self.update_pod(Some(PodInfo::of(p)));
        }
        let h = self.h();
        let (b, v) = (&self.buffer, &mut self.view);
        let new_range = TimeRange::of_action(action);
        if let Some(r) = new_range {
            v.range = r;
            self.restart_all();
            return Handled::Done;
        }
        match action {
            "logs.follow" => v.toggle_follow(b, h),
            "logs.wrap" => v.toggle_wrap(),
            "logs.timestamps" => v.toggle_timestamps(),
            "row.up" => v.scroll_up(b, h, 1),
            "row.down" => v.scroll_down(b, h, 1),
            "page.up" => v.scroll_up(b, h, h),
            "page.down" => v.scroll_down(b, h, h),
            "row.first" => v.to_top(b),
            "row.last" => v.resume(),
            "logs.search" => {
                self.input = Some(SearchInput {
                    text: String::new(),
                    before: v.query().to_string(),
                });
            }
            "logs.next" | "logs.prev" => return self.search(action == "logs.next"),
            "logs.save" => return self.save(),
            "logs.clear" => {
                self.buffer.clear();
                self.matches.sync(&self.buffer, &self.view);
            }
            "logs.container.next" => return self.next_container(),
            "logs.all_containers" => {
                self.selection = match self.selection {
                    Selection::All => Selection::Default,
                    _ => Selection::All,
                };
                self.restart_all();
            }
            "pod.logs.previous" => {
                self.previous = !self.previous;
                self.restart_all();
            }
            _ => return Handled::Ignored,
        }
        Handled::Done
    }

    /// Show one container of `pod` (from the containers view), its previous run when
    /// `previous`.
    pub fn show_container(&mut self, pod: &Value, container: &str, previous: bool) {
        self.update_pod(Some(PodInfo::of(pod)));
        self.selection = Selection::One(container.to_string());
        self.previous = previous;
        self.restart_all();
    }

    fn next_container(&mut self) -> Handled {
        let Some(p) = &self.pod else {
            return Handled::Message("no pod selected".to_string());
        };
        let choices = p.choices();
        let current = match &self.selection {
            Selection::One(c) => Some(c.as_str()),
            Selection::Default => p.default.as_deref(),
            Selection::All => None,
        };
        let next = match current.and_then(|c| choices.iter().position(|x| *x == c)) {
            Some(i) => choices.get((i + 1) % choices.len()),
            // From all containers back to the default one.
            None => p
                .default
                .as_deref()
                .and_then(|d| choices.iter().find(|c| **c == d))
                .or(choices.first()),
        };
        let Some(next) = next.map(|c| c.to_string()) else {
            return Handled::Message(format!("pod {} has no containers", p.name));
        };
        self.selection = Selection::One(next);
        self.restart_all();
        Handled::Done
    }

    /// `n`/`N`; following, the search starts from the newest line.
    fn search(&mut self, forward: bool) -> Handled {
        let q = self.view.query().to_string();
        if q.is_empty() {
            return Handled::Message("no search: press / to search the logs".to_string());
        }
        let h = self.h();
        let found = if forward {
            self.view.search_next(&self.buffer, h)
        } else {
            self.view.search_prev(&self.buffer, h)
        };
        match found {
            Some(_) => Handled::Done,
            None => Handled::Message(format!("no line matches {q:?}")),
        }
    }

    /// A key while the search query is typed: text edits it (matches highlight as you
    /// type), Enter goes to the nearest match, Esc puts the previous query back.
    pub fn on_key(&mut self, key: KeyEvent) -> Handled {
        let Some(input) = &mut self.input else {
            return Handled::Ignored;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let mut result = Handled::Done;
        match key.code {
            KeyCode::Esc => {
                let before = std::mem::take(&mut input.before);
                self.input = None;
                self.view.set_search(&before);
            }
            KeyCode::Enter => {
                self.input = None;
                if !self.view.query().is_empty() {
                    // Following, the nearest match is the newest one.
                    let forward = !self.view.follow;
                    result = self.search(forward);
                }
            }
            KeyCode::Backspace => {
                input.text.pop();
                let t = input.text.clone();
                self.view.set_search(&t);
            }
            KeyCode::Char('u') if ctrl => {
                input.text.clear();
                self.view.set_search("");
            }
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                input.text.push(c);
                let t = input.text.clone();
                self.view.set_search(&t);
            }
            _ => {}
        }
        self.matches.sync(&self.buffer, &self.view);
        result
    }

    /// Where `logs.save` writes now: `<dir>/<pod>-<container|all>[-previous]-<time>.log`.
    fn save_path(&self) -> PathBuf {
        let dir = self
            .save_dir
            .clone()
            .or_else(|| std::env::var_os(LOG_DIR_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        let pod = self.pod.as_ref().map_or("logs", |p| p.name.as_str());
        let container = match (&self.selection, &self.pod) {
            (Selection::All, _) => Some("all"),
            (Selection::One(c), _) => Some(c.as_str()),
            (Selection::Default, Some(p)) => p.default.as_deref(),
            (Selection::Default, None) => None,
        };
        let mut name = pod.to_string();
        if let Some(c) = container {
            name.push('-');
            name.push_str(c);
        }
        if self.previous {
            name.push_str("-previous");
        }
        let when = jiff::Zoned::now().strftime("%Y%m%d-%H%M%S").to_string();
        dir.join(format!("{name}-{when}.log"))
    }

    /// Write the kept lines (plain text; timestamps when shown) to a new file.
    pub fn save(&self) -> Handled {
        let path = self.save_path();
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return Handled::Error(format!("cannot save logs to {}: {e}", dir.display()));
        }
        match self.buffer.save(&path, self.view.timestamps) {
            Ok(n) => Handled::Message(format!("saved {n} lines to {}", path.display())),
            Err(e) => Handled::Error(e),
        }
    }
}
