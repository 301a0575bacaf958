//! Which nodes run a DaemonSet's pod and what that pod looks like, after Kubernetes'
//! pkg/controller/daemon (NodeShouldRunDaemonPod, NewPod) and daemon/util
//! (AddOrUpdateDaemonPodTolerations, ReplaceDaemonSetPodNodeNameNodeAffinity). Node matching
//! reuses the scheduler's predicates.

use crate::api::object::ObjectExt;
use crate::controllers::podcontrol;
use crate::controllers::scheduler;
use crate::controllers::statefulset::revision::REVISION_LABEL;
use serde_json::{Value, json};

/// The deprecated template-generation label Kubernetes still writes on daemon pods.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

/// Tolerations every daemon pod gets (Kubernetes' AddOrUpdateDaemonPodTolerations): it keeps
/// running on a not-ready or unreachable node and ignores pressure and cordoning;
/// `network-unavailable` only with hostNetwork.
pub fn automatic_tolerations(host_network: bool) -> Vec<Value> {
    let mut out = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        out.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    out.into_iter()
        .map(|(key, effect)| json!({"key": key, "operator": "Exists", "effect": effect}))
        .collect()
}

/// Kubernetes' CreatePodTemplate: the DaemonSet's template with the automatic tolerations
/// (added or replacing one with the same key and effect), the revision hash and the
/// template generation as labels.
pub fn daemon_template(ds: &Value, hash: &str) -> Value {
    let mut t = ds
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !t["spec"].is_object() {
        t["spec"] = json!({});
    }
    let host_network = t["spec"]["hostNetwork"].as_bool().unwrap_or(false);
    let mut tolerations: Vec<Value> = t["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for auto in automatic_tolerations(host_network) {
        tolerations.retain(|x| !(x["key"] == auto["key"] && x["effect"] == auto["effect"]));
        tolerations.push(auto);
    }
    t["spec"]["tolerations"] = Value::Array(tolerations);
    if !t["metadata"].is_object() {
        t["metadata"] = json!({});
    }
    if !t["metadata"]["labels"].is_object() {
        t["metadata"]["labels"] = json!({});
    }
    t["metadata"]["labels"][REVISION_LABEL] = json!(hash);
    if ds.generation() > 0 {
        t["metadata"]["labels"][TEMPLATE_GENERATION_LABEL] = json!(ds.generation().to_string());
    }
    t
}

/// The pod for `node`: the template with its required node affinity replaced by
/// `metadata.name In [node]`, so the scheduler puts it there (as Kubernetes does since 1.12).
pub fn new_pod(ds: &Value, template: &Value, node: &str) -> Value {
    let mut pod = podcontrol::pod_from_template(ds, template, &format!("{}-", ds.name()));
    let spec = &mut pod["spec"];
    if !spec["affinity"].is_object() {
        spec["affinity"] = json!({});
    }
    if !spec["affinity"]["nodeAffinity"].is_object() {
        spec["affinity"]["nodeAffinity"] = json!({});
    }
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": [node]}]}]});
    pod
}

/// The node a daemon pod is for: its nodeName, or before scheduling the node its affinity
/// names (Kubernetes' GetTargetNodeName).
pub fn target_node(pod: &Value) -> Option<String> {
    if let Some(n) = pod.str_at("/spec/nodeName").filter(|n| !n.is_empty()) {
        return Some(n.to_string());
    }
    let terms = pod
        .pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")?
        .as_array()?;
    terms.iter().find_map(|t| {
        t["matchFields"].as_array()?.iter().find_map(|r| {
            (r["key"] == "metadata.name" && r["operator"] == "In")
                .then(|| r["values"][0].as_str().map(str::to_string))
                .flatten()
        })
    })
}

