//! Themes: semantic roles (ui, table, pod status, logs, yaml) mapped to styles. Shipped themes
//! (`themes/dark.toml`, the default; `light.toml`; `high-contrast.toml`, colour-blind safe) are
//! compiled in; a theme file path works too. `default`/`reset` as a colour keeps the
//! terminal's own colour (its background, typically). Under `NO_COLOR` the console uses
//! [`Theme::monochrome`], which has modifiers only.

mod parse;

use ratatui::style::{Color, Modifier, Style};
use std::path::Path;

pub const DARK: &str = include_str!("../../../themes/dark.toml");
pub const LIGHT: &str = include_str!("../../../themes/light.toml");
pub const HIGH_CONTRAST: &str = include_str!("../../../themes/high-contrast.toml");
/// The default theme's text (dark).
pub const DEFAULT: &str = DARK;

/// Shipped themes: (name, file for messages, text). `default` is an alias of dark.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    ("dark", "themes/dark.toml", DARK),
    ("default", "themes/dark.toml", DARK),
    ("light", "themes/light.toml", LIGHT),
    ("high-contrast", "themes/high-contrast.toml", HIGH_CONTRAST),
];

/// Frame of the console.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UiRoles {
    pub header: Style,
    pub footer: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub selection: Style,
    pub dialog: Style,
}

/// Resource tables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableRoles {
    pub header: Style,
    pub row: Style,
    pub row_alt: Style,
    pub marked: Style,
}

/// Pod STATUS cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusRoles {
    pub running: Style,
    pub pending: Style,
    pub succeeded: Style,
    pub failed: Style,
    pub terminating: Style,
    pub crashloop: Style,
    pub unknown: Style,
}

/// The logs pane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogRoles {
    pub timestamp: Style,
    pub stderr: Style,
    /// Prefix colours of containers in all-containers mode, used in turn.
    pub containers: Vec<Style>,
    pub search_match: Style,
    pub restart_marker: Style,
}

/// YAML highlighting.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct YamlRoles {
    pub key: Style,
    pub string: Style,
    pub number: Style,
    pub bool: Style,
    pub comment: Style,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub ui: UiRoles,
    pub table: TableRoles,
    pub status_roles: StatusRoles,
    pub logs: LogRoles,
    pub yaml: YamlRoles,
    // The first console's flat colours, derived from the roles (kept for its views).
    pub focused: Color,
    pub unfocused: Color,
    pub header_fg: Color,
    pub header_bg: Color,
    pub footer: Color,
    pub status_ok: Color,
    pub status_waiting: Color,
    pub status_failed: Color,
}

impl Default for Theme {
    /// The dark theme (the shipped file is tested to parse without problems).
    fn default() -> Self {
        parse::parse(DARK, "themes/dark.toml", Theme::empty("dark")).unwrap_or_else(|_| {
            let mut t = Theme::empty("dark");
            t.derive_flat();
            t
        })
    }
}

impl Theme {
    /// Every role unstyled (the terminal's own colours).
    fn empty(name: &str) -> Theme {
        Theme {
            name: name.to_string(),
            ui: UiRoles::default(),
            table: TableRoles::default(),
            status_roles: StatusRoles::default(),
            logs: LogRoles::default(),
            yaml: YamlRoles::default(),
            focused: Color::Reset,
            unfocused: Color::Reset,
            header_fg: Color::Reset,
            header_bg: Color::Reset,
            footer: Color::Reset,
            status_ok: Color::Reset,
            status_waiting: Color::Reset,
            status_failed: Color::Reset,
        }
    }

    /// Parse a theme file over the dark theme: roles it leaves out keep dark's style.
    pub fn parse(text: &str, file: &str) -> Result<Theme, Vec<crate::tui::config::Problem>> {
        parse::parse(text, file, Theme::default())
    }

    pub fn default_theme() -> Theme {
        Theme::default()
    }

