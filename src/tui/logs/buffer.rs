//! The bounded line buffer behind the logs pane.

use super::ansi::{self, StyleRun};
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Lines kept by default (the config's log buffer setting overrides it).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Which output stream a line came from, when the source says (raw CRI records do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Log,
    /// A `── container restarted ──` marker the console inserted.
    Restart,
}

/// One log line, parsed once when it arrives (off the UI thread).
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// The RFC3339 timestamp as the server wrote it (with the `timestamps` option).
    pub ts: Option<Box<str>>,
    /// The container, for all-containers mode (the pane prefixes it in its colour).
    pub container: Option<Arc<str>>,
    pub stream: Option<StreamKind>,
    /// The text without ANSI escapes: what search matches and what is saved.
    pub text: Box<str>,
    /// SGR styles over `text`; empty for lines without colour codes.
    pub styles: Box<[StyleRun]>,
    pub kind: LineKind,
    /// Stable colour index of `container`, given by the buffer.
    pub colour: u8,
}

impl LogLine {
    /// A line of output; ANSI codes in `raw` become styles.
    pub fn new(raw: &str) -> LogLine {
        let (text, styles) = ansi::parse(raw);
        LogLine {
            ts: None,
            container: None,
            stream: None,
            text: text.into_boxed_str(),
            styles: styles.into_boxed_slice(),
            kind: LineKind::Log,
            colour: 0,
        }
    }

    pub fn with_ts(mut self, ts: &str) -> LogLine {
        self.ts = Some(ts.into());
        self
    }

    pub fn with_container(mut self, c: Arc<str>) -> LogLine {
        self.container = Some(c);
        self
    }

    /// `tag`: prefix it with the container, like the lines of all-containers mode.
    fn marker(container: Option<&str>, tag: bool) -> LogLine {
        let text = match container {
            Some(c) => format!("── container {c} restarted ──"),
            None => "── container restarted ──".to_string(),
        };
        LogLine {
            kind: LineKind::Restart,
            container: container.filter(|_| tag).map(Arc::from),
            ..LogLine::new(&text)
        }
    }
}

/// A ring of the last `capacity` lines. Lines are numbered from the first ever pushed, so a
/// paused view stays on the same text while new lines push old ones out.
#[derive(Debug)]
pub struct LogBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Sequence number of `lines[0]` (= lines that fell out or never got in).
    first: u64,
    dropped: u64,
    /// Containers in the order first seen: the index is the colour.
    containers: Vec<Arc<str>>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(DEFAULT_CAPACITY)
    }
}

