//! Reading pod logs from the CRI-format files the node agent writes:
//! `<logs>/<ns>_<pod>_<uid>/<container>/<restartCount>.log`, rotated by size into
//! `<restartCount>.log.<stamp>` (see `runtime::logs`). What the API server's `pods/log` does
//! for one container: pick the run (current or `previous`), apply `tailLines`,
//! `sinceSeconds`/`sinceTime`, `timestamps` and `limitBytes`, and with `follow` keep reading
//! until that run of the container stops.

mod cri;
mod follow;
#[cfg(test)]
mod tests;

use crate::api::error::{ApiError, ApiResult, FieldError};
use crate::api::object::ObjectExt;
use crate::api::request::LogOptions;
use crate::cluster::LogStream;
use crate::runtime::logs::rotated_files;
use crate::store::Store;
use bytes::Bytes;
use cri::{Joiner, Line, Render};
use follow::{Follow, Step, Who};
use futures::StreamExt;
use serde_json::{Value, json};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

fn names_in(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The container a request reads, as the API server picks it: the named one (any of
/// containers, init or ephemeral containers), else the only container.
fn pick_container(pod: &Value, wanted: Option<&str>) -> ApiResult<String> {
    let main = names_in(pod, "containers");
    let init = names_in(pod, "initContainers");
    let ephemeral = names_in(pod, "ephemeralContainers");
    match wanted.filter(|c| !c.is_empty()) {
        Some(c) if main.iter().chain(&init).chain(&ephemeral).any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {}",
            pod.name()
        ))),
        None => match main.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {}",
                pod.name()
            ))),
            _ => {
                let mut msg = format!(
                    "a container name must be specified for pod {}, choose one of: [{}]",
                    pod.name(),
                    main.join(" ")
                );
                if !init.is_empty() {
                    msg.push_str(&format!(
                        " or one of the init containers: [{}]",
                        init.join(" ")
                    ));
                }
                Err(ApiError::bad_request(msg))
            }
        },
    }
}

/// The status of a container (regular, init or ephemeral) by name.
fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    [
        "containerStatuses",
        "initContainerStatuses",
        "ephemeralContainerStatuses",
    ]
    .iter()
    .filter_map(|f| {
        pod.pointer(&format!("/status/{f}"))
            .and_then(Value::as_array)
    })
    .flatten()
    .find(|s| s.get("name").and_then(Value::as_str) == Some(container))
}

/// Restart numbers that have a log file (live `N.log` or rotated `N.log.<stamp>`), ascending.
fn restarts(dir: &Path) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name();
                    let name = name.to_str()?;
                    let (n, rest) = name.split_once(".log")?;
                    (rest.is_empty() || rest.starts_with('.'))
                        .then(|| n.parse().ok())
                        .flatten()
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out.dedup();
    out
}

/// Why a container has no log to show, worded as the kubelet does.
fn no_log_yet(pod: &Value, container: &str) -> ApiError {
    let st = container_status(pod, container);
    let what = if st.is_some_and(|s| s.pointer("/state/terminated").is_some()) {
        "is terminated".to_string()
    } else {
        let reason = st
            .and_then(|s| s.pointer("/state/waiting/reason"))
            .and_then(Value::as_str)
            .unwrap_or("ContainerCreating");
        let reason = match reason {
            "ErrImagePull" => "image can't be pulled",
            "ImagePullBackOff" => "trying and failing to pull image",
            r => r,
        };
        format!("is waiting to start: {reason}")
    };
    ApiError::bad_request(format!(
        "container {container:?} in pod {:?} {what}",
        pod.name()
    ))
}

/// The run to read: the newest with a file, or for `previous` the run before the current one
/// (`restartCount - 1` by the status, else the newest file below the current run).
fn choose_run(pod: &Value, container: &str, dir: &Path, previous: bool) -> ApiResult<u64> {
    let runs = restarts(dir);
    let count = container_status(pod, container)
        .and_then(|s| s.get("restartCount"))
        .and_then(Value::as_u64);
    if !previous {
        return runs
            .last()
            .copied()
            .ok_or_else(|| no_log_yet(pod, container));
    }
    let current = count.or(runs.last().copied()).unwrap_or(0);
    let wanted = current.checked_sub(1);
    let found = match wanted {
        Some(w) if runs.contains(&w) => Some(w),
        _ => runs.iter().rev().find(|r| **r < current).copied(),
    };
    found.ok_or_else(|| {
        ApiError::bad_request(format!(
            "previous terminated container {container:?} in pod {:?} not found",
            pod.name()
        ))
    })
}

fn invalid(pod: &Value, field: &str, value: Value, detail: &str) -> ApiError {
    ApiError::invalid(
        "PodLogOptions",
        pod.name(),
        vec![FieldError::invalid(field, &value, detail)],
    )
}

