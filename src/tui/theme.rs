//! Themes: `themes/default.toml` is compiled in and gives the console's colours.

use ratatui::style::Color;
use std::str::FromStr;

pub const DEFAULT: &str = include_str!("../../themes/default.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
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
    fn default() -> Self {
        Theme {
            focused: Color::Cyan,
            unfocused: Color::DarkGray,
            header_fg: Color::Black,
            header_bg: Color::Cyan,
            footer: Color::DarkGray,
            status_ok: Color::Green,
            status_waiting: Color::Yellow,
            status_failed: Color::Red,
        }
    }
}

impl Theme {
    /// Parse a theme; fields left out keep the defaults, bad colours are reported.
    pub fn parse(text: &str) -> Result<Theme, Vec<String>> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| vec![format!("theme: {e}")])?;
        let mut t = Theme::default();
        let mut problems = Vec::new();
        let mut set = |section: &str, key: &str, slot: &mut Color| {
            if let Some(v) = doc.get(section).and_then(|s| s.get(key)) {
                match v.as_str().map(Color::from_str) {
                    Some(Ok(c)) => *slot = c,
                    _ => problems.push(format!(
                        "theme: [{section}] {key} = {v}: not a colour name or #rrggbb"
                    )),
                }
            }
        };
        set("pane", "focused", &mut t.focused);
        set("pane", "unfocused", &mut t.unfocused);
        set("pane", "header_fg", &mut t.header_fg);
        set("pane", "header_bg", &mut t.header_bg);
        set("pane", "footer", &mut t.footer);
        set("status", "ok", &mut t.status_ok);
        set("status", "waiting", &mut t.status_waiting);
        set("status", "failed", &mut t.status_failed);
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems)
        }
    }

    pub fn default_theme() -> Theme {
        Theme::parse(DEFAULT).unwrap_or_default()
    }

    /// Colour of a pod STATUS cell.
    pub fn status(&self, status: &str) -> Color {
        match status {
            "Running" | "Completed" | "Succeeded" => self.status_ok,
            "Pending" | "ContainerCreating" | "Terminating" | "PodInitializing" => {
                self.status_waiting
            }
            s if s.starts_with("Init:") => self.status_waiting,
            _ => self.status_failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_theme_parses_and_bad_colours_are_reported() {
        assert_eq!(Theme::parse(DEFAULT).unwrap(), Theme::default());
        let t = Theme::parse("[status]\nok = \"#00ff00\"\n").unwrap();
        assert_eq!(t.status_ok, Color::Rgb(0, 255, 0));
        assert!(Theme::parse("[pane]\nfocused = \"sky\"\n").is_err());
        assert_eq!(Theme::default().status("CrashLoopBackOff"), Color::Red);
    }
}
