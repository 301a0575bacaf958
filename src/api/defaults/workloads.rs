//! Workload defaults: apps/v1 (Deployment, ReplicaSet, DaemonSet, StatefulSet), batch/v1
//! (Job, CronJob) and core/v1 ReplicationController.

use super::core::default_claim;
use super::pod::default_template;
use super::{child, default_str, default_value, each_item, ensure_child, is_unset};
use serde_json::{Map, Value, json};

/// An empty or absent string map (Go's `len(m) == 0`).
fn empty_map(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_none_or(Map::is_empty)
}

fn template_labels(spec: &Map<String, Value>) -> Option<Value> {
    let labels = spec.get("template")?.get("metadata")?.get("labels")?;
    labels.is_object().then(|| labels.clone())
}

/// Copy the pod template's labels to `metadata.labels` when the object has none.
fn labels_from_template(obj: &mut Map<String, Value>, labels: &Option<Value>) {
    let Some(labels) = labels else { return };
    let Some(meta) = ensure_child(obj, "metadata") else {
        return;
    };
    if empty_map(meta.get("labels")) {
        meta.insert("labels".into(), labels.clone());
    }
}

pub(super) fn replication_controller(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    let labels = template_labels(spec);
    if let Some(l) = &labels
        && empty_map(spec.get("selector"))
    {
        spec.insert("selector".into(), l.clone());
    }
    default_value(spec, "replicas", json!(1));
    default_template(spec, Some("Always"));
    labels_from_template(obj, &labels);
}

pub(super) fn replica_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "replicas", json!(1));
    default_template(spec, Some("Always"));
}

pub(super) fn deployment(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_value(spec, "replicas", json!(1));
    if let Some(strategy) = ensure_child(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = ensure_child(strategy, "rollingUpdate")
        {
            default_value(ru, "maxUnavailable", json!("25%"));
            default_value(ru, "maxSurge", json!("25%"));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_value(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec, Some("Always"));
}

pub(super) fn daemon_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if let Some(strategy) = ensure_child(spec, "updateStrategy") {
        default_str(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = ensure_child(strategy, "rollingUpdate")
        {
            default_value(ru, "maxUnavailable", json!(1));
            default_value(ru, "maxSurge", json!(0));
        }
    }
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_template(spec, Some("Always"));
}

pub(super) fn stateful_set(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = ensure_child(spec, "updateStrategy") {
        // Kubernetes adds an empty rollingUpdate only when it also defaults the type.
        let type_unset = match strategy.get("type") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if type_unset {
            strategy.insert("type".into(), json!("RollingUpdate"));
            default_value(strategy, "rollingUpdate", json!({}));
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            default_value(ru, "partition", json!(0));
        }
    }
    if let Some(policy) = ensure_child(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(policy, "whenDeleted", "Retain");
        default_str(policy, "whenScaled", "Retain");
    }
    default_value(spec, "replicas", json!(1));
    default_value(spec, "revisionHistoryLimit", json!(10));
    default_template(spec, Some("Always"));
    for claim in each_item(spec, "volumeClaimTemplates") {
        default_claim(claim);
    }
}

pub(super) fn job(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    if is_unset(spec.get("completions")) && is_unset(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    default_value(spec, "parallelism", json!(1));
    if is_unset(spec.get("backoffLimit")) {
        // With a per-index limit the global one is effectively off.
        let limit = if is_unset(spec.get("backoffLimitPerIndex")) {
            6
        } else {
            i32::MAX as i64
        };
        spec.insert("backoffLimit".into(), json!(limit));
    }
    default_value(spec, "completionMode", json!("NonIndexed"));
    default_value(spec, "suspend", json!(false));
    let has_failure_policy = !is_unset(spec.get("podFailurePolicy"));
    if let Some(policy) = child(spec, "podFailurePolicy") {
        for rule in each_item(policy, "rules") {
            for pattern in each_item(rule, "onPodConditions") {
                default_str(pattern, "status", "True");
            }
        }
    }
    let replacement = if has_failure_policy {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    default_value(spec, "podReplacementPolicy", json!(replacement));
    // Job templates get no restartPolicy: it must be OnFailure or Never, chosen by the user.
    default_template(spec, None);
    let labels = template_labels(spec);
    labels_from_template(obj, &labels);
}

pub(super) fn cron_job(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "concurrencyPolicy", "Allow");
    default_value(spec, "suspend", json!(false));
    default_value(spec, "successfulJobsHistoryLimit", json!(3));
    default_value(spec, "failedJobsHistoryLimit", json!(1));
    // Only the pod template inside is defaulted; the job template's own fields are defaulted
    // when the controller creates each Job.
    if let Some(job_spec) = child(spec, "jobTemplate").and_then(|t| child(t, "spec")) {
        default_template(job_spec, None);
    }
}
