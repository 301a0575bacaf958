//! Popups: [`ConfirmDialog`] (delete, kill, restart: buttons, Cancel first and selected) and
//! [`PromptDialog`] (one line of text: scale replicas, create namespace).

use super::input::LineInput;
use super::{Outcome, key_label, popup_area, text_width, wrap};
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

/// Dialogs are at most this wide, so messages stay readable on wide terminals.
const MAX_WIDTH: u16 = 72;
const MIN_WIDTH: u16 = 30;

/// How many objects a delete dialog names before summing up the rest.
const LISTED: usize = 10;

/// A question with buttons. Button 0 is Cancel and is selected when the dialog opens, so
/// pressing enter right away never destroys anything.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmDialog {
    pub title: String,
    pub message: Vec<String>,
    pub buttons: Vec<String>,
    pub selected: usize,
    /// The non-Cancel buttons destroy something: drawn in the theme's failed style.
    pub danger: bool,
}

impl ConfirmDialog {
    /// A dialog with `buttons` (Cancel first), Cancel selected.
    pub fn new(title: &str, message: Vec<String>, buttons: &[&str]) -> ConfirmDialog {
        ConfirmDialog {
            title: title.to_string(),
            message,
            buttons: buttons.iter().map(|b| b.to_string()).collect(),
            selected: 0,
            danger: false,
        }
    }

    pub fn danger(mut self, danger: bool) -> ConfirmDialog {
        self.danger = danger;
        self
    }

    /// The delete dialog: `Delete pod default/web-1?` or `Delete 3 pods: a, b, c?`, then the
    /// grace period line if given (`Grace period: 30s (default)`).
    pub fn delete(
        singular: &str,
        plural: &str,
        names: &[String],
        grace: Option<String>,
    ) -> ConfirmDialog {
        let question = match names {
            [one] => format!("Delete {singular} {one}?"),
            many => {
                let shown = many.iter().take(LISTED).cloned().collect::<Vec<_>>();
                let more = match many.len().saturating_sub(LISTED) {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                format!(
                    "Delete {} {plural}: {}{more}?",
                    many.len(),
                    shown.join(", ")
                )
            }
        };
        let mut message = vec![question];
        message.extend(grace);
        ConfirmDialog::new("Delete", message, &["Cancel", "Delete"]).danger(true)
    }

    /// The keymap context of this dialog's keys.
    pub fn context(&self) -> &'static str {
        "dialog"
    }

    pub fn on_action(&mut self, action: &str) -> Outcome {
        let n = self.buttons.len().max(1);
        match action {
            "dialog.next" => self.selected = (self.selected + 1) % n,
            "dialog.prev" => self.selected = (self.selected + n - 1) % n,
            "dialog.confirm" => return Outcome::Confirmed(self.selected),
            "dialog.cancel" => return Outcome::Cancelled,
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }

    /// Keys the keymap did not match do nothing in a confirmation.
    pub fn on_key(&mut self, _key: KeyEvent) -> Outcome {
        Outcome::Ignored
    }

    fn button_style(&self, i: usize, theme: &Theme) -> Style {
        let base = if self.danger && i != 0 {
            theme.status_roles.failed.add_modifier(Modifier::BOLD)
        } else {
            theme.ui.dialog
        };
        match (i == self.selected, self.danger && i != 0) {
            (true, true) => base.add_modifier(Modifier::REVERSED),
            (true, false) => theme.ui.selection.add_modifier(Modifier::BOLD),
            (false, _) => base,
        }
    }

    fn buttons_line(&self, theme: &Theme) -> Line<'static> {
        let mut spans = Vec::new();
        for (i, b) in self.buttons.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("   "));
            }
            spans.push(Span::styled(
                format!("[ {b} ]"),
                self.button_style(i, theme),
            ));
        }
        Line::from(spans).alignment(Alignment::Center)
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let buttons = self.buttons_line(theme);
        let widest = self
            .message
            .iter()
            .map(|l| text_width(l))
            .chain([text_width(&self.title) + 2, buttons.width()])
            .max()
            .unwrap_or(0);
        let width = (widest as u16)
            .saturating_add(4)
            .clamp(MIN_WIDTH, MAX_WIDTH)
            .min(area.width);
        let wrap_at = width.saturating_sub(4) as usize;
        let lines: Vec<String> = self.message.iter().flat_map(|m| wrap(m, wrap_at)).collect();
        let height = (lines.len() as u16).saturating_add(5);
        let popup = popup_area(area, width, height);
        let inner = frame(&self.title, popup, buf, theme);
        if inner.height == 0 {
            return;
        }
        // Buttons on the last row; the message above, after a blank row when there is room.
        let button_row = Rect {
            y: inner.bottom() - 1,
            height: 1,
            ..inner
        };
        buttons.render(button_row, buf);
        let top = u16::from(inner.height >= lines.len() as u16 + 3);
        let text_area = Rect {
            y: inner.y + top,
            height: inner.height.saturating_sub(top + 2),
            ..inner
        };
        let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
        Paragraph::new(text)
            .style(theme.ui.dialog)
            .render(pad(text_area), buf);
    }
}

