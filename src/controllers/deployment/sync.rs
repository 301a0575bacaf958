//! One sync of one Deployment (`syncDeployment` and what it calls in Kubernetes' sync.go,
//! rolling.go, recreate.go): find or create the new ReplicaSet, scale ReplicaSets, clean up
//! history, write the status. Decisions come from the pure modules; this file does the I/O.

use super::claim::{controller_ref, replica_sets_for};
use super::conditions::{
    self, FAILED_RS_CREATE, FOUND_NEW_RS, NEW_RS_CREATED, PROGRESSING, REPLICA_FAILURE,
};
use super::hash::{POD_TEMPLATE_HASH, compute_hash};
use super::history;
use super::rolling;
use super::util::{
    self, DESIRED_REPLICAS, REVISION, active, equal_ignore_hash, int_at, paused, progress_deadline,
    spec_replicas,
};
use crate::api::error::{ApiError, ApiResult, Reason};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, OwnerReference};
use crate::api::request::{DeleteOptions, ListOptions, Patch, WriteOptions};
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use crate::cluster::events::{self, EventKind, Source};
use crate::controllers::runtime::Action;
use serde_json::{Value, json};

fn source() -> Source {
    Source {
        component: "deployment-controller".into(),
        host: String::new(),
    }
}

fn kind(name: &str) -> ApiResult<&'static KindInfo> {
    kinds::lookup(name).ok_or_else(|| ApiError::internal(format!("{name} kind missing")))
}

/// The state of one sync: the Deployment as last written, and the clock.
pub struct Sync<'a> {
    pub cluster: &'a dyn Cluster,
    pub d: Value,
    pub now: jiff::Timestamp,
    rs_kind: &'static KindInfo,
}

