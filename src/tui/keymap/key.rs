//! One key with its modifiers: parsing from keymap files, matching terminal events, display.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
    pub(crate) fn from_code(code: KeyCode, ctrl: bool, alt: bool, shift: bool) -> Option<Key> {
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
        // Terminals send ctrl-\ ] ^ _ as the bytes 0x1c..0x1f, which crossterm reports as
        // ctrl-4..ctrl-7; bindings name the keys users press.
        let code = match ev.code {
            KeyCode::Char(c @ '4'..='7') if m.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(['\\', ']', '^', '_'][(c as u8 - b'4') as usize])
            }
            other => other,
        };
        Key::from_code(
            code,
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