impl LogBuffer {
    /// A buffer of at most `capacity` lines (at least one).
    pub fn new(capacity: usize) -> LogBuffer {
        let capacity = capacity.max(1);
        LogBuffer {
            lines: VecDeque::with_capacity(capacity.min(65_536)),
            capacity,
            first: 0,
            dropped: 0,
            containers: Vec::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines lost: fallen out of the ring, or dropped by a lagging tail (see `note_dropped`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Sequence number of the oldest line kept.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// Sequence number one past the newest line.
    pub fn end_seq(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    /// The line with sequence number `seq`, if still kept.
    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let i = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.lines.get(i)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// Count lines lost before they reached the buffer (the tail coalesced under lag).
    pub fn note_dropped(&mut self, n: u64) {
        self.dropped += n;
        self.first += n;
    }

    fn colour_of(&mut self, c: &Arc<str>) -> u8 {
        let i = match self.containers.iter().position(|k| k == c) {
            Some(i) => i,
            None => {
                self.containers.push(c.clone());
                self.containers.len() - 1
            }
        };
        (i % 256) as u8
    }

    pub fn push(&mut self, mut line: LogLine) {
        if let Some(c) = &line.container {
            line.colour = self.colour_of(&c.clone());
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
            self.dropped += 1;
            self.first += 1;
        }
        self.lines.push_back(line);
    }

    /// Append a batch. Lines of the batch that could not survive anyway are skipped up front,
    /// so a huge batch costs its own length and no more.
    pub fn push_batch(&mut self, lines: Vec<LogLine>) {
        let skip = lines.len().saturating_sub(self.capacity);
        if skip > 0 {
            self.note_dropped(skip as u64);
        }
        for line in lines.into_iter().skip(skip) {
            self.push(line);
        }
    }

    /// Insert a `── container restarted ──` marker (the tail reopened on a new run).
    pub fn mark_restart(&mut self, container: Option<&str>) {
        self.mark_restart_in(container, true);
    }

    /// The marker naming `container`; `tag` prefixes it with the container like the lines of
    /// all-containers mode (one container's pane names it without a prefix).
    pub fn mark_restart_in(&mut self, container: Option<&str>, tag: bool) {
        self.push(LogLine::marker(container, tag));
    }

    /// Forget every line (a new subscription with another range or container).
    pub fn clear(&mut self) {
        self.first = self.end_seq();
        self.lines.clear();
        self.dropped = 0;
    }

    /// Write the kept lines (plain text, ANSI codes removed) to `path`; returns the count.
    pub fn save(&self, path: &Path, timestamps: bool) -> Result<usize, String> {
        let fail = |e: std::io::Error| format!("cannot save logs to {}: {e}", path.display());
        let file = std::fs::File::create(path).map_err(fail)?;
        let mut out = std::io::BufWriter::new(file);
        for l in &self.lines {
            if timestamps && let Some(ts) = &l.ts {
                write!(out, "{ts} ").map_err(fail)?;
            }
            if let Some(c) = &l.container {
                write!(out, "[{c}] ").map_err(fail)?;
            }
            writeln!(out, "{}", l.text).map_err(fail)?;
        }
        out.flush().map_err(fail)?;
        Ok(self.lines.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(b: &LogBuffer) -> Vec<String> {
        b.iter().map(|l| l.text.to_string()).collect()
    }

    fn batch(range: std::ops::Range<usize>) -> Vec<LogLine> {
        range.map(|i| LogLine::new(&format!("line {i}"))).collect()
    }

    #[test]
    fn keeps_the_last_capacity_lines_and_counts_the_rest() {
        let mut b = LogBuffer::new(3);
        b.push_batch(batch(0..2));
        assert_eq!(b.dropped(), 0);
        assert_eq!(texts(&b), ["line 0", "line 1"]);
        b.push_batch(batch(2..5));
        assert_eq!(texts(&b), ["line 2", "line 3", "line 4"]);
        assert_eq!(b.dropped(), 2);
        assert_eq!((b.first_seq(), b.end_seq()), (2, 5));
        assert_eq!(b.get(3).unwrap().text.as_ref(), "line 3");
        assert!(b.get(1).is_none());
        assert!(b.get(5).is_none());
    }

    #[test]
    fn a_batch_larger_than_the_buffer_keeps_its_tail() {
        let mut b = LogBuffer::new(4);
        b.push_batch(batch(0..1));
        b.push_batch(batch(1..11));
        assert_eq!(texts(&b), ["line 7", "line 8", "line 9", "line 10"]);
        assert_eq!(b.dropped(), 7);
        assert_eq!(b.first_seq(), 7);
        assert_eq!(b.get(7).unwrap().text.as_ref(), "line 7");
    }

    #[test]
    fn default_capacity_is_ten_thousand() {
        let mut b = LogBuffer::default();
        assert_eq!(b.capacity(), 10_000);
        b.push_batch(batch(0..10_001));
        assert_eq!(b.len(), 10_000);
        assert_eq!(b.dropped(), 1);
    }

    #[test]
    fn restart_marker_is_a_line_of_its_own() {
        let mut b = LogBuffer::new(10);
        b.push_batch(batch(0..2));
        b.mark_restart(Some("app"));
        b.push_batch(batch(2..3));
        let l = b.get(2).unwrap();
        assert_eq!(l.kind, LineKind::Restart);
        assert_eq!(l.text.as_ref(), "── container app restarted ──");
        assert_eq!(b.get(3).unwrap().kind, LineKind::Log);
        b.mark_restart(None);
        assert_eq!(b.get(4).unwrap().text.as_ref(), "── container restarted ──");
        b.mark_restart_in(Some("app"), false);
        let l = b.get(5).unwrap();
        assert_eq!(l.text.as_ref(), "── container app restarted ──");
        assert_eq!(l.container, None);
    }

    #[test]
    fn containers_keep_their_colour() {
        let mut b = LogBuffer::new(10);
        let (a, s): (Arc<str>, Arc<str>) = ("app".into(), "sidecar".into());
        for c in [&a, &s, &a, &s] {
            b.push(LogLine::new("x").with_container(c.clone()));
        }
        let colours: Vec<u8> = b.iter().map(|l| l.colour).collect();
        assert_eq!(colours, [0, 1, 0, 1]);
    }

    #[test]
    fn dropped_upstream_is_counted_and_shifts_numbering() {
        let mut b = LogBuffer::new(10);
        b.push_batch(batch(0..2));
        b.note_dropped(5);
        assert_eq!(b.dropped(), 5);
        b.push_batch(batch(7..8));
        assert_eq!(b.end_seq(), 8);
        assert_eq!(b.get(7).unwrap().text.as_ref(), "line 7");
    }

    #[test]
    fn save_writes_plain_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = LogBuffer::new(10);
        b.push(LogLine::new("\x1b[31mred\x1b[0m").with_ts("2024-01-01T00:00:00Z"));
        b.push(LogLine::new("two").with_container("app".into()));
        let p = dir.path().join("out.log");
        assert_eq!(b.save(&p, true).unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "2024-01-01T00:00:00Z red\n[app] two\n"
        );
        b.save(&p, false).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "red\n[app] two\n");
        let err = b.save(&dir.path().join("no/such/dir"), false).unwrap_err();
        assert!(err.starts_with("cannot save logs to "), "{err}");
    }
}
