//! A full-pane viewer for describe and YAML output: scrolling, case-insensitive search with
//! highlighted matches and `n`/`N`, YAML highlighting. Lines are cut at the pane's edge (no
//! wrap) with horizontal scrolling. Only the visible lines are styled, so a 10,000-line text
//! costs no more per frame than a short one.

use super::input::LineInput;
use super::yaml::{self, Token};
use super::{Outcome, text_width};
use crate::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};
use std::cell::Cell;
use std::ops::Range;

/// How the lines are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highlight {
    Plain,
    Yaml,
    /// kubectl describe: the `Label:` at the start of a line in the key style.
    Describe,
}

/// Columns moved by one left/right key.
const H_STEP: usize = 8;

/// A search being typed: the input and what to go back to on esc.
#[derive(Debug, Clone)]
struct Typing {
    input: LineInput,
    query: String,
    top: usize,
    left: usize,
}

#[derive(Debug, Clone)]
pub struct TextView {
    pub title: String,
    lines: Vec<String>,
    highlight: Highlight,
    /// Lines inside YAML block scalars (styled as strings).
    block: Vec<bool>,
    top: usize,
    left: usize,
    /// Rows and columns of the last render: what a page is, what "in view" means.
    page: Cell<usize>,
    width: Cell<usize>,
    query: String,
    typing: Option<Typing>,
    /// (line, byte range) of every match of `query`, in text order.
    matches: Vec<(usize, Range<usize>)>,
    current: Option<usize>,
}

impl TextView {
    /// A view of `text` titled `title` (`describe pod/web`, `yaml deployment.apps/web`).
    pub fn new(title: impl Into<String>, text: &str, highlight: Highlight) -> TextView {
        let mut v = TextView {
            title: title.into(),
            lines: Vec::new(),
            highlight,
            block: Vec::new(),
            top: 0,
            left: 0,
            page: Cell::new(20),
            width: Cell::new(80),
            query: String::new(),
            typing: None,
            matches: Vec::new(),
            current: None,
        };
        v.set_text(text);
        v
    }

    /// Replace the text (a refreshed describe), keeping the scroll position and the search.
    pub fn set_text(&mut self, text: &str) {
        self.lines = text.lines().map(clean).collect();
        self.block = match self.highlight {
            Highlight::Yaml => yaml::block_lines(&self.lines),
            Highlight::Plain | Highlight::Describe => Vec::new(),
        };
        self.top = self.top.min(self.max_top());
        let current = self.current;
        self.find();
        self.current = current.filter(|c| *c < self.matches.len());
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The first visible line.
    pub fn top(&self) -> usize {
        self.top
    }

    /// Columns scrolled to the right.
    pub fn left(&self) -> usize {
        self.left
    }

    /// The confirmed search (or the one being typed).
    pub fn query(&self) -> &str {
        match &self.typing {
            Some(t) => t.input.text(),
            None => &self.query,
        }
    }

    pub fn is_searching(&self) -> bool {
        self.typing.is_some()
    }

    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    /// The match `n`/`N` went to: (line, byte range).
    pub fn current_match(&self) -> Option<&(usize, Range<usize>)> {
        self.matches.get(self.current?)
    }

    /// The keymap context of the next key: `logs` (movement, `/`, `n`, `N`), or `command`
    /// while a search is typed (enter confirms, esc cancels, other keys are typed).
    pub fn context(&self) -> &'static str {
        if self.typing.is_some() {
            "command"
        } else {
            "logs"
        }
    }

    /// Start typing a search (`/`); the current query is the starting text.
    pub fn start_search(&mut self) {
        self.typing = Some(Typing {
            input: LineInput::new(&self.query),
            query: self.query.clone(),
            top: self.top,
            left: self.left,
        });
    }

    fn page_size(&self) -> usize {
        self.page.get().max(1)
    }

    fn max_top(&self) -> usize {
        self.lines.len().saturating_sub(self.page_size())
    }

    fn scroll_by(&mut self, delta: isize) {
        let top = self.top.saturating_add_signed(delta);
        self.top = top.min(self.max_top());
    }

