//! Garbage collection by ownerReferences, as Kubernetes' garbage collector:
//! - an object all of whose owners are gone is deleted (background cascade);
//! - an owner deleted with `foregroundDeletion` deletes its dependents first and disappears
//!   when no dependent with `blockOwnerDeletion` remains;
//! - an owner deleted with `orphan` has its dependents' references to it removed first.
//!
//! An in-memory index (owner uid → dependents) is kept from the watch events.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{
    FOREGROUND_FINALIZER, ORPHAN_FINALIZER, ObjectExt, ObjectKey, OwnerReference,
};
use crate::api::request::{DeleteOptions, EventType, Propagation, SharedWatchEvent, WriteOptions};
use crate::cluster::Cluster;
use crate::controllers::runtime::{Action, Reconciler, kind_of_key, namespace_of};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct GarbageCollector {
    /// owner uid → keys of objects that name it as owner.
    dependents: Mutex<HashMap<String, HashSet<ObjectKey>>>,
    /// object key → owner uids it had at the last event (to update the index on change).
    owners: Mutex<HashMap<ObjectKey, Vec<String>>>,
}

/// Where an owner reference points: its kind (if peapod serves it) and key.
fn owner_key(dependent: &Value, r: &OwnerReference) -> Option<(&'static KindInfo, ObjectKey)> {
    let kind = kinds::by_api_version(&r.api_version, &r.kind)?;
    Some((kind, ObjectKey::new(kind, dependent.namespace(), &r.name)))
}

impl GarbageCollector {
    fn index(&self, key: &ObjectKey, event: &SharedWatchEvent) {
        let new_owners: Vec<String> = if event.event_type == EventType::Deleted {
            Vec::new()
        } else {
            event
                .object
                .owner_references()
                .into_iter()
                .map(|r| r.uid)
                .collect()
        };
        let (Ok(mut deps), Ok(mut owners)) = (self.dependents.lock(), self.owners.lock()) else {
            return;
        };
        for uid in owners.remove(key).unwrap_or_default() {
            if let Some(set) = deps.get_mut(&uid) {
                set.remove(key);
                if set.is_empty() {
                    deps.remove(&uid);
                }
            }
        }
        for uid in &new_owners {
            deps.entry(uid.clone()).or_default().insert(key.clone());
        }
        if !new_owners.is_empty() {
            owners.insert(key.clone(), new_owners);
        }
    }

