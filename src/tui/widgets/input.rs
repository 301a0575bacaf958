//! The console's one-line text input (the `:` command line, the `/` filter, the prompt
//! dialog's field, the text view's search query): the text, a cursor between characters,
//! readline's basic editing keys, Tab completion cycling through candidates, and history
//! recall with up/down.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use std::borrow::Borrow;

/// An empty input is `LineInput::default()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in characters (0 = before the first).
    cursor: usize,
    /// Candidates of the current completion round and the one shown.
    completions: Vec<String>,
    completion: usize,
    /// Position in the history while recalling (`None` = editing a new line).
    recall: Option<usize>,
}

impl LineInput {
    /// `text` with the cursor at its end.
    pub fn new(text: &str) -> LineInput {
        let text = clean(text);
        LineInput {
            cursor: text.chars().count(),
            text,
            ..LineInput::default()
        }
    }

    /// The same as [`LineInput::new`] (the name the command line used).
    pub fn with_text(text: &str) -> LineInput {
        LineInput::new(text)
    }

    /// Replace the text, cursor at its end.
    fn set(&mut self, text: &str) {
        let text = clean(text);
        self.cursor = text.chars().count();
        self.text = text;
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(b, _)| b)
    }

    fn len(&self) -> usize {
        self.text.chars().count()
    }

    /// Edit with one key; returns whether the key was an editing key (typed characters,
    /// backspace, delete, left, right, home, end, ctrl-u, ctrl-w, ctrl-a, ctrl-e). An editing
    /// key ends a completion round and history recall. Takes `KeyEvent` or `&KeyEvent`.
    pub fn on_key(&mut self, key: impl Borrow<KeyEvent>) -> bool {
        let key = key.borrow();
        if key.kind == KeyEventKind::Release {
            return false;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                let b = self.byte_at(self.cursor);
                self.text.replace_range(..b, "");
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                // Delete the word before the cursor (and the spaces after it), as readline.
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
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.len(),
            KeyCode::Char(c) if !ctrl && !alt && !c.is_control() => {
                let b = self.byte_at(self.cursor);
                self.text.insert(b, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let b = self.byte_at(self.cursor - 1);
                self.text.remove(b);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < self.len() => {
                let b = self.byte_at(self.cursor);
                self.text.remove(b);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
            // At either end these keys do nothing, but they are still the input's keys.
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        self.completions.clear();
        self.recall = None;
        true
    }

    /// Tab: the first candidate; Tab again: the next one, wrapping. `complete` is asked for
    /// the candidates of the text once per round; a round lasts until an editing key.
    pub fn complete(&mut self, complete: impl FnOnce(&str) -> Vec<String>) {
        if self.completions.is_empty() {
            self.completions = complete(&self.text);
            self.completion = 0;
        } else {
            self.completion = (self.completion + 1) % self.completions.len();
        }
        if let Some(c) = self.completions.get(self.completion).cloned() {
            self.set(&c);
        }
    }

    /// The candidates of the current completion round (shown as a hint).
    pub fn candidates(&self) -> &[String] {
        &self.completions
    }

    /// Up (`older`) or down through `history` (oldest first). Down past the newest entry
    /// gives an empty line again.
    pub fn recall(&mut self, history: &[String], older: bool) {
        if history.is_empty() {
            return;
        }
        let next = match (self.recall, older) {
            (None, true) => Some(history.len() - 1),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        match next.and_then(|i| history.get(i)) {
            Some(h) => self.set(h),
            None => self.set(""),
        }
        self.recall = next;
        self.completions.clear();
    }

    /// The visible part of the text in `width` columns, keeping the cursor in view; the cursor
    /// cell is drawn reversed (the widgets draw their own cursor, so rendering stays pure).
    pub fn line(&self, width: usize, style: Style) -> Line<'static> {
        if width == 0 {
            return Line::default();
        }
        // One column is kept for the cursor after the last character.
        let start = (self.cursor + 1).saturating_sub(width);
        let chars: Vec<char> = self.text.chars().skip(start).take(width).collect();
        let at = self.cursor - start;
        let before: String = chars[..at.min(chars.len())].iter().collect();
        let under: String = chars.get(at).map_or(" ".to_string(), |c| c.to_string());
        let after: String = chars
            .get(at + 1..)
            .map_or(String::new(), |r| r.iter().collect());
        let mut spans = vec![
            Span::styled(before, style),
            Span::styled(under, style.add_modifier(Modifier::REVERSED)),
        ];
        if !after.is_empty() {
            spans.push(Span::styled(after, style));
        }
        // At most `width` characters: `start` leaves room for the cursor cell.
        Line::from(spans)
    }
}

/// Control characters (a pasted newline, a tab) would break the one-line layout.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(input: &mut LineInput, s: &str) {
        for c in s.chars() {
            assert!(input.on_key(key(KeyCode::Char(c))));
        }
    }

    #[test]
    fn editing_keys_move_and_change_the_text() {
        let mut i = LineInput::new("3");
        assert_eq!(i.cursor(), 1);
        typed(&mut i, "0");
        assert_eq!(i.text(), "30");
        i.on_key(key(KeyCode::Home));
        typed(&mut i, "1");
        assert_eq!((i.text(), i.cursor()), ("130", 1));
        i.on_key(key(KeyCode::Delete));
        assert_eq!(i.text(), "10");
        i.on_key(key(KeyCode::End));
        i.on_key(key(KeyCode::Backspace));
        assert_eq!((i.text(), i.cursor()), ("1", 1));
        i.on_key(key(KeyCode::Left));
        i.on_key(key(KeyCode::Left));
        assert_eq!(i.cursor(), 0);
        // Nothing to delete before the start: no panic, no change.
        assert!(i.on_key(key(KeyCode::Backspace)));
        assert_eq!(i.text(), "1");
        i.on_key(key(KeyCode::Right));
        i.on_key(key(KeyCode::Right));
        assert_eq!(i.cursor(), 1);
        assert!(i.on_key(key(KeyCode::Delete)));
        assert_eq!(i.text(), "1");
        // ctrl-u clears up to the cursor; other ctrl keys are not the input's.
        assert!(i.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert_eq!((i.text(), i.cursor()), ("", 0));
        assert!(!i.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
        assert!(!i.on_key(key(KeyCode::Enter)));
    }

    #[test]
    fn multibyte_text_is_edited_by_characters() {
        let mut i = LineInput::new("grüße");
        i.on_key(key(KeyCode::Left));
        i.on_key(key(KeyCode::Backspace));
        assert_eq!(i.text(), "grüe");
        typed(&mut i, "ß");
        assert_eq!(i.text(), "grüße");
        assert_eq!(LineInput::new("a\nb").text(), "a b");
    }

    #[test]
    fn the_visible_part_keeps_the_cursor() {
        let i = LineInput::new("abcdefghij");
        let l = i.line(4, Style::default());
        assert_eq!(l.to_string(), "hij ");
        assert_eq!(l.width(), 4);
        let mut i = LineInput::new("abcdefghij");
        i.on_key(key(KeyCode::Home));
        assert_eq!(i.line(4, Style::default()).to_string(), "abcd");
        assert_eq!(i.line(0, Style::default()).width(), 0);
    }

    // The command line's tests (from app/input.rs), keys passed by reference.

    #[test]
    fn editing_keys_move_and_change_text() {
        let mut l = LineInput::default();
        // The command line passes `&KeyEvent`, the dialogs `KeyEvent`: both work.
        let keys: Vec<KeyEvent> = "dploy".chars().map(|c| key(KeyCode::Char(c))).collect();
        for k in &keys {
            assert!(l.on_key(k));
        }
        l.on_key(key(KeyCode::Home));
        l.on_key(key(KeyCode::Right));
        l.on_key(key(KeyCode::Char('e')));
        assert_eq!((l.text(), l.cursor()), ("deploy", 2));
        l.on_key(key(KeyCode::End));
        l.on_key(key(KeyCode::Backspace));
        assert_eq!(l.text(), "deplo");
        l.on_key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!((l.text(), l.cursor()), ("", 0));
        assert!(!l.on_key(key(KeyCode::Enter)));
        // Multi-byte characters are one position each.
        let mut l = LineInput::with_text("é1");
        l.on_key(key(KeyCode::Left));
        l.on_key(key(KeyCode::Backspace));
        assert_eq!(l.text(), "1");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor() {
        let ctrl_w = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL);
        let mut l = LineInput::new("pods app=web  x");
        l.on_key(key(KeyCode::Left));
        l.on_key(key(KeyCode::Left));
        // Cursor after "app=web  ": the word and the spaces after it go, " x" stays.
        assert!(l.on_key(ctrl_w));
        assert_eq!((l.text(), l.cursor()), ("pods  x", 5));
        l.on_key(ctrl_w);
        assert_eq!((l.text(), l.cursor()), (" x", 0));
        // Nothing before the cursor: still the input's key, nothing changes.
        assert!(l.on_key(ctrl_w));
        assert_eq!(l.text(), " x");
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
        assert_eq!(l.candidates(), ["deploy", "deployments"]);
        l.complete(&mut cands);
        assert_eq!(l.text(), "deployments");
        l.complete(&mut cands);
        assert_eq!(l.text(), "deploy");
        assert_eq!(asked, 1);
        // Typing starts a new round.
        l.on_key(key(KeyCode::Char(' ')));
        assert!(l.candidates().is_empty());
        l.complete(|_| vec![]);
        assert_eq!(l.text(), "deploy ");
    }

    #[test]
    fn completion_is_asked_with_the_text() {
        let mut l = LineInput::with_text("sv");
        l.complete(|t| vec![format!("{t}c")]);
        assert_eq!((l.text(), l.cursor()), ("svc", 3));
    }

    #[test]
    fn history_recall_goes_back_and_forth() {
        let h = vec!["pods".to_string(), "deploy".to_string()];
        let mut l = LineInput::default();
        l.recall(&h, true);
        assert_eq!(l.text(), "deploy");
        l.recall(&h, true);
        l.recall(&h, true);
        assert_eq!(l.text(), "pods");
        l.recall(&h, false);
        assert_eq!(l.text(), "deploy");
        l.recall(&h, false);
        assert_eq!(l.text(), "");
        // Nothing to recall: the typed text stays.
        let mut l = LineInput::new("x");
        l.recall(&[], true);
        assert_eq!(l.text(), "x");
        // Typing ends recall: up starts again from the newest entry.
        let mut l = LineInput::default();
        l.recall(&h, true);
        l.recall(&h, true);
        l.on_key(key(KeyCode::Char('s')));
        l.recall(&h, true);
        assert_eq!(l.text(), "deploy");
    }
}
