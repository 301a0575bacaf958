//! The Job controller, after Kubernetes' pkg/controller/job syncJob: run pods until
//! `completions` succeed (or, without completions, until one succeeds and the rest end),
//! at most `parallelism` at a time; fail the Job past `backoffLimit` or
//! `activeDeadlineSeconds` or on a FailJob rule of its pod failure policy; delete the pods
//! of a suspended Job; give Indexed pods their completion index.
//!
//! Differences from Kubernetes, on purpose: no tracking finalizers on pods. Counts are taken
//! from the pods present (and never go down: `status.succeeded`/`failed` keep their highest
//! value, `completedIndexes` only grows), so a finished pod deleted by hand before the Job
//! saw it finish is not counted. The back-off record is derived from the pods' finish times
//! instead of being kept in memory, so it survives a restart.
//!
//! Like Kubernetes 1.31+, a finishing Job first gets the interim condition
//! (SuccessCriteriaMet / FailureTarget), and Complete / Failed once no pod of it is still
//! running or terminating.

pub mod logic;
pub mod ttl;

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey, now_rfc3339};
use crate::api::request::{ListOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::events::EventKind;
use crate::controllers::podcontrol::{self, BURST_REPLICAS};
use crate::controllers::runtime::{Action, Reconciler, kind_of_key};
use logic::PolicyAction;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const COMPONENT: &str = "job-controller";

pub struct JobController {
    backoff_base: Duration,
}

impl Default for JobController {
    fn default() -> Self {
        JobController {
            backoff_base: logic::backoff_base(),
        }
    }
}

impl JobController {
    /// A controller with a given base pod failure back-off (tests).
    pub fn with_backoff(base: Duration) -> JobController {
        JobController { backoff_base: base }
    }
}

fn pods_kind() -> ApiResult<&'static KindInfo> {
    kinds::lookup("pods").ok_or_else(|| ApiError::internal("pods kind missing"))
}

fn phase(p: &Value) -> &str {
    p.str_at("/status/phase").unwrap_or("")
}

/// The finishing condition decided for this sync: the interim type and reason/message.
#[derive(Debug, Clone)]
struct Finish {
    success: bool,
    reason: String,
    message: String,
}

/// What one sync found and decided, turned into the status at its end.
struct Sync {
    active: i64,
    ready: i64,
    terminating: i64,
    succeeded: i64,
    failed: i64,
    completed_indexes: Option<BTreeSet<i64>>,
    finish: Option<Finish>,
    requeue: Option<Duration>,
    error: Option<ApiError>,
}

impl Sync {
    fn requeue_within(&mut self, d: Duration) {
        self.requeue = Some(self.requeue.map_or(d, |r| r.min(d)));
    }
}

async fn create_pod(cluster: &dyn Cluster, job: &Value, index: Option<i64>) -> ApiResult<()> {
    let template = logic::pod_template(job, index);
    let prefix = logic::generate_name(job.name(), index);
    let pod = podcontrol::pod_from_template(job, &template, &prefix);
    match cluster.create(pod, &WriteOptions::default()).await {
        Ok(p) => {
            let msg = format!("Created pod: {}", p.name());
            podcontrol::record(
                cluster,
                COMPONENT,
                job,
                EventKind::Normal,
                "SuccessfulCreate",
                &msg,
            )
            .await;
            Ok(())
        }
        Err(e) => {
            let msg = format!("Error creating: {}", e.message);
            podcontrol::record(
                cluster,
                COMPONENT,
                job,
                EventKind::Warning,
                "FailedCreate",
                &msg,
            )
            .await;
            Err(e)
        }
    }
}

