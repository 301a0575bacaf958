//! The header, the status line, the footer and the help screen.

use crate::tui::app::{App, Focus, Mode};
use crate::tui::keymap::{self, action_label};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

/// `peapod │ embedded /var/lib/peapod │ node: n1 │ ns: all │ sel: app=web │ pods 3/40 │ v0.1`
pub fn header(app: &mut App, area: Rect, buf: &mut Buffer) {
    let ns = app.namespace().unwrap_or("all").to_string();
    let node = match app.nodes.len() {
        0 => "none".to_string(),
        1 => app.nodes.keys().next().cloned().unwrap_or_default(),
        n => format!("{n} nodes"),
    };
    let shown = app.table.len();
    let total = app.table.total();
    let mut parts = vec![
        app.session.endpoint.clone(),
        format!("node: {node}"),
        format!("ns: {ns}"),
    ];
    if let Some(sel) = app.pods_table().label_selector().map(str::to_string) {
        parts.push(format!("sel: {sel}"));
    }
    parts.push(format!("{} {shown}/{total}", app.table.kind().plural));
    parts.push(format!("pods: {}", app.pods.total()));
    if app.session.readonly {
        parts.push("READ-ONLY".into());
    }
    parts.push(app.session.version.clone());
    let line = Line::from(vec![
        Span::styled(" peapod ", app.theme.ui.header.add_modifier(Modifier::BOLD)),
        Span::raw(" "),
        Span::raw(parts.join(" │ ")),
    ]);
    Paragraph::new(line).render(area, buf);
}

/// The line above the footer: the `:` or `/` input, else a message, else the table's
/// filter and sort.
pub fn status_line(app: &App, area: Rect, buf: &mut Buffer) {
    let line = match &app.mode {
        Mode::Command(input) => {
            let mut spans = vec![Span::raw(format!(":{}", input.text()))];
            if input.candidates().len() > 1 {
                let hint = input.candidates().join("  ");
                spans.push(Span::styled(
                    format!("    {hint}"),
                    Style::default().add_modifier(Modifier::DIM),
                ));
            }
            Line::from(spans)
        }
        Mode::Filter(input) => Line::from(format!("/{}", input.text())),
        _ => match &app.flash {
            Some(f) if f.error => Line::from(Span::styled(
                format!(" {}", f.text),
                app.theme.status_roles.failed,
            )),
            Some(f) => Line::from(format!(" {}", f.text)),
            None => {
                let filter = app.table.filter().source();
                if filter.is_empty() {
                    Line::default()
                } else {
                    Line::from(Span::styled(
                        format!(" filter: /{filter}   (esc clears)"),
                        Style::default().add_modifier(Modifier::DIM),
                    ))
                }
            }
        },
    };
    Paragraph::new(line).render(area, buf);
}

/// The keys of the focused pane, from the keymap in use (readonly hides mutating ones).
pub fn footer(app: &App, area: Rect, buf: &mut Buffer) {
    let context = app.context();
    let text = if !app.keys.pending().is_empty() {
        format!(" {} …", keymap::seq_label(app.keys.pending()))
    } else {
        // The side panes have few keys of their own: show those and the global ones.
        let mut entries: Vec<(String, String)> = Vec::new();
        let side = matches!(app.mode, Mode::Normal)
            && matches!(app.focus, Focus::Namespaces | Focus::Labels);
        if side {
            let own: &[(&str, &str)] = if app.focus == Focus::Labels {
                &[("mark.toggle", "pick"), ("mark.clear", "clear picks")]
            } else {
                &[("row.open", "show pods")]
            };
            for (action, label) in own {
                if let Some(k) = app.keymap.keys_for("table", action).first() {
                    entries.push((keymap::seq_label(k), label.to_string()));
                }
            }
        }
        entries.extend(app.keymap.footer(if side { "global" } else { &context }));
        let items: Vec<String> = entries
            .into_iter()
            .filter(|(_, label)| {
                !app.session.readonly
                    || !keymap::ACTIONS
                        .iter()
                        .any(|(a, l)| l == label && keymap::is_mutating(a))
            })
            .map(|(k, label)| format!("<{k}> {label}"))
            .collect();
        format!(" {}", items.join("  "))
    };
    Paragraph::new(text)
        .style(app.theme.ui.footer)
        .render(area, buf);
}

/// `?`: every binding of the focused context and the global ones, in columns.
pub fn help(app: &App, area: Rect, buf: &mut Buffer) {
    let context = app.context();
    let mut lines: Vec<Line> = vec![Line::from(Span::styled(
        format!("Keys in {context} (any key closes)"),
        app.theme.ui.title,
    ))];
    let effective = app.keymap.effective(&context);
    let mut entries: Vec<(String, &str)> = effective
        .iter()
        .filter(|(_, (action, b))| {
            !(b.is_noop() || app.session.readonly && keymap::is_mutating(action))
        })
        .map(|(seq, (action, _))| (keymap::seq_label(seq), *action))
        .collect();
    entries.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    let col_width = 30usize;
    let cols = ((area.width as usize).saturating_sub(4) / col_width).max(1);
    for chunk in entries.chunks(cols) {
        let text: String = chunk
            .iter()
            .map(|(k, a)| format!("{:<col_width$}", format!("{k:>10}  {}", action_label(a))))
            .collect();
        lines.push(Line::from(text));
    }
    lines.push(Line::default());
    lines.push(Line::from(
        ":pods :deploy :rs :rc :sts :ds :job :cj :svc :ep :cm :secret :ns :node :events :pvc :pv · \
         :ns NAME · :pods app=web · :apply PATH · :create ns NAME · :label k=v k- · :q",
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x,
        y: area.y + area.height.saturating_sub(height) / 2,
        width: area.width,
        height,
    };
    Clear.render(popup, buf);
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Help ")
                .border_style(app.theme.ui.border_focused),
        )
        .style(app.theme.ui.dialog)
        .render(popup, buf);
}
