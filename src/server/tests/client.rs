//! Every `Cluster` call through `RemoteCluster` → socket → server → the fake, and back.

use super::{Harness, pod};
use crate::api::error::{ApiError, FieldError, Reason};
use crate::api::kinds::lookup;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, EventType, FieldValidation, ListOptions,
    LogOptions, Patch, Propagation, WatchEvent, WriteOptions,
};
use crate::cluster::Cluster;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use std::time::Duration;

const STRICT: WriteOptions = WriteOptions {
    dry_run: false,
    field_validation: FieldValidation::Strict,
};

fn names(items: &[serde_json::Value]) -> Vec<&str> {
    items
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect()
}

#[tokio::test]
async fn create_get_list_pass_everything_through() {
    let h = Harness::start().await;
    let pods = lookup("pods").unwrap();
    let created = h
        .client
        .create(pod("team", "web", "web"), &STRICT)
        .await
        .unwrap();
    assert_eq!(created["metadata"]["uid"], "uid-web");
    assert_eq!(h.fake.calls().write, Some(STRICT));
    assert_eq!(
        h.client.get(pods, Some("team"), "web").await.unwrap(),
        created
    );

    h.client
        .create(pod("team", "db", "db"), &STRICT)
        .await
        .unwrap();
    h.client
        .create(pod("other", "web", "web"), &STRICT)
        .await
        .unwrap();

    // Selectors with characters that need escaping arrive exactly as written.
    let opts = ListOptions {
        label_selector: Some("app=web".into()),
        field_selector: Some("status.phase!=Running,metadata.name in (web, x)".into()),
        resource_version: None,
    };
    let list = h.client.list(pods, Some("team"), &opts).await.unwrap();
    assert_eq!(names(&list.items), ["web"]);
    assert_eq!(list.resource_version, 4);
    assert_eq!(h.fake.calls().list, Some((Some("team".into()), opts)));
    // List items carry kind and apiVersion even though the store left them out.
    assert_eq!(
        (
            list.items[0]["kind"].as_str(),
            list.items[0]["apiVersion"].as_str()
        ),
        (Some("Pod"), Some("v1"))
    );

    let all = h
        .client
        .list(pods, None, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(names(&all.items), ["web", "db", "web"]);
    assert_eq!(h.fake.calls().list, Some((None, ListOptions::default())));

    // Dry run reaches the cluster and nothing is stored.
    let dry = WriteOptions {
        dry_run: true,
        field_validation: FieldValidation::Warn,
    };
    h.client
        .create(pod("team", "ghost", "x"), &dry)
        .await
        .unwrap();
    assert_eq!(h.fake.calls().write, Some(dry));
    assert!(h.fake.stored("pods", Some("team"), "ghost").is_none());
}

#[tokio::test]
async fn update_status_patch_delete_round_trips() {
    let h = Harness::start().await;
    let pods = lookup("pods").unwrap();
    let created = h
        .client
        .create(pod("team", "web", "web"), &STRICT)
        .await
        .unwrap();

    let mut changed = created.clone();
    changed["spec"]["containers"][0]["image"] = json!("nginx");
    let ignore = WriteOptions {
        dry_run: false,
        field_validation: FieldValidation::Ignore,
    };
    let updated = h.client.update(changed, &ignore).await.unwrap();
    assert_eq!(updated["spec"]["containers"][0]["image"], "nginx");
    assert_eq!(h.fake.calls().write, Some(ignore));

    // A stale resourceVersion is a conflict, worded as the API server does.
    let e = h.client.update(created.clone(), &STRICT).await.unwrap_err();
    assert_eq!(e.reason, Reason::Conflict);
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on pods \"web\": the object has been modified; \
         please apply your changes to the latest version and try again"
    );

    let mut status = updated.clone();
    status["spec"] = json!({});
    status["status"] = json!({"phase": "Running"});
    let after = h.client.update_status(status).await.unwrap();
    assert_eq!(after["status"]["phase"], "Running");
    assert_eq!(after["spec"]["containers"][0]["image"], "nginx");

    let merge = Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}}));
    let patched = h
        .client
        .patch(pods, Some("team"), "web", merge.clone(), &STRICT)
        .await
        .unwrap();
    assert_eq!(
        patched["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );
    assert_eq!(h.fake.calls().patch, Some(merge));
    let ops = Patch::Json(json!([{"op": "add", "path": "/metadata/labels/x", "value": "y"}]));
    h.client
        .patch(pods, Some("team"), "web", ops.clone(), &STRICT)
        .await
        .unwrap();
    assert_eq!(h.fake.calls().patch, Some(ops));

    let opts = DeleteOptions {
        grace_period_seconds: Some(0),
        propagation: Some(Propagation::Foreground),
        precondition_uid: Some("uid-web".into()),
        precondition_resource_version: Some("7".into()),
        dry_run: false,
    };
    match h
        .client
        .delete(pods, Some("team"), "web", &opts)
        .await
        .unwrap()
    {
        DeleteOutcome::Deleted(o) => assert_eq!(o["metadata"]["name"], "web"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.fake.calls().delete, Some(opts));
    let e = h.client.get(pods, Some("team"), "web").await.unwrap_err();
    assert_eq!(e, ApiError::not_found("pods", "web"));

    // An object with finalizers is only marked.
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team"}});
    cm["metadata"]["finalizers"] = json!(["example.com/hold"]);
    h.client.create(cm, &STRICT).await.unwrap();
    match h
        .client
        .delete(
            lookup("cm").unwrap(),
            Some("team"),
            "c",
            &DeleteOptions::default(),
        )
        .await
        .unwrap()
    {
        DeleteOutcome::Pending(o) => assert!(o["metadata"]["deletionTimestamp"].is_string()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn errors_keep_reason_message_and_causes() {
    let h = Harness::start().await;
    let e = h
        .client
        .create(pod("team", "invalid", "x"), &STRICT)
        .await
        .unwrap_err();
    let want = ApiError::invalid(
        "Pod",
        "invalid",
        vec![
            FieldError::required("spec.containers"),
            FieldError::required("spec.containers[0].image"),
        ],
    );
    assert_eq!(e, want);

    h.client
        .create(pod("team", "web", "web"), &STRICT)
        .await
        .unwrap();
    let e = h
        .client
        .create(pod("team", "web", "web"), &STRICT)
        .await
        .unwrap_err();
    assert_eq!(e, ApiError::already_exists("pods", "web"));

    let e = h
        .client
        .get(lookup("deploy").unwrap(), Some("team"), "api")
        .await
        .unwrap_err();
    assert_eq!(e.message, "deployments.apps \"api\" not found");
    assert_eq!(e.reason, Reason::NotFound);

    // Cluster-scoped objects use the path without a namespace.
    let e = h
        .client
        .get(lookup("nodes").unwrap(), None, "n1")
        .await
        .unwrap_err();
    assert_eq!(e, ApiError::not_found("nodes", "n1"));
    h.client
        .create(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
            &STRICT,
        )
        .await
        .unwrap();
    let n = h
        .client
        .get(lookup("nodes").unwrap(), None, "n1")
        .await
        .unwrap();
    assert_eq!(n["metadata"]["name"], "n1");
}

async fn next(
    w: &mut crate::cluster::WatchStream,
) -> Option<crate::api::error::ApiResult<WatchEvent>> {
    tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .expect("watch event did not arrive")
}

#[tokio::test]
async fn watch_delivers_events_in_order_and_ends_on_error() {
    let h = Harness::start().await;
    let pods = lookup("pods").unwrap();
    h.client
        .create(pod("team", "a", "a"), &STRICT)
        .await
        .unwrap();
    let mut w = h
        .client
        .watch(pods, Some("team"), &ListOptions::default())
        .await
        .unwrap();

    let first = next(&mut w).await.unwrap().unwrap();
    assert_eq!(first.event_type, EventType::Added);
    assert_eq!(first.object["metadata"]["name"], "a");
    // The fake's initial objects lack type meta; the server adds it to watched objects too.
    assert_eq!(first.object["kind"], "Pod");

    h.client
        .create(pod("team", "b", "b"), &STRICT)
        .await
        .unwrap();
    h.client
        .create(pod("elsewhere", "c", "c"), &STRICT)
        .await
        .unwrap();
    let b = h.client.get(pods, Some("team"), "b").await.unwrap();
    h.client.update(b, &STRICT).await.unwrap();
    h.client
        .delete(pods, Some("team"), "a", &DeleteOptions::default())
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ev = next(&mut w).await.unwrap().unwrap();
        seen.push((
            ev.event_type,
            ev.object["metadata"]["name"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(
        seen,
        [
            (EventType::Added, "b".into()),
            (EventType::Modified, "b".into()),
            (EventType::Deleted, "a".into())
        ]
    );

    let expired = ApiError::expired("too old resource version: 5 (9)");
    h.fake.events.send(Err(expired.clone())).unwrap();
    assert_eq!(next(&mut w).await.unwrap().unwrap_err(), expired);
    assert!(next(&mut w).await.is_none());
}

#[tokio::test]
async fn watch_options_errors_and_client_going_away() {
    let h = Harness::start().await;
    let pods = lookup("pods").unwrap();

    // An error before streaming answers with its Status.
    let old = ListOptions {
        resource_version: Some("1".into()),
        ..Default::default()
    };
    let e = h.client.watch(pods, None, &old).await.err().unwrap();
    assert_eq!(e.reason, Reason::Expired);
    assert_eq!(e.message, "too old resource version: 1 (2)");

    // From a revision: no initial events, and the call returns before any event exists.
    let opts = ListOptions {
        label_selector: Some("app in (a,b)".into()),
        field_selector: Some("metadata.name=x".into()),
        resource_version: Some("5".into()),
    };
    let w = tokio::time::timeout(Duration::from_secs(5), h.client.watch(pods, None, &opts))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.fake.calls().watch, Some((None, opts)));
    assert_eq!(h.fake.events.receiver_count(), 1);

    // Dropping the stream closes the connection; the server drops the cluster's stream.
    drop(w);
    for _ in 0..200 {
        if h.fake.events.receiver_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server kept the watch open after the client left");
}

async fn collect_logs(mut s: crate::cluster::LogStream) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
    {
        out.push(String::from_utf8(chunk.unwrap().to_vec()).unwrap());
    }
    out
}

#[tokio::test]
async fn logs_stream_whole_lines() {
    let h = Harness::start().await;
    h.client
        .create(pod("team", "web", "web"), &STRICT)
        .await
        .unwrap();
    let opts = LogOptions {
        container: Some("c".into()),
        follow: false,
        previous: true,
        timestamps: true,
        tail_lines: Some(10),
        since_seconds: Some(60),
        since_time: Some("2024-05-01T12:00:00Z".into()),
        limit_bytes: Some(100),
    };
    let chunks = collect_logs(h.client.logs("team", "web", &opts).await.unwrap()).await;
    assert_eq!(chunks.concat(), "one\ntwo\nthree\n");
    assert!(chunks.iter().all(|c| c.ends_with('\n')), "{chunks:?}");
    assert_eq!(
        h.fake.calls().logs,
        Some(("team".into(), "web".into(), opts))
    );

    let e = h
        .client
        .logs("team", "nope", &LogOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(e, ApiError::not_found("pods", "nope"));

    // Follow: lines written later arrive while the stream stays open.
    let follow = LogOptions {
        follow: true,
        ..Default::default()
    };
    let mut s = h.client.logs("team", "web", &follow).await.unwrap();
    let mut got = String::new();
    while got != "one\ntwo\nthree\n" {
        let chunk = tokio::time::timeout(Duration::from_secs(5), s.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        got.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    h.fake
        .log_lines
        .send(Bytes::from_static(b"four\n"))
        .unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(chunk, Bytes::from_static(b"four\n"));
}

#[tokio::test]
async fn batch_applies_all_or_nothing() {
    let h = Harness::start().await;
    let mut a = pod("", "a", "a");
    a["metadata"].as_object_mut().unwrap().remove("namespace");
    let b = pod("team", "b", "b");
    let out = h
        .client
        .apply_batch(
            vec![a.clone(), b.clone()],
            BatchMode::Apply,
            "team",
            &STRICT,
        )
        .await
        .unwrap();
    let verbs: Vec<&str> = out.iter().map(ApplyOutcome::verb).collect();
    assert_eq!(verbs, ["created", "created"]);
    assert_eq!(out[0].object()["metadata"]["namespace"], "team");
    assert_eq!(
        h.fake.calls().batch,
        Some((BatchMode::Apply, "team".into()))
    );

    let mut b2 = b.clone();
    b2["spec"]["containers"][0]["image"] = json!("nginx");
    let out = h
        .client
        .apply_batch(vec![a.clone(), b2], BatchMode::Apply, "team", &STRICT)
        .await
        .unwrap();
    let verbs: Vec<&str> = out.iter().map(ApplyOutcome::verb).collect();
    assert_eq!(verbs, ["unchanged", "configured"]);

    let c = pod("team", "c", "c");
    let e = h
        .client
        .apply_batch(vec![c, b], BatchMode::Create, "team", &STRICT)
        .await
        .unwrap_err();
    assert_eq!(e, ApiError::already_exists("pods", "b"));
    assert!(h.fake.stored("pods", Some("team"), "c").is_none());
    assert_eq!(
        h.fake.calls().batch,
        Some((BatchMode::Create, "team".into()))
    );
}

#[tokio::test]
async fn many_requests_share_connections() {
    let h = Harness::start().await;
    let pods = lookup("pods").unwrap();
    h.client
        .create(pod("team", "web", "web"), &STRICT)
        .await
        .unwrap();
    // Sequential and concurrent calls both work over the pooled keep-alive connections.
    for _ in 0..50 {
        h.client.get(pods, Some("team"), "web").await.unwrap();
    }
    // One connection carried all of them.
    assert_eq!(h.client.idle_connections(), 1);
    let calls = (0..20).map(|_| h.client.get(pods, Some("team"), "web"));
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    // Concurrent calls open more connections; only a few are kept.
    assert!((1..=4).contains(&h.client.idle_connections()));
}
