//! The pure parts of Kubernetes' Job controller: the selector and labels of a Job's pods,
//! how many pods should run, the pod failure back-off, completion indexes, the pod failure
//! policy and the conditions. Functions of their inputs only, so they are tested alone.

use crate::api::object::{ObjectExt, parse_time};
use crate::api::selector::LabelSelector;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// Kubernetes' DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(10);
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Test-only override of the 10 s base back-off (milliseconds), read by `peapod serve`, so
/// the integration tests need not wait 10 + 20 s for a failing Job.
pub const BACKOFF_ENV: &str = "PEAPOD_JOB_BACKOFF_BASE_MS";

/// The base back-off: 10 s, or `PEAPOD_JOB_BACKOFF_BASE_MS`.
pub fn backoff_base() -> Duration {
    std::env::var(BACKOFF_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_BACKOFF)
}

fn spec_i64(job: &Value, field: &str) -> Option<i64> {
    job.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_i64)
}

pub fn completions(job: &Value) -> Option<i64> {
    spec_i64(job, "completions")
}

pub fn parallelism(job: &Value) -> i64 {
    spec_i64(job, "parallelism").unwrap_or(1).max(0)
}

pub fn backoff_limit(job: &Value) -> i64 {
    spec_i64(job, "backoffLimit").unwrap_or(6)
}

pub fn is_suspended(job: &Value) -> bool {
    job.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true)
}

pub fn is_indexed(job: &Value) -> bool {
    job.str_at("/spec/completionMode") == Some("Indexed")
}

fn manual_selector(job: &Value) -> bool {
    job.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true)
}

/// The Job's pod selector: `spec.selector`, or — as the API server generates it when
/// `manualSelector` is not set — the Job's controller-uid label.
pub fn selector(job: &Value) -> Option<LabelSelector> {
    match job.pointer("/spec/selector").filter(|s| !s.is_null()) {
        Some(s) => LabelSelector::from_json(s).ok().flatten(),
        None if !manual_selector(job) && !job.uid().is_empty() => {
            let labels =
                BTreeMap::from([(CONTROLLER_UID_LABEL.to_string(), job.uid().to_string())]);
            Some(LabelSelector::from_labels(&labels))
        }
        None => None,
    }
}

/// Labels the API server adds to a Job's pod template (unless `manualSelector`): the job
/// name and controller uid, in both the current and the legacy spelling.
pub fn generated_labels(job: &Value) -> Vec<(&'static str, String)> {
    if manual_selector(job) {
        return Vec::new();
    }
    let (name, uid) = (job.name().to_string(), job.uid().to_string());
    vec![
        (CONTROLLER_UID_LABEL, uid.clone()),
        (JOB_NAME_LABEL, name.clone()),
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
    ]
}

/// The pod template for one pod (`index` for Indexed Jobs): the Job's template with the
/// generated labels, and for an index the annotation and label
/// `batch.kubernetes.io/job-completion-index`, hostname `<job>-<index>` and the
/// `JOB_COMPLETION_INDEX` variable read from the annotation.
pub fn pod_template(job: &Value, index: Option<i64>) -> Value {
    let mut t = job
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !t.is_object() {
        t = json!({});
    }
    if !t["metadata"].is_object() {
        t["metadata"] = json!({});
    }
    if !t["metadata"]["labels"].is_object() {
        t["metadata"]["labels"] = json!({});
    }
    for (k, v) in generated_labels(job) {
        t["metadata"]["labels"][k] = json!(v);
    }
    if let Some(i) = index {
        if !t["metadata"]["annotations"].is_object() {
            t["metadata"]["annotations"] = json!({});
        }
        t["metadata"]["annotations"][COMPLETION_INDEX] = json!(i.to_string());
        t["metadata"]["labels"][COMPLETION_INDEX] = json!(i.to_string());
        if !t["spec"].is_object() {
            t["spec"] = json!({});
        }
        t["spec"]["hostname"] = json!(format!("{}-{i}", job.name()));
        let env = json!({"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
            "fieldPath": format!("metadata.annotations['{COMPLETION_INDEX}']")}}});
        for list in ["initContainers", "containers"] {
            if let Some(cs) = t["spec"][list].as_array_mut() {
                for c in cs {
                    let has = c["env"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|v| v["name"] == COMPLETION_INDEX_ENV));
                    if has {
                        continue;
                    }
                    if !c["env"].is_array() {
                        c["env"] = json!([]);
                    }
                    if let Some(e) = c["env"].as_array_mut() {
                        e.push(env.clone());
                    }
                }
            }
        }
    }
    t
}

/// Kubernetes' podGenerateNameWithIndex: `<job>-<index>-`, the job name cut so the whole
/// name (with 5 random characters) stays within 63 characters.
pub fn generate_name(job_name: &str, index: Option<i64>) -> String {
    match index {
        None => format!("{job_name}-"),
        Some(i) => {
            let suffix = format!("-{i}-");
            let room = 63usize.saturating_sub(5 + suffix.len());
            let prefix: String = job_name.chars().take(room).collect();
            format!("{prefix}{suffix}")
        }
    }
}