/// Clear `popup` and draw its border and title; returns the inside.
fn frame(title: &str, popup: Rect, buf: &mut Buffer, theme: &Theme) -> Rect {
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_style(theme.ui.border_focused)
        .style(theme.ui.dialog)
        .title(Span::styled(format!(" {title} "), theme.ui.title));
    let inner = block.inner(popup);
    block.render(popup, buf);
    inner
}

/// One column of space on each side of the text.
fn pad(r: Rect) -> Rect {
    if r.width < 3 {
        return r;
    }
    Rect {
        x: r.x + 1,
        width: r.width - 2,
        ..r
    }
}

/// A one-line text prompt with an error line the caller sets after checking the value.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptDialog {
    pub title: String,
    pub label: String,
    input: LineInput,
    error: Option<String>,
    hint: String,
}

impl PromptDialog {
    /// `title` (`Scale deployment.apps/web`), `label` (`Replicas`), the initial text with
    /// the cursor at its end.
    pub fn new(title: &str, label: &str, initial: &str) -> PromptDialog {
        PromptDialog {
            title: title.to_string(),
            label: label.to_string(),
            input: LineInput::new(initial),
            error: None,
            hint: "enter ok · esc cancel".to_string(),
        }
    }

    /// Take the hint's key labels from the keymap's `command` context.
    pub fn with_keymap(mut self, keymap: &Keymap) -> PromptDialog {
        let ok = key_label(Some(keymap), "command", "command.submit", "enter");
        let cancel = key_label(Some(keymap), "command", "command.cancel", "esc");
        self.hint = format!("{ok} ok · {cancel} cancel");
        self
    }

