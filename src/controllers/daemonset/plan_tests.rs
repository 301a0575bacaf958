//! The DaemonSet sync plan against Kubernetes' daemon controller behaviour.

use super::*;

fn ds(spec: Value) -> Value {
    json!({"metadata":{"name":"agent","namespace":"default","uid":"u","generation":1},
           "spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1}},
                   "template":{"metadata":{"labels":{"app":"a"}},"spec":spec}}})
}

fn node(name: &str, labels: Value) -> Value {
    json!({"metadata":{"name":name,"labels":labels}})
}

fn pod(name: &str, node: &str, hash: &str, ready: bool, created: &str) -> Value {
    json!({"metadata":{"name":name,"creationTimestamp":created,
             "labels":{"controller-revision-hash":hash}},
           "spec":{"nodeName":node},
           "status":{"phase":"Running","conditions":[{"type":"Ready",
             "status": if ready {"True"} else {"False"}}]}})
}

fn del(name: &str) -> Step {
    Step::Delete {
        name: name.into(),
        failed: false,
    }
}

fn run(d: &Value, nodes_: &[Value], pods: &[Value], hash: &str) -> Vec<Step> {
    let t = nodes::daemon_template(d, hash);
    plan(d, &t, nodes_, pods, hash, jiff::Timestamp::now())
}

const T1: &str = "2024-01-01T00:00:00Z";
const T2: &str = "2024-01-01T00:01:00Z";

#[test]
fn one_pod_per_matching_node() {
    let d = ds(json!({"nodeSelector":{"gpu":"true"}}));
    let nodes_ = [node("a", json!({"gpu":"true"})), node("b", json!({}))];
    assert_eq!(run(&d, &nodes_, &[], "h"), vec![Step::Create("a".into())]);
    let on_a = pod("p1", "a", "h", true, T1);
    assert_eq!(run(&d, &nodes_, std::slice::from_ref(&on_a), "h"), vec![]);
    // The label goes: the pod goes.
    let unlabelled = [node("a", json!({})), node("b", json!({}))];
    assert_eq!(run(&d, &unlabelled, &[on_a], "h"), vec![del("p1")]);
}

#[test]
fn extra_and_failed_pods_are_deleted() {
    let d = ds(json!({}));
    let nodes_ = [node("a", json!({}))];
    let two = [
        pod("new", "a", "h", true, T2),
        pod("old", "a", "h", true, T1),
    ];
    assert_eq!(run(&d, &nodes_, &two, "h"), vec![del("new")]);
    let mut f = pod("f", "a", "h", false, T1);
    f["status"]["phase"] = json!("Failed");
    assert_eq!(
        run(&d, &nodes_, &[f], "h"),
        vec![
            Step::Delete {
                name: "f".into(),
                failed: true
            },
            Step::Create("a".into())
        ]
    );
    // Not yet scheduled, for a node that is gone.
    let mut orphan = pod("o", "", "h", false, T1);
    orphan["spec"] = json!({"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
        {"nodeSelectorTerms":[{"matchFields":[{"key":"metadata.name","operator":"In","values":["gone"]}]}]}}}});
    let on_a = pod("p", "a", "h", true, T1);
    assert_eq!(run(&d, &nodes_, &[on_a, orphan], "h"), vec![del("o")]);
}

#[test]
fn rolling_update_respects_max_unavailable() {
    let mut d = ds(json!({}));
    let nodes_: Vec<Value> = ["a", "b", "c"].iter().map(|n| node(n, json!({}))).collect();
    let old: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|n| pod(&format!("p-{n}"), n, "h1", true, T1))
        .collect();
    assert_eq!(run(&d, &nodes_, &old, "h2"), vec![del("p-a")]);
    // a's new pod not ready yet: that uses the whole budget.
    let mut mid = old.clone();
    mid[0] = pod("n-a", "a", "h2", false, T2);
    assert_eq!(run(&d, &nodes_, &mid, "h2"), vec![]);
    mid[0] = pod("n-a", "a", "h2", true, T2);
    assert_eq!(run(&d, &nodes_, &mid, "h2"), vec![del("p-b")]);
    // Old pods that are not available are replaced at once; 50% of 3 rounds up to 2.
    d["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!("50%");
    assert_eq!(run(&d, &nodes_, &old, "h2"), vec![del("p-a"), del("p-b")]);
    let mut sick = old.clone();
    sick[2] = pod("p-c", "c", "h1", false, T1);
    d["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!(1);
    assert_eq!(run(&d, &nodes_, &sick, "h2"), vec![del("p-c"), del("p-a")]);
    d["spec"]["updateStrategy"] = json!({"type":"OnDelete"});
    assert_eq!(run(&d, &nodes_, &old, "h2"), vec![]);
}

#[test]
fn status_counts_nodes() {
    let d = ds(json!({"nodeSelector":{"gpu":"true"}}));
    let nodes_ = [
        node("a", json!({"gpu":"true"})),
        node("b", json!({"gpu":"true"})),
        node("c", json!({})),
    ];
    let pods = [
        pod("p-a", "a", "h", true, T1),
        pod("p-c", "c", "old", false, T1),
    ];
    let t = nodes::daemon_template(&d, "h");
    let st = status(&d, &t, &nodes_, &pods, "h", jiff::Timestamp::now());
    assert_eq!(st["desiredNumberScheduled"], 2);
    assert_eq!(st["currentNumberScheduled"], 1);
    assert_eq!(st["numberMisscheduled"], 1);
    assert_eq!(st["numberReady"], 1);
    assert_eq!(st["updatedNumberScheduled"], 1);
    assert_eq!(st["numberAvailable"], 1);
    assert_eq!(st["numberUnavailable"], 1);
    assert_eq!(st["observedGeneration"], 1);
    assert_eq!(scaled(Some(&json!("10%")), 3), 1);
    assert_eq!(scaled(Some(&json!(2)), 3), 2);
}
