//! View state of the logs pane: follow/pause, wrap, timestamps, search and time range.

use super::buffer::LogBuffer;
use crate::api::request::LogOptions;
use std::ops::Range;

/// How much history a (re)subscription asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRange {
    /// The last N lines.
    Tail(i64),
    /// Lines of the last N seconds.
    Since(i64),
}

impl TimeRange {
    /// The choices offered, in cycling order.
    pub const CHOICES: [TimeRange; 6] = [
        TimeRange::Tail(100),
        TimeRange::Since(60),
        TimeRange::Since(300),
        TimeRange::Since(900),
        TimeRange::Since(1800),
        TimeRange::Since(3600),
    ];

    /// The range a `logs.since.*` action picks.
    pub fn of_action(action: &str) -> Option<TimeRange> {
        Some(match action {
            "logs.since.tail" => TimeRange::Tail(100),
            "logs.since.1m" => TimeRange::Since(60),
            "logs.since.5m" => TimeRange::Since(300),
            "logs.since.15m" => TimeRange::Since(900),
            "logs.since.30m" => TimeRange::Since(1800),
            "logs.since.1h" => TimeRange::Since(3600),
            _ => return None,
        })
    }

    pub fn label(&self) -> String {
        match *self {
            TimeRange::Tail(n) => format!("tail {n}"),
            TimeRange::Since(s) if s % 3600 == 0 => format!("{}h", s / 3600),
            TimeRange::Since(s) if s % 60 == 0 => format!("{}m", s / 60),
            TimeRange::Since(s) => format!("{s}s"),
        }
    }

    /// The next choice (after the last comes the first).
    pub fn next(&self) -> TimeRange {
        let i = Self::CHOICES.iter().position(|c| c == self);
        Self::CHOICES[i.map_or(0, |i| (i + 1) % Self::CHOICES.len())]
    }

    /// `base` with this range's `tailLines`/`sinceSeconds` (the other cleared).
    pub fn options(&self, base: &LogOptions) -> LogOptions {
        let mut o = base.clone();
        o.since_time = None;
        match *self {
            TimeRange::Tail(n) => {
                o.tail_lines = Some(n);
                o.since_seconds = None;
            }
            TimeRange::Since(s) => {
                o.tail_lines = None;
                o.since_seconds = Some(s);
            }
        }
        o
    }
}

