//! One request → one `Cluster` call → one response. Every error becomes a `Status`.

use crate::api::error::{ApiError, ApiResult, Reason};
use crate::api::kinds::KindInfo;
use crate::api::request::{BatchMode, DeleteOutcome, Patch};
use crate::cluster::Cluster;
use crate::cluster::remote::DELETE_OUTCOME_HEADER;
use crate::server::discovery;
use crate::server::params;
use crate::server::respond::{self, BodyError, JSON, Res};
use crate::server::routes::{self, Query, ResourcePath, Route, Subresource};
use futures::StreamExt;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

/// What every request handler shares.
pub struct Ctx {
    pub cluster: Arc<dyn Cluster>,
    /// Turns true when the server shuts down; open watch and log streams end then.
    pub stop: watch::Receiver<bool>,
}

impl Ctx {
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.clone();
        async move {
            // An error means the server is gone, which is a stop as well.
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }
}

pub async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Res {
    match dispatch(&ctx, req).await {
        Ok(res) => res,
        Err(e) => respond::error(&e),
    }
}

async fn dispatch(ctx: &Ctx, req: Request<Incoming>) -> ApiResult<Res> {
    let (parts, body) = req.into_parts();
    let route = routes::parse(parts.uri.path()).ok_or_else(respond::not_found_path)?;
    let query = Query::parse(parts.uri.query().unwrap_or(""));
    let method = parts.method.as_str();
    let get = |v: Value| {
        if method == "GET" {
            Ok(respond::ok(&v))
        } else {
            Err(respond::method_not_allowed())
        }
    };
    match route {
        Route::Version => get(discovery::version()),
        Route::Healthz if method == "GET" => Ok(respond::text(StatusCode::OK, "ok")),
        Route::Healthz => Err(respond::method_not_allowed()),
        Route::ApiVersions => get(discovery::api_versions()),
        Route::ApiGroupList => get(discovery::api_group_list()),
        Route::ApiGroup(g) => get(discovery::api_group(g)),
        Route::ResourceList(g) => get(discovery::resource_list(g)),
        Route::Batch { namespace } if method == "POST" => {
            batch(ctx, &namespace, body, &query).await
        }
        Route::Batch { .. } => Err(respond::method_not_allowed()),
        Route::PodMetrics { namespace, name } if method == "GET" => {
            pod_metrics(ctx, namespace.as_deref(), name.as_deref(), &query).await
        }
        Route::PodMetrics { .. } => Err(respond::method_not_allowed()),
        Route::Resource(rp) => resource(ctx, &parts, body, rp, &query).await,
    }
}

async fn resource(
    ctx: &Ctx,
    parts: &Parts,
    body: Incoming,
    rp: ResourcePath,
    q: &Query,
) -> ApiResult<Res> {
    let kind = rp.kind;
    let ns = rp.namespace.as_deref();
    let c = &ctx.cluster;
    let method = parts.method.as_str();
    match (rp.name.as_deref(), rp.subresource, method) {
        (None, _, "GET") if params::flag(q, "watch") => {
            watch(ctx, kind, ns, params::list_options(q)).await
        }
        (None, _, "GET") => {
            // Items are stored encoded (with kind and apiVersion): splice them in as they are.
            let list = c.list_encoded(kind, ns, &params::list_options(q)).await?;
            Ok(respond::encoded_list(kind, list))
        }
        (None, _, "POST") => {
            let mut obj = params::parse_object(&params::read_body(body).await?)?;
            params::fit_object(kind, ns, None, &mut obj)?;
            let created = c.create(obj, &params::write_options(q)?).await?;
            Ok(respond::json(
                StatusCode::CREATED,
                &params::type_meta(kind, created),
            ))
        }
        (Some(name), None, "GET") if params::flag(q, "watch") => {
            // Old-style single-object watch: the same as a watch on metadata.name.
            let mut opts = params::list_options(q);
            let by_name = format!("metadata.name={name}");
            opts.field_selector = Some(match opts.field_selector {
                Some(f) => format!("{f},{by_name}"),
                None => by_name,
            });
            watch(ctx, kind, ns, opts).await
        }
        (Some(name), None | Some(Subresource::Status), "GET") => Ok(respond::ok(
            &params::type_meta(kind, c.get(kind, ns, name).await?),
        )),
        (Some(name), None, "PUT") => {
            let mut obj = params::parse_object(&params::read_body(body).await?)?;
            params::fit_object(kind, ns, Some(name), &mut obj)?;
            let updated = c.update(obj, &params::write_options(q)?).await?;
            Ok(respond::ok(&params::type_meta(kind, updated)))
        }
        (Some(name), Some(Subresource::Status), "PUT") => {
            let mut obj = params::parse_object(&params::read_body(body).await?)?;
            params::fit_object(kind, ns, Some(name), &mut obj)?;
            Ok(respond::ok(&params::type_meta(
                kind,
                c.update_status(obj).await?,
            )))
        }
        (Some(name), None, "PATCH") => {
            let patch = read_patch(parts, body).await?;
            let patched = c
                .patch(kind, ns, name, patch, &params::write_options(q)?)
                .await?;
            Ok(respond::ok(&params::type_meta(kind, patched)))
        }
        (Some(name), None, "DELETE") => {
            let opts = params::delete_options(&params::read_body(body).await?, q)?;
            let (outcome, obj) = match c.delete(kind, ns, name, &opts).await? {
                DeleteOutcome::Deleted(o) => ("deleted", o),
                DeleteOutcome::Pending(o) => ("pending", o),
            };
            let mut res = respond::ok(&params::type_meta(kind, obj));
            res.headers_mut()
                .insert(DELETE_OUTCOME_HEADER, HeaderValue::from_static(outcome));
            Ok(res)
        }
        (Some(name), Some(Subresource::Binding), "POST") => {
            // A v1 Binding: `{"target": {"kind": "Node", "name": "..."}}`.
            let body = params::parse_json(&params::read_body(body).await?)?;
            let node = body
                .pointer("/target/name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    ApiError::bad_request("binding target.name (the node) is required")
                })?;
            let ns = ns.ok_or_else(|| ApiError::bad_request("binding needs a namespace"))?;
            let bound = c.bind(ns, name, node).await?;
            Ok(respond::json(
                StatusCode::CREATED,
                &params::type_meta(kind, bound),
            ))
        }
        (Some(name), Some(Subresource::Log), "GET") => {
            let ns = ns.ok_or_else(|| {
                ApiError::bad_request(
                    "pod logs need a namespace: use /api/v1/namespaces/{namespace}/pods/{name}/log",
                )
            })?;
            let logs = c.logs(ns, name, &params::log_options(q)?).await?;
            let body = logs
                .map(|r| r.map_err(|e| Box::new(e) as BodyError))
                .take_until(ctx.stopped());
            Ok(respond::stream("text/plain; charset=utf-8", body))
        }
        _ => Err(respond::method_not_allowed()),
    }
}

