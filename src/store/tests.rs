//! Store behaviour, written from the API server's semantics.

use super::*;
use crate::api::error::Reason;
use crate::api::kinds::lookup;
use crate::api::object::ObjectExt;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, Patch, Propagation, WriteOptions,
};
use serde_json::{Value, json};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.redb"), StoreOptions::default()).unwrap()
}

fn pod(name: &str, ns: &str, labels: Value) -> Value {
    json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"namespace":ns,"labels":labels},
           "spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}})
}

fn w() -> WriteOptions {
    WriteOptions::default()
}

#[test]
fn system_namespaces_exist_and_cannot_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let ns = lookup("ns").unwrap();
    for n in SYSTEM_NAMESPACES {
        let o = s.get(ns, None, n).unwrap();
        assert_eq!(o["status"]["phase"], "Active");
        let e = s
            .delete(ns, None, n, &DeleteOptions::default())
            .unwrap_err();
        assert_eq!(e.reason, Reason::Forbidden, "{n}");
    }
}

#[test]
fn create_sets_system_fields_and_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let before = s.revision();
    let p = s
        .create(pod("web", "default", json!({"app":"web"})), &w())
        .unwrap();
    assert_eq!(p.resource_version(), (before + 1).to_string());
    assert!(!p.uid().is_empty());
    assert!(p.creation_timestamp().is_some());
    assert_eq!(p.generation(), 1);
    assert_eq!(p["spec"]["restartPolicy"], "Always");
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["qosClass"], "BestEffort");
    let e = s
        .create(pod("web", "default", json!({})), &w())
        .unwrap_err();
    assert_eq!(e.reason, Reason::AlreadyExists);
    assert_eq!(e.message, "pods \"web\" already exists");
}

#[test]
fn generate_name_gets_a_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let mut p = pod("", "default", json!({}));
    p["metadata"].as_object_mut().unwrap().remove("name");
    p["metadata"]["generateName"] = json!("web-");
    let a = s.create(p.clone(), &w()).unwrap();
    let b = s.create(p, &w()).unwrap();
    assert!(
        a.name().starts_with("web-") && a.name().len() == 9,
        "{}",
        a.name()
    );
    assert_ne!(a.name(), b.name());
}

#[test]
fn missing_or_terminating_namespace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let e = s.create(pod("a", "nope", json!({})), &w()).unwrap_err();
    assert_eq!(e.message, "namespaces \"nope\" not found");
    s.create(
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}),
        &w(),
    )
    .unwrap();
    let out = s
        .delete(lookup("ns").unwrap(), None, "x", &DeleteOptions::default())
        .unwrap();
    let DeleteOutcome::Pending(ns) = out else {
        panic!("namespace must wait for its content")
    };
    assert_eq!(ns["status"]["phase"], "Terminating");
    let e = s.create(pod("a", "x", json!({})), &w()).unwrap_err();
    assert_eq!(e.reason, Reason::Forbidden);
    assert!(
        e.message.contains("because it is being terminated"),
        "{}",
        e.message
    );
}

#[test]
fn optimistic_concurrency_and_generation() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let d = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
        "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"busybox:1"}]}}}});
    let v1 = s.create(d, &w()).unwrap();
    let mut edit = (*v1).clone();
    edit["spec"]["replicas"] = json!(3);
    let v2 = s.update(edit.clone(), &w()).unwrap();
    assert_eq!(v2.generation(), 2);
    // the same stale write again: Conflict
    let e = s.update(edit, &w()).unwrap_err();
    assert_eq!(e.reason, Reason::Conflict);
    // metadata-only change keeps generation
    let mut lab = (*v2).clone();
    lab["metadata"]["labels"] = json!({"x":"y"});
    let v3 = s.update(lab, &w()).unwrap();
    assert_eq!(v3.generation(), 2);
    // status is written only through the status path
    let mut st = (*v3).clone();
    st["status"] = json!({"replicas": 3});
    st["spec"]["replicas"] = json!(9);
    let v4 = s.update_status(st).unwrap();
    assert_eq!(v4["status"]["replicas"], 3);
    assert_eq!(v4["spec"]["replicas"], 3);
    let mut spec_with_status = (*v4).clone();
    spec_with_status["status"] = json!({"replicas": 7});
    let v5 = s.update(spec_with_status, &w()).unwrap();
    assert_eq!(v5["status"]["replicas"], 3);
    // an update that changes nothing writes nothing
    let v6 = s.update((*v5).clone(), &w()).unwrap();
    assert_eq!(v6.resource_version(), v5.resource_version());
}

