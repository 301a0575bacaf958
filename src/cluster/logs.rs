//! Reading pod logs from the CRI-format files the node agent writes:
//! `<logs>/<ns>_<pod>_<uid>/<container>/<restartCount>.log`, lines
//! `<RFC3339Nano> <stdout|stderr> <P|F> <message>`.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::LogOptions;
use crate::cluster::LogStream;
use crate::store::Store;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Directory of one container's log files.
pub fn container_dir(log_dir: &Path, pod: &Value, container: &str) -> PathBuf {
    log_dir
        .join(format!(
            "{}_{}_{}",
            pod.namespace().unwrap_or("default"),
            pod.name(),
            pod.uid()
        ))
        .join(container)
}

fn container_names(pod: &Value) -> Vec<String> {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|f| pod.pointer(&format!("/spec/{f}")).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn pick_container(pod: &Value, wanted: Option<&str>) -> ApiResult<String> {
    let all = container_names(pod);
    match wanted {
        Some(c) if all.iter().any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {}",
            pod.name()
        ))),
        None => {
            let main: Vec<&Value> = pod
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            match main.as_slice() {
                [one] => Ok(one
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()),
                _ => Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {}, choose one of: [{}]",
                    pod.name(),
                    all.join(" ")
                ))),
            }
        }
    }
}

/// Restart numbers that have a log file, ascending.
fn restarts(dir: &Path) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

/// One parsed CRI line rendered as the user wants it; `None` for malformed lines.
fn render(line: &str, opts: &LogOptions, since: Option<jiff::Timestamp>) -> Option<String> {
    let mut parts = line.splitn(4, ' ');
    let ts = parts.next()?;
    let _stream = parts.next()?;
    let tag = parts.next()?;
    let msg = parts.next().unwrap_or("");
    if let Some(since) = since
        && ts.parse::<jiff::Timestamp>().is_ok_and(|t| t < since)
    {
        return None;
    }
    let end = if tag == "P" { "" } else { "\n" };
    Some(if opts.timestamps {
        format!("{ts} {msg}{end}")
    } else {
        format!("{msg}{end}")
    })
}

fn render_all(text: &str, opts: &LogOptions, since: Option<jiff::Timestamp>) -> String {
    let lines: Vec<String> = text
        .lines()
        .filter_map(|l| render(l, opts, since))
        .collect();
    let skip = match opts.tail_lines {
        Some(n) if n >= 0 => lines.len().saturating_sub(n as usize),
        _ => 0,
    };
    lines[skip..].concat()
}

