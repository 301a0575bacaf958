//! The search's side of the follower: the typed query, and which kept lines match it, kept
//! in step with the buffer so the title's `3/17` costs nothing per frame.

use super::buffer::LogBuffer;
use super::view::LogView;
use std::collections::VecDeque;

/// Sequence numbers of the matching lines, oldest first.
#[derive(Debug, Default)]
pub(crate) struct MatchIndex {
    lines: VecDeque<u64>,
    /// Lines before this were scanned.
    scanned: u64,
    /// The query the index was built for.
    query: String,
}

impl MatchIndex {
    /// Catch up with the buffer and the view's query: new lines are scanned once, lines that
    /// fell out are forgotten, and a changed query rescans what is kept.
    pub fn sync(&mut self, buf: &LogBuffer, view: &LogView) {
        if view.query() != self.query {
            self.query = view.query().to_string();
            self.lines.clear();
            self.scanned = buf.first_seq();
        }
        while self.lines.front().is_some_and(|&s| s < buf.first_seq()) {
            self.lines.pop_front();
        }
        if self.query.is_empty() {
            self.scanned = buf.end_seq();
            return;
        }
        for seq in self.scanned.max(buf.first_seq())..buf.end_seq() {
            if buf.get(seq).is_some_and(|l| view.is_match_text(&l.text)) {
                self.lines.push_back(seq);
            }
        }
        self.scanned = buf.end_seq();
    }

    pub fn count(&self) -> usize {
        self.lines.len()
    }

    /// 1-based position of line `seq` among the matches.
    pub fn position(&self, seq: u64) -> Option<usize> {
        self.lines.binary_search(&seq).ok().map(|i| i + 1)
    }
}

/// The query line while the user types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchInput {
    pub text: String,
    /// The query before typing began (Esc puts it back).
    pub before: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::logs::LogLine;

    #[test]
    fn index_follows_new_lines_evictions_and_query_changes() {
        let mut b = LogBuffer::new(4);
        let mut v = LogView::default();
        let mut ix = MatchIndex::default();
        let push = |b: &mut LogBuffer, t: &[&str]| {
            b.push_batch(t.iter().map(|t| LogLine::new(t)).collect())
        };
        push(&mut b, &["err 0", "ok", "ERR 2"]);
        ix.sync(&b, &v);
        assert_eq!(ix.count(), 0, "no query, no matches");
        v.set_search("err");
        ix.sync(&b, &v);
        assert_eq!(ix.count(), 2);
        assert_eq!(
            (ix.position(0), ix.position(2), ix.position(1)),
            (Some(1), Some(2), None)
        );
        // Line 0 falls out; line 4 arrives and matches.
        push(&mut b, &["x", "an error"]);
        ix.sync(&b, &v);
        assert_eq!(ix.count(), 2);
        assert_eq!((ix.position(2), ix.position(4)), (Some(1), Some(2)));
        v.set_search("x");
        ix.sync(&b, &v);
        assert_eq!((ix.count(), ix.position(3)), (1, Some(1)));
        b.clear();
        ix.sync(&b, &v);
        assert_eq!(ix.count(), 0);
    }
}