/// Byte ranges of case-insensitive occurrences of `needle` (already lower-cased chars) in
/// `hay`, without overlaps.
pub fn find_matches(hay: &str, needle: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    let idx: Vec<(usize, char)> = hay.char_indices().collect();
    let mut i = 0;
    while i + needle.len() <= idx.len() {
        let hit = needle
            .iter()
            .zip(&idx[i..])
            .all(|(n, (_, h))| lower_eq(*h, *n));
        if hit {
            let end = idx.get(i + needle.len()).map_or(hay.len(), |(b, _)| *b);
            out.push(idx[i].0..end);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Whether `hay` contains `needle` (lower-cased chars) case-insensitively; allocates
/// nothing, for scanning every arriving line while a search is active.
pub fn has_match(hay: &str, needle: &[char]) -> bool {
    if needle.is_empty() {
        return false;
    }
    hay.char_indices().any(|(i, _)| {
        let mut rest = hay[i..].chars();
        needle
            .iter()
            .all(|n| rest.next().is_some_and(|h| lower_eq(h, *n)))
    })
}

fn lower_eq(h: char, n: char) -> bool {
    h == n || (!h.is_ascii() || h.is_ascii_uppercase()) && h.to_lowercase().eq(std::iter::once(n))
}

fn lower_chars(q: &str) -> Vec<char> {
    // Per char, so match positions map back to the text; multi-char lowercases keep the char.
    q.chars()
        .map(|c| {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// Auto-scroll to the newest line.
    pub follow: bool,
    /// Sequence number of the top line while paused.
    pub top: u64,
    pub wrap: bool,
    pub timestamps: bool,
    pub range: TimeRange,
    query: String,
    needle: Vec<char>,
    /// The line `n`/`N` last moved to.
    pub current_match: Option<u64>,
}

impl Default for LogView {
    fn default() -> Self {
        LogView {
            follow: true,
            top: 0,
            wrap: false,
            timestamps: false,
            range: TimeRange::Tail(100),
            query: String::new(),
            needle: Vec::new(),
            current_match: None,
        }
    }
}

impl LogView {
    /// Top line of the window of `height` lines, following or not, clamped to what is kept.
    pub fn top_line(&self, buf: &LogBuffer, height: usize) -> u64 {
        let last_page = buf
            .end_seq()
            .saturating_sub(height as u64)
            .max(buf.first_seq());
        if self.follow {
            last_page
        } else {
            self.top
                .clamp(buf.first_seq(), last_page.max(buf.first_seq()))
        }
    }

    /// Stop following, keeping what is on screen.
    pub fn pause(&mut self, buf: &LogBuffer, height: usize) {
        if self.follow {
            self.top = self.top_line(buf, height);
            self.follow = false;
        }
    }

    pub fn resume(&mut self) {
        self.follow = true;
        self.current_match = None;
    }

    pub fn toggle_follow(&mut self, buf: &LogBuffer, height: usize) {
        if self.follow {
            self.pause(buf, height);
        } else {
            self.resume();
        }
    }

    /// Scroll up `n` lines (pauses).
    pub fn scroll_up(&mut self, buf: &LogBuffer, height: usize, n: usize) {
        self.pause(buf, height);
        self.top = self
            .top_line(buf, height)
            .saturating_sub(n as u64)
            .max(buf.first_seq());
    }

    /// Scroll down `n` lines; reaching the bottom keeps the view paused there.
    pub fn scroll_down(&mut self, buf: &LogBuffer, height: usize, n: usize) {
        if self.follow {
            return;
        }
        self.top = self.top_line(buf, height) + n as u64;
        self.top = self.top_line(buf, height);
    }

    pub fn to_top(&mut self, buf: &LogBuffer) {
        self.follow = false;
        self.top = buf.first_seq();
    }

    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
    }

    pub fn toggle_timestamps(&mut self) {
        self.timestamps = !self.timestamps;
    }

    /// The options for a re-subscribe after the range changed.
    pub fn options(&self, base: &LogOptions) -> LogOptions {
        let mut o = self.range.options(base);
        o.timestamps = true; // always fetched: the toggle only changes what is shown
        o
    }

    pub fn query(&self) -> &str {
        &self.query
    }

    /// Set the search text (plain substring, case-insensitive); empty clears it.
    pub fn set_search(&mut self, query: &str) {
        self.query = query.to_string();
        self.needle = lower_chars(query);
        self.current_match = None;
    }

    /// Match ranges in one line's text (for highlighting).
    pub fn matches_in(&self, text: &str) -> Vec<Range<usize>> {
        find_matches(text, &self.needle)
    }

    /// Whether one line's text matches the search (false without one).
    pub fn is_match_text(&self, text: &str) -> bool {
        has_match(text, &self.needle)
    }

    fn is_match(&self, buf: &LogBuffer, seq: u64) -> bool {
        buf.get(seq).is_some_and(|l| self.is_match_text(&l.text))
    }

    /// `n`: the next matching line below the current one (wrapping to the top); the view
    /// pauses with it on screen. Returns the line, or None when nothing matches.
    pub fn search_next(&mut self, buf: &LogBuffer, height: usize) -> Option<u64> {
        self.search(buf, height, true)
    }

    /// `N`: the previous matching line (wrapping to the bottom).
    pub fn search_prev(&mut self, buf: &LogBuffer, height: usize) -> Option<u64> {
        self.search(buf, height, false)
    }

    fn search(&mut self, buf: &LogBuffer, height: usize, forward: bool) -> Option<u64> {
        if self.needle.is_empty() || buf.is_empty() {
            return None;
        }
        let (first, end) = (buf.first_seq(), buf.end_seq());
        let n = (end - first) as i64;
        // Positions relative to the oldest line. Start from the current match, else from the
        // screen: going forward from just above its top (following: from the newest line,
        // so `n` wraps to the oldest), going back from just below its bottom.
        let top = (self.top_line(buf, height) - first) as i64;
        let start = match self.current_match.filter(|m| (first..end).contains(m)) {
            Some(m) => (m - first) as i64,
            None if forward && self.follow => n - 1,
            None if forward => top - 1,
            None => (top + height as i64).min(n),
        };
        let found = (1..=n).find_map(|k| {
            let rel = if forward { start + k } else { start - k };
            let seq = first + rel.rem_euclid(n) as u64;
            self.is_match(buf, seq).then_some(seq)
        })?;
        self.current_match = Some(found);
        self.follow = false;
        let top = self.top_line(buf, height);
        if found < top || found >= top + height as u64 {
            // Show the match with a little context above it.
            self.top = found.saturating_sub((height / 3) as u64).max(first);
        }
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::logs::LogLine;

    fn buf_of(lines: &[&str]) -> LogBuffer {
        let mut b = LogBuffer::new(100);
        b.push_batch(lines.iter().map(|l| LogLine::new(l)).collect());
        b
    }

    fn n_err() -> Vec<char> {
        lower_chars("ERR")
    }

    #[test]
    fn matches_are_case_insensitive_substrings() {
        let n = lower_chars("ERR");
        assert_eq!(
            find_matches("an error, Err and eRr", &n),
            [3..6, 10..13, 18..21]
        );
        assert!(find_matches("nothing", &n).is_empty());
        assert!(find_matches("x", &[]).is_empty());
        let n = lower_chars("ÄB");
        assert_eq!(find_matches("xäb", &n), vec![1..4]);
        assert_eq!(find_matches("aaaa", &lower_chars("aa")), [0..2, 2..4]);
        assert!(has_match("an Error", &n_err()));
        assert!(has_match("xäb", &lower_chars("ÄB")));
        assert!(!has_match("er ro", &n_err()));
        assert!(!has_match("x", &[]));
    }

    #[test]
    fn n_and_shift_n_move_between_matching_lines_and_wrap() {
        let b = buf_of(&["a", "hit 1", "b", "HIT 2", "c", "d", "hit 3", "e"]);
        let mut v = LogView::default();
        v.set_search("hit");
        assert_eq!(v.search_next(&b, 3), Some(1));
        assert!(!v.follow);
        assert_eq!(v.search_next(&b, 3), Some(3));
        assert_eq!(v.search_next(&b, 3), Some(6));
        // The match is on screen.
        let top = v.top_line(&b, 3);
        assert!((top..top + 3).contains(&6), "top {top}");
        assert_eq!(v.search_next(&b, 3), Some(1));
        assert_eq!(v.search_prev(&b, 3), Some(6));
        assert_eq!(v.search_prev(&b, 3), Some(3));
        v.set_search("nope");
        assert_eq!(v.search_next(&b, 3), None);
        v.set_search("");
        assert_eq!(v.search_prev(&b, 3), None);
    }

    #[test]
    fn shift_n_while_following_finds_the_newest_match() {
        let b = buf_of(&["hit a", "x", "hit b", "y", "z"]);
        let mut v = LogView::default();
        v.set_search("hit");
        assert_eq!(v.search_prev(&b, 2), Some(2));
    }

    #[test]
    fn pause_keeps_the_screen_and_scrolling_clamps() {
        let mut b = LogBuffer::new(10);
        b.push_batch((0..8).map(|i| LogLine::new(&i.to_string())).collect());
        let mut v = LogView::default();
        assert_eq!(v.top_line(&b, 3), 5);
        v.pause(&b, 3);
        b.push_batch((8..10).map(|i| LogLine::new(&i.to_string())).collect());
        assert_eq!(v.top_line(&b, 3), 5, "paused view stays put");
        v.scroll_up(&b, 3, 100);
        assert_eq!(v.top_line(&b, 3), 0);
        v.scroll_down(&b, 3, 100);
        assert_eq!(v.top_line(&b, 3), 7);
        // Lines falling out of the ring move the top along.
        v.to_top(&b);
        b.push_batch((10..14).map(|i| LogLine::new(&i.to_string())).collect());
        assert_eq!(v.top_line(&b, 3), 4);
        v.toggle_follow(&b, 3);
        assert!(v.follow);
        assert_eq!(v.top_line(&b, 3), 11);
    }

    #[test]
    fn time_ranges_give_tail_or_since() {
        let base = LogOptions {
            follow: true,
            since_time: Some("2024-01-01T00:00:00Z".into()),
            ..LogOptions::default()
        };
        let labels: Vec<String> = TimeRange::CHOICES.iter().map(|r| r.label()).collect();
        assert_eq!(labels, ["tail 100", "1m", "5m", "15m", "30m", "1h"]);
        let o = TimeRange::Tail(100).options(&base);
        assert_eq!(
            (o.tail_lines, o.since_seconds, o.since_time),
            (Some(100), None, None)
        );
        assert!(o.follow);
        let o = TimeRange::Since(900).options(&base);
        assert_eq!((o.tail_lines, o.since_seconds), (None, Some(900)));
        let mut r = TimeRange::Tail(100);
        for _ in 0..6 {
            r = r.next();
        }
        assert_eq!(r, TimeRange::Tail(100));
        assert_eq!(TimeRange::Since(60).next(), TimeRange::Since(300));
        let v = LogView {
            range: TimeRange::Since(3600),
            ..LogView::default()
        };
        let o = v.options(&LogOptions::default());
        assert_eq!((o.since_seconds, o.timestamps), (Some(3600), true));
    }
}
