//! ANSI escape handling for log lines: SGR colour codes become ratatui styles, every other
//! escape (cursor moves, OSC titles, ...) is stripped so it cannot disturb the console.

use ratatui::style::{Color, Modifier, Style};

/// A style that applies from byte `start` of the plain text up to the next run.
pub type StyleRun = (u32, Style);

/// Split `raw` into its plain text and the style runs its SGR codes describe. Lines without
/// an escape (the common case) cost one scan and no runs.
pub fn parse(raw: &str) -> (String, Vec<StyleRun>) {
    if !raw.contains('\x1b') {
        return (raw.to_string(), Vec::new());
    }
    let mut plain = String::with_capacity(raw.len());
    let mut runs: Vec<StyleRun> = Vec::new();
    let mut style = Style::default();
    let mut chars = raw.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\x1b' {
            plain.push(c);
            continue;
        }
        match chars.peek().map(|&(_, c)| c) {
            Some('[') => {
                chars.next();
                // CSI: parameter and intermediate bytes, then one final byte in @..~.
                let mut params = String::new();
                let mut fin = None;
                for (_, c) in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        fin = Some(c);
                        break;
                    }
                    params.push(c);
                }
                if fin == Some('m') {
                    style = apply_sgr(style, &params);
                    let at = plain.len() as u32;
                    match runs.last_mut() {
                        Some(last) if last.0 == at => last.1 = style,
                        _ => runs.push((at, style)),
                    }
                }
            }
            Some(']') => {
                chars.next();
                // OSC: ends at BEL or ST (ESC \).
                while let Some((_, c)) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' {
                        if chars.peek().map(|&(_, c)| c) == Some('\\') {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            // Character set designations take one more byte (`ESC ( B`).
            Some('(' | ')' | '*' | '+' | '-' | '.' | '/' | '#' | '%') => {
                chars.next();
                chars.next();
            }
            // Any other escape is ESC plus one byte.
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    (plain, runs)
}

fn basic(n: u16) -> Color {
    match n {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        _ => Color::Gray,
    }
}

fn bright(n: u16) -> Color {
    match n {
        0 => Color::DarkGray,
        1 => Color::LightRed,
        2 => Color::LightGreen,
        3 => Color::LightYellow,
        4 => Color::LightBlue,
        5 => Color::LightMagenta,
        6 => Color::LightCyan,
        _ => Color::White,
    }
}

/// Extended colour after 38/48: `5;n` (256 colours) or `2;r;g;b`.
fn extended(it: &mut impl Iterator<Item = u16>) -> Option<Color> {
    match it.next()? {
        5 => Some(Color::Indexed(u8::try_from(it.next()?).ok()?)),
        2 => {
            let r = u8::try_from(it.next()?).ok()?;
            let g = u8::try_from(it.next()?).ok()?;
            let b = u8::try_from(it.next()?).ok()?;
            Some(Color::Rgb(r, g, b))
        }
        _ => None,
    }
}

/// `style` with `m` no longer added (the line's own default shows through, not "force off").
fn without(style: Style, m: Modifier) -> Style {
    Style {
        add_modifier: style.add_modifier.difference(m),
        ..style
    }
}

fn apply_sgr(mut style: Style, params: &str) -> Style {
    // An empty parameter means 0 (reset); unparsable ones are ignored like terminals do.
    let mut it = params.split([';', ':']).map(|p| {
        if p.is_empty() {
            0
        } else {
            p.parse().unwrap_or(u16::MAX)
        }
    });
    while let Some(n) = it.next() {
        style = match n {
            0 => Style::default(),
            1 => style.add_modifier(Modifier::BOLD),
            2 => style.add_modifier(Modifier::DIM),
            3 => style.add_modifier(Modifier::ITALIC),
            4 => style.add_modifier(Modifier::UNDERLINED),
            7 => style.add_modifier(Modifier::REVERSED),
            22 => without(style, Modifier::BOLD | Modifier::DIM),
            23 => without(style, Modifier::ITALIC),
            24 => without(style, Modifier::UNDERLINED),
            27 => without(style, Modifier::REVERSED),
            30..=37 => style.fg(basic(n - 30)),
            39 => Style { fg: None, ..style },
            40..=47 => style.bg(basic(n - 40)),
            49 => Style { bg: None, ..style },
            90..=97 => style.fg(bright(n - 90)),
            100..=107 => style.bg(bright(n - 100)),
            38 => match extended(&mut it) {
                Some(c) => style.fg(c),
                None => style,
            },
            48 => match extended(&mut it) {
                Some(c) => style.bg(c),
                None => style,
            },
            _ => style,
        };
    }
    style
}

/// The style at byte `at` of the plain text, given the line's runs.
pub fn style_at(runs: &[StyleRun], at: usize) -> Style {
    match runs.partition_point(|r| r.0 as usize <= at) {
        0 => Style::default(),
        i => runs[i - 1].1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_have_no_runs() {
        let (p, r) = parse("hello world");
        assert_eq!(p, "hello world");
        assert!(r.is_empty());
    }

    #[test]
    fn basic_colours_bold_and_reset() {
        let (p, r) = parse("\x1b[31merror\x1b[0m ok \x1b[1;92mgreen\x1b[m");
        assert_eq!(p, "error ok green");
        assert_eq!(style_at(&r, 0), Style::default().fg(Color::Red));
        assert_eq!(style_at(&r, 4), Style::default().fg(Color::Red));
        assert_eq!(style_at(&r, 5), Style::default());
        assert_eq!(
            style_at(&r, 9),
            Style::default()
                .fg(Color::LightGreen)
                .add_modifier(Modifier::BOLD)
        );
        assert_eq!(style_at(&r, 13).fg, Some(Color::LightGreen));
    }

    #[test]
    fn background_default_and_extended_colours() {
        let (p, r) = parse("\x1b[44;33mA\x1b[39mB\x1b[38;5;208mC\x1b[38;2;1;2;3mD");
        assert_eq!(p, "ABCD");
        assert_eq!(
            style_at(&r, 0),
            Style::default().fg(Color::Yellow).bg(Color::Blue)
        );
        assert_eq!(style_at(&r, 1), Style::default().bg(Color::Blue));
        assert_eq!(style_at(&r, 2).fg, Some(Color::Indexed(208)));
        assert_eq!(style_at(&r, 3).fg, Some(Color::Rgb(1, 2, 3)));
    }

    #[test]
    fn other_escapes_are_stripped() {
        let (p, r) = parse("a\x1b[2Kb\x1b]0;title\x07c\x1b]8;;x\x1b\\d\x1b(Be\x1b[1;1H");
        assert_eq!(p, "abcde");
        assert!(r.is_empty());
        // A lone trailing ESC and an unfinished CSI do not panic.
        assert_eq!(parse("x\x1b").0, "x");
        assert_eq!(parse("x\x1b[31").0, "x");
    }

    #[test]
    fn bold_off_keeps_colour() {
        let (_, r) = parse("\x1b[1;34mx\x1b[22my");
        assert_eq!(style_at(&r, 1), Style::default().fg(Color::Blue));
    }
}
