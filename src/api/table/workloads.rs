//! Rows of workload kinds: deployments, replica sets, replication controllers, daemon sets,
//! stateful sets, jobs and cron jobs (kubectl's printDeployment, printReplicaSet, ...).

use super::{
    AGE, Column, NAME, age, arr, col, container_cells, format_label_map, format_label_selector, i,
    int, label_selector_string, name, s, wide,
};
use crate::api::object::parse_time;
use serde_json::Value;

const CONTAINERS: Column = wide("Containers");
const IMAGES: Column = wide("Images");
const SELECTOR: Column = wide("Selector");

pub(super) const DEPLOYMENT: &[Column] = &[
    NAME,
    col("Ready"),
    int("Up-to-date"),
    int("Available"),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];
pub(super) const REPLICASET: &[Column] = &[
    NAME,
    int("Desired"),
    int("Current"),
    int("Ready"),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];
pub(super) const REPLICATION_CONTROLLER: &[Column] = REPLICASET;
pub(super) const DAEMONSET: &[Column] = &[
    NAME,
    int("Desired"),
    int("Current"),
    int("Ready"),
    int("Up-to-date"),
    int("Available"),
    col("Node Selector"),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];
pub(super) const STATEFULSET: &[Column] = &[NAME, col("Ready"), AGE, CONTAINERS, IMAGES];
pub(super) const JOB: &[Column] = &[
    NAME,
    col("Status"),
    col("Completions"),
    col("Duration"),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];
pub(super) const CRONJOB: &[Column] = &[
    NAME,
    col("Schedule"),
    col("Timezone"),
    col("Suspend"),
    int("Active"),
    col("Last Schedule"),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR,
];

fn template_containers(obj: &Value) -> (String, String) {
    container_cells(arr(obj, "/spec/template/spec/containers"))
}

/// `spec.replicas`, which defaulting sets to 1 when absent.
fn replicas(obj: &Value) -> i64 {
    obj.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

pub(super) fn deployment(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        format!("{}/{}", i(obj, "/status/readyReplicas"), replicas(obj)),
        i(obj, "/status/updatedReplicas").to_string(),
        i(obj, "/status/availableReplicas").to_string(),
        age(obj, now),
        names,
        images,
        // printDeployment uses selector.String(), which is empty (not <none>) for no selector.
        label_selector_string(obj.pointer("/spec/selector")),
    ]
}

pub(super) fn replicaset(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        replicas(obj).to_string(),
        i(obj, "/status/replicas").to_string(),
        i(obj, "/status/readyReplicas").to_string(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector")),
    ]
}

pub(super) fn replication_controller(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let mut r = replicaset(obj, now);
    // A replication controller's selector is a plain label map.
    r[7] = format_label_map(obj.pointer("/spec/selector"));
    r
}

pub(super) fn daemonset(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        i(obj, "/status/desiredNumberScheduled").to_string(),
        i(obj, "/status/currentNumberScheduled").to_string(),
        i(obj, "/status/numberReady").to_string(),
        i(obj, "/status/updatedNumberScheduled").to_string(),
        i(obj, "/status/numberAvailable").to_string(),
        format_label_map(obj.pointer("/spec/template/spec/nodeSelector")),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector")),
    ]
}

pub(super) fn statefulset(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        format!("{}/{}", i(obj, "/status/readyReplicas"), replicas(obj)),
        age(obj, now),
        names,
        images,
    ]
}

fn has_condition(obj: &Value, ty: &str) -> bool {
    arr(obj, "/status/conditions")
        .iter()
        .any(|c| s(c, "/type") == ty && s(c, "/status") == "True")
}

fn optional_selector(sel: Option<&Value>) -> String {
    match sel {
        Some(v) if !v.is_null() => format_label_selector(Some(v)),
        _ => String::new(),
    }
}

