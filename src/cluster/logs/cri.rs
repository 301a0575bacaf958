//! CRI log records (`<RFC3339Nano> <stdout|stderr> <P|F> <message>`) turned into the lines a
//! user reads: partial records joined, `sinceSeconds`/`sinceTime`, `timestamps` and
//! `limitBytes` applied as the kubelet does.

/// One whole line of a container's output: its partial records joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The timestamp of the line's first record, as written.
    pub ts: String,
    pub text: String,
}

/// Joins `P` records with the `F` record that ends them. The writer keeps an unfinished line
/// per stream, so stdout and stderr records may interleave: each stream is joined on its own.
#[derive(Debug, Default)]
pub struct Joiner {
    pending: [Option<Line>; 2],
}

impl Joiner {
    /// Feed one record (without its newline); returns the line it completes. Malformed
    /// records (not written by a CRI writer) are skipped.
    pub fn push(&mut self, record: &str) -> Option<Line> {
        let mut parts = record.splitn(4, ' ');
        let ts = parts.next()?;
        let stream = match parts.next()? {
            "stdout" => 0,
            "stderr" => 1,
            _ => return None,
        };
        let full = match parts.next()? {
            "F" => true,
            "P" => false,
            _ => return None,
        };
        let msg = parts.next().unwrap_or("");
        let line = match self.pending[stream].take() {
            Some(mut l) => {
                l.text.push_str(msg);
                l
            }
            None => Line {
                ts: ts.to_string(),
                text: msg.to_string(),
            },
        };
        if full {
            Some(line)
        } else {
            self.pending[stream] = Some(line);
            None
        }
    }

    /// Every complete line of `text` (records separated by newlines; an unterminated last
    /// record is ignored: the writer has not finished it).
    pub fn lines(&mut self, text: &str) -> Vec<Line> {
        let complete = match text.rfind('\n') {
            Some(i) => &text[..i],
            None => return Vec::new(),
        };
        complete.split('\n').filter_map(|r| self.push(r)).collect()
    }
}

/// What the reader wants from each line, and how many bytes it still may write.
#[derive(Debug, Clone)]
pub struct Render {
    pub timestamps: bool,
    pub since: Option<jiff::Timestamp>,
    /// Bytes left under `limitBytes`; `None` is unlimited.
    pub left: Option<u64>,
}

impl Render {
    /// The limit is used up: nothing more will be written.
    pub fn exhausted(&self) -> bool {
        self.left == Some(0)
    }

    /// Append what the user sees of `line` to `out`; lines before `since` are dropped and the
    /// output is cut at the byte limit.
    pub fn write(&mut self, line: &Line, out: &mut String) {
        if self.exhausted() {
            return;
        }
        if let Some(since) = self.since
            && line.ts.parse::<jiff::Timestamp>().is_ok_and(|t| t < since)
        {
            return;
        }
        let rendered = if self.timestamps {
            format!("{} {}\n", line.ts, line.text)
        } else {
            format!("{}\n", line.text)
        };
        match self.left.as_mut() {
            None => out.push_str(&rendered),
            Some(left) => {
                let mut take = rendered
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                // Whole characters only: the output stays valid UTF-8.
                while !rendered.is_char_boundary(take) {
                    take -= 1;
                }
                out.push_str(&rendered[..take]);
                *left = if take < rendered.len() {
                    0
                } else {
                    *left - take as u64
                };
            }
        }
    }

    pub fn write_all(&mut self, lines: &[Line]) -> String {
        let mut out = String::new();
        for l in lines {
            self.write(l, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(timestamps: bool) -> Render {
        Render {
            timestamps,
            since: None,
            left: None,
        }
    }

    #[test]
    fn partial_records_join_per_stream() {
        let text = "2024-01-01T00:00:00.1Z stdout F one\n\
            2024-01-01T00:00:01Z stdout P tw\n\
            2024-01-01T00:00:01.5Z stderr F err\n\
            2024-01-01T00:00:02Z stdout F o\n\
            garbage\n\
            2024-01-01T00:00:03Z stdout F unfinished";
        let lines = Joiner::default().lines(text);
        let got: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.ts.as_str(), l.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2024-01-01T00:00:00.1Z", "one"),
                ("2024-01-01T00:00:01.5Z", "err"),
                ("2024-01-01T00:00:01Z", "two"),
            ]
        );
        assert_eq!(
            render(true).write_all(&lines),
            "2024-01-01T00:00:00.1Z one\n2024-01-01T00:00:01.5Z err\n2024-01-01T00:00:01Z two\n"
        );
        assert_eq!(render(false).write_all(&lines), "one\nerr\ntwo\n");
    }

    #[test]
    fn since_and_limit_bytes() {
        let lines = Joiner::default()
            .lines("2024-01-01T00:00:00Z stdout F old\n2024-01-01T00:01:00Z stdout F néw\n");
        let mut r = Render {
            timestamps: false,
            since: Some("2024-01-01T00:00:30Z".parse().unwrap()),
            left: None,
        };
        assert_eq!(r.write_all(&lines), "néw\n");
        // "é" is two bytes: a cut inside it keeps the output valid.
        let mut r = Render {
            timestamps: false,
            since: None,
            left: Some(6),
        };
        assert_eq!(r.write_all(&lines), "old\nn");
        assert!(r.exhausted());
        let mut r = Render {
            timestamps: false,
            since: None,
            left: Some(4),
        };
        assert_eq!(r.write_all(&lines), "old\n");
        assert!(r.exhausted());
    }
}