    fn dependents_of(&self, uid: &str) -> Vec<ObjectKey> {
        self.dependents
            .lock()
            .map(|d| {
                d.get(uid)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Dependents that still exist and still reference `owner_uid`, with their reference.
    async fn live_dependents(
        &self,
        cluster: &dyn Cluster,
        owner_uid: &str,
    ) -> ApiResult<Vec<(Value, OwnerReference)>> {
        let mut out = Vec::new();
        for key in self.dependents_of(owner_uid) {
            let Some(kind) = kind_of_key(&key) else {
                continue;
            };
            match cluster.get(kind, namespace_of(&key), &key.name).await {
                Ok(obj) => {
                    if let Some(r) = obj
                        .owner_references()
                        .into_iter()
                        .find(|r| r.uid == owner_uid)
                    {
                        out.push((obj, r));
                    }
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn remove_finalizer(
        &self,
        cluster: &dyn Cluster,
        mut obj: Value,
        finalizer: &str,
    ) -> ApiResult<()> {
        let rest: Vec<String> = obj
            .finalizers()
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        obj["metadata"]["finalizers"] = if rest.is_empty() {
            Value::Null
        } else {
            json!(rest)
        };
        if let Some(m) = obj["metadata"].as_object_mut()
            && rest.is_empty()
        {
            m.remove("finalizers");
        }
        match cluster.update(obj, &WriteOptions::default()).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete(
        &self,
        cluster: &dyn Cluster,
        obj: &Value,
        propagation: Propagation,
    ) -> ApiResult<()> {
        let kind = crate::api::object::kind_of(obj)?;
        let opts = DeleteOptions {
            propagation: Some(propagation),
            precondition_uid: Some(obj.uid().to_string()),
            ..Default::default()
        };
        match cluster
            .delete(kind, obj.namespace(), obj.name(), &opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An owner being deleted in the foreground: delete dependents; finish when none blocks.
    async fn foreground(&self, cluster: &dyn Cluster, owner: Value) -> ApiResult<Action> {
        let deps = self.live_dependents(cluster, owner.uid()).await?;
        for (d, _) in &deps {
            if d.deletion_timestamp().is_none() {
                self.delete(cluster, d, Propagation::Foreground).await?;
            }
        }
        if deps.iter().any(|(_, r)| r.block_owner_deletion) {
            return Ok(Action::RequeueAfter(Duration::from_millis(500)));
        }
        self.remove_finalizer(cluster, owner, FOREGROUND_FINALIZER)
            .await?;
        Ok(Action::Done)
    }

    /// An owner deleted with orphan propagation: cut its dependents loose, then let it go.
    async fn orphan(&self, cluster: &dyn Cluster, owner: Value) -> ApiResult<Action> {
        for (mut d, _) in self.live_dependents(cluster, owner.uid()).await? {
            let kept: Vec<Value> = d["metadata"]["ownerReferences"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|r| r["uid"].as_str() != Some(owner.uid()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if let Some(m) = d["metadata"].as_object_mut() {
                if kept.is_empty() {
                    m.remove("ownerReferences");
                } else {
                    m.insert("ownerReferences".into(), json!(kept));
                }
            }
            match cluster.update(d, &WriteOptions::default()).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        self.remove_finalizer(cluster, owner, ORPHAN_FINALIZER)
            .await?;
        Ok(Action::Done)
    }

    /// A dependent: delete it when every owner is gone; drop references to missing owners.
    async fn dependent(&self, cluster: &dyn Cluster, mut obj: Value) -> ApiResult<Action> {
        let refs = obj.owner_references();
        let mut absent = Vec::new();
        let mut foreground_owner = false;
        for r in &refs {
            let Some((kind, key)) = owner_key(&obj, r) else {
                continue;
            };
            match cluster.get(kind, namespace_of(&key), &key.name).await {
                Ok(owner) if owner.uid() == r.uid => {
                    let deleting = owner.deletion_timestamp().is_some();
                    foreground_owner |=
                        deleting && owner.finalizers().iter().any(|f| f == FOREGROUND_FINALIZER);
                }
                Ok(_) => absent.push(r.uid.clone()),
                Err(e) if e.is_not_found() => absent.push(r.uid.clone()),
                Err(e) => return Err(e),
            }
        }
        if refs.is_empty() || obj.deletion_timestamp().is_some() {
            return Ok(Action::Done);
        }
        if absent.len() == refs.len() {
            self.delete(cluster, &obj, Propagation::Background).await?;
        } else if !absent.is_empty() {
            let kept: Vec<Value> = obj["metadata"]["ownerReferences"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|r| !absent.iter().any(|u| r["uid"].as_str() == Some(u)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            obj["metadata"]["ownerReferences"] = json!(kept);
            match cluster.update(obj, &WriteOptions::default()).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        } else if foreground_owner {
            self.delete(cluster, &obj, Propagation::Foreground).await?;
        }
        Ok(Action::Done)
    }
}

#[async_trait::async_trait]
impl Reconciler for GarbageCollector {
    fn name(&self) -> &'static str {
        "garbage-collector"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        kinds::KINDS.iter().filter(|k| k.kind != "Event").collect()
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let obj = &event.object;
        let key = ObjectKey::new(kind, obj.namespace(), obj.name());
        self.index(&key, event);
        let mut keys = vec![key];
        // Owners learn when a dependent changes or goes (foreground deletion waits on them).
        for r in obj.owner_references() {
            if let Some((_, k)) = owner_key(obj, &r) {
                keys.push(k);
            }
        }
        // Dependents learn when their owner goes.
        if event.event_type == EventType::Deleted || obj.deletion_timestamp().is_some() {
            keys.extend(self.dependents_of(obj.uid()));
        }
        keys
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(kind) = kind_of_key(key) else {
            return Err(ApiError::internal(format!(
                "garbage collector: unknown resource {}",
                key.resource
            )));
        };
        let obj = match cluster.get(kind, namespace_of(key), &key.name).await {
            Ok(o) => o,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        if obj.deletion_timestamp().is_some() {
            let fins = obj.finalizers();
            if fins.iter().any(|f| f == ORPHAN_FINALIZER) {
                return self.orphan(cluster, obj).await;
            }
            if fins.iter().any(|f| f == FOREGROUND_FINALIZER) {
                return self.foreground(cluster, obj).await;
            }
        }
        self.dependent(cluster, obj).await
    }
}