/// Kubernetes' NodeShouldRunDaemonPod: (should run, should continue running). A pod runs
/// where the template's nodeName, nodeSelector and required node affinity allow it and every
/// NoSchedule/NoExecute taint is tolerated (with the automatic tolerations); one already
/// there keeps running unless a NoExecute taint is not tolerated.
pub fn should_run(template: &Value, node: &Value) -> (bool, bool) {
    let pod = json!({"metadata": {}, "spec": template.get("spec").cloned().unwrap_or(json!({}))});
    if let Some(n) = pod.str_at("/spec/nodeName").filter(|n| !n.is_empty())
        && n != node.name()
    {
        return (false, false);
    }
    if !scheduler::matches_node_selection(&pod, node) {
        return (false, false);
    }
    if scheduler::untolerated_taint(&pod, node).is_none() {
        return (true, true);
    }
    let mut no_execute = node.clone();
    if let Some(taints) = no_execute
        .pointer_mut("/spec/taints")
        .and_then(Value::as_array_mut)
    {
        taints.retain(|t| t["effect"] == "NoExecute");
    }
    (
        false,
        scheduler::untolerated_taint(&pod, &no_execute).is_none(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(spec: Value) -> Value {
        json!({"apiVersion":"apps/v1","kind":"DaemonSet",
               "metadata":{"name":"agent","namespace":"default","uid":"ds-uid","generation":2},
               "spec":{"selector":{"matchLabels":{"app":"agent"}},
                 "template":{"metadata":{"labels":{"app":"agent"}},"spec":spec}}})
    }

    fn node(labels: Value, taints: Value) -> Value {
        json!({"metadata":{"name":"n1","labels":labels},"spec":{"taints":taints}})
    }

    fn run(spec: Value, n: &Value) -> (bool, bool) {
        let d = ds(spec);
        let t = daemon_template(&d, "h");
        should_run(&t, n)
    }

    #[test]
    fn node_selector_and_affinity_decide() {
        let plain = node(json!({"kubernetes.io/hostname":"n1"}), json!([]));
        let gpu = node(json!({"gpu":"true"}), json!([]));
        let sel = json!({"nodeSelector":{"gpu":"true"},"containers":[]});
        assert_eq!(run(sel.clone(), &plain), (false, false));
        assert_eq!(run(sel, &gpu), (true, true));
        let aff = json!({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms":[{"matchExpressions":[{"key":"gpu","operator":"Exists"}]}]}}}});
        assert_eq!(run(aff.clone(), &plain), (false, false));
        assert_eq!(run(aff, &gpu), (true, true));
        assert_eq!(run(json!({"nodeName":"other"}), &gpu), (false, false));
        assert_eq!(run(json!({"nodeName":"n1"}), &gpu), (true, true));
    }

    #[test]
    fn taints_and_automatic_tolerations() {
        let t = |key: &str, effect: &str| json!([{"key":key,"effect":effect}]);
        // Automatically tolerated: cordoned, not ready, pressure.
        for (k, e) in [
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ] {
            assert_eq!(
                run(json!({}), &node(json!({}), t(k, e))),
                (true, true),
                "{k}"
            );
        }
        let net = node(
            json!({}),
            t("node.kubernetes.io/network-unavailable", "NoSchedule"),
        );
        assert_eq!(run(json!({}), &net), (false, true));
        assert_eq!(run(json!({"hostNetwork":true}), &net), (true, true));
        // A foreign NoSchedule taint: no new pod, the running one stays; NoExecute: it goes.
        assert_eq!(
            run(json!({}), &node(json!({}), t("dedicated", "NoSchedule"))),
            (false, true)
        );
        assert_eq!(
            run(json!({}), &node(json!({}), t("dedicated", "NoExecute"))),
            (false, false)
        );
        assert_eq!(
            run(
                json!({}),
                &node(json!({}), t("dedicated", "PreferNoSchedule"))
            ),
            (true, true)
        );
        let tolerant = json!({"tolerations":[{"key":"dedicated","operator":"Exists"}]});
        assert_eq!(
            run(tolerant, &node(json!({}), t("dedicated", "NoExecute"))),
            (true, true)
        );
    }

    #[test]
    fn pods_are_pinned_to_their_node_and_labelled() {
        let d = ds(
            json!({"tolerations":[{"key":"node.kubernetes.io/unschedulable",
            "operator":"Exists","effect":"NoSchedule"}],
            "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms":[{"matchExpressions":[{"key":"gpu","operator":"Exists"}]}]}}}}),
        );
        let t = daemon_template(&d, "abc");
        assert_eq!(t["spec"]["tolerations"].as_array().unwrap().len(), 6);
        assert_eq!(t["metadata"]["labels"][REVISION_LABEL], "abc");
        assert_eq!(t["metadata"]["labels"][TEMPLATE_GENERATION_LABEL], "2");
        let pod = new_pod(&d, &t, "n1");
        assert_eq!(pod["metadata"]["generateName"], "agent-");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["uid"], "ds-uid");
        assert_eq!(target_node(&pod).as_deref(), Some("n1"));
        let terms = &pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"];
        assert_eq!(terms.as_array().unwrap().len(), 1);
        let mut bound = pod.clone();
        bound["spec"]["nodeName"] = json!("n2");
        assert_eq!(target_node(&bound).as_deref(), Some("n2"));
    }
}
