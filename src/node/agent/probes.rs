//! One probing task per container run: the startup probe first (it gates the others), then
//! liveness and readiness on their own periods. It reports only changes to the pod worker.

use crate::node::probe::{self, Outcome, Target, Timing, Tracker};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

#[derive(Debug, Clone)]
pub enum ProbeMsg {
    /// The startup probe passed (or there is none).
    Started,
    Ready(bool),
    /// One failed attempt, for an Unhealthy event.
    Unhealthy(String),
    /// Liveness or startup failed past its threshold: restart the container.
    Kill(String),
}

/// (container name, attempt, message)
pub type Report = (String, u32, ProbeMsg);

/// Starts the probes of one container run; the task ends when the worker drops its receiver
/// or aborts the handle (the run ended).
pub fn spawn(
    container: &Value,
    attempt: u32,
    target: Target,
    tx: mpsc::UnboundedSender<Report>,
) -> Option<tokio::task::JoinHandle<()>> {
    let name = container["name"].as_str().unwrap_or("").to_string();
    let startup = container
        .get("startupProbe")
        .filter(|p| p.is_object())
        .cloned();
    let liveness = container
        .get("livenessProbe")
        .filter(|p| p.is_object())
        .cloned();
    let readiness = container
        .get("readinessProbe")
        .filter(|p| p.is_object())
        .cloned();
    if startup.is_none() && liveness.is_none() && readiness.is_none() {
        return None;
    }
    Some(tokio::spawn(async move {
        let send = |m: ProbeMsg| tx.send((name.clone(), attempt, m)).is_ok();
        if let Some(p) = startup {
            match run_until_decided(&p, "Startup", &target, &send).await {
                Some(true) => {}
                Some(false) => {
                    send(ProbeMsg::Kill(format!(
                        "Container {name} failed startup probe, will be restarted"
                    )));
                    return;
                }
                None => return,
            }
        }
        if !send(ProbeMsg::Started) {
            return;
        }
        let live = liveness.map(|p| {
            let (target, send_tx, name) = (target.clone(), tx.clone(), name.clone());
            tokio::spawn(async move {
                let send = |m: ProbeMsg| send_tx.send((name.clone(), attempt, m)).is_ok();
                periodic(&p, "Liveness", &target, None, &send, |ok| {
                    (!ok).then(|| {
                        ProbeMsg::Kill(format!(
                            "Container {name} failed liveness probe, will be restarted"
                        ))
                    })
                })
                .await;
            })
        });
        if let Some(p) = readiness {
            periodic(&p, "Readiness", &target, Some(false), &send, |ok| {
                Some(ProbeMsg::Ready(ok))
            })
            .await;
        }
        if let Some(h) = live {
            let _ = h.await;
        }
    }))
}

/// Probes until the tracker decides success or failure (startup); `None` if the worker left.
async fn run_until_decided(
    p: &Value,
    kind: &str,
    target: &Target,
    send: &impl Fn(ProbeMsg) -> bool,
) -> Option<bool> {
    let timing = Timing::of(p);
    let mut tracker = Tracker::new(timing, None);
    let mut next = Instant::now() + timing.initial_delay;
    loop {
        sleep_until(next).await;
        next += timing.period;
        let ok = match probe::probe_once(kind, p, target).await {
            Outcome::Success => true,
            Outcome::Failure(m) => {
                if !send(ProbeMsg::Unhealthy(m)) {
                    return None;
                }
                false
            }
        };
        if let Some(decided) = tracker.observe(ok) {
            return Some(decided);
        }
    }
}

/// Probes forever; `on_change` turns a change of the overall result into a message. The
/// loop ends when the worker is gone or after a Kill.
async fn periodic(
    p: &Value,
    kind: &str,
    target: &Target,
    initial: Option<bool>,
    send: &impl Fn(ProbeMsg) -> bool,
    on_change: impl Fn(bool) -> Option<ProbeMsg>,
) {
    let timing = Timing::of(p);
    let mut tracker = Tracker::new(timing, initial);
    let mut next = Instant::now() + timing.initial_delay;
    loop {
        sleep_until(next).await;
        next += timing.period;
        let ok = match probe::probe_once(kind, p, target).await {
            Outcome::Success => true,
            Outcome::Failure(m) => {
                if !send(ProbeMsg::Unhealthy(m)) {
                    return;
                }
                false
            }
        };
        if let Some(changed) = tracker.observe(ok)
            && let Some(msg) = on_change(changed)
        {
            let kill = matches!(msg, ProbeMsg::Kill(_));
            if !send(msg) || kill {
                return;
            }
        }
    }
}
