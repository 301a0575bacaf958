//! Pod rows: kubectl's `printPod`, including its STATUS and RESTARTS rules.

use super::{AGE, Column, NAME, arr, col, i, int, s, since, wide};
use crate::api::object::parse_time;
use serde_json::Value;

pub(super) const COLUMNS: &[Column] = &[
    NAME,
    col("Ready"),
    col("Status"),
    int("Restarts"),
    AGE,
    wide("IP"),
    wide("Node"),
    wide("Nominated Node"),
    wide("Readiness Gates"),
];

fn is_true(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).and_then(Value::as_bool).unwrap_or(false)
}

fn condition_true(pod: &Value, ty: &str) -> bool {
    arr(pod, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
}

/// Later of the current latest and a container's last termination time.
fn later(latest: Option<jiff::Timestamp>, status: &Value) -> Option<jiff::Timestamp> {
    let t = status
        .pointer("/lastState/terminated/finishedAt")
        .and_then(Value::as_str)
        .and_then(parse_time);
    match (latest, t) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The STATUS column (phase or reason, refined by init and container states), ready and total
/// containers, restarts, and the last restart time.
pub fn status_and_counts(pod: &Value) -> (String, usize, usize, i64, Option<jiff::Timestamp>) {
    let containers = arr(pod, "/spec/containers");
    let init_specs = arr(pod, "/spec/initContainers");
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| s(c, "/name") == name && s(c, "/restartPolicy") == "Always")
    };
    let total = containers.len()
        + init_specs
            .iter()
            .filter(|c| s(c, "/restartPolicy") == "Always")
            .count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<jiff::Timestamp> = None;
    let mut last_sidecar_restart: Option<jiff::Timestamp> = None;

    let phase = s(pod, "/status/phase");
    let mut reason = phase.to_string();
    if !s(pod, "/status/reason").is_empty() {
        reason = s(pod, "/status/reason").to_string();
    }
    if arr(pod, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == "PodScheduled" && s(c, "/reason") == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }

    let mut initializing = false;
    for (idx, st) in arr(pod, "/status/initContainerStatuses").iter().enumerate() {
        let cname = s(st, "/name");
        restarts += i(st, "/restartCount");
        last_restart = later(last_restart, st);
        if restartable(cname) {
            sidecar_restarts += i(st, "/restartCount");
            last_sidecar_restart = later(last_sidecar_restart, st);
        }
        let terminated = st.pointer("/state/terminated").filter(|t| t.is_object());
        let waiting_reason = s(st, "/state/waiting/reason");
        if terminated.is_some_and(|t| i(t, "/exitCode") == 0) {
            continue;
        }
        if restartable(cname) && is_true(st, "/started") {
            if is_true(st, "/ready") {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            reason = if s(t, "/reason").is_empty() {
                if i(t, "/signal") != 0 {
                    format!("Init:Signal:{}", i(t, "/signal"))
                } else {
                    format!("Init:ExitCode:{}", i(t, "/exitCode"))
                }
            } else {
                format!("Init:{}", s(t, "/reason"))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{idx}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for st in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += i(st, "/restartCount");
            last_restart = later(last_restart, st);
            let waiting = s(st, "/state/waiting/reason");
            let terminated = st.pointer("/state/terminated").filter(|t| t.is_object());
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = if !s(t, "/reason").is_empty() {
                    s(t, "/reason").to_string()
                } else if i(t, "/signal") != 0 {
                    format!("Signal:{}", i(t, "/signal"))
                } else {
                    format!("ExitCode:{}", i(t, "/exitCode"))
                };
            } else if is_true(st, "/ready")
                && st.pointer("/state/running").is_some_and(Value::is_object)
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }

    let terminal = phase == "Succeeded" || phase == "Failed";
    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    if deleting && s(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && !terminal {
        reason = "Terminating".into();
    }
    (reason, ready, total, restarts, last_restart)
}

pub(super) fn row(pod: &Value, now: jiff::Timestamp) -> Vec<String> {
    let (reason, ready, total, restarts, last_restart) = status_and_counts(pod);
    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", super::human_duration_between(t, now))
        }
        _ => restarts.to_string(),
    };
    let ip = arr(pod, "/status/podIPs")
        .first()
        .map(|p| s(p, "/ip"))
        .filter(|ip| !ip.is_empty())
        .or_else(|| Some(s(pod, "/status/podIP")).filter(|ip| !ip.is_empty()))
        .unwrap_or("<none>");
    let or_none = |v: &str| {
        if v.is_empty() {
            "<none>".to_string()
        } else {
            v.to_string()
        }
    };
    let gates = arr(pod, "/spec/readinessGates");
    let gates_str = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                let ty = s(g, "/conditionType");
                arr(pod, "/status/conditions")
                    .iter()
                    .find(|c| s(c, "/type") == ty)
                    .is_some_and(|c| s(c, "/status") == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        super::name(pod),
        format!("{ready}/{total}"),
        reason,
        restarts_str,
        since(
            pod.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
            now,
        ),
        ip.to_string(),
        or_none(s(pod, "/spec/nodeName")),
        or_none(s(pod, "/status/nominatedNodeName")),
        gates_str,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::table::tests::now;
    use serde_json::json;

    fn pod(status: Value) -> Value {
        json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:59:55Z"},
            "spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "busybox"}]},
            "status": status
        })
    }

    #[test]
    fn pending_pod() {
        let p = pod(json!({"phase": "Pending"}));
        assert_eq!(
            row(&p, now()),
            [
                "web", "0/2", "Pending", "0", "5s", "<none>", "<none>", "<none>", "<none>"
            ]
        );
    }

    #[test]
    fn running_with_restarts_ago() {
        let p = pod(json!({
            "phase": "Running",
            "podIP": "10.0.0.5",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:55:00Z"}}},
                {"name": "b", "ready": true, "restartCount": 3, "state": {"running": {}}}
            ]
        }));
        let r = row(&p, now());
        assert_eq!(
            &r[..6],
            ["web", "2/2", "Running", "5 (5m ago)", "5s", "10.0.0.5"]
        );
    }

    #[test]
    fn waiting_reason_wins_and_completed_with_running_is_not_ready() {
        let p = pod(json!({
            "phase": "Running",
            "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}
            ]
        }));
        assert_eq!(row(&p, now())[2], "CrashLoopBackOff");
        let p = pod(json!({
            "phase": "Running",
            "containerStatuses": [
                {"name": "a", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "b", "ready": true, "state": {"running": {}}}
            ]
        }));
        assert_eq!(row(&p, now())[2], "NotReady");
        let p = pod(json!({
            "phase": "Succeeded",
            "containerStatuses": [
                {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
            ]
        }));
        assert_eq!(row(&p, now())[2], "Completed");
        let p = pod(json!({
            "phase": "Failed",
            "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 0}}}]
        }));
        assert_eq!(row(&p, now())[2], "ExitCode:137");
    }

    #[test]
    fn init_containers() {
        let mut p = pod(json!({
            "phase": "Pending",
            "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                {"name": "i2", "state": {"running": {}}}
            ]
        }));
        p["spec"]["initContainers"] = json!([{"name": "i1"}, {"name": "i2"}]);
        assert_eq!(row(&p, now())[2], "Init:1/2");
        p["status"]["initContainerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "ImagePullBackOff"}});
        assert_eq!(row(&p, now())[2], "Init:ImagePullBackOff");
        p["status"]["initContainerStatuses"][1]["state"] = json!({"terminated": {"exitCode": 3}});
        assert_eq!(row(&p, now())[2], "Init:ExitCode:3");
    }

    #[test]
    fn sidecars_count_as_containers() {
        let mut p = pod(json!({
            "phase": "Running",
            "initContainerStatuses": [{"name": "side", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
            "containerStatuses": [
                {"name": "a", "ready": true, "state": {"running": {}}},
                {"name": "b", "ready": true, "state": {"running": {}}}
            ]
        }));
        p["spec"]["initContainers"] = json!([{"name": "side", "restartPolicy": "Always"}]);
        let r = row(&p, now());
        assert_eq!(&r[1..4], ["3/3", "Running", "1"]);
    }

    #[test]
    fn terminating_unless_terminal() {
        let mut p = pod(json!({"phase": "Running"}));
        p["metadata"]["deletionTimestamp"] = json!("2024-05-01T12:00:00Z");
        assert_eq!(row(&p, now())[2], "Terminating");
        p["status"]["phase"] = json!("Succeeded");
        assert_eq!(row(&p, now())[2], "Succeeded");
    }

    #[test]
    fn wide_cells() {
        let mut p = pod(json!({"phase": "Running", "podIPs": [{"ip": "10.1.0.2"}],
            "conditions": [{"type": "www.example.com/gate", "status": "True"}]}));
        p["spec"]["nodeName"] = json!("node1");
        p["spec"]["readinessGates"] =
            json!([{"conditionType": "www.example.com/gate"}, {"conditionType": "other"}]);
        let r = row(&p, now());
        assert_eq!(&r[5..], ["10.1.0.2", "node1", "<none>", "1/2"]);
    }
}
