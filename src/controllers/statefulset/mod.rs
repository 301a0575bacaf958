//! The StatefulSet controller, after Kubernetes' pkg/controller/statefulset: stable pod names
//! `<set>-<ordinal>`, claims `<claim>-<set>-<ordinal>` created before their pod and kept
//! across pod deletion (so a recreated pod finds its data), OrderedReady and Parallel pod
//! management, RollingUpdate with partition and OnDelete, and
//! persistentVolumeClaimRetentionPolicy through owner references on the claims.
//!
//! `plan` decides what one sync does; this file reads the cluster, claims pods and carries
//! the steps out. Revisions are template hashes (see `revision`): peapod serves no
//! ControllerRevisions.

pub mod identity;
pub mod plan;
pub mod revision;

use crate::api::error::{ApiError, ApiResult, Reason};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey, parse_time};
use crate::api::request::{DeleteOptions, ListOptions, SharedWatchEvent, WriteOptions};
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use crate::cluster::events::EventKind;
use crate::controllers::podcontrol;
use crate::controllers::runtime::{Action, Reconciler, kind_of_key};
use plan::Step;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const COMPONENT: &str = "statefulset-controller";

/// How long a pod waits for its new claims to be bound before it is created anyway. The
/// local provisioner binds within milliseconds; creating the pod first would only earn it a
/// FailedMount and a node-agent retry a second later (Kubernetes' scheduler waits for the
/// binding in the same way).
const CLAIM_BIND_WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct StatefulSetController;

fn kind(name: &str) -> ApiResult<&'static KindInfo> {
    kinds::lookup(name).ok_or_else(|| ApiError::internal(format!("kind {name} missing")))
}

/// The revision name of the set's current template: `<set>-<hash>`.
pub fn update_revision(set: &Value) -> String {
    let template = set.pointer("/spec/template").unwrap_or(&Value::Null);
    format!("{}-{}", set.name(), revision::template_hash(template))
}

fn young(obj: &Value) -> bool {
    obj.creation_timestamp()
        .and_then(parse_time)
        .and_then(|t| jiff::Timestamp::now().duration_since(t).try_into().ok())
        .is_none_or(|age: Duration| age < CLAIM_BIND_WAIT)
}

struct Sync<'a> {
    cluster: &'a dyn Cluster,
    set: &'a Value,
    /// Claims of the namespace by name.
    claims: HashMap<String, Value>,
    /// A new claim is not bound yet: look again soon.
    waiting_for_claims: bool,
}

