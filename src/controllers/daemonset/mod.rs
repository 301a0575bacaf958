//! The DaemonSet controller, after Kubernetes' pkg/controller/daemon: one pod per node that
//! matches the template's nodeName, nodeSelector, required node affinity and taints (with the
//! automatic daemon tolerations), placed by the scheduler through a `metadata.name` node
//! affinity; Failed pods replaced; rolling update with maxUnavailable (maxSurge is not
//! implemented: it counts as 0), OnDelete.
//!
//! Pods carry `controller-revision-hash` = a hash of the template (`statefulset::revision`):
//! peapod serves no ControllerRevisions.

pub mod nodes;
pub mod plan;

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{EventType, ListOptions, SharedWatchEvent, WriteOptions};
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use crate::cluster::events::EventKind;
use crate::controllers::podcontrol;
use crate::controllers::runtime::{Action, Reconciler, kind_of_key};
use crate::controllers::statefulset::revision;
use plan::Step;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

const COMPONENT: &str = "daemonset-controller";

#[derive(Default)]
pub struct DaemonSetController {
    /// Every DaemonSet, from its watch events: a node change concerns all of them.
    known: Mutex<HashSet<ObjectKey>>,
}

fn kind(name: &str) -> ApiResult<&'static KindInfo> {
    kinds::lookup(name).ok_or_else(|| ApiError::internal(format!("kind {name} missing")))
}

async fn record(cluster: &dyn Cluster, ds: &Value, kind: EventKind, reason: &str, msg: &str) {
    podcontrol::record(cluster, COMPONENT, ds, kind, reason, msg).await;
}

async fn run_step(
    cluster: &dyn Cluster,
    ds: &Value,
    template: &Value,
    pods: &[Value],
    step: Step,
) -> ApiResult<()> {
    match step {
        Step::Create(node) => {
            let pod = nodes::new_pod(ds, template, &node);
            match cluster.create(pod, &WriteOptions::default()).await {
                Ok(p) => {
                    let msg = format!("Created pod: {}", p.name());
                    record(cluster, ds, EventKind::Normal, "SuccessfulCreate", &msg).await;
                    Ok(())
                }
                Err(e) => {
                    let msg = format!("Error creating: {}", e.message);
                    record(cluster, ds, EventKind::Warning, "FailedCreate", &msg).await;
                    Err(e)
                }
            }
        }
        Step::Delete { name, failed } => {
            let Some(pod) = pods.iter().find(|p| p.name() == name) else {
                return Ok(());
            };
            if failed {
                let msg = format!(
                    "Found failed daemon pod {}/{name} on node {}, will try to kill it",
                    pod.namespace().unwrap_or(""),
                    nodes::target_node(pod).unwrap_or_default()
                );
                record(cluster, ds, EventKind::Warning, "FailedDaemonPod", &msg).await;
            }
            podcontrol::delete_pod(cluster, COMPONENT, ds, pod).await
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for DaemonSetController {
    fn name(&self) -> &'static str {
        "daemonset"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["daemonsets", "pods", "nodes"])
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let obj = &event.object;
        let known = |ns: Option<&str>| -> Vec<ObjectKey> {
            self.known
                .lock()
                .map(|k| {
                    k.iter()
                        .filter(|key| ns.is_none_or(|ns| key.namespace == ns))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        };
        match kind.kind {
            "DaemonSet" => {
                let key = ObjectKey::new(kind, obj.namespace(), obj.name());
                if let Ok(mut k) = self.known.lock() {
                    if event.event_type == EventType::Deleted {
                        k.remove(&key);
                    } else {
                        k.insert(key.clone());
                    }
                }
                vec![key]
            }
            "Node" => known(None),
            _ => match podcontrol::controller_of(obj) {
                Some(r) if r.kind == "DaemonSet" => kinds::lookup("daemonsets")
                    .map(|k| vec![ObjectKey::new(k, obj.namespace(), &r.name)])
                    .unwrap_or_default(),
                Some(_) => Vec::new(),
                None if event.event_type != EventType::Deleted => known(obj.namespace()),
                None => Vec::new(),
            },
        }
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(ds_kind) = kind_of_key(key).filter(|k| k.kind == "DaemonSet") else {
            return Ok(Action::Done);
        };
        let ds = match cluster.get(ds_kind, Some(&key.namespace), &key.name).await {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        let selector = ds.pointer("/spec/selector").unwrap_or(&Value::Null);
        let Ok(Some(selector)) = LabelSelector::from_json(selector) else {
            tracing::debug!(%key, "no usable selector; not syncing");
            return Ok(Action::Done);
        };
        let all = cluster
            .list_shared(kind("pods")?, ds.namespace(), &ListOptions::default())
            .await?
            .items;
        let pods = podcontrol::claim_pods(cluster, &ds, &selector, all).await?;
        // The plan reads owned values; a DaemonSet has a pod or so per node, cheap to copy.
        let pods: Vec<Value> = pods.iter().map(|p| (**p).clone()).collect();
        if ds.deletion_timestamp().is_some() {
            return Ok(Action::Done);
        }
        let node_list = cluster
            .list(kind("nodes")?, None, &ListOptions::default())
            .await?
            .items;
        let template = ds.pointer("/spec/template").unwrap_or(&Value::Null);
        let hash = revision::template_hash(template);
        let template = nodes::daemon_template(&ds, &hash);
        let now = jiff::Timestamp::now();
        let steps = plan::plan(&ds, &template, &node_list, &pods, &hash, now);
        let mut first_err = None;
        for step in steps {
            if let Err(e) = run_step(cluster, &ds, &template, &pods, step).await {
                first_err.get_or_insert(e);
            }
        }
        let status = plan::status(&ds, &template, &node_list, &pods, &hash, now);
        if ds.get("status") != Some(&status) {
            let mut updated = ds.clone();
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
        let mrs = plan::min_ready_seconds(&ds);
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
