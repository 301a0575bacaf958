//! Probes and lifecycle hooks: exec (inside the container), httpGet (from inside the pod's
//! network namespace) and tcpSocket, with the kubelet's defaults and thresholds.
//!
//! Messages are the kubelet's: an Unhealthy event reads `Liveness probe failed: <output>`
//! (exec: the command's combined output, at most 10 KiB; httpGet:
//! `HTTP probe failed with statuscode: 500` or Go's `Get "http://...": dial tcp ...: connect:
//! connection refused`; tcpSocket: `dial tcp ...`), and a probe that could not run at all
//! reads `Liveness probe errored and resulted in unknown state: <why>`.

pub mod exec;
pub mod net;
#[cfg(test)]
pub(crate) mod tests;

use exec::ExecResult;
use net::HttpGet;
use serde_json::Value;
use std::time::Duration;

/// The Kubernetes version in the probes' User-Agent (`kube-probe/1.33`).
const KUBE_VERSION: &str = "1.33";

/// Where to run a probe or hook.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Host pid of the container's main process (exec joins its namespaces and cgroups).
    pub container_pid: i32,
    /// Host pid of the pod's sandbox holder (httpGet/tcpSocket enter its network namespace).
    pub sandbox_pid: i32,
    /// The container's environment, for exec.
    pub env: Vec<String>,
    /// Pod IP ("" until pods get addresses: then 127.0.0.1 inside the pod's namespace).
    pub pod_ip: String,
    /// The container's named ports (`ports[].name` → `containerPort`), for probes and hooks
    /// whose `port` is a name.
    pub ports: Vec<(String, u16)>,
    /// The container's name, for hook messages (`for Container "web"`).
    pub container: String,
    /// The pod as the kubelet names it in hook messages: `name_namespace(uid)`.
    pub pod: String,
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
    let timeout = Timing::of(probe).timeout;
    let failed = |output: &str| Outcome::Failure(format!("{kind} probe failed: {output}"));
    let errored = |why: &str| {
        Outcome::Failure(format!(
            "{kind} probe errored and resulted in unknown state: {why}"
        ))
    };
    if let Some(action) = probe.get("exec") {
        let argv = command(action);
        if argv.is_empty() {
            return errored("exec probe without a command");
        }
        return match run_exec(target, argv.clone(), timeout).await {
            ExecResult::Exited { code: 0, .. } => Outcome::Success,
            ExecResult::Exited { output, .. } => failed(&output),
            // The kubelet's exec prober reports a timeout as a failure with this output.
            ExecResult::TimedOut => failed(&format!("command {:?} timed out", argv.join(" "))),
            ExecResult::Failed(why) => errored(&why),
        };
    }
    if let Some(action) = probe.get("httpGet") {
        let req = match http_request(action, target, "probe") {
            Ok(r) => r,
            Err(why) => return errored(&why),
        };
        return match net::in_pod_netns(target.sandbox_pid, move || net::http_get(&req, timeout))
            .await
        {
            Ok(code) if (200..400).contains(&code) => Outcome::Success,
            Ok(code) => failed(&format!("HTTP probe failed with statuscode: {code}")),
            Err(why) => failed(&why),
        };
    }
    if let Some(action) = probe.get("tcpSocket") {
        let port = match resolve_port(action.get("port"), target) {
            Ok(p) => p,
            Err(why) => return errored(&why),
        };
        let host = host_of(action, target);
        return match net::in_pod_netns(target.sandbox_pid, move || {
            net::tcp_check(&host, port, timeout)
        })
        .await
        {
            Ok(()) => Outcome::Success,
            Err(why) => failed(&why),
        };
    }
    if probe.get("grpc").is_some() {
        return failed("gRPC probes are not supported yet");
    }
    errored("missing probe handler (exec, httpGet, tcpSocket or grpc)")
}

