//! `logs (POD | TYPE/NAME | -l SELECTOR) [CONTAINER] [-c C | --all-containers] [--prefix]
//! [-f] [-p] [--timestamps] [--tail N] [--since 5m | --since-time T] [--limit-bytes N]`, as
//! kubectl 1.32 does it: the client picks the pods and containers, the server streams each
//! container's log.

use super::args::LogsArgs;
use super::{CliError, Ctx, Io, parse_duration, target};
use crate::api::error::ApiError;
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::{ListOptions, LogOptions};
use crate::client::pod_choice::{by_logging, pod_selector};
use crate::cluster::{Cluster, LogStream};
use futures::StreamExt;
use serde_json::Value;

/// kubectl shows the last 10 lines of each pod picked by a selector unless --tail is given.
const SELECTOR_TAIL: i64 = 10;

const USAGE: &str = "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n\
    POD or TYPE/NAME is a required argument for the logs command";

/// What the command line names: the pods by a selector, or one object (and maybe the
/// container as a second argument).
#[derive(Debug, PartialEq)]
enum Source {
    Selector(String),
    Object { resource: String, name: String },
}

fn source_and_container(a: &LogsArgs) -> Result<(Source, Option<String>), CliError> {
    if let Some(sel) = &a.selector {
        if !a.targets.is_empty() {
            return Err(CliError::msg(
                "only a selector (-l) or a POD name is allowed",
            ));
        }
        return Ok((Source::Selector(sel.clone()), a.container.clone()));
    }
    let (first, container) = match a.targets.as_slice() {
        [first] => (first, a.container.clone()),
        [first, c] => {
            if a.container.is_some() {
                return Err(CliError::msg(
                    "only one of -c or an inline [CONTAINER] arg is allowed",
                ));
            }
            (first, Some(c.clone()))
        }
        _ => return Err(CliError::msg(USAGE)),
    };
    let source = match first.split_once('/') {
        Some((resource, name)) if !resource.is_empty() && !name.is_empty() => Source::Object {
            resource: resource.to_string(),
            name: name.to_string(),
        },
        Some(_) => return Err(CliError::msg(format!("invalid resource name {first:?}"))),
        None => Source::Object {
            resource: "pods".into(),
            name: first.clone(),
        },
    };
    Ok((source, container))
}

