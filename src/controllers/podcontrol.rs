//! What every workload controller does with pods, after Kubernetes' controller_utils.go and
//! controller_ref_manager.go: find a pod's controller, claim pods by selector (adopt orphans,
//! release pods that no longer match), build pods from a template, tell active / ready /
//! available pods apart, rank pods for scale-down, create in slow-start batches and record
//! events without letting an event failure stop the work.
//!
//! Pods are JSON `Value`s as everywhere else; the functions only read the fields Kubernetes'
//! code reads.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds;
use crate::api::object::{ObjectExt, OwnerReference, parse_time};
use crate::api::request::WriteOptions;
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use crate::cluster::events::{self, EventKind, Source};
use serde_json::{Map, Value, json};
use std::cmp::Reverse;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// Annotation with the cost of deleting a pod (lower is deleted first), an int32 string.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Kubernetes' burstReplicas: at most this many creates or deletes per sync.
pub const BURST_REPLICAS: usize = 500;

/// The owner reference with `controller: true`, if any (metav1.GetControllerOf).
pub fn controller_of(obj: &Value) -> Option<OwnerReference> {
    obj.owner_references().into_iter().find(|r| r.controller)
}

/// The queue key of `obj`'s controller when it is a `owner_kind` (a pod event → its Job,
/// a Job event → its CronJob).
pub fn controller_key(obj: &Value, owner_kind: &str) -> Option<crate::api::object::ObjectKey> {
    let r = controller_of(obj).filter(|r| r.kind == owner_kind)?;
    let kind = crate::api::kinds::by_api_version(&r.api_version, &r.kind)?;
    Some(crate::api::object::ObjectKey::new(
        kind,
        obj.namespace(),
        &r.name,
    ))
}

/// Whether `obj`'s controller is the object with `owner_uid`.
pub fn is_controlled_by(obj: &Value, owner_uid: &str) -> bool {
    controller_of(obj).is_some_and(|r| r.uid == owner_uid)
}

/// Kubernetes' FilterActivePods: not Succeeded, not Failed, not being deleted.
pub fn is_active(pod: &Value) -> bool {
    let phase = pod.str_at("/status/phase").unwrap_or("");
    phase != "Succeeded" && phase != "Failed" && pod.deletion_timestamp().is_none()
}

fn ready_condition(pod: &Value) -> Option<&Value> {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == "Ready")
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    ready_condition(pod).is_some_and(|c| c["status"] == "True")
}

/// When the pod became ready (the Ready condition's lastTransitionTime), if it is ready.
pub fn ready_since(pod: &Value) -> Option<jiff::Timestamp> {
    let c = ready_condition(pod).filter(|c| c["status"] == "True")?;
    c["lastTransitionTime"].as_str().and_then(parse_time)
}

/// Kubernetes' IsPodAvailable: ready, and ready for longer than `min_ready_seconds` (a pod
/// without a transition time is available only when `min_ready_seconds` is 0).
pub fn is_available(pod: &Value, min_ready_seconds: i64, now: jiff::Timestamp) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod).is_some_and(|t| available_at(t, min_ready_seconds) < now)
}

fn available_at(ready_since: jiff::Timestamp, min_ready_seconds: i64) -> jiff::Timestamp {
    ready_since
        .checked_add(jiff::SignedDuration::from_secs(min_ready_seconds))
        .unwrap_or(jiff::Timestamp::MAX)
}

/// How long until a ready pod becomes available (`None` if it is not ready or already is).
pub fn time_to_available(
    pod: &Value,
    min_ready_seconds: i64,
    now: jiff::Timestamp,
) -> Option<std::time::Duration> {
    if !is_ready(pod) || is_available(pod, min_ready_seconds, now) {
        return None;
    }
    let left = now.duration_until(available_at(ready_since(pod)?, min_ready_seconds));
    Some(left.try_into().unwrap_or(std::time::Duration::ZERO))
}

/// A controller owner reference for `owner`, whose `apiVersion`/`kind` are filled in from
/// the kinds registry when the object lacks them (list items may).
fn controller_ref(owner: &Value, kind: Option<&str>) -> Value {
    let mut r = OwnerReference::controller_of(owner);
    if owner.kind_str().is_empty()
        && let Some(info) = kind.and_then(kinds::lookup)
    {
        r["kind"] = json!(info.kind);
        r["apiVersion"] = json!(info.api_version());
    }
    r
}