/// Check the options as the API server does; returns how lines are rendered.
fn render_of(pod: &Value, opts: &LogOptions) -> ApiResult<Render> {
    if let Some(n) = opts.tail_lines.filter(|n| *n < 0) {
        return Err(invalid(
            pod,
            "tailLines",
            json!(n),
            "must be greater than or equal to 0",
        ));
    }
    if let Some(n) = opts.limit_bytes.filter(|n| *n < 1) {
        return Err(invalid(
            pod,
            "limitBytes",
            json!(n),
            "must be greater than 0",
        ));
    }
    if let Some(n) = opts.since_seconds.filter(|n| *n < 1) {
        return Err(invalid(
            pod,
            "sinceSeconds",
            json!(n),
            "must be greater than 0",
        ));
    }
    let since = match (opts.since_seconds, opts.since_time.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                pod,
                "sinceSeconds",
                json!(opts.since_seconds),
                "at most one of `sinceTime` or `sinceSeconds` may be specified",
            ));
        }
        (Some(s), None) => Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s)),
        (None, Some(t)) => Some(t.parse::<jiff::Timestamp>().map_err(|_| {
            invalid(
                pod,
                "sinceTime",
                json!(t),
                "must be an RFC3339 time such as 2024-05-01T12:00:00Z",
            )
        })?),
        (None, None) => None,
    };
    Ok(Render {
        timestamps: opts.timestamps,
        since,
        left: opts.limit_bytes.map(|n| n as u64),
    })
}

/// Every complete line of one run: its rotated files, oldest first, then the live file
/// (already open, so a rotation while listing neither loses nor repeats lines).
/// Also returns the unterminated end of the live file and the newest rotated file read.
fn read_run(
    live: &Path,
    file: Option<&mut File>,
    joiner: &mut Joiner,
) -> (Vec<Line>, Vec<u8>, Option<PathBuf>) {
    let live_ino = file
        .as_ref()
        .and_then(|f| f.metadata().ok())
        .map(|m| m.ino());
    let mut rotated = rotated_files(live);
    // Stamps sort in time order.
    rotated.sort();
    let mut lines = Vec::new();
    let mut done = None;
    for path in rotated {
        let same = std::fs::metadata(&path).is_ok_and(|m| Some(m.ino()) == live_ino);
        if same {
            // Renamed after we opened it: it is read below, through the open handle.
            done = Some(path);
            break;
        }
        if let Ok(bytes) = std::fs::read(&path) {
            lines.extend(joiner.lines(&String::from_utf8_lossy(&bytes)));
        }
        done = Some(path);
    }
    let mut rest = Vec::new();
    if let Some(f) = file {
        let mut bytes = Vec::new();
        let _ = f.read_to_end(&mut bytes);
        let cut = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        rest = bytes.split_off(cut);
        lines.extend(joiner.lines(&String::from_utf8_lossy(&bytes)));
    }
    (lines, rest, done)
}

/// A stream of one container's log; with `follow` it keeps reading new lines until that run
/// of the container stops or the pod is gone.
pub fn stream(
    log_dir: &Path,
    pod: &Value,
    opts: &LogOptions,
    store: Arc<Store>,
) -> ApiResult<LogStream> {
    let container = pick_container(pod, opts.container.as_deref())?;
    let mut render = render_of(pod, opts)?;
    let dir = container_dir(log_dir, pod, &container);
    let run = choose_run(pod, &container, &dir, opts.previous)?;
    let live = dir.join(format!("{run}.log"));
    let mut file = File::open(&live).ok();
    let mut joiner = Joiner::default();
    let (mut lines, rest, done) = read_run(&live, file.as_mut(), &mut joiner);
    if let Some(n) = opts.tail_lines {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        lines.drain(..lines.len().saturating_sub(n));
    }
    let first = render.write_all(&lines);
    let head = futures::stream::iter((!first.is_empty()).then(|| Ok(Bytes::from(first))));
    if !opts.follow || opts.previous || render.exhausted() {
        return Ok(head.boxed());
    }
    let state = Follow {
        dir,
        restart: run,
        live,
        file,
        on_live: true,
        reading: None,
        done,
        buf: rest,
        joiner,
        render,
        who: Who {
            store,
            namespace: pod.namespace().unwrap_or("default").to_string(),
            pod: pod.name().to_string(),
            uid: pod.uid().to_string(),
            container,
        },
        idle: 0,
        ending: false,
    };
    let tail = futures::stream::unfold(state, |mut st| async move {
        loop {
            match st.step() {
                Step::Data(chunk) => return Some((Ok(Bytes::from(chunk)), st)),
                Step::End => return None,
                Step::Idle => tokio::time::sleep(follow::IDLE).await,
            }
        }
    });
    Ok(head.chain(tail).boxed())
}
