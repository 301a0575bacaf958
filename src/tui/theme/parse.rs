//! Theme files: `[section] role = "colour"` or `role = { fg = "...", bg = "...", bold = true }`.
//! Colours are ratatui names (black, red, ..., darkgray, lightred, ..., white), `#rrggbb`, an
//! index 0-255, or `default`/`reset` for the terminal's own colour.

use super::Theme;
use crate::tui::config::{Problem, line_of, parse_doc, show_value};
use ratatui::style::{Color, Modifier, Style};
use std::str::FromStr;
use toml::de::{DeTable, DeValue};

const SECTIONS: &[(&str, &[&str])] = &[
    (
        "ui",
        &[
            "header",
            "footer",
            "border",
            "border_focused",
            "title",
            "selection",
            "dialog",
        ],
    ),
    ("table", &["header", "row", "row_alt", "marked"]),
    (
        "status",
        &[
            "running",
            "pending",
            "succeeded",
            "failed",
            "terminating",
            "crashloop",
            "unknown",
        ],
    ),
    (
        "logs",
        &[
            "timestamp",
            "stderr",
            "containers",
            "search_match",
            "restart_marker",
        ],
    ),
    ("yaml", &["key", "string", "number", "bool", "comment"]),
];

fn slot<'a>(t: &'a mut Theme, section: &str, role: &str) -> Option<&'a mut Style> {
    Some(match (section, role) {
        ("ui", "header") => &mut t.ui.header,
        ("ui", "footer") => &mut t.ui.footer,
        ("ui", "border") => &mut t.ui.border,
        ("ui", "border_focused") => &mut t.ui.border_focused,
        ("ui", "title") => &mut t.ui.title,
        ("ui", "selection") => &mut t.ui.selection,
        ("ui", "dialog") => &mut t.ui.dialog,
        ("table", "header") => &mut t.table.header,
        ("table", "row") => &mut t.table.row,
        ("table", "row_alt") => &mut t.table.row_alt,
        ("table", "marked") => &mut t.table.marked,
        ("status", "running") => &mut t.status_roles.running,
        ("status", "pending") => &mut t.status_roles.pending,
        ("status", "succeeded") => &mut t.status_roles.succeeded,
        ("status", "failed") => &mut t.status_roles.failed,
        ("status", "terminating") => &mut t.status_roles.terminating,
        ("status", "crashloop") => &mut t.status_roles.crashloop,
        ("status", "unknown") => &mut t.status_roles.unknown,
        ("logs", "timestamp") => &mut t.logs.timestamp,
        ("logs", "stderr") => &mut t.logs.stderr,
        ("logs", "search_match") => &mut t.logs.search_match,
        ("logs", "restart_marker") => &mut t.logs.restart_marker,
        ("yaml", "key") => &mut t.yaml.key,
        ("yaml", "string") => &mut t.yaml.string,
        ("yaml", "number") => &mut t.yaml.number,
        ("yaml", "bool") => &mut t.yaml.bool,
        ("yaml", "comment") => &mut t.yaml.comment,
        _ => return None,
    })
}

/// A colour name; `default` is the terminal's own colour.
pub fn color(s: &str) -> Option<Color> {
    match s.trim().to_ascii_lowercase().as_str() {
        "default" | "reset" => Some(Color::Reset),
        other => Color::from_str(other).ok(),
    }
}

fn style(v: &DeValue<'_>) -> Result<Style, String> {
    const HELP: &str = "not a colour name, #rrggbb, 0-255 or default";
    match v {
        DeValue::String(s) => color(s)
            .map(|c| Style::default().fg(c))
            .ok_or_else(|| format!("{:?} is {HELP}", s.as_ref())),
        DeValue::Table(t) => {
            let mut st = Style::default();
            for (k, v) in t.iter() {
                let k = k.get_ref().as_ref();
                match (k, v.get_ref()) {
                    ("fg" | "bg", DeValue::String(s)) => {
                        let c =
                            color(s).ok_or_else(|| format!("{k} = {:?} is {HELP}", s.as_ref()))?;
                        st = if k == "fg" { st.fg(c) } else { st.bg(c) };
                    }
                    (m, DeValue::Boolean(on)) if modifier(m).is_some() => {
                        let m = modifier(m).unwrap_or(Modifier::empty());
                        st = if *on {
                            st.add_modifier(m)
                        } else {
                            st.remove_modifier(m)
                        };
                    }
                    (k, v) => {
                        return Err(format!(
                            "{k} = {}: style keys are fg, bg (colours) and bold, dim, italic, \
                             underline, reversed (true/false)",
                            show_value(v)
                        ));
                    }
                }
            }
            Ok(st)
        }
        other => Err(format!(
            "{} is {HELP}, nor a style table",
            show_value(other)
        )),
    }
}

fn modifier(name: &str) -> Option<Modifier> {
    Some(match name {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underline" | "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        _ => return None,
    })
}

/// Parse `text` over `base`: roles the file sets replace base's; every problem is reported.
pub fn parse(text: &str, file: &str, base: Theme) -> Result<Theme, Vec<Problem>> {
    let doc: DeTable<'_> = parse_doc(text, file).map_err(|p| vec![p])?;
    let mut t = base;
    let mut problems = Vec::new();
    for (sec, body) in doc.iter() {
        let section = sec.get_ref().as_ref();
        let Some((_, roles)) = SECTIONS.iter().find(|(s, _)| *s == section) else {
            let names: Vec<&str> = SECTIONS.iter().map(|(s, _)| *s).collect();
            problems.push(Problem::error(
                file,
                Some(line_of(text, sec.span().start)),
                format!(
                    "[{section}]: unknown section; sections are {}",
                    names.join(", ")
                ),
            ));
            continue;
        };
        let DeValue::Table(body) = body.get_ref() else {
            problems.push(Problem::error(
                file,
                Some(line_of(text, sec.span().start)),
                format!("{section} must be a [{section}] table of roles"),
            ));
            continue;
        };
        for (k, v) in body.iter() {
            let role = k.get_ref().as_ref();
            let line = Some(line_of(text, k.span().start));
            let mut bad = |msg: String| {
                problems.push(Problem::error(
                    file,
                    line,
                    format!("[{section}] {role}: {msg}"),
                ))
            };
            if !roles.contains(&role) {
                bad(format!("unknown role; roles are {}", roles.join(", ")));
                continue;
            }
            if role == "containers" {
                match v.get_ref() {
                    DeValue::Array(items) if !items.is_empty() => {
                        let styles: Result<Vec<Style>, String> =
                            items.iter().map(|i| style(i.get_ref())).collect();
                        match styles {
                            Ok(s) => t.logs.containers = s,
                            Err(e) => bad(e),
                        }
                    }
                    _ => bad("must be a non-empty list of colours".to_string()),
                }
                continue;
            }
            match (style(v.get_ref()), slot(&mut t, section, role)) {
                (Ok(s), Some(slot)) => *slot = s,
                (Err(e), _) => bad(e),
                (Ok(_), None) => {}
            }
        }
    }
    t.derive_flat();
    // The document is read in key order; report in file order.
    problems.sort_by_key(|p| p.line);
    if problems.is_empty() {
        Ok(t)
    } else {
        Err(problems)
    }
}
