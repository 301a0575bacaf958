//! podcontrol against Kubernetes' behaviour: ClaimPods on a real store, the scale-down rank
//! order, slow-start batches, availability.

use super::*;
use crate::api::kinds::lookup;
use crate::api::request::DeleteOptions;
use crate::cluster::embedded::EmbeddedCluster;
use crate::store::{Store, StoreOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

pub(crate) fn cluster() -> (tempfile::TempDir, Arc<dyn Cluster>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let cluster: Arc<dyn Cluster> = Arc::new(EmbeddedCluster::new(store, dir.path().join("logs")));
    (dir, cluster)
}

fn pod(name: &str, labels: Value) -> Value {
    json!({"apiVersion":"v1","kind":"Pod",
           "metadata":{"name":name,"namespace":"default","labels":labels},
           "spec":{"containers":[{"name":"c","image":"busybox:1"}]}})
}

fn rs(name: &str) -> Value {
    json!({"apiVersion":"apps/v1","kind":"ReplicaSet",
           "metadata":{"name":name,"namespace":"default"},
           "spec":{"replicas":1,"selector":{"matchLabels":{"app":name}},
                   "template":{"metadata":{"labels":{"app":name}},
                               "spec":{"containers":[{"name":"c","image":"busybox:1"}]}}}})
}

fn names(pods: &[Arc<Value>]) -> Vec<&str> {
    let mut v: Vec<&str> = pods.iter().map(|p| p.name()).collect();
    v.sort();
    v
}

#[test]
fn controller_of_finds_the_controller_reference_only() {
    let owner =
        json!({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"a","uid":"u1"}});
    let mut p = pod("p", json!({}));
    assert!(controller_of(&p).is_none());
    let mut other = OwnerReference::controller_of(&owner);
    other["controller"] = json!(false);
    p["metadata"]["ownerReferences"] = json!([other]);
    assert!(controller_of(&p).is_none(), "a non-controller reference");
    p["metadata"]["ownerReferences"] = json!([other, OwnerReference::controller_of(&owner)]);
    assert_eq!(controller_of(&p).unwrap().uid, "u1");
    assert!(is_controlled_by(&p, "u1"));
    assert!(!is_controlled_by(&p, "u2"));
}

#[test]
fn activity_readiness_and_availability() {
    let mut p = pod("p", json!({}));
    p["status"] = json!({"phase":"Running"});
    assert!(is_active(&p));
    for phase in ["Failed", "Succeeded"] {
        p["status"]["phase"] = json!(phase);
        assert!(!is_active(&p), "{phase}");
    }
    p["status"]["phase"] = json!("Running");
    p["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    assert!(!is_active(&p), "being deleted");

    let now: jiff::Timestamp = "2024-01-01T00:01:00Z".parse().unwrap();
    let mut p = pod("p", json!({}));
    assert!(!is_ready(&p) && !is_available(&p, 0, now));
    p["status"]["conditions"] = json!([{"type":"Ready","status":"True",
        "lastTransitionTime":"2024-01-01T00:00:30Z"}]);
    assert!(is_ready(&p));
    assert!(is_available(&p, 0, now));
    assert!(is_available(&p, 29, now));
    assert!(
        !is_available(&p, 30, now),
        "ready exactly minReadySeconds ago is not yet"
    );
    assert!(!is_available(&p, 40, now));
    assert_eq!(
        time_to_available(&p, 40, now),
        Some(std::time::Duration::from_secs(10))
    );
    assert_eq!(time_to_available(&p, 10, now), None);
    p["status"]["conditions"][0]["status"] = json!("False");
    assert!(!is_ready(&p) && !is_available(&p, 0, now));
}

#[test]
fn pod_from_template_copies_the_template_and_points_at_the_owner() {
    let owner = json!({"apiVersion":"apps/v1","kind":"ReplicaSet",
        "metadata":{"name":"web","namespace":"shop","uid":"u1"}});
    let template = json!({"metadata":{"labels":{"app":"web"},"annotations":{"a":"b"}},
        "spec":{"containers":[{"name":"c","image":"busybox:1"}]}});
    let p = pod_from_template(&owner, &template, "web-");
    assert_eq!(p["metadata"]["generateName"], "web-");
    assert!(p["metadata"].get("name").is_none());
    assert_eq!(p["metadata"]["namespace"], "shop");
    assert_eq!(p["metadata"]["labels"], json!({"app":"web"}));
    assert_eq!(p["metadata"]["annotations"], json!({"a":"b"}));
    assert_eq!(p["spec"], template["spec"]);
    assert_eq!(
        p["metadata"]["ownerReferences"],
        json!([{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"u1",
                "controller":true,"blockOwnerDeletion":true}])
    );
}

#[tokio::test]
async fn claim_adopts_orphans_releases_non_matching_and_ignores_others() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let w = WriteOptions::default();
    let owner = c.create(rs("web"), &w).await.unwrap();
    let other = c.create(rs("db"), &w).await.unwrap();
    let mine_ref = OwnerReference::controller_of(&owner);
    let other_ref = OwnerReference::controller_of(&other);

    c.create(pod("orphan", json!({"app":"web"})), &w)
        .await
        .unwrap();
    c.create(pod("stranger", json!({"app":"db"})), &w)
        .await
        .unwrap();
    let mut owned = pod("owned", json!({"app":"web"}));
    owned["metadata"]["ownerReferences"] = json!([mine_ref]);
    c.create(owned, &w).await.unwrap();
    let mut moved = pod("relabelled", json!({"app":"other"}));
    moved["metadata"]["ownerReferences"] = json!([mine_ref]);
    c.create(moved, &w).await.unwrap();
    let mut taken = pod("taken", json!({"app":"web"}));
    taken["metadata"]["ownerReferences"] = json!([other_ref]);
    c.create(taken, &w).await.unwrap();
    let mut dying = pod("dying", json!({"app":"web"}));
    dying["metadata"]["finalizers"] = json!(["test/hold"]);
    c.create(dying, &w).await.unwrap();
    let po = lookup("po").unwrap();
    c.delete(po, Some("default"), "dying", &DeleteOptions::default())
        .await
        .unwrap();

    let all = c
        .list_shared(po, Some("default"), &Default::default())
        .await
        .unwrap()
        .items;
    let sel = LabelSelector::parse("app=web").unwrap();
    let claimed = claim_pods(c, &owner, &sel, all).await.unwrap();
    assert_eq!(names(&claimed), ["orphan", "owned"]);

    let get = |n: &'static str| async move { c.get(po, Some("default"), n).await.unwrap() };
    assert!(
        is_controlled_by(&get("orphan").await, owner.uid()),
        "adopted"
    );
    let released = get("relabelled").await;
    assert!(
        released.owner_references().is_empty(),
        "released: {released}"
    );
    assert!(is_controlled_by(&get("taken").await, other.uid()));
    assert!(get("stranger").await.owner_references().is_empty());
    assert!(
        get("dying").await.owner_references().is_empty(),
        "not adopted while dying"
    );
}

