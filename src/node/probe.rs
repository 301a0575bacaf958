//! Probes and lifecycle hooks: exec (inside the container), httpGet (from inside the pod's
//! network namespace) and tcpSocket, with the kubelet's defaults and thresholds.

use serde_json::Value;
use std::time::Duration;

/// Where to run a probe or hook.
#[derive(Debug, Clone)]
pub struct Target {
    /// Host pid of the container's main process (exec joins its namespaces and cgroups).
    pub container_pid: i32,
    /// Host pid of the pod's sandbox holder (httpGet/tcpSocket enter its network namespace).
    pub sandbox_pid: i32,
    /// The container's environment, for exec.
    pub env: Vec<String>,
    /// Pod IP ("" until pods get addresses: then 127.0.0.1 inside the pod's namespace).
    pub pod_ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The message the kubelet puts in the Unhealthy event, e.g.
    /// `Liveness probe failed: HTTP probe failed with statuscode: 500`.
    Failure(String),
}

/// Runs one probe attempt (a `Probe` object: exec/httpGet/tcpSocket/grpc) within its
/// timeoutSeconds (default 1). `kind` is "Liveness", "Readiness" or "Startup" for messages.
pub async fn probe_once(kind: &str, probe: &Value, target: &Target) -> Outcome {
    let _ = (kind, probe, target);
    todo!()
}

/// Runs a lifecycle handler (postStart/preStop: exec, httpGet, sleep) to completion or until
/// `timeout`; the error is the kubelet's FailedPostStartHook/FailedPreStopHook message.
pub async fn run_hook(handler: &Value, target: &Target, timeout: Duration) -> Result<(), String> {
    let _ = (handler, target, timeout);
    todo!()
}

/// Probe timing and thresholds with Kubernetes defaults (period 10 s, timeout 1 s,
/// successThreshold 1, failureThreshold 3, initialDelay 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Timing {
    pub fn of(probe: &Value) -> Timing {
        let _ = probe;
        todo!()
    }
}

/// Consecutive-result counting: `observe` returns the new overall result when it changes
/// (after successThreshold successes or failureThreshold failures).
#[derive(Debug, Clone)]
pub struct Tracker {
    pub timing: Timing,
    pub result: Option<bool>,
    successes: u32,
    failures: u32,
}

impl Tracker {
    pub fn new(timing: Timing, initial: Option<bool>) -> Tracker {
        Tracker {
            timing,
            result: initial,
            successes: 0,
            failures: 0,
        }
    }

    pub fn observe(&mut self, success: bool) -> Option<bool> {
        let _ = (success, self.successes, self.failures);
        todo!()
    }
}
