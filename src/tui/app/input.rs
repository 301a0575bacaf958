//! A one-line text input (the `:` command line and the `/` filter): cursor editing, Tab
//! completion cycling through candidates, and history recall with up/down.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in characters.
    cursor: usize,
    /// Candidates of the current completion round and the one shown.
    completions: Vec<String>,
    completion: usize,
    /// Position in the history while recalling (`None` = editing a new line).
    recall: Option<usize>,
}

impl LineInput {
    pub fn new() -> LineInput {
        LineInput::default()
    }

    pub fn with_text(text: &str) -> LineInput {
        LineInput {
            text: text.to_string(),
            cursor: text.chars().count(),
            ..Default::default()
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    fn set(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.text = text;
    }

    /// Apply an editing key; false when the key is not an editing key.
    pub fn on_key(&mut self, k: &KeyEvent) -> bool {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('u') if ctrl => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                // Delete the word before the cursor.
                let before: Vec<char> = self.text.chars().take(self.cursor).collect();
                let mut start = before.len();
                while start > 0 && before[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && before[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(a..b, "");
                self.cursor = start;
            }
            KeyCode::Char(c) if !ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < self.text.chars().count() => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.text.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.chars().count(),
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        self.completions.clear();
        self.recall = None;
        true
    }

    /// Tab: the first candidate; Tab again: the next one (candidates come from `complete`,
    /// asked once per round).
    pub fn complete(&mut self, complete: impl FnOnce(&str) -> Vec<String>) {
        if self.completions.is_empty() {
            self.completions = complete(&self.text);
            self.completion = 0;
        } else {
            self.completion = (self.completion + 1) % self.completions.len();
        }
        if let Some(c) = self.completions.get(self.completion).cloned() {
            self.set(c);
        }
    }

    /// The candidates of the current completion round (shown as a hint).
    pub fn candidates(&self) -> &[String] {
        &self.completions
    }

    /// Up (older) or down (newer) through `history` (oldest first).
    pub fn recall(&mut self, history: &[String], older: bool) {
        if history.is_empty() {
            return;
        }
        let next = match (self.recall, older) {
            (None, true) => Some(history.len() - 1),
            (None, false) => None,
            (Some(0), true) => Some(0),
            (Some(i), true) => Some(i - 1),
            (Some(i), false) if i + 1 < history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        match next {
            Some(i) => self.set(history[i].clone()),
            None => self.set(String::new()),
        }
        self.recall = next;
        self.completions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn editing_keys_move_and_change_text() {
        let mut l = LineInput::new();
        for c in "dploy".chars() {
            l.on_key(&key(KeyCode::Char(c)));
        }
        l.on_key(&key(KeyCode::Home));
        l.on_key(&key(KeyCode::Right));
        l.on_key(&key(KeyCode::Char('e')));
        assert_eq!((l.text(), l.cursor()), ("deploy", 2));
        l.on_key(&key(KeyCode::End));
        l.on_key(&key(KeyCode::Backspace));
        assert_eq!(l.text(), "deplo");
        l.on_key(&KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!((l.text(), l.cursor()), ("", 0));
        assert!(!l.on_key(&key(KeyCode::Enter)));
        // Multi-byte characters are one position each.
        let mut l = LineInput::with_text("é1");
        l.on_key(&key(KeyCode::Left));
        l.on_key(&key(KeyCode::Backspace));
        assert_eq!(l.text(), "1");
    }

    #[test]
    fn tab_cycles_through_one_round_of_candidates() {
        let mut l = LineInput::with_text("de");
        let mut asked = 0;
        let mut cands = |_: &str| {
            asked += 1;
            vec!["deploy".to_string(), "deployments".to_string()]
        };
        l.complete(&mut cands);
        assert_eq!(l.text(), "deploy");
        l.complete(&mut cands);
        assert_eq!(l.text(), "deployments");
        l.complete(&mut cands);
        assert_eq!(l.text(), "deploy");
        assert_eq!(asked, 1);
        // Typing starts a new round.
        l.on_key(&key(KeyCode::Char(' ')));
        l.complete(|_| vec![]);
        assert_eq!(l.text(), "deploy ");
    }

    #[test]
    fn history_recall_goes_back_and_forth() {
        let h = vec!["pods".to_string(), "deploy".to_string()];
        let mut l = LineInput::new();
        l.recall(&h, true);
        assert_eq!(l.text(), "deploy");
        l.recall(&h, true);
        l.recall(&h, true);
        assert_eq!(l.text(), "pods");
        l.recall(&h, false);
        assert_eq!(l.text(), "deploy");
        l.recall(&h, false);
        assert_eq!(l.text(), "");
    }
}