#[tokio::test]
async fn an_owner_being_deleted_neither_adopts_nor_releases() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let w = WriteOptions::default();
    let mut o = rs("web");
    o["metadata"]["finalizers"] = json!(["test/hold"]);
    c.create(o, &w).await.unwrap();
    let rs_kind = lookup("rs").unwrap();
    c.delete(rs_kind, Some("default"), "web", &DeleteOptions::default())
        .await
        .unwrap();
    let owner = c.get(rs_kind, Some("default"), "web").await.unwrap();
    assert!(owner.deletion_timestamp().is_some());
    c.create(pod("orphan", json!({"app":"web"})), &w)
        .await
        .unwrap();
    let mut moved = pod("relabelled", json!({"app":"other"}));
    moved["metadata"]["ownerReferences"] = json!([OwnerReference::controller_of(&owner)]);
    c.create(moved, &w).await.unwrap();
    let po = lookup("po").unwrap();
    let all = c
        .list_shared(po, Some("default"), &Default::default())
        .await
        .unwrap()
        .items;
    let sel = LabelSelector::parse("app=web").unwrap();
    assert!(claim_pods(c, &owner, &sel, all).await.unwrap().is_empty());
    let orphan = c.get(po, Some("default"), "orphan").await.unwrap();
    assert!(orphan.owner_references().is_empty());
    let kept = c.get(po, Some("default"), "relabelled").await.unwrap();
    assert!(is_controlled_by(&kept, owner.uid()));
}

fn ranked(name: &str, node: &str, phase: &str) -> Value {
    let mut p = pod(name, json!({}));
    p["metadata"]["uid"] = json!(name);
    p["metadata"]["creationTimestamp"] = json!("2024-01-01T00:00:00Z");
    if !node.is_empty() {
        p["spec"]["nodeName"] = json!(node);
    }
    p["status"] = json!({"phase": phase});
    p
}

fn set_ready(p: &mut Value, since: &str) {
    p["status"]["conditions"] =
        json!([{"type":"Ready","status":"True","lastTransitionTime":since}]);
}