/// Kubernetes' GetPodFromTemplate: labels, annotations, finalizers and spec from `template`
/// (a PodTemplateSpec), `metadata.generateName = name_prefix` (the store appends 5 random
/// characters, as the API server does; pass `"<owner>-"`), the owner's namespace, and a
/// controller reference to `owner` (controller and blockOwnerDeletion true). A caller that
/// needs a fixed name (StatefulSet) sets `metadata.name` on the result.
pub fn pod_from_template(owner: &Value, template: &Value, name_prefix: &str) -> Value {
    let mut meta = Map::new();
    meta.insert("generateName".into(), json!(name_prefix));
    if let Some(ns) = owner.namespace() {
        meta.insert("namespace".into(), json!(ns));
    }
    for field in ["labels", "annotations", "finalizers"] {
        if let Some(v) = template.pointer(&format!("/metadata/{field}"))
            && !v.is_null()
        {
            meta.insert(field.into(), v.clone());
        }
    }
    meta.insert(
        "ownerReferences".into(),
        json!([controller_ref(owner, None)]),
    );
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": Value::Object(meta),
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Write `pod` with `refs` as its ownerReferences; the resourceVersion it carries makes a
/// concurrent change a Conflict (retried by the caller's next sync).
async fn write_owner_refs(
    cluster: &dyn Cluster,
    mut pod: Value,
    refs: Vec<Value>,
) -> ApiResult<()> {
    if let Some(m) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        if refs.is_empty() {
            m.remove("ownerReferences");
        } else {
            m.insert("ownerReferences".into(), Value::Array(refs));
        }
    }
    if pod.kind_str().is_empty() {
        pod["kind"] = json!("Pod");
        pod["apiVersion"] = json!("v1");
    }
    cluster
        .update(pod, &WriteOptions::default())
        .await
        .map(|_| ())
}

