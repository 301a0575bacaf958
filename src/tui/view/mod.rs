//! Drawing the console from its state. The layout: a header line; a left column with the
//! namespaces and labels panes; the main table with the logs pane under it (pods); a status
//! line (command, filter, messages); the footer with the focused pane's keys. A zoomed pane
//! takes the whole body; overlays (dialogs, text, editor, help) draw last.
//!
//! `draw` takes the state mutably only to bring the main table's row list up to date and to
//! record page heights; what it shows is a function of the state.

mod chrome;
mod panes;
#[cfg(test)]
mod tests;

use crate::tui::app::{App, Focus, Mode};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};

/// Draws the logs pane; the event loop owns the logs (their tails run there).
pub trait LogsView {
    /// Draw into `area`.
    fn render(&self, area: Rect, buf: &mut Buffer, app: &App, focused: bool);
}

/// Where each pane went in the last frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    pub namespaces: Option<Rect>,
    pub labels: Option<Rect>,
    pub table: Option<Rect>,
    pub logs: Option<Rect>,
}

/// Width of the left column: the longest namespace name plus its count, within bounds.
fn left_width(app: &App, total: u16) -> u16 {
    let longest = app.namespaces.keys().map(|k| k.len()).max().unwrap_or(3) as u16;
    (longest + 12).clamp(22, 34).min(total / 3)
}

/// Rows of the logs pane in a body this high: about 40 %, at least 5.
pub fn logs_height(body: u16) -> u16 {
    (body * 2 / 5).max(5).min(body.saturating_sub(6))
}

/// Split the body into panes (zoom: the focused one gets everything).
pub fn layout(app: &App, body: Rect) -> Areas {
    let pods = app.showing_pods();
    if app.zoomed {
        let mut a = Areas::default();
        match app.focus {
            Focus::Namespaces => a.namespaces = Some(body),
            Focus::Labels if pods => a.labels = Some(body),
            Focus::Logs if pods => a.logs = Some(body),
            _ => a.table = Some(body),
        }
        return a;
    }
    let [left, right] = Layout::horizontal([
        Constraint::Length(left_width(app, body.width)),
        Constraint::Min(20),
    ])
    .areas(body);
    let (namespaces, labels) = if pods {
        let [ns, labels] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(left);
        (ns, Some(labels))
    } else {
        (left, None)
    };
    let (table, logs) = if pods {
        let [t, l] = Layout::vertical([
            Constraint::Min(5),
            Constraint::Length(logs_height(right.height)),
        ])
        .areas(right);
        (t, Some(l))
    } else {
        (right, None)
    };
    Areas {
        namespaces: Some(namespaces),
        labels,
        table: Some(table),
        logs,
    }
}

/// Draw a whole frame.
pub fn draw(f: &mut Frame, app: &mut App, logs: &dyn LogsView) -> Areas {
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let areas = layout(app, body);
    let now = app.now();
    if let Mode::Containers(v) = &mut app.mode {
        v.set_now(now);
    }
    let buf = f.buffer_mut();
    chrome::header(app, header, buf);
    if let Some(a) = areas.namespaces {
        panes::namespaces(app, a, buf);
    }
    if let Some(a) = areas.labels {
        let rows = app.pods.labels(app.namespace());
        app.labels
            .render(&rows, a, buf, &app.theme, app.focus == Focus::Labels);
    }
    if let Some(a) = areas.table {
        panes::table(app, a, buf);
    }
    if let Some(a) = areas.logs {
        logs.render(a, buf, app, app.focus == Focus::Logs);
    }
    chrome::status_line(app, status, buf);
    chrome::footer(app, footer, buf);
    match &app.mode {
        Mode::Confirm(d, _) => d.render(body, buf, &app.theme),
        Mode::Prompt(d, _) => d.render(body, buf, &app.theme),
        Mode::Text(t) => match &app.text_usage {
            Some(key) if body.height > 12 => {
                let [usage, text] =
                    Layout::vertical([Constraint::Length(4), Constraint::Min(3)]).areas(body);
                ratatui::widgets::Widget::render(ratatui::widgets::Clear, usage, buf);
                crate::tui::widgets::UsagePanel::render(&app.usage, key, usage, buf, &app.theme);
                t.render(text, buf, &app.theme);
            }
            _ => t.render(body, buf, &app.theme),
        },
        Mode::Containers(v) => v.render(areas.table.unwrap_or(body), buf, &app.theme),
        Mode::Forwards(v) => v.render(
            &app.forwards,
            now,
            areas.table.unwrap_or(body),
            buf,
            &app.theme,
        ),
        Mode::Edit(e) => e.render(body, buf, &app.theme),
        Mode::Help => chrome::help(app, body, buf),
        Mode::Normal | Mode::Command(_) | Mode::Filter(_) => {}
    }
    if let (Mode::Command(input) | Mode::Filter(input), Some(x)) = (&app.mode, Some(status.x)) {
        // The terminal cursor sits in the input line.
        let prefix = 1;
        let col = x + prefix + input.cursor() as u16;
        f.set_cursor_position((col.min(status.right().saturating_sub(1)), status.y));
    }
    areas
}
