//! `Cluster` over HTTP on the local socket of a running peapod (`peapod serve` or a console).
//! It speaks the Kubernetes REST API the server module serves, plus the peapod batch extension,
//! and turns `Status` answers back into the same `ApiError`s the embedded cluster returns.

mod lines;
mod query;
mod transport;

use crate::api::error::FieldError;
use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, EventType, ListOptions, LogOptions,
    ObjectList, Patch, WatchEvent, WriteOptions,
};
use crate::cluster::{Cluster, EncodedWatchStream, LogStream, WatchStream};
use futures::StreamExt;
use hyper::Method;
use lines::LineReader;
use query::{Url, collection_path, encode, object_path};
use serde_json::{Value, json};
use std::path::PathBuf;
use transport::{Call, Transport};

/// Response header telling whether a DELETE removed the object (`deleted`) or only marked it
/// for deletion (`pending`: finalizers or a grace period); both answer 200 with the object.
pub const DELETE_OUTCOME_HEADER: &str = "peapod-delete-outcome";

/// Path of the peapod batch extension for a namespace.
fn batch_path(namespace: &str) -> String {
    format!("/apis/peapod.dev/v1/namespaces/{}/batch", encode(namespace))
}

pub struct RemoteCluster {
    transport: Transport,
}

impl RemoteCluster {
    pub fn new(socket: PathBuf) -> RemoteCluster {
        RemoteCluster {
            transport: Transport::new(socket),
        }
    }

    /// `GET /version`: whether a peapod answers on the socket, and which.
    pub async fn ping(&self) -> ApiResult<Value> {
        Ok(self.transport.json(Call::get("/version".into())).await?.1)
    }

    /// The watch response as lines (one encoded event each). An ERROR event becomes `Err`
    /// and ends the stream; so does a broken connection.
    async fn watch_lines(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<EncodedWatchStream> {
        let url = with_list(
            Url::new(collection_path(kind, namespace)).param("watch", "1"),
            opts,
        );
        let (body, sender) = self.transport.stream(Call::get(url.build())).await?;
        let socket = self.transport.socket().display().to_string();
        let state = Some((LineReader::new(body), sender));
        let lines = futures::stream::unfold(state, move |state| {
            let socket = socket.clone();
            async move {
                let (mut reader, sender) = state?;
                loop {
                    let line = match reader.next_line().await? {
                        Ok(line) => line,
                        Err(e) => {
                            let msg = format!("watch connection to peapod at {socket} broke: {e}");
                            return Some((Err(ApiError::unavailable(msg)), None));
                        }
                    };
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    // Only an ERROR event needs decoding here: it ends the watch.
                    if line.starts_with(br#"{"type":"ERROR""#) {
                        let err = match serde_json::from_slice::<Value>(&line) {
                            Ok(v) => ApiError::from_status(&v["object"]),
                            Err(e) => ApiError::internal(format!(
                                "peapod at {socket} sent a malformed watch event: {e}"
                            )),
                        };
                        return Some((Err(err), None));
                    }
                    return Some((Ok(line), Some((reader, sender))));
                }
            }
        });
        Ok(lines.boxed())
    }

    /// Idle pooled connections (for tests of connection reuse).
    #[cfg(test)]
    pub(crate) fn idle_connections(&self) -> usize {
        self.transport.idle_count()
    }

    async fn get_json(&self, path: String) -> ApiResult<Value> {
        Ok(self.transport.json(Call::get(path)).await?.1)
    }

    async fn send_json(&self, method: Method, path: String, body: &Value) -> ApiResult<Value> {
        Ok(self
            .transport
            .json(Call::with_json(method, path, body))
            .await?
            .1)
    }
}

/// The kind of an object about to be sent, from its apiVersion and kind.
fn kind_of(obj: &Value) -> ApiResult<&'static KindInfo> {
    let (api_version, kind) = (obj.api_version(), obj.kind_str());
    if kind.is_empty() || api_version.is_empty() {
        return Err(ApiError::bad_request(format!(
            "object {:?} has no apiVersion or kind: set both (e.g. apiVersion: v1, kind: Pod)",
            obj.name()
        )));
    }
    kinds::by_api_version(api_version, kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no matches for kind {kind:?} in version {api_version:?}"
        ))
    })
}

/// The path of an existing object named in a body (update, update_status).
fn path_of(obj: &Value) -> ApiResult<(&'static KindInfo, String)> {
    let kind = kind_of(obj)?;
    if obj.name().is_empty() {
        return Err(ApiError::invalid(
            kind.kind,
            "",
            vec![FieldError::required("metadata.name")],
        ));
    }
    Ok((kind, object_path(kind, obj.namespace(), obj.name())))
}

