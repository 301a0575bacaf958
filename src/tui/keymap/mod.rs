//! Keymaps: `keymaps/default.toml` is compiled in; user files layer over it in the same
//! format. Each table is a context (`global`, `table`, `logs`, `editor`, `dialog`, `command`);
//! `[table.<plural>]` (e.g. `[table.pods]`) refines `table` for one kind, which is how one key
//! does different things on different kinds (`s` shells into a pod, scales a deployment).
//!
//! Lookup order: `table.pods` → `table` → `global`; `logs` → `global`. The text-input contexts
//! (`editor`, `command`) and `dialog` do not fall back to `global`: typing `q` in the editor
//! must insert a `q`, not quit. `"x" = "noop"` unbinds a key: it hides the lower layer's
//! binding and stops the fallback to `global` for that key in that context.
//!
//! Keys may be sequences (`"g g"`), matched with [`KeyState`]. The footer is generated from
//! the same map, so it always shows the keys that really work.

mod actions;
mod key;
mod seq;
mod validate;

pub use actions::{ACTIONS, DESTRUCTIVE, action_label, is_action, is_destructive, is_mutating};
pub use key::Key;
pub use seq::{KeyMatch, KeyState};

use crate::tui::config::{Problem, line_of, parse_doc, show_value};
use crossterm::event::KeyEvent;
use std::collections::BTreeMap;
use toml::de::DeValue;

pub const DEFAULT: &str = include_str!("../../../keymaps/default.toml");
pub const DEFAULT_NAME: &str = "keymaps/default.toml";
pub const VIM: &str = include_str!("../../../keymaps/vim.toml");

/// Shipped layers a config can name (`keymap = "vim"`).
pub const BUILTIN: &[(&str, &str, &str)] = &[("vim", "keymaps/vim.toml", VIM)];

/// A shipped layer by name: (file name for messages, text).
pub fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, t)| (*f, *t))
}

/// The contexts a keymap file may have (besides `table.<plural>`).
pub const CONTEXTS: &[&str] = &["global", "table", "logs", "editor", "dialog", "command"];

/// A key sequence: one key, or several typed one after another (`g g`).
pub type Seq = Vec<Key>;

/// Show a sequence as written in keymap files: `g g`, `ctrl-d`.
pub fn seq_label(seq: &[Key]) -> String {
    seq.iter().map(Key::to_string).collect::<Vec<_>>().join(" ")
}

/// Parse `"g g"` / `"ctrl-d"`.
pub fn parse_seq(s: &str) -> Result<Seq, String> {
    let seq = s
        .split_whitespace()
        .map(Key::parse)
        .collect::<Result<Seq, _>>()?;
    if seq.is_empty() {
        return Err(format!("unknown key {s:?}"));
    }
    Ok(seq)
}

/// One binding and where it came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub action: String,
    pub file: String,
    pub line: Option<usize>,
}

impl Binding {
    pub fn is_noop(&self) -> bool {
        self.action == "noop"
    }
}

/// Context → key sequence → action, after layering.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keymap {
    contexts: BTreeMap<String, BTreeMap<Seq, Binding>>,
}

/// The contexts looked up for `context`, most specific first.
pub fn chain(context: &str) -> Vec<&str> {
    match context {
        "global" => vec!["global"],
        "editor" | "command" | "dialog" => vec![context],
        _ => match context.split_once('.') {
            Some((base, _)) => vec![context, base, "global"],
            None => vec![context, "global"],
        },
    }
}

/// Check a context name: one of [`CONTEXTS`] or `table.<plural>`.
fn check_context(ctx: &str) -> Result<(), String> {
    if CONTEXTS.contains(&ctx) {
        return Ok(());
    }
    if let Some(kind) = ctx.strip_prefix("table.") {
        if kind == "containers" {
            // The containers of a pod: a view, not a kind.
            return Ok(());
        }
        return match crate::api::kinds::lookup(kind) {
            Some(k) if k.plural == kind => Ok(()),
            Some(k) => Err(format!(
                "[{ctx}]: use the plural resource name: [table.{}]",
                k.plural
            )),
            None => Err(format!("[{ctx}]: {kind:?} is not a kind peapod serves")),
        };
    }
    let hint = crate::api::text::did_you_mean(ctx, CONTEXTS.iter().copied())
        .map(|s| format!("did you mean [{s}]? "))
        .unwrap_or_default();
    Err(format!(
        "[{ctx}]: unknown context; {hint}contexts are {}, and table.<resource>",
        CONTEXTS.join(", ")
    ))
}

