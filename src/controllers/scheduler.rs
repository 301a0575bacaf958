//! The scheduler: binds each unscheduled pod to a node that fits it — nodeSelector, required
//! node affinity, taints and tolerations, unschedulable nodes, and free cpu/memory/pod slots
//! against the node's allocatable — or leaves it Pending with a FailedScheduling event that
//! says why, worded as kube-scheduler words it.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey, now_rfc3339};
use crate::api::quantity::Quantity;
use crate::api::request::{EventType, ListOptions, SharedWatchEvent};
use crate::cluster::Cluster;
use crate::cluster::events::{self, EventKind, Source};
use crate::controllers::runtime::{Action, Reconciler, namespace_of};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SCHEDULER_NAME: &str = "default-scheduler";

/// Why one node does not fit a pod; the texts are kube-scheduler's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Misfit {
    Insufficient(&'static str),
    TooManyPods,
    Selector,
    Taint(String),
    Unschedulable,
}

impl Misfit {
    fn text(&self) -> String {
        match self {
            Misfit::Insufficient(r) => format!("Insufficient {r}"),
            Misfit::TooManyPods => "Too many pods".into(),
            Misfit::Selector => "node(s) didn't match Pod's node affinity/selector".into(),
            Misfit::Taint(t) => format!("node(s) had untolerated taint {{{t}}}"),
            Misfit::Unschedulable => "node(s) were unschedulable".into(),
        }
    }
}

/// `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.`
pub fn unschedulable_message(nodes: usize, misfits: &[Misfit]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for m in misfits {
        *counts.entry(m.text()).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
    if parts.is_empty() {
        return format!("0/{nodes} nodes are available: no nodes available to schedule pods.");
    }
    format!("0/{nodes} nodes are available: {}.", parts.join(", "))
}

fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.labels()
}