impl Sync<'_> {
    async fn event(&self, kind: EventKind, reason: &str, msg: &str) {
        podcontrol::record(self.cluster, COMPONENT, self.set, kind, reason, msg).await;
    }

    /// Kubernetes' createPersistentVolumeClaims: create the missing claims of `ordinal`.
    /// Returns whether all of them are bound (or old enough to stop waiting).
    async fn ensure_claims(&mut self, ordinal: i64) -> ApiResult<bool> {
        let pod_name = identity::pod_name(self.set, ordinal);
        let set_name = self.set.name().to_string();
        let mut ready = true;
        for mut claim in identity::claims_for(self.set, ordinal) {
            let name = claim.name().to_string();
            if let Some(existing) = self.claims.get(&name) {
                if existing.deletion_timestamp().is_some() {
                    return Err(ApiError::conflict(
                        "persistentvolumeclaims",
                        &name,
                        &format!(
                            "the claim is being deleted; pod {pod_name} waits for it to be gone"
                        ),
                    ));
                }
                if existing.str_at("/status/phase") != Some("Bound") && young(existing) {
                    ready = false;
                }
                continue;
            }
            if let Some(refs) = identity::claim_owner_refs(self.set, None, &claim, true) {
                claim["metadata"]["ownerReferences"] = json!(refs);
            }
            match self.cluster.create(claim, &WriteOptions::default()).await {
                Ok(c) => {
                    let msg = format!(
                        "create Claim {name} Pod {pod_name} in StatefulSet {set_name} success"
                    );
                    self.event(EventKind::Normal, "SuccessfulCreate", &msg)
                        .await;
                    ready &= c.str_at("/status/phase") == Some("Bound");
                    self.claims.insert(name, c);
                }
                Err(e) if e.reason == Reason::AlreadyExists => ready = false,
                Err(e) => {
                    let msg = format!(
                        "create Claim {name} for Pod {pod_name} in StatefulSet {set_name} failed error: {}",
                        e.message
                    );
                    self.event(EventKind::Warning, "FailedCreate", &msg).await;
                    return Err(e);
                }
            }
        }
        Ok(ready)
    }

    /// Point the claims of `pod` at their owners per the retention policy.
    async fn update_claim_refs(
        &mut self,
        pod: &Value,
        ordinal: i64,
        in_range: bool,
    ) -> ApiResult<()> {
        for t in identity::claims_for(self.set, ordinal) {
            let Some(claim) = self.claims.get(t.name()) else {
                continue;
            };
            let Some(refs) = identity::claim_owner_refs(self.set, Some(pod), claim, in_range)
            else {
                continue;
            };
            let mut c = claim.clone();
            if refs.is_empty() {
                if let Some(m) = c["metadata"].as_object_mut() {
                    m.remove("ownerReferences");
                }
            } else {
                c["metadata"]["ownerReferences"] = json!(refs);
            }
            match self.cluster.update(c, &WriteOptions::default()).await {
                Ok(c) => {
                    self.claims.insert(c.name().to_string(), c);
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn create_pod(&mut self, ordinal: i64, revision: &str) -> ApiResult<()> {
        if !self.ensure_claims(ordinal).await? {
            self.waiting_for_claims = true;
            return Ok(());
        }
        let template = self
            .set
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let pod = identity::new_pod(self.set, &template, revision, ordinal);
        let name = pod.name().to_string();
        let set_name = self.set.name();
        match self.cluster.create(pod, &WriteOptions::default()).await {
            Ok(_) => {
                let msg = format!("create Pod {name} in StatefulSet {set_name} successful");
                self.event(EventKind::Normal, "SuccessfulCreate", &msg)
                    .await;
                Ok(())
            }
            // The old pod is still going: its deletion event brings the set back.
            Err(e) if e.reason == Reason::AlreadyExists => Ok(()),
            Err(e) => {
                let msg = format!(
                    "create Pod {name} in StatefulSet {set_name} failed error: {}",
                    e.message
                );
                self.event(EventKind::Warning, "FailedCreate", &msg).await;
                Err(e)
            }
        }
    }

    async fn delete_pod(&mut self, pod: &Value, condemned: bool) -> ApiResult<()> {
        let set_name = self.set.name().to_string();
        if let Some(ord) = identity::ordinal_of(&set_name, pod.name()) {
            self.update_claim_refs(pod, ord, !condemned).await?;
        }
        if matches!(
            pod.str_at("/status/phase"),
            Some("Failed") | Some("Succeeded")
        ) && !condemned
        {
            let msg = format!(
                "StatefulSet {}/{set_name} is recreating failed Pod {}",
                self.set.namespace().unwrap_or(""),
                pod.name()
            );
            self.event(EventKind::Warning, "RecreatingFailedPod", &msg)
                .await;
        }
        let opts = DeleteOptions {
            precondition_uid: Some(pod.uid().to_string()),
            ..Default::default()
        };
        match self
            .cluster
            .delete(kind("pods")?, pod.namespace(), pod.name(), &opts)
            .await
        {
            Ok(_) => {
                let msg = format!(
                    "delete Pod {} in StatefulSet {set_name} successful",
                    pod.name()
                );
                self.event(EventKind::Normal, "SuccessfulDelete", &msg)
                    .await;
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => {
                let msg = format!(
                    "delete Pod {} in StatefulSet {set_name} failed error: {}",
                    pod.name(),
                    e.message
                );
                self.event(EventKind::Warning, "FailedDelete", &msg).await;
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for StatefulSetController {
    fn name(&self) -> &'static str {
        "statefulset"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["statefulsets", "pods"])
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let obj = &event.object;
        if kind.kind != "Pod" {
            return vec![ObjectKey::new(kind, obj.namespace(), obj.name())];
        }
        let Some(sts) = kinds::lookup("statefulsets") else {
            return Vec::new();
        };
        match podcontrol::controller_of(obj) {
            Some(r) if r.kind == "StatefulSet" => {
                vec![ObjectKey::new(sts, obj.namespace(), &r.name)]
            }
            Some(_) => Vec::new(),
            // An orphan named like a member may be adopted by its set.
            None => identity::parent_of(obj.name())
                .map(|parent| vec![ObjectKey::new(sts, obj.namespace(), parent)])
                .unwrap_or_default(),
        }
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(set_kind) = kind_of_key(key).filter(|k| k.kind == "StatefulSet") else {
            return Ok(Action::Done);
        };
        let set = match cluster.get(set_kind, Some(&key.namespace), &key.name).await {
            Ok(s) => s,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        let selector = set.pointer("/spec/selector").unwrap_or(&Value::Null);
        let Ok(Some(selector)) = LabelSelector::from_json(selector) else {
            tracing::debug!(%key, "no usable selector; not syncing");
            return Ok(Action::Done);
        };
        let ns = set.namespace();
        let members: Vec<Arc<Value>> = cluster
            .list_shared(kind("pods")?, ns, &ListOptions::default())
            .await?
            .items
            .into_iter()
            .filter(|p| identity::ordinal_of(set.name(), p.name()).is_some())
            .collect();
        let pods = podcontrol::claim_pods(cluster, &set, &selector, members).await?;
        // The plan reads owned values; a set has few pods, so copying its own is cheap.
        let pods: Vec<Value> = pods.iter().map(|p| (**p).clone()).collect();
        if set.deletion_timestamp().is_some() {
            return Ok(Action::Done);
        }
        let update_rev = update_revision(&set);
        let current_rev = set
            .str_at("/status/currentRevision")
            .filter(|s| !s.is_empty())
            .unwrap_or(&update_rev)
            .to_string();
        let claims = cluster
            .list(kind("persistentvolumeclaims")?, ns, &ListOptions::default())
            .await?
            .items
            .into_iter()
            .map(|c| (c.name().to_string(), c))
            .collect();
        let mut sync = Sync {
            cluster,
            set: &set,
            claims,
            waiting_for_claims: false,
        };
        // Storage of running replicas: missing claims are made again, owners kept right.
        let (start, count) = (plan::start_ordinal(&set), plan::replicas(&set));
        for p in pods.iter().filter(|p| p.deletion_timestamp().is_none()) {
            if let Some(ord) = identity::ordinal_of(set.name(), p.name())
                && ord >= start
                && ord < start + count
            {
                sync.ensure_claims(ord).await?;
                sync.update_claim_refs(p, ord, true).await?;
            }
        }
        let now = jiff::Timestamp::now();
        let steps = plan::plan(&set, &pods, &update_rev, now);
        let mut first_err = None;
        for step in steps {
            let r = match step {
                Step::Create(ord) => sync.create_pod(ord, &update_rev).await,
                Step::Delete { name, condemned } => match pods.iter().find(|p| p.name() == name) {
                    Some(p) => sync.delete_pod(p, condemned).await,
                    None => Ok(()),
                },
            };
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        let status = plan::status(&set, &pods, &current_rev, &update_rev, now);
        if set.get("status") != Some(&status) {
            let mut updated = set.clone();
            updated["status"] = status;
            match cluster.update_status(updated).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(Action::Done),
                Err(e) => return Err(e),
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        if sync.waiting_for_claims {
            return Ok(Action::RequeueAfter(Duration::from_millis(100)));
        }
        // Ready pods become available after minReadySeconds without any event.
        let mrs = plan::min_ready_seconds(&set);
        if mrs > 0
            && let Some(wait) = pods
                .iter()
                .filter_map(|p| podcontrol::time_to_available(p, mrs, now))
                .min()
        {
            return Ok(Action::RequeueAfter(wait + Duration::from_millis(50)));
        }
        Ok(Action::Done)
    }
}

#[cfg(test)]
mod tests;