impl Keymap {
    /// The shipped default alone.
    pub fn default_map() -> Keymap {
        let mut km = Keymap::default();
        // The shipped file is tested to have no problems; a broken one would only lose keys.
        let _ = km.layer(DEFAULT, DEFAULT_NAME);
        km
    }

    /// Parse one file as a keymap of its own (no default under it).
    pub fn parse(text: &str, file: &str) -> Result<Keymap, Vec<Problem>> {
        let mut km = Keymap::default();
        let problems = km.layer(text, file);
        if problems.is_empty() {
            Ok(km)
        } else {
            Err(problems)
        }
    }

    /// Layer a file over this keymap: its bindings replace the same keys in the same context.
    /// Bad entries are skipped and reported; the good ones still apply.
    pub fn layer(&mut self, text: &str, file: &str) -> Vec<Problem> {
        let doc = match parse_doc(text, file) {
            Ok(d) => d,
            Err(p) => return vec![p],
        };
        let mut problems = Vec::new();
        let mut tables = Vec::new();
        for (ctx, value) in doc.iter() {
            let ctx_name = ctx.get_ref().to_string();
            let line = Some(line_of(text, ctx.span().start));
            let DeValue::Table(bindings) = value.get_ref() else {
                problems.push(Problem::error(
                    file,
                    line,
                    format!("[{ctx_name}] must be a table of \"key\" = \"action\""),
                ));
                continue;
            };
            // `[table.pods]` arrives as a table inside `[table]`.
            for (k, v) in bindings.iter() {
                if let DeValue::Table(sub) = v.get_ref() {
                    tables.push((format!("{ctx_name}.{}", k.get_ref()), k.span().start, sub));
                }
            }
            tables.push((ctx_name, ctx.span().start, bindings));
        }
        for (ctx, start, bindings) in tables {
            if let Err(e) = check_context(&ctx) {
                problems.push(Problem::error(file, Some(line_of(text, start)), e));
                continue;
            }
            for (k, v) in bindings.iter() {
                let key = k.get_ref().as_ref();
                let line = Some(line_of(text, k.span().start));
                let action = match v.get_ref() {
                    DeValue::String(s) => s.as_ref(),
                    DeValue::Table(_) if !ctx.contains('.') => continue, // a kind sub-table
                    other => {
                        problems.push(Problem::error(
                            file,
                            line,
                            format!(
                                "[{ctx}] {key:?} = {}: must be an action name in quotes",
                                show_value(other)
                            ),
                        ));
                        continue;
                    }
                };
                let seq = match parse_seq(key) {
                    Ok(s) => s,
                    Err(e) => {
                        problems.push(Problem::error(
                            file,
                            line,
                            format!(
                                "[{ctx}] {e}: keys are characters or names (enter, esc, tab, \
                                 up, pageup, f1, space, ...) with ctrl-/alt-/shift-"
                            ),
                        ));
                        continue;
                    }
                };
                if action != "noop" && !is_action(action) {
                    let hint =
                        crate::api::text::did_you_mean(action, ACTIONS.iter().map(|(a, _)| *a))
                            .map(|s| format!("; did you mean {s:?}?"))
                            .unwrap_or_default();
                    problems.push(Problem::error(
                        file,
                        line,
                        format!("[{ctx}] {key:?} = {action:?}: unknown action{hint}"),
                    ));
                    continue;
                }
                let entry = self.contexts.entry(ctx.clone()).or_default();
                // `G` and `shift-g` are one key: two spellings in one file and context must
                // agree, or one of them would silently lose.
                if let Some(prev) = entry.get(&seq)
                    && prev.file == file
                    && prev.action != action
                {
                    problems.push(Problem::error(
                        file,
                        line,
                        format!(
                            "[{ctx}] {key:?} = {action:?}: the same key as line {} \
                             (bound to {:?}); keep one of them",
                            prev.line.unwrap_or(0),
                            prev.action
                        ),
                    ));
                    continue;
                }
                entry.insert(
                    seq,
                    Binding {
                        action: action.to_string(),
                        file: file.to_string(),
                        line,
                    },
                );
            }
        }
        // The document is read in key order; report in file order.
        problems.sort_by_key(|p| p.line);
        problems
    }