fn ref_values(pod: &Value) -> Vec<Value> {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Kubernetes' ClaimPods (PodControllerRefManager): of `candidates` (pods of the owner's
/// namespace), return those the owner controls and whose labels match `selector`, after
/// - adopting matching orphans that are not being deleted, unless the owner is being deleted
///   (its controller reference is added to the pod);
/// - releasing pods it controls that no longer match, unless the owner is being deleted
///   (its reference is removed from the pod).
///
/// Pods controlled by another object are ignored. A pod that vanished meanwhile is skipped;
/// other write errors are returned (the caller retries the whole sync). Kubernetes' callers
/// pass only active pods (`is_active`); the result keeps owned pods being deleted, so
/// callers filter again when they need to.
pub async fn claim_pods(
    cluster: &dyn Cluster,
    owner: &Value,
    selector: &LabelSelector,
    candidates: Vec<Arc<Value>>,
) -> ApiResult<Vec<Arc<Value>>> {
    let owner_uid = owner.uid();
    let owner_deleting = owner.deletion_timestamp().is_some();
    let mut claimed = Vec::new();
    for pod in candidates {
        if owner.namespace().is_some() && pod.namespace() != owner.namespace() {
            continue;
        }
        let matches = selector.matches_object(&pod);
        match controller_of(&pod) {
            Some(r) if r.uid != owner_uid => {}
            Some(_) if matches => claimed.push(pod),
            Some(_) => {
                if owner_deleting {
                    continue;
                }
                let kept: Vec<Value> = ref_values(&pod)
                    .into_iter()
                    .filter(|r| r["uid"].as_str() != Some(owner_uid))
                    .collect();
                match write_owner_refs(cluster, (*pod).clone(), kept).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            None => {
                if owner_deleting || !matches || pod.deletion_timestamp().is_some() {
                    continue;
                }
                let mut refs: Vec<Value> = ref_values(&pod)
                    .into_iter()
                    .filter(|r| r["uid"].as_str() != Some(owner_uid))
                    .collect();
                refs.push(controller_ref(owner, None));
                let mut adopted = (*pod).clone();
                match write_owner_refs(cluster, adopted.clone(), refs.clone()).await {
                    Ok(()) => {
                        adopted["metadata"]["ownerReferences"] = Value::Array(refs);
                        claimed.push(Arc::new(adopted));
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(claimed)
}

fn phase_rank(pod: &Value) -> u8 {
    match pod.str_at("/status/phase").unwrap_or("") {
        "Pending" | "" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    }
}

fn deletion_cost(pod: &Value) -> i32 {
    pod.annotation(POD_DELETION_COST)
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(0)
}

/// The highest restart count among regular containers, then among init (sidecar) ones.
fn max_restarts(pod: &Value) -> (i64, i64) {
    let max_of = |field: &str| {
        pod.pointer(&format!("/status/{field}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["restartCount"].as_i64())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    (max_of("containerStatuses"), max_of("initContainerStatuses"))
}

/// How long ago `t` was on a log2 scale of nanoseconds (Kubernetes' logarithmicRankDiff
/// compares these), so pods of about the same age tie. A missing time counts as the newest.
fn age_bucket(t: Option<jiff::Timestamp>, now: jiff::Timestamp) -> i64 {
    match t {
        None => i64::MIN,
        Some(t) => {
            let d = now.as_nanosecond() - t.as_nanosecond();
            if d > 0 { (d as f64).log2() as i64 } else { -1 }
        }
    }
}

/// The sort key of Kubernetes' ActivePodsWithRanks.Less (smaller = deleted first), one field
/// per rule. Kubernetes compares pairs and, on equal age buckets, breaks the tie by uid at
/// once; a per-pod key must be a total order, so here equal buckets fall through to the next
/// rule and the uid decides last.
type DeletionKey = (
    bool,
    u8,
    bool,
    i32,
    Reverse<usize>,
    i64,
    Reverse<(i64, i64)>,
    i64,
    String,
);

fn deletion_key(p: &Value, rank: usize, now: jiff::Timestamp) -> DeletionKey {
    let assigned = !p.str_at("/spec/nodeName").unwrap_or("").is_empty();
    let ready = is_ready(p);
    // Rule 6 only compares pods that are both ready.
    let ready_age = if ready {
        age_bucket(ready_since(p), now)
    } else {
        0
    };
    let created = p.creation_timestamp().and_then(parse_time);
    (
        assigned,                 // 1. unassigned < assigned
        phase_rank(p),            // 2. Pending < Unknown < Running
        ready,                    // 3. not ready < ready
        deletion_cost(p),         // 4. lower pod-deletion-cost first
        Reverse(rank),            // 5. more related pods on the same node first
        ready_age,                // 6. ready for less time first
        Reverse(max_restarts(p)), // 7. more restarts first (regular, then sidecars)
        age_bucket(created, now), // 8. newer first
        p.uid().to_string(),
    )
}

/// Sort `pods` so that the ones to delete first come first, in Kubernetes' order
/// (getPodsRankedByRelatedPodsOnSameNode + ActivePodsWithRanks): unscheduled before
/// scheduled; Pending < Unknown < Running; not ready < ready; lower pod-deletion-cost; more
/// pods of `related` on the same node; ready for less time; more restarts; newer. Ages
/// compare on a log2 scale (LogarithmicScaleDown); the uid breaks the last tie. `related` are the
/// active pods of every ReplicaSet of the same owner (a plain ReplicaSet: its own pods).
pub fn rank_for_deletion(pods: &mut [Arc<Value>], related: &[Arc<Value>], now: jiff::Timestamp) {
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related.iter().filter(|p| is_active(p)) {
        *on_node
            .entry(p.str_at("/spec/nodeName").unwrap_or(""))
            .or_default() += 1;
    }
    let rank = |p: &Value| {
        on_node
            .get(p.str_at("/spec/nodeName").unwrap_or(""))
            .copied()
            .unwrap_or(0)
    };
    pods.sort_by_cached_key(|p| deletion_key(p, rank(p), now));
}

/// Kubernetes' slowStartBatch: call `f(i)` for i in `0..count` in batches of `initial`,
/// 2×, 4×, … (each batch concurrently), stopping after the first batch with an error, so a
/// failing create (quota, a bad template) costs one call instead of `count`. Returns how
/// many calls succeeded and the first error.
pub async fn slow_start_batch<F, Fut>(
    count: usize,
    initial: usize,
    mut f: F,
) -> (usize, Option<ApiError>)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ApiResult<()>>,
{
    let mut done = 0usize;
    let mut successes = 0usize;
    let mut batch = initial.max(1).min(count);
    while batch > 0 {
        let calls: Vec<Fut> = (done..done + batch).map(&mut f).collect();
        let results = futures::future::join_all(calls).await;
        let mut first_err = None;
        for r in results {
            match r {
                Ok(()) => successes += 1,
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if first_err.is_some() {
            return (successes, first_err);
        }
        done += batch;
        batch = (batch * 2).min(count - done);
    }
    (successes, None)
}

/// Delete `pod`, one of `owner`'s, as Kubernetes' PodControl does: only that very pod (uid
/// precondition), a SuccessfulDelete or FailedDelete event on the owner from `component`;
/// a pod already gone is not an error.
pub async fn delete_pod(
    cluster: &dyn Cluster,
    component: &str,
    owner: &Value,
    pod: &Value,
) -> ApiResult<()> {
    let kind = kinds::lookup("pods").ok_or_else(|| ApiError::internal("pods kind missing"))?;
    let opts = crate::api::request::DeleteOptions {
        precondition_uid: Some(pod.uid().to_string()),
        ..Default::default()
    };
    match cluster
        .delete(kind, pod.namespace(), pod.name(), &opts)
        .await
    {
        Ok(_) => {
            let msg = format!("Deleted pod: {}", pod.name());
            record(
                cluster,
                component,
                owner,
                EventKind::Normal,
                "SuccessfulDelete",
                &msg,
            )
            .await;
            Ok(())
        }
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => {
            let msg = format!("Error deleting: {}", e.message);
            record(
                cluster,
                component,
                owner,
                EventKind::Warning,
                "FailedDelete",
                &msg,
            )
            .await;
            Err(e)
        }
    }
}

/// Record an event about `obj` from `component` (`replicaset-controller`); a failure is only
/// logged: an event must never stop the work it describes.
pub async fn record(
    cluster: &dyn Cluster,
    component: &str,
    obj: &Value,
    kind: EventKind,
    reason: &str,
    message: &str,
) {
    let source = Source {
        component: component.to_string(),
        host: String::new(),
    };
    if let Err(e) = events::record(cluster, &source, obj, kind, reason, message).await {
        tracing::debug!(component, reason, "cannot record event: {e}");
    }
}

#[cfg(test)]
#[path = "podcontrol_tests.rs"]
pub(crate) mod tests;