/// Delete `pods` concurrently; returns how many went and the first error.
async fn delete_pods(
    cluster: &dyn Cluster,
    job: &Value,
    pods: &[Arc<Value>],
) -> (i64, Option<ApiError>) {
    let deletes = pods
        .iter()
        .map(|pod| podcontrol::delete_pod(cluster, COMPONENT, job, pod));
    let mut n = 0;
    let mut first = None;
    for r in futures::future::join_all(deletes).await {
        match r {
            Ok(()) => n += 1,
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    (n, first)
}

/// Active pods to delete first when there are `count` too many: for Indexed Jobs, pods with
/// an index out of range or a duplicate index first (Kubernetes' activePodsForRemoval), then
/// the ReplicaSet rank order.
fn pods_for_removal(job: &Value, active: &[Arc<Value>], count: usize) -> Vec<Arc<Value>> {
    let mut pods = active.to_vec();
    podcontrol::rank_for_deletion(&mut pods, active, jiff::Timestamp::now());
    let mut out = Vec::new();
    if logic::is_indexed(job) {
        let completions = logic::completions(job).unwrap_or(0);
        let mut seen = BTreeSet::new();
        let mut keep = Vec::new();
        // Iterate from the back so the pod kept for an index is the one ranked last.
        for p in pods.into_iter().rev() {
            match logic::pod_index(&p) {
                Some(i) if i < completions && seen.insert(i) => keep.push(p),
                _ => out.push(p),
            }
        }
        keep.reverse();
        pods = keep;
    }
    out.extend(pods);
    out.truncate(count);
    out
}

impl JobController {
    /// Claim pods, count them and decide; create or delete pods as needed.
    async fn sync(&self, cluster: &dyn Cluster, job: &mut Value) -> ApiResult<Sync> {
        let now = jiff::Timestamp::now();
        let Some(selector) = logic::selector(job) else {
            return Err(ApiError::internal("job has no usable selector"));
        };
        let all = cluster
            .list_shared(pods_kind()?, job.namespace(), &ListOptions::default())
            .await?
            .items;
        let pods = podcontrol::claim_pods(cluster, job, &selector, all).await?;
        let active: Vec<Arc<Value>> = pods
            .iter()
            .filter(|p| podcontrol::is_active(p))
            .cloned()
            .collect();
        let terminating = pods
            .iter()
            .filter(|p| {
                p.deletion_timestamp().is_some() && !matches!(phase(p), "Succeeded" | "Failed")
            })
            .count() as i64;
        let with_phase = |want: &str| -> Vec<&Value> {
            pods.iter()
                .map(|p| p.as_ref())
                .filter(|p| phase(p) == want)
                .collect()
        };
        let (succeeded_pods, failed_pods) = (with_phase("Succeeded"), with_phase("Failed"));

        // The pod failure policy: ignored failures do not count; FailJob fails the Job.
        let mut fail_job = None;
        let mut counted_failed: Vec<&Value> = Vec::new();
        for p in &failed_pods {
            match logic::match_pod_failure_policy(job, p) {
                Some(PolicyAction::Ignore) => {}
                Some(PolicyAction::FailJob(msg)) => {
                    fail_job.get_or_insert(msg);
                    counted_failed.push(p);
                }
                _ => counted_failed.push(p),
            }
        }
        let status_count = |f: &str| {
            job.pointer(&format!("/status/{f}"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let failed = status_count("failed").max(counted_failed.len() as i64);
        let mut completed_indexes = None;
        let succeeded = if logic::is_indexed(job) {
            let completions = logic::completions(job).unwrap_or(0);
            let mut set =
                logic::parse_indexes(job.str_at("/status/completedIndexes").unwrap_or(""));
            set.extend(succeeded_pods.iter().filter_map(|p| logic::pod_index(p)));
            set.retain(|i| *i < completions);
            let n = set.len() as i64;
            completed_indexes = Some(set);
            n
        } else {
            status_count("succeeded").max(succeeded_pods.len() as i64)
        };
        let mut s = Sync {
            active: active.len() as i64,
            ready: active.iter().filter(|p| podcontrol::is_ready(p)).count() as i64,
            terminating,
            succeeded,
            failed,
            completed_indexes,
            finish: None,
            requeue: None,
            error: None,
        };

        // Job first start (not while suspended).
        if job.pointer("/status/startTime").is_none_or(Value::is_null) && !logic::is_suspended(job)
        {
            set_status_field(job, "startTime", json!(now_rfc3339()));
        }

        // A finish decided by an earlier sync stands.
        if let Some(c) = logic::true_condition(job, "SuccessCriteriaMet") {
            s.finish = Some(finish_from(c, true));
        } else if let Some(c) = logic::true_condition(job, "FailureTarget") {
            s.finish = Some(finish_from(c, false));
        } else if let Some(msg) = fail_job {
            s.finish = Some(Finish {
                success: false,
                reason: "PodFailurePolicy".into(),
                message: msg,
            });
        } else if failed > logic::backoff_limit(job)
            || logic::past_backoff_limit_on_failure(job, pods.iter().map(|p| p.as_ref()))
        {
            s.finish = Some(Finish {
                success: false,
                reason: "BackoffLimitExceeded".into(),
                message: "Job has reached the specified backoff limit".into(),
            });
        } else if let Some(left) = logic::deadline_left(job, now) {
            if left <= jiff::SignedDuration::ZERO {
                s.finish = Some(Finish {
                    success: false,
                    reason: "DeadlineExceeded".into(),
                    message: "Job was active longer than specified deadline".into(),
                });
            } else {
                s.requeue_within(left.try_into().unwrap_or(Duration::ZERO));
            }
        }

        if s.finish.is_some() {
            let (deleted, err) = delete_pods(cluster, job, &active).await;
            s.active -= deleted;
            s.terminating += deleted;
            s.ready = 0;
            s.error = err;
            return Ok(s);
        }
        if job.deletion_timestamp().is_some() {
            return Ok(s);
        }
        self.manage(
            cluster,
            job,
            &active,
            &succeeded_pods,
            &counted_failed,
            &mut s,
            now,
        )
        .await;
        if logic::is_complete(logic::completions(job), s.succeeded, s.active) {
            s.finish = Some(Finish {
                success: true,
                reason: "CompletionsReached".into(),
                message: "Reached expected number of succeeded pods".into(),
            });
        } else {
            self.suspend_condition(cluster, job, now).await;
        }
        Ok(s)
    }

    /// Kubernetes' manageJob: delete pods of a suspended Job and pods beyond the wanted
    /// number; create missing ones (after the failure back-off) in slow-start batches.
    #[allow(clippy::too_many_arguments)]
    async fn manage(
        &self,
        cluster: &dyn Cluster,
        job: &Value,
        active: &[Arc<Value>],
        succeeded_pods: &[&Value],
        failed_pods: &[&Value],
        s: &mut Sync,
        now: jiff::Timestamp,
    ) {
        if logic::is_suspended(job) {
            let (deleted, err) = delete_pods(cluster, job, active).await;
            s.active -= deleted;
            s.terminating += deleted;
            s.error = err;
            return;
        }
        let want = logic::want_active(
            logic::completions(job),
            logic::parallelism(job),
            s.active,
            s.succeeded,
        );
        if s.active > want {
            let n = ((s.active - want) as usize).min(BURST_REPLICAS);
            let victims = pods_for_removal(job, active, n);
            let (deleted, err) = delete_pods(cluster, job, &victims).await;
            s.active -= deleted;
            s.terminating += deleted;
            s.error = err;
            return;
        }
        if s.active >= want {
            return;
        }
        let (failures, last) = logic::failures_after_last_success(succeeded_pods, failed_pods);
        let wait = logic::remaining_backoff(failures, last, self.backoff_base, now);
        if !wait.is_zero() {
            s.requeue_within(wait);
            return;
        }
        // With podReplacementPolicy Failed, a terminating pod is replaced only once it failed.
        let terminating = if job.str_at("/spec/podReplacementPolicy") == Some("Failed") {
            s.terminating
        } else {
            0
        };
        let mut diff = ((want - s.active - terminating).max(0) as usize).min(BURST_REPLICAS);
        let mut indexes: Vec<Option<i64>> = vec![None; diff];
        if logic::is_indexed(job) {
            let active_idx: BTreeSet<i64> =
                active.iter().filter_map(|p| logic::pod_index(p)).collect();
            let done = s.completed_indexes.clone().unwrap_or_default();
            let pending = logic::first_pending_indexes(
                logic::completions(job).unwrap_or(0),
                &done,
                &active_idx,
                diff,
            );
            diff = pending.len();
            indexes = pending.into_iter().map(Some).collect();
        }
        let (created, err) = podcontrol::slow_start_batch(diff, 1, |i| {
            create_pod(cluster, job, indexes.get(i).copied().flatten())
        })
        .await;
        s.active += created as i64;
        s.error = err;
    }

    /// Kubernetes' Suspended condition: True (JobSuspended) while suspended; False
    /// (JobResumed) when resumed, which also restarts the active deadline clock.
    async fn suspend_condition(
        &self,
        cluster: &dyn Cluster,
        job: &mut Value,
        _now: jiff::Timestamp,
    ) {
        let suspended = logic::is_suspended(job);
        let current = job
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Suspended"))
            .map(|c| c["status"] == "True");
        let (status, reason, message, event) = match (suspended, current) {
            (true, Some(true)) | (false, None) | (false, Some(false)) => return,
            (true, _) => ("True", "JobSuspended", "Job suspended", "Suspended"),
            (false, Some(true)) => ("False", "JobResumed", "Job resumed", "Resumed"),
        };
        let now = now_rfc3339();
        let cond = logic::condition("Suspended", status, reason, message, &now);
        let mut conds = conditions(job);
        conds.retain(|c| c["type"] != "Suspended");
        conds.push(cond);
        set_status_field(job, "conditions", Value::Array(conds));
        if !suspended {
            set_status_field(job, "startTime", json!(now));
        }
        podcontrol::record(cluster, COMPONENT, job, EventKind::Normal, event, message).await;
    }
}

fn finish_from(c: &Value, success: bool) -> Finish {
    Finish {
        success,
        reason: c["reason"].as_str().unwrap_or("").to_string(),
        message: c["message"].as_str().unwrap_or("").to_string(),
    }
}

/// The Job's conditions, to change and put back with `set_conditions`.
fn conditions(job: &Value) -> Vec<Value> {
    job.pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn set_status_field(job: &mut Value, field: &str, value: Value) {
    if !job["status"].is_object() {
        job["status"] = json!({});
    }
    if let Some(m) = job["status"].as_object_mut() {
        m.insert(field.into(), value);
    }
}

/// Write the counts of `s` into `job.status`, add the finishing conditions, and say which
/// event to record (reason, message, warning?) when the Job finished in this sync.
fn apply_status(job: &mut Value, s: &Sync) -> Option<(String, String, bool)> {
    if !job["status"].is_object() {
        job["status"] = json!({});
    }
    let status: &mut Map<String, Value> = job["status"].as_object_mut()?;
    status.insert("active".into(), json!(s.active.max(0)));
    status.insert("ready".into(), json!(s.ready.max(0)));
    status.insert("terminating".into(), json!(s.terminating.max(0)));
    for (k, v) in [("succeeded", s.succeeded), ("failed", s.failed)] {
        if v > 0 {
            status.insert(k.into(), json!(v));
        } else {
            status.remove(k);
        }
    }
    if let Some(set) = &s.completed_indexes {
        if set.is_empty() {
            status.remove("completedIndexes");
        } else {
            status.insert("completedIndexes".into(), json!(logic::format_indexes(set)));
        }
    }
    let f = s.finish.as_ref()?;
    let now = now_rfc3339();
    let (interim, terminal) = if f.success {
        ("SuccessCriteriaMet", "Complete")
    } else {
        ("FailureTarget", "Failed")
    };
    let mut conds = conditions(job);
    if !conds.iter().any(|c| c["type"] == interim) {
        conds.push(logic::condition(
            interim, "True", &f.reason, &f.message, &now,
        ));
    }
    // The terminal condition waits until no pod of the Job runs or terminates.
    if s.active > 0 || s.terminating > 0 {
        set_status_field(job, "conditions", Value::Array(conds));
        return None;
    }
    conds.push(logic::condition(
        terminal, "True", &f.reason, &f.message, &now,
    ));
    // A finished Job is no longer suspended.
    for c in conds.iter_mut() {
        if c["type"] == "Suspended" && c["status"] == "True" {
            c["status"] = json!("False");
            c["lastTransitionTime"] = json!(now);
        }
    }
    set_status_field(job, "conditions", Value::Array(conds));
    if f.success {
        set_status_field(job, "completionTime", json!(now));
        Some(("Completed".into(), "Job completed".into(), false))
    } else {
        Some((f.reason.clone(), f.message.clone(), true))
    }
}

#[async_trait::async_trait]
impl Reconciler for JobController {
    fn name(&self) -> &'static str {
        "job"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["jobs", "pods"])
    }

    fn keys_for(
        &self,
        kind: &'static KindInfo,
        event: &crate::api::request::SharedWatchEvent,
    ) -> Vec<ObjectKey> {
        crate::controllers::runtime::owner_keys(kind, event, "Pod", "Job")
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(kind) = kind_of_key(key).filter(|k| k.kind == "Job") else {
            return Ok(Action::Done);
        };
        let mut job = match cluster.get(kind, Some(&key.namespace), &key.name).await {
            Ok(j) => j,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        if logic::is_finished(&job) {
            return Ok(Action::Done);
        }
        if !matches!(
            job.str_at("/spec/completionMode"),
            None | Some("NonIndexed") | Some("Indexed")
        ) {
            podcontrol::record(
                cluster,
                COMPONENT,
                &job,
                EventKind::Warning,
                "UnknownCompletionMode",
                "Skipped Job sync because completion mode is unknown",
            )
            .await;
            return Ok(Action::Done);
        }
        if logic::selector(&job).is_none() {
            tracing::debug!(%key, "job without a usable selector; not syncing");
            return Ok(Action::Done);
        }
        let before = job.get("status").cloned();
        let s = self.sync(cluster, &mut job).await?;
        let event = apply_status(&mut job, &s);
        if job.get("status") != before.as_ref() {
            match cluster.update_status(job.clone()).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(Action::Done),
                Err(e) => return Err(e),
            }
            if let Some((reason, message, warning)) = event {
                let kind = if warning {
                    EventKind::Warning
                } else {
                    EventKind::Normal
                };
                podcontrol::record(cluster, COMPONENT, &job, kind, &reason, &message).await;
            }
        }
        if let Some(e) = s.error {
            return Err(e);
        }
        Ok(match s.requeue {
            Some(d) => Action::RequeueAfter(d + Duration::from_millis(20)),
            None => Action::Done,
        })
    }
}

#[cfg(test)]
mod tests;
