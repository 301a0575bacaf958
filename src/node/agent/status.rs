//! The pod status the kubelet writes, computed from the agent's view of each container:
//! phase (kubelet `getPhase`), conditions, container statuses. Pure functions, so every rule
//! is testable without running anything.

use crate::api::object::ObjectExt;
use serde_json::{Map, Value, json};

/// A container's state as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting {
        reason: String,
        message: String,
    },
    Running {
        started_at: String,
    },
    Terminated {
        exit_code: i32,
        signal: Option<i32>,
        reason: String,
        message: String,
        started_at: String,
        finished_at: String,
    },
}

impl State {
    pub fn waiting(reason: &str, message: impl Into<String>) -> State {
        State::Waiting {
            reason: reason.to_string(),
            message: message.into(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, State::Running { .. })
    }

    pub fn to_json(&self) -> Value {
        match self {
            State::Waiting { reason, message } => {
                let mut w = Map::new();
                w.insert("reason".into(), json!(reason));
                if !message.is_empty() {
                    w.insert("message".into(), json!(message));
                }
                json!({ "waiting": w })
            }
            State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            State::Terminated {
                exit_code,
                signal,
                reason,
                message,
                started_at,
                finished_at,
            } => {
                let mut t = Map::new();
                t.insert("exitCode".into(), json!(exit_code));
                if let Some(s) = signal {
                    t.insert("signal".into(), json!(s));
                }
                t.insert("reason".into(), json!(reason));
                if !message.is_empty() {
                    t.insert("message".into(), json!(message));
                }
                t.insert("startedAt".into(), json!(started_at));
                t.insert("finishedAt".into(), json!(finished_at));
                json!({ "terminated": t })
            }
        }
    }
}

/// The agent's view of one container, as it goes into `containerStatuses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub container_id: String,
    pub state: State,
    pub last_state: Option<State>,
    pub restart_count: u32,
    pub ready: bool,
    pub started: bool,
    /// An init container with restartPolicy Always.
    pub sidecar: bool,
}

impl ContainerView {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("state".into(), self.state.to_json());
        m.insert(
            "lastState".into(),
            self.last_state.as_ref().map_or(json!({}), State::to_json),
        );
        m.insert("ready".into(), json!(self.ready));
        m.insert("restartCount".into(), json!(self.restart_count));
        m.insert("image".into(), json!(self.image));
        m.insert("imageID".into(), json!(self.image_id));
        if !self.container_id.is_empty() {
            m.insert("containerID".into(), json!(self.container_id));
        }
        m.insert("started".into(), json!(self.started));
        Value::Object(m)
    }

    fn terminated_ok(&self) -> bool {
        matches!(self.state, State::Terminated { exit_code: 0, .. })
    }
}

/// What the pod status needs besides the containers.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    pub host_ip: String,
    pub pod_ip: String,
    pub start_time: String,
    /// The sandbox exists (PodReadyToStartContainers).
    pub sandbox_ready: bool,
    /// A terminal phase decided by the agent (shim died, init failed under Never), with
    /// reason and message; it overrides the computed phase.
    pub failed: Option<(String, String)>,
}

/// Kubernetes' phase rules (kubelet getPhase): init containers first, then the app
/// containers' states against the restart policy. A terminal phase never changes back.
pub fn phase(pod: &Value, init: &[ContainerView], app: &[ContainerView]) -> &'static str {
    let previous = pod.str_at("/status/phase").unwrap_or("");
    if previous == "Succeeded" || previous == "Failed" {
        return if previous == "Succeeded" {
            "Succeeded"
        } else {
            "Failed"
        };
    }
    let policy = pod.str_at("/spec/restartPolicy").unwrap_or("Always");
    let mut pending_init = false;
    for c in init.iter().filter(|c| !c.sidecar) {
        if c.terminated_ok() {
            continue;
        }
        if let State::Terminated { .. } = c.state
            && policy == "Never"
        {
            return "Failed";
        }
        pending_init = true;
    }
    if init.iter().any(|c| c.sidecar && !c.started) {
        pending_init = true;
    }
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in app {
        match &c.state {
            State::Running { .. } => running += 1,
            State::Terminated { exit_code, .. } => {
                stopped += 1;
                if *exit_code == 0 {
                    succeeded += 1;
                }
            }
            State::Waiting { .. } => {
                if c.last_state.is_some() {
                    stopped += 1;
                } else {
                    waiting += 1;
                }
            }
        }
    }
    if pending_init || waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        if policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}

