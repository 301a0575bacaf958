//! The worker's view of one container: its runs (current and previous), why it is not
//! running, its restart back-off, readiness and probes; and how that becomes the API's
//! container status.

use super::setup;
use super::status::{self, ContainerView, State};
use crate::api::object::ObjectExt;
use crate::image::Image;
use crate::node::probe::Target;
use crate::runtime::shim::ContainerRecord;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// The kubelet's restart back-off: 10 s doubling to 300 s, reset after 10 minutes of running.
const BACKOFF_START: Duration = Duration::from_secs(10);
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(300);
const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// One run of a container and how it ended.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub rec: ContainerRecord,
    /// Terminated reason and message once it ended (Completed, Error, OOMKilled, ...).
    pub reason: String,
    pub message: String,
}

impl Run {
    pub fn running(&self) -> bool {
        self.rec.finished_at.is_none()
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.rec.exit_code
    }

    fn terminated(&self) -> State {
        State::Terminated {
            exit_code: self.rec.exit_code.unwrap_or(137),
            signal: self.rec.signal,
            reason: self.reason.clone(),
            message: self.message.clone(),
            started_at: self.rec.started_at.clone(),
            finished_at: self.rec.finished_at.clone().unwrap_or_default(),
        }
    }
}

/// The worker's view of one container of the pod.
pub(super) struct Ctr {
    pub spec: Value,
    pub name: String,
    pub init: bool,
    pub sidecar: bool,
    pub image: Option<Image>,
    pub current: Option<Run>,
    pub previous: Option<Run>,
    /// Why it is not running (ContainerCreating, CrashLoopBackOff, ErrImagePull, ...).
    pub waiting: (String, String),
    pub backoff: Duration,
    pub last_start: Option<Instant>,
    pub retry_at: Option<Instant>,
    pub ready: bool,
    pub started: bool,
    pub probes: Option<tokio::task::JoinHandle<()>>,
    pub env: Vec<String>,
    pub oom_base: u64,
    pub stop_signal: i32,
}

impl Ctr {
    pub(super) fn new(spec: &Value, init: bool, pod_initializing: bool) -> Ctr {
        let waiting = if pod_initializing {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        Ctr {
            name: spec["name"].as_str().unwrap_or("").to_string(),
            sidecar: init && spec["restartPolicy"] == "Always",
            spec: spec.clone(),
            init,
            image: None,
            current: None,
            previous: None,
            waiting: (waiting.to_string(), String::new()),
            backoff: Duration::ZERO,
            last_start: None,
            retry_at: None,
            ready: false,
            started: false,
            probes: None,
            env: Vec::new(),
            oom_base: 0,
            stop_signal: libc::SIGTERM,
        }
    }

    pub fn running(&self) -> bool {
        self.current.as_ref().is_some_and(Run::running)
    }

    pub(super) fn due(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|t| now >= t)
    }

    /// Plans the next attempt after a failure: back-off from the last start.
    /// Returns the back-off applied.
    pub(super) fn schedule_retry(&mut self, now: Instant) -> Duration {
        if let Some(start) = self.last_start
            && now.duration_since(start) >= BACKOFF_RESET
        {
            self.backoff = Duration::ZERO;
        }
        let applied = self.backoff;
        let from = self.last_start.unwrap_or(now);
        self.retry_at = Some((from + applied).max(now));
        self.backoff = if applied.is_zero() {
            BACKOFF_START
        } else {
            (applied * 2).min(BACKOFF_MAX)
        };
        applied
    }

    pub(super) fn stop_probes(&mut self) {
        if let Some(h) = self.probes.take() {
            h.abort();
        }
    }

    pub(super) fn view(&self, pod_uid: &str, now: Instant) -> ContainerView {
        let waiting_state = || {
            let (reason, message) = &self.waiting;
            // While the back-off runs, the kubelet shows the back-off reason.
            let reason = match reason.as_str() {
                "ErrImagePull" if self.retry_at.is_some_and(|t| t > now) => "ImagePullBackOff",
                r => r,
            };
            State::waiting(reason, message.clone())
        };
        let (state, last) = match &self.current {
            Some(run) if run.running() => (
                State::Running {
                    started_at: run.rec.started_at.clone(),
                },
                self.previous.as_ref().map(Run::terminated),
            ),
            Some(run) if self.retry_at.is_some() && self.waiting.0 != "Terminated" => {
                (waiting_state(), Some(run.terminated()))
            }
            Some(run) => (
                run.terminated(),
                self.previous.as_ref().map(Run::terminated),
            ),
            None => (waiting_state(), None),
        };
        ContainerView {
            name: self.name.clone(),
            image: self.spec["image"].as_str().unwrap_or("").to_string(),
            image_id: self.image.as_ref().map(setup::image_id).unwrap_or_default(),
            container_id: self
                .current
                .as_ref()
                .map(|r| format!("peapod://{pod_uid}/{}/{}", self.name, r.rec.attempt))
                .unwrap_or_default(),
            state,
            last_state: last,
            restart_count: self.current.as_ref().map_or(0, |r| r.rec.attempt),
            ready: self.ready && self.running(),
            started: self.started && self.running(),
            sidecar: self.sidecar,
        }
    }
}

/// Whether the restart policy restarts a container that exited with `code`.
pub(super) fn restarts(policy: &str, sidecar: bool, code: i32) -> bool {
    sidecar || policy == "Always" || (policy == "OnFailure" && code != 0)
}

pub(super) fn finished_run(rec: ContainerRecord) -> Run {
    let code = rec.exit_code.unwrap_or(137);
    Run {
        reason: status::terminated_reason(code, false).to_string(),
        message: String::new(),
        rec,
    }
}

/// An exit record the shim wrote: `<pod-dir>/containers/<name>/<attempt>.json`.
pub(super) fn read_record(
    dir: &std::path::Path,
    name: &str,
    attempt: u32,
) -> Option<ContainerRecord> {
    let path = dir
        .join("containers")
        .join(name)
        .join(format!("{attempt}.json"));
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// A running container's environment, for exec probes after a re-adoption.
pub(super) fn read_environ(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Where the probes and hooks of a container run reach it.
pub(super) fn probe_target(
    pod: &Value,
    c: &Ctr,
    container_pid: i32,
    sandbox_pid: i32,
    pod_ip: &str,
) -> Target {
    let ports = c.spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_string();
            let port = u16::try_from(p["containerPort"].as_i64()?).ok()?;
            Some((name, port))
        })
        .collect();
    Target {
        container_pid,
        sandbox_pid,
        env: c.env.clone(),
        pod_ip: pod_ip.to_string(),
        ports,
        container: c.name.clone(),
        pod: format!(
            "{}_{}({})",
            pod.name(),
            pod.namespace().unwrap_or("default"),
            pod.uid()
        ),
    }
}