#[test]
fn rank_for_deletion_follows_kubernetes_order() {
    let now: jiff::Timestamp = "2024-01-02T00:00:00Z".parse().unwrap();
    let unscheduled = ranked("unscheduled", "", "Pending");
    let pending = ranked("pending", "n1", "Pending");
    let unknown = ranked("unknown", "n1", "Unknown");
    let mut running_not_ready = ranked("running-not-ready", "n1", "Running");
    running_not_ready["status"]["conditions"] = json!([{"type":"Ready","status":"False"}]);
    let mut cheap = ranked("ready-cheap", "n1", "Running");
    set_ready(&mut cheap, "2024-01-01T00:00:00Z");
    cheap["metadata"]["annotations"] = json!({POD_DELETION_COST: "-5"});
    let mut costly = ranked("ready-costly", "n1", "Running");
    set_ready(&mut costly, "2024-01-01T00:00:00Z");
    costly["metadata"]["annotations"] = json!({POD_DELETION_COST: "100"});
    // Ready for 1 minute vs 12 hours: far apart on a log scale.
    let mut young = ranked("ready-recently", "n1", "Running");
    set_ready(&mut young, "2024-01-01T23:59:00Z");
    let mut old = ranked("ready-long", "n1", "Running");
    set_ready(&mut old, "2024-01-01T12:00:00Z");
    // Same readiness: more restarts go first.
    let mut restarts = ranked("ready-long-restarted", "n1", "Running");
    set_ready(&mut restarts, "2024-01-01T12:00:00Z");
    restarts["status"]["containerStatuses"] = json!([{"name":"c","restartCount":3}]);

    let mut pods: Vec<Arc<Value>> = [
        old.clone(),
        costly,
        restarts,
        young,
        cheap,
        running_not_ready,
        unknown,
        pending,
        unscheduled,
    ]
    .into_iter()
    .map(Arc::new)
    .collect();
    let related = pods.clone();
    rank_for_deletion(&mut pods, &related, now);
    let order: Vec<&str> = pods.iter().map(|p| p.name()).collect();
    assert_eq!(
        order,
        [
            "unscheduled",
            "pending",
            "unknown",
            "running-not-ready",
            "ready-cheap",
            "ready-recently",
            "ready-long-restarted",
            "ready-long",
            "ready-costly",
        ]
    );
}

#[test]
fn rank_prefers_doubled_up_nodes_then_newer_pods() {
    let now: jiff::Timestamp = "2024-01-02T00:00:00Z".parse().unwrap();
    let a = ranked("alone", "n1", "Running");
    let b1 = ranked("crowded-1", "n2", "Running");
    let mut b2 = ranked("crowded-2", "n2", "Running");
    b2["metadata"]["creationTimestamp"] = json!("2024-01-01T23:59:50Z");
    let related: Vec<Arc<Value>> = [a, b1, b2].into_iter().map(Arc::new).collect();
    let mut pods = related.clone();
    rank_for_deletion(&mut pods, &related, now);
    let order: Vec<&str> = pods.iter().map(|p| p.name()).collect();
    assert_eq!(order, ["crowded-2", "crowded-1", "alone"]);
}

#[tokio::test]
async fn slow_start_batches_double_and_stop_at_the_first_error() {
    let calls = AtomicUsize::new(0);
    let (ok, err) = slow_start_batch(10, 1, |i| {
        calls.fetch_add(1, AtomicOrdering::SeqCst);
        async move {
            if i == 5 {
                Err(ApiError::internal("boom"))
            } else {
                Ok(())
            }
        }
    })
    .await;
    // Batches 1, 2, 4: the third (calls 3..7) holds the failure, so 7 calls, 6 successes.
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 7);
    assert_eq!(ok, 6);
    assert!(err.is_some());

    let calls = AtomicUsize::new(0);
    let (ok, err) = slow_start_batch(10, 1, |_| {
        calls.fetch_add(1, AtomicOrdering::SeqCst);
        async { Ok(()) }
    })
    .await;
    assert_eq!((ok, calls.load(AtomicOrdering::SeqCst)), (10, 10));
    assert!(err.is_none());
    let (ok, err) = slow_start_batch(0, 1, |_| async { Ok(()) }).await;
    assert_eq!(ok, 0);
    assert!(err.is_none());
}

#[test]
fn ranking_many_similar_pods_is_a_total_order() {
    // Ages within the same log2 bucket and equal times mixed: a comparator that is not a
    // total order makes Rust's sort panic; the key must not.
    let now: jiff::Timestamp = "2024-01-02T00:00:00Z".parse().unwrap();
    let mut pods: Vec<Arc<Value>> = (0..300)
        .map(|i| {
            let mut p = ranked(
                &format!("p{i:03}"),
                if i % 3 == 0 { "" } else { "n1" },
                "Running",
            );
            let secs = 3600 + (i * 7919) % 1800;
            let t = now - jiff::SignedDuration::from_secs(secs as i64);
            p["metadata"]["creationTimestamp"] = json!(t.to_string());
            if i % 2 == 0 {
                set_ready(
                    &mut p,
                    &(now - jiff::SignedDuration::from_secs((i % 5) as i64 * 60 + 60)).to_string(),
                );
            }
            if i % 7 == 0 {
                p["status"]["containerStatuses"] = json!([{"name":"c","restartCount": i % 4}]);
            }
            Arc::new(p)
        })
        .collect();
    let related = pods.clone();
    rank_for_deletion(&mut pods, &related, now);
    assert_eq!(pods.len(), 300);
    // Unscheduled ones (every third) come first.
    assert!(
        pods[..100]
            .iter()
            .all(|p| p.str_at("/spec/nodeName").is_none())
    );
}