    /// The keymap context of this prompt's keys: `command` (enter submits, esc cancels,
    /// every other key is typed; `dialog` would turn `q` and the arrows into actions).
    pub fn context(&self) -> &'static str {
        "command"
    }

    pub fn value(&self) -> &str {
        self.input.text()
    }

    /// Show a problem with the submitted value (`replicas must be a whole number ≥ 0`).
    pub fn set_error(&mut self, error: impl Into<String>) {
        self.error = Some(error.into());
    }

    pub fn clear_error(&mut self) {
        self.error = None;
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn on_action(&mut self, action: &str) -> Outcome {
        match action {
            "command.submit" | "dialog.confirm" => Outcome::Submitted(self.value().to_string()),
            "command.cancel" | "dialog.cancel" => Outcome::Cancelled,
            _ => Outcome::Ignored,
        }
    }

    /// Typed text and editing keys; enter and esc also work when no keymap matched them.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        let before = self.input.text().to_string();
        if self.input.on_key(key) {
            // The message was about the old text; moving the cursor keeps it.
            if self.input.text() != before {
                self.error = None;
            }
            return Outcome::Consumed;
        }
        match key.code {
            KeyCode::Enter => Outcome::Submitted(self.value().to_string()),
            KeyCode::Esc => Outcome::Cancelled,
            _ => Outcome::Ignored,
        }
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let label = format!("{}: ", self.label);
        let widest = [
            text_width(&label) + 24,
            text_width(&self.title) + 2,
            self.error.as_deref().map_or(0, |e| text_width(e) + 2),
            text_width(&self.hint),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let width = (widest as u16)
            .saturating_add(4)
            .clamp(MIN_WIDTH + 10, MAX_WIDTH)
            .min(area.width);
        let wrap_at = width.saturating_sub(4) as usize;
        let error_lines = match &self.error {
            Some(e) => wrap(&format!("! {e}"), wrap_at),
            None => vec![String::new()],
        };
        let height = (error_lines.len() as u16).saturating_add(6);
        let popup = popup_area(area, width, height);
        let inner = pad(frame(&self.title, popup, buf, theme));
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        // Rows from the top: blank, input, error lines, blank, hint. A small area keeps the
        // input first.
        let top = u16::from(inner.height >= height - 2);
        let input_y = inner.y + top;
        let label_w = (text_width_u16(&label)).min(inner.width / 2);
        buf.set_stringn(inner.x, input_y, &label, label_w as usize, theme.ui.dialog);
        let field = Rect {
            x: inner.x + label_w,
            y: input_y,
            width: inner.width - label_w,
            height: 1,
        };
        let field_style = theme.ui.dialog.add_modifier(Modifier::UNDERLINED);
        buf.set_style(field, field_style);
        buf.set_line(
            field.x,
            field.y,
            &self.input.line(field.width as usize, field_style),
            field.width,
        );
        let mut y = input_y + 1;
        for line in &error_lines {
            if y >= inner.bottom() {
                return;
            }
            buf.set_stringn(
                inner.x,
                y,
                line,
                inner.width as usize,
                theme.status_roles.failed.add_modifier(Modifier::BOLD),
            );
            y += 1;
        }
        if inner.bottom() > y + 1 {
            buf.set_stringn(
                inner.x,
                inner.bottom() - 1,
                &self.hint,
                inner.width as usize,
                theme.ui.footer,
            );
        }
    }
}

fn text_width_u16(s: &str) -> u16 {
    u16::try_from(text_width(s)).unwrap_or(u16::MAX)
}

