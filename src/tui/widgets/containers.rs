//! The containers of one pod, k9s' view behind Enter on a pod: one row per init container,
//! container and ephemeral container with its image, readiness, state, restarts, probes,
//! resources and ports. Built from the pod object alone, so a newer version of the pod from
//! the watch refreshes it (`set_pod`) with the cursor kept on the same container.
//!
//! Keys are looked up in the keymap context [`CONTEXT`] (`table.containers`, falling back to
//! `table` and `global`); the caller passes the action name to `on_action` and acts on the
//! [`ContainerAction`] it returns.

use super::text_width;
use crate::api::object::parse_time;
use crate::api::table::human_duration_between;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{
    Block, Cell as TableCell, Clear, Row, StatefulWidget, Table, TableState, Widget,
};
use serde_json::Value;
use std::cell::Cell;

/// The keymap context of the view.
pub const CONTEXT: &str = "table.containers";

/// Column headers, in display order.
pub const HEADERS: [&str; 11] = [
    "NAME", "IMAGE", "READY", "STATE", "INIT", "RESTARTS", "PROBES", "CPU/R:L", "MEM/R:L", "PORTS",
    "AGE",
];
const IMAGE: usize = 1;
const STATE: usize = 3;
/// Columns given up first when the table is wider than the pane (NAME, READY and STATE
/// always stay); IMAGE is first cut down to [`IMAGE_MIN`] columns.
const DROP_ORDER: [usize; 8] = [9, 6, 8, 7, 10, 1, 4, 5];
const IMAGE_MIN: usize = 16;
/// IMAGE is shown at all only with this many columns.
const IMAGE_LEAST: usize = 8;
const SPACING: usize = 2;

/// What the caller should do after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerAction {
    /// Nothing for the caller (a cursor move, or an action this view does not have).
    None,
    /// Open the logs of this container.
    Logs(String),
    /// The logs of this container's previous run.
    PreviousLogs(String),
    /// A shell in this container.
    Shell(String),
    /// Leave the view (back to the pods).
    Back,
}

/// Which list of the pod spec a container comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Init,
    /// An init container with `restartPolicy: Always`: it keeps running beside the
    /// containers (Kubernetes' native sidecar).
    Sidecar,
    Regular,
    Ephemeral,
}

/// How a STATE cell is coloured: the theme's pod status role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRole {
    Running,
    Pending,
    CrashLoop,
    Succeeded,
    Failed,
}

impl StateRole {
    pub fn style(self, theme: &Theme) -> Style {
        let r = &theme.status_roles;
        match self {
            StateRole::Running => r.running,
            StateRole::Pending => r.pending,
            StateRole::CrashLoop => r.crashloop,
            StateRole::Succeeded => r.succeeded,
            StateRole::Failed => r.failed,
        }
    }
}

/// One container's row. The age is kept as the start time so the view can be drawn at any
/// later `now` without rebuilding.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerRow {
    pub name: String,
    pub kind: ContainerKind,
    pub image: String,
    pub ready: bool,
    /// `Running`, `Waiting: <reason>`, `Terminated: <reason> (exit <code>)`.
    pub state: String,
    pub state_role: StateRole,
    pub restarts: i64,
    /// `L:on R:off S:off` (liveness, readiness, startup).
    pub probes: String,
    /// Requests:limits, `100m:500m`, `n/a` when neither is set.
    pub cpu: String,
    pub mem: String,
    /// `name:port/proto`, comma separated.
    pub ports: String,
    /// When the current run started (`state.running` or `state.terminated`).
    pub started: Option<jiff::Timestamp>,
}