/// Runs a lifecycle handler (postStart/preStop: exec, httpGet, sleep) to completion or until
/// `timeout`; the error is the kubelet's FailedPostStartHook/FailedPreStopHook message.
pub async fn run_hook(handler: &Value, target: &Target, timeout: Duration) -> Result<(), String> {
    let (container, pod) = (&target.container, &target.pod);
    if let Some(action) = handler.get("exec") {
        let argv = command(action);
        let shown = format!("[{}]", argv.join(" "));
        let fail = |error: String, output: &str| {
            Err(format!(
                "Exec lifecycle hook ({shown}) for Container {container:?} in Pod {pod:?} \
                 failed - error: {error}, message: {output:?}"
            ))
        };
        if argv.is_empty() {
            return fail("no command given".to_string(), "");
        }
        let joined = argv.join(" ");
        return match run_exec(target, argv, timeout).await {
            ExecResult::Exited { code: 0, .. } => Ok(()),
            ExecResult::Exited { code, output } => {
                fail(format!("command '{joined}' exited with {code}"), &output)
            }
            ExecResult::TimedOut => fail(
                format!("command '{joined}' timed out after {}s", timeout.as_secs()),
                "",
            ),
            ExecResult::Failed(why) => fail(why, ""),
        };
    }
    if let Some(action) = handler.get("httpGet") {
        let path = action.get("path").and_then(Value::as_str).unwrap_or("");
        let fail = |error: &str| {
            Err(format!(
                "HTTP lifecycle hook ({path}) for Container {container:?} in Pod {pod:?} \
                 failed - error: {error}"
            ))
        };
        let req = match http_request(action, target, "lifecycle") {
            Ok(r) => r,
            Err(why) => return fail(&why),
        };
        // The kubelet only checks that a response came: hooks ignore the status code.
        return match net::in_pod_netns(target.sandbox_pid, move || net::http_get(&req, timeout))
            .await
        {
            Ok(_) => Ok(()),
            Err(why) => fail(&why),
        };
    }
    if let Some(action) = handler.get("sleep") {
        let seconds = action.get("seconds").and_then(Value::as_i64).unwrap_or(0);
        let wanted = Duration::from_secs(seconds.max(0) as u64);
        if wanted <= timeout {
            tokio::time::sleep(wanted).await;
            return Ok(());
        }
        tokio::time::sleep(timeout).await;
        return Err(format!(
            "Sleep lifecycle hook ({seconds}) for Container {container:?} in Pod {pod:?} \
             failed - error: container terminated before sleep hook finished"
        ));
    }
    Err(format!(
        "Lifecycle hook for Container {container:?} in Pod {pod:?} failed - error: \
         invalid handler: use exec, httpGet or sleep"
    ))
}

/// `exec.command` as strings (non-strings are skipped: validation rejects them).
fn command(action: &Value) -> Vec<String> {
    action
        .get("command")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn run_exec(target: &Target, argv: Vec<String>, timeout: Duration) -> ExecResult {
    let (pid, env) = (target.container_pid, target.env.clone());
    tokio::task::spawn_blocking(move || {
        exec::run(pid, &argv, &env, Some(timeout), exec::MAX_OUTPUT)
    })
    .await
    .unwrap_or_else(|e| ExecResult::Failed(format!("the exec task failed: {e}")))
}

/// `host`, else the pod IP, else loopback (inside the pod's own network namespace).
fn host_of(action: &Value, target: &Target) -> String {
    match action.get("host").and_then(Value::as_str) {
        Some(h) if !h.is_empty() => h.to_string(),
        _ if !target.pod_ip.is_empty() => target.pod_ip.clone(),
        _ => "127.0.0.1".to_string(),
    }
}

/// A port number, or a name from the container's ports (kubelet's ResolveContainerPort).
fn resolve_port(port: Option<&Value>, target: &Target) -> Result<u16, String> {
    let number = match port {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Value::String(name)) => {
            match target.ports.iter().find(|(n, _)| n == name) {
                Some((_, p)) => i64::from(*p),
                // A quoted number is taken as the number it spells.
                None => name.parse::<i64>().map_err(|_| {
                    format!(
                        "couldn't find port: {name} in container {:?}",
                        target.container
                    )
                })?,
            }
        }
        _ => return Err("the handler has no port".to_string()),
    };
    u16::try_from(number)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid port number: {number}"))
}

/// An httpGet action as a request; `agent` is "probe" or "lifecycle" (`kube-probe/1.33`).
fn http_request(action: &Value, target: &Target, agent: &str) -> Result<HttpGet, String> {
    let scheme = action
        .get("scheme")
        .and_then(Value::as_str)
        .unwrap_or("HTTP");
    if scheme.eq_ignore_ascii_case("https") {
        return Err("HTTPS probes are not supported".to_string());
    }
    let port = resolve_port(action.get("port"), target)?;
    let headers = action
        .get("httpHeaders")
        .and_then(Value::as_array)
        .map(|hs| {
            hs.iter()
                .filter_map(|h| {
                    let name = h.get("name")?.as_str()?;
                    let value = h.get("value").and_then(Value::as_str).unwrap_or("");
                    Some((name.to_string(), value.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(HttpGet {
        host: host_of(action, target),
        port,
        path: action
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        headers,
        user_agent: format!("kube-{agent}/{KUBE_VERSION}"),
    })
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
        // Missing or out-of-range values get the API server's defaults (validation rejects
        // them before they reach us, so this only guards against hand-made objects).
        let field = |name: &str, default: i64, min: i64| {
            probe
                .get(name)
                .and_then(Value::as_i64)
                .filter(|v| *v >= min)
                .unwrap_or(default)
        };
        let secs = |v: i64| Duration::from_secs(v as u64);
        Timing {
            initial_delay: secs(field("initialDelaySeconds", 0, 0)),
            period: secs(field("periodSeconds", 10, 1)),
            timeout: secs(field("timeoutSeconds", 1, 1)),
            success_threshold: field("successThreshold", 1, 1).min(u32::MAX as i64) as u32,
            failure_threshold: field("failureThreshold", 3, 1).min(u32::MAX as i64) as u32,
        }
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
        // As the kubelet's worker: a run of equal results; the other kind resets it.
        let (run, threshold) = if success {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            (self.successes, self.timing.success_threshold)
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            (self.failures, self.timing.failure_threshold)
        };
        if run < threshold || self.result == Some(success) {
            return None;
        }
        self.result = Some(success);
        Some(success)
    }
}