fn names(cs: &[&ContainerView]) -> String {
    cs.iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A condition that keeps its lastTransitionTime while its status does not change.
fn condition(pod: &Value, kind: &str, ok: bool, reason: &str, message: &str, now: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    let previous = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind));
    let since = previous
        .filter(|c| c["status"] == status)
        .and_then(|c| c["lastTransitionTime"].as_str())
        .unwrap_or(now);
    let mut c = Map::new();
    c.insert("type".into(), json!(kind));
    c.insert("status".into(), json!(status));
    c.insert("lastProbeTime".into(), Value::Null);
    c.insert("lastTransitionTime".into(), json!(since));
    if !ok && !reason.is_empty() {
        c.insert("reason".into(), json!(reason));
        if !message.is_empty() {
            c.insert("message".into(), json!(message));
        }
    }
    Value::Object(c)
}

/// The whole `status` of the pod; `now` stamps conditions that change.
pub fn pod_status(
    pod: &Value,
    init: &[ContainerView],
    app: &[ContainerView],
    facts: &PodFacts,
    now: &str,
) -> Value {
    let phase = match &facts.failed {
        Some(_) => "Failed",
        None => phase(pod, init, app),
    };
    let terminal = phase == "Succeeded" || phase == "Failed";
    let incomplete_init: Vec<&ContainerView> = init
        .iter()
        .filter(|c| {
            if c.sidecar {
                !c.started
            } else {
                !c.terminated_ok()
            }
        })
        .collect();
    let initialized = incomplete_init.is_empty();
    let unready: Vec<&ContainerView> = app
        .iter()
        .chain(init.iter().filter(|c| c.sidecar))
        .filter(|c| !c.ready)
        .collect();
    let containers_ready = unready.is_empty() && !terminal;
    let (ready_reason, ready_message) = if terminal {
        ("PodCompleted".to_string(), String::new())
    } else {
        (
            "ContainersNotReady".to_string(),
            format!("containers with unready status: [{}]", names(&unready)),
        )
    };
    let mut conditions = vec![
        condition(
            pod,
            "PodReadyToStartContainers",
            facts.sandbox_ready && !terminal,
            "",
            "",
            now,
        ),
        condition(
            pod,
            "Initialized",
            initialized,
            if terminal && !initialized {
                "PodCompleted"
            } else {
                "ContainersNotInitialized"
            },
            &format!(
                "containers with incomplete status: [{}]",
                names(&incomplete_init)
            ),
            now,
        ),
        condition(
            pod,
            "Ready",
            containers_ready,
            &ready_reason,
            &ready_message,
            now,
        ),
        condition(
            pod,
            "ContainersReady",
            containers_ready,
            &ready_reason,
            &ready_message,
            now,
        ),
    ];
    // The scheduler's condition is kept as it wrote it.
    let scheduled = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled").cloned())
        .unwrap_or_else(|| condition(pod, "PodScheduled", true, "", "", now));
    conditions.push(scheduled);

    let mut s = Map::new();
    s.insert("phase".into(), json!(phase));
    s.insert("conditions".into(), Value::Array(conditions));
    if let Some((reason, message)) = &facts.failed {
        s.insert("reason".into(), json!(reason));
        s.insert("message".into(), json!(message));
    }
    if !facts.host_ip.is_empty() {
        s.insert("hostIP".into(), json!(facts.host_ip));
        s.insert("hostIPs".into(), json!([{"ip": facts.host_ip}]));
    }
    if !facts.pod_ip.is_empty() {
        s.insert("podIP".into(), json!(facts.pod_ip));
        s.insert("podIPs".into(), json!([{"ip": facts.pod_ip}]));
    }
    if !facts.start_time.is_empty() {
        s.insert("startTime".into(), json!(facts.start_time));
    }
    if !init.is_empty() {
        s.insert(
            "initContainerStatuses".into(),
            Value::Array(init.iter().map(ContainerView::to_json).collect()),
        );
    }
    s.insert(
        "containerStatuses".into(),
        Value::Array(app.iter().map(ContainerView::to_json).collect()),
    );
    if let Some(q) = pod.pointer("/status/qosClass") {
        s.insert("qosClass".into(), q.clone());
    }
    Value::Object(s)
}

