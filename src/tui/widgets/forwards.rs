//! The console's active port-forwards (`:pf`, like k9s' port-forwards view): one row per
//! forward with its object, pod, ports, listen addresses and connection count. The rows live
//! in the app (the forwards run in the event loop); this view holds the cursor and draws.
//!
//! Keys are looked up in [`CONTEXT`] (`table.portforwards`, falling back to `table`), so
//! ctrl-d (`resource.delete`) stops the selected forward and esc closes the view.

use crate::api::table::human_duration_between;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Row, StatefulWidget, Table, TableState, Widget};

/// The keymap context of the view.
pub const CONTEXT: &str = "table.portforwards";

pub const HEADERS: [&str; 7] = [
    "NAMESPACE",
    "NAME",
    "POD",
    "PORTS",
    "ADDRESS",
    "CONNS",
    "AGE",
];

/// One running (or starting) forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRow {
    pub id: u64,
    pub namespace: String,
    /// `pod/web`, `svc/web`.
    pub object: String,
    /// The pod traffic goes to (empty while starting).
    pub pod: String,
    /// `8080:80`, several separated by commas.
    pub ports: String,
    /// `127.0.0.1, ::1`.
    pub addresses: String,
    pub connections: u64,
    pub started: jiff::Timestamp,
}

/// What the caller should do after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardsAction {
    None,
    /// Stop the forward with this id.
    Stop(u64),
    Back,
}

#[derive(Debug, Default)]
pub struct ForwardsView {
    selected: usize,
}

impl ForwardsView {
    pub fn context(&self) -> &'static str {
        CONTEXT
    }

    pub fn selected_index(&self) -> usize {
        self.selected
    }

    /// Apply a keymap action to the view over `rows`.
    pub fn on_action(&mut self, action: &str, rows: &[ForwardRow]) -> ForwardsAction {
        let last = rows.len().saturating_sub(1);
        match action {
            "row.up" => self.selected = self.selected.saturating_sub(1),
            "row.down" => self.selected = (self.selected + 1).min(last),
            "row.first" => self.selected = 0,
            "row.last" => self.selected = last,
            "resource.delete" => {
                if let Some(r) = rows.get(self.selected) {
                    return ForwardsAction::Stop(r.id);
                }
            }
            "view.back" => return ForwardsAction::Back,
            _ => {}
        }
        ForwardsAction::None
    }

    /// Keeps the cursor on a row after rows went away.
    pub fn clamp(&mut self, rows: usize) {
        self.selected = self.selected.min(rows.saturating_sub(1));
    }

    /// A bordered table titled ` portforwards[N] `; an empty list says how to add one.
    pub fn render(
        &self,
        rows: &[ForwardRow],
        now: jiff::Timestamp,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
    ) {
        Clear.render(area, buf);
        let block = Block::bordered()
            .border_style(theme.ui.border_focused)
            .title(Line::styled(
                format!(" portforwards[{}] ", rows.len()),
                theme.ui.title,
            ));
        if rows.is_empty() {
            let inner = block.inner(area);
            block.render(area, buf);
            Line::styled(
                "no port-forwards: shift-f on a pod or service starts one",
                theme.table.row,
            )
            .render(inner, buf);
            return;
        }
        let cells: Vec<[String; 7]> = rows
            .iter()
            .map(|r| {
                [
                    r.namespace.clone(),
                    r.object.clone(),
                    r.pod.clone(),
                    r.ports.clone(),
                    r.addresses.clone(),
                    r.connections.to_string(),
                    human_duration_between(r.started, now),
                ]
            })
            .collect();
        let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.len()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count()).min(40);
            }
        }
        let header = Row::new(HEADERS).style(theme.table.header.add_modifier(Modifier::BOLD));
        let body: Vec<Row> = cells
            .into_iter()
            .map(|c| Row::new(c).style(theme.table.row))
            .collect();
        let table = Table::new(body, widths.iter().map(|w| Constraint::Length(*w as u16)))
            .header(header)
            .column_spacing(2)
            .block(block)
            .row_highlight_style(theme.ui.selection);
        let mut state = TableState::default().with_selected(Some(self.selected));
        StatefulWidget::render(table, area, buf, &mut state);
    }
}
