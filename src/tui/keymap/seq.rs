//! Multi-key sequences (`g g`): keys are collected while they are the start of a longer
//! binding; a complete binding fires at once.

use super::{Key, Keymap, Seq};
use crossterm::event::{KeyCode, KeyEvent};

/// The result of one key press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// The keys so far start a longer binding: wait for the next key (show them).
    Pending,
    /// A binding is complete.
    Matched(String),
    /// Nothing is bound: the key goes to whatever has focus (text input) or is ignored.
    NoMatch,
}

/// The keys typed so far of an unfinished sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyState {
    pending: Seq,
}

impl KeyState {
    pub fn new() -> KeyState {
        KeyState::default()
    }

    /// The unfinished sequence, for the footer (`g`).
    pub fn pending(&self) -> &[Key] {
        &self.pending
    }

    pub fn reset(&mut self) {
        self.pending.clear();
    }

    /// Feed one terminal key event.
    pub fn feed(&mut self, keymap: &Keymap, context: &str, ev: &KeyEvent) -> KeyMatch {
        let Some(key) = Key::from_event(ev) else {
            self.pending.clear();
            return KeyMatch::NoMatch;
        };
        if !self.pending.is_empty() && ev.code == KeyCode::Esc {
            // Esc abandons an unfinished sequence and does nothing else.
            self.pending.clear();
            return KeyMatch::NoMatch;
        }
        self.feed_key(keymap, context, key)
    }

    /// Feed one key (events already converted).
    pub fn feed_key(&mut self, keymap: &Keymap, context: &str, key: Key) -> KeyMatch {
        self.pending.push(key);
        // An exact binding fires at once; a longer one sharing the prefix is a conflict that
        // validation reports, so the shorter wins deterministically.
        if let Some(action) = keymap.lookup(context, &self.pending) {
            let action = action.to_string();
            self.pending.clear();
            return KeyMatch::Matched(action);
        }
        if keymap.has_longer(context, &self.pending) {
            return KeyMatch::Pending;
        }
        let was_sequence = self.pending.len() > 1;
        self.pending.clear();
        if was_sequence {
            // `g` then `j` (no `g j` bound): the `j` still counts on its own.
            return self.feed_key(keymap, context, key);
        }
        KeyMatch::NoMatch
    }
}