/// Terminated reason for an exit, as the kubelet reports it.
pub fn terminated_reason(exit_code: i32, oom_killed: bool) -> &'static str {
    if oom_killed {
        "OOMKilled"
    } else if exit_code == 0 {
        "Completed"
    } else {
        "Error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, state: State) -> ContainerView {
        ContainerView {
            name: name.into(),
            image: "busybox".into(),
            image_id: String::new(),
            container_id: String::new(),
            state,
            last_state: None,
            restart_count: 0,
            ready: false,
            started: false,
            sidecar: false,
        }
    }

    fn exited(code: i32) -> State {
        State::Terminated {
            exit_code: code,
            signal: None,
            reason: terminated_reason(code, false).into(),
            message: String::new(),
            started_at: "t0".into(),
            finished_at: "t1".into(),
        }
    }

    fn running() -> State {
        State::Running {
            started_at: "t0".into(),
        }
    }

    fn pod(policy: &str) -> Value {
        json!({"metadata": {"name": "p", "uid": "u"}, "spec": {"restartPolicy": policy}, "status": {"phase": "Pending"}})
    }

    #[test]
    fn phase_follows_kubelet_rules() {
        let p = pod("Always");
        let creating = view("a", State::waiting("ContainerCreating", ""));
        assert_eq!(phase(&p, &[], std::slice::from_ref(&creating)), "Pending");
        assert_eq!(phase(&p, &[], &[view("a", running())]), "Running");
        // A crash-looping container under Always keeps the pod Running.
        let mut looping = view("a", State::waiting("CrashLoopBackOff", "back-off"));
        looping.last_state = Some(exited(1));
        assert_eq!(phase(&p, &[], &[looping]), "Running");
        assert_eq!(phase(&p, &[], &[view("a", exited(0))]), "Running");
        assert_eq!(
            phase(&pod("Never"), &[], &[view("a", exited(0))]),
            "Succeeded"
        );
        assert_eq!(
            phase(
                &pod("Never"),
                &[],
                &[view("a", exited(0)), view("b", exited(2))]
            ),
            "Failed"
        );
        assert_eq!(
            phase(&pod("OnFailure"), &[], &[view("a", exited(2))]),
            "Running"
        );
        assert_eq!(
            phase(&pod("OnFailure"), &[], &[view("a", exited(0))]),
            "Succeeded"
        );
    }

    #[test]
    fn init_containers_keep_the_pod_pending_and_fail_it_under_never() {
        let p = pod("Always");
        let init = [view("init", running())];
        let app = [view("a", State::waiting("PodInitializing", ""))];
        assert_eq!(phase(&p, &init, &app), "Pending");
        let done = [view("init", exited(0))];
        assert_eq!(phase(&p, &done, &[view("a", running())]), "Running");
        assert_eq!(
            phase(&pod("Never"), &[view("init", exited(1))], &app),
            "Failed"
        );
        assert_eq!(
            phase(&pod("Always"), &[view("init", exited(1))], &app),
            "Pending"
        );
    }

    #[test]
    fn terminal_phase_is_sticky() {
        let mut p = pod("Always");
        p["status"]["phase"] = json!("Failed");
        assert_eq!(phase(&p, &[], &[view("a", running())]), "Failed");
    }

    #[test]
    fn conditions_name_the_unready_containers_and_keep_transition_times() {
        let p = pod("Always");
        let mut a = view("a", running());
        a.ready = true;
        a.started = true;
        let b = view("b", running());
        let facts = PodFacts {
            sandbox_ready: true,
            ..Default::default()
        };
        let s = pod_status(&p, &[], &[a.clone(), b], &facts, "T1");
        let ready = s["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "Ready")
            .unwrap();
        assert_eq!(ready["status"], "False");
        assert_eq!(ready["message"], "containers with unready status: [b]");
        let mut p2 = p.clone();
        p2["status"] = s;
        let mut b2 = view("b", running());
        b2.ready = true;
        let s2 = pod_status(&p2, &[], &[a.clone(), b2.clone()], &facts, "T2");
        let get = |s: &Value, t: &str| {
            s["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == t)
                .unwrap()
                .clone()
        };
        assert_eq!(get(&s2, "Ready")["status"], "True");
        assert_eq!(get(&s2, "Ready")["lastTransitionTime"], "T2");
        assert_eq!(get(&s2, "Initialized")["lastTransitionTime"], "T1");
        assert_eq!(s2["containerStatuses"][1]["ready"], true);
        assert_eq!(s2["phase"], "Running");
    }

    #[test]
    fn agent_decided_failure_wins() {
        let facts = PodFacts {
            failed: Some(("ShimDied".into(), "gone".into())),
            ..Default::default()
        };
        let s = pod_status(&pod("Always"), &[], &[view("a", running())], &facts, "T");
        assert_eq!(s["phase"], "Failed");
        assert_eq!(s["reason"], "ShimDied");
    }

    #[test]
    fn state_json_matches_the_api() {
        assert_eq!(
            State::waiting("CrashLoopBackOff", "back-off 10s").to_json(),
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}})
        );
        let t = exited(137);
        assert_eq!(t.to_json()["terminated"]["exitCode"], 137);
        assert_eq!(terminated_reason(137, true), "OOMKilled");
    }
}
