//! The wire format as kubectl sees it: hand-written HTTP requests, JSON answers.

use super::{Harness, pod, raw, raw_json};
use crate::api::request::{FieldValidation, WriteOptions};
use crate::cluster::Cluster;
use serde_json::json;

const CM_BODY: &str = r#"{"metadata":{"name":"a"},"data":{"k":"v"}}"#;

#[tokio::test]
async fn list_json_shape_and_not_found_status() {
    let h = Harness::start().await;
    let s = &h.socket;
    h.client
        .create(pod("team", "web", "web"), &WriteOptions::default())
        .await
        .unwrap();

    let (code, head, body) = raw(s, "GET", "/api/v1/namespaces/team/pods", None, "").await;
    assert_eq!(code, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["metadata"], json!({"resourceVersion": "2"}));
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["kind"], "Pod");
    assert_eq!(list["items"][0]["apiVersion"], "v1");
    assert_eq!(list["items"][0]["metadata"]["name"], "web");

    let (code, list) = raw_json(s, "GET", "/apis/apps/v1/deployments", None, "").await;
    assert_eq!(code, 200);
    assert_eq!(
        (list["kind"].as_str(), list["apiVersion"].as_str()),
        (Some("DeploymentList"), Some("apps/v1"))
    );
    assert_eq!(list["items"], json!([]));

    let (code, status) = raw_json(s, "GET", "/api/v1/widgets", None, "").await;
    assert_eq!(code, 404);
    assert_eq!(
        status,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404,
        })
    );
    // An object that does not exist: the cluster's own NotFound, with details.
    let (code, status) = raw_json(s, "GET", "/api/v1/namespaces/team/pods/nope", None, "").await;
    assert_eq!(code, 404);
    assert_eq!(status["message"], "pods \"nope\" not found");
    assert_eq!(status["details"], json!({"name": "nope", "kind": "pods"}));
}