    pub fn scroll_left(&mut self) {
        self.left = self.left.saturating_sub(H_STEP);
    }

    pub fn scroll_right(&mut self) {
        let widest = self
            .lines
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0);
        self.left = (self.left + H_STEP).min(widest.saturating_sub(1));
    }

    pub fn on_action(&mut self, action: &str) -> Outcome {
        if self.typing.is_some() {
            return match action {
                "command.submit" | "dialog.confirm" => {
                    self.confirm_search();
                    Outcome::Consumed
                }
                "command.cancel" | "dialog.cancel" => {
                    self.cancel_search();
                    Outcome::Consumed
                }
                _ => Outcome::Ignored,
            };
        }
        let page = self.page_size() as isize;
        match action {
            "row.up" => self.scroll_by(-1),
            "row.down" => self.scroll_by(1),
            "page.up" => self.scroll_by(-page),
            "page.down" => self.scroll_by(page),
            "row.first" => self.top = 0,
            "row.last" => self.top = self.max_top(),
            "logs.search" | "filter.start" => self.start_search(),
            "logs.next" => self.jump(true),
            "logs.prev" => self.jump(false),
            "view.back" => return Outcome::Cancelled,
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }

    /// While a search is typed: the query's editing keys (the matches follow as you type),
    /// enter and esc. Otherwise left/right scroll sideways.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        if key.kind == KeyEventKind::Release {
            return Outcome::Ignored;
        }
        let Some(t) = &mut self.typing else {
            match key.code {
                KeyCode::Left => self.scroll_left(),
                KeyCode::Right => self.scroll_right(),
                _ => return Outcome::Ignored,
            }
            return Outcome::Consumed;
        };
        match key.code {
            KeyCode::Enter => self.confirm_search(),
            KeyCode::Esc => self.cancel_search(),
            _ if t.input.on_key(key) => {
                // Search again from where the view was when `/` was pressed.
                self.top = t.top;
                self.left = t.left;
                self.find();
                self.reveal_first();
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Consumed
    }

    fn confirm_search(&mut self) {
        if let Some(t) = self.typing.take() {
            self.query = t.input.text().to_string();
            self.top = t.top;
            self.left = t.left;
            self.find();
            self.reveal_first();
        }
    }

    fn cancel_search(&mut self) {
        if let Some(t) = self.typing.take() {
            self.query = t.query;
            self.top = t.top;
            self.left = t.left;
            self.find();
            self.current = None;
        }
    }

    /// Every match of the query; the current one is forgotten.
    fn find(&mut self) {
        self.matches.clear();
        self.current = None;
        let query = self.query().to_string();
        if query.is_empty() {
            return;
        }
        let Ok(re) = regex::RegexBuilder::new(&regex::escape(&query))
            .case_insensitive(true)
            .build()
        else {
            return;
        };
        for (n, line) in self.lines.iter().enumerate() {
            self.matches
                .extend(re.find_iter(line).map(|m| (n, m.range())));
        }
    }

    /// Go to the first match at or below the top of the view (the first one after the end).
    fn reveal_first(&mut self) {
        if self.matches.is_empty() {
            return;
        }
        let at = self.matches.partition_point(|(l, _)| *l < self.top);
        let i = if at < self.matches.len() { at } else { 0 };
        self.current = Some(i);
        self.reveal(i);
    }

    /// `n` (forward) or `N`: the next or previous match, wrapping around the text.
    fn jump(&mut self, forward: bool) {
        let len = self.matches.len();
        if len == 0 {
            return;
        }
        let i = match self.current {
            Some(c) if forward => (c + 1) % len,
            Some(c) => (c + len - 1) % len,
            None => {
                let at = self.matches.partition_point(|(l, _)| *l < self.top);
                match (forward, at) {
                    (true, at) if at < len => at,
                    (true, _) => 0,
                    (false, 0) => len - 1,
                    (false, at) => at - 1,
                }
            }
        };
        self.current = Some(i);
        self.reveal(i);
    }

    /// Scroll so match `i` is on screen: a third from the top when it was off screen, and
    /// sideways when it is beyond the pane's edge.
    fn reveal(&mut self, i: usize) {
        let Some((line, range)) = self.matches.get(i).cloned() else {
            return;
        };
        let page = self.page_size();
        if line < self.top || line >= self.top + page {
            self.top = line.saturating_sub(page / 3).min(self.max_top());
        }
        let width = self.width.get().max(1);
        let start = self.lines[line][..range.start].chars().count();
        let end = start + self.lines[line][range].chars().count();
        if start < self.left || end > self.left + width {
            self.left = if end <= width {
                0
            } else {
                start.saturating_sub(width / 4)
            };
        }
    }

    /// The title's search part: `match 3/17`, `17 matches`, `no match for X`.
    pub fn search_status(&self) -> Option<String> {
        let q = self.query();
        if q.is_empty() {
            return None;
        }
        Some(match (self.matches.len(), self.current) {
            (0, _) => format!("no match for {q}"),
            (n, Some(c)) => format!("match {}/{n}", c + 1),
            (1, None) => "1 match".to_string(),
            (n, None) => format!("{n} matches"),
        })
    }

    /// The styled runs of line `n` (before search highlighting).
    fn base_runs(&self, n: usize, theme: &Theme) -> Vec<(Range<usize>, Style)> {
        let line = &self.lines[n];
        match self.highlight {
            Highlight::Plain => vec![(0..line.len(), Style::default())],
            Highlight::Describe => match describe_label(line) {
                Some(end) => vec![
                    (0..end, theme.yaml.key),
                    (end..line.len(), Style::default()),
                ],
                None => vec![(0..line.len(), Style::default())],
            },
            Highlight::Yaml => {
                let toks = if self.block.get(n).copied().unwrap_or(false) {
                    yaml::block_tokens(line)
                } else {
                    yaml::tokens(line)
                };
                toks.into_iter()
                    .map(|(r, t)| (r, token_style(t, theme)))
                    .collect()
            }
        }
    }

    /// The runs of line `n` with its matches patched in.
    fn runs(&self, n: usize, theme: &Theme) -> Vec<(Range<usize>, Style)> {
        let base = self.base_runs(n, theme);
        let from = self.matches.partition_point(|(l, _)| *l < n);
        let to = self.matches.partition_point(|(l, _)| *l <= n);
        if from == to {
            return base;
        }
        let hit = theme.logs.search_match;
        let current = hit.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        let mut out = Vec::new();
        for (range, style) in base {
            let mut at = range.start;
            for (i, (_, m)) in self.matches[from..to].iter().enumerate() {
                let (s, e) = (m.start.max(at), m.end.min(range.end));
                if s >= e {
                    continue;
                }
                if at < s {
                    out.push((at..s, style));
                }
                let h = if self.current == Some(from + i) {
                    current
                } else {
                    hit
                };
                out.push((s..e, style.patch(h)));
                at = e;
            }
            if at < range.end {
                out.push((at..range.end, style));
            }
        }
        out
    }

    /// Line `n` from column `left`, as a ratatui line.
    fn visible_line(&self, n: usize, theme: &Theme) -> Line<'static> {
        let line = &self.lines[n];
        let mut skip = self.left;
        let mut spans = Vec::new();
        for (range, style) in self.runs(n, theme) {
            let text = &line[range];
            let count = text.chars().count();
            if skip >= count {
                skip -= count;
                continue;
            }
            let shown: String = text.chars().skip(skip).collect();
            skip = 0;
            spans.push(Span::styled(shown, style));
        }
        Line::from(spans)
    }

    fn title_line(&self, theme: &Theme) -> Line<'static> {
        let mut spans = vec![Span::styled(format!(" {} ", self.title), theme.ui.title)];
        if let Some(s) = self.search_status() {
            let style = if self.matches.is_empty() {
                theme.status_roles.failed
            } else {
                Style::default()
            };
            spans.push(Span::styled(format!("[{s}] "), style));
        }
        Line::from(spans)
    }

    /// Where the view is: `12-34/300`, and the column when scrolled sideways.
    fn position(&self, height: usize) -> String {
        let total = self.lines.len();
        let top = self.top.min(total.saturating_sub(height));
        let last = (top + height).min(total);
        let mut s = format!(" {}-{last}/{total} ", (top + 1).min(last));
        if self.left > 0 {
            s.push_str(&format!("col {} ", self.left + 1));
        }
        s
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        Clear.render(area, buf);
        let block = Block::bordered().border_style(theme.ui.border_focused);
        let inner = block.inner(area);
        let mut text_area = inner;
        if self.typing.is_some() && text_area.height > 0 {
            text_area.height -= 1;
        }
        let height = text_area.height as usize;
        // What a page is for the next key; drawing changes nothing else.
        self.page.set(height);
        self.width.set(text_area.width as usize);
        let title = self.title_line(theme);
        let position = Line::from(self.position(height)).right_aligned();
        // The position only when it fits next to the title.
        let block = if title.width() + position.width() + 2 <= area.width as usize {
            block.title(title).title(position)
        } else {
            block.title(title)
        };
        block.render(area, buf);
        if text_area.width == 0 {
            return;
        }
        let top = self.top.min(self.lines.len().saturating_sub(height));
        for (row, n) in (top..self.lines.len()).take(height).enumerate() {
            let line = self.visible_line(n, theme);
            buf.set_line(
                text_area.x,
                text_area.y + row as u16,
                &line,
                text_area.width,
            );
        }
        if let Some(t) = &self.typing
            && inner.height > 0
        {
            let y = inner.bottom() - 1;
            buf.set_stringn(inner.x, y, "/", 1, theme.ui.footer);
            let width = inner.width.saturating_sub(1);
            if width > 0 {
                buf.set_line(
                    inner.x + 1,
                    y,
                    &t.input.line(width as usize, Style::default()),
                    width,
                );
            }
        }
    }
}

