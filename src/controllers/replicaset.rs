//! The ReplicaSet controller, also serving ReplicationControllers (Kubernetes runs the same
//! code for both): keep `spec.replicas` active pods that match the selector, adopting and
//! releasing pods by ownerReferences, creating in slow-start batches and deleting in
//! Kubernetes' rank order; report replicas / fullyLabeledReplicas / readyReplicas /
//! availableReplicas / observedGeneration.
//!
//! No expectations cache: Kubernetes needs one because its controllers read pods from an
//! informer cache that lags behind their own writes. Here every sync lists pods from the
//! store, which already holds every pod the previous sync created or deleted, and the work
//! queue never syncs one key twice at a time, so a sync cannot act twice on the same gap.
//! Pods being deleted are not active (as in Kubernetes), so a deleted pod is replaced as soon
//! as its deletion starts, not when its containers are gone.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{EventType, ListOptions, SharedWatchEvent, WriteOptions};
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use crate::cluster::events::EventKind;
use crate::controllers::podcontrol::{self, BURST_REPLICAS};
use crate::controllers::runtime::{Action, Reconciler, kind_of_key};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// (resource, namespace) → owner name → selector, kept from the owners' watch events so a
/// pod without a controller finds the owners that may adopt it without a list.
type SelectorCache = HashMap<(String, String), HashMap<String, LabelSelector>>;

#[derive(Default)]
pub struct ReplicaSetController {
    selectors: Mutex<SelectorCache>,
}

fn is_rc(kind: &KindInfo) -> bool {
    kind.kind == "ReplicationController"
}

