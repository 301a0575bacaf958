//! The `Cluster` trait: the only way the CLI and the console see the cluster. Two
//! implementations: `embedded` (this process holds the store) and `remote` (HTTP over the
//! local socket of a running `peapod serve` or console).

pub mod embedded;
pub mod events;
pub mod logs;
pub mod logs_only;
pub mod metrics;
pub mod remote;

use crate::api::error::ApiResult;
use crate::api::kinds::KindInfo;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, ListOptions, LogOptions, ObjectList,
    Patch, SharedList, SharedWatchEvent, WatchEvent, WriteOptions,
};
use futures::stream::BoxStream;
use serde_json::Value;

/// Watch events until the stream ends; errors (e.g. Expired) arrive as `Err`.
pub type WatchStream = BoxStream<'static, ApiResult<WatchEvent>>;
/// `WatchStream` with objects shared instead of copied.
pub type SharedWatchStream = BoxStream<'static, ApiResult<SharedWatchEvent>>;
/// Log bytes as they are read; each item is one or more whole lines.
pub type LogStream = BoxStream<'static, ApiResult<bytes::Bytes>>;
/// Watch events already encoded as `{"type":..,"object":..}` (no trailing newline).
pub type EncodedWatchStream = BoxStream<'static, ApiResult<bytes::Bytes>>;

/// A list whose items are already encoded as JSON objects.
#[derive(Debug, Clone, Default)]
pub struct EncodedList {
    pub items: Vec<bytes::Bytes>,
    pub resource_version: u64,
}

fn encode(v: &Value) -> bytes::Bytes {
    bytes::Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

#[async_trait::async_trait]
pub trait Cluster: Send + Sync {
    /// Where this cluster lives, for headers and messages (`embedded /var/lib/peapod`).
    fn endpoint(&self) -> String;

    /// The version of the peapod serving this cluster (this build when embedded).
    async fn server_version(&self) -> ApiResult<String> {
        Ok(crate::api::server_version())
    }

    async fn get(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value>;

    /// List objects of a kind; `namespace: None` means all namespaces.
    async fn list(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<ObjectList>;

    /// `list` with the items shared with the cluster's cache instead of copied: the read of
    /// controllers, which only look at what they list.
    async fn list_shared(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<SharedList> {
        let list = self.list(kind, namespace, opts).await?;
        Ok(SharedList {
            items: list.items.into_iter().map(std::sync::Arc::new).collect(),
            resource_version: list.resource_version,
        })
    }

    /// `watch` with the objects shared instead of copied for each watcher.
    async fn watch_shared(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<SharedWatchStream> {
        use futures::StreamExt;
        let events = self.watch(kind, namespace, opts).await?;
        Ok(events
            .map(|r| {
                r.map(|e| SharedWatchEvent {
                    event_type: e.event_type,
                    object: std::sync::Arc::new(e.object),
                })
            })
            .boxed())
    }

    /// `list` with every item encoded as JSON: what an API server writes. The embedded
    /// cluster serves the encoding it stored instead of encoding each object again.
    async fn list_encoded(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<EncodedList> {
        let mut list = self.list(kind, namespace, opts).await?;
        for item in list.items.iter_mut().filter_map(Value::as_object_mut) {
            // List items carry their type, as the API server's do.
            item.entry("kind")
                .or_insert_with(|| Value::String(kind.kind.to_string()));
            item.entry("apiVersion")
                .or_insert_with(|| Value::String(kind.api_version()));
        }
        Ok(EncodedList {
            items: list.items.iter().map(encode).collect(),
            resource_version: list.resource_version,
        })
    }

    /// `watch` with every event encoded as JSON (errors still arrive as `Err`).
    async fn watch_encoded(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<EncodedWatchStream> {
        use futures::StreamExt;
        let events = self.watch(kind, namespace, opts).await?;
        let api_version = kind.api_version();
        Ok(events
            .map(move |r| {
                r.map(|mut e| {
                    if let Some(o) = e.object.as_object_mut() {
                        o.entry("kind")
                            .or_insert_with(|| Value::String(kind.kind.to_string()));
                        o.entry("apiVersion")
                            .or_insert_with(|| Value::String(api_version.clone()));
                    }
                    encode(&e.to_json())
                })
            })
            .boxed())
    }

    /// Watch a kind from `opts.resource_version` (exclusive). With no revision the current
    /// objects come first as ADDED events.
    async fn watch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<WatchStream>;

    /// Create; kind and namespace come from the object.
    async fn create(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value>;

    /// Replace the spec and metadata (status is kept); a set resourceVersion must match.
    async fn update(&self, obj: Value, opts: &WriteOptions) -> ApiResult<Value>;

    /// Replace only the status.
    async fn update_status(&self, obj: Value) -> ApiResult<Value>;

    async fn patch(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        patch: Patch,
        opts: &WriteOptions,
    ) -> ApiResult<Value>;

    async fn delete(
        &self,
        kind: &'static KindInfo,
        namespace: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome>;

    /// Create-or-update (or create only) many objects in one transaction: all succeed or
    /// nothing is written. Objects without a namespace go to `default_namespace`.
    async fn apply_batch(
        &self,
        objs: Vec<Value>,
        mode: BatchMode,
        default_namespace: &str,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>>;

    /// Assign a pod to a node (the scheduler's write; `pods/{name}/binding`). A pod already
    /// on another node is a Conflict.
    async fn bind(&self, namespace: &str, pod: &str, node: &str) -> ApiResult<Value> {
        let _ = (namespace, node);
        Err(crate::api::error::ApiError::new(
            crate::api::error::Reason::MethodNotAllowed,
            format!("pods {pod:?}: this cluster does not accept bindings"),
        ))
    }

    /// A pod's container log (CRI files written by the node agent).
    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream>;

    /// Live usage of running pods, as `metrics.k8s.io/v1beta1` PodMetrics objects (what
    /// metrics-server serves): CPU as a rate over `window`, memory as the working set. Only
    /// pods with running containers appear; `opts` selects by label and field. A cluster that
    /// cannot measure pods answers ServiceUnavailable starting with "Metrics API not available".
    async fn pod_metrics(
        &self,
        namespace: Option<&str>,
        opts: &ListOptions,
    ) -> ApiResult<Vec<Value>> {
        let _ = (namespace, opts);
        Err(metrics::unavailable("this cluster does not measure pods"))
    }
}

#[cfg(test)]
mod tests;
