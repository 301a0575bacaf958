//! Live pod metrics, as metrics-server serves them on `metrics.k8s.io/v1beta1`: CPU as a rate
//! over a window and memory as the working set, read from the pods' cgroups on this machine.
//!
//! metrics-server scrapes every 15 s and reports the rate between its last two scrapes. Here
//! nothing scrapes in the background: each request reads the cgroups and computes the rate
//! against the previous reading of the same container, kept in memory. When there is none (the
//! first request, or the last one was long ago), the container is read a second time 150 ms
//! later, so every answer has a rate.

use crate::api::error::{ApiError, ApiResult};
use crate::api::object::ObjectExt;
use crate::api::quantity::{Quantity, QuantityFormat};
use crate::runtime::cgroup::{Cgroups, Usage};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

#[cfg(test)]
mod tests;

pub const API_VERSION: &str = "metrics.k8s.io/v1beta1";
/// The resource in error messages, as metrics-server names it.
pub const RESOURCE: &str = "podmetrics.metrics.k8s.io";
/// What kubectl says when the metrics API is missing; the start of every unavailable error.
pub const UNAVAILABLE: &str = "Metrics API not available";

/// A rate needs at least this much time between its two readings to mean anything.
const MIN_WINDOW: Duration = Duration::from_millis(100);
/// The gap between the two readings of a container seen for the first time.
const SAMPLE_GAP: Duration = Duration::from_millis(150);
/// A previous reading older than this describes the past, not now: sample again.
const MAX_AGE: Duration = Duration::from_secs(30);
/// A window shorter than this keeps its start, so quick successive requests (a console
/// refreshing) still measure over at least a second rather than a few milliseconds.
const REBASE_AFTER: Duration = Duration::from_secs(1);

/// The `metrics.k8s.io` unavailable error, with why.
pub fn unavailable(why: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(format!("{UNAVAILABLE}: {why}"))
}

/// Whether an error means "no metrics API here" (as opposed to a failed request).
pub fn is_unavailable(e: &ApiError) -> bool {
    e.message.starts_with(UNAVAILABLE)
}

/// One reading of a container's cumulative CPU time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuSample {
    pub at: Instant,
    pub cpu_ns: u64,
}

/// CPU usage over a window, in billionths of a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub nanocores: u64,
    pub window: Duration,
}

/// The rate between two readings; `None` when they are too close together or the counter went
/// backwards (the cgroup was recreated).
pub fn rate_between(from: CpuSample, to: CpuSample) -> Option<Rate> {
    let window = to.at.checked_duration_since(from.at)?;
    if window < MIN_WINDOW || to.cpu_ns < from.cpu_ns {
        return None;
    }
    let used = u128::from(to.cpu_ns - from.cpu_ns);
    let nanocores = used * 1_000_000_000 / window.as_nanos();
    Some(Rate {
        nanocores: u64::try_from(nanocores).unwrap_or(u64::MAX),
        window,
    })
}

/// The last usable reading of each container, keyed by pod uid and container name (a pod
/// recreated under the same name has a new uid, so it never inherits a rate).
#[derive(Debug, Default)]
pub struct RateTracker {
    base: HashMap<(String, String), CpuSample>,
}

impl RateTracker {
    /// The rate since the stored reading of `key`, when there is a usable one. `cur` becomes
    /// the next start unless the window is still short (see [`REBASE_AFTER`]); with no usable
    /// reading it is stored and `None` says: read again in a moment.
    pub fn rate(&mut self, key: (String, String), cur: CpuSample) -> Option<Rate> {
        let found = self
            .base
            .get(&key)
            .filter(|b| cur.at.saturating_duration_since(b.at) <= MAX_AGE)
            .and_then(|b| rate_between(*b, cur));
        match found {
            Some(r) => {
                if r.window >= REBASE_AFTER {
                    self.base.insert(key, cur);
                }
                Some(r)
            }
            None => {
                // A base that is only too recent is kept: the next reading measures from it.
                let too_recent = self.base.get(&key).is_some_and(|b| {
                    b.cpu_ns <= cur.cpu_ns && cur.at.saturating_duration_since(b.at) < MIN_WINDOW
                });
                if !too_recent {
                    self.base.insert(key, cur);
                }
                None
            }
        }
    }

    /// Forgets readings too old to be used again (pods that are gone).
    pub fn prune(&mut self, now: Instant) {
        self.base
            .retain(|_, s| now.saturating_duration_since(s.at) <= MAX_AGE);
    }

    pub fn len(&self) -> usize {
        self.base.len()
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }
}

