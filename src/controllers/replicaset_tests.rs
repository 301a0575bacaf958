//! The ReplicaSet / ReplicationController sync against a real store, one reconcile at a time
//! (no node agent: the tests write pod status themselves).

use super::*;
use crate::api::kinds::lookup;
use crate::api::object::OwnerReference;
use crate::api::request::{DeleteOptions, EventType, Patch, SharedWatchEvent};
use crate::controllers::podcontrol::tests::cluster;
use crate::controllers::test_support::{active, pods};
use serde_json::json;

fn rs(name: &str, replicas: i64) -> Value {
    json!({"apiVersion":"apps/v1","kind":"ReplicaSet",
           "metadata":{"name":name,"namespace":"default"},
           "spec":{"replicas":replicas,"selector":{"matchLabels":{"app":name}},
                   "template":{"metadata":{"labels":{"app":name,"tier":"web"}},
                               "spec":{"containers":[{"name":"c","image":"busybox:1"}]}}}})
}

fn key(kind: &str, name: &str) -> ObjectKey {
    ObjectKey::new(lookup(kind).unwrap(), Some("default"), name)
}

async fn set_status(c: &dyn Cluster, pod: &Value, status: Value) -> Value {
    let mut p = c
        .get(lookup("po").unwrap(), Some("default"), pod.name())
        .await
        .unwrap();
    p["status"] = status;
    c.update_status(p).await.unwrap()
}

fn running(ready: bool, since: &str) -> Value {
    json!({"phase":"Running","conditions":[
        {"type":"Ready","status": if ready {"True"} else {"False"},"lastTransitionTime":since}]})
}