/// A stream of a container's log; with `follow` it keeps reading new lines (and the next
/// restart's file) until the pod is gone.
pub fn stream(
    log_dir: &Path,
    pod: &Value,
    opts: &LogOptions,
    store: Arc<Store>,
) -> ApiResult<LogStream> {
    let container = pick_container(pod, opts.container.as_deref())?;
    let dir = container_dir(log_dir, pod, &container);
    let files = restarts(&dir);
    let chosen = if opts.previous {
        match files.len() {
            n if n >= 2 => files[n - 2],
            _ => {
                return Err(ApiError::bad_request(format!(
                    "previous terminated container {container:?} in pod {:?} not found",
                    pod.name()
                )));
            }
        }
    } else {
        match files.last() {
            Some(r) => *r,
            None => {
                return Err(ApiError::bad_request(format!(
                    "container {container:?} in pod {:?} is waiting to start: ContainerCreating",
                    pod.name()
                )));
            }
        }
    };
    let since = opts
        .since_seconds
        .map(|s| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s));
    let path = dir.join(format!("{chosen}.log"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let first = Bytes::from(render_all(&text, opts, since));
    let head = futures::stream::iter([Ok(first)]);
    if !opts.follow || opts.previous {
        return Ok(head.boxed());
    }
    let state = Follow {
        dir,
        restart: chosen,
        offset: text.len() as u64,
        partial: String::new(),
        opts: opts.clone(),
        store,
        namespace: pod.namespace().unwrap_or("default").to_string(),
        name: pod.name().to_string(),
        uid: pod.uid().to_string(),
        idle: 0,
    };
    let tail = futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(chunk) = st.poll() {
                return Some((Ok(Bytes::from(chunk)), st));
            }
            if !st.pod_alive() {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Ok(head.chain(tail).boxed())
}

struct Follow {
    dir: PathBuf,
    restart: u64,
    offset: u64,
    partial: String,
    opts: LogOptions,
    store: Arc<Store>,
    namespace: String,
    name: String,
    uid: String,
    idle: u32,
}

impl Follow {
    /// New complete lines since the last call, switching to a newer restart's file when the
    /// current one is finished.
    fn poll(&mut self) -> Option<String> {
        let path = self.dir.join(format!("{}.log", self.restart));
        let mut buf = Vec::new();
        if let Ok(mut f) = std::fs::File::open(&path)
            && f.seek(SeekFrom::Start(self.offset)).is_ok()
        {
            let _ = f.read_to_end(&mut buf);
        }
        if buf.is_empty() {
            if let Some(next) = restarts(&self.dir).into_iter().find(|r| *r > self.restart) {
                self.restart = next;
                self.offset = 0;
                self.partial.clear();
                return self.poll();
            }
            return None;
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let cut = self.partial.rfind('\n')?;
        let complete: String = self.partial.drain(..=cut).collect();
        Some(render_all(
            &complete,
            &LogOptions {
                tail_lines: None,
                ..self.opts.clone()
            },
            None,
        ))
    }

    /// Checked about once a second: following stops when the pod is deleted or replaced.
    fn pod_alive(&mut self) -> bool {
        self.idle += 1;
        if !self.idle.is_multiple_of(10) {
            return true;
        }
        let Some(kind) = kinds::lookup("pods") else {
            return false;
        };
        match self.store.get(kind, Some(&self.namespace), &self.name) {
            Ok(p) => p.uid() == self.uid,
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cri_lines_with_tail_and_partials() {
        let text = "2024-01-01T00:00:00.1Z stdout F one\n2024-01-01T00:00:01Z stderr P tw\n2024-01-01T00:00:01Z stderr F o\n2024-01-01T00:00:02Z stdout F three\n";
        let o = LogOptions::default();
        assert_eq!(render_all(text, &o, None), "one\ntwo\nthree\n");
        let o = LogOptions {
            tail_lines: Some(1),
            ..Default::default()
        };
        assert_eq!(render_all(text, &o, None), "three\n");
        let o = LogOptions {
            timestamps: true,
            tail_lines: Some(1),
            ..Default::default()
        };
        assert_eq!(render_all(text, &o, None), "2024-01-01T00:00:02Z three\n");
    }

    /// What the runtime writes (long lines split into partial records) reads back whole.
    #[test]
    fn reads_back_what_the_runtime_writes() {
        use crate::runtime::logs::{LogWriter, MAX_RECORD, Rotation, Stream};
        let dir = tempfile::tempdir().unwrap();
        let mut w = LogWriter::open(dir.path(), 0, Rotation::default()).unwrap();
        let long = "y".repeat(MAX_RECORD * 3 + 7);
        let text = format!("short\n{long}\nafter\n");
        w.write(Stream::Stdout, text.as_bytes()).unwrap();
        w.flush().unwrap();
        let raw = std::fs::read_to_string(dir.path().join("0.log")).unwrap();
        assert_eq!(render_all(&raw, &LogOptions::default(), None), text);
    }

    #[test]
    fn container_choice_is_explained() {
        let pod = serde_json::json!({"metadata":{"name":"p"},"spec":{"containers":[{"name":"a"},{"name":"b"}]}});
        let e = pick_container(&pod, None).unwrap_err();
        assert_eq!(
            e.message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert_eq!(pick_container(&pod, Some("b")).unwrap(), "b");
        assert!(pick_container(&pod, Some("c")).is_err());
    }
}