    /// A shipped theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, file, text) = BUILTIN.iter().find(|(n, _, _)| *n == name)?;
        let mut t = parse::parse(text, file, Theme::empty(name)).ok()?;
        t.name = name.to_string();
        Some(t)
    }

    /// A shipped name, else a file (relative paths from `base`). Returns the theme and the
    /// file it came from.
    pub fn load(
        spec: &str,
        base: &Path,
    ) -> Result<(Theme, String), Vec<crate::tui::config::Problem>> {
        if let Some((_, file, text)) = BUILTIN.iter().find(|(n, _, _)| *n == spec) {
            let mut t = parse::parse(text, file, Theme::empty(spec))?;
            t.name = spec.to_string();
            return Ok((t, file.to_string()));
        }
        let path = base.join(spec);
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _, _)| *n).collect();
            vec![crate::tui::config::Problem::error(
                &file,
                None,
                format!(
                    "cannot read theme: {e} (shipped themes: {})",
                    names.join(", ")
                ),
            )]
        })?;
        let mut t = Theme::parse(&text, &file)?;
        t.name = spec.to_string();
        Ok((t, file))
    }

    /// No colour at all (NO_COLOR): structure shown with bold, reverse, underline, dim.
    pub fn monochrome() -> Theme {
        let s = Style::default();
        let b = s.add_modifier(Modifier::BOLD);
        let r = s.add_modifier(Modifier::REVERSED);
        let u = s.add_modifier(Modifier::UNDERLINED);
        let d = s.add_modifier(Modifier::DIM);
        let mut t = Theme::empty("monochrome");
        t.ui = UiRoles {
            header: r,
            footer: d,
            border: d,
            border_focused: b,
            title: b,
            selection: r,
            dialog: b,
        };
        t.table = TableRoles {
            header: b.add_modifier(Modifier::UNDERLINED),
            row: s,
            row_alt: s,
            marked: b.add_modifier(Modifier::ITALIC),
        };
        t.status_roles = StatusRoles {
            running: s,
            pending: d,
            succeeded: d,
            failed: b,
            terminating: d.add_modifier(Modifier::ITALIC),
            crashloop: b.add_modifier(Modifier::UNDERLINED),
            unknown: u,
        };
        t.logs = LogRoles {
            timestamp: d,
            stderr: b,
            containers: vec![b, u, s.add_modifier(Modifier::ITALIC)],
            search_match: r,
            restart_marker: b.add_modifier(Modifier::REVERSED),
        };
        t.yaml = YamlRoles {
            key: b,
            string: s,
            number: s,
            bool: s,
            comment: d,
        };
        t.derive_flat();
        t
    }

    /// Fill the flat colours the first console reads from the roles.
    fn derive_flat(&mut self) {
        let fg = |s: &Style| s.fg.unwrap_or(Color::Reset);
        self.focused = fg(&self.ui.border_focused);
        self.unfocused = fg(&self.ui.border);
        self.header_fg = fg(&self.ui.header);
        self.header_bg = self.ui.header.bg.unwrap_or(Color::Reset);
        self.footer = fg(&self.ui.footer);
        self.status_ok = fg(&self.status_roles.running);
        self.status_waiting = fg(&self.status_roles.pending);
        self.status_failed = fg(&self.status_roles.failed);
    }

    /// Style of a pod STATUS cell (`Running`, `CrashLoopBackOff`, `Init:0/1`, ...).
    pub fn status_style(&self, status: &str) -> Style {
        let r = &self.status_roles;
        match status {
            "Running" => r.running,
            "Completed" | "Succeeded" => r.succeeded,
            "Pending" | "ContainerCreating" | "PodInitializing" => r.pending,
            s if s.starts_with("Init:") && !s.contains("Error") && !s.contains("BackOff") => {
                r.pending
            }
            "Terminating" => r.terminating,
            "CrashLoopBackOff" | "Init:CrashLoopBackOff" => r.crashloop,
            "Unknown" => r.unknown,
            _ => r.failed,
        }
    }

    /// Colour of a pod STATUS cell (the first console's API).
    pub fn status(&self, status: &str) -> Color {
        self.status_style(status).fg.unwrap_or(Color::Reset)
    }

    /// Prefix style of the n-th container in all-containers logs.
    pub fn container_style(&self, n: usize) -> Style {
        match self.logs.containers.len() {
            0 => Style::default(),
            len => self.logs.containers[n % len],
        }
    }
}

#[cfg(test)]
mod tests;