/// A pod's completion index (the annotation), if valid.
pub fn pod_index(pod: &Value) -> Option<i64> {
    pod.annotation(COMPLETION_INDEX)
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|i| *i >= 0)
}

/// Parse `status.completedIndexes` (`1,3-5,7`).
pub fn parse_indexes(s: &str) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<i64>(), b.parse::<i64>())
                    && a <= b
                    && b - a < 1_000_000
                {
                    out.extend(a..=b);
                }
            }
            None => {
                if let Ok(i) = part.parse::<i64>() {
                    out.insert(i);
                }
            }
        }
    }
    out
}

/// Format indexes as Kubernetes does: ascending, any run of consecutive indexes as `a-b`
/// (`0-2,4,7-8`).
pub fn format_indexes(set: &BTreeSet<i64>) -> String {
    let mut parts = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        if start == end {
            parts.push(start.to_string());
        } else {
            parts.push(format!("{start}-{end}"));
        }
    }
    parts.join(",")
}

/// Kubernetes' firstPendingIndexes: the lowest `count` indexes below `completions` that
/// neither succeeded nor have an active pod.
pub fn first_pending_indexes(
    completions: i64,
    succeeded: &BTreeSet<i64>,
    active: &BTreeSet<i64>,
    count: usize,
) -> Vec<i64> {
    (0..completions.max(0))
        .filter(|i| !succeeded.contains(i) && !active.contains(i))
        .take(count)
        .collect()
}

/// Kubernetes' manageJob: how many pods should be active. Without `completions` (a work
/// queue) it is `parallelism` until one pod succeeds, then whatever still runs; otherwise
/// the remaining completions, at most `parallelism`.
pub fn want_active(completions: Option<i64>, parallelism: i64, active: i64, succeeded: i64) -> i64 {
    match completions {
        None if succeeded > 0 => active,
        None => parallelism,
        Some(c) => (c - succeeded).min(parallelism).max(0),
    }
}

/// Whether the Job has all it needs: a work queue once one pod succeeded and none runs;
/// otherwise `completions` successes and none running.
pub fn is_complete(completions: Option<i64>, succeeded: i64, active: i64) -> bool {
    match completions {
        None => succeeded > 0 && active == 0,
        Some(c) => succeeded >= c && active == 0,
    }
}

/// When a finished pod finished: the latest container termination time, else its Ready
/// condition's last transition, else its creation time (Kubernetes' getFinishedTime).
pub fn finish_time(pod: &Value) -> Option<Timestamp> {
    let mut latest: Option<Timestamp> = None;
    for list in ["containerStatuses", "initContainerStatuses"] {
        for c in pod
            .pointer(&format!("/status/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = c
                .pointer("/state/terminated/finishedAt")
                .and_then(Value::as_str)
                .and_then(parse_time)
            {
                latest = Some(latest.map_or(t, |l| l.max(t)));
            }
        }
    }
    latest
        .or_else(|| {
            pod.pointer("/status/conditions")
                .and_then(Value::as_array)?
                .iter()
                .find(|c| c["type"] == "Ready")?["lastTransitionTime"]
                .as_str()
                .and_then(parse_time)
        })
        .or_else(|| pod.creation_timestamp().and_then(parse_time))
}

/// Kubernetes' backoff record, derived from the pods instead of kept in memory: the number
/// of failed pods that finished after the last successful one, and when the last failed.
pub fn failures_after_last_success(
    succeeded: &[&Value],
    failed: &[&Value],
) -> (u32, Option<Timestamp>) {
    let last_success = succeeded.iter().filter_map(|p| finish_time(p)).max();
    let mut count = 0;
    let mut last_failure = None;
    for p in failed {
        let t = finish_time(p);
        if let (Some(s), Some(f)) = (last_success, t)
            && f <= s
        {
            continue;
        }
        count += 1;
        if let Some(f) = t {
            last_failure = Some(last_failure.map_or(f, |l: Timestamp| l.max(f)));
        }
    }
    (count, last_failure)
}

/// The back-off after `failures` failures: `base` doubling per further failure, at most
/// `max` (Kubernetes' getRemainingTimeForFailuresCount).
pub fn backoff_delay(failures: u32, base: Duration, max: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let mut d = base;
    for _ in 1..failures {
        d = d.saturating_mul(2);
        if d >= max {
            return max;
        }
    }
    d.min(max)
}

/// How long to wait before creating pods again after failures (zero: create now).
pub fn remaining_backoff(
    failures: u32,
    last_failure: Option<Timestamp>,
    base: Duration,
    now: Timestamp,
) -> Duration {
    let Some(last) = last_failure else {
        return Duration::ZERO;
    };
    let delay = backoff_delay(failures, base, MAX_BACKOFF);
    let elapsed: Duration = last
        .duration_until(now)
        .try_into()
        .unwrap_or(Duration::ZERO);
    delay.saturating_sub(elapsed)
}

/// Kubernetes' pastBackoffLimitOnFailure: with restartPolicy OnFailure the kubelet restarts
/// failed containers in place, so failures are the restarts of running and pending pods.
pub fn past_backoff_limit_on_failure<'a>(
    job: &Value,
    pods: impl IntoIterator<Item = &'a Value>,
) -> bool {
    if job.str_at("/spec/template/spec/restartPolicy") != Some("OnFailure") {
        return false;
    }
    let mut restarts = 0i64;
    for p in pods {
        let phase = p.str_at("/status/phase").unwrap_or("");
        if phase != "Running" && phase != "Pending" {
            continue;
        }
        for list in ["initContainerStatuses", "containerStatuses"] {
            for c in p
                .pointer(&format!("/status/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                restarts += c["restartCount"].as_i64().unwrap_or(0);
            }
        }
    }
    let limit = backoff_limit(job);
    if limit == 0 {
        restarts > 0
    } else {
        restarts >= limit
    }
}

/// Seconds left until `activeDeadlineSeconds` passes (≤ 0: past it); `None` when there is no
/// deadline, no start time, or the Job is suspended.
pub fn deadline_left(job: &Value, now: Timestamp) -> Option<SignedDuration> {
    let ads = spec_i64(job, "activeDeadlineSeconds")?;
    if is_suspended(job) {
        return None;
    }
    let start = job.str_at("/status/startTime").and_then(parse_time)?;
    let end = start.checked_add(SignedDuration::from_secs(ads)).ok()?;
    Some(now.duration_until(end))
}

/// What a pod failure policy rule says about a failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyAction {
    FailJob(String),
    Ignore,
    Count,
    FailIndex,
}