#[test]
fn patches_merge_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create(pod("a", "default", json!({"app":"a"})), &w())
        .unwrap();
    let po = lookup("po").unwrap();
    let p = s
        .patch(
            po,
            Some("default"),
            "a",
            &Patch::Merge(json!({"metadata":{"labels":{"app":null,"env":"dev"}}})),
            &w(),
        )
        .unwrap();
    assert_eq!(p["metadata"]["labels"], json!({"env":"dev"}));
    let p = s
        .patch(
            po,
            Some("default"),
            "a",
            &Patch::Json(json!([{"op":"add","path":"/metadata/annotations","value":{"k":"v"}}])),
            &w(),
        )
        .unwrap();
    assert_eq!(p.annotation("k"), Some("v"));
    let e = s.patch(
        po,
        Some("default"),
        "a",
        &Patch::Json(json!([{"op":"remove","path":"/nope"}])),
        &w(),
    );
    assert!(e.is_err());
    // status is not written through the main resource, as on the API server
    let p = s
        .patch(
            po,
            Some("default"),
            "a",
            &Patch::Merge(json!({"status":{"phase":"Running"}})),
            &w(),
        )
        .unwrap();
    assert_eq!(p["status"]["phase"], "Pending");
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default","finalizers":["x/y"]}});
    s.create(cm, &w()).unwrap();
    let k = lookup("cm").unwrap();
    let out = s
        .delete(k, Some("default"), "c", &DeleteOptions::default())
        .unwrap();
    let DeleteOutcome::Pending(o) = out else {
        panic!("finalizer must hold it")
    };
    assert!(o.deletion_timestamp().is_some());
    let mut cur = (*s.get(k, Some("default"), "c").unwrap()).clone();
    cur["metadata"]["finalizers"] = json!(["x/y", "x/new"]);
    assert_eq!(
        s.update(cur.clone(), &w()).unwrap_err().message,
        "ConfigMap \"c\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"x/new\"}"
    );
    cur["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("finalizers");
    s.update(cur, &w()).unwrap();
    assert!(s.get(k, Some("default"), "c").is_err());
}

#[test]
fn foreground_and_orphan_add_their_finalizers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let k = lookup("cm").unwrap();
    for (name, p, f) in [
        ("f", Propagation::Foreground, "foregroundDeletion"),
        ("o", Propagation::Orphan, "orphan"),
    ] {
        s.create(json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":"default"}}), &w()).unwrap();
        let out = s
            .delete(
                k,
                Some("default"),
                name,
                &DeleteOptions {
                    propagation: Some(p),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(out.object().finalizers(), vec![f.to_string()]);
    }
}

#[test]
fn bound_pods_wait_for_the_node_agent() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let mut p = pod("a", "default", json!({}));
    p["spec"]["nodeName"] = json!("n1");
    s.create(p, &w()).unwrap();
    let po = lookup("po").unwrap();
    let out = s
        .delete(po, Some("default"), "a", &DeleteOptions::default())
        .unwrap();
    assert!(matches!(out, DeleteOutcome::Pending(_)));
    assert_eq!(out.object()["metadata"]["deletionGracePeriodSeconds"], 30);
    // the agent confirms with grace 0
    let out = s
        .delete(
            po,
            Some("default"),
            "a",
            &DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
    // unbound pods go at once
    s.create(pod("b", "default", json!({})), &w()).unwrap();
    let out = s
        .delete(po, Some("default"), "b", &DeleteOptions::default())
        .unwrap();
    assert!(matches!(out, DeleteOutcome::Deleted(_)));
}

#[test]
fn apply_reports_created_unchanged_configured() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let docs = vec![
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}),
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"shop"},"data":{"a":"1"}}),
    ];
    let out = s
        .apply_batch(docs.clone(), BatchMode::Apply, "default", &w())
        .unwrap();
    assert!(out.iter().all(|o| matches!(o, ApplyOutcome::Created(_))));
    let rv = out[1].object().resource_version().to_string();
    let out = s
        .apply_batch(docs.clone(), BatchMode::Apply, "default", &w())
        .unwrap();
    assert!(
        out.iter().all(|o| matches!(o, ApplyOutcome::Unchanged(_))),
        "{out:?}"
    );
    assert_eq!(out[1].object().resource_version(), rv);
    let mut changed = docs.clone();
    changed[1]["data"]["a"] = json!("2");
    let before = s.revision();
    let out = s
        .apply_batch(changed, BatchMode::Apply, "default", &w())
        .unwrap();
    assert!(matches!(out[0], ApplyOutcome::Unchanged(_)));
    assert!(matches!(out[1], ApplyOutcome::Configured(_)));
    assert_eq!(s.revision(), before + 1);
}