#[tokio::test]
async fn bodies_are_fitted_to_the_url() {
    let h = Harness::start().await;
    let s = &h.socket;
    // No kind, apiVersion or namespace in the body: the URL supplies them.
    let (code, obj) = raw_json(
        s,
        "POST",
        "/api/v1/namespaces/team/configmaps",
        Some("application/json"),
        CM_BODY,
    )
    .await;
    assert_eq!(code, 201, "{obj}");
    let stored = h.fake.stored("cm", Some("team"), "a").unwrap();
    assert_eq!(
        (stored["kind"].as_str(), stored["apiVersion"].as_str()),
        (Some("ConfigMap"), Some("v1"))
    );
    assert_eq!(stored["metadata"]["namespace"], "team");
    // Without fieldValidation the API server's default applies: warn, not fail.
    assert_eq!(
        h.fake.calls().write,
        Some(WriteOptions {
            dry_run: false,
            field_validation: FieldValidation::Warn
        })
    );

    let other = r#"{"metadata":{"name":"b","namespace":"other"}}"#;
    let (code, st) = raw_json(s, "POST", "/api/v1/namespaces/team/configmaps", None, other).await;
    assert_eq!(code, 400);
    assert_eq!(st["reason"], "BadRequest");
    assert_eq!(
        st["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );

    let (code, st) = raw_json(
        s,
        "PUT",
        "/api/v1/namespaces/team/configmaps/b",
        None,
        CM_BODY,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "the name of the object (a) does not match the name on the URL (b)"
    );

    let (code, st) = raw_json(
        s,
        "POST",
        "/api/v1/namespaces/team/configmaps",
        None,
        r#"{"metadata": "#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .starts_with("request body is not valid JSON: "),
        "{st}"
    );

    let (code, st) = raw_json(
        s,
        "POST",
        "/api/v1/namespaces/team/pods?dryRun=maybe",
        None,
        "{}",
    )
    .await;
    assert_eq!(code, 400, "{st}");

    let body = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}"#;
    let (code, st) = raw_json(s, "POST", "/api/v1/namespaces/team/pods", None, body).await;
    assert_eq!(code, 400);
    assert_eq!(
        st["message"],
        "the API version in the data (apps/v1) does not match the expected API version (v1)"
    );
}

#[tokio::test]
async fn patch_content_types_and_methods() {
    let h = Harness::start().await;
    let s = &h.socket;
    raw(
        s,
        "POST",
        "/api/v1/namespaces/team/configmaps",
        None,
        CM_BODY,
    )
    .await;
    let path = "/api/v1/namespaces/team/configmaps/a";

    let (code, st) = raw_json(s, "PATCH", path, Some("text/plain"), "{}").await;
    assert_eq!(code, 415);
    assert_eq!(st["reason"], "UnsupportedMediaType");

    // Strategic merge: applied as a merge patch without its directives.
    let smp = r#"{"metadata":{"labels":{"x":"y"},"$setElementOrder/finalizers":["a"]},"$retainKeys":["data"]}"#;
    let ct = "application/strategic-merge-patch+json; charset=utf-8";
    let (code, obj) = raw_json(s, "PATCH", path, Some(ct), smp).await;
    assert_eq!(code, 200, "{obj}");
    assert_eq!(obj["metadata"]["labels"], json!({"x": "y"}));
    let stored = h.fake.stored("cm", Some("team"), "a").unwrap();
    assert!(!stored.to_string().contains('$'), "{stored}");

    let (code, obj) = raw_json(
        s,
        "PATCH",
        path,
        Some("application/merge-patch+json"),
        r#"{"data":{"k":null}}"#,
    )
    .await;
    assert_eq!((code, &obj["data"]), (200, &json!({})));

    let (code, st) = raw_json(s, "DELETE", "/api/v1/namespaces/team/configmaps", None, "").await;
    assert_eq!(
        (code, st["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
    let (code, _) = raw_json(s, "POST", "/version", None, "").await;
    assert_eq!(code, 405);
    // kubectl's DELETE sends DeleteOptions in the body; the answer is the object.
    let (code, head, body) = raw(
        s,
        "DELETE",
        path,
        Some("application/json"),
        r#"{"propagationPolicy":"Background"}"#,
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("peapod-delete-outcome: deleted"),
        "{head}"
    );
    assert!(body.contains("\"name\":\"a\""), "{body}");
}

#[tokio::test]
async fn discovery_version_health_and_batch_errors() {
    let h = Harness::start().await;
    let s = &h.socket;
    let (code, _, body) = raw(s, "GET", "/healthz", None, "").await;
    assert_eq!((code, body.as_str()), (200, "ok"));

    let (_, v) = raw_json(s, "GET", "/version", None, "").await;
    assert_eq!(
        v["gitVersion"],
        format!("v1.33.0-peapod.{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(h.client.ping().await.unwrap(), v);

    let (_, api) = raw_json(s, "GET", "/api", None, "").await;
    assert_eq!(api["versions"], json!(["v1"]));
    let (_, groups) = raw_json(s, "GET", "/apis", None, "").await;
    assert_eq!(
        groups["groups"][0]["preferredVersion"]["groupVersion"],
        "apps/v1"
    );
    let (_, core) = raw_json(s, "GET", "/api/v1", None, "").await;
    let res = core["resources"].as_array().unwrap();
    assert!(
        res.iter()
            .any(|r| r["name"] == "pods" && r["shortNames"] == json!(["po"]))
    );
    assert!(res.iter().any(|r| r["name"] == "pods/log"));
    let (code, batch) = raw_json(s, "GET", "/apis/batch/v1", None, "").await;
    assert_eq!(code, 200);
    assert_eq!(batch["groupVersion"], "batch/v1");

    let batch_path = "/apis/peapod.dev/v1/namespaces/team/batch";
    let (code, st) = raw_json(s, "POST", batch_path, None, r#"{"items": 3}"#).await;
    assert_eq!(code, 400, "{st}");
    let (code, st) = raw_json(
        s,
        "POST",
        &format!("{batch_path}?mode=upsert"),
        None,
        r#"{"items": []}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(st["message"].as_str().unwrap().contains("upsert"));
    let (code, out) = raw_json(s, "POST", batch_path, None, r#"{"items": []}"#).await;
    assert_eq!((code, out), (200, json!({"items": []})));
    let (code, _) = raw_json(s, "GET", batch_path, None, "").await;
    assert_eq!(code, 405);

    // A raw watch: JSON lines over a chunked body.
    h.client
        .create(pod("team", "web", "web"), &WriteOptions::default())
        .await
        .unwrap();
    let mut stream = tokio::net::UnixStream::connect(s).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /api/v1/namespaces/team/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while !got.contains("\"type\":\"ADDED\"") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(
        got.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{got}"
    );
}
