//! The object editor: the object's YAML in a `ratatui_textarea::TextArea`, saved through
//! `client::edit::check_edit`, so the console refuses exactly what `peapod edit` refuses,
//! with the same messages. Problems are shown above the text and the editor stays open.

use super::{Outcome, key_label};
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::api::request::FieldValidation;
use crate::client::edit::{EditResult, check_edit, object_ref};
use crate::client::text::to_yaml;
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;
use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};
use ratatui_textarea::TextArea;
use serde_json::Value;

/// Error lines take at most this share of the editor's height (the rest is the text).
const MAX_ERROR_SHARE: u16 = 2;

pub struct Editor {
    kind: &'static KindInfo,
    original: Value,
    /// `deployment.apps/web`: the title and the `source` of positions in messages.
    object: String,
    textarea: TextArea<'static>,
    validation: FieldValidation,
    errors: Vec<String>,
    warnings: Vec<String>,
    hint: String,
}

impl std::fmt::Debug for Editor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Editor")
            .field("object", &self.object)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

impl Editor {
    /// Edit `original` (a stored object of `kind`) as YAML. The hint's keys come from the
    /// keymap's `editor` context; the text's styles from `theme` (line numbers in the border
    /// role, the cursor line in the selection role).
    pub fn new(kind: &'static KindInfo, original: Value, keymap: &Keymap, theme: &Theme) -> Editor {
        let object = object_ref(kind, original.name());
        let lines: Vec<String> = to_yaml(&original).lines().map(str::to_string).collect();
        let mut textarea = TextArea::new(lines);
        // YAML indents by two; a tab key inserts spaces (YAML forbids tabs in indentation).
        textarea.set_tab_length(2);
        textarea.set_hard_tab_indent(false);
        textarea.set_line_number_style(theme.ui.border);
        textarea.set_cursor_line_style(theme.ui.selection);
        textarea.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
        let save = key_label(Some(keymap), "editor", "editor.save", "ctrl-s");
        let cancel = key_label(Some(keymap), "editor", "editor.cancel", "esc");
        Editor {
            kind,
            original,
            object,
            textarea,
            validation: FieldValidation::Strict,
            errors: Vec::new(),
            warnings: Vec::new(),
            hint: format!("{save} save · {cancel} cancel"),
        }
    }

    /// How unknown fields are treated on save (`strict`, as `peapod edit`, by default).
    pub fn with_validation(mut self, validation: FieldValidation) -> Editor {
        self.validation = validation;
        self
    }

    /// `deployment.apps/web`.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// The text as edited.
    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    /// The problems shown above the text (`error: ...` lines as `peapod edit` prints them).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Warnings of the last successful save (unknown fields under `warn`), for the caller
    /// to show once the update went through.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Show problems from saving (the server refused the update: `Error from server
    /// (Conflict): ...`); the editor stays open with the user's text.
    pub fn set_errors(&mut self, lines: Vec<String>) {
        self.errors = lines;
    }

