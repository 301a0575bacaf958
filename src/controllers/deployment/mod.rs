//! The Deployment controller, following Kubernetes' pkg/controller/deployment: a Deployment
//! owns ReplicaSets named `<deployment>-<pod-template-hash>`, one per pod template it has had;
//! rollouts move replicas from old ReplicaSets to the new one (RollingUpdate within
//! maxSurge/maxUnavailable, or Recreate), revisions and history live in annotations, and the
//! status carries counts and the Available/Progressing conditions. Pods are the ReplicaSet
//! controller's business.
//!
//! Pure parts: `hash` (pod-template-hash), `rolling` (rollout arithmetic), `conditions`
//! (status), `history` (revisions, clean-up, rollback target), `util` (reading objects).
//! I/O: `claim` (adopt/release ReplicaSets) and `sync` (one reconcile).

mod claim;
pub mod conditions;
pub mod hash;
pub mod history;
pub mod rolling;
mod sync;
pub mod util;

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{EventType, SharedWatchEvent};
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use crate::controllers::runtime::{Action, Reconciler, kind_of_key, namespace_of};
use std::collections::HashMap;
use std::sync::Mutex;

/// What the watch handlers remember to map ReplicaSet and pod changes to Deployments.
#[derive(Default)]
struct Index {
    /// (namespace, ReplicaSet) → the Deployment that controls it.
    owner_of_rs: HashMap<(String, String), String>,
    /// (namespace, Deployment) → its selector (to find who may adopt an orphan ReplicaSet).
    selectors: HashMap<(String, String), LabelSelector>,
}

#[derive(Default)]
pub struct DeploymentController {
    index: Mutex<Index>,
}

fn deploy_key(ns: &str, name: &str) -> Option<ObjectKey> {
    kinds::lookup("deployments").map(|k| ObjectKey::new(k, Some(ns), name))
}

#[async_trait::async_trait]
impl Reconciler for DeploymentController {
    fn name(&self) -> &'static str {
        "deployment"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["deployments", "replicasets", "pods"])
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let obj = &event.object;
        let ns = obj.namespace().unwrap_or("").to_string();
        let deleted = event.event_type == EventType::Deleted;
        let Ok(mut index) = self.index.lock() else {
            return Vec::new();
        };
        match kind.kind {
            "Deployment" => {
                let k = (ns.clone(), obj.name().to_string());
                let selector = obj
                    .pointer("/spec/selector")
                    .and_then(|s| LabelSelector::from_json(s).ok().flatten());
                match selector {
                    Some(s) if !deleted => {
                        index.selectors.insert(k, s);
                    }
                    _ => {
                        index.selectors.remove(&k);
                    }
                }
                deploy_key(&ns, obj.name()).into_iter().collect()
            }
            "ReplicaSet" => {
                let rs_key = (ns.clone(), obj.name().to_string());
                match claim::controller_ref(obj) {
                    Some(r) if r.kind == "Deployment" => {
                        if deleted {
                            index.owner_of_rs.remove(&rs_key);
                        } else {
                            index.owner_of_rs.insert(rs_key, r.name.clone());
                        }
                        deploy_key(&ns, &r.name).into_iter().collect()
                    }
                    Some(_) => Vec::new(),
                    None => {
                        // An orphan: every Deployment whose selector matches may adopt it.
                        index.owner_of_rs.remove(&rs_key);
                        index
                            .selectors
                            .iter()
                            .filter(|((n, _), s)| {
                                *n == ns && !s.is_everything() && s.matches_object(obj)
                            })
                            .filter_map(|((n, d), _)| deploy_key(n, d))
                            .collect()
                    }
                }
            }
            // Recreate waits for old pods to be gone; Kubernetes looks on pod deletion.
            "Pod" if deleted => claim::controller_ref(obj)
                .filter(|r| r.kind == "ReplicaSet")
                .and_then(|r| index.owner_of_rs.get(&(ns.clone(), r.name)).cloned())
                .and_then(|d| deploy_key(&ns, &d))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let kind =
            kind_of_key(key).ok_or_else(|| ApiError::internal("deployments kind missing"))?;
        let d = match cluster.get(kind, namespace_of(key), &key.name).await {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        sync::Sync::new(cluster, d)?.run().await
    }
}

#[cfg(test)]
mod tests;
