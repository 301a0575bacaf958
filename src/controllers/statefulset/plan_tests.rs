//! The StatefulSet sync plan against Kubernetes' stateful_set_control.go behaviour.

use super::*;

fn set(replicas: i64, policy: &str) -> Value {
    json!({"metadata":{"name":"web","namespace":"default","uid":"u","generation":3},
           "spec":{"replicas":replicas,"podManagementPolicy":policy,
                   "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0}},
                   "template":{"metadata":{"labels":{"app":"web"}}}}})
}

fn pod(ord: i64, phase: &str, ready: bool, rev: &str) -> Value {
    json!({"metadata":{"name":format!("web-{ord}"),"labels":{"controller-revision-hash":rev}},
           "status":{"phase":phase,"conditions":[{"type":"Ready",
             "status": if ready {"True"} else {"False"}}]}})
}

fn deleting(mut p: Value) -> Value {
    p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    p
}

fn del(ord: i64, condemned: bool) -> Step {
    Step::Delete {
        name: format!("web-{ord}"),
        condemned,
    }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[test]
fn ordered_ready_creates_one_at_a_time_waiting_for_ready() {
    let s = set(3, "OrderedReady");
    assert_eq!(plan(&s, &[], "r1", now()), vec![Step::Create(0)]);
    // web-0 exists but is not Running and Ready: nothing more.
    let p0 = pod(0, "Pending", false, "r1");
    assert_eq!(plan(&s, &[p0], "r1", now()), vec![]);
    let p0 = pod(0, "Running", false, "r1");
    assert_eq!(plan(&s, &[p0], "r1", now()), vec![]);
    let p0 = pod(0, "Running", true, "r1");
    assert_eq!(
        plan(&s, std::slice::from_ref(&p0), "r1", now()),
        vec![Step::Create(1)]
    );
    // A gap below is filled first.
    let p2 = pod(2, "Running", true, "r1");
    assert_eq!(plan(&s, &[p2], "r1", now()), vec![Step::Create(0)]);
}

#[test]
fn parallel_creates_and_deletes_everything_at_once() {
    let s = set(3, "Parallel");
    assert_eq!(
        plan(&s, &[], "r1", now()),
        vec![Step::Create(0), Step::Create(1), Step::Create(2)]
    );
    let s = set(1, "Parallel");
    let pods: Vec<Value> = (0..4).map(|i| pod(i, "Pending", false, "r1")).collect();
    assert_eq!(
        plan(&s, &pods, "r1", now()),
        vec![del(3, true), del(2, true), del(1, true)]
    );
}

#[test]
fn ordered_scale_down_goes_from_the_highest_ordinal_one_at_a_time() {
    let s = set(1, "OrderedReady");
    let pods: Vec<Value> = (0..3).map(|i| pod(i, "Running", true, "r1")).collect();
    assert_eq!(plan(&s, &pods, "r1", now()), vec![del(2, true)]);
    // web-2 terminating: web-1 waits for it to be gone.
    let mut pods2 = pods.clone();
    pods2[2] = deleting(pods2[2].clone());
    assert_eq!(plan(&s, &pods2, "r1", now()), vec![]);
    assert_eq!(plan(&s, &pods[..2], "r1", now()), vec![del(1, true)]);
    // An unhealthy replica blocks scale-down; an unhealthy condemned pod that is the first
    // unhealthy one does not.
    let mut sick = pods.clone();
    sick[0] = pod(0, "Running", false, "r1");
    assert_eq!(plan(&s, &sick, "r1", now()), vec![]);
    let mut sick_top = pods.clone();
    sick_top[2] = pod(2, "Running", false, "r1");
    assert_eq!(plan(&s, &sick_top, "r1", now()), vec![del(2, true)]);
    // A healthy condemned pod goes even when a lower condemned one is unhealthy (Kubernetes
    // only holds back unhealthy condemned pods that are not the first unhealthy one).
    let mut sick_mid = pods;
    sick_mid[1] = pod(1, "Running", false, "r1");
    assert_eq!(plan(&s, &sick_mid, "r1", now()), vec![del(2, true)]);
    assert_eq!(plan(&s, &sick_mid[..2], "r1", now()), vec![del(1, true)]);
}

#[test]
fn failed_pods_are_deleted_and_recreated_later() {
    let s = set(2, "OrderedReady");
    let pods = vec![pod(0, "Failed", false, "r1"), pod(1, "Running", true, "r1")];
    assert_eq!(plan(&s, &pods, "r1", now()), vec![del(0, false)]);
    let pods = vec![deleting(pod(0, "Failed", false, "r1"))];
    assert_eq!(plan(&s, &pods, "r1", now()), vec![]);
}

#[test]
fn rolling_update_goes_down_from_the_top_to_the_partition() {
    let mut s = set(3, "OrderedReady");
    let old: Vec<Value> = (0..3).map(|i| pod(i, "Running", true, "r1")).collect();
    assert_eq!(plan(&s, &old, "r2", now()), vec![del(2, false)]);
    // web-2 updated but not ready yet: wait.
    let mut pods = old.clone();
    pods[2] = pod(2, "Running", false, "r2");
    assert_eq!(plan(&s, &pods, "r2", now()), vec![]);
    pods[2] = pod(2, "Running", true, "r2");
    assert_eq!(plan(&s, &pods, "r2", now()), vec![del(1, false)]);
    // partition 2: only web-2 is updated.
    s["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
    assert_eq!(plan(&s, &pods, "r2", now()), vec![]);
    assert_eq!(plan(&s, &old, "r2", now()), vec![del(2, false)]);
    // OnDelete: never.
    s["spec"]["updateStrategy"] = json!({"type":"OnDelete"});
    assert_eq!(plan(&s, &old, "r2", now()), vec![]);
}

#[test]
fn other_sets_pods_and_start_ordinal() {
    let mut s = set(2, "OrderedReady");
    s["spec"]["ordinals"] = json!({"start": 5});
    let other = json!({"metadata":{"name":"webby-0"},"status":{"phase":"Running"}});
    assert_eq!(plan(&s, &[other], "r1", now()), vec![Step::Create(5)]);
    let p5 = pod(5, "Running", true, "r1");
    let p0 = pod(0, "Running", true, "r1");
    assert_eq!(plan(&s, &[p5, p0], "r1", now()), vec![Step::Create(6)]);
}

#[test]
fn status_counts_and_completes_the_rolling_update() {
    let s = set(3, "OrderedReady");
    let pods = vec![
        pod(0, "Running", true, "r1"),
        pod(1, "Running", true, "r2"),
        deleting(pod(2, "Running", false, "r1")),
    ];
    let st = status(&s, &pods, "r1", "r2", now());
    assert_eq!(st["replicas"], 3);
    assert_eq!(st["readyReplicas"], 2);
    assert_eq!(st["availableReplicas"], 2);
    assert_eq!(st["currentReplicas"], 1);
    assert_eq!(st["updatedReplicas"], 1);
    assert_eq!(st["currentRevision"], "r1");
    assert_eq!(st["updateRevision"], "r2");
    assert_eq!(st["observedGeneration"], 3);
    let done: Vec<Value> = (0..3).map(|i| pod(i, "Running", true, "r2")).collect();
    let st = status(&s, &done, "r1", "r2", now());
    assert_eq!(st["currentRevision"], "r2");
    assert_eq!(st["currentReplicas"], 3);
}
