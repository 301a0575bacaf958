//! The namespaces pane and the main table.

use crate::tui::app::{App, Focus};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, StatefulWidget, Table, TableState};

pub fn block(app: &App, title: String, focused: bool) -> Block<'static> {
    let (border, title_style) = if focused {
        (app.theme.ui.border_focused, app.theme.ui.title)
    } else {
        (app.theme.ui.border, app.theme.ui.border)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Line::styled(title, title_style))
}

fn selection(app: &App, focused: bool) -> Style {
    if focused {
        app.theme.ui.selection
    } else {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::DIM)
    }
}

/// `all` and each namespace with its pod count.
pub fn namespaces(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Focus::Namespaces;
    let height = area.height.saturating_sub(2) as usize;
    let offset = app.ns_cursor.saturating_sub(height.saturating_sub(1));
    let all = std::iter::once(("all".to_string(), app.pods.total()));
    let rows: Vec<Row> = all
        .chain(
            app.namespaces
                .keys()
                .map(|n| (n.clone(), app.pods.count_in(n))),
        )
        .skip(offset)
        .take(height.max(1))
        .map(|(name, count)| Row::new(vec![Cell::from(name), Cell::from(count.to_string())]))
        .collect();
    let table = Table::new(rows, [Constraint::Min(6), Constraint::Length(6)])
        .block(block(app, " Namespaces ".into(), focused))
        .row_highlight_style(selection(app, focused));
    let mut state = TableState::default().with_selected(Some(app.ns_cursor - offset));
    StatefulWidget::render(table, area, buf, &mut state);
}

/// Which columns fit in `width` (2 spaces between columns): columns are dropped from the
/// right, but NAME, READY and STATUS stay (NAME shrinks instead), as a narrow k9s does.
fn fit_columns(headers: &[String], widths: &[usize], width: usize) -> Vec<usize> {
    let essential = |h: &str| matches!(h, "NAME" | "READY" | "STATUS");
    let mut keep: Vec<usize> = (0..headers.len()).collect();
    let total = |keep: &[usize]| -> usize {
        keep.iter()
            .map(|&i| widths[i] + 2)
            .sum::<usize>()
            .saturating_sub(2)
    };
    while total(&keep) > width {
        let Some(pos) = keep.iter().rposition(|&i| !essential(&headers[i])) else {
            break;
        };
        keep.remove(pos);
    }
    keep
}

/// The main table: only the visible rows are built; columns are as wide as their widest
/// visible cell; STATUS is coloured; marked rows stand out.
pub fn table(app: &mut App, area: Rect, buf: &mut Buffer) {
    let focused = app.focus == Focus::Table;
    let height = area.height.saturating_sub(3) as usize;
    app.page_height = height.max(1);
    let offset = app.table.scroll_offset(app.table_offset, height);
    app.table_offset = offset;
    let now = app.now();
    let rows = app.table.visible_rows(offset, height, now);
    let headers = app.table.headers();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(&r.cells) {
            *w = (*w).max(c.chars().count()).min(60);
        }
    }
    let keep = fit_columns(&headers, &widths, area.width.saturating_sub(2) as usize);
    let pick = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, c)| c)
            .collect()
    };
    let widths: Vec<usize> = keep.iter().map(|&i| widths[i]).collect();
    let headers = pick(headers);
    let status_col = headers.iter().position(|h| h == "STATUS");
    let name_col = headers.iter().position(|h| h == "NAME");
    let constraints: Vec<Constraint> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if Some(i) == name_col {
                Constraint::Min(*w as u16)
            } else {
                Constraint::Length(*w as u16)
            }
        })
        .collect();
    let rows: Vec<crate::tui::table::Row> = rows
        .into_iter()
        .map(|mut r| {
            r.cells = pick(std::mem::take(&mut r.cells));
            r
        })
        .collect();
    let selected = rows.iter().position(|r| r.selected);
    let theme = &app.theme;
    let body: Vec<Row> = rows
        .into_iter()
        .map(|r| {
            let marked = r.marked;
            let cells = r.cells.into_iter().enumerate().map(|(i, c)| {
                let style = if Some(i) == status_col {
                    theme.status_style(&c)
                } else {
                    Style::default()
                };
                Cell::from(c).style(style)
            });
            let row = Row::new(cells);
            if marked {
                row.style(theme.table.marked)
            } else {
                row.style(theme.table.row)
            }
        })
        .collect();
    let kind = app.table.kind();
    let scope = if kind.namespaced {
        app.table.namespace().unwrap_or("all").to_string()
    } else {
        "cluster".into()
    };
    let mut title = format!(
        " {}({scope})[{}/{}] ",
        kind.plural,
        app.table.len(),
        app.table.total()
    );
    let filter = app.table.filter().source();
    if !filter.is_empty() {
        title.push_str(&format!("</{filter}> "));
    }
    let (column, descending) = app.table.sort();
    let _ = (column, descending);
    let header = Row::new(headers).style(theme.table.header.add_modifier(Modifier::BOLD));
    let table = Table::new(body, constraints)
        .header(header)
        .column_spacing(2)
        .block(block(app, title, focused))
        .row_highlight_style(selection(app, focused));
    let mut state = TableState::default().with_selected(selected);
    StatefulWidget::render(table, area, buf, &mut state);
}
