//! The `Cluster` trait: the only way the CLI and the console see the cluster. Two
//! implementations: `embedded` (this process holds the store) and `remote` (HTTP over the
//! local socket of a running `peapod serve` or console).

pub mod embedded;
pub mod logs;
pub mod remote;

use crate::api::error::ApiResult;
use crate::api::kinds::KindInfo;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, ListOptions, LogOptions, ObjectList,
    Patch, WatchEvent, WriteOptions,
};
use futures::stream::BoxStream;
use serde_json::Value;

/// Watch events until the stream ends; errors (e.g. Expired) arrive as `Err`.
pub type WatchStream = BoxStream<'static, ApiResult<WatchEvent>>;
/// Log bytes as they are read; each item is one or more whole lines.
pub type LogStream = BoxStream<'static, ApiResult<bytes::Bytes>>;

#[async_trait::async_trait]
pub trait Cluster: Send + Sync {
    /// Where this cluster lives, for headers and messages (`embedded /var/lib/peapod`).
    fn endpoint(&self) -> String;

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

    /// A pod's container log (CRI files written by the node agent).
    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream>;
}
