//! The CronJob controller, after Kubernetes' cronjob_controllerv2.go: keep `status.active`
//! in step with the CronJob's Jobs, delete finished Jobs beyond the history limits, and at
//! each activation of the schedule (in `spec.timeZone`) create the Job
//! `<cronjob>-<minutes since the epoch>` unless it is suspended, too late
//! (`startingDeadlineSeconds`) or forbidden by `concurrencyPolicy`. It looks again just after
//! the next activation.

pub mod schedule;

use crate::api::error::{ApiError, ApiResult, Reason};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey, OwnerReference, parse_time};
use crate::api::request::{DeleteOptions, ListOptions, Propagation, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::events::EventKind;
use crate::controllers::job::logic as job_logic;
use crate::controllers::podcontrol;
use crate::controllers::runtime::{Action, Reconciler, kind_of_key};
use jiff::Timestamp;
use schedule::Missed;
use serde_json::{Map, Value, json};
use std::time::Duration;

const COMPONENT: &str = "cronjob-controller";

/// Annotation with the activation a Job was created for.
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// Annotation kubectl puts on `create job --from=cronjob/X`.
pub const INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";

#[derive(Default)]
pub struct CronJobController;

/// Kubernetes' getJobName: `<cronjob>-<scheduled time in minutes since the epoch>`.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

fn string_map(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Kubernetes' getJobFromTemplate2: the Job for the activation `scheduled`, with the job
/// template's labels, annotations (plus the scheduled time in the CronJob's zone) and spec,
/// controlled by the CronJob.
pub fn job_for(cronjob: &Value, scheduled: Timestamp) -> Value {
    let mut annotations = string_map(cronjob.pointer("/spec/jobTemplate/metadata/annotations"));
    let tz = cronjob
        .str_at("/spec/timeZone")
        .and_then(|z| jiff::tz::TimeZone::get(z).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let local = scheduled.to_zoned(tz);
    annotations.insert(
        SCHEDULED_TIMESTAMP.into(),
        json!(
            local
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
                .replace("+00:00", "Z")
        ),
    );
    let mut meta = Map::new();
    meta.insert("name".into(), json!(job_name(cronjob.name(), scheduled)));
    if let Some(ns) = cronjob.namespace() {
        meta.insert("namespace".into(), json!(ns));
    }
    let labels = string_map(cronjob.pointer("/spec/jobTemplate/metadata/labels"));
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    meta.insert("annotations".into(), Value::Object(annotations));
    meta.insert(
        "ownerReferences".into(),
        json!([OwnerReference::controller_of(cronjob)]),
    );
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": Value::Object(meta),
        "spec": cronjob.pointer("/spec/jobTemplate/spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// What kubectl's `create job NAME --from=cronjob/X` sends: the job template with the
/// annotation `cronjob.kubernetes.io/instantiate: manual` and a controller reference to the
/// CronJob without blockOwnerDeletion.
pub fn manual_job(cronjob: &Value, name: &str) -> Value {
    let mut annotations = Map::new();
    annotations.insert(INSTANTIATE.into(), json!("manual"));
    for (k, v) in string_map(cronjob.pointer("/spec/jobTemplate/metadata/annotations")) {
        annotations.insert(k, v);
    }
    let mut meta = Map::new();
    meta.insert("name".into(), json!(name));
    if let Some(ns) = cronjob.namespace() {
        meta.insert("namespace".into(), json!(ns));
    }
    meta.insert("annotations".into(), Value::Object(annotations));
    let labels = string_map(cronjob.pointer("/spec/jobTemplate/metadata/labels"));
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    meta.insert(
        "ownerReferences".into(),
        json!([{
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": cronjob.name(),
            "uid": cronjob.uid(),
            "controller": true,
        }]),
    );
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": Value::Object(meta),
        "spec": cronjob.pointer("/spec/jobTemplate/spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// The finished condition type of a Job (Complete or Failed), if finished.
fn finished_type(job: &Value) -> Option<&'static str> {
    ["Complete", "Failed"]
        .into_iter()
        .find(|k| job_logic::true_condition(job, k).is_some())
}

fn job_ref(job: &Value) -> Value {
    json!({
        "kind": "Job",
        "namespace": job.namespace().unwrap_or(""),
        "name": job.name(),
        "uid": job.uid(),
        "apiVersion": "batch/v1",
        "resourceVersion": job.resource_version(),
    })
}

fn active_refs(cj: &Value) -> Vec<Value> {
    cj.pointer("/status/active")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn set_active(cj: &mut Value, refs: Vec<Value>) {
    if !cj["status"].is_object() {
        cj["status"] = json!({});
    }
    if let Some(m) = cj["status"].as_object_mut() {
        if refs.is_empty() {
            m.remove("active");
        } else {
            m.insert("active".into(), Value::Array(refs));
        }
    }
}

fn set_status_field(cj: &mut Value, field: &str, value: Value) {
    if !cj["status"].is_object() {
        cj["status"] = json!({});
    }
    if let Some(m) = cj["status"].as_object_mut() {
        m.insert(field.into(), value);
    }
}

fn in_active(cj: &Value, uid: &str) -> bool {
    active_refs(cj).iter().any(|r| r["uid"] == uid)
}

fn remove_active(cj: &mut Value, uid: &str) {
    let mut refs = active_refs(cj);
    refs.retain(|r| r["uid"] != uid);
    set_active(cj, refs);
}

/// Kubernetes' byJobStartTime: jobs with a start time first, oldest first, then by name.
fn sort_by_start(jobs: &mut [&Value]) {
    jobs.sort_by(|a, b| {
        let t = |j: &Value| j.str_at("/status/startTime").and_then(parse_time);
        match (t(a), t(b)) {
            (Some(x), Some(y)) if x != y => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            _ => a.name().cmp(b.name()),
        }
    });
}

fn jobs_kind() -> ApiResult<&'static KindInfo> {
    kinds::lookup("jobs").ok_or_else(|| ApiError::internal("jobs kind missing"))
}

/// Kubernetes' deleteJob: background cascade, drop it from the active list, record it.
async fn delete_job(cluster: &dyn Cluster, cj: &mut Value, job: &Value) -> bool {
    let Ok(kind) = jobs_kind() else { return false };
    let opts = DeleteOptions {
        propagation: Some(Propagation::Background),
        ..Default::default()
    };
    match cluster
        .delete(kind, job.namespace(), job.name(), &opts)
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            let msg = format!("Deleted job: {}", e.message);
            podcontrol::record(
                cluster,
                COMPONENT,
                cj,
                EventKind::Warning,
                "FailedDelete",
                &msg,
            )
            .await;
            return false;
        }
    }
    remove_active(cj, job.uid());
    let msg = format!("Deleted job {}", job.name());
    podcontrol::record(
        cluster,
        COMPONENT,
        cj,
        EventKind::Normal,
        "SuccessfulDelete",
        &msg,
    )
    .await;
    true
}

impl CronJobController {
    /// Kubernetes' cleanupFinishedJobs: keep the newest `successfulJobsHistoryLimit`
    /// complete and `failedJobsHistoryLimit` failed Jobs.
    async fn cleanup(&self, cluster: &dyn Cluster, cj: &mut Value, jobs: &[Value]) {
        for (kind, limit_field) in [
            ("Complete", "successfulJobsHistoryLimit"),
            ("Failed", "failedJobsHistoryLimit"),
        ] {
            let Some(limit) = cj
                .pointer(&format!("/spec/{limit_field}"))
                .and_then(Value::as_i64)
            else {
                continue;
            };
            let mut finished: Vec<&Value> = jobs
                .iter()
                .filter(|j| finished_type(j) == Some(kind) && j.deletion_timestamp().is_none())
                .collect();
            let extra = finished.len() as i64 - limit.max(0);
            if extra <= 0 {
                continue;
            }
            sort_by_start(&mut finished);
            for j in finished.into_iter().take(extra as usize) {
                delete_job(cluster, cj, j).await;
            }
        }
    }

    /// Kubernetes' syncCronJob; returns when to look again.
    async fn sync(
        &self,
        cluster: &dyn Cluster,
        cj: &mut Value,
        jobs: &[Value],
        now: Timestamp,
    ) -> ApiResult<Option<Duration>> {
        let jobs_kind = jobs_kind()?;
        for j in jobs {
            let found = in_active(cj, j.uid());
            let finished = finished_type(j);
            if !found && finished.is_none() {
                // A Job we did not create (or forgot): Kubernetes only reports it.
                if j.annotation(INSTANTIATE) != Some("manual") {
                    let msg = format!(
                        "Saw a job that the controller did not create or forgot: {}",
                        j.name()
                    );
                    podcontrol::record(
                        cluster,
                        COMPONENT,
                        cj,
                        EventKind::Warning,
                        "UnexpectedJob",
                        &msg,
                    )
                    .await;
                }
            } else if found && let Some(cond) = finished {
                remove_active(cj, j.uid());
                let msg = format!("Saw completed job: {}, condition: {cond}", j.name());
                podcontrol::record(
                    cluster,
                    COMPONENT,
                    cj,
                    EventKind::Normal,
                    "SawCompletedJob",
                    &msg,
                )
                .await;
            }
            if finished == Some("Complete")
                && let Some(t) = j.str_at("/status/completionTime")
            {
                let newer = cj
                    .str_at("/status/lastSuccessfulTime")
                    .and_then(parse_time)
                    .zip(parse_time(t))
                    .is_none_or(|(last, t)| t > last);
                if newer {
                    set_status_field(cj, "lastSuccessfulTime", json!(t));
                }
            }
        }
        // Active Jobs that are gone.
        for r in active_refs(cj) {
            let uid = r["uid"].as_str().unwrap_or("");
            if jobs.iter().any(|j| j.uid() == uid) {
                continue;
            }
            let name = r["name"].as_str().unwrap_or("");
            match cluster.get(jobs_kind, cj.namespace(), name).await {
                Ok(j) if j.uid() == uid => {}
                Ok(_) => remove_active(cj, uid),
                Err(e) if e.is_not_found() => {
                    let msg = format!("Active job went missing: {name}");
                    podcontrol::record(
                        cluster,
                        COMPONENT,
                        cj,
                        EventKind::Normal,
                        "MissingJob",
                        &msg,
                    )
                    .await;
                    remove_active(cj, uid);
                }
                Err(e) => return Err(e),
            }
        }
        if cj.deletion_timestamp().is_some() {
            return Ok(None);
        }
        let tz = cj.str_at("/spec/timeZone");
        let schedule_text = cj.str_at("/spec/schedule").unwrap_or("");
        if cj.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
            return Ok(None);
        }
        let sched = match schedule::parse(schedule_text, tz) {
            Ok(s) => s,
            Err(e) => {
                let (reason, msg) = if e.starts_with("invalid timeZone") {
                    ("UnknownTimeZone", e)
                } else {
                    (
                        "UnparseableSchedule",
                        format!("unparseable schedule: {schedule_text:?} : {e}"),
                    )
                };
                podcontrol::record(cluster, COMPONENT, cj, EventKind::Warning, reason, &msg).await;
                return Ok(None);
            }
        };
        let earliest = cj
            .str_at("/status/lastScheduleTime")
            .or_else(|| cj.creation_timestamp())
            .and_then(parse_time)
            .unwrap_or(now);
        let deadline = cj
            .pointer("/spec/startingDeadlineSeconds")
            .and_then(Value::as_i64);
        let requeue = |cj: &Value| {
            let earliest = cj
                .str_at("/status/lastScheduleTime")
                .or_else(|| cj.creation_timestamp())
                .and_then(parse_time)
                .unwrap_or(now);
            Some(schedule::requeue_after(&sched, earliest, now))
        };
        let scheduled = match schedule::most_recent(&sched, earliest, deadline, now) {
            Err(e) => {
                let msg = format!("invalid schedule: {schedule_text} : {e}");
                podcontrol::record(
                    cluster,
                    COMPONENT,
                    cj,
                    EventKind::Warning,
                    "InvalidSchedule",
                    &msg,
                )
                .await;
                return Ok(None);
            }
            Ok((_, None, _)) => return Ok(requeue(cj)),
            Ok((_, Some(t), missed)) => {
                if missed == Missed::Many {
                    podcontrol::record(
                        cluster,
                        COMPONENT,
                        cj,
                        EventKind::Warning,
                        "TooManyMissedTimes",
                        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                    )
                    .await;
                }
                t
            }
        };
        if let Some(d) = deadline
            && scheduled
                .checked_add(jiff::SignedDuration::from_secs(d))
                .is_ok_and(|late| late < now)
        {
            let msg = format!(
                "Missed scheduled time to start a job: {}",
                scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000")
            );
            podcontrol::record(
                cluster,
                COMPONENT,
                cj,
                EventKind::Warning,
                "MissSchedule",
                &msg,
            )
            .await;
            return Ok(requeue(cj));
        }
        let name = job_name(cj.name(), scheduled);
        let already = active_refs(cj).iter().any(|r| r["name"] == name.as_str())
            || cj.str_at("/status/lastScheduleTime").and_then(parse_time) == Some(scheduled);
        if already {
            return Ok(requeue(cj));
        }
        let policy = cj.str_at("/spec/concurrencyPolicy").unwrap_or("Allow");
        if policy == "Forbid" && !active_refs(cj).is_empty() {
            podcontrol::record(
                cluster,
                COMPONENT,
                cj,
                EventKind::Normal,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
            .await;
            return Ok(requeue(cj));
        }
        if policy == "Replace" {
            for r in active_refs(cj) {
                let n = r["name"].as_str().unwrap_or("");
                let job = match cluster.get(jobs_kind, cj.namespace(), n).await {
                    Ok(j) => j,
                    Err(e) if e.is_not_found() => {
                        remove_active(cj, r["uid"].as_str().unwrap_or(""));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if !delete_job(cluster, cj, &job).await {
                    return Err(ApiError::internal(format!("could not replace job {n}")));
                }
            }
        }
        let created = match cluster
            .create(job_for(cj, scheduled), &WriteOptions::default())
            .await
        {
            Ok(j) => {
                let msg = format!("Created job {}", j.name());
                podcontrol::record(
                    cluster,
                    COMPONENT,
                    cj,
                    EventKind::Normal,
                    "SuccessfulCreate",
                    &msg,
                )
                .await;
                j
            }
            Err(e) if e.reason == Reason::AlreadyExists => {
                let j = cluster.get(jobs_kind, cj.namespace(), &name).await?;
                if !podcontrol::is_controlled_by(&j, cj.uid()) || in_active(cj, j.uid()) {
                    return Ok(requeue(cj));
                }
                j
            }
            Err(e) => {
                let msg = format!("Error creating job: {}", e.message);
                podcontrol::record(
                    cluster,
                    COMPONENT,
                    cj,
                    EventKind::Warning,
                    "FailedCreate",
                    &msg,
                )
                .await;
                return Err(e);
            }
        };
        let mut refs = active_refs(cj);
        refs.push(job_ref(&created));
        set_active(cj, refs);
        set_status_field(cj, "lastScheduleTime", json!(scheduled.to_string()));
        Ok(requeue(cj))
    }
}

#[async_trait::async_trait]
impl Reconciler for CronJobController {
    fn name(&self) -> &'static str {
        "cronjob"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["cronjobs", "jobs"])
    }

    fn keys_for(
        &self,
        kind: &'static KindInfo,
        event: &crate::api::request::SharedWatchEvent,
    ) -> Vec<ObjectKey> {
        crate::controllers::runtime::owner_keys(kind, event, "Job", "CronJob")
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(kind) = kind_of_key(key).filter(|k| k.kind == "CronJob") else {
            return Ok(Action::Done);
        };
        let mut cj = match cluster.get(kind, Some(&key.namespace), &key.name).await {
            Ok(o) => o,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        // Jobs whose controller is this CronJob (Kubernetes matches by kind and name).
        let jobs: Vec<Value> = cluster
            .list(jobs_kind()?, cj.namespace(), &ListOptions::default())
            .await?
            .items
            .into_iter()
            .filter(|j| {
                podcontrol::controller_of(j)
                    .is_some_and(|r| r.kind == "CronJob" && r.name == cj.name())
            })
            .collect();
        let before = cj.get("status").cloned();
        self.cleanup(cluster, &mut cj, &jobs).await;
        let requeue = self.sync(cluster, &mut cj, &jobs, Timestamp::now()).await;
        if cj.get("status") != before.as_ref() {
            match cluster.update_status(cj.clone()).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(Action::Done),
                Err(e) => return Err(e),
            }
        }
        Ok(match requeue? {
            Some(d) => Action::RequeueAfter(d),
            None => Action::Done,
        })
    }
}

#[cfg(test)]
mod tests;