/// Kubernetes' matchPodFailurePolicy: the first rule of `spec.podFailurePolicy` that matches
/// the failed `pod` — by the exit codes of its terminated containers (0 never matches) or by
/// its conditions — with the message Kubernetes writes for FailJob. `None`: no rule matched
/// (the failure counts).
pub fn match_pod_failure_policy(job: &Value, pod: &Value) -> Option<PolicyAction> {
    let rules = job
        .pointer("/spec/podFailurePolicy/rules")
        .and_then(Value::as_array)?;
    let pod_ref = format!("{}/{}", pod.namespace().unwrap_or(""), pod.name());
    for (i, rule) in rules.iter().enumerate() {
        let action = rule["action"].as_str().unwrap_or("");
        let mut matched: Option<String> = None;
        if let Some(req) = rule.get("onExitCodes").filter(|v| v.is_object()) {
            let values: Vec<i64> = req["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let op_in = req["operator"] != "NotIn";
            let only = req["containerName"].as_str();
            for list in ["initContainerStatuses", "containerStatuses"] {
                for c in pod
                    .pointer(&format!("/status/{list}"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(code) = c
                        .pointer("/state/terminated/exitCode")
                        .and_then(Value::as_i64)
                    else {
                        continue;
                    };
                    if code == 0 || only.is_some_and(|n| c["name"] != n) {
                        continue;
                    }
                    if values.contains(&code) == op_in && matched.is_none() {
                        matched = Some(format!(
                            "Container {} for pod {pod_ref} failed with exit code {code} matching {action} rule at index {i}",
                            c["name"].as_str().unwrap_or("")
                        ));
                    }
                }
            }
        } else if let Some(patterns) = rule["onPodConditions"].as_array() {
            for pat in patterns {
                let want_status = pat["status"].as_str().unwrap_or("True");
                let found = pod
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == pat["type"] && c["status"] == want_status);
                if found && matched.is_none() {
                    matched = Some(format!(
                        "Pod {pod_ref} has condition {} matching {action} rule at index {i}",
                        pat["type"].as_str().unwrap_or("")
                    ));
                }
            }
        }
        if let Some(msg) = matched {
            return Some(match action {
                "FailJob" => PolicyAction::FailJob(msg),
                "Ignore" => PolicyAction::Ignore,
                "FailIndex" => PolicyAction::FailIndex,
                _ => PolicyAction::Count,
            });
        }
    }
    None
}

/// A Job condition as Kubernetes writes it.
pub fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind,
        "status": status,
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    })
}

/// The condition of `kind` with status True, if any.
pub fn true_condition<'a>(job: &'a Value, kind: &str) -> Option<&'a Value> {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

/// Kubernetes' IsJobFinished: a Complete or Failed condition is True.
pub fn is_finished(job: &Value) -> bool {
    true_condition(job, "Complete").is_some() || true_condition(job, "Failed").is_some()
}

/// When a finished Job finished: its completionTime, else its terminal condition's time.
pub fn finished_at(job: &Value) -> Option<Timestamp> {
    job.str_at("/status/completionTime")
        .and_then(parse_time)
        .or_else(|| {
            ["Complete", "Failed"]
                .iter()
                .find_map(|k| true_condition(job, k))
                .and_then(|c| c["lastTransitionTime"].as_str())
                .and_then(parse_time)
        })
}

#[cfg(test)]
#[path = "logic_tests.rs"]
mod tests;