/// The component named in events, as Kubernetes'.
fn component(kind: &KindInfo) -> &'static str {
    if is_rc(kind) {
        "replication-controller"
    } else {
        "replicaset-controller"
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The pod selector of a ReplicaSet (`metav1.LabelSelector`) or ReplicationController
/// (a label map). `None` selects nothing: a ReplicaSet without a valid selector, or a
/// ReplicationController with neither a selector nor template labels. The API defaults an
/// RC's empty selector to its template labels; the controller does the same for objects
/// stored without defaults, so an RC never selects every pod of its namespace.
pub fn selector_of(kind: &KindInfo, owner: &Value) -> Option<LabelSelector> {
    if is_rc(kind) {
        let mut labels = string_map(owner.pointer("/spec/selector"));
        if labels.is_empty() {
            labels = string_map(owner.pointer("/spec/template/metadata/labels"));
        }
        return (!labels.is_empty()).then(|| LabelSelector::from_labels(&labels));
    }
    let v = owner.pointer("/spec/selector").unwrap_or(&Value::Null);
    LabelSelector::from_json(v).ok().flatten()
}

fn replicas_of(owner: &Value) -> usize {
    owner
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as usize
}

fn min_ready_seconds(owner: &Value) -> i64 {
    owner
        .pointer("/spec/minReadySeconds")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// What one sync saw and did, for the status.
struct Observed {
    /// Active pods the owner controls (before this sync's creates and deletes).
    pods: Vec<Arc<Value>>,
    /// The error of creating or deleting, with whether it was creating.
    manage_error: Option<(bool, ApiError)>,
}

impl ReplicaSetController {
    fn remember(&self, kind: &KindInfo, event: &SharedWatchEvent) {
        let obj = &event.object;
        let ns_key = (kind.resource(), obj.namespace().unwrap_or("").to_string());
        let Ok(mut cache) = self.selectors.lock() else {
            return;
        };
        let owners = cache.entry(ns_key.clone()).or_default();
        match selector_of(kind, obj) {
            Some(s) if event.event_type != EventType::Deleted => {
                owners.insert(obj.name().to_string(), s);
            }
            _ => {
                owners.remove(obj.name());
                if owners.is_empty() {
                    cache.remove(&ns_key);
                }
            }
        }
    }

    /// Owners (of both kinds) in the pod's namespace whose selector matches it.
    fn owners_matching(&self, pod: &Value) -> Vec<ObjectKey> {
        let ns = pod.namespace().unwrap_or("");
        let Ok(cache) = self.selectors.lock() else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        for ((resource, owner_ns), owners) in cache.iter() {
            if owner_ns != ns {
                continue;
            }
            for (name, sel) in owners {
                if sel.matches_object(pod) {
                    keys.push(ObjectKey {
                        resource: resource.clone(),
                        namespace: ns.to_string(),
                        name: name.clone(),
                    });
                }
            }
        }
        keys
    }

    /// Create `count` pods from the owner's template in slow-start batches.
    async fn create_pods(
        &self,
        cluster: &dyn Cluster,
        kind: &KindInfo,
        owner: &Value,
        count: usize,
    ) -> Option<ApiError> {
        let template = owner
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let prefix = format!("{}-", owner.name());
        let (_, err) = podcontrol::slow_start_batch(count, 1, |_| {
            let pod = podcontrol::pod_from_template(owner, &template, &prefix);
            async move {
                match cluster.create(pod, &WriteOptions::default()).await {
                    Ok(p) => {
                        let msg = format!("Created pod: {}", p.name());
                        podcontrol::record(
                            cluster,
                            component(kind),
                            owner,
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
                            component(kind),
                            owner,
                            EventKind::Warning,
                            "FailedCreate",
                            &msg,
                        )
                        .await;
                        Err(e)
                    }
                }
            }
        })
        .await;
        err
    }

    /// Delete the first `count` pods of `pods` in Kubernetes' rank order, concurrently.
    async fn delete_pods(
        &self,
        cluster: &dyn Cluster,
        kind: &KindInfo,
        owner: &Value,
        mut pods: Vec<Arc<Value>>,
        all: &[Arc<Value>],
        count: usize,
    ) -> Option<ApiError> {
        let related = match related_pods(cluster, owner, all).await {
            Ok(r) => r,
            Err(e) => return Some(e),
        };
        podcontrol::rank_for_deletion(&mut pods, &related, jiff::Timestamp::now());
        let deletes = pods
            .iter()
            .take(count)
            .map(|pod| podcontrol::delete_pod(cluster, component(kind), owner, pod));
        futures::future::join_all(deletes)
            .await
            .into_iter()
            .find_map(Result::err)
    }

    /// Claim pods, then create or delete to reach `spec.replicas` (at most BURST_REPLICAS
    /// per sync; the pod events of this sync's writes bring the key back for the rest).
    async fn sync_pods(
        &self,
        cluster: &dyn Cluster,
        kind: &KindInfo,
        owner: &Value,
        selector: &LabelSelector,
    ) -> ApiResult<Observed> {
        let Some(pod_kind) = kinds::lookup("pods") else {
            return Err(ApiError::internal("pods kind missing"));
        };
        let all = cluster
            .list_shared(pod_kind, owner.namespace(), &ListOptions::default())
            .await?
            .items;
        let active: Vec<Arc<Value>> = all
            .iter()
            .filter(|p| podcontrol::is_active(p))
            .cloned()
            .collect();
        let pods = podcontrol::claim_pods(cluster, owner, selector, active).await?;
        let pods: Vec<Arc<Value>> = pods
            .into_iter()
            .filter(|p| podcontrol::is_active(p))
            .collect();
        let mut manage_error = None;
        if owner.deletion_timestamp().is_none() {
            let want = replicas_of(owner);
            if pods.len() < want {
                let n = (want - pods.len()).min(BURST_REPLICAS);
                manage_error = self
                    .create_pods(cluster, kind, owner, n)
                    .await
                    .map(|e| (true, e));
            } else if pods.len() > want {
                let n = (pods.len() - want).min(BURST_REPLICAS);
                manage_error = self
                    .delete_pods(cluster, kind, owner, pods.clone(), &all, n)
                    .await
                    .map(|e| (false, e));
            }
        }
        Ok(Observed { pods, manage_error })
    }
}

/// Kubernetes' getIndirectlyRelatedPods: the active pods controlled by any ReplicaSet that
/// shares `owner`'s controller (the ReplicaSets of one Deployment), or by `owner` itself.
/// Scale-down prefers nodes where these are doubled up.
async fn related_pods(
    cluster: &dyn Cluster,
    owner: &Value,
    all: &[Arc<Value>],
) -> ApiResult<Vec<Arc<Value>>> {
    let mut uids = vec![owner.uid().to_string()];
    if let Some(parent) = podcontrol::controller_of(owner)
        && let Some(rs_kind) = kinds::lookup(owner_kind_name(owner))
    {
        let siblings = cluster
            .list_shared(rs_kind, owner.namespace(), &ListOptions::default())
            .await?
            .items;
        uids.extend(
            siblings
                .iter()
                .filter(|s| podcontrol::is_controlled_by(s, &parent.uid))
                .map(|s| s.uid().to_string()),
        );
    }
    Ok(all
        .iter()
        .filter(|p| podcontrol::is_active(p))
        .filter(|p| podcontrol::controller_of(p).is_some_and(|r| uids.contains(&r.uid)))
        .cloned()
        .collect())
}

fn owner_kind_name(owner: &Value) -> &'static str {
    if owner.kind_str() == "ReplicationController" {
        "replicationcontrollers"
    } else {
        "replicasets"
    }
}

/// Kubernetes' calculateStatus: counts over the active pods the owner controls, and the
/// ReplicaFailure condition while creating or deleting fails. Zero counts are omitted, as
/// the API's `omitempty` does.
fn calculate_status(owner: &Value, observed: &Observed, now: jiff::Timestamp) -> Value {
    let mut status: Map<String, Value> = owner
        .get("status")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let template_labels = string_map(owner.pointer("/spec/template/metadata/labels"));
    let template_selector = LabelSelector::from_labels(&template_labels);
    let mrs = min_ready_seconds(owner);
    let pods = &observed.pods;
    let fully = pods
        .iter()
        .filter(|p| template_selector.matches_object(p))
        .count();
    let ready = pods.iter().filter(|p| podcontrol::is_ready(p)).count();
    let available = pods
        .iter()
        .filter(|p| podcontrol::is_available(p, mrs, now))
        .count();
    status.insert("replicas".into(), json!(pods.len()));
    for (field, n) in [
        ("fullyLabeledReplicas", fully),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ] {
        if n > 0 {
            status.insert(field.into(), json!(n));
        } else {
            status.remove(field);
        }
    }
    let generation = owner.generation();
    if generation > 0 {
        status.insert("observedGeneration".into(), json!(generation));
    }
    let mut conds: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has_failure = conds.iter().any(|c| c["type"] == "ReplicaFailure");
    match &observed.manage_error {
        Some((creating, e)) if !has_failure => conds.push(json!({
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": crate::api::object::now_rfc3339(),
            "reason": if *creating { "FailedCreate" } else { "FailedDelete" },
            "message": e.message,
        })),
        None if has_failure => conds.retain(|c| c["type"] != "ReplicaFailure"),
        _ => {}
    }
    if conds.is_empty() {
        status.remove("conditions");
    } else {
        status.insert("conditions".into(), Value::Array(conds));
    }
    Value::Object(status)
}

#[async_trait::async_trait]
impl Reconciler for ReplicaSetController {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["replicasets", "replicationcontrollers", "pods"])
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let obj = &event.object;
        if kind.kind != "Pod" {
            self.remember(kind, event);
            return vec![ObjectKey::new(kind, obj.namespace(), obj.name())];
        }
        match podcontrol::controller_of(obj) {
            Some(r) => kinds::by_api_version(&r.api_version, &r.kind)
                .filter(|k| k.kind == "ReplicaSet" || is_rc(k))
                .map(|k| vec![ObjectKey::new(k, obj.namespace(), &r.name)])
                .unwrap_or_default(),
            // An orphan: every owner that may adopt it looks (a pod being deleted is not
            // adopted, but its going may matter to nobody).
            None if event.event_type != EventType::Deleted
                && obj.deletion_timestamp().is_none() =>
            {
                self.owners_matching(obj)
            }
            None => Vec::new(),
        }
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(kind) = kind_of_key(key) else {
            return Ok(Action::Done);
        };
        if kind.kind != "ReplicaSet" && !is_rc(kind) {
            return Ok(Action::Done);
        }
        let owner = match cluster.get(kind, Some(&key.namespace), &key.name).await {
            Ok(o) => o,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        let Some(selector) = selector_of(kind, &owner) else {
            // Kubernetes does not sync an owner whose selector it cannot use.
            tracing::debug!(%key, "no usable selector; not syncing");
            return Ok(Action::Done);
        };
        let observed = self.sync_pods(cluster, kind, &owner, &selector).await?;
        let now = jiff::Timestamp::now();
        let status = calculate_status(&owner, &observed, now);
        if owner.get("status") != Some(&status) {
            let mut updated = owner.clone();
            updated["status"] = status.clone();
            match cluster.update_status(updated).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(Action::Done),
                Err(e) => return Err(e),
            }
        }
        if let Some((_, e)) = observed.manage_error {
            return Err(e);
        }
        // Ready pods become available after minReadySeconds without any event: look again.
        let want = replicas_of(&owner);
        let mrs = min_ready_seconds(&owner);
        let ready = status["readyReplicas"].as_u64().unwrap_or(0) as usize;
        let available = status["availableReplicas"].as_u64().unwrap_or(0) as usize;
        if mrs > 0 && ready == want && available != want {
            let wait = observed
                .pods
                .iter()
                .filter_map(|p| podcontrol::time_to_available(p, mrs, now))
                .min()
                .unwrap_or(Duration::from_secs(mrs as u64));
            return Ok(Action::RequeueAfter(wait + Duration::from_millis(50)));
        }
        Ok(Action::Done)
    }
}

#[cfg(test)]
#[path = "replicaset_tests.rs"]
mod tests;
