//! The embedded cluster's watch semantics: selector transitions and slow watchers.

use crate::api::error::Reason;
use crate::api::kinds::lookup;
use crate::api::request::{EventType, ListOptions, Patch, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::embedded::EmbeddedCluster;
use crate::store::{Store, StoreOptions};
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn cluster(dir: &tempfile::TempDir, queue: usize) -> EmbeddedCluster {
    let opts = StoreOptions {
        watch_queue: queue,
        ..Default::default()
    };
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), opts).unwrap());
    EmbeddedCluster::new(store, dir.path().join("logs"))
}

fn cm(name: &str, env: &str) -> Value {
    json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"namespace":"default","labels":{"env":env}}})
}

#[tokio::test]
async fn a_filtered_watch_sees_objects_enter_and_leave_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(&dir, 100);
    let k = lookup("cm").unwrap();
    let w = WriteOptions::default();
    c.create(cm("a", "dev"), &w).await.unwrap();
    let opts = ListOptions {
        label_selector: Some("env=prod".into()),
        ..Default::default()
    };
    let mut s = c.watch(k, Some("default"), &opts).await.unwrap();
    let relabel = |env: &str| Patch::Merge(json!({"metadata":{"labels":{"env":env}}}));
    c.patch(k, Some("default"), "a", relabel("prod"), &w)
        .await
        .unwrap();
    c.patch(k, Some("default"), "a", relabel("dev"), &w)
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let ev = tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        got.push(ev.event_type);
    }
    assert_eq!(got, vec![EventType::Added, EventType::Deleted]);
}

#[tokio::test]
async fn a_watcher_that_falls_behind_is_told_to_relist() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(&dir, 4);
    let k = lookup("cm").unwrap();
    let mut s = c
        .watch(
            k,
            None,
            &ListOptions {
                resource_version: Some(c.store().revision().to_string()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for i in 0..10 {
        c.create(cm(&format!("c{i}"), "dev"), &WriteOptions::default())
            .await
            .unwrap();
    }
    let mut events = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .unwrap()
        {
            Some(Ok(_)) => events += 1,
            Some(Err(e)) => {
                assert_eq!(e.reason, Reason::Expired, "{e}");
                break;
            }
            None => panic!("stream ended without an error after {events} events"),
        }
    }
    assert!(events <= 4, "{events}");
    // writers were never blocked, and the store dropped the watcher
    assert_eq!(c.store().watcher_count(), 0);
}

#[tokio::test]
async fn binding_sets_the_node_once_and_events_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let c = cluster(&dir, 100);
    let pod = json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},
        "spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}});
    c.create(pod, &WriteOptions::default()).await.unwrap();
    let bound = c.bind("default", "p", "n1").await.unwrap();
    assert_eq!(bound["spec"]["nodeName"], "n1");
    let cond = &bound["status"]["conditions"][0];
    assert_eq!(
        (cond["type"].as_str(), cond["status"].as_str()),
        (Some("PodScheduled"), Some("True"))
    );
    assert_eq!(
        c.bind("default", "p", "n1").await.unwrap()["metadata"]["resourceVersion"],
        bound["metadata"]["resourceVersion"]
    );
    assert_eq!(
        c.bind("default", "p", "n2").await.unwrap_err().reason,
        Reason::Conflict
    );

    use crate::cluster::events::{EventKind, Source, record};
    let src = Source {
        component: "test".into(),
        host: "h".into(),
    };
    record(&c, &src, &bound, EventKind::Warning, "BackOff", "again")
        .await
        .unwrap();
    let ev = record(&c, &src, &bound, EventKind::Warning, "BackOff", "again")
        .await
        .unwrap();
    assert_eq!(ev["count"], 2);
    assert_eq!(ev["involvedObject"]["name"], "p");
    let all = c
        .list(
            lookup("ev").unwrap(),
            Some("default"),
            &ListOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 1);
}