/// The end of a describe label (`Name:`, `  Restart Count:`, `      cpu:`): words of
/// letters, digits and `-._/` separated by single spaces, then `:` and a space or the end of
/// the line. Table rows (`Normal  Scheduled  5m ... to node: x`) have double spaces first.
fn describe_label(line: &str) -> Option<usize> {
    let start = line.len() - line.trim_start().len();
    let colon = start + line[start..].find(':')?;
    let label = &line[start..colon];
    let ok = !label.is_empty()
        && !label.starts_with(|c: char| !c.is_alphanumeric())
        && !label.contains("  ")
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '_' | '/'));
    let after = line[colon + 1..].chars().next();
    (ok && matches!(after, None | Some(' '))).then_some(colon + 1)
}

fn token_style(t: Token, theme: &Theme) -> Style {
    let y = &theme.yaml;
    match t {
        Token::Plain => Style::default(),
        Token::Key => y.key,
        Token::String => y.string,
        Token::Number => y.number,
        Token::Bool => y.bool,
        Token::Comment => y.comment,
    }
}

/// Tabs to spaces (8-column stops) and other control characters out: they would move the
/// terminal's cursor.
fn clean(line: &str) -> String {
    if !line.chars().any(char::is_control) {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '\t' => {
                let col = text_width(&out);
                out.extend(std::iter::repeat_n(' ', 8 - col % 8));
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    fn search(v: &mut TextView, q: &str) {
        v.on_action("logs.search");
        for c in q.chars() {
            assert_eq!(v.on_key(key(KeyCode::Char(c))), Outcome::Consumed);
        }
        assert_eq!(v.on_action("command.submit"), Outcome::Consumed);
    }

    #[test]
    fn scrolling_stays_inside_the_text() {
        let mut v = TextView::new("t", &numbered(100), Highlight::Plain);
        v.page.set(10);
        v.on_action("row.up");
        assert_eq!(v.top(), 0);
        v.on_action("row.down");
        v.on_action("page.down");
        assert_eq!(v.top(), 11);
        v.on_action("row.last");
        assert_eq!(v.top(), 90);
        v.on_action("row.down");
        assert_eq!(v.top(), 90);
        v.on_action("page.up");
        assert_eq!(v.top(), 80);
        v.on_action("row.first");
        assert_eq!(v.top(), 0);
        assert_eq!(v.on_action("view.back"), Outcome::Cancelled);
        assert_eq!(v.on_action("pod.logs"), Outcome::Ignored);
        // A short text does not scroll at all.
        let mut v = TextView::new("t", "a\nb", Highlight::Plain);
        v.on_action("page.down");
        assert_eq!(v.top(), 0);
    }

    #[test]
    fn search_is_case_insensitive_and_next_prev_wrap() {
        let text = "Alpha\nbeta\nALPHA alpha\ngamma\n";
        let mut v = TextView::new("t", text, Highlight::Plain);
        assert_eq!(v.context(), "logs");
        v.on_action("logs.search");
        assert_eq!(v.context(), "command");
        assert!(v.is_searching());
        for c in "alp".chars() {
            v.on_key(key(KeyCode::Char(c)));
        }
        // Matches follow the typing.
        assert_eq!(v.match_count(), 3);
        v.on_key(key(KeyCode::Enter));
        assert!(!v.is_searching());
        assert_eq!(v.query(), "alp");
        assert_eq!(v.current_match(), Some(&(0, 0..3)));
        assert_eq!(v.search_status().as_deref(), Some("match 1/3"));
        v.on_action("logs.next");
        assert_eq!(v.current_match(), Some(&(2, 0..3)));
        v.on_action("logs.next");
        assert_eq!(v.current_match(), Some(&(2, 6..9)));
        v.on_action("logs.next");
        assert_eq!(v.current_match(), Some(&(0, 0..3)), "wraps to the first");
        v.on_action("logs.prev");
        assert_eq!(v.current_match(), Some(&(2, 6..9)), "wraps to the last");
        assert_eq!(v.search_status().as_deref(), Some("match 3/3"));
    }

    #[test]
    fn no_match_and_cancel() {
        let mut v = TextView::new("t", "abc\n", Highlight::Plain);
        search(&mut v, "zz");
        assert_eq!(v.search_status().as_deref(), Some("no match for zz"));
        v.on_action("logs.next");
        assert_eq!(v.current_match(), None);
        // Esc while typing goes back to the previous search.
        v.on_action("logs.search");
        v.on_key(key(KeyCode::Backspace));
        v.on_key(key(KeyCode::Backspace));
        v.on_key(key(KeyCode::Char('b')));
        assert_eq!(v.match_count(), 1);
        assert_eq!(v.on_key(key(KeyCode::Esc)), Outcome::Consumed);
        assert_eq!(v.query(), "zz");
        assert_eq!(v.match_count(), 0);
        // An empty search clears the highlighting.
        v.on_action("logs.search");
        v.on_key(key(KeyCode::Backspace));
        v.on_key(key(KeyCode::Backspace));
        v.on_action("command.submit");
        assert_eq!(v.search_status(), None);
    }

    #[test]
    fn jumping_scrolls_the_match_into_view() {
        let mut v = TextView::new("t", &numbered(1000), Highlight::Plain);
        v.page.set(10);
        search(&mut v, "line 500");
        assert_eq!(v.current_match().map(|m| m.0), Some(499));
        assert!(v.top() <= 499 && 499 < v.top() + 10, "top {}", v.top());
        // From the middle, the first match is the one at or after the top.
        let mut v = TextView::new("t", &numbered(100), Highlight::Plain);
        v.page.set(10);
        v.on_action("page.down");
        search(&mut v, "line 1");
        assert_eq!(v.current_match().map(|m| m.0), Some(10));
        // Matches beyond the right edge scroll sideways.
        let long = format!("{}needle\n", "x".repeat(200));
        let mut v = TextView::new("t", &long, Highlight::Plain);
        v.width.set(40);
        search(&mut v, "needle");
        assert!(v.left() <= 200 && 206 <= v.left() + 40, "left {}", v.left());
    }

    #[test]
    fn matches_are_highlighted_over_the_yaml_styles() {
        let theme = Theme::default_theme();
        let mut v = TextView::new("t", "name: web\nimage: web:1\n", Highlight::Yaml);
        let runs = v.runs(0, &theme);
        assert_eq!(runs[0], (0..5, theme.yaml.key));
        assert_eq!(runs[2], (6..9, theme.yaml.string));
        search(&mut v, "WEB");
        let runs = v.runs(1, &theme);
        let hit = theme.yaml.string.patch(theme.logs.search_match);
        assert_eq!(runs[2], (7..10, hit));
        assert_eq!(runs[3], (10..12, theme.yaml.string));
        // The current match stands out from the others.
        let runs = v.runs(0, &theme);
        assert!(runs[2].1.add_modifier.contains(Modifier::UNDERLINED));
    }

    #[test]
    fn ten_thousand_lines() {
        let text: String = (0..10_000)
            .map(|i| format!("  key{i}: value {i} # note\n"))
            .collect();
        let mut v = TextView::new("t", &text, Highlight::Yaml);
        let theme = Theme::default_theme();
        let area = Rect::new(0, 0, 160, 48);
        let mut buf = Buffer::empty(area);
        let started = std::time::Instant::now();
        v.render(area, &mut buf, &theme);
        search(&mut v, "VALUE 9999 ");
        assert_eq!(v.match_count(), 1);
        v.render(area, &mut buf, &theme);
        assert_eq!(v.top(), 10_000 - 46, "the last match scrolls to the end");
        assert!(buf[(1, 46)].symbol() == " " && buf[(3, 46)].symbol() == "k");
        // Generous even for a debug build: only the visible lines are styled.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn describe_labels() {
        assert_eq!(describe_label("Name:         web"), Some(5));
        assert_eq!(describe_label("    Restart Count:  0"), Some(18));
        assert_eq!(describe_label("      cpu:     500m"), Some(10));
        assert_eq!(describe_label("Containers:"), Some(11));
        assert_eq!(describe_label("  web:"), Some(6));
        assert_eq!(describe_label("                  app=web"), None);
        assert_eq!(
            describe_label("  Normal  Scheduled  5m  default-scheduler  to node: x"),
            None
        );
        assert_eq!(describe_label("Image:  nginx:1.27"), Some(6));
        assert_eq!(describe_label("http://x"), None);
        assert_eq!(describe_label(""), None);
        let theme = Theme::default_theme();
        let v = TextView::new("t", "Name:  web\n", Highlight::Describe);
        assert_eq!(v.base_runs(0, &theme)[0], (0..5, theme.yaml.key));
    }

    #[test]
    fn sideways_scrolling_and_cleaning() {
        let mut v = TextView::new("t", "a\tb\r\n0123456789abcdef", Highlight::Plain);
        assert_eq!(v.lines()[0], "a       b");
        v.on_key(key(KeyCode::Right));
        assert_eq!(v.left(), 8);
        assert_eq!(
            v.visible_line(1, &Theme::default_theme()).to_string(),
            "89abcdef"
        );
        v.on_key(key(KeyCode::Right));
        v.on_key(key(KeyCode::Right));
        assert_eq!(v.left(), 15);
        v.on_key(key(KeyCode::Left));
        assert_eq!(v.left(), 7);
        assert_eq!(v.on_key(key(KeyCode::Char('x'))), Outcome::Ignored);
    }

    #[test]
    fn refreshed_text_keeps_position_and_search() {
        let mut v = TextView::new("t", &numbered(50), Highlight::Plain);
        v.page.set(10);
        v.on_action("page.down");
        search(&mut v, "1");
        let n = v.match_count();
        v.set_text(&numbered(60));
        assert_eq!(v.top(), 10);
        assert!(v.match_count() > n);
        v.set_text("");
        assert_eq!((v.top(), v.match_count()), (0, 0));
    }

    #[test]
    fn rendering_any_size_does_not_panic() {
        let theme = Theme::default_theme();
        let mut v = TextView::new("yaml pod/web", "a: 1\n", Highlight::Yaml);
        v.start_search();
        for (w, h) in [(0, 0), (1, 1), (2, 2), (3, 3), (5, 1), (1, 5)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            v.render(area, &mut buf, &theme);
        }
    }
}