/// One nodeSelectorTerm requirement: `{key, operator, values}`.
fn requirement_matches(req: &Value, value: Option<&str>) -> bool {
    let values: Vec<&str> = req["values"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match req["operator"].as_str().unwrap_or("") {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => !value.is_some_and(|v| values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|b| b.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if req["operator"] == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// nodeSelector and required node affinity (terms are ORed, requirements in a term ANDed).
pub fn matches_node_selection(pod: &Value, node: &Value) -> bool {
    let labels = labels_of(node);
    let selector_ok = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| {
            sel.iter()
                .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
        });
    if !selector_ok {
        return false;
    }
    let terms = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array);
    let Some(terms) = terms else { return true };
    terms.iter().any(|term| {
        let exprs = term["matchExpressions"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let fields = term["matchFields"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if exprs.is_empty() && fields.is_empty() {
            return false; // an empty term matches nothing
        }
        exprs.iter().all(|r| {
            requirement_matches(
                r,
                r["key"]
                    .as_str()
                    .and_then(|k| labels.get(k))
                    .map(String::as_str),
            )
        }) && fields.iter().all(|r| {
            let v = (r["key"] == "metadata.name").then(|| node.name());
            requirement_matches(r, v)
        })
    })
}

/// Whether a toleration tolerates a taint (Kubernetes' ToleratesTaint).
fn tolerates(t: &Value, taint: &Value) -> bool {
    let effect_ok = t["effect"]
        .as_str()
        .is_none_or(|e| e.is_empty() || Some(e) == taint["effect"].as_str());
    if !effect_ok {
        return false;
    }
    let key = t["key"].as_str().unwrap_or("");
    match t["operator"].as_str().unwrap_or("Equal") {
        "Exists" => key.is_empty() || Some(key) == taint["key"].as_str(),
        _ => {
            Some(key) == taint["key"].as_str()
                && t["value"].as_str().unwrap_or("") == taint["value"].as_str().unwrap_or("")
        }
    }
}

/// The first NoSchedule/NoExecute taint the pod does not tolerate, as `key: value`.
pub fn untolerated_taint(pod: &Value, node: &Value) -> Option<String> {
    let tolerations = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    node.pointer("/spec/taints")
        .and_then(Value::as_array)?
        .iter()
        .filter(|t| matches!(t["effect"].as_str(), Some("NoSchedule") | Some("NoExecute")))
        .find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
        .map(|t| {
            format!(
                "{}: {}",
                t["key"].as_str().unwrap_or(""),
                t["value"].as_str().unwrap_or("")
            )
        })
}

/// Effective requests (milli-cpu, memory bytes): the larger of the app containers' sum and
/// the largest init container, as the scheduler computes it.
pub fn pod_requests(pod: &Value) -> (i128, i128) {
    let req = |c: &Value, r: &str| -> i128 {
        c.pointer(&format!("/resources/requests/{r}"))
            .and_then(|q| Quantity::from_json(q).ok())
            .map(|q| {
                if r == "cpu" {
                    q.milli_value()
                } else {
                    q.value()
                }
            })
            .unwrap_or(0)
    };
    let list = |f: &str| {
        pod.pointer(&format!("/spec/{f}"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (apps, inits) = (list("containers"), list("initContainers"));
    let mut out = [0i128; 2];
    for (i, r) in ["cpu", "memory"].iter().enumerate() {
        let sum: i128 = apps.iter().map(|c| req(c, r)).sum();
        let init = inits.iter().map(|c| req(c, r)).max().unwrap_or(0);
        out[i] = sum.max(init);
    }
    (out[0], out[1])
}

fn allocatable(node: &Value, r: &str) -> Option<i128> {
    let q = Quantity::from_json(node.pointer(&format!("/status/allocatable/{r}"))?).ok()?;
    Some(match r {
        "cpu" => q.milli_value(),
        _ => q.value(),
    })
}

/// Everything that keeps `pod` off `node`, given the pods already there.
pub fn misfits(pod: &Value, node: &Value, pods_on_node: &[Arc<Value>]) -> Vec<Misfit> {
    let mut out = Vec::new();
    let unschedulable = node
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let tolerates_unschedulable = pod
        .pointer("/spec/tolerations")
        .and_then(Value::as_array)
        .is_some_and(|ts| {
            ts.iter().any(|t| {
                tolerates(
                    t,
                    &json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}),
                )
            })
        });
    if unschedulable && !tolerates_unschedulable {
        out.push(Misfit::Unschedulable);
    }
    if !matches_node_selection(pod, node) {
        out.push(Misfit::Selector);
    }
    if let Some(t) = untolerated_taint(pod, node) {
        out.push(Misfit::Taint(t));
    }
    let active: Vec<&Value> = pods_on_node
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| {
            !matches!(
                p.str_at("/status/phase"),
                Some("Succeeded") | Some("Failed")
            )
        })
        .collect();
    if allocatable(node, "pods").is_some_and(|max| active.len() as i128 >= max) {
        out.push(Misfit::TooManyPods);
    }
    let (cpu, mem) = pod_requests(pod);
    let (used_cpu, used_mem) = active
        .iter()
        .map(|p| pod_requests(p))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if cpu > 0 && allocatable(node, "cpu").is_some_and(|a| used_cpu + cpu > a) {
        out.push(Misfit::Insufficient("cpu"));
    }
    if mem > 0 && allocatable(node, "memory").is_some_and(|a| used_mem + mem > a) {
        out.push(Misfit::Insufficient("memory"));
    }
    out
}

#[derive(Default)]
pub struct Scheduler {
    /// Pods that fit nowhere: looked at again when a node changes.
    waiting: Mutex<HashSet<ObjectKey>>,
}

fn wants_scheduling(pod: &Value) -> bool {
    pod.str_at("/spec/nodeName").is_none_or(str::is_empty)
        && pod.deletion_timestamp().is_none()
        && pod
            .str_at("/spec/schedulerName")
            .is_none_or(|s| s.is_empty() || s == SCHEDULER_NAME)
        && !matches!(
            pod.str_at("/status/phase"),
            Some("Succeeded") | Some("Failed")
        )
}

fn source() -> Source {
    Source {
        component: SCHEDULER_NAME.into(),
        host: String::new(),
    }
}

impl Scheduler {
    async fn mark_unschedulable(
        &self,
        cluster: &dyn Cluster,
        mut pod: Value,
        message: &str,
    ) -> ApiResult<()> {
        let mut conditions: Vec<Value> = pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let same = conditions.iter().any(|c| {
            c["type"] == "PodScheduled" && c["reason"] == "Unschedulable" && c["message"] == message
        });
        if !same {
            conditions.retain(|c| c["type"] != "PodScheduled");
            conditions.push(
                json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": message, "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}),
            );
            pod["status"]["conditions"] = json!(conditions);
            pod = cluster.update_status(pod).await?;
        }
        let _ = events::record(
            cluster,
            &source(),
            &pod,
            EventKind::Warning,
            "FailedScheduling",
            message,
        )
        .await;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Reconciler for Scheduler {
    fn name(&self) -> &'static str {
        "scheduler"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        crate::controllers::runtime::kinds_named(&["pods", "nodes"])
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        if kind.kind == "Node" {
            return self
                .waiting
                .lock()
                .map(|w| w.iter().cloned().collect())
                .unwrap_or_default();
        }
        let key = ObjectKey::new(kind, event.object.namespace(), event.object.name());
        if event.event_type == EventType::Deleted || !wants_scheduling(&event.object) {
            if let Ok(mut w) = self.waiting.lock() {
                w.remove(&key);
            }
            // Pods leaving a node free room for the waiting ones.
            return self
                .waiting
                .lock()
                .map(|w| w.iter().cloned().collect())
                .unwrap_or_default();
        }
        vec![key]
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let (Some(po), Some(no)) = (kinds::lookup("pods"), kinds::lookup("nodes")) else {
            return Err(ApiError::internal("pods/nodes kinds missing"));
        };
        let pod = match cluster.get(po, namespace_of(key), &key.name).await {
            Ok(p) => p,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        if !wants_scheduling(&pod) {
            return Ok(Action::Done);
        }
        let nodes = cluster.list(no, None, &ListOptions::default()).await?.items;
        let mut all_misfits = Vec::new();
        for node in &nodes {
            let on_node = ListOptions {
                field_selector: Some(format!("spec.nodeName={}", node.name())),
                ..Default::default()
            };
            let pods = cluster.list_shared(po, None, &on_node).await?.items;
            let m = misfits(&pod, node, &pods);
            if m.is_empty() {
                let bound = cluster
                    .bind(
                        pod.namespace().unwrap_or("default"),
                        pod.name(),
                        node.name(),
                    )
                    .await?;
                if let Ok(mut w) = self.waiting.lock() {
                    w.remove(key);
                }
                let msg = format!(
                    "Successfully assigned {}/{} to {}",
                    bound.namespace().unwrap_or(""),
                    bound.name(),
                    node.name()
                );
                let _ = events::record(
                    cluster,
                    &source(),
                    &bound,
                    EventKind::Normal,
                    "Scheduled",
                    &msg,
                )
                .await;
                return Ok(Action::Done);
            }
            // One reason per node, as the scheduler reports the first failing filter.
            all_misfits.push(m.into_iter().min().unwrap_or(Misfit::Selector));
        }
        let message = unschedulable_message(nodes.len(), &all_misfits);
        self.mark_unschedulable(cluster, pod, &message).await?;
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(key.clone());
        }
        // Retried on node and pod changes; and now and then regardless, as kube-scheduler does.
        Ok(Action::RequeueAfter(Duration::from_secs(60)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Value {
        json!({"metadata":{"name":"n1","labels":{"kubernetes.io/hostname":"n1","disk":"ssd"}},
               "status":{"allocatable":{"cpu":"2","memory":"1Gi","pods":"3"}}})
    }

    fn pod(spec: Value) -> Value {
        let mut s = json!({"containers":[{"name":"c","image":"i"}]});
        for (k, v) in spec.as_object().unwrap() {
            s[k] = v.clone();
        }
        json!({"metadata":{"name":"p","namespace":"default"},"spec":s})
    }

    #[test]
    fn node_selector_and_affinity() {
        assert!(misfits(&pod(json!({"nodeSelector":{"disk":"ssd"}})), &node(), &[]).is_empty());
        assert_eq!(
            misfits(&pod(json!({"nodeSelector":{"gpu":"true"}})), &node(), &[]),
            vec![Misfit::Selector]
        );
        let aff = |op: &str, vals: Value| {
            pod(
                json!({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms":[{"matchExpressions":[{"key":"disk","operator":op,"values":vals}]}]}}}}),
            )
        };
        assert!(misfits(&aff("In", json!(["ssd", "hdd"])), &node(), &[]).is_empty());
        assert_eq!(
            misfits(&aff("NotIn", json!(["ssd"])), &node(), &[]),
            vec![Misfit::Selector]
        );
        assert!(misfits(&aff("Exists", json!([])), &node(), &[]).is_empty());
    }

    #[test]
    fn taints_tolerations_and_unschedulable() {
        let mut n = node();
        n["spec"] = json!({"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}],"unschedulable":true});
        let m = misfits(&pod(json!({})), &n, &[]);
        assert!(
            m.contains(&Misfit::Taint("dedicated: gpu".into()))
                && m.contains(&Misfit::Unschedulable)
        );
        let tolerant = pod(
            json!({"tolerations":[{"key":"dedicated","operator":"Equal","value":"gpu","effect":"NoSchedule"},
            {"key":"node.kubernetes.io/unschedulable","operator":"Exists"}]}),
        );
        assert!(misfits(&tolerant, &n, &[]).is_empty());
        assert!(
            misfits(
                &pod(json!({"tolerations":[{"operator":"Exists"}]})),
                &n,
                &[]
            )
            .iter()
            .all(|m| *m == Misfit::Unschedulable)
        );
    }

    #[test]
    fn resources_and_pod_count() {
        let big = pod(
            json!({"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"1500m","memory":"600Mi"}}}]}),
        );
        assert!(misfits(&big, &node(), &[]).is_empty());
        let m = misfits(&big, &node(), &[Arc::new(big.clone())]);
        assert_eq!(
            m,
            vec![Misfit::Insufficient("cpu"), Misfit::Insufficient("memory")]
        );
        let full: Vec<Arc<Value>> = (0..3).map(|_| Arc::new(pod(json!({})))).collect();
        assert_eq!(
            misfits(&pod(json!({})), &node(), &full),
            vec![Misfit::TooManyPods]
        );
        let init = pod(
            json!({"initContainers":[{"name":"i","image":"i","resources":{"requests":{"cpu":"3"}}}]}),
        );
        assert_eq!(pod_requests(&init).0, 3000);
    }

    #[test]
    fn messages_read_like_kube_scheduler() {
        assert_eq!(
            unschedulable_message(1, &[Misfit::Selector]),
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        );
        assert_eq!(
            unschedulable_message(
                2,
                &[Misfit::Insufficient("cpu"), Misfit::Insufficient("cpu")]
            ),
            "0/2 nodes are available: 2 Insufficient cpu."
        );
    }
}