fn with_write(url: Url, opts: &WriteOptions) -> Url {
    url.opt("dryRun", opts.dry_run.then_some("All"))
        .param("fieldValidation", opts.field_validation.as_str())
}

fn with_list(url: Url, opts: &ListOptions) -> Url {
    url.opt("labelSelector", opts.label_selector.as_deref())
        .opt("fieldSelector", opts.field_selector.as_deref())
        .opt("resourceVersion", opts.resource_version.as_deref())
}

#[async_trait::async_trait]
impl Cluster for RemoteCluster {
    fn endpoint(&self) -> String {
        format!("peapod serve at {}", self.transport.socket().display())
    }

    async fn get(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        self.get_json(object_path(kind, namespace, name)).await
    }

    async fn list(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ObjectList> {
        let url = with_list(Url::new(collection_path(kind, namespace)), opts);
        let mut list = self.get_json(url.build()).await?;
        let items = match list.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let rv = list
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        Ok(ObjectList {
            items,
            resource_version: rv.parse().unwrap_or(0),
        })
    }

    async fn watch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchStream> {
        let socket = self.transport.socket().display().to_string();
        let lines = self.watch_lines(kind, namespace, opts).await?;
        Ok(lines
            .map(move |line| {
                let line = line?;
                serde_json::from_slice::<Value>(&line)
                    .map_err(|e| {
                        ApiError::internal(format!(
                            "peapod at {socket} sent a malformed watch event: {e}"
                        ))
                    })
                    .and_then(|v| WatchEvent::from_json(&v))
                    .and_then(|ev| match ev.event_type {
                        EventType::Error => Err(ApiError::from_status(&ev.object)),
                        _ => Ok(ev),
                    })
            })
            .boxed())
    }

    async fn bind(&self, namespace: &str, pod: &str, node: &str) -> ApiResult<Value> {
        let kind = kinds::lookup("pods").ok_or_else(|| ApiError::internal("pods kind missing"))?;
        let url = format!("{}/binding", object_path(kind, Some(namespace), pod));
        let body = json!({"apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": pod, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}});
        self.send_json(Method::POST, url, &body).await
    }

    async fn server_version(&self) -> ApiResult<String> {
        let v = self.ping().await?;
        Ok(v["gitVersion"].as_str().unwrap_or("unknown").to_string())
    }

