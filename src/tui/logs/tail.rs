//! Ingestion: read a log stream on a tokio task and deliver parsed lines in batches.

use super::buffer::{LogLine, StreamKind};
use crate::api::request::LogOptions;
use crate::cluster::{Cluster, LogStream};
use futures::StreamExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Which log to tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    pub namespace: String,
    pub pod: String,
    /// `None` reads the pod's only container (as the API server picks it).
    pub container: Option<String>,
    /// Tag every line with the container name (all-containers mode: one tail per container
    /// feeding the same buffer).
    pub tag_container: bool,
}

/// How the tail batches and how much it holds back when the UI lags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailConfig {
    /// Deliver at least this often while lines arrive.
    pub interval: Duration,
    /// Deliver as soon as this many lines are waiting.
    pub batch_lines: usize,
    /// Lines held while the channel is full; beyond this the oldest are dropped and counted.
    /// The buffer's capacity is the natural value: older lines would fall out of it anyway.
    pub max_pending: usize,
    /// Batches in flight between the task and the UI.
    pub channel: usize,
}

impl Default for TailConfig {
    fn default() -> Self {
        TailConfig {
            interval: Duration::from_millis(16),
            batch_lines: 1_000,
            max_pending: super::DEFAULT_CAPACITY,
            channel: 4,
        }
    }
}

/// What the UI receives: lines, how many were dropped just before them, and at the end why
/// the stream stopped (`Some(Ok(()))`: it ended, e.g. the container stopped).
#[derive(Debug, Default)]
pub struct Batch {
    pub lines: Vec<LogLine>,
    pub dropped: u64,
    pub end: Option<Result<(), String>>,
}

/// Parse one line of the reader's output. With `timestamps` the line starts with an RFC3339
/// timestamp and a space; a raw CRI record (`<ts> stdout|stderr F|P <text>`) also yields its
/// stream.
pub fn parse_line(raw: &str, timestamps: bool, container: Option<&Arc<str>>) -> LogLine {
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let mut ts = None;
    let mut stream = None;
    let mut rest = raw;
    if timestamps
        && let Some((t, r)) = raw.split_once(' ')
        && t.parse::<jiff::Timestamp>().is_ok()
    {
        ts = Some(t);
        rest = r;
        let mut parts = r.splitn(3, ' ');
        if let (Some(s @ ("stdout" | "stderr")), Some("F" | "P"), Some(text)) =
            (parts.next(), parts.next(), parts.next())
        {
            stream = Some(if s == "stdout" {
                StreamKind::Stdout
            } else {
                StreamKind::Stderr
            });
            rest = text;
        }
    }
    let mut line = LogLine::new(rest);
    line.ts = ts.map(Box::from);
    line.stream = stream;
    line.container = container.cloned();
    line
}

/// Tail `target` with `opts` (set `follow` for a live tail). The task ends when the stream
/// ends or the receiver is dropped; the last batch carries `end`.
pub fn spawn_tail(
    cluster: Arc<dyn Cluster>,
    target: LogTarget,
    opts: LogOptions,
) -> (mpsc::Receiver<Batch>, JoinHandle<()>) {
    spawn_tail_with(cluster, target, opts, TailConfig::default())
}

pub fn spawn_tail_with(
    cluster: Arc<dyn Cluster>,
    target: LogTarget,
    opts: LogOptions,
    cfg: TailConfig,
) -> (mpsc::Receiver<Batch>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(cfg.channel.max(1));
    let handle = tokio::spawn(async move {
        let mut opts = opts;
        opts.container = target.container.clone();
        let tag = target
            .container
            .as_deref()
            .filter(|_| target.tag_container)
            .map(Arc::from);
        match cluster.logs(&target.namespace, &target.pod, &opts).await {
            Ok(stream) => pump(stream, opts.timestamps, tag, cfg, tx).await,
            Err(e) => {
                let _ = tx
                    .send(Batch {
                        end: Some(Err(e.to_string())),
                        ..Batch::default()
                    })
                    .await;
            }
        }
    });
    (rx, handle)
}

/// Tail an already open stream (another source, or a test's).
pub fn spawn_tail_stream(
    stream: LogStream,
    timestamps: bool,
    container: Option<Arc<str>>,
    cfg: TailConfig,
) -> (mpsc::Receiver<Batch>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(cfg.channel.max(1));
    let handle = tokio::spawn(pump(stream, timestamps, container, cfg, tx));
    (rx, handle)
}

/// Lines waiting for the UI, bounded: the oldest go first.
struct Pending {
    lines: VecDeque<LogLine>,
    dropped: u64,
    max: usize,
}

