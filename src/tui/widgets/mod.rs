//! The console's overlays: confirmation and prompt dialogs, the describe/YAML text view and
//! the object editor. Each is a state struct with a pure `render(&self, area, buf, theme)`
//! and input through keymap action names (`on_action`) or, for typed text, raw keys
//! (`on_key`). `context()` names the keymap context to look keys up in: the caller calls
//! `on_action` when the key matched an action there, else `on_key`.

pub mod containers;
pub mod dialog;
pub mod editor;
pub mod forwards;
pub mod input;
pub mod text_view;
pub mod usage;
pub mod yaml;

#[cfg(test)]
mod render_tests;

pub use containers::{ContainerAction, ContainerRow, ContainersView};
pub use dialog::{ConfirmDialog, PromptDialog, parse_replicas};
pub use editor::Editor;
pub use forwards::{ForwardRow, ForwardsAction, ForwardsView};
pub use input::LineInput;
pub use text_view::{Highlight, TextView};
pub use usage::{UsageHistory, UsagePanel};

use crate::tui::keymap::Keymap;
use ratatui::layout::Rect;
use ratatui::text::Span;
use serde_json::Value;

/// What an action or key did to a widget.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The widget used it (state may have changed: redraw).
    Consumed,
    /// Not meant for this widget; nothing changed.
    Ignored,
    /// Close without doing anything (esc, the Cancel button of a prompt, closing a view).
    Cancelled,
    /// A dialog's button was pressed: its index. Index 0 is Cancel.
    Confirmed(usize),
    /// A prompt's text was submitted (the caller checks it and may `set_error`).
    Submitted(String),
    /// The editor's validated object, to send with `Cluster::update`.
    Save(Value),
    /// The editor was saved without a meaningful change: nothing to send.
    Unchanged,
}

/// A popup of `width` × `height` centred in `area`, never larger than it.
pub fn popup_area(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Display width of a text in terminal columns.
pub fn text_width(s: &str) -> usize {
    Span::raw(s).width()
}

/// Greedy word wrap to `width` columns; words longer than a line are cut. Always at least
/// one line (an empty message keeps its row).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let need = if line.is_empty() {
                text_width(&word)
            } else {
                text_width(&line) + 1 + text_width(&word)
            };
            if need <= width {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than the line: cut it.
            let mut head = String::new();
            let mut rest = word.chars();
            for c in rest.by_ref() {
                head.push(c);
                if text_width(&head) >= width {
                    break;
                }
            }
            lines.push(head);
            word = rest.collect();
            if word.is_empty() {
                break;
            }
        }
    }
    lines.push(line);
    lines
}

/// The key label of `action` in `context` for hints (`ctrl-s`), else `fallback`.
pub fn key_label(keymap: Option<&Keymap>, context: &str, action: &str, fallback: &str) -> String {
    keymap
        .and_then(|k| k.key_for(context, action))
        .map_or_else(|| fallback.to_string(), |k| k.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popups_are_centred_and_clamped() {
        let area = Rect::new(0, 0, 80, 24);
        assert_eq!(popup_area(area, 40, 10), Rect::new(20, 7, 40, 10));
        assert_eq!(popup_area(area, 100, 30), area);
        assert_eq!(
            popup_area(Rect::new(5, 5, 0, 0), 10, 10),
            Rect::new(5, 5, 0, 0)
        );
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(
            wrap("Delete 3 pods: a, b, c", 12),
            vec!["Delete 3", "pods: a, b,", "c"]
        );
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("a b", 0), vec!["a", "b"]);
    }

    #[test]
    fn key_labels_come_from_the_keymap() {
        let km = Keymap::default_map();
        assert_eq!(key_label(Some(&km), "editor", "editor.save", "?"), "ctrl-s");
        assert_eq!(key_label(None, "editor", "editor.save", "ctrl-s"), "ctrl-s");
        assert_eq!(key_label(Some(&km), "editor", "nope", "x"), "x");
    }
}
