//! The logs pane widget. Only the lines that end up on screen are laid out, so the cost of a
//! frame depends on the pane's size, not on the buffer's.

use super::ansi::style_at;
use super::buffer::{LineKind, LogBuffer, LogLine, StreamKind};
use super::view::LogView;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};
use std::borrow::Cow;

/// The pane's colours (the theme's logs role fills them in).
#[derive(Debug, Clone, PartialEq)]
pub struct LogStyles {
    pub border: Style,
    pub title: Style,
    pub timestamp: Style,
    pub marker: Style,
    pub highlight: Style,
    /// The match `n`/`N` moved to.
    pub current: Style,
    pub dropped: Style,
    /// Base style of stderr lines (when the source says which stream a line came from).
    pub stderr: Style,
    /// Container prefixes, by the container's colour index.
    pub palette: Vec<Style>,
}

impl LogStyles {
    /// The theme's logs roles; the border shows focus like the other panes.
    pub fn from_theme(theme: &Theme, focused: bool) -> LogStyles {
        let l = &theme.logs;
        // The theme has no role for the current match: the search match with its colours
        // swapped, or underlined where it has none (monochrome).
        let current = match (l.search_match.fg, l.search_match.bg) {
            (Some(fg), Some(bg)) => l.search_match.fg(bg).bg(fg),
            _ => l
                .search_match
                .add_modifier(Modifier::UNDERLINED | Modifier::BOLD),
        };
        LogStyles {
            border: if focused {
                theme.ui.border_focused
            } else {
                theme.ui.border
            },
            title: theme.ui.title,
            timestamp: l.timestamp,
            marker: l.restart_marker,
            highlight: l.search_match,
            current,
            dropped: l.stderr.add_modifier(Modifier::BOLD),
            stderr: l.stderr,
            palette: if l.containers.is_empty() {
                LogStyles::default().palette
            } else {
                l.containers.clone()
            },
        }
    }
}

/// What the title says beyond the view's own flags (the follower fills it in).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaneStatus {
    /// Flags after the view's (`previous`, `ended`).
    pub flags: Vec<String>,
    /// (position of the current match, matching lines) of the active search.
    pub matches: Option<(Option<usize>, usize)>,
    /// The query being typed after `/`.
    pub typing: Option<String>,
}

impl Default for LogStyles {
    fn default() -> Self {
        LogStyles {
            border: Style::default().fg(Color::Cyan),
            title: Style::default().add_modifier(Modifier::BOLD),
            timestamp: Style::default().fg(Color::DarkGray),
            marker: Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            highlight: Style::default().fg(Color::Black).bg(Color::Yellow),
            current: Style::default().fg(Color::Black).bg(Color::LightRed),
            dropped: Style::default().fg(Color::Red),
            stderr: Style::default().fg(Color::LightRed),
            palette: [
                Color::Cyan,
                Color::Green,
                Color::Magenta,
                Color::Yellow,
                Color::Blue,
                Color::LightRed,
            ]
            .map(|c| Style::default().fg(c))
            .to_vec(),
        }
    }
}

/// One screen row: runs of text with their style.
type Row = Vec<(String, Style)>;

pub struct LogsPane<'a> {
    buffer: &'a LogBuffer,
    view: &'a LogView,
    /// `pod/container` or `pod (all containers)`.
    source: Cow<'a, str>,
    styles: LogStyles,
    status: PaneStatus,
}