/// The log options every request shares (the container is set per request).
fn base_options(a: &LogsArgs) -> Result<LogOptions, CliError> {
    if a.all_containers
        && let Some(c) = &a.container
    {
        return Err(CliError::msg(format!(
            "--all-containers=true should not be specified with container name {c}"
        )));
    }
    let since_seconds = match &a.since {
        Some(s) => Some(parse_duration(s)?.as_secs_f64().ceil() as i64).filter(|s| *s != 0),
        None => None,
    };
    if since_seconds.is_some() && a.since_time.is_some() {
        return Err(CliError::msg(
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    if let Some(t) = &a.since_time
        && t.parse::<jiff::Timestamp>().is_err()
    {
        return Err(CliError::msg(format!(
            "invalid --since-time {t:?}: use an RFC3339 time such as 2024-05-01T12:00:00Z"
        )));
    }
    let tail = match (a.tail, &a.selector) {
        (Some(t), _) => t,
        (None, Some(_)) => SELECTOR_TAIL,
        (None, None) => -1,
    };
    if tail < -1 {
        return Err(CliError::msg("--tail must be greater than or equal to -1"));
    }
    if a.limit_bytes < 0 {
        return Err(CliError::msg("--limit-bytes must be greater than 0"));
    }
    Ok(LogOptions {
        container: None,
        follow: a.follow,
        previous: a.previous,
        timestamps: a.timestamps,
        tail_lines: (tail >= 0).then_some(tail),
        since_seconds,
        since_time: a.since_time.clone(),
        limit_bytes: (a.limit_bytes > 0).then_some(a.limit_bytes),
    })
}

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn has_container(pod: &Value, name: &str) -> bool {
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .any(|f| names(pod, f).iter().any(|n| n == name))
}

/// kubectl's list of a pod's containers in notes: `a, b, dbg (ephem), setup (init)`.
fn all_container_names(pod: &Value) -> String {
    let mut out = names(pod, "containers");
    out.extend(
        names(pod, "ephemeralContainers")
            .into_iter()
            .map(|n| format!("{n} (ephem)")),
    );
    out.extend(
        names(pod, "initContainers")
            .into_iter()
            .map(|n| format!("{n} (init)")),
    );
    out.join(", ")
}

/// kubectl's default container: the `kubectl.kubernetes.io/default-container` annotation,
/// else the first container; with the notes kubectl prints on stderr.
pub fn default_container(pod: &Value) -> (Option<String>, Vec<String>) {
    let mut notes = Vec::new();
    if let Some(d) = pod
        .annotation("kubectl.kubernetes.io/default-container")
        .filter(|d| !d.is_empty())
    {
        if has_container(pod, d) {
            return (Some(d.to_string()), notes);
        }
        notes.push(format!(
            "Default container name {d:?} not found in pod {}",
            pod.name()
        ));
    }
    let main = names(pod, "containers");
    let Some(first) = main.first() else {
        return (None, notes);
    };
    let others =
        !names(pod, "initContainers").is_empty() || !names(pod, "ephemeralContainers").is_empty();
    if main.len() > 1 || others {
        notes.push(format!(
            "Defaulted container {first:?} out of: {}",
            all_container_names(pod)
        ));
    }
    (Some(first.clone()), notes)
}

/// One container's log to read.
#[derive(Debug, Clone, PartialEq)]
struct Request {
    pod: String,
    container: String,
}

impl Request {
    fn prefix(&self) -> String {
        format!("[pod/{}/{}] ", self.pod, self.container)
    }
}

fn requests_for(
    pod: &Value,
    container: Option<&str>,
    all: bool,
    io: &mut Io<'_>,
) -> Result<Vec<Request>, CliError> {
    let req = |c: String| Request {
        pod: pod.name().to_string(),
        container: c,
    };
    if all {
        let mut out = names(pod, "initContainers");
        out.extend(names(pod, "containers"));
        out.extend(names(pod, "ephemeralContainers"));
        return Ok(out.into_iter().map(req).collect());
    }
    let container = match container {
        Some(c) if has_container(pod, c) => c.to_string(),
        Some(c) => {
            return Err(CliError::msg(format!(
                "container {c} is not valid for pod {}",
                pod.name()
            )));
        }
        None => {
            let (c, notes) = default_container(pod);
            for n in notes {
                io.errln(n);
            }
            c.ok_or_else(|| {
                CliError::msg(format!("pod {} does not have any containers", pod.name()))
            })?
        }
    };
    Ok(vec![req(container)])
}

/// The pods to read: those of the selector, the named pod, or the first pod of a controller.
async fn target_pods(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    source: &Source,
    io: &mut Io<'_>,
) -> Result<Vec<Value>, CliError> {
    let pods = kinds::lookup("pods").ok_or_else(|| CliError::msg("pods are not served"))?;
    let ns = ctx.namespace.as_str();
    let (resource, name) = match source {
        Source::Selector(sel) => {
            let opts = ListOptions {
                label_selector: Some(sel.clone()),
                ..Default::default()
            };
            let list = cluster.list(pods, Some(ns), &opts).await?;
            if list.items.is_empty() {
                io.errln(format!("No resources found in {ns} namespace."));
            }
            return Ok(list.items);
        }
        Source::Object { resource, name } => (resource, name),
    };
    let kind = target::resolve_kind(resource)?;
    if kind.kind == "Pod" {
        return Ok(vec![cluster.get(pods, Some(ns), name).await?]);
    }
    let obj = cluster.get(kind, Some(ns), name).await?;
    let sel = pod_selector(&obj).ok_or_else(|| {
        CliError::msg(format!(
            "cannot get the logs from {} {name:?}: only pods, deployments, replicasets, \
             statefulsets, daemonsets, jobs, replicationcontrollers and services have pods",
            kind.resource()
        ))
    })?;
    let opts = ListOptions {
        label_selector: Some(sel.clone()),
        ..Default::default()
    };
    let mut found = cluster.list(pods, Some(ns), &opts).await?.items;
    found.sort_by(by_logging);
    let count = found.len();
    let first = found.into_iter().next().ok_or_else(|| {
        CliError::msg(format!(
            "{}/{name} has no pods yet (selector {sel})",
            kind.resource()
        ))
    })?;
    if count > 1 {
        io.errln(format!("Found {count} pods, using pod/{}", first.name()));
    }
    Ok(vec![first])
}

/// Writes log chunks, starting each line with the request's prefix when asked.
struct Printer {
    prefix: Option<String>,
    at_line_start: bool,
}

impl Printer {
    fn write(&mut self, chunk: &[u8], io: &mut Io<'_>) -> std::io::Result<()> {
        let Some(prefix) = &self.prefix else {
            io.out.write_all(chunk)?;
            return io.out.flush();
        };
        for piece in chunk.split_inclusive(|b| *b == b'\n') {
            if self.at_line_start {
                io.out.write_all(prefix.as_bytes())?;
            }
            io.out.write_all(piece)?;
            self.at_line_start = piece.ends_with(b"\n");
        }
        io.out.flush()
    }
}

/// What to do with a failed request: stop with it, or with --ignore-errors say so and go on.
fn failed(e: ApiError, ignore: bool, io: &mut Io<'_>) -> Result<(), CliError> {
    if !ignore {
        return Err(e.into());
    }
    let _ = writeln!(io.out, "error: {}", e.message);
    Ok(())
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: LogsArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let (source, container) = source_and_container(&a)?;
    let base = base_options(&a)?;
    let pods = target_pods(cluster, ctx, &source, io).await?;
    let mut requests = Vec::new();
    for pod in &pods {
        requests.extend(requests_for(
            pod,
            container.as_deref(),
            a.all_containers,
            io,
        )?);
    }
    if a.follow && requests.len() > a.max_log_requests {
        return Err(CliError::msg(format!(
            "you are attempting to follow {} log streams, but maximum allowed concurrency is {}, \
             use --max-log-requests to increase the limit",
            requests.len(),
            a.max_log_requests
        )));
    }
    let open = |r: &Request| {
        let opts = LogOptions {
            container: Some(r.container.clone()),
            ..base.clone()
        };
        let pod = r.pod.clone();
        async move { cluster.logs(&ctx.namespace, &pod, &opts).await }
    };
    let printer = |r: &Request| Printer {
        prefix: a.prefix.then(|| r.prefix()),
        at_line_start: true,
    };
    if !a.follow || requests.len() < 2 {
        // One after the other, as kubectl reads logs it does not follow.
        for r in &requests {
            let mut p = printer(r);
            let mut stream = match open(r).await {
                Ok(s) => s,
                Err(e) => {
                    failed(e, a.ignore_errors, io)?;
                    continue;
                }
            };
            while let Some(chunk) = stream.next().await {
                match chunk {
                    // The reader went away (`| head`): stop quietly as kubectl does.
                    Ok(bytes) => {
                        if p.write(&bytes, io).is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        failed(e, a.ignore_errors, io)?;
                        break;
                    }
                }
            }
        }
        return Ok(());
    }
    // Followed together: whole lines from each stream as they come.
    let mut printers = Vec::new();
    let mut streams: Vec<futures::stream::BoxStream<'static, (usize, _)>> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        match open(r).await {
            Ok(s) => {
                let s: LogStream = s;
                streams.push(s.map(move |c| (i, c)).boxed());
            }
            Err(e) => failed(e, a.ignore_errors, io)?,
        }
        printers.push(printer(r));
    }
    let mut all = futures::stream::select_all(streams);
    while let Some((i, chunk)) = all.next().await {
        match chunk {
            Ok(bytes) => {
                if printers[i].write(&bytes, io).is_err() {
                    return Ok(());
                }
            }
            Err(e) => failed(e, a.ignore_errors, io)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
