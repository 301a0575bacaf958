//! The console's state: what the watches delivered, what the user is looking at and which
//! input mode is active. Pure data and pure transitions: keys become state changes plus
//! `Effect`s (cluster requests) that the event loop runs, so every behaviour here is tested
//! without a terminal or a cluster.

mod effect;
mod forward_keys;
#[cfg(test)]
mod forward_tests;
mod keys;
#[cfg(test)]
pub mod tests;

pub use crate::tui::widgets::LineInput;
pub use effect::{Effect, Target};
pub use keys::{KeyResult, LogsInput, pod_selector};

use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::{EventType, WatchEvent};
use crate::tui::config::Config;
use crate::tui::keymap::{KeyState, Keymap};
use crate::tui::table::{History, ResourceTable, View};
use crate::tui::theme::Theme;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The panes that take focus, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Namespaces,
    Table,
    Labels,
    Logs,
}

const FOCUS_ORDER: [Focus; 4] = [Focus::Namespaces, Focus::Table, Focus::Labels, Focus::Logs];

/// What receives the keys. Overlays (dialogs, viewers, the editor) sit over the panes.
pub enum Mode {
    Normal,
    /// `:` command line.
    Command(LineInput),
    /// `/` filter line for the main table (applied as it is typed).
    Filter(LineInput),
    /// A confirmation before a destructive action.
    Confirm(Box<crate::tui::widgets::ConfirmDialog>, Effect),
    /// A one-line prompt (scale replicas, a new namespace's name).
    Prompt(Box<crate::tui::widgets::PromptDialog>, PromptFor),
    /// Describe or YAML text, full screen.
    Text(Box<crate::tui::widgets::TextView>),
    /// The in-console editor of one object.
    Edit(Box<crate::tui::widgets::Editor>),
    /// The containers of a pod (Enter on a pod).
    Containers(Box<crate::tui::widgets::ContainersView>),
    /// The active port-forwards (`:pf`).
    Forwards(Box<crate::tui::widgets::ForwardsView>),
    /// The help screen.
    Help,
}

/// What a prompt's answer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptFor {
    Scale(Target),
    CreateNamespace,
    /// `[LOCAL:]REMOTE` ports for a port-forward to a pod or service.
    PortForward(Target),
}

/// A message for the bar above the footer: results of actions, errors, config warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
}

/// Where the console came from and what it may do, fixed for a session.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Where the cluster lives (header).
    pub endpoint: String,
    /// The server's version (header).
    pub version: String,
    /// `--readonly` or the config's readonly: mutating actions are refused.
    pub readonly: bool,
}

pub struct App {
    pub session: Session,
    pub config: Config,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Keys typed so far of a multi-key binding (`g g`).
    pub keys: KeyState,
    pub flash: Option<Flash>,
    pub mode: Mode,
    pub focus: Focus,
    /// The focused pane fills the screen.
    pub zoomed: bool,
    /// Namespace objects by name (the namespaces pane; `all` is row 0).
    pub namespaces: BTreeMap<String, Value>,
    pub ns_cursor: usize,
    /// Node names (header).
    pub nodes: BTreeMap<String, ()>,
    /// Every pod, whatever the main table shows: counts, labels, and the logs pane's pod.
    pub pods: crate::tui::pods_index::PodIndex,
    /// The label picks that filter the pods table.
    pub labels: crate::tui::labels::LabelsPane,
    /// The main table (any kind) and the first row drawn last frame.
    pub table: ResourceTable,
    pub table_offset: usize,
    /// Pods by key when the main table shows another kind: the logs pane's pod comes from
    /// the pods table (last selected) even then.
    pub pod_table: Option<ResourceTable>,
    pub history: History,
    /// Rows of the main table in the last frame (paging).
    pub page_height: usize,
    /// Bumped when the main table changes kind: events of older watches are dropped.
    pub table_generation: u64,
    /// A fixed clock for render tests; `None` = the system clock.
    pub clock: Option<jiff::Timestamp>,
    /// Set when the user asked to quit.
    pub quit: bool,
    /// CPU and memory samples of pods (describe's sparklines).
    pub usage: crate::tui::widgets::UsageHistory,
    /// The pod whose usage shows above the text view (a pod's describe).
    pub text_usage: Option<String>,
    /// Where the panes were drawn last (mouse clicks find their pane here).
    pub areas: crate::tui::view::Areas,
    /// `:` lines entered, oldest first (recalled with up/down).
    pub command_history: Vec<String>,
    /// The filter before `/` started editing it (Esc restores it).
    pub filter_before: String,
    /// The port-forwards this console runs (they run in the event loop; these are the rows).
    pub forwards: Vec<crate::tui::widgets::ForwardRow>,
    /// The id of the next port-forward.
    pub next_forward_id: u64,
    /// Forwards whose pod went away: the event loop stops them (as kubectl's port-forward
    /// ends with `lost connection to pod`).
    pub lost_forwards: Vec<u64>,
}