    /// The keymap context of the editor's keys.
    pub fn context(&self) -> &'static str {
        "editor"
    }

    pub fn on_action(&mut self, action: &str) -> Outcome {
        match action {
            "editor.save" => self.save(),
            "editor.cancel" => Outcome::Cancelled,
            _ => Outcome::Ignored,
        }
    }

    /// Every key the keymap did not match edits the text.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        if key.kind == KeyEventKind::Release {
            return Outcome::Ignored;
        }
        self.textarea.input(key);
        Outcome::Consumed
    }

    fn save(&mut self) -> Outcome {
        let text = self.text();
        match check_edit(
            self.kind,
            &self.original,
            &text,
            &self.object,
            self.validation,
        ) {
            Ok(EditResult::Unchanged) => {
                self.errors.clear();
                Outcome::Unchanged
            }
            Ok(EditResult::Changed { object, warnings }) => {
                self.errors.clear();
                self.warnings = warnings;
                Outcome::Save(object)
            }
            Err(e) => {
                self.errors = e.lines();
                Outcome::Consumed
            }
        }
    }

    fn title(&self, theme: &Theme) -> Line<'static> {
        Line::from(vec![
            Span::styled(format!(" edit {} ", self.object), theme.ui.title),
            Span::styled(format!("· {} ", self.hint), theme.ui.footer),
        ])
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        Clear.render(area, buf);
        let block = Block::bordered()
            .border_style(theme.ui.border_focused)
            .title(self.title(theme));
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.width == 0 || inner.height == 0 {
            return;
        }
        // Error lines first (cut to the width: each is one line), at most half the height.
        let shown = (self.errors.len() as u16).min(inner.height / MAX_ERROR_SHARE);
        let error_style = theme.status_roles.failed.add_modifier(Modifier::BOLD);
        for (i, e) in self.errors.iter().take(shown as usize).enumerate() {
            buf.set_stringn(
                inner.x,
                inner.y + i as u16,
                e,
                inner.width as usize,
                error_style,
            );
        }
        let text_area = Rect {
            y: inner.y + shown,
            height: inner.height - shown,
            ..inner
        };
        // `&TextArea` renders without `&mut`: it records its scroll position internally.
        (&self.textarea).render(text_area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kinds;
    use crossterm::event::{KeyCode, KeyModifiers};
    use serde_json::json;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                            "uid": "u1", "generation": 1,
                            "creationTimestamp": "2024-01-01T00:00:00Z"},
               "spec": {"replicas": 2,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                                     "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    }

    fn editor() -> Editor {
        let kind = kinds::lookup("deployments").unwrap();
        Editor::new(
            kind,
            deployment(),
            &Keymap::default_map(),
            &Theme::default_theme(),
        )
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    /// Put the cursor at the end of the first line containing `needle`.
    fn goto(e: &mut Editor, needle: &str) {
        let row = e
            .textarea
            .lines()
            .iter()
            .position(|l| l.contains(needle))
            .unwrap();
        e.textarea
            .move_cursor(ratatui_textarea::CursorMove::Jump(row as u16, 0));
        e.textarea.move_cursor(ratatui_textarea::CursorMove::End);
    }

    fn type_text(e: &mut Editor, s: &str) {
        for c in s.chars() {
            assert_eq!(e.on_key(key(KeyCode::Char(c))), Outcome::Consumed);
        }
    }

    #[test]
    fn saving_without_changes_is_unchanged() {
        let mut e = editor();
        assert_eq!(e.object(), "deployment.apps/web");
        assert_eq!(e.context(), "editor");
        assert_eq!(e.on_action("editor.save"), Outcome::Unchanged);
        // Typing and deleting again is no change either.
        type_text(&mut e, "x");
        e.on_key(key(KeyCode::Backspace));
        assert_eq!(e.on_action("editor.save"), Outcome::Unchanged);
        assert_eq!(e.on_action("editor.cancel"), Outcome::Cancelled);
        assert_eq!(e.on_action("row.down"), Outcome::Ignored);
    }

    #[test]
    fn a_good_edit_returns_the_object() {
        let mut e = editor();
        goto(&mut e, "replicas: 2");
        e.on_key(key(KeyCode::Backspace));
        type_text(&mut e, "5");
        let Outcome::Save(obj) = e.on_action("editor.save") else {
            panic!("{:?}", e.errors())
        };
        assert_eq!(obj["spec"]["replicas"], 5);
        assert_eq!(obj["metadata"]["resourceVersion"], "7");
        assert!(e.errors().is_empty());
    }

    #[test]
    fn a_bad_edit_shows_the_cli_messages_and_stays_open() {
        let mut e = editor();
        goto(&mut e, "replicas: 2");
        e.on_key(key(KeyCode::Backspace));
        type_text(&mut e, "-1");
        assert_eq!(e.on_action("editor.save"), Outcome::Consumed);
        let errors = e.errors().to_vec();
        assert_eq!(
            errors.last().map(String::as_str),
            Some("error: deployment.apps/web is invalid")
        );
        assert!(
            errors[0].starts_with("error: deployment.apps/web:")
                && errors[0].contains("spec.replicas"),
            "{errors:?}"
        );
        // The same lines as the shared check gives the CLI.
        let kind = kinds::lookup("deployments").unwrap();
        let cli = check_edit(
            kind,
            &deployment(),
            &e.text(),
            "deployment.apps/web",
            FieldValidation::Strict,
        )
        .unwrap_err();
        assert_eq!(errors, cli.lines());
        // Fixing it saves.
        e.on_key(key(KeyCode::Backspace));
        e.on_key(key(KeyCode::Backspace));
        type_text(&mut e, "3");
        assert!(matches!(e.on_action("editor.save"), Outcome::Save(_)));
        assert!(e.errors().is_empty());
    }

    #[test]
    fn renaming_is_refused() {
        let mut e = editor();
        goto(&mut e, "name: web");
        type_text(&mut e, "2");
        assert_eq!(e.on_action("editor.save"), Outcome::Consumed);
        assert_eq!(
            e.errors(),
            [
                "error: the kind, name and namespace of deployment.apps/web cannot be changed by edit"
            ]
        );
    }

    #[test]
    fn rendering_any_size_does_not_panic_nor_change_the_editor() {
        let theme = Theme::default_theme();
        let mut e = editor();
        e.set_errors(vec!["error: one".into(), "error: two".into()]);
        let before = e.text();
        for (w, h) in [(0, 0), (1, 1), (2, 3), (10, 4), (80, 24)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            e.render(area, &mut buf, &theme);
        }
        assert_eq!(e.text(), before);
        assert_eq!(e.errors().len(), 2);
    }
}