impl<'a> LogsPane<'a> {
    pub fn new(
        buffer: &'a LogBuffer,
        view: &'a LogView,
        source: impl Into<Cow<'a, str>>,
    ) -> LogsPane<'a> {
        LogsPane {
            buffer,
            view,
            source: source.into(),
            styles: LogStyles::default(),
            status: PaneStatus::default(),
        }
    }

    pub fn status(mut self, status: PaneStatus) -> LogsPane<'a> {
        self.status = status;
        self
    }

    pub fn styles(mut self, styles: LogStyles) -> LogsPane<'a> {
        self.styles = styles;
        self
    }

    fn title(&self) -> Line<'static> {
        let v = self.view;
        let mut spans = vec![Span::styled(
            format!(" logs {} ", self.source),
            self.styles.title,
        )];
        let mut flags = vec![if v.follow { "following" } else { "paused" }.to_string()];
        flags.push(v.range.label());
        if v.wrap {
            flags.push("wrap".into());
        }
        if v.timestamps {
            flags.push("timestamps".into());
        }
        flags.extend(self.status.flags.iter().cloned());
        spans.push(Span::raw(format!("[{}] ", flags.join(" · "))));
        let search = match (&self.status.typing, &self.status.matches) {
            (Some(t), _) => Some(format!("/{t}▏")),
            (None, _) if v.query().is_empty() => None,
            (None, Some((Some(at), n))) => Some(format!("/{} {at}/{n}", v.query())),
            (None, Some((None, n))) => Some(format!("/{} {n} lines", v.query())),
            (None, None) => Some(format!("/{}", v.query())),
        };
        if let Some(s) = search {
            spans.push(Span::styled(s, self.styles.highlight));
            spans.push(Span::raw(" "));
        }
        if self.buffer.dropped() > 0 {
            spans.push(Span::styled(
                format!("dropped {} ", self.buffer.dropped()),
                self.styles.dropped,
            ));
        }
        Line::from(spans)
    }

    /// Draw, returning how many buffer lines were laid out (the visible ones only).
    pub fn render_counted(self, area: Rect, buf: &mut Buffer) -> usize {
        let block = Block::bordered()
            .border_style(self.styles.border)
            .title(self.title());
        let inner = block.inner(area);
        block.render(area, buf);
        let (width, height) = (inner.width as usize, inner.height as usize);
        if width == 0 || height == 0 {
            return 0;
        }
        let b = self.buffer;
        let mut laid_out = 0;
        let mut rows: Vec<Row> = Vec::with_capacity(height);
        if self.view.follow {
            // From the newest line up until the screen is full.
            let mut seq = b.end_seq();
            let mut lines: Vec<Vec<Row>> = Vec::new();
            let mut filled = 0;
            while filled < height && seq > b.first_seq() {
                seq -= 1;
                let Some(line) = b.get(seq) else { break };
                let r = self.layout(line, seq, width);
                laid_out += 1;
                filled += r.len();
                lines.push(r);
            }
            for r in lines.into_iter().rev() {
                rows.extend(r);
            }
            let extra = rows.len().saturating_sub(height);
            rows.drain(..extra);
        } else {
            let mut seq = self.view.top_line(b, height);
            while rows.len() < height {
                let Some(line) = b.get(seq) else { break };
                rows.extend(self.layout(line, seq, width));
                laid_out += 1;
                seq += 1;
            }
            rows.truncate(height);
        }
        for (y, row) in rows.iter().enumerate() {
            let mut x = inner.x;
            let y = inner.y + y as u16;
            for (text, style) in row {
                let left = (inner.right() - x) as usize;
                x = buf.set_stringn(x, y, text, left, *style).0;
            }
        }
        laid_out
    }

    /// Split one log line into screen rows of `width` cells (one row when not wrapping).
    fn layout(&self, line: &LogLine, seq: u64, width: usize) -> Vec<Row> {
        let st = &self.styles;
        let marker = line.kind == LineKind::Restart;
        let stderr = line.stream == Some(StreamKind::Stderr);
        let mut cells: Vec<(char, Style)> = Vec::with_capacity(line.text.len() + 40);
        if self.view.timestamps
            && let Some(ts) = &line.ts
        {
            cells.extend(ts.chars().map(|c| (c, st.timestamp)));
            cells.push((' ', Style::default()));
        }
        if let Some(c) = &line.container {
            let s = match st.palette.len() {
                0 => Style::default(),
                n => st.palette[line.colour as usize % n],
            };
            cells.push(('[', s));
            cells.extend(c.chars().map(|ch| (ch, s)));
            cells.push((']', s));
            cells.push((' ', Style::default()));
        }
        let matches = self.view.matches_in(&line.text);
        let hl = if self.view.current_match == Some(seq) {
            st.current
        } else {
            st.highlight
        };
        let mut m = matches.iter().peekable();
        for (at, c) in line.text.char_indices() {
            while m.peek().is_some_and(|r| r.end <= at) {
                m.next();
            }
            let mut style = if marker {
                st.marker
            } else if stderr {
                st.stderr.patch(style_at(&line.styles, at))
            } else {
                style_at(&line.styles, at)
            };
            if m.peek().is_some_and(|r| r.contains(&at)) {
                style = style.patch(hl);
            }
            cells.push((c, style));
        }
        wrap_cells(&cells, width, self.view.wrap)
    }
}

fn char_width(c: char) -> usize {
    let mut tmp = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut tmp)).width()
}

/// Lay cells out in rows of `width` columns: tabs to the next multiple of 8, control
/// characters dropped, wide characters never split across rows.
fn wrap_cells(cells: &[(char, Style)], width: usize, wrap: bool) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut row: Row = Vec::new();
    let mut col = 0;
    for &(c, style) in cells {
        // (character, its width, how many times): a tab is spaces up to the next stop.
        let (c, w, times) = match c {
            '\t' => (' ', 1, 8 - col % 8),
            c if c.is_control() => continue,
            c => (c, char_width(c), 1),
        };
        for _ in 0..times {
            if col + w > width {
                if !wrap {
                    rows.push(row);
                    return rows;
                }
                rows.push(std::mem::take(&mut row));
                col = 0;
            }
            // Zero-width characters (combining marks) join the previous cell's text.
            match row.last_mut() {
                Some((s, st)) if *st == style => s.push(c),
                _ => row.push((c.to_string(), style)),
            }
            col += w;
        }
    }
    rows.push(row);
    rows
}

impl Widget for LogsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.render_counted(area, buf);
    }
}
