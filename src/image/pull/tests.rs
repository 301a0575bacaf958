//! Pulls against a tiny registry served here: bearer tokens, basic auth, blob redirects and
//! registries that send wrong content.

use super::*;
use crate::image::spec;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// An image: one uncompressed layer, its config and manifest.
struct TestImage {
    blobs: HashMap<Digest, Vec<u8>>,
    manifest: Vec<u8>,
    layer: Digest,
}

fn test_image() -> TestImage {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(5);
    b.append_data(&mut h, "hello", &b"world"[..]).unwrap();
    let layer = b.into_inner().unwrap();
    let (os, arch) = spec::host_platform();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": os, "config": {"Cmd": ["hi"]},
        "rootfs": {"type": "layers", "diff_ids": [Digest::of(&layer).to_string()]}
    }))
    .unwrap();
    let desc = |media: &str, data: &[u8]| serde_json::json!({"mediaType": media, "digest": Digest::of(data).to_string(), "size": data.len()});
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": spec::OCI_MANIFEST,
        "config": desc(spec::OCI_CONFIG, &config),
        "layers": [desc(spec::OCI_LAYER_TAR, &layer)],
    }))
    .unwrap();
    let layer_digest = Digest::of(&layer);
    let mut blobs = HashMap::new();
    blobs.insert(Digest::of(&config), config);
    blobs.insert(layer_digest.clone(), layer);
    TestImage {
        blobs,
        manifest,
        layer: layer_digest,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    None,
    /// Tokens from `/token`; with `true`, only for user `u` / password `p`.
    Bearer(bool),
    Basic,
}

struct Fake {
    image: TestImage,
    auth: Auth,
    /// Serve this instead of the manifest (a registry sending altered content).
    manifest_override: Option<Vec<u8>>,
    /// Requests seen: `path auth-header`.
    seen: Mutex<Vec<String>>,
}

type Body = Full<Bytes>;

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

fn handle(fake: &Fake, req: Request<hyper::body::Incoming>, port: u16) -> Response<Body> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let authz = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    fake.seen
        .lock()
        .unwrap()
        .push(format!("{path} {authz}").trim().to_string());
    if path == "/token" {
        assert!(
            query.contains("scope=repository%3Atest%2Fimg%3Apull")
                && query.contains("service=fake"),
            "{query}"
        );
        if fake.auth == Auth::Bearer(true) && authz != "Basic dTpw" {
            return reply(
                StatusCode::UNAUTHORIZED,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}"#,
            );
        }
        return reply(StatusCode::OK, r#"{"token":"tok123","expires_in":60}"#);
    }
    if let Some(hex) = path.strip_prefix("/storage/") {
        // The blob store a registry redirects to: no credentials expected here.
        let d = Digest::from_hex(hex).unwrap();
        return reply(StatusCode::OK, fake.image.blobs[&d].clone());
    }
    let authorized = match fake.auth {
        Auth::None => true,
        Auth::Bearer(_) => authz == "Bearer tok123",
        Auth::Basic => authz == "Basic dTpw",
    };
    if !authorized {
        let challenge = match fake.auth {
            Auth::Basic => r#"Basic realm="fake""#.to_string(),
            _ => format!(
                r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake",scope="repository:test/img:pull""#
            ),
        };
        let mut r = reply(
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        r.headers_mut()
            .insert("www-authenticate", challenge.parse().unwrap());
        return r;
    }
    let manifest_digest = Digest::of(&fake.image.manifest);
    if let Some(r) = path.strip_prefix("/v2/test/img/manifests/") {
        if r == "1" || r == manifest_digest.to_string() {
            let body = fake
                .manifest_override
                .clone()
                .unwrap_or_else(|| fake.image.manifest.clone());
            let mut resp = reply(StatusCode::OK, body);
            resp.headers_mut()
                .insert("content-type", spec::OCI_MANIFEST.parse().unwrap());
            return resp;
        }
        return reply(
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#,
        );
    }
    if let Some(d) = path.strip_prefix("/v2/test/img/blobs/") {
        let d = Digest::parse(d).unwrap();
        let mut r = reply(StatusCode::TEMPORARY_REDIRECT, "");
        r.headers_mut()
            .insert("location", format!("/storage/{}", d.hex()).parse().unwrap());
        return r;
    }
    reply(StatusCode::NOT_FOUND, "")
}

/// Serve `fake` on 127.0.0.1; returns the port. The server task ends with the runtime.
async fn serve(fake: Fake) -> (u16, Arc<Fake>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = Arc::new(fake);
    let shared = fake.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let fake = shared.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let resp = handle(&fake, req, port);
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (port, fake)
}

fn fake(auth: Auth) -> Fake {
    Fake {
        image: test_image(),
        auth,
        manifest_override: None,
        seen: Mutex::new(Vec::new()),
    }
}

#[test]
fn pull_futures_can_be_spawned() {
    fn send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let opts = PullOptions::default();
    let f = pull(&store, "x", &opts);
    send(&f);
}