async fn events(c: &dyn Cluster, reason: &str) -> Vec<String> {
    let list = c
        .list(
            lookup("events").unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap();
    list.items
        .iter()
        .filter(|e| e["reason"] == reason)
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn scale(c: &dyn Cluster, kind: &str, name: &str, n: i64) {
    c.patch(
        lookup(kind).unwrap(),
        Some("default"),
        name,
        Patch::Merge(json!({"spec":{"replicas":n}})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn creates_the_missing_pods_once() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    let owner = c
        .create(rs("web", 3), &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        ctl.reconcile(c, &key("rs", "web")).await.unwrap(),
        Action::Done
    );
    let ps = pods(c).await;
    assert_eq!(ps.len(), 3);
    for p in &ps {
        let suffix = p.name().strip_prefix("web-").unwrap();
        assert_eq!(suffix.len(), 5, "{}", p.name());
        assert!(podcontrol::is_controlled_by(p, owner.uid()));
        assert_eq!(p.label("tier"), Some("web"));
    }
    let mut created = events(c, "SuccessfulCreate").await;
    created.sort();
    let mut want: Vec<String> = ps
        .iter()
        .map(|p| format!("Created pod: {}", p.name()))
        .collect();
    want.sort();
    assert_eq!(created, want);
    // Level-triggered: a second sync sees the pods and creates none.
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    assert_eq!(pods(c).await.len(), 3);
    let status = c
        .get(lookup("rs").unwrap(), Some("default"), "web")
        .await
        .unwrap()["status"]
        .clone();
    assert_eq!(
        status,
        json!({"replicas":3,"fullyLabeledReplicas":3,"observedGeneration":1})
    );
}

#[tokio::test]
async fn status_counts_ready_and_available_pods() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    let mut o = rs("web", 3);
    o["spec"]["minReadySeconds"] = json!(3600);
    c.create(o, &WriteOptions::default()).await.unwrap();
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let ps = pods(c).await;
    set_status(c, &ps[0], running(true, "2020-01-01T00:00:00Z")).await;
    set_status(c, &ps[1], running(true, &crate::api::object::now_rfc3339())).await;
    set_status(c, &ps[2], running(false, "2020-01-01T00:00:00Z")).await;
    // A pod the template's labels no longer fully describe still counts, but not as fully
    // labelled.
    let mut p2 = c
        .get(lookup("po").unwrap(), Some("default"), ps[2].name())
        .await
        .unwrap();
    p2["metadata"]["labels"] = json!({"app":"web"});
    c.update(p2, &WriteOptions::default()).await.unwrap();
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let status = c
        .get(lookup("rs").unwrap(), Some("default"), "web")
        .await
        .unwrap()["status"]
        .clone();
    assert_eq!(
        status,
        json!({"replicas":3,"fullyLabeledReplicas":2,"readyReplicas":2,
               "availableReplicas":1,"observedGeneration":1})
    );
    // Once every pod is ready, the sync comes back when the newest one becomes available.
    set_status(c, &ps[2], running(true, "2020-01-01T00:00:00Z")).await;
    match ctl.reconcile(c, &key("rs", "web")).await.unwrap() {
        Action::RequeueAfter(d) => {
            assert!(
                d > Duration::from_secs(3590) && d <= Duration::from_secs(3601),
                "{d:?}"
            )
        }
        a => panic!("expected a requeue, got {a:?}"),
    }
}

#[tokio::test]
async fn scale_down_deletes_in_rank_order() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    c.create(rs("web", 4), &WriteOptions::default())
        .await
        .unwrap();
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let ps = pods(c).await;
    // ps[0] stays unscheduled and Pending; the others are on a node.
    for p in &ps[1..] {
        c.bind("default", p.name(), "n1").await.unwrap();
    }
    set_status(c, &ps[1], json!({"phase":"Pending"})).await;
    set_status(c, &ps[2], running(false, "2020-01-01T00:00:00Z")).await;
    set_status(c, &ps[3], running(true, "2020-01-01T00:00:00Z")).await;

    scale(c, "rs", "web", 3).await;
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let left: Vec<String> = active(c)
        .await
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    assert!(
        !left.contains(&ps[0].name().to_string()),
        "unscheduled first"
    );
    assert_eq!(left.len(), 3);

    scale(c, "rs", "web", 1).await;
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let left: Vec<String> = active(c)
        .await
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(
        left,
        [ps[3].name().to_string()],
        "the ready Running pod stays"
    );
    let mut deleted = events(c, "SuccessfulDelete").await;
    deleted.sort();
    let mut want: Vec<String> = ps[..3]
        .iter()
        .map(|p| format!("Deleted pod: {}", p.name()))
        .collect();
    want.sort();
    assert_eq!(deleted, want);
    let status = c
        .get(lookup("rs").unwrap(), Some("default"), "web")
        .await
        .unwrap()["status"]
        .clone();
    // The status of the sync that deleted reports what it saw; the next one the result.
    assert_eq!(status["replicas"], 3);
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let status = c
        .get(lookup("rs").unwrap(), Some("default"), "web")
        .await
        .unwrap()["status"]
        .clone();
    assert_eq!(status["replicas"], 1);
    assert_eq!(status["readyReplicas"], 1);
}

#[tokio::test]
async fn failed_and_deleted_pods_are_replaced() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    c.create(rs("web", 2), &WriteOptions::default())
        .await
        .unwrap();
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let ps = pods(c).await;
    // The node agent marks a pod whose shim died Failed with reason ShimDied.
    set_status(c, &ps[0], json!({"phase":"Failed","reason":"ShimDied"})).await;
    c.delete(
        lookup("po").unwrap(),
        Some("default"),
        ps[1].name(),
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let now = active(c).await;
    assert_eq!(now.len(), 2);
    assert!(
        now.iter()
            .all(|p| p.name() != ps[0].name() && p.name() != ps[1].name())
    );
    // As in Kubernetes the Failed pod is left for inspection (pod GC's job), not deleted.
    assert!(pods(c).await.iter().any(|p| p.name() == ps[0].name()));
}

#[tokio::test]
async fn adopts_orphans_instead_of_creating() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    let w = WriteOptions::default();
    let orphan = json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"stray","namespace":"default","labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"busybox:1"}]}});
    c.create(orphan, &w).await.unwrap();
    let owner = c.create(rs("web", 2), &w).await.unwrap();
    ctl.reconcile(c, &key("rs", "web")).await.unwrap();
    let ps = pods(c).await;
    assert_eq!(ps.len(), 2);
    assert!(
        ps.iter()
            .all(|p| podcontrol::is_controlled_by(p, owner.uid()))
    );
}

#[tokio::test]
async fn replication_controller_selector_defaults_from_template_labels() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    let rc = json!({"apiVersion":"v1","kind":"ReplicationController",
        "metadata":{"name":"old","namespace":"default"},
        "spec":{"replicas":2,
                "template":{"metadata":{"labels":{"app":"old"}},
                            "spec":{"containers":[{"name":"c","image":"busybox:1"}]}}}});
    let rc_kind = lookup("rc").unwrap();
    // Without API defaulting the controller falls back to the template labels itself.
    assert_eq!(
        selector_of(rc_kind, &rc).map(|s| s.to_string()),
        Some("app=old".to_string())
    );
    let stored = c.create(rc, &WriteOptions::default()).await.unwrap();
    assert_eq!(stored["spec"]["selector"], json!({"app":"old"}));
    ctl.reconcile(c, &key("rc", "old")).await.unwrap();
    let ps = pods(c).await;
    assert_eq!(ps.len(), 2);
    let r = podcontrol::controller_of(&ps[0]).unwrap();
    assert_eq!(
        (r.api_version.as_str(), r.kind.as_str()),
        ("v1", "ReplicationController")
    );
    assert!(ps[0].name().starts_with("old-"));
    // Nothing to select with: no pods, rather than every pod of the namespace.
    let bare = json!({"apiVersion":"v1","kind":"ReplicationController",
        "metadata":{"name":"bare","namespace":"default"},"spec":{"template":{}}});
    assert!(selector_of(rc_kind, &bare).is_none());
    let bad_rs = json!({"apiVersion":"apps/v1","kind":"ReplicaSet",
        "metadata":{"name":"x","namespace":"default"},"spec":{}});
    assert!(selector_of(lookup("rs").unwrap(), &bad_rs).is_none());
}

