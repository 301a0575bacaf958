//! Keys → state changes and effects. A key is first offered to the keymap in the context of
//! what has focus (an overlay, else the focused pane); an action that does not apply where
//! it is pressed does nothing.

use super::{App, Effect, Focus, LineInput, Mode, PromptFor, Target};
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::tui::keymap::{self, KeyMatch};
use crate::tui::table::{Command, SortColumn, complete_in, parse_command};
use crate::tui::widgets::{
    ConfirmDialog, ContainerAction, ContainersView, Editor, Highlight, Outcome, PromptDialog,
    TextView,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

/// What the event loop must do after a key, besides redrawing.
#[derive(Debug, Default)]
pub struct KeyResult {
    pub effects: Vec<Effect>,
    /// Keys and actions for the logs pane, which the loop owns (its tails run there).
    pub logs: Vec<LogsInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogsInput {
    Action(String),
    Key(KeyEvent),
    /// Show one container of a pod (from the containers view).
    Container {
        pod: std::sync::Arc<Value>,
        name: String,
        previous: bool,
    },
}

fn plain_char(k: &KeyEvent) -> bool {
    matches!(k.code, KeyCode::Char(_))
        && !k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

impl App {
    /// The keymap context of the focused pane (`table.pods`, `logs`, ...).
    pub fn context(&self) -> String {
        match (&self.mode, self.focus) {
            (Mode::Command(_) | Mode::Filter(_), _) => "command".into(),
            (Mode::Confirm(d, _), _) => d.context().into(),
            (Mode::Prompt(d, _), _) => d.context().into(),
            (Mode::Edit(e), _) => e.context().into(),
            (Mode::Text(t), _) => t.context().into(),
            (Mode::Containers(v), _) => v.context().into(),
            (Mode::Forwards(v), _) => v.context().into(),
            (_, Focus::Logs) => "logs".into(),
            (_, Focus::Table) => format!("table.{}", self.table.kind().plural),
            _ => "table".into(),
        }
    }

    /// Handle one key. `logs_typing`: the logs pane is reading a search query, so plain keys
    /// go to it.
    pub fn on_key(&mut self, k: KeyEvent, logs_typing: bool) -> KeyResult {
        let mut out = KeyResult::default();
        // Any key clears a message from the last action.
        self.flash = None;
        let context = self.context();
        let typing = match &self.mode {
            Mode::Command(_) | Mode::Filter(_) | Mode::Prompt(..) => plain_char(&k),
            Mode::Edit(_) => true,
            Mode::Text(t) => t.is_searching(),
            Mode::Normal => logs_typing && self.focus == Focus::Logs,
            _ => false,
        };
        // While typing, a plain key is text, except the keys bound in the input's context
        // (enter, esc, tab...).
        let action = if typing && plain_char(&k) {
            None
        } else {
            match self.keys.feed(&self.keymap, &context, &k) {
                KeyMatch::Matched(a) => Some(a),
                KeyMatch::Pending => return out,
                KeyMatch::NoMatch => None,
            }
        };
        let mode = std::mem::replace(&mut self.mode, Mode::Normal);
        self.mode = match mode {
            Mode::Normal => {
                if typing {
                    out.logs.push(LogsInput::Key(k));
                } else if let Some(a) = action {
                    self.normal_action(&a, &mut out);
                }
                // An action may have opened an overlay.
                std::mem::replace(&mut self.mode, Mode::Normal)
            }
            Mode::Command(input) => self.command_key(input, action.as_deref(), &k, &mut out),
            Mode::Filter(input) => self.filter_key(input, action.as_deref(), &k),
            Mode::Confirm(mut dialog, effect) => {
                match dialog.on_action(action.as_deref().unwrap_or("")) {
                    Outcome::Confirmed(i) if i > 0 => {
                        out.effects.push(effect);
                        Mode::Normal
                    }
                    Outcome::Confirmed(_) | Outcome::Cancelled => Mode::Normal,
                    _ => Mode::Confirm(dialog, effect),
                }
            }
            Mode::Prompt(mut dialog, purpose) => {
                let outcome = match &action {
                    Some(a) => dialog.on_action(a),
                    None => dialog.on_key(k),
                };
                match outcome {
                    Outcome::Submitted(text) => match self.prompt_done(&purpose, &text) {
                        Ok(effect) => {
                            out.effects.push(effect);
                            Mode::Normal
                        }
                        Err(e) => {
                            dialog.set_error(e);
                            Mode::Prompt(dialog, purpose)
                        }
                    },
                    Outcome::Cancelled => Mode::Normal,
                    _ => Mode::Prompt(dialog, purpose),
                }
            }
            Mode::Text(mut view) => {
                if view.is_searching() || action.is_none() {
                    view.on_key(k);
                    Mode::Text(view)
                } else {
                    match action.as_deref() {
                        Some("view.back" | "app.quit") => Mode::Normal,
                        // Left and right scroll sideways here.
                        Some("focus.next" | "focus.prev") => {
                            view.on_key(k);
                            Mode::Text(view)
                        }
                        Some(a) => {
                            view.on_action(a);
                            Mode::Text(view)
                        }
                        None => Mode::Text(view),
                    }
                }
            }
            Mode::Edit(mut editor) => {
                let outcome = match &action {
                    Some(a) => editor.on_action(a),
                    None => editor.on_key(k),
                };
                match outcome {
                    Outcome::Save(obj) => {
                        out.effects.push(Effect::Update(obj));
                        Mode::Normal
                    }
                    Outcome::Unchanged => {
                        self.info("edit cancelled, no changes made");
                        Mode::Normal
                    }
                    Outcome::Cancelled => Mode::Normal,
                    _ => Mode::Edit(editor),
                }
            }
            Mode::Containers(view) => self.containers_key(view, action.as_deref(), &mut out),
            Mode::Forwards(view) => self.forwards_key(view, action.as_deref(), &mut out),
            Mode::Help => Mode::Normal,
        };
        out
    }

    fn containers_key(
        &mut self,
        mut view: Box<ContainersView>,
        action: Option<&str>,
        out: &mut KeyResult,
    ) -> Mode {
        let Some(action) = action else {
            return Mode::Containers(view);
        };
        if action == "app.quit" {
            self.quit = true;
            return Mode::Normal;
        }
        if self.refuse_readonly(action) {
            return Mode::Containers(view);
        }
        let pod = self
            .pods_table()
            .object(&format!("{}/{}", view.namespace(), view.pod_name()));
        match view.on_action(action) {
            ContainerAction::Back => Mode::Normal,
            ContainerAction::Logs(name) | ContainerAction::PreviousLogs(name) => {
                if let Some(pod) = pod {
                    out.logs.push(LogsInput::Container {
                        pod,
                        name,
                        previous: action == "pod.logs.previous",
                    });
                    self.focus = Focus::Logs;
                }
                Mode::Normal
            }
            ContainerAction::Shell(name) => {
                out.effects.push(Effect::Shell {
                    namespace: view.namespace().to_string(),
                    pod: view.pod_name().to_string(),
                    container: Some(name),
                });
                Mode::Containers(view)
            }
            ContainerAction::None => Mode::Containers(view),
        }
    }

    fn command_key(
        &mut self,
        mut input: LineInput,
        action: Option<&str>,
        k: &KeyEvent,
        out: &mut KeyResult,
    ) -> Mode {
        match action {
            Some("command.cancel") => return Mode::Normal,
            Some("command.submit") => {
                let line = input.text().trim().to_string();
                if line.is_empty() {
                    return Mode::Normal;
                }
                self.command_history.push(line.clone());
                self.run_command(&line, out);
                return std::mem::replace(&mut self.mode, Mode::Normal);
            }
            Some("command.complete") => {
                let names: Vec<&str> = self.namespaces.keys().map(String::as_str).collect();
                input.complete(|t| complete_in(t, &names));
            }
            Some("command.history.prev") => input.recall(&self.command_history, true),
            Some("command.history.next") => input.recall(&self.command_history, false),
            _ => {
                input.on_key(k);
            }
        }
        Mode::Command(input)
    }

    /// `/`: the filter applies as it is typed; Enter keeps it, Esc restores the old one.
    fn filter_key(&mut self, mut input: LineInput, action: Option<&str>, k: &KeyEvent) -> Mode {
        match action {
            Some("command.cancel") => {
                let _ = self.table.set_filter(&self.filter_before);
                return Mode::Normal;
            }
            Some("command.submit") => {
                if let Err(e) = self.table.set_filter(input.text()) {
                    self.error(e);
                    return Mode::Filter(input);
                }
                self.record_view();
                return Mode::Normal;
            }
            _ => {
                input.on_key(k);
                // A half-typed `-l app=` is not an error yet: keep the last good filter.
                let _ = self.table.set_filter(input.text());
            }
        }
        Mode::Filter(input)
    }

    fn run_command(&mut self, line: &str, out: &mut KeyResult) {
        match parse_command(line) {
            Err(e) => self.error(e),
            Ok(Command::Quit) => self.quit = true,
            Ok(Command::PortForwards) => {
                let mut view = crate::tui::widgets::ForwardsView::default();
                view.clamp(self.forwards.len());
                self.mode = Mode::Forwards(Box::new(view));
            }
            Ok(Command::Apply(path)) => {
                if self.refuse_readonly("resource.edit") {
                    return;
                }
                out.effects.push(Effect::Apply(path));
            }
            Ok(Command::CreateNamespace(name)) => {
                if !self.refuse_readonly("resource.edit") {
                    out.effects.push(Effect::CreateNamespace(name));
                }
            }
            Ok(Command::Metadata {
                annotations,
                set,
                remove,
            }) => {
                if self.refuse_readonly("resource.edit") {
                    return;
                }
                let targets = self.targets();
                if targets.is_empty() {
                    self.error("select a row first");
                    return;
                }
                let mut m = serde_json::Map::new();
                for (k, v) in set {
                    m.insert(k, Value::String(v));
                }
                for k in remove {
                    m.insert(k, Value::Null);
                }
                let field = if annotations { "annotations" } else { "labels" };
                out.effects.push(Effect::Patch {
                    targets,
                    patch: serde_json::json!({"metadata": {field: m}}),
                    what: if annotations { "annotated" } else { "labeled" }.into(),
                });
            }
            Ok(Command::Namespace(ns)) => {
                if let Err(e) = self.set_namespace(ns.into_option().as_deref()) {
                    self.error(e);
                }
            }
            Ok(Command::View {
                kind,
                namespace,
                filter,
            }) => {
                if let Some(ns) = namespace
                    && let Err(e) = self.set_namespace(ns.into_option().as_deref())
                {
                    self.error(e);
                    return;
                }
                out.effects
                    .extend(self.show_kind(kind, Some(filter.as_deref().unwrap_or(""))));
            }
        }
    }

    /// True (and a message) when the console is read-only and `action` would change things.
    fn refuse_readonly(&mut self, action: &str) -> bool {
        if self.session.readonly && keymap::is_mutating(action) {
            self.error(format!(
                "read-only console: {} is disabled (started with --readonly or readonly = true)",
                keymap::action_label(action)
            ));
            return true;
        }
        false
    }

    fn normal_action(&mut self, action: &str, out: &mut KeyResult) {
        if self.refuse_readonly(action) {
            return;
        }
        if self.focus == Focus::Logs && (action.starts_with("logs.") || is_row_action(action)) {
            out.logs.push(LogsInput::Action(action.to_string()));
            return;
        }
        match action {
            "app.quit" => self.quit = true,
            "help.show" => self.mode = Mode::Help,
            "command.start" => self.mode = Mode::Command(LineInput::default()),
            "filter.start" => {
                self.filter_before = self.table.filter().source().to_string();
                self.focus = Focus::Table;
                self.mode = Mode::Filter(LineInput::with_text(&self.filter_before));
            }
            "focus.next" | "focus.right" | "focus.down" => self.cycle_focus(true),
            "focus.prev" | "focus.left" | "focus.up" => self.cycle_focus(false),
            "pane.zoom" => self.zoomed = !self.zoomed,
            "view.back" => self.back(out),
            "history.back" => {
                if let Some(v) = self.history.back().cloned() {
                    out.effects.extend(self.restore_view(v));
                }
            }
            "history.forward" => {
                if let Some(v) = self.history.forward().cloned() {
                    out.effects.extend(self.restore_view(v));
                }
            }
            "refresh" => self.info("the tables are live: every change shows as it happens"),
            "namespace.all" => {
                let _ = self.set_namespace(None);
            }
            a if a.starts_with("namespace.favourite.") => {
                let n: usize = a["namespace.favourite.".len()..].parse().unwrap_or(0);
                match self
                    .config
                    .favourite_namespaces
                    .get(n.wrapping_sub(1))
                    .cloned()
                {
                    Some(ns) => {
                        if let Err(e) = self.set_namespace(Some(&ns)) {
                            self.error(e);
                        }
                    }
                    None => self.error(format!(
                        "no favourite namespace {n}: set favourite_namespaces in config.toml"
                    )),
                }
            }
            "pod.logs" | "pod.logs.previous" => {
                if self.showing_pods() {
                    self.focus = Focus::Logs;
                    if action == "pod.logs.previous" {
                        out.logs.push(LogsInput::Action(action.to_string()));
                    }
                }
            }
            a if is_row_action(a) || a == "row.open" || a.starts_with("mark.") => {
                self.row_action(a, out)
            }
            a if a.starts_with("sort.") => self.sort(a),
            a => self.resource_action(a, out),
        }
    }

    /// Esc: leave zoom, else drop the filter, else go back in history.
    fn back(&mut self, out: &mut KeyResult) {
        if self.zoomed {
            self.zoomed = false;
        } else if !self.table.filter().is_empty() {
            let _ = self.table.set_filter("");
            self.record_view();
        } else if let Some(v) = self.history.back().cloned() {
            out.effects.extend(self.restore_view(v));
        }
    }

    fn sort(&mut self, action: &str) {
        let column = match action {
            "sort.name" => Some(SortColumn::Name),
            "sort.age" => Some(SortColumn::Age),
            "sort.status" => Some(SortColumn::Status),
            "sort.restarts" => Some(SortColumn::Restarts),
            "sort.cpu" => Some(SortColumn::Cpu),
            "sort.mem" => Some(SortColumn::Mem),
            "sort.ready" => SortColumn::from_header(self.table.kind(), "READY"),
            "sort.ip" => SortColumn::from_header(self.table.kind(), "IP"),
            "sort.node" => SortColumn::from_header(self.table.kind(), "NODE"),
            _ => None,
        };
        if !column.is_some_and(|c| self.table.sort_by(c)) {
            self.error(format!(
                "{} have no such column to sort by",
                self.table.kind().plural
            ));
        }
    }

    fn row_action(&mut self, action: &str, out: &mut KeyResult) {
        let page = self.page_height.max(1) as i64;
        let delta = match action {
            "row.up" => -1,
            "row.down" => 1,
            "page.up" => -page,
            "page.down" => page,
            "row.first" => i64::MIN / 2,
            "row.last" => i64::MAX / 2,
            _ => 0,
        };
        match self.focus {
            Focus::Namespaces => match action {
                "row.open" => self.focus = Focus::Table,
                _ if delta != 0 => {
                    let n = self.namespaces.len() as i64;
                    let cursor = (self.ns_cursor as i64).saturating_add(delta).clamp(0, n);
                    if cursor as usize != self.ns_cursor {
                        self.ns_cursor = cursor as usize;
                        self.scope_changed();
                    }
                }
                _ => {}
            },
            Focus::Labels => {
                let rows = self.pods.labels(self.namespace());
                if self.labels.on_action(action, &rows) {
                    self.apply_label_picks();
                }
            }
            Focus::Table | Focus::Logs => match action {
                "row.open" => self.drill_down(out),
                "mark.toggle" => {
                    self.table.toggle_mark();
                    self.table.down();
                }
                "mark.clear" => self.table.clear_marks(),
                _ => self.table.move_by(delta),
            },
        }
    }

    /// Enter: a namespace shows its pods, a workload its pods (by its selector), a service
    /// the pods it selects, a pod its containers (as describe does).
    fn drill_down(&mut self, out: &mut KeyResult) {
        let Some(obj) = self.table.selected_object() else {
            return;
        };
        let kind = self.table.kind();
        let pods = super::pods_kind();
        match kind.kind {
            "Namespace" => {
                let name = obj.name().to_string();
                out.effects.extend(self.show_kind(pods, Some("")));
                if let Err(e) = self.set_namespace(Some(&name)) {
                    self.error(e);
                }
            }
            "Pod" => {
                let view = ContainersView::new(&obj, self.now());
                self.mode = Mode::Containers(Box::new(view));
            }
            _ => match pod_selector(&obj) {
                Some(sel) if !sel.is_empty() => {
                    out.effects
                        .extend(self.show_kind(pods, Some(&format!("-l {sel}"))));
                }
                _ => out.effects.push(Effect::Describe(Target::of(kind, &obj))),
            },
        }
    }

    fn resource_action(&mut self, action: &str, out: &mut KeyResult) {
        let kind = self.table.kind();
        let Some(obj) = self.table.selected_object() else {
            return;
        };
        let target = Target::of(kind, &obj);
        match action {
            "resource.describe" => out.effects.push(Effect::Describe(target)),
            "resource.yaml" => {
                let text = crate::client::text::to_yaml(&obj);
                self.text_usage = None;
                self.mode = Mode::Text(Box::new(TextView::new(
                    target.reference(),
                    &text,
                    Highlight::Yaml,
                )));
            }
            "resource.edit" => {
                self.mode = Mode::Edit(Box::new(Editor::new(
                    kind,
                    (*obj).clone(),
                    &self.keymap,
                    &self.theme,
                )));
            }
            "resource.delete" => {
                let targets = self.targets();
                let (lines, grace) = delete_message(kind, &targets, &obj);
                let dialog =
                    ConfirmDialog::new("Delete", lines, &["Cancel", "Delete"]).danger(true);
                self.mode = Mode::Confirm(
                    Box::new(dialog),
                    Effect::Delete {
                        targets,
                        grace,
                        force: false,
                    },
                );
            }
            "pod.kill" if kind.kind == "Pod" => {
                let targets = self.targets();
                let names = names_line(&targets);
                let dialog = ConfirmDialog::new(
                    "Kill",
                    vec![
                        format!("Kill {names}?"),
                        "No grace period: the containers get SIGKILL now.".into(),
                    ],
                    &["Cancel", "Kill"],
                )
                .danger(true);
                self.mode = Mode::Confirm(
                    Box::new(dialog),
                    Effect::Delete {
                        targets,
                        grace: Some(0),
                        force: true,
                    },
                );
            }
            "resource.scale" if scalable(kind) => {
                let current = obj
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let dialog = PromptDialog::new(
                    "Scale",
                    &format!("Replicas of {}:", target.reference()),
                    &current.to_string(),
                )
                .with_keymap(&self.keymap);
                self.mode = Mode::Prompt(Box::new(dialog), PromptFor::Scale(target));
            }
            "rollout.restart" if restartable(kind) => {
                let dialog = ConfirmDialog::new(
                    "Restart",
                    vec![format!(
                        "Restart {}? Its pods are replaced by a rolling update.",
                        target.reference()
                    )],
                    &["Cancel", "Restart"],
                )
                .danger(true);
                self.mode = Mode::Confirm(Box::new(dialog), Effect::RolloutRestart(target));
            }
            "pod.shell" if kind.kind == "Pod" => out.effects.push(Effect::Shell {
                namespace: target.namespace.clone().unwrap_or_else(|| "default".into()),
                pod: target.name.clone(),
                container: None,
            }),
            "port.forward" if matches!(kind.kind, "Pod" | "Service") => {
                let dialog = PromptDialog::new(
                    "Port-forward [LOCAL:]REMOTE",
                    &format!("Ports of {}", target.reference()),
                    &super::forward_keys::default_forward_port(kind.kind, &obj),
                )
                .with_keymap(&self.keymap);
                self.mode = Mode::Prompt(Box::new(dialog), PromptFor::PortForward(target));
            }
            _ => {}
        }
    }

    fn prompt_done(&mut self, purpose: &PromptFor, text: &str) -> Result<Effect, String> {
        match purpose {
            PromptFor::Scale(target) => {
                let replicas = crate::tui::widgets::parse_replicas(text)?;
                Ok(Effect::Scale {
                    target: target.clone(),
                    replicas,
                })
            }
            PromptFor::PortForward(target) => self.port_forward_prompt_done(target, text),
            PromptFor::CreateNamespace => {
                let name = text.trim();
                if name.is_empty() {
                    return Err("type the new namespace's name".into());
                }
                Ok(Effect::CreateNamespace(name.to_string()))
            }
        }
    }
}

fn is_row_action(a: &str) -> bool {
    matches!(
        a,
        "row.up" | "row.down" | "page.up" | "page.down" | "row.first" | "row.last"
    )
}

fn scalable(kind: &KindInfo) -> bool {
    matches!(
        kind.kind,
        "Deployment" | "ReplicaSet" | "StatefulSet" | "ReplicationController"
    )
}

fn restartable(kind: &KindInfo) -> bool {
    matches!(kind.kind, "Deployment" | "StatefulSet" | "DaemonSet")
}

/// `pod/a` or `3 pods: a, b, c` (at most five names).
fn names_line(targets: &[Target]) -> String {
    match targets {
        [one] => one.reference(),
        many => {
            let plural = many.first().map_or("objects", |t| t.kind.plural);
            let mut names: Vec<&str> = many.iter().take(5).map(|t| t.name.as_str()).collect();
            if many.len() > 5 {
                names.push("…");
            }
            format!("{} {plural}: {}", many.len(), names.join(", "))
        }
    }
}

/// The delete dialog's text, and the grace period it names (pods: the spec's, else 30 s).
fn delete_message(kind: &KindInfo, targets: &[Target], obj: &Value) -> (Vec<String>, Option<i64>) {
    let mut lines = vec![format!("Delete {}?", names_line(targets))];
    if let Some(ns) = targets.first().and_then(|t| t.namespace.as_deref()) {
        lines.push(format!("Namespace: {ns}"));
    }
    if kind.kind == "Pod" {
        let grace = obj
            .pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30);
        lines.push(format!(
            "Grace period: {grace}s (SIGTERM, then SIGKILL after {grace}s)"
        ));
    } else {
        lines.push("Dependents are deleted too (cascade: background).".into());
    }
    (lines, None)
}

/// A workload's or service's pod selector in kubectl syntax (`app=web,tier in (a,b)`).
pub fn pod_selector(obj: &Value) -> Option<String> {
    let spec = obj.get("spec")?;
    // Services and ReplicationControllers: a plain map.
    let sel = spec.get("selector")?;
    let mut parts: Vec<String> = Vec::new();
    let flat = sel
        .get("matchLabels")
        .or_else(|| (sel.get("matchExpressions").is_none()).then_some(sel));
    if let Some(m) = flat.and_then(Value::as_object) {
        for (k, v) in m {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        });
    }
    Some(parts.join(","))
}
