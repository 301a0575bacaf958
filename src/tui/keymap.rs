//! Keymaps: `keymaps/default.toml` is compiled in; key strings map to action names per
//! context, and the console looks up the focused context first, then `global`. The footer is
//! generated from the same map, so it always shows the keys that really work.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

pub const DEFAULT: &str = include_str!("../../keymaps/default.toml");

/// Every action the console understands.
pub const ACTIONS: &[&str] = &[
    "app.quit",
    "focus.next",
    "focus.prev",
    "namespace.all",
    "row.up",
    "row.down",
    "page.up",
    "page.down",
    "row.first",
    "row.last",
    "row.open",
];

/// A key with its modifiers, normalised so `shift-g` and `G` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

/// `KeyCode` has no `Ord`; this is the part of it keymaps use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    Named(u8),
    F(u8),
}

const NAMES: &[(&str, KeyCode)] = &[
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("space", KeyCode::Char(' ')),
];

impl Key {
    fn from_code(code: KeyCode, ctrl: bool, alt: bool, shift: bool) -> Option<Key> {
        let code = match code {
            KeyCode::Char(c) => {
                // Shifted letters arrive as upper case; ctrl-letters as lower case.
                let c = if shift && c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                KeyCodeOrd::Char(c)
            }
            KeyCode::F(n) => KeyCodeOrd::F(n),
            // shift-tab is the terminal's BackTab.
            KeyCode::Tab if shift => KeyCodeOrd::Named(1),
            other => KeyCodeOrd::Named(NAMES.iter().position(|(_, k)| *k == other)? as u8),
        };
        Some(Key { code, ctrl, alt })
    }

    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let m = ev.modifiers;
        Key::from_code(
            ev.code,
            m.contains(KeyModifiers::CONTROL),
            m.contains(KeyModifiers::ALT),
            m.contains(KeyModifiers::SHIFT),
        )
    }

    /// Parse `q`, `ctrl-c`, `shift-tab`, `pagedown`, `f5`, `G`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut rest = s.trim();
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-").filter(|r| !r.is_empty()) {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => {
                let lower = rest.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    KeyCode::F(n)
                } else {
                    NAMES
                        .iter()
                        .find(|(n, _)| *n == lower)
                        .map(|(_, k)| *k)
                        .ok_or_else(|| format!("unknown key {s:?}"))?
                }
            }
        };
        Key::from_code(code, ctrl, alt, shift).ok_or_else(|| format!("unknown key {s:?}"))
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Named(i) => f.write_str(NAMES.get(i as usize).map_or("?", |(n, _)| n)),
        }
    }
}

/// Context → key → action.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    contexts: BTreeMap<String, BTreeMap<Key, String>>,
}

impl Keymap {
    /// Parse a keymap file; every problem is reported (`[table] "x" = "nope": unknown action`).
    pub fn parse(text: &str) -> Result<Keymap, Vec<String>> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| vec![format!("keymap: {e}")])?;
        let mut map = Keymap::default();
        let mut problems = Vec::new();
        for (ctx, bindings) in &doc {
            let Some(bindings) = bindings.as_table() else {
                problems.push(format!(
                    "keymap: [{ctx}] must be a table of \"key\" = \"action\""
                ));
                continue;
            };
            let entry = map.contexts.entry(ctx.clone()).or_default();
            for (k, v) in bindings {
                let action = v.as_str().unwrap_or("");
                match Key::parse(k) {
                    Err(e) => problems.push(format!("keymap: [{ctx}] {e}")),
                    Ok(_) if !ACTIONS.contains(&action) && action != "noop" => problems.push(
                        format!("keymap: [{ctx}] {k:?} = {action:?}: unknown action"),
                    ),
                    Ok(key) => {
                        entry.insert(key, action.to_string());
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(map)
        } else {
            Err(problems)
        }
    }

    pub fn default_map() -> Keymap {
        // The shipped file is tested to parse; an empty map would only disable keys.
        Keymap::parse(DEFAULT).unwrap_or_default()
    }

    /// The action of a key in `context`, falling back to `global`.
    pub fn action(&self, context: &str, ev: &KeyEvent) -> Option<&str> {
        let key = Key::from_event(ev)?;
        [context, "global"]
            .iter()
            .filter_map(|c| self.contexts.get(*c)?.get(&key))
            .map(String::as_str)
            .find(|a| *a != "noop")
    }

    /// The first key bound to `action` in `context` or `global`, for the footer.
    pub fn key_for(&self, context: &str, action: &str) -> Option<Key> {
        [context, "global"].iter().find_map(|c| {
            self.contexts
                .get(*c)?
                .iter()
                .find(|(_, a)| *a == action)
                .map(|(k, _)| *k)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyEventKind, KeyEventState};

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: m,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    #[test]
    fn shipped_keymap_parses_and_resolves_by_context() {
        let km = Keymap::parse(DEFAULT).unwrap();
        assert_eq!(
            km.action("table", &ev(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some("row.down")
        );
        assert_eq!(
            km.action("table", &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some("app.quit")
        );
        assert_eq!(
            km.action("table", &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some("app.quit")
        );
        assert_eq!(
            km.action("table", &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some("row.last")
        );
        assert_eq!(
            km.action("table", &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some("focus.prev")
        );
        assert_eq!(
            km.action("table", &ev(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(
            km.key_for("table", "row.down").map(|k| k.to_string()),
            Some("j".into())
        );
    }

    #[test]
    fn problems_are_all_reported() {
        let e = Keymap::parse("[table]\n\"ctrl-\" = \"row.up\"\n\"x\" = \"row.sideways\"\n")
            .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[1].contains("unknown action"), "{e:?}");
        let km = Keymap::parse("[global]\n\"q\" = \"noop\"\n").unwrap();
        assert_eq!(
            km.action("table", &ev(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
    }
}