impl Pending {
    fn push(&mut self, line: LogLine) {
        if self.lines.len() >= self.max {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back(line);
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.dropped == 0
    }

    fn take(&mut self) -> Batch {
        Batch {
            lines: self.lines.drain(..).collect(),
            dropped: std::mem::take(&mut self.dropped),
            end: None,
        }
    }
}

/// Hand what is pending to the UI if the channel has room; never waits. Err: the UI is gone.
fn flush(pending: &mut Pending, tx: &mpsc::Sender<Batch>) -> Result<(), ()> {
    if pending.is_empty() {
        return Ok(());
    }
    if tx.is_closed() {
        return Err(());
    }
    // One producer: room now means the send below succeeds.
    if tx.capacity() == 0 {
        return Ok(());
    }
    match tx.try_send(pending.take()) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
        // Cannot happen with one producer; losing the batch would lose count, so say so.
        Err(mpsc::error::TrySendError::Full(b)) => {
            pending.dropped += b.dropped + b.lines.len() as u64;
            Ok(())
        }
    }
}

async fn pump(
    mut stream: LogStream,
    timestamps: bool,
    container: Option<Arc<str>>,
    cfg: TailConfig,
    tx: mpsc::Sender<Batch>,
) {
    let mut pending = Pending {
        lines: VecDeque::new(),
        dropped: 0,
        max: cfg.max_pending.max(cfg.batch_lines).max(1),
    };
    // Bytes of a line whose end has not arrived yet.
    let mut partial: Vec<u8> = Vec::new();
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = loop {
        tokio::select! {
            biased;
            chunk = stream.next() => match chunk {
                Some(Ok(bytes)) => {
                    let mut rest: &[u8] = &bytes;
                    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
                        let line = if partial.is_empty() {
                            String::from_utf8_lossy(&rest[..nl])
                        } else {
                            partial.extend_from_slice(&rest[..nl]);
                            String::from_utf8_lossy(&partial).into_owned().into()
                        };
                        pending.push(parse_line(&line, timestamps, container.as_ref()));
                        partial.clear();
                        rest = &rest[nl + 1..];
                    }
                    partial.extend_from_slice(rest);
                    if pending.lines.len() >= cfg.batch_lines {
                        if flush(&mut pending, &tx).is_err() {
                            return;
                        }
                        // A full batch just went: the next timed delivery is a whole interval
                        // away, so a flood costs max(1/interval, rate/batch_lines) deliveries.
                        tick.reset();
                        // Let the UI side run even when the stream never makes us wait.
                        tokio::task::yield_now().await;
                    }
                }
                Some(Err(e)) => break Err(e.to_string()),
                None => break Ok(()),
            },
            _ = tick.tick() => {
                if flush(&mut pending, &tx).is_err() {
                    return;
                }
            }
        }
    };
    if !partial.is_empty() {
        let line = String::from_utf8_lossy(&partial).into_owned();
        pending.push(parse_line(&line, timestamps, container.as_ref()));
    }
    // The stream is done: now waiting for the UI stalls nobody.
    let mut last = pending.take();
    last.end = Some(end);
    let _ = tx.send(last).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn stream_of(chunks: Vec<String>) -> LogStream {
        futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
    }

    #[test]
    fn parses_timestamps_and_cri_records() {
        let l = parse_line("2024-05-01T10:00:00.123456789Z hello world", true, None);
        assert_eq!(l.ts.as_deref(), Some("2024-05-01T10:00:00.123456789Z"));
        assert_eq!(l.text.as_ref(), "hello world");
        assert_eq!(l.stream, None);
        let l = parse_line("2024-05-01T10:00:00Z stderr F oops", true, None);
        assert_eq!(l.stream, Some(StreamKind::Stderr));
        assert_eq!(l.text.as_ref(), "oops");
        // Without the option a leading date is text.
        let l = parse_line("2024-05-01T10:00:00Z x", false, None);
        assert_eq!((l.ts, l.text.as_ref()), (None, "2024-05-01T10:00:00Z x"));
        // Not a timestamp: the whole line is text.
        let l = parse_line("hello there\r", true, Some(&Arc::from("app")));
        assert_eq!((l.ts, l.text.as_ref()), (None, "hello there"));
        assert_eq!(l.container.as_deref(), Some("app"));
    }

    #[tokio::test]
    async fn many_lines_arrive_in_few_batches_all_counted() {
        // 100,000 lines in chunks of 100, split mid-line to exercise the joiner.
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("line {i}\n"));
        }
        let chunks: Vec<String> = text
            .as_bytes()
            .chunks(997)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let cfg = TailConfig {
            max_pending: 1_000_000,
            ..TailConfig::default()
        };
        let (mut rx, handle) = spawn_tail_stream(stream_of(chunks), false, None, cfg);
        let (mut batches, mut lines, mut dropped, mut next) = (0, 0u64, 0, 0u64);
        let mut end = None;
        while let Some(b) = rx.recv().await {
            batches += 1;
            dropped += b.dropped;
            for l in &b.lines {
                assert_eq!(l.text.as_ref(), format!("line {next}"));
                next += 1;
            }
            lines += b.lines.len() as u64;
            end = b.end.or(end);
        }
        handle.await.unwrap();
        assert_eq!((lines, dropped), (100_000, 0));
        assert_eq!(end, Some(Ok(())));
        assert!(batches <= 101, "{batches} batches");
    }

    #[tokio::test]
    async fn a_lagging_ui_gets_the_newest_lines_and_a_drop_count() {
        let chunks: Vec<String> = (0..50_000).map(|i| format!("line {i}\n")).collect();
        let cfg = TailConfig {
            max_pending: 2_000,
            batch_lines: 1_000,
            channel: 1,
            ..TailConfig::default()
        };
        // The stream says when it was read to the end.
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let stream = stream_of(chunks)
            .chain(futures::stream::poll_fn(move |_| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                std::task::Poll::Ready(None)
            }))
            .boxed();
        let (mut rx, handle) = spawn_tail_stream(stream, false, None, cfg);
        // The UI does not read until the reader is done: the reader must not stall.
        tokio::time::timeout(Duration::from_secs(10), async {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("reader stalled"));
        let (mut lines, mut dropped, mut last) = (0u64, 0u64, String::new());
        while let Some(b) = rx.recv().await {
            lines += b.lines.len() as u64;
            dropped += b.dropped;
            if let Some(l) = b.lines.last() {
                last = l.text.to_string();
            }
        }
        assert_eq!(lines + dropped, 50_000);
        assert!(dropped > 0);
        assert_eq!(last, "line 49999");
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn stream_errors_end_the_tail_with_a_message() {
        let s = futures::stream::iter(vec![
            Ok(Bytes::from("a\nb")),
            Err(crate::api::error::ApiError::internal("boom")),
        ])
        .boxed();
        let (mut rx, _h) = spawn_tail_stream(s, false, None, TailConfig::default());
        let mut got = Vec::new();
        let mut end = None;
        while let Some(b) = rx.recv().await {
            got.extend(b.lines.into_iter().map(|l| l.text.to_string()));
            end = b.end.or(end);
        }
        // The unfinished line is delivered too.
        assert_eq!(got, ["a", "b"]);
        assert!(matches!(end, Some(Err(m)) if m.contains("boom")));
    }

    async fn collect(mut rx: mpsc::Receiver<Batch>) -> (Vec<LogLine>, Option<Result<(), String>>) {
        let (mut lines, mut end) = (Vec::new(), None);
        while let Some(b) = rx.recv().await {
            lines.extend(b.lines);
            end = b.end.or(end);
        }
        (lines, end)
    }

    #[tokio::test]
    async fn tails_a_pod_container_through_the_cluster() {
        use crate::api::request::WriteOptions;
        use crate::cluster::embedded::EmbeddedCluster;
        use crate::runtime::logs::{LogWriter, Rotation, Stream};
        use crate::store::{Store, StoreOptions};
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
        let log_dir = dir.path().join("logs");
        let c = EmbeddedCluster::new(store, log_dir.clone());
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}});
        let pod = c.create(pod, &WriteOptions::default()).await.unwrap();
        let cdir = crate::cluster::logs::container_dir(&log_dir, &pod, "app");
        let mut w = LogWriter::open(&cdir, 0, Rotation::default()).unwrap();
        w.write(Stream::Stdout, b"hello\n\x1b[31mred\x1b[0m\n")
            .unwrap();
        w.flush().unwrap();
        let cluster: Arc<dyn Cluster> = Arc::new(c);
        let target = LogTarget {
            namespace: "default".into(),
            pod: "web".into(),
            container: Some("app".into()),
            tag_container: true,
        };
        let opts = LogOptions {
            timestamps: true,
            ..LogOptions::default()
        };
        let (rx, h) = spawn_tail(cluster.clone(), target.clone(), opts.clone());
        let (lines, end) = collect(rx).await;
        h.await.unwrap();
        assert_eq!(end, Some(Ok(())));
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_ref()).collect();
        assert_eq!(texts, ["hello", "red"]);
        assert!(
            lines
                .iter()
                .all(|l| l.ts.is_some() && l.container.as_deref() == Some("app"))
        );
        assert!(!lines[1].styles.is_empty(), "ANSI parsed");
        // A pod that does not exist ends the tail with the server's message.
        let missing = LogTarget {
            pod: "nope".into(),
            ..target
        };
        let (rx, _h) = spawn_tail(cluster, missing, opts);
        let (lines, end) = collect(rx).await;
        assert!(lines.is_empty());
        assert!(matches!(end, Some(Err(m)) if m.contains("nope")));
    }
}