/// CPU as metrics-server writes it: nanocores in the largest exact unit (`12m`, `1234567n`).
pub fn cpu_quantity(nanocores: u64) -> String {
    match nanocores {
        0 => "0".to_string(),
        n if n % 1_000_000_000 == 0 => format!("{}", n / 1_000_000_000),
        n if n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}u", n / 1_000),
        n => format!("{n}n"),
    }
}

/// Memory as metrics-server writes it: bytes in binary units when exact (`1234Ki`).
pub fn memory_quantity(bytes: u64) -> String {
    Quantity::from_value(i128::from(bytes), QuantityFormat::BinarySI).to_string()
}

/// Go's `time.Duration.String()`: `150ms`, `1.5s`, `2m3.25s`, `1h0m0s`.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < 1_000_000_000 {
        let (div, unit) = match ns {
            n if n < 1_000 => (1, "ns"),
            n if n < 1_000_000 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        return format!("{}{unit}", decimal(ns, div));
    }
    let secs = ns / 1_000_000_000;
    let (h, m) = (secs / 3600, (secs / 60) % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&decimal(ns % 60_000_000_000, 1_000_000_000));
    out.push('s');
    out
}

/// `v / div` with the fraction's trailing zeros dropped (`div` a power of ten).
fn decimal(v: u128, div: u128) -> String {
    let (whole, rem) = (v / div, v % div);
    if rem == 0 {
        return whole.to_string();
    }
    let digits = div.ilog10() as usize;
    let frac = format!("{rem:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A pod to measure: what the PodMetrics object needs of it.
#[derive(Debug, Clone)]
struct Target {
    uid: String,
    namespace: String,
    name: String,
    labels: Value,
    /// Container names; init containers are measured only while they run (sidecars).
    containers: Vec<(String, bool)>,
}

impl Target {
    fn of(pod: &Value) -> Option<Target> {
        let uid = pod.uid();
        if uid.is_empty() {
            return None;
        }
        let names = |field: &str, init: bool| -> Vec<(String, bool)> {
            pod.pointer(&format!("/spec/{field}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(|n| (n.to_string(), init))
                .collect()
        };
        let mut containers = names("initContainers", true);
        containers.extend(names("containers", false));
        Some(Target {
            uid: uid.to_string(),
            namespace: pod.namespace().unwrap_or_default().to_string(),
            name: pod.name().to_string(),
            labels: pod
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or(Value::Null),
            containers,
        })
    }
}

/// One reading of a pod's running containers.
#[derive(Debug, Clone)]
struct Reading {
    at: Instant,
    time: jiff::Timestamp,
    containers: Vec<(String, Usage)>,
}

/// Reads the running containers of a pod; `None` when the pod has no cgroup here.
fn read(cgroups: &Cgroups, t: &Target) -> Option<Reading> {
    let pod = cgroups.open_pod(&t.uid).ok()?;
    if !pod.exists() {
        return None;
    }
    let mut containers = Vec::new();
    for (name, _) in &t.containers {
        let Ok(c) = pod.open_container(name) else {
            continue;
        };
        if !c.exists() {
            continue;
        }
        match c.usage() {
            // A cgroup without processes is a container that is not running (an init
            // container that finished, a container between restarts): it uses nothing now.
            Ok(u) if u.pids > 0 => containers.push((name.clone(), u)),
            Ok(_) => {}
            Err(e) => tracing::debug!("metrics of {}/{} {name}: {e}", t.namespace, t.name),
        }
    }
    Some(Reading {
        at: Instant::now(),
        time: jiff::Timestamp::now(),
        containers,
    })
}

fn read_all(cgroups: &Cgroups, targets: &[Target]) -> Vec<Option<Reading>> {
    targets.iter().map(|t| read(cgroups, t)).collect()
}

/// Pod metrics of this machine's pods: the embedded cluster's half of `metrics.k8s.io`.
pub struct PodMetricsSource {
    parent: Option<String>,
    cgroups: OnceLock<Result<Cgroups, String>>,
    tracker: Mutex<RateTracker>,
}

impl PodMetricsSource {
    /// `parent`: the node agent's cgroup parent; `None` when this process runs no pods.
    pub fn new(parent: Option<String>) -> PodMetricsSource {
        PodMetricsSource {
            parent,
            cgroups: OnceLock::new(),
            tracker: Mutex::new(RateTracker::default()),
        }
    }

    fn cgroups(&self) -> ApiResult<Cgroups> {
        let Some(parent) = &self.parent else {
            return Err(unavailable(
                "this peapod has no cgroup parent configured, so it measures no pods",
            ));
        };
        self.cgroups
            .get_or_init(|| Cgroups::new(parent).map_err(|e| e.to_string()))
            .clone()
            .map_err(unavailable)
    }

    /// PodMetrics of those `pods` that have running containers in a cgroup here, in order.
    pub async fn collect(&self, pods: &[Arc<Value>]) -> ApiResult<Vec<Value>> {
        let cgroups = self.cgroups()?;
        let targets: Arc<Vec<Target>> =
            Arc::new(pods.iter().filter_map(|p| Target::of(p)).collect());
        let mut readings = blocking_read(&cgroups, targets.clone()).await?;
        let mut rates: Vec<Vec<Option<Rate>>> = readings
            .iter()
            .map(|r| vec![None; r.as_ref().map_or(0, |r| r.containers.len())])
            .collect();
        let again = self.rates(&targets, &readings, &mut rates);
        if !again.is_empty() {
            tokio::time::sleep(SAMPLE_GAP).await;
            let subset: Vec<Target> = again.iter().map(|&i| targets[i].clone()).collect();
            let second = blocking_read(&cgroups, Arc::new(subset)).await?;
            for (&i, r) in again.iter().zip(second) {
                // Rates already found keep their (longer) window; the rest are measured anew.
                let found: HashMap<&str, Rate> = readings[i]
                    .iter()
                    .flat_map(|old| old.containers.iter().zip(&rates[i]))
                    .filter_map(|((name, _), rate)| Some((name.as_str(), (*rate)?)))
                    .collect();
                let fresh: Vec<Option<Rate>> = r
                    .iter()
                    .flat_map(|r| &r.containers)
                    .map(|(name, _)| found.get(name.as_str()).copied())
                    .collect();
                rates[i] = fresh;
                readings[i] = r;
            }
            self.rates(&targets, &readings, &mut rates);
        }
        let now = crate::api::object::now_rfc3339();
        let mut out = Vec::new();
        for ((t, r), rates) in targets.iter().zip(&readings).zip(&rates) {
            let Some(r) = r else { continue };
            if let Some(m) = pod_metrics(t, r, rates, &now) {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Fills in the rates still missing; returns the pods with a container that needs a
    /// second reading.
    fn rates(
        &self,
        targets: &[Target],
        readings: &[Option<Reading>],
        rates: &mut [Vec<Option<Rate>>],
    ) -> Vec<usize> {
        let mut tracker = match self.tracker.lock() {
            Ok(t) => t,
            // A panic elsewhere while holding the lock leaves only stale samples behind.
            Err(poisoned) => poisoned.into_inner(),
        };
        tracker.prune(Instant::now());
        let mut again = Vec::new();
        for (i, (t, r)) in targets.iter().zip(readings).enumerate() {
            let Some(r) = r else { continue };
            for (j, (name, usage)) in r.containers.iter().enumerate() {
                if rates[i][j].is_some() {
                    continue;
                }
                let sample = CpuSample {
                    at: r.at,
                    cpu_ns: usage.cpu_usage_ns,
                };
                rates[i][j] = tracker.rate((t.uid.clone(), name.clone()), sample);
                if rates[i][j].is_none() && again.last() != Some(&i) {
                    again.push(i);
                }
            }
        }
        again
    }
}

async fn blocking_read(
    cgroups: &Cgroups,
    targets: Arc<Vec<Target>>,
) -> ApiResult<Vec<Option<Reading>>> {
    let cgroups = cgroups.clone();
    tokio::task::spawn_blocking(move || read_all(&cgroups, &targets))
        .await
        .map_err(|e| ApiError::internal(format!("reading pod cgroups failed: {e}")))
}

/// The PodMetrics object; `None` when no container has a rate (none is running).
fn pod_metrics(t: &Target, r: &Reading, rates: &[Option<Rate>], now: &str) -> Option<Value> {
    let mut window = Duration::ZERO;
    let mut containers = Vec::new();
    for ((name, usage), rate) in r.containers.iter().zip(rates) {
        let Some(rate) = rate else { continue };
        window = window.max(rate.window);
        containers.push(json!({
            "name": name,
            "usage": {
                "cpu": cpu_quantity(rate.nanocores),
                "memory": memory_quantity(usage.memory_bytes),
            }
        }));
    }
    if containers.is_empty() {
        return None;
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(t.name.clone()));
    metadata.insert("namespace".into(), Value::String(t.namespace.clone()));
    if t.labels.as_object().is_some_and(|l| !l.is_empty()) {
        metadata.insert("labels".into(), t.labels.clone());
    }
    // metrics-server stamps the object with the time it was built, not the pod's creation.
    metadata.insert("creationTimestamp".into(), Value::String(now.to_string()));
    // The window is rounded to milliseconds: nanoseconds of a tokio sleep are noise.
    let window = Duration::from_millis(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
    Some(json!({
        "kind": "PodMetrics",
        "apiVersion": API_VERSION,
        "metadata": metadata,
        "timestamp": r.time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "window": go_duration(window),
        "containers": containers,
    }))
}
