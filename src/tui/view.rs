//! Drawing: header, namespaces pane, pods pane, footer. Only visible rows are built.

use crate::api::kinds;
use crate::api::table;
use crate::tui::state::{App, Focus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

fn block(title: String, focused: bool, app: &App) -> Block<'static> {
    let color = if focused {
        app.theme.focused
    } else {
        app.theme.unfocused
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(color))
        .title(title)
}

/// The footer lists the keys of the focused pane, from the keymap in use.
fn footer_text(app: &App) -> String {
    let items = [
        ("focus.next", "switch pane"),
        ("row.up", "up"),
        ("row.down", "down"),
        ("namespace.all", "all namespaces"),
        ("app.quit", "quit"),
    ];
    let keys = items
        .iter()
        .filter_map(|(action, label)| {
            app.keymap
                .key_for("table", action)
                .map(|k| format!("<{k}> {label}"))
        })
        .collect::<Vec<_>>()
        .join("  ");
    match (&app.warning, app.keys.pending()) {
        (Some(w), _) => format!("warning: {w}"),
        (None, p) if !p.is_empty() => format!("{} …", crate::tui::keymap::seq_label(p)),
        _ => keys,
    }
}

/// Rows of the logs pane (with its border) in a body this high: about 40%, at least 5.
pub fn logs_pane_height(body: u16) -> u16 {
    (body * 2 / 5).max(5).min(body.saturating_sub(5))
}

/// Lines of log text the pane shows for a terminal this high (header and footer take one
/// row each, the border two).
pub fn log_lines(terminal_height: u16) -> usize {
    logs_pane_height(terminal_height.saturating_sub(2)).saturating_sub(2) as usize
}

fn draw_logs(f: &mut Frame, app: &App, area: ratatui::layout::Rect) {
    let source = app
        .log_source
        .as_ref()
        .map(|s| format!("{}/{}", s.namespace, s.pod))
        .unwrap_or_else(|| "no pod selected".to_string());
    let styles = crate::tui::logs::LogStyles {
        // The border shows focus like the other panes.
        border: Style::default().fg(if app.focus == Focus::Logs {
            app.theme.focused
        } else {
            app.theme.unfocused
        }),
        ..Default::default()
    };
    f.render_widget(
        crate::tui::logs::LogsPane::new(&app.logs, &app.log_view, &source).styles(styles),
        area,
    );
}

pub fn draw(f: &mut Frame, app: &App) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let ns_label = app.namespace().unwrap_or("all").to_string();
    let pods = app.visible_pods();
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                " peapod ",
                Style::default()
                    .fg(app.theme.header_fg)
                    .bg(app.theme.header_bg),
            ),
            Span::raw(format!(
                " {}  ns: {}  pods: {}/{}  v{}",
                app.endpoint,
                ns_label,
                pods.len(),
                app.pods.len(),
                env!("CARGO_PKG_VERSION")
            )),
        ])),
        header,
    );
    let ns_width = app
        .namespaces
        .keys()
        .map(|k| k.len())
        .max()
        .unwrap_or(3)
        .clamp(8, 30) as u16
        + 10;
    let [ns_area, right] =
        Layout::horizontal([Constraint::Length(ns_width), Constraint::Min(20)]).areas(body);
    let [pods_area, logs_area] = Layout::vertical([
        Constraint::Min(5),
        Constraint::Length(logs_pane_height(right.height)),
    ])
    .areas(right);
    draw_logs(f, app, logs_area);

    let mut ns_rows = vec![Row::new(vec![
        Cell::from("all"),
        Cell::from(app.pods.len().to_string()),
    ])];
    for name in app.namespaces.keys() {
        ns_rows.push(Row::new(vec![
            Cell::from(name.clone()),
            Cell::from(app.pod_count(name).to_string()),
        ]));
    }
    let ns_table = Table::new(ns_rows, [Constraint::Min(6), Constraint::Length(6)])
        .block(block(
            " Namespaces ".into(),
            app.focus == Focus::Namespaces,
            app,
        ))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut ns_state = TableState::default().with_selected(Some(app.ns_index));
    f.render_stateful_widget(ns_table, ns_area, &mut ns_state);

    let Some(kind) = kinds::lookup("pods") else {
        return;
    };
    let all = app.namespace().is_none();
    let cols: Vec<&table::Column> = table::columns(kind)
        .iter()
        .filter(|c| !c.wide_only)
        .collect();
    let mut headers: Vec<String> = cols.iter().map(|c| c.header()).collect();
    if all {
        headers.insert(0, "NAMESPACE".to_string());
    }
    // Only the rows that fit are formatted.
    let height = pods_area.height.saturating_sub(3) as usize;
    let offset = app.pod_index.saturating_sub(height.saturating_sub(1));
    let now = jiff::Timestamp::now();
    let status_col = headers.iter().position(|h| h == "STATUS");
    let rows: Vec<Row> = pods
        .iter()
        .skip(offset)
        .take(height.max(1))
        .map(|p| {
            let mut cells = table::row(kind, p, now);
            cells.truncate(cols.len());
            if all {
                cells.insert(
                    0,
                    p["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                );
            }
            Row::new(cells.into_iter().enumerate().map(|(i, c)| {
                if Some(i) == status_col {
                    let color = app.theme.status(&c);
                    Cell::from(c).style(Style::default().fg(color))
                } else {
                    Cell::from(c)
                }
            }))
        })
        .collect();
    let widths: Vec<Constraint> = headers
        .iter()
        .map(|h| match h.as_str() {
            "NAME" => Constraint::Min(20),
            "NAMESPACE" => Constraint::Length(16),
            _ => Constraint::Length(h.len().max(8) as u16 + 2),
        })
        .collect();
    let title = format!(" Pods ({}) [{}] ", ns_label, pods.len());
    let table = Table::new(rows, widths)
        .header(Row::new(headers.clone()).style(Style::default().add_modifier(Modifier::BOLD)))
        .block(block(title, app.focus == Focus::Pods, app))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(Some(app.pod_index.saturating_sub(offset)));
    f.render_stateful_widget(table, pods_area, &mut state);

    f.render_widget(
        Paragraph::new(format!(" {}", footer_text(app)))
            .style(Style::default().fg(app.theme.footer)),
        footer,
    );
}