    /// Events as the server encoded them, passed through without decoding.
    async fn watch_encoded(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<EncodedWatchStream> {
        self.watch_lines(kind, namespace, opts).await
    }

    async fn create(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
        let kind = kind_of(&obj)?;
        let url = with_write(Url::new(collection_path(kind, obj.namespace())), opts);
        self.send_json(Method::POST, url.build(), &obj).await
    }

    async fn update(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value> {
        let (_, path) = path_of(&obj)?;
        self.send_json(Method::PUT, with_write(Url::new(path), opts).build(), &obj)
            .await
    }

    async fn update_status(&self, obj: Value) -> ApiResult<Value> {
        let (_, path) = path_of(&obj)?;
        self.send_json(Method::PUT, format!("{path}/status"), &obj)
            .await
    }

    async fn patch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        patch: Patch,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let url = with_write(Url::new(object_path(kind, namespace, name)), opts);
        let call = Call::with_body(
            Method::PATCH,
            url.build(),
            patch.content_type(),
            patch.body(),
        );
        Ok(self.transport.json(call).await?.1)
    }

    async fn delete(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        let call = Call::with_json(
            Method::DELETE,
            object_path(kind, namespace, name),
            &opts.to_json(),
        );
        let (headers, obj) = self.transport.json(call).await?;
        let pending = match headers
            .get(DELETE_OUTCOME_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            Some(outcome) => outcome == "pending",
            // Not a peapod server: an object that still has finalizers is still there.
            None => obj.deletion_timestamp().is_some() && !obj.finalizers().is_empty(),
        };
        Ok(if pending {
            DeleteOutcome::Pending(obj)
        } else {
            DeleteOutcome::Deleted(obj)
        })
    }

    async fn apply_batch(
        &self,
        objs: Vec<Value>,
        mode: BatchMode,
        default_namespace: &str,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>> {
        let mode = match mode {
            BatchMode::Apply => "apply",
            BatchMode::Create => "create",
        };
        let url = with_write(
            Url::new(batch_path(default_namespace)).param("mode", mode),
            opts,
        );
        let mut answer = self
            .send_json(Method::POST, url.build(), &json!({"items": objs}))
            .await?;
        let Some(Value::Array(items)) = answer.get_mut("items").map(Value::take) else {
            return Err(ApiError::internal("peapod answered a batch without items"));
        };
        items
            .into_iter()
            .map(|mut item| {
                let obj = item
                    .get_mut("object")
                    .map(Value::take)
                    .unwrap_or(Value::Null);
                match item.get("outcome").and_then(Value::as_str) {
                    Some("created") => Ok(ApplyOutcome::Created(obj)),
                    Some("configured") => Ok(ApplyOutcome::Configured(obj)),
                    Some("unchanged") => Ok(ApplyOutcome::Unchanged(obj)),
                    other => Err(ApiError::internal(format!(
                        "peapod answered an unknown batch outcome {other:?}"
                    ))),
                }
            })
            .collect()
    }

    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
        let path = format!(
            "/api/v1/namespaces/{}/pods/{}/log",
            encode(namespace),
            encode(pod)
        );
        let url = Url::new(path)
            .opt("container", opts.container.as_deref())
            .flag("follow", opts.follow)
            .flag("previous", opts.previous)
            .flag("timestamps", opts.timestamps)
            .opt(
                "tailLines",
                opts.tail_lines.map(|n| n.to_string()).as_deref(),
            )
            .opt(
                "sinceSeconds",
                opts.since_seconds.map(|n| n.to_string()).as_deref(),
            )
            .opt("sinceTime", opts.since_time.as_deref())
            .opt(
                "limitBytes",
                opts.limit_bytes.map(|n| n.to_string()).as_deref(),
            );
        let (body, sender) = self.transport.stream(Call::get(url.build())).await?;
        let socket = self.transport.socket().display().to_string();
        let state = Some((LineReader::new(body), sender));
        let chunks = futures::stream::unfold(state, move |state| {
            let socket = socket.clone();
            async move {
                let (mut reader, sender) = state?;
                match reader.next_lines().await? {
                    Ok(lines) => Some((Ok(lines), Some((reader, sender)))),
                    Err(e) => {
                        let msg = format!("log stream from peapod at {socket} broke: {e}");
                        Some((Err(ApiError::unavailable(msg)), None))
                    }
                }
            }
        });
        Ok(chunks.boxed())
    }

    async fn pod_metrics(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<Vec<Value>> {
        let path = match namespace {
            Some(ns) => format!(
                "/apis/metrics.k8s.io/v1beta1/namespaces/{}/pods",
                encode(ns)
            ),
            None => "/apis/metrics.k8s.io/v1beta1/pods".to_string(),
        };
        let url = Url::new(path)
            .opt("labelSelector", opts.label_selector.as_deref())
            .opt("fieldSelector", opts.field_selector.as_deref());
        let mut list = match self.get_json(url.build()).await {
            Ok(list) => list,
            // A peapod from before pod metrics does not serve the path at all.
            Err(e) if e.is_not_found() => {
                return Err(crate::cluster::metrics::unavailable(format!(
                    "the peapod at {} does not serve metrics.k8s.io",
                    self.transport.socket().display()
                )));
            }
            Err(e) => return Err(e),
        };
        match list.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => Ok(items),
            _ => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::Reason;

    #[tokio::test]
    async fn missing_socket_is_service_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("peapod.sock");
        let c = RemoteCluster::new(socket.clone());
        let e = c.ping().await.unwrap_err();
        assert_eq!(e.reason, Reason::ServiceUnavailable);
        assert!(
            e.message.contains(&socket.display().to_string()),
            "{}",
            e.message
        );
        assert!(e.message.contains("no such socket"), "{}", e.message);
        assert_eq!(
            c.endpoint(),
            format!("peapod serve at {}", socket.display())
        );

        // A socket file nobody listens on: refused, same reason.
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let e = c
            .get(kinds::lookup("pods").unwrap(), Some("default"), "x")
            .await
            .unwrap_err();
        assert_eq!(e.reason, Reason::ServiceUnavailable);
        assert!(e.message.contains("connection refused"), "{}", e.message);
    }

    #[tokio::test]
    async fn objects_without_a_known_kind_are_refused_before_sending() {
        let c = RemoteCluster::new(PathBuf::from("/nonexistent/peapod.sock"));
        let e = c
            .create(
                json!({"apiVersion": "v1", "kind": "Widget"}),
                &WriteOptions::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(
            e.message,
            "no matches for kind \"Widget\" in version \"v1\""
        );
        let e = c
            .update(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}),
                &WriteOptions::default(),
            )
            .await;
        assert_eq!(e.unwrap_err().reason, Reason::Invalid);
    }
}