impl ContainerRow {
    /// Build the row of container spec `spec` of `kind` with its status (if reported).
    pub fn new(spec: &Value, kind: ContainerKind, status: Option<&Value>) -> ContainerRow {
        let (state, state_role) = state_of(status);
        ContainerRow {
            name: text(spec, "/name"),
            kind,
            image: text(spec, "/image"),
            ready: status
                .and_then(|s| s.get("ready"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
            state,
            state_role,
            restarts: status
                .and_then(|s| s.get("restartCount"))
                .and_then(Value::as_i64)
                .unwrap_or(0),
            probes: probes(spec),
            cpu: resource(spec, "cpu"),
            mem: resource(spec, "memory"),
            ports: ports(spec),
            started: status.and_then(started),
        }
    }

    /// The INIT cell.
    pub fn init(&self) -> &'static str {
        match self.kind {
            ContainerKind::Init => "true",
            ContainerKind::Sidecar => "sidecar",
            ContainerKind::Regular | ContainerKind::Ephemeral => "false",
        }
    }

    /// The AGE cell at `now`.
    pub fn age(&self, now: jiff::Timestamp) -> String {
        match self.started {
            Some(t) => human_duration_between(t, now),
            None => "n/a".into(),
        }
    }

    /// Every cell, in [`HEADERS`] order.
    pub fn cells(&self, now: jiff::Timestamp) -> [String; 11] {
        [
            self.name.clone(),
            self.image.clone(),
            self.ready.to_string(),
            self.state.clone(),
            self.init().to_string(),
            self.restarts.to_string(),
            self.probes.clone(),
            self.cpu.clone(),
            self.mem.clone(),
            self.ports.clone(),
            self.age(now),
        ]
    }
}

/// Every container of `pod` in Kubernetes' order: init containers (sidecars among them),
/// containers, ephemeral containers.
pub fn container_rows(pod: &Value) -> Vec<ContainerRow> {
    let lists = [
        (
            "initContainers",
            "initContainerStatuses",
            ContainerKind::Init,
        ),
        ("containers", "containerStatuses", ContainerKind::Regular),
        (
            "ephemeralContainers",
            "ephemeralContainerStatuses",
            ContainerKind::Ephemeral,
        ),
    ];
    let mut rows = Vec::new();
    for (specs, statuses, kind) in lists {
        let statuses = array(pod, &format!("/status/{statuses}"));
        for spec in array(pod, &format!("/spec/{specs}")) {
            let name = spec.get("name").and_then(Value::as_str).unwrap_or("");
            let status = statuses
                .iter()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(name));
            let kind = if kind == ContainerKind::Init
                && spec.get("restartPolicy").and_then(Value::as_str) == Some("Always")
            {
                ContainerKind::Sidecar
            } else {
                kind
            };
            rows.push(ContainerRow::new(spec, kind, status));
        }
    }
    rows
}

