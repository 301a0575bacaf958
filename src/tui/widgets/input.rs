//! A one-line text input (the prompt dialog's field, the text view's search query): the text,
//! a cursor between characters, and readline's basic editing keys.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    /// Cursor position in characters (0 = before the first).
    cursor: usize,
}

impl LineInput {
    /// `text` with the cursor at its end.
    pub fn new(text: &str) -> LineInput {
        let text = clean(text);
        LineInput {
            cursor: text.chars().count(),
            text,
        }
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
    /// backspace, delete, left, right, home, end, ctrl-u, ctrl-a, ctrl-e).
    pub fn on_key(&mut self, key: KeyEvent) -> bool {
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
        true
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
}
