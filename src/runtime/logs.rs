//! Container log files in the CRI format the kubelet uses:
//! `<RFC3339Nano> <stdout|stderr> <P|F> <message>` per record, one file per container and
//! restart (`<dir>/<restartCount>.log`), rotated by size. Lines longer than `MAX_RECORD` are
//! split into `P` (partial) records ending with an `F` record; readers join them.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Longest message in one record (containerd's default, 16 KiB).
pub const MAX_RECORD: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// When to rotate and how many rotated files to keep (the kubelet's containerLogMaxSize and
/// containerLogMaxFiles: 10 MiB × 5).
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub max_size: u64,
    pub max_files: usize,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_size: 10 * 1024 * 1024,
            max_files: 5,
        }
    }
}

/// Writes one container run's stdout and stderr into its CRI log file.
pub struct LogWriter {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    rotation: Rotation,
    /// Bytes of an unfinished line, per stream.
    pending: [Vec<u8>; 2],
}

fn open_append(path: &Path) -> io::Result<(BufWriter<File>, u64)> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    let size = f.metadata()?.len();
    Ok((BufWriter::with_capacity(16 * 1024, f), size))
}

impl LogWriter {
    /// Open (appending) `<dir>/<restart>.log`, creating `dir`.
    pub fn open(dir: &Path, restart: u32, rotation: Rotation) -> io::Result<LogWriter> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{restart}.log"));
        let (out, size) = open_append(&path)?;
        Ok(LogWriter {
            path,
            out,
            size,
            rotation,
            pending: [Vec::new(), Vec::new()],
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn record(&mut self, stream: Stream, full: bool, msg: &[u8]) -> io::Result<()> {
        let ts = jiff::Timestamp::now();
        let head = format!("{ts} {} {} ", stream.as_str(), if full { "F" } else { "P" });
        self.out.write_all(head.as_bytes())?;
        self.out.write_all(msg)?;
        self.out.write_all(b"\n")?;
        self.size += (head.len() + msg.len() + 1) as u64;
        if self.size >= self.rotation.max_size {
            self.rotate()?;
        }
        Ok(())
    }

    /// Bytes read from a container's pipe: complete lines become `F` records; an unfinished
    /// line waits for the rest, unless it grows past `MAX_RECORD` (then it goes out as `P`).
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> io::Result<()> {
        let i = stream as usize;
        while let Some(nl) = data.iter().position(|b| *b == b'\n') {
            let (line, rest) = (&data[..nl], &data[nl + 1..]);
            if self.pending[i].is_empty() {
                self.emit_line(stream, line)?;
            } else {
                let mut whole = std::mem::take(&mut self.pending[i]);
                whole.extend_from_slice(line);
                self.emit_line(stream, &whole)?;
            }
            data = rest;
        }
        self.pending[i].extend_from_slice(data);
        while self.pending[i].len() >= MAX_RECORD {
            let chunk: Vec<u8> = self.pending[i].drain(..MAX_RECORD).collect();
            self.record(stream, false, &chunk)?;
        }
        Ok(())
    }

    fn emit_line(&mut self, stream: Stream, line: &[u8]) -> io::Result<()> {
        let mut rest = line;
        while rest.len() > MAX_RECORD {
            let (chunk, tail) = rest.split_at(MAX_RECORD);
            self.record(stream, false, chunk)?;
            rest = tail;
        }
        self.record(stream, true, rest)
    }

    /// The stream ended: an unfinished last line is written as a complete record.
    pub fn close_stream(&mut self, stream: Stream) -> io::Result<()> {
        let i = stream as usize;
        if !self.pending[i].is_empty() {
            let last = std::mem::take(&mut self.pending[i]);
            self.record(stream, true, &last)?;
        }
        self.out.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// `N.log` becomes `N.log.<timestamp>`; the oldest rotated files beyond `max_files - 1`
    /// are removed, so at most `max_files` files exist with the live one.
    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let stamp = jiff::Timestamp::now()
            .strftime("%Y%m%d-%H%M%S%.6f")
            .to_string();
        let rotated = PathBuf::from(format!("{}.{stamp}", self.path.display()));
        std::fs::rename(&self.path, &rotated)?;
        let (out, size) = open_append(&self.path)?;
        self.out = out;
        self.size = size;
        let mut old = rotated_files(&self.path);
        let keep = self.rotation.max_files.saturating_sub(1);
        if old.len() > keep {
            old.sort();
            for f in &old[..old.len() - keep] {
                let _ = std::fs::remove_file(f);
            }
        }
        Ok(())
    }
}

/// `N.log.<timestamp>` files next to `N.log`, in no particular order.
pub fn rotated_files(live: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (live.parent(), live.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let prefix = format!("{name}.");
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.starts_with(&prefix))
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn records(path: &Path) -> Vec<(String, String, String)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let mut p = l.splitn(4, ' ');
                let ts = p.next().unwrap();
                assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{ts}");
                let s = p.next().unwrap().to_string();
                let t = p.next().unwrap().to_string();
                (s, t, p.next().unwrap_or("").to_string())
            })
            .collect()
    }

    #[test]
    fn lines_partials_and_streams() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), 0, Rotation::default()).unwrap();
        w.write(Stream::Stdout, b"one\ntw").unwrap();
        w.write(Stream::Stderr, b"err\n").unwrap();
        w.write(Stream::Stdout, b"o\nlast").unwrap();
        w.close_stream(Stream::Stdout).unwrap();
        let r = records(&dir.path().join("0.log"));
        let got: Vec<(&str, &str, &str)> = r
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("stdout", "F", "one"),
                ("stderr", "F", "err"),
                ("stdout", "F", "two"),
                ("stdout", "F", "last")
            ]
        );
    }

    #[test]
    fn long_lines_are_split_into_partial_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), 1, Rotation::default()).unwrap();
        let long = vec![b'x'; MAX_RECORD * 2 + 10];
        w.write(Stream::Stdout, &long).unwrap();
        w.write(Stream::Stdout, b"\n").unwrap();
        w.flush().unwrap();
        let r = records(&dir.path().join("1.log"));
        let tags: Vec<&str> = r.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(tags, vec!["P", "P", "F"]);
        assert_eq!(r.iter().map(|(_, _, m)| m.len()).sum::<usize>(), long.len());
    }

    #[test]
    fn rotation_keeps_at_most_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(
            dir.path(),
            0,
            Rotation {
                max_size: 2000,
                max_files: 3,
            },
        )
        .unwrap();
        for i in 0..500 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        w.flush().unwrap();
        let live = dir.path().join("0.log");
        assert!(live.exists());
        assert_eq!(rotated_files(&live).len(), 2);
    }

    /// No line is lost when a container writes fast: a million lines through a pipe.
    #[test]
    fn a_million_lines_through_a_pipe_are_all_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (mut rx, mut tx) = std::io::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            let mut buf = BufWriter::new(&mut tx);
            for i in 0..1_000_000u32 {
                writeln!(buf, "line {i}").unwrap();
            }
        });
        let rotation = Rotation {
            max_size: 1 << 40,
            max_files: 5,
        };
        let mut w = LogWriter::open(dir.path(), 0, rotation).unwrap();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = rx.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            w.write(Stream::Stdout, &chunk[..n]).unwrap();
        }
        writer.join().unwrap();
        w.close_stream(Stream::Stdout).unwrap();
        let text = std::fs::read_to_string(dir.path().join("0.log")).unwrap();
        let mut count = 0u32;
        for (i, l) in text.lines().enumerate() {
            assert!(l.ends_with(&format!(" stdout F line {i}")), "{l}");
            count += 1;
        }
        assert_eq!(count, 1_000_000);
    }
}