impl<'a> Sync<'a> {
    pub fn new(cluster: &'a dyn Cluster, d: Value) -> ApiResult<Sync<'a>> {
        Ok(Sync {
            cluster,
            d,
            now: jiff::Timestamp::now(),
            rs_kind: kind("replicasets")?,
        })
    }

    async fn event(&self, kind: EventKind, reason: &str, message: &str) {
        if let Err(e) =
            events::record(self.cluster, &source(), &self.d, kind, reason, message).await
        {
            tracing::debug!("deployment {}: event not recorded: {e}", self.d.name());
        }
    }

    /// `syncDeployment`.
    pub async fn run(mut self) -> ApiResult<Action> {
        let selector = match LabelSelector::from_json(
            self.d.pointer("/spec/selector").unwrap_or(&Value::Null),
        ) {
            Ok(Some(s)) => s,
            // Validation keeps these out; nothing sensible to do with one.
            Ok(None) | Err(_) => return Ok(Action::Done),
        };
        if selector.is_everything() {
            self.event(
                EventKind::Warning,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            .await;
            if int_at(&self.d, "/status/observedGeneration").unwrap_or(0) < self.d.generation() {
                self.d["status"]["observedGeneration"] = json!(self.d.generation());
                self.write_status().await?;
            }
            return Ok(Action::Done);
        }
        let rss = replica_sets_for(self.cluster, self.rs_kind, &self.d, &selector).await?;
        if self.d.deletion_timestamp().is_some() {
            let (new, old) = self.new_and_old(&rss, false).await?;
            let all = with_new(&old, new.as_ref());
            return self.sync_status(&all, new.as_ref()).await;
        }
        if let Some(status) = conditions::paused_condition(&self.d, self.now) {
            self.d["status"] = status;
            self.write_status().await?;
        }
        if paused(&self.d) || self.is_scaling_event(&rss).await? {
            return self.sync(&rss).await;
        }
        if util::is_recreate(&self.d) {
            self.recreate(&rss, &selector).await
        } else {
            self.rolling(&rss).await
        }
    }

    async fn write_status(&mut self) -> ApiResult<()> {
        self.d = self.cluster.update_status(self.d.clone()).await?;
        Ok(())
    }

    /// Set the Deployment's revision annotation (`SetDeploymentRevision`); true if it changed.
    async fn set_revision(&mut self, revision: &str) -> ApiResult<()> {
        if self.d.annotation(REVISION) == Some(revision) {
            return Ok(());
        }
        let kind = kind("deployments")?;
        let patch = Patch::Merge(json!({"metadata": {"annotations": {REVISION: revision}}}));
        let patched = self
            .cluster
            .patch(
                kind,
                self.d.namespace(),
                self.d.name(),
                patch,
                &WriteOptions::default(),
            )
            .await?;
        // Keep the status this sync computed so far; the patch does not touch it.
        let status = self.d.get("status").cloned();
        self.d = patched;
        if let Some(s) = status {
            self.d["status"] = s;
        }
        Ok(())
    }

    /// `getAllReplicaSetsAndSyncRevision`: the new ReplicaSet (created when asked) and the rest.
    async fn new_and_old(
        &mut self,
        rss: &[Value],
        create: bool,
    ) -> ApiResult<(Option<Value>, Vec<Value>)> {
        let existing = util::find_new(&self.d, rss);
        let old: Vec<Value> = rss
            .iter()
            .filter(|r| {
                existing
                    .as_ref()
                    .is_none_or(|n| n.uid() != r.uid() || n.name() != r.name())
            })
            .cloned()
            .collect();
        let new_revision = util::max_revision(&old) + 1;
        let surge = rolling::max_surge(&self.d);
        if let Some(rs) = existing {
            let mut copy = rs.clone();
            let changed =
                history::set_new_rs_annotations(&self.d, &mut copy, new_revision, true, surge);
            let min_ready = int_at(&self.d, "/spec/minReadySeconds").unwrap_or(0);
            if changed || int_at(&copy, "/spec/minReadySeconds").unwrap_or(0) != min_ready {
                copy["spec"]["minReadySeconds"] = json!(min_ready);
                let updated = self.cluster.update(copy, &WriteOptions::default()).await?;
                return Ok((Some(updated), old));
            }
            if let Some(rev) = copy.annotation(REVISION).map(str::to_string) {
                self.set_revision(&rev).await?;
            }
            let cond = self
                .d
                .get("status")
                .and_then(|s| conditions::get(s, PROGRESSING));
            if progress_deadline(&self.d).is_some() && cond.is_none() {
                let msg = format!("Found new replica set {:?}", copy.name());
                let c = conditions::condition(PROGRESSING, "True", FOUND_NEW_RS, &msg, self.now);
                conditions::set(&mut self.d["status"], c);
                self.write_status().await?;
            }
            return Ok((Some(copy), old));
        }
        if !create {
            return Ok((None, old));
        }
        let new = self.create_new(&old, new_revision, surge).await?;
        Ok((Some(new), old))
    }

    async fn create_new(
        &mut self,
        old: &[Value],
        new_revision: i64,
        surge: i64,
    ) -> ApiResult<Value> {
        let collisions = int_at(&self.d, "/status/collisionCount")
            .map(|c| c.clamp(0, i64::from(u32::MAX)) as u32);
        let mut template = self
            .d
            .pointer("/spec/template")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let hash = compute_hash(&template, collisions);
        template["metadata"]["labels"][POD_TEMPLATE_HASH] = json!(hash);
        let mut selector = self
            .d
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or_else(|| json!({}));
        selector["matchLabels"][POD_TEMPLATE_HASH] = json!(hash);
        let name = format!("{}-{hash}", self.d.name());
        let mut rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": self.d.namespace().unwrap_or("default"),
                "labels": template["metadata"]["labels"].clone(),
                "ownerReferences": [OwnerReference::controller_of(&self.d)],
            },
            "spec": {
                "replicas": 0,
                "minReadySeconds": int_at(&self.d, "/spec/minReadySeconds").unwrap_or(0),
                "selector": selector,
                "template": template,
            },
        });
        let all = with_new(old, Some(&rs));
        let replicas = rolling::new_rs_new_replicas(&self.d, &all, &rs);
        rs["spec"]["replicas"] = json!(replicas);
        history::set_new_rs_annotations(&self.d, &mut rs, new_revision, false, surge);
        let (created, already) = match self.cluster.create(rs, &WriteOptions::default()).await {
            Ok(c) => (c, false),
            Err(e) if e.reason == Reason::AlreadyExists => {
                let found = self
                    .cluster
                    .get(self.rs_kind, self.d.namespace(), &name)
                    .await?;
                let ours = controller_ref(&found).is_some_and(|r| r.uid == self.d.uid());
                let same = equal_ignore_hash(
                    found.pointer("/spec/template").unwrap_or(&Value::Null),
                    self.d.pointer("/spec/template").unwrap_or(&Value::Null),
                );
                if ours && same {
                    (found, true)
                } else {
                    // A hash collision: bump collisionCount so the next try hashes differently.
                    let n = int_at(&self.d, "/status/collisionCount").unwrap_or(0) + 1;
                    self.d["status"]["collisionCount"] = json!(n);
                    self.write_status().await?;
                    return Err(e);
                }
            }
            Err(e) => {
                let msg = format!("Failed to create new replica set {name:?}: {}", e.message);
                if progress_deadline(&self.d).is_some() {
                    let c = conditions::condition(
                        PROGRESSING,
                        "False",
                        FAILED_RS_CREATE,
                        &msg,
                        self.now,
                    );
                    conditions::set(&mut self.d["status"], c);
                    let _ = self.write_status().await;
                }
                self.event(EventKind::Warning, FAILED_RS_CREATE, &msg).await;
                return Err(e);
            }
        };
        if !already && replicas > 0 {
            let msg = format!(
                "Scaled up replica set {} from 0 to {replicas}",
                created.name()
            );
            self.event(EventKind::Normal, "ScalingReplicaSet", &msg)
                .await;
        }
        self.set_revision(&new_revision.to_string()).await?;
        if !already && progress_deadline(&self.d).is_some() {
            let msg = format!("Created new replica set {:?}", created.name());
            let c = conditions::condition(PROGRESSING, "True", NEW_RS_CREATED, &msg, self.now);
            conditions::set(&mut self.d["status"], c);
            self.write_status().await?;
        }
        Ok(created)
    }

    /// `scaleReplicaSet`: set the size and the replicas annotations; an event when the size
    /// changes. Returns whether it scaled and the ReplicaSet as written.
    async fn scale(&mut self, rs: &Value, size: i64) -> ApiResult<(bool, Value)> {
        let desired = spec_replicas(&self.d);
        let max = desired + rolling::max_surge(&self.d);
        let old = spec_replicas(rs);
        let resize = old != size;
        if !resize && !history::replicas_annotations_need_update(rs, desired, max) {
            return Ok((false, rs.clone()));
        }
        let mut copy = rs.clone();
        copy["spec"]["replicas"] = json!(size);
        history::set_replicas_annotations(&mut copy, desired, max);
        let written = self.cluster.update(copy, &WriteOptions::default()).await?;
        if resize {
            let dir = if old < size { "up" } else { "down" };
            let msg = format!(
                "Scaled {dir} replica set {} from {old} to {size}",
                written.name()
            );
            self.event(EventKind::Normal, "ScalingReplicaSet", &msg)
                .await;
        }
        Ok((resize, written))
    }

    /// `scaleReplicaSetAndRecordEvent`: only when the size changes.
    async fn scale_if_needed(&mut self, rs: &Value, size: i64) -> ApiResult<(bool, Value)> {
        if spec_replicas(rs) == size {
            return Ok((false, rs.clone()));
        }
        self.scale(rs, size).await
    }

    async fn apply_plan(&mut self, rss: &[Value], plan: &[(String, i64)]) -> ApiResult<bool> {
        let mut any = false;
        for (name, size) in plan {
            if let Some(rs) = rss.iter().find(|r| r.name() == name) {
                any |= self.scale_if_needed(rs, *size).await?.0;
            }
        }
        Ok(any)
    }

    /// `isScalingEvent`: an active ReplicaSet was sized for another replica count.
    async fn is_scaling_event(&mut self, rss: &[Value]) -> ApiResult<bool> {
        let (new, old) = self.new_and_old(rss, false).await?;
        let want = spec_replicas(&self.d);
        Ok(active(&with_new(&old, new.as_ref())).iter().any(|rs| {
            rs.annotation(DESIRED_REPLICAS)
                .and_then(|s| s.parse::<i64>().ok())
                .is_some_and(|n| n != want)
        }))
    }

    /// `sync`: scaling (also while paused), history clean-up when paused, status.
    async fn sync(&mut self, rss: &[Value]) -> ApiResult<Action> {
        let (new, old) = self.new_and_old(rss, false).await?;
        self.scale_all(new.as_ref(), &old).await?;
        if paused(&self.d) {
            self.cleanup(&old).await?;
        }
        let all = with_new(&old, new.as_ref());
        self.sync_status(&all, new.as_ref()).await
    }

    /// `scale` of sync.go.
    async fn scale_all(&mut self, new: Option<&Value>, old: &[Value]) -> ApiResult<()> {
        let want = spec_replicas(&self.d);
        if let Some(rs) = rolling::active_or_latest(new, old) {
            if spec_replicas(&rs) != want {
                self.scale_if_needed(&rs, want).await?;
            }
            return Ok(());
        }
        if rolling::is_saturated(&self.d, new) {
            for rs in active(old) {
                self.scale_if_needed(&rs, 0).await?;
            }
            return Ok(());
        }
        if !util::is_recreate(&self.d) {
            let act = active(&with_new(old, new));
            for (name, size) in rolling::proportional(&self.d, &act) {
                if let Some(rs) = act.iter().find(|r| r.name() == name) {
                    self.scale(rs, size).await?;
                }
            }
        }
        Ok(())
    }

    /// `rolloutRolling`.
    async fn rolling(&mut self, rss: &[Value]) -> ApiResult<Action> {
        let (new, old) = self.new_and_old(rss, true).await?;
        let new = new.ok_or_else(|| ApiError::internal("new replica set missing after create"))?;
        let all = with_new(&old, Some(&new));
        if let Some(size) = rolling::reconcile_new(&self.d, &all, &new)
            && self.scale_if_needed(&new, size).await?.0
        {
            return self.rollout_status(&all, Some(&new)).await;
        }
        if self.reconcile_old(&all, &active(&old), &new).await? {
            return self.rollout_status(&all, Some(&new)).await;
        }
        if conditions::complete(&self.d, self.d.get("status").unwrap_or(&Value::Null)) {
            self.cleanup(&old).await?;
        }
        self.rollout_status(&all, Some(&new)).await
    }

    /// `reconcileOldReplicaSets`.
    async fn reconcile_old(
        &mut self,
        all: &[Value],
        old: &[Value],
        new: &Value,
    ) -> ApiResult<bool> {
        if util::sum(old, spec_replicas) == 0 {
            return Ok(false);
        }
        let max = rolling::max_scaled_down(&self.d, all, new);
        if max <= 0 {
            return Ok(false);
        }
        let plan = rolling::cleanup_unhealthy(old, max);
        let cleaned = self.apply_plan(old, &plan).await?;
        let old = rolling::with_sizes(old, &plan);
        let all = with_new(&old, Some(new));
        let plan = rolling::scale_down_old(&self.d, &all, &old);
        let scaled = self.apply_plan(&old, &plan).await?;
        Ok(cleaned || scaled)
    }

    /// `rolloutRecreate`.
    async fn recreate(&mut self, rss: &[Value], selector: &LabelSelector) -> ApiResult<Action> {
        let (mut new, mut old) = self.new_and_old(rss, false).await?;
        let mut all = with_new(&old, new.as_ref());
        let mut scaled = false;
        for rs in active(&old) {
            scaled |= self.scale_if_needed(&rs, 0).await?.0;
        }
        if scaled || self.old_pods_running(new.as_ref(), &old, selector).await? {
            return self.rollout_status(&all, new.as_ref()).await;
        }
        if new.is_none() {
            (new, old) = self.new_and_old(rss, true).await?;
            all = with_new(&old, new.as_ref());
        }
        if let Some(rs) = &new {
            let want = spec_replicas(&self.d);
            self.scale_if_needed(rs, want).await?;
        }
        if conditions::complete(&self.d, self.d.get("status").unwrap_or(&Value::Null)) {
            self.cleanup(&old).await?;
        }
        self.rollout_status(&all, new.as_ref()).await
    }

    /// `oldPodsRunning`: an old ReplicaSet still reports pods, or one of its pods is not done.
    async fn old_pods_running(
        &self,
        new: Option<&Value>,
        old: &[Value],
        selector: &LabelSelector,
    ) -> ApiResult<bool> {
        if old.iter().any(|rs| util::status_replicas(rs) > 0) {
            return Ok(true);
        }
        let pods = self
            .cluster
            .list(
                kind("pods")?,
                self.d.namespace(),
                &ListOptions {
                    label_selector: Some(selector.to_string()),
                    ..Default::default()
                },
            )
            .await?;
        Ok(pods.items.iter().any(|p| {
            let Some(r) = controller_ref(p) else {
                return false;
            };
            let of_old = old.iter().any(|rs| rs.uid() == r.uid);
            let of_new = new.is_some_and(|n| n.uid() == r.uid);
            of_old && !of_new && !matches!(p.str_at("/status/phase"), Some("Failed" | "Succeeded"))
        }))
    }

    /// `cleanupDeployment`.
    async fn cleanup(&mut self, old: &[Value]) -> ApiResult<()> {
        for name in history::cleanup(old, util::revision_history_limit(&self.d)) {
            match self
                .cluster
                .delete(
                    self.rs_kind,
                    self.d.namespace(),
                    &name,
                    &DeleteOptions::default(),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `syncDeploymentStatus`: counts and Available, no progress estimate.
    async fn sync_status(&mut self, all: &[Value], new: Option<&Value>) -> ApiResult<Action> {
        let status = conditions::calculate_status(&self.d, all, new, self.now);
        if self.d.get("status") != Some(&status) {
            self.d["status"] = status;
            self.write_status().await?;
        }
        Ok(Action::Done)
    }

    /// `syncRolloutStatus`.
    async fn rollout_status(&mut self, all: &[Value], new: Option<&Value>) -> ApiResult<Action> {
        let mut status = conditions::rollout_status(&self.d, all, new, self.now);
        // A ReplicaSet's ReplicaFailure condition (e.g. quota) is surfaced on the Deployment.
        let failure = new
            .into_iter()
            .chain(all.iter())
            .filter_map(|rs| {
                rs.get("status")
                    .and_then(|s| conditions::get(s, REPLICA_FAILURE))
            })
            .find(|c| c["status"] == "True")
            .cloned();
        match failure {
            Some(c) => conditions::set(&mut status, c),
            None => conditions::remove(&mut status, REPLICA_FAILURE),
        }
        if self.d.get("status") != Some(&status) {
            self.d["status"] = status.clone();
            self.write_status().await?;
        }
        Ok(
            match conditions::requeue_after(&self.d, &status, self.now) {
                Some(d) => Action::RequeueAfter(d),
                None => Action::Done,
            },
        )
    }
}

/// `append(oldRSs, newRS)`.
fn with_new(old: &[Value], new: Option<&Value>) -> Vec<Value> {
    let mut all = old.to_vec();
    if let Some(n) = new {
        all.push(n.clone());
    }
    all
}