#[test]
fn a_failing_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let before = s.revision();
    let docs = vec![
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"ok","namespace":"default"}}),
        json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bad","namespace":"missing"}}),
    ];
    assert!(
        s.apply_batch(docs, BatchMode::Apply, "default", &w())
            .is_err()
    );
    assert_eq!(s.revision(), before);
    assert!(s.get(lookup("cm").unwrap(), Some("default"), "ok").is_err());
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let before = s.revision();
    let o = s
        .create(
            pod("d", "default", json!({})),
            &WriteOptions {
                dry_run: true,
                ..w()
            },
        )
        .unwrap();
    assert_eq!(o.name(), "d");
    assert_eq!(s.revision(), before);
}

#[tokio::test]
async fn watch_resumes_from_a_revision_after_reopen_and_expires_when_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let po = lookup("po").unwrap();
    let start;
    {
        let s = Store::open(
            &path,
            StoreOptions {
                log_retention: 5,
                ..Default::default()
            },
        )
        .unwrap();
        start = s.revision();
        s.create(pod("a", "default", json!({})), &w()).unwrap();
        s.create(pod("b", "default", json!({})), &w()).unwrap();
    }
    let s = Store::open(
        &path,
        StoreOptions {
            log_retention: 5,
            ..Default::default()
        },
    )
    .unwrap();
    let mut w0 = s.watch(po, None, Some(start)).unwrap();
    let Initial::Replay(events) = &w0.initial else {
        panic!("expected replay")
    };
    assert_eq!(
        events
            .iter()
            .map(|e| e.object.name().to_string())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    s.delete(po, Some("default"), "a", &DeleteOptions::default())
        .unwrap();
    let live = w0.receiver.rx.recv().await.unwrap();
    assert_eq!(live.event_type, crate::api::request::EventType::Deleted);
    for i in 0..10 {
        s.create(pod(&format!("p{i}"), "default", json!({})), &w())
            .unwrap();
    }
    let e = s.watch(po, None, Some(start)).err().unwrap();
    assert_eq!(e.reason, Reason::Expired);
}

#[test]
fn list_filters_by_namespace_and_predicate() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create(
        json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}),
        &w(),
    )
    .unwrap();
    s.create(pod("a", "default", json!({"env":"prod"})), &w())
        .unwrap();
    s.create(pod("b", "x", json!({"env":"dev"})), &w()).unwrap();
    let po = lookup("po").unwrap();
    assert_eq!(s.list(po, None, |_| true).0.len(), 2);
    assert_eq!(s.list(po, Some("x"), |_| true).0.len(), 1);
    assert_eq!(
        s.list(po, None, |o| o.label("env") == Some("prod")).0.len(),
        1
    );
    // cluster-scoped kinds ignore the namespace
    assert_eq!(
        s.list(lookup("ns").unwrap(), Some("x"), |_| true).0.len(),
        5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_writes_become_durable_and_watched_without_blocking_a_thread() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(&dir));
    let po = lookup("po").unwrap();
    let mut watch = s.watch(po, None, None).unwrap();
    // Many writers at once, as a controller's burst of creations: each commits, records
    // the revision it needs on disk, and waits for it asynchronously.
    let writers = (0..50).map(|i| {
        let s = s.clone();
        tokio::spawn(async move {
            let (created, revision) = tokio::task::spawn_blocking(move || {
                s.deferring_durability(|st| {
                    st.create(pod(&format!("p{i}"), "default", json!({})), &w())
                })
            })
            .await
            .unwrap();
            let created = created.unwrap();
            let revision = revision.expect("a write records its revision");
            assert_eq!(created.resource_version(), revision.to_string());
            revision
        })
    });
    let mut revisions = Vec::new();
    for h in writers {
        revisions.push(h.await.unwrap());
    }
    for r in &revisions {
        s.wait_durable_async(*r).await.unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 50 {
        let c = tokio::time::timeout(std::time::Duration::from_secs(5), watch.receiver.rx.recv())
            .await
            .expect("every durable change is watched")
            .unwrap();
        seen.insert(c.revision);
    }
    assert_eq!(seen, revisions.iter().copied().collect());
    // Nothing written: nothing to wait for.
    let (got, revision) = s.deferring_durability(|st| st.get(po, Some("default"), "p0"));
    assert!(got.is_ok());
    assert_eq!(revision, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_write_whose_writer_stops_waiting_still_reaches_watchers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(&dir));
    let po = lookup("po").unwrap();
    let mut watch = s.watch(po, None, None).unwrap();
    let store = s.clone();
    // The writer never calls wait_durable_async (its request was cancelled).
    tokio::task::spawn_blocking(move || {
        store.deferring_durability(|st| st.create(pod("lone", "default", json!({})), &w()))
    })
    .await
    .unwrap()
    .0
    .unwrap();
    let c = tokio::time::timeout(std::time::Duration::from_secs(5), watch.receiver.rx.recv())
        .await
        .expect("published without anyone waiting")
        .unwrap();
    assert_eq!(c.object.name(), "lone");
}