async fn watch(
    ctx: &Ctx,
    kind: &'static KindInfo,
    ns: Option<&str>,
    opts: crate::api::request::ListOptions,
) -> ApiResult<Res> {
    let events = ctx.cluster.watch_encoded(kind, ns, &opts).await?;
    let lines = respond::encoded_watch_lines(events).take_until(ctx.stopped());
    Ok(respond::stream(JSON, lines))
}

/// The patch body by its Content-Type. Strategic merge patches are applied as merge patches
/// for now (their `$` directives dropped); server-side apply is not supported.
async fn read_patch(parts: &Parts, body: Incoming) -> ApiResult<Patch> {
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let wrap: fn(Value) -> Patch = match content_type.as_str() {
        "application/merge-patch+json" => Patch::Merge,
        "application/json-patch+json" => Patch::Json,
        "application/strategic-merge-patch+json" => |v| Patch::Merge(params::strip_directives(v)),
        _ => {
            return Err(ApiError::new(
                Reason::UnsupportedMediaType,
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/strategic-merge-patch+json",
            ));
        }
    };
    Ok(wrap(params::parse_json(&params::read_body(body).await?)?))
}

/// `POST /apis/peapod.dev/v1/namespaces/{ns}/batch?mode=apply|create`: all or nothing.
async fn batch(ctx: &Ctx, namespace: &str, body: Incoming, q: &Query) -> ApiResult<Res> {
    let mode = match q.non_empty("mode").unwrap_or("apply") {
        "apply" => BatchMode::Apply,
        "create" => BatchMode::Create,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown batch mode {other:?}: use apply or create"
            )));
        }
    };
    let opts = params::write_options(q)?;
    let mut doc = params::parse_object(&params::read_body(body).await?)?;
    let Some(Value::Array(items)) = doc.get_mut("items").map(Value::take) else {
        return Err(ApiError::bad_request(
            r#"batch body must be {"items": [objects...]}"#,
        ));
    };
    if let Some(i) = items.iter().position(|o| !o.is_object()) {
        return Err(ApiError::bad_request(format!(
            "batch items[{i}] is not a JSON object"
        )));
    }
    let outcomes = ctx
        .cluster
        .apply_batch(items, mode, namespace, &opts)
        .await?;
    let items: Vec<Value> = outcomes
        .iter()
        .map(|o| json!({"outcome": o.verb(), "object": o.object()}))
        .collect();
    Ok(respond::ok(&json!({"items": items})))
}

/// `GET /apis/metrics.k8s.io/v1beta1/[namespaces/{ns}/]pods[/{name}]`: a PodMetricsList, or
/// one PodMetrics (NotFound as metrics-server words it: `podmetrics.metrics.k8s.io "ns/name"`).
async fn pod_metrics(ctx: &Ctx, ns: Option<&str>, name: Option<&str>, q: &Query) -> ApiResult<Res> {
    use crate::cluster::metrics::{API_VERSION, RESOURCE};
    let mut opts = params::list_options(q);
    let Some(name) = name else {
        let items = ctx.cluster.pod_metrics(ns, &opts).await?;
        return Ok(respond::ok(&json!({
            "kind": "PodMetricsList",
            "apiVersion": API_VERSION,
            "metadata": {},
            "items": items,
        })));
    };
    let not_found = || ApiError::not_found(RESOURCE, &format!("{}/{name}", ns.unwrap_or("")));
    // A name that would change the meaning of the selector names no pod.
    if name.contains([',', '=', '!', '\\']) {
        return Err(not_found());
    }
    // A get by name ignores selectors, as the API server's does.
    opts.label_selector = None;
    opts.field_selector = Some(format!("metadata.name={name}"));
    let items = ctx.cluster.pod_metrics(ns, &opts).await?;
    match items.into_iter().next() {
        Some(m) => Ok(respond::ok(&m)),
        None => Err(not_found()),
    }
}