#[tokio::test]
async fn anonymous_bearer_token_and_blob_redirects() {
    let (port, fake) = serve(fake(Auth::Bearer(false))).await;
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let reference = format!("127.0.0.1:{port}/test/img:1");
    let seen = Mutex::new(Vec::new());
    let img = pull_with_progress(&store, &reference, &PullOptions::default(), &|p| {
        seen.lock().unwrap().push(p)
    })
    .await
    .unwrap();
    assert_eq!(img.reference, reference);
    assert_eq!(img.config.cmd, ["hi"]);
    assert_eq!(img.manifest_digest, Digest::of(&fake.image.manifest));
    let progress = seen.into_inner().unwrap();
    assert_eq!(progress[0], Progress::Resolving(reference.clone()));
    assert_eq!(
        progress[1],
        Progress::Blob {
            digest: fake.image.layer.clone(),
            skipped: false
        }
    );
    assert_eq!(progress.last(), Some(&Progress::WritingManifest));
    let requests = fake.seen.lock().unwrap().clone();
    assert_eq!(
        requests[0], "/v2/test/img/manifests/1",
        "first try anonymous"
    );
    assert_eq!(requests[1], "/token", "no credentials: an anonymous token");
    assert_eq!(requests[2], "/v2/test/img/manifests/1 Bearer tok123");
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/storage/") && r.ends_with("Bearer tok123")),
        "the redirect on the same host is followed: {requests:?}"
    );
    // Found again by name and digest, as an imported image is.
    let by_digest = format!("127.0.0.1:{port}/test/img@{}", img.manifest_digest);
    assert_eq!(store.resolve(&by_digest).unwrap().unwrap().id, img.id);

    // Pulled again, nothing is fetched but the manifest.
    fake.seen.lock().unwrap().clear();
    pull(&store, &reference, &PullOptions::default())
        .await
        .unwrap();
    let requests = fake.seen.lock().unwrap().clone();
    assert!(
        requests.iter().all(|r| !r.contains("/storage/")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn bearer_tokens_with_credentials() {
    let (port, _fake) = serve(fake(Auth::Bearer(true))).await;
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let reference = format!("127.0.0.1:{port}/test/img:1");
    let e = pull(&store, &reference, &PullOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        format!(
            "pull {reference}: unauthorized: incorrect username or password (401 from 127.0.0.1:{port})"
        )
    );
    let opts = PullOptions {
        credentials: Some(Credentials {
            username: "u".into(),
            password: "p".into(),
        }),
        ..Default::default()
    };
    pull(&store, &reference, &opts).await.unwrap();
}

#[tokio::test]
async fn basic_auth() {
    let (port, _fake) = serve(fake(Auth::Basic)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let reference = format!("127.0.0.1:{port}/test/img:1");
    let e = pull(&store, &reference, &PullOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        format!(
            "pull {reference}: unauthorized: 127.0.0.1:{port} asks for a user name and password"
        )
    );
    let mut opts = PullOptions {
        credentials: Some(Credentials {
            username: "u".into(),
            password: "wrong".into(),
        }),
        ..Default::default()
    };
    let e = pull(&store, &reference, &opts).await.unwrap_err();
    assert_eq!(
        e,
        format!(
            "pull {reference}: unauthorized: authentication required (401 from 127.0.0.1:{port})"
        )
    );
    opts.credentials = Some(Credentials {
        username: "u".into(),
        password: "p".into(),
    });
    pull(&store, &reference, &opts).await.unwrap();
}

#[tokio::test]
async fn altered_manifests_are_refused() {
    let mut f = fake(Auth::None);
    let wanted = Digest::of(&f.image.manifest);
    // Same JSON, one more space: another digest.
    let mut altered = f.image.manifest.clone();
    altered.push(b' ');
    f.manifest_override = Some(altered.clone());
    let (port, _fake) = serve(f).await;
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let reference = format!("127.0.0.1:{port}/test/img@{wanted}");
    let e = pull(&store, &reference, &PullOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        format!(
            "pull {reference}: manifest {wanted} from 127.0.0.1:{port}: its content has digest {} (corrupted or altered)",
            Digest::of(&altered)
        )
    );
    let e = pull(
        &store,
        &format!("127.0.0.1:{port}/test/img:2"),
        &PullOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        e.ends_with(&format!("manifest unknown (404 from 127.0.0.1:{port})")),
        "{e}"
    );
}

#[tokio::test]
async fn bad_ca_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path().join("images")).unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let opts = PullOptions {
        ca_certificates: vec![ca.clone()],
        ..Default::default()
    };
    let e = pull(&store, "quay.io/x/y:1", &opts).await.unwrap_err();
    assert_eq!(
        e,
        format!(
            "pull quay.io/x/y:1: {} holds no PEM certificate",
            ca.display()
        )
    );
    let opts = PullOptions {
        ca_certificates: vec![dir.path().join("missing.crt")],
        ..Default::default()
    };
    let e = pull(&store, "quay.io/x/y:1", &opts).await.unwrap_err();
    assert!(e.contains("reading CA certificates from"), "{e}");
}