pub(super) fn job(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let succeeded = i(obj, "/status/succeeded");
    let completions = match obj.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = i(obj, "/spec/parallelism");
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = obj
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let end = obj
        .pointer("/status/completionTime")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(st), None) => super::human_duration_between(st, now),
        (Some(st), Some(en)) => super::human_duration_between(st, en),
    };
    let status = if has_condition(obj, "Complete") {
        "Complete"
    } else if has_condition(obj, "Failed") {
        "Failed"
    } else if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        "Terminating"
    } else if has_condition(obj, "Suspended") {
        "Suspended"
    } else if has_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else if has_condition(obj, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let (names, images) = template_containers(obj);
    vec![
        name(obj),
        status.to_string(),
        completions,
        duration,
        age(obj, now),
        names,
        images,
        optional_selector(obj.pointer("/spec/selector")),
    ]
}

pub(super) fn cronjob(obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let last = match obj
        .pointer("/status/lastScheduleTime")
        .and_then(Value::as_str)
    {
        Some(t) => super::since(Some(t), now),
        None => "<none>".to_string(),
    };
    let tz = obj
        .pointer("/spec/timeZone")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let suspend = match obj.pointer("/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let (names, images) =
        container_cells(arr(obj, "/spec/jobTemplate/spec/template/spec/containers"));
    vec![
        name(obj),
        s(obj, "/spec/schedule").to_string(),
        tz.to_string(),
        suspend.to_string(),
        arr(obj, "/status/active").len().to_string(),
        last,
        age(obj, now),
        names,
        images,
        optional_selector(obj.pointer("/spec/jobTemplate/spec/selector")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::table::tests::now;
    use serde_json::json;

    fn meta() -> Value {
        json!({"name": "web", "creationTimestamp": "2024-04-28T12:00:00Z"})
    }

    #[test]
    fn deployment_row() {
        let d = json!({
            "metadata": meta(),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        assert_eq!(
            deployment(&d, now()),
            [
                "web",
                "2/3",
                "3",
                "2",
                "3d",
                "nginx,side",
                "nginx:1.25,busybox",
                "app=web"
            ]
        );
    }

    #[test]
    fn replicaset_and_rc_rows() {
        let rs = json!({"metadata": meta(), "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
                        "status": {"replicas": 2, "readyReplicas": 1}});
        assert_eq!(&replicaset(&rs, now())[..5], ["web", "2", "2", "1", "3d"]);
        let rc = json!({"metadata": meta(), "spec": {"replicas": 1, "selector": {"app": "web"}}});
        assert_eq!(replication_controller(&rc, now())[7], "app=web");
    }

    #[test]
    fn daemonset_and_statefulset_rows() {
        let ds = json!({"metadata": meta(), "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}},
                        "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 0,
                                   "updatedNumberScheduled": 1, "numberAvailable": 0}});
        assert_eq!(
            &daemonset(&ds, now())[..8],
            ["web", "1", "1", "0", "1", "0", "disk=ssd", "3d"]
        );
        let sts =
            json!({"metadata": meta(), "spec": {"replicas": 3}, "status": {"readyReplicas": 3}});
        assert_eq!(&statefulset(&sts, now())[..3], ["web", "3/3", "3d"]);
    }

    #[test]
    fn job_rows() {
        let mut j = json!({"metadata": meta(), "spec": {"completions": 3, "parallelism": 1},
                           "status": {"succeeded": 1, "startTime": "2024-05-01T11:58:00Z"}});
        assert_eq!(&job(&j, now())[..5], ["web", "Running", "1/3", "2m", "3d"]);
        j["status"]["completionTime"] = json!("2024-05-01T11:58:30Z");
        j["status"]["conditions"] = json!([{"type": "Complete", "status": "True"}]);
        assert_eq!(&job(&j, now())[1..4], ["Complete", "1/3", "30s"]);
        let j = json!({"metadata": meta(), "spec": {"parallelism": 4}});
        assert_eq!(&job(&j, now())[1..4], ["Running", "0/1 of 4", ""]);
    }

    #[test]
    fn cronjob_row() {
        let cj = json!({"metadata": meta(), "spec": {"schedule": "*/5 * * * *", "suspend": false},
                        "status": {"active": [{"name": "a"}], "lastScheduleTime": "2024-05-01T11:55:00Z"}});
        assert_eq!(
            &cronjob(&cj, now())[..7],
            ["web", "*/5 * * * *", "<none>", "False", "1", "5m", "3d"]
        );
    }
}