fn array<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A string or number field as text (quantities may be JSON numbers), empty when absent.
fn text(v: &Value, ptr: &str) -> String {
    match v.pointer(ptr) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The STATE cell and its colour. A container without a reported status has not been
/// started yet: Waiting.
fn state_of(status: Option<&Value>) -> (String, StateRole) {
    let Some(state) = status.and_then(|s| s.get("state")) else {
        return ("Waiting".into(), StateRole::Pending);
    };
    if state.get("running").is_some() {
        return ("Running".into(), StateRole::Running);
    }
    if let Some(t) = state.get("terminated") {
        let code = t.get("exitCode").and_then(Value::as_i64).unwrap_or(0);
        let reason = text(t, "/reason");
        let role = if code == 0 {
            StateRole::Succeeded
        } else {
            StateRole::Failed
        };
        let cell = if reason.is_empty() {
            format!("Terminated (exit {code})")
        } else {
            format!("Terminated: {reason} (exit {code})")
        };
        return (cell, role);
    }
    let reason = state
        .get("waiting")
        .map(|w| text(w, "/reason"))
        .unwrap_or_default();
    let role = if reason == "CrashLoopBackOff" {
        StateRole::CrashLoop
    } else {
        StateRole::Pending
    };
    if reason.is_empty() {
        ("Waiting".into(), role)
    } else {
        (format!("Waiting: {reason}"), role)
    }
}

fn started(status: &Value) -> Option<jiff::Timestamp> {
    ["/state/running/startedAt", "/state/terminated/startedAt"]
        .iter()
        .find_map(|p| status.pointer(p).and_then(Value::as_str))
        .and_then(parse_time)
}

fn probes(spec: &Value) -> String {
    let on = |field: &str| {
        if spec.get(field).is_some_and(|p| !p.is_null()) {
            "on"
        } else {
            "off"
        }
    };
    format!(
        "L:{} R:{} S:{}",
        on("livenessProbe"),
        on("readinessProbe"),
        on("startupProbe")
    )
}

/// `request:limit` of one resource, `n/a` for a side that is not set, `n/a` alone when
/// neither is.
fn resource(spec: &Value, name: &str) -> String {
    let side = |which: &str| {
        let v = text(spec, &format!("/resources/{which}/{name}"));
        if v.is_empty() { None } else { Some(v) }
    };
    match (side("requests"), side("limits")) {
        (None, None) => "n/a".into(),
        (r, l) => format!(
            "{}:{}",
            r.as_deref().unwrap_or("n/a"),
            l.as_deref().unwrap_or("n/a")
        ),
    }
}

fn ports(spec: &Value) -> String {
    array(spec, "/ports")
        .iter()
        .map(|p| {
            let port = text(p, "/containerPort");
            let proto = match text(p, "/protocol") {
                s if s.is_empty() => "TCP".to_string(),
                s => s,
            };
            match text(p, "/name") {
                n if n.is_empty() => format!("{port}/{proto}"),
                n => format!("{n}:{port}/{proto}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The containers table of one pod.
#[derive(Debug, Clone)]
pub struct ContainersView {
    namespace: String,
    pod: String,
    rows: Vec<ContainerRow>,
    selected: usize,
    now: jiff::Timestamp,
    /// Rows shown by the last render: what page.up/page.down move by.
    page: Cell<usize>,
}

impl ContainersView {
    /// The containers of `pod`, ages relative to `now`; the cursor on the first row.
    pub fn new(pod: &Value, now: jiff::Timestamp) -> ContainersView {
        ContainersView {
            namespace: text(pod, "/metadata/namespace"),
            pod: text(pod, "/metadata/name"),
            rows: container_rows(pod),
            selected: 0,
            now,
            page: Cell::new(10),
        }
    }

    /// Refresh from a newer version of the pod. The cursor stays on the container of the same
    /// name; if it is gone, on the same position (clamped).
    pub fn set_pod(&mut self, pod: &Value) {
        let current = self.selected_name().map(str::to_string);
        self.namespace = text(pod, "/metadata/namespace");
        self.pod = text(pod, "/metadata/name");
        self.rows = container_rows(pod);
        self.selected = current
            .and_then(|n| self.rows.iter().position(|r| r.name == n))
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
    }

    /// The time ages are shown relative to (the console's clock, injected for tests).
    pub fn set_now(&mut self, now: jiff::Timestamp) {
        self.now = now;
    }

    /// The keymap context to look keys up in.
    pub fn context(&self) -> &'static str {
        CONTEXT
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn pod_name(&self) -> &str {
        &self.pod
    }

    pub fn rows(&self) -> &[ContainerRow] {
        &self.rows
    }

    /// The cursor's row index (0 when there are no rows).
    pub fn selected_index(&self) -> usize {
        self.selected
    }

    pub fn selected(&self) -> Option<&ContainerRow> {
        self.rows.get(self.selected)
    }

    pub fn selected_name(&self) -> Option<&str> {
        self.selected().map(|r| r.name.as_str())
    }

    /// Apply a keymap action.
    pub fn on_action(&mut self, action: &str) -> ContainerAction {
        let last = self.rows.len().saturating_sub(1);
        let page = self.page.get().max(1);
        let name = || self.selected_name().map(str::to_string);
        match action {
            "row.up" => self.selected = self.selected.saturating_sub(1),
            "row.down" => self.selected = (self.selected + 1).min(last),
            "row.first" => self.selected = 0,
            "row.last" => self.selected = last,
            "page.up" => self.selected = self.selected.saturating_sub(page),
            "page.down" => self.selected = (self.selected + page).min(last),
            "row.open" | "pod.logs" => {
                return name().map_or(ContainerAction::None, ContainerAction::Logs);
            }
            "pod.shell" => return name().map_or(ContainerAction::None, ContainerAction::Shell),
            "pod.logs.previous" => {
                return name().map_or(ContainerAction::None, ContainerAction::PreviousLogs);
            }
            "view.back" => return ContainerAction::Back,
            _ => {}
        }
        ContainerAction::None
    }

    /// The bordered table titled ` containers(<ns>/<pod>)[N] `; STATE coloured by the theme's
    /// status roles, the cursor row in the selection style. Columns that do not fit are left
    /// out, least useful first.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        Clear.render(area, buf);
        let title = format!(
            " containers({}/{})[{}] ",
            self.namespace,
            self.pod,
            self.rows.len()
        );
        let block = Block::bordered()
            .border_style(theme.ui.border_focused)
            .title(Line::styled(title, theme.ui.title));
        let inner = block.inner(area);
        // The header takes one row.
        self.page
            .set((inner.height as usize).saturating_sub(1).max(1));
        let cells: Vec<[String; 11]> = self.rows.iter().map(|r| r.cells(self.now)).collect();
        let mut widths: Vec<usize> = HEADERS.iter().map(|h| text_width(h)).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(text_width(c)).min(60);
            }
        }
        let keep = fit(&mut widths, inner.width as usize);
        let header = Row::new(keep.iter().map(|&i| HEADERS[i]))
            .style(theme.table.header.add_modifier(Modifier::BOLD));
        let body: Vec<Row> = self
            .rows
            .iter()
            .zip(cells)
            .map(|(row, cells)| {
                Row::new(keep.iter().map(|&i| {
                    let cell = TableCell::from(cut(&cells[i], widths[i]));
                    if i == STATE {
                        cell.style(row.state_role.style(theme))
                    } else {
                        cell
                    }
                }))
                .style(theme.table.row)
            })
            .collect();
        let constraints = keep.iter().map(|&i| Constraint::Length(widths[i] as u16));
        let table = Table::new(body, constraints)
            .header(header)
            .column_spacing(SPACING as u16)
            .block(block)
            .row_highlight_style(theme.ui.selection);
        let selected = (!self.rows.is_empty()).then_some(self.selected);
        let mut state = TableState::default().with_selected(selected);
        StatefulWidget::render(table, area, buf, &mut state);
    }
}

/// The columns to show in `width`: IMAGE is cut down first, then columns are dropped in
/// [`DROP_ORDER`]; IMAGE, when its turn comes, keeps whatever room is left if that is at
/// least [`IMAGE_LEAST`] columns. Narrows `widths[IMAGE]` when it was cut.
fn fit(widths: &mut [usize], width: usize) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..widths.len()).collect();
    let total = |keep: &[usize], widths: &[usize]| {
        keep.iter()
            .map(|&i| widths[i] + SPACING)
            .sum::<usize>()
            .saturating_sub(SPACING)
    };
    let over = total(&keep, widths).saturating_sub(width);
    if over > 0 && widths[IMAGE] > IMAGE_MIN {
        widths[IMAGE] = widths[IMAGE].saturating_sub(over).max(IMAGE_MIN);
    }
    for drop in DROP_ORDER {
        if total(&keep, widths) <= width {
            break;
        }
        keep.retain(|&i| i != drop);
        if drop == IMAGE {
            let room = width.saturating_sub(total(&keep, widths) + SPACING);
            if room >= IMAGE_LEAST {
                widths[IMAGE] = room.min(widths[IMAGE]);
                keep.push(IMAGE);
                keep.sort_unstable();
                break;
            }
        }
    }
    keep
}

/// `s` in at most `width` columns, a cut marked with `…`.
fn cut(s: &str, width: usize) -> String {
    if text_width(s) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if text_width(&out) + text_width(&c.to_string()) + 1 > width {
            break;
        }
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[path = "containers_tests.rs"]
mod tests;