    /// The bindings of one context as written (no fallback), noops included.
    pub fn context(&self, ctx: &str) -> Option<&BTreeMap<Seq, Binding>> {
        self.contexts.get(ctx)
    }

    /// The contexts that have bindings.
    pub fn context_names(&self) -> impl Iterator<Item = &str> {
        self.contexts.keys().map(String::as_str)
    }

    /// What works in `context`: its chain merged, most specific winning, noops removed.
    /// Each binding comes with the context it is defined in.
    pub fn effective(&self, context: &str) -> BTreeMap<Seq, (&str, &Binding)> {
        let mut out: BTreeMap<Seq, (&str, &Binding)> = BTreeMap::new();
        for ctx in chain(context).into_iter().rev() {
            if let Some((name, map)) = self.contexts.get_key_value(ctx) {
                for (seq, b) in map {
                    out.insert(seq.clone(), (name.as_str(), b));
                }
            }
        }
        out.retain(|_, (_, b)| !b.is_noop());
        out
    }

    /// The binding of an exact sequence in `context`, following the chain; a noop stops it.
    pub fn lookup(&self, context: &str, seq: &[Key]) -> Option<&str> {
        chain(context)
            .into_iter()
            .find_map(|c| self.contexts.get(c)?.get(seq))
            .filter(|b| !b.is_noop())
            .map(|b| b.action.as_str())
    }

    /// The action of a single key press in `context` (sequences need [`KeyState`]).
    pub fn action(&self, context: &str, ev: &KeyEvent) -> Option<&str> {
        self.lookup(context, &[Key::from_event(ev)?])
    }

    /// The action of a sequence written as in keymap files (`"g g"`), for tests and help.
    pub fn sequence_action(&self, context: &str, seq: &str) -> Option<String> {
        self.lookup(context, &parse_seq(seq).ok()?)
            .map(str::to_string)
    }

    /// True when some longer sequence starts with `prefix` in `context`.
    pub fn has_longer(&self, context: &str, prefix: &[Key]) -> bool {
        self.effective(context)
            .keys()
            .any(|s| s.len() > prefix.len() && s.starts_with(prefix))
    }

    /// The first key bound to `action` in `context` or its fallbacks, for the footer. Single
    /// keys are preferred to sequences.
    pub fn key_for(&self, context: &str, action: &str) -> Option<Key> {
        self.keys_for(context, action)
            .into_iter()
            .find(|s| s.len() == 1)
            .and_then(|s| s.first().copied())
    }

    /// Every sequence bound to `action` in `context`, shortest first.
    pub fn keys_for(&self, context: &str, action: &str) -> Vec<Seq> {
        let mut seqs: Vec<Seq> = self
            .effective(context)
            .into_iter()
            .filter(|(_, (_, b))| b.action == action)
            .map(|(s, _)| s)
            .collect();
        seqs.sort_by_key(|s| s.len());
        seqs
    }

    /// The footer of a context: (key label, action label) for the actions worth showing
    /// there, in a fixed order, each with the key that really triggers it.
    pub fn footer(&self, context: &str) -> Vec<(String, String)> {
        let base = context.split('.').next().unwrap_or(context);
        let wanted: &[&str] = match base {
            "table" => &[
                "pod.logs",
                "pod.shell",
                "resource.describe",
                "resource.yaml",
                "resource.edit",
                "resource.scale",
                "rollout.restart",
                "resource.delete",
                "pod.kill",
                "filter.start",
                "command.start",
                "help.show",
                "app.quit",
            ],
            "logs" => &[
                "logs.follow",
                "logs.wrap",
                "logs.timestamps",
                "logs.search",
                "logs.container.next",
                "logs.all_containers",
                "logs.save",
                "view.back",
            ],
            "editor" => &["editor.save", "editor.cancel"],
            "dialog" => &["dialog.confirm", "dialog.cancel", "dialog.next"],
            "command" => &["command.complete", "command.submit", "command.cancel"],
            _ => &[
                "focus.next",
                "command.start",
                "namespace.all",
                "help.show",
                "app.quit",
            ],
        };
        wanted
            .iter()
            .filter_map(|action| {
                let seq = self.keys_for(context, action).into_iter().next()?;
                Some((seq_label(&seq), action_label(action).to_string()))
            })
            .collect()
    }

    /// Conflicts and risky shadowing after layering (see `validate.rs`).
    pub fn validate(&self) -> Vec<Problem> {
        validate::validate(self)
    }
}

#[cfg(test)]
mod tests;