#[tokio::test]
async fn pod_events_map_to_their_owner_or_to_owners_that_may_adopt_them() {
    let ctl = ReplicaSetController::default();
    let rs_kind = lookup("rs").unwrap();
    let po = lookup("po").unwrap();
    let mut owner = rs("web", 1);
    owner["metadata"]["uid"] = json!("u1");
    let added = |o: &Value| SharedWatchEvent {
        event_type: EventType::Added,
        object: o.clone().into(),
    };
    assert_eq!(ctl.keys_for(rs_kind, &added(&owner)), [key("rs", "web")]);
    ctl.keys_for(rs_kind, &added(&rs("db", 1)));

    let mut owned = json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"p","namespace":"default","labels":{"app":"zzz"}}});
    owned["metadata"]["ownerReferences"] = json!([OwnerReference::controller_of(&owner)]);
    assert_eq!(ctl.keys_for(po, &added(&owned)), [key("rs", "web")]);

    let orphan = json!({"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"q","namespace":"default","labels":{"app":"web"}}});
    assert_eq!(ctl.keys_for(po, &added(&orphan)), [key("rs", "web")]);
    let mut elsewhere = orphan.clone();
    elsewhere["metadata"]["namespace"] = json!("other");
    assert!(ctl.keys_for(po, &added(&elsewhere)).is_empty());

    // A deleted owner no longer adopts.
    let gone = SharedWatchEvent {
        event_type: EventType::Deleted,
        object: owner.clone().into(),
    };
    ctl.keys_for(rs_kind, &gone);
    assert!(ctl.keys_for(po, &added(&orphan)).is_empty());
}

#[tokio::test]
async fn scale_down_prefers_nodes_crowded_with_sibling_replicasets() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = ReplicaSetController::default();
    let w = WriteOptions::default();
    // Two ReplicaSets of one Deployment (the owner need not exist for the ranking).
    let deploy = json!({"apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"d","namespace":"default","uid":"deploy-uid"}});
    for (name, n) in [("a", 2), ("b", 2)] {
        let mut o = rs(name, n);
        o["metadata"]["ownerReferences"] = json!([OwnerReference::controller_of(&deploy)]);
        c.create(o, &w).await.unwrap();
        ctl.reconcile(c, &key("rs", name)).await.unwrap();
    }
    let all = pods(c).await;
    let of = |p: &str| -> Vec<Value> {
        all.iter()
            .filter(|x| x.label("app") == Some(p))
            .cloned()
            .collect()
    };
    let (a, b) = (of("a"), of("b"));
    c.bind("default", a[0].name(), "n1").await.unwrap();
    c.bind("default", a[1].name(), "n2").await.unwrap();
    for p in &b {
        c.bind("default", p.name(), "n2").await.unwrap();
    }
    for p in &all {
        set_status(c, p, running(true, "2020-01-01T00:00:00Z")).await;
    }
    // Without the siblings' pods a[0] would go first (more restarts, same node count).
    let mut restarted = running(true, "2020-01-01T00:00:00Z");
    restarted["containerStatuses"] = json!([{"name":"c","restartCount":5}]);
    set_status(c, &a[0], restarted).await;
    scale(c, "rs", "a", 1).await;
    ctl.reconcile(c, &key("rs", "a")).await.unwrap();
    let left: Vec<String> = active(c)
        .await
        .iter()
        .filter(|p| p.label("app") == Some("a"))
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(
        left,
        [a[0].name().to_string()],
        "the pod on the crowded node goes"
    );
}