impl App {
    /// A console on the pods of all namespaces.
    pub fn new(session: Session, config: Config, keymap: Keymap, theme: Theme) -> App {
        let pods_kind = pods_kind();
        let mut history = History::default();
        history.push(View {
            kind: pods_kind,
            namespace: None,
            filter: String::new(),
        });
        let mut session = session;
        session.readonly |= config.readonly;
        App {
            session,
            config,
            keymap,
            theme,
            keys: KeyState::new(),
            flash: None,
            mode: Mode::Normal,
            focus: Focus::Table,
            zoomed: false,
            namespaces: BTreeMap::new(),
            ns_cursor: 0,
            nodes: BTreeMap::new(),
            pods: Default::default(),
            labels: Default::default(),
            table: ResourceTable::new(pods_kind),
            table_offset: 0,
            pod_table: None,
            history,
            page_height: 10,
            table_generation: 0,
            clock: None,
            quit: false,
            areas: Default::default(),
            usage: Default::default(),
            text_usage: None,
            command_history: Vec::new(),
            filter_before: String::new(),
            forwards: Vec::new(),
            next_forward_id: 1,
            lost_forwards: Vec::new(),
        }
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.unwrap_or_else(jiff::Timestamp::now)
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            error: true,
        });
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.flash = Some(Flash {
            text: text.into(),
            error: false,
        });
    }

    /// The kind of the main table.
    pub fn kind(&self) -> &'static KindInfo {
        self.table.kind()
    }

    pub fn showing_pods(&self) -> bool {
        self.table.kind().kind == "Pod"
    }

    /// The namespace the console is scoped to; `None` = all.
    pub fn namespace(&self) -> Option<&str> {
        if self.ns_cursor == 0 {
            None
        } else {
            self.namespaces
                .keys()
                .nth(self.ns_cursor - 1)
                .map(String::as_str)
        }
    }

    /// The pods table, wherever it lives now.
    pub fn pods_table(&mut self) -> &mut ResourceTable {
        match &mut self.pod_table {
            Some(t) => t,
            None => &mut self.table,
        }
    }

    /// The pod the logs pane follows: the selected row of the pods table.
    pub fn log_pod(&mut self) -> Option<Arc<Value>> {
        self.pods_table().selected_object()
    }

    // ---- watch events ------------------------------------------------------------------

    pub fn apply_namespace(&mut self, ev: WatchEvent) {
        let selected = self.namespace().map(str::to_string);
        let name = ev.object.name().to_string();
        match ev.event_type {
            EventType::Deleted => {
                self.namespaces.remove(&name);
            }
            EventType::Added | EventType::Modified => {
                self.namespaces.insert(name, ev.object);
            }
            EventType::Error => {}
        }
        // The same namespace stays selected while others come and go.
        self.ns_cursor = match &selected {
            Some(s) => self
                .namespaces
                .keys()
                .position(|k| k == s)
                .map_or(0, |i| i + 1),
            None => self.ns_cursor.min(self.namespaces.len()),
        };
        if self.ns_cursor == 0 && selected.is_some() {
            // The selected namespace went away: show all.
            self.scope_changed();
        }
    }

    pub fn apply_node(&mut self, ev: WatchEvent) {
        let name = ev.object.name().to_string();
        match ev.event_type {
            EventType::Deleted => {
                self.nodes.remove(&name);
            }
            EventType::Added | EventType::Modified => {
                self.nodes.insert(name, ());
            }
            EventType::Error => {}
        }
    }

    /// A burst of pod events: the index, and the pods table.
    pub fn apply_pods(&mut self, events: Vec<WatchEvent>) {
        for ev in &events {
            match ev.event_type {
                EventType::Deleted => {
                    self.pods.remove(&ev.object);
                    self.pod_gone(&ev.object);
                }
                EventType::Added | EventType::Modified => self.pods.upsert(&ev.object),
                EventType::Error => {}
            }
        }
        self.pods_table().apply_batch(events);
        // The containers view follows its pod.
        let key = match &self.mode {
            Mode::Containers(v) => Some(format!("{}/{}", v.namespace(), v.pod_name())),
            _ => None,
        };
        if let Some(pod) = key.and_then(|k| self.pods_table().object(&k))
            && let Mode::Containers(v) = &mut self.mode
        {
            v.set_pod(&pod);
        }
    }

    /// A burst of events for the main table when it shows another kind than pods.
    pub fn apply_main(&mut self, generation: u64, events: Vec<WatchEvent>) {
        if generation == self.table_generation && !self.showing_pods() {
            self.table.apply_batch(events);
        }
    }

    /// A watch starts over: forget what it delivered.
    pub fn reset(&mut self, what: &str, generation: u64) {
        match what {
            "pods" => {
                self.pods.reset();
                self.pods_table().reset();
            }
            "namespaces" => self.namespaces.clear(),
            "nodes" => self.nodes.clear(),
            _ if generation == self.table_generation && !self.showing_pods() => self.table.reset(),
            _ => {}
        }
    }

    // ---- views -------------------------------------------------------------------------

    /// The pods table's filter: the `/` filter, narrowed by the label picks.
    fn apply_label_picks(&mut self) {
        let sel = self.labels.selector();
        let table = self.pods_table();
        if let Err(e) = table.set_label_selector(sel.as_deref()) {
            self.error(e);
        }
    }

    /// The namespace scope changed: every table follows, label picks are dropped.
    pub fn scope_changed(&mut self) {
        let ns = self.namespace().map(str::to_string);
        self.labels.clear();
        self.table.set_namespace(ns.clone());
        if let Some(t) = &mut self.pod_table {
            t.set_namespace(ns);
        }
        self.apply_label_picks();
        self.table_offset = 0;
        self.record_view();
    }

    /// Select a namespace by name (`:ns NAME`, favourites); `None` = all.
    pub fn set_namespace(&mut self, ns: Option<&str>) -> Result<(), String> {
        let cursor = match ns {
            None => 0,
            Some(n) => match self.namespaces.keys().position(|k| k == n) {
                Some(i) => i + 1,
                None => return Err(format!("namespace {n:?} not found: see :ns")),
            },
        };
        if cursor != self.ns_cursor || self.table.namespace() != ns {
            self.ns_cursor = cursor;
            self.scope_changed();
        }
        Ok(())
    }

    /// Show another kind in the main table (with a `/` filter), keeping the scope. Returns
    /// the effect that starts its watch (none for pods: the pod watch always runs).
    pub fn show_kind(&mut self, kind: &'static KindInfo, filter: Option<&str>) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !std::ptr::eq(kind, self.table.kind()) {
            self.table_generation += 1;
            let ns = self.namespace().map(str::to_string);
            let mut table = ResourceTable::new(kind);
            table.set_namespace(ns);
            let old = std::mem::replace(&mut self.table, table);
            if kind.kind == "Pod" {
                // Back to pods: the kept pods table is the main table again.
                if let Some(pods) = self.pod_table.take() {
                    self.table = pods;
                }
            } else {
                if old.kind().kind == "Pod" {
                    self.pod_table = Some(old);
                }
                effects.push(Effect::WatchMain {
                    kind,
                    generation: self.table_generation,
                });
            }
            self.table_offset = 0;
        }
        if let Some(f) = filter
            && let Err(e) = self.table.set_filter(f)
        {
            self.error(e);
        }
        self.focus = Focus::Table;
        self.record_view();
        effects
    }

    fn record_view(&mut self) {
        let view = View {
            kind: self.table.kind(),
            namespace: self.table.namespace().map(str::to_string),
            filter: self.table.filter().source().to_string(),
        };
        self.history.push(view);
    }

    /// Go to a view from the history (`[` and `]`).
    pub fn restore_view(&mut self, view: View) -> Vec<Effect> {
        let ns_cursor = match &view.namespace {
            None => 0,
            Some(n) => self
                .namespaces
                .keys()
                .position(|k| k == n)
                .map_or(0, |i| i + 1),
        };
        let scope_moved = ns_cursor != self.ns_cursor;
        self.ns_cursor = ns_cursor;
        let effects = self.show_kind(view.kind, Some(&view.filter));
        if scope_moved {
            self.scope_changed();
        }
        effects
    }

    /// Focus order (Tab): namespaces → table → labels → logs. The labels pane only exists
    /// beside the pods table.
    pub fn cycle_focus(&mut self, forward: bool) {
        let panes: Vec<Focus> = FOCUS_ORDER
            .into_iter()
            .filter(|f| *f != Focus::Labels || self.showing_pods())
            .collect();
        let at = panes.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = panes.len();
        self.focus = panes[if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        }];
    }

    /// CPU and memory by `namespace/name` (from the metrics API) for the pods table.
    pub fn set_metrics(&mut self, by_key: std::collections::HashMap<String, (u64, u64)>) {
        self.usage.record(&by_key);
        let table = self.pods_table();
        let by_uid = by_key
            .into_iter()
            .filter_map(|(key, m)| Some((table.uid(&key)?.to_string(), m)))
            .collect();
        table.set_metrics(by_uid);
    }

    /// Show a text (describe) full screen, with a pod's CPU and memory history above it.
    pub fn show_text(&mut self, title: &str, text: &str, usage: Option<String>) {
        self.text_usage = usage;
        self.mode = Mode::Text(Box::new(crate::tui::widgets::TextView::new(
            title,
            text,
            crate::tui::widgets::Highlight::Describe,
        )));
    }

    /// A mouse event (only with `--mouse`): a click focuses the pane under it and selects
    /// the table row; the wheel moves the selection of the pane under it.
    pub fn on_mouse(&mut self, m: crossterm::event::MouseEvent) {
        use crossterm::event::{MouseButton, MouseEventKind};
        let at = ratatui::layout::Position::new(m.column, m.row);
        let hit = |r: Option<ratatui::layout::Rect>| r.is_some_and(|r| r.contains(at));
        let pane = if hit(self.areas.table) {
            Focus::Table
        } else if hit(self.areas.namespaces) {
            Focus::Namespaces
        } else if hit(self.areas.labels) {
            Focus::Labels
        } else if hit(self.areas.logs) {
            Focus::Logs
        } else {
            return;
        };
        if !matches!(self.mode, Mode::Normal) {
            return;
        }
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                if let (Focus::Table, Some(area)) = (pane, self.areas.table) {
                    // Border and header take the first two rows.
                    let row = m.row.saturating_sub(area.y + 2) as usize;
                    let target = self.table_offset + row;
                    if let Some(current) = self.table.selected_index() {
                        self.table.move_by(target as i64 - current as i64);
                    }
                }
            }
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp if pane == Focus::Table => {
                let delta = if m.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                self.table.move_by(delta);
            }
            _ => {}
        }
    }

    // ---- port-forwards ------------------------------------------------------------------

    /// A forward asked for by Shift-F is up (`pod`: where it goes; `bound`: what listens).
    pub fn forward_started(&mut self, id: u64, pod: &str, bound: &[(std::net::SocketAddr, u16)]) {
        let Some(row) = self.forwards.iter_mut().find(|r| r.id == id) else {
            return;
        };
        row.pod = pod.to_string();
        let mut ports: Vec<String> = Vec::new();
        let mut addresses: Vec<String> = Vec::new();
        for (addr, remote) in bound {
            let p = format!("{}:{remote}", addr.port());
            if !ports.contains(&p) {
                ports.push(p);
            }
            let a = addr.ip().to_string();
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
        row.ports = ports.join(",");
        row.addresses = addresses.join(", ");
        let text = format!(
            "forwarding {} ({}) to {} {}",
            row.addresses, row.ports, row.object, row.pod
        );
        self.info(text);
    }

    /// A forward could not start: its row goes away, the reason shows.
    pub fn forward_failed(&mut self, id: u64, error: &str) {
        if let Some(at) = self.forwards.iter().position(|r| r.id == id) {
            let row = self.forwards.remove(at);
            self.error(format!("port-forward {}: {error}", row.object));
        }
        if let Mode::Forwards(v) = &mut self.mode {
            v.clamp(self.forwards.len());
        }
    }

    /// Forwards to a deleted pod end.
    fn pod_gone(&mut self, pod: &Value) {
        let ns = pod.namespace().unwrap_or("default");
        let name = pod.name();
        let (lost, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.forwards)
            .into_iter()
            .partition(|r| r.namespace == ns && r.pod == name);
        self.forwards = kept;
        for row in lost {
            self.lost_forwards.push(row.id);
            self.error(format!(
                "port-forward {} {} stopped: lost connection to pod {name}",
                row.object, row.ports
            ));
        }
        if let Mode::Forwards(v) = &mut self.mode {
            v.clamp(self.forwards.len());
        }
    }

    /// A connection was accepted by forward `id`.
    pub fn forward_connection(&mut self, id: u64) {
        if let Some(row) = self.forwards.iter_mut().find(|r| r.id == id) {
            row.connections += 1;
        }
    }

    /// Objects an action applies to: the marked rows, else the selected one.
    pub fn targets(&mut self) -> Vec<Target> {
        let kind = self.table.kind();
        self.table
            .targets()
            .iter()
            .map(|o| Target::of(kind, o))
            .collect()
    }
}

pub fn pods_kind() -> &'static KindInfo {
    // The registry always serves pods; the fallback keeps this total.
    kinds::lookup("pods").unwrap_or(&kinds::KINDS[0])
}