/// The replicas a user typed: a whole number from 0 to 2147483647 (an int32, as the API).
pub fn parse_replicas(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("enter the number of replicas: a whole number ≥ 0".into());
    }
    let digits = t.strip_prefix('+').unwrap_or(t);
    match digits.parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("replicas must be a whole number ≥ 0, not {n}")),
        Ok(n) if n > i64::from(i32::MAX) => {
            Err(format!("replicas must be at most {}, not {n}", i32::MAX))
        }
        Ok(n) => Ok(n),
        Err(_) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => {
            Err(format!("replicas must be at most {}", i32::MAX))
        }
        Err(_) => Err(format!("replicas must be a whole number ≥ 0, not {t:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn cancel_is_selected_first_and_enter_on_it_is_no() {
        let mut d = ConfirmDialog::delete("pod", "pods", &["default/web-1".into()], None);
        assert_eq!(d.selected, 0);
        assert_eq!(d.buttons, vec!["Cancel", "Delete"]);
        assert_eq!(d.on_action("dialog.confirm"), Outcome::Confirmed(0));
        assert_eq!(d.context(), "dialog");
    }

    #[test]
    fn buttons_cycle_both_ways() {
        let mut d = ConfirmDialog::new("Restart", vec!["Restart?".into()], &["Cancel", "Restart"]);
        assert_eq!(d.on_action("dialog.next"), Outcome::Consumed);
        assert_eq!(d.on_action("dialog.confirm"), Outcome::Confirmed(1));
        d.on_action("dialog.next");
        assert_eq!(d.selected, 0);
        d.on_action("dialog.prev");
        assert_eq!(d.selected, 1);
        assert_eq!(d.on_action("dialog.cancel"), Outcome::Cancelled);
        assert_eq!(d.on_action("row.down"), Outcome::Ignored);
        assert_eq!(d.on_key(key(KeyCode::Char('y'))), Outcome::Ignored);
        assert_eq!(d.selected, 1);
        // No buttons at all: moving does not divide by zero.
        let mut empty = ConfirmDialog::new("x", vec![], &[]);
        empty.on_action("dialog.prev");
        assert_eq!(empty.on_action("dialog.confirm"), Outcome::Confirmed(0));
    }

    #[test]
    fn delete_messages_name_the_objects_and_the_grace_period() {
        let d = ConfirmDialog::delete(
            "pod",
            "pods",
            &["default/web-1".into()],
            Some("Grace period: 30s (default)".into()),
        );
        assert_eq!(
            d.message,
            vec!["Delete pod default/web-1?", "Grace period: 30s (default)"]
        );
        assert!(d.danger);
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let d = ConfirmDialog::delete("pod", "pods", &names, None);
        assert_eq!(d.message, vec!["Delete 3 pods: a, b, c?"]);
        let many: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
        let d = ConfirmDialog::delete("pod", "pods", &many, None);
        assert!(d.message[0].ends_with("p9 and 2 more?"), "{}", d.message[0]);
    }

    #[test]
    fn the_danger_button_uses_the_failed_style() {
        let theme = Theme::default_theme();
        let mut d = ConfirmDialog::delete("pod", "pods", &["web".into()], None);
        assert_eq!(
            d.button_style(0, &theme),
            theme.ui.selection.add_modifier(Modifier::BOLD)
        );
        assert_eq!(d.button_style(1, &theme).fg, theme.status_roles.failed.fg);
        d.on_action("dialog.next");
        assert!(
            d.button_style(1, &theme)
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert_eq!(d.button_style(0, &theme), theme.ui.dialog);
    }

    #[test]
    fn prompt_edits_submits_and_cancels() {
        let mut p = PromptDialog::new("Scale deployment.apps/web", "Replicas", "3");
        assert_eq!(p.context(), "command");
        p.on_key(key(KeyCode::Backspace));
        for c in "12".chars() {
            assert_eq!(p.on_key(key(KeyCode::Char(c))), Outcome::Consumed);
        }
        p.on_key(key(KeyCode::Home));
        p.on_key(key(KeyCode::Delete));
        p.on_key(key(KeyCode::End));
        p.on_key(key(KeyCode::Char('0')));
        p.on_key(key(KeyCode::Left));
        p.on_key(key(KeyCode::Char('5')));
        assert_eq!(p.value(), "250");
        assert_eq!(
            p.on_action("command.submit"),
            Outcome::Submitted("250".into())
        );
        assert_eq!(
            p.on_key(key(KeyCode::Enter)),
            Outcome::Submitted("250".into())
        );
        assert_eq!(p.on_action("command.cancel"), Outcome::Cancelled);
        assert_eq!(p.on_key(key(KeyCode::Esc)), Outcome::Cancelled);
        assert_eq!(p.on_action("command.complete"), Outcome::Ignored);
    }

    #[test]
    fn the_error_stays_until_the_text_changes() {
        let mut p = PromptDialog::new("Scale", "Replicas", "x");
        let Outcome::Submitted(v) = p.on_action("command.submit") else {
            panic!()
        };
        p.set_error(parse_replicas(&v).unwrap_err());
        assert_eq!(
            p.error(),
            Some("replicas must be a whole number ≥ 0, not \"x\"")
        );
        p.on_key(key(KeyCode::Left));
        p.on_key(key(KeyCode::Backspace));
        assert!(p.error().is_some(), "nothing to delete before the cursor");
        p.on_key(key(KeyCode::Delete));
        assert!(p.error().is_none());
    }

    #[test]
    fn replicas_are_whole_numbers_from_zero() {
        assert_eq!(parse_replicas(" 3 "), Ok(3));
        assert_eq!(parse_replicas("0"), Ok(0));
        assert_eq!(parse_replicas("+2"), Ok(2));
        assert_eq!(parse_replicas("2147483647"), Ok(2147483647));
        assert_eq!(
            parse_replicas("-1"),
            Err("replicas must be a whole number ≥ 0, not -1".into())
        );
        assert_eq!(
            parse_replicas("1.5"),
            Err("replicas must be a whole number ≥ 0, not \"1.5\"".into())
        );
        assert_eq!(
            parse_replicas(""),
            Err("enter the number of replicas: a whole number ≥ 0".into())
        );
        assert_eq!(
            parse_replicas("2147483648"),
            Err("replicas must be at most 2147483647, not 2147483648".into())
        );
        assert_eq!(
            parse_replicas("99999999999999999999"),
            Err("replicas must be at most 2147483647".into())
        );
    }
}
