//! A cluster that serves only pod logs, from a [`LogSource`]: for the console's benchmark and
//! the logs pane's tests, which need real tails without a store. Every other call fails.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::KindInfo;
use crate::api::request::{
    ApplyOutcome, BatchMode, DeleteOptions, DeleteOutcome, ListOptions, LogOptions, ObjectList,
    Patch, WriteOptions,
};
use crate::cluster::{Cluster, LogStream, WatchStream};
use serde_json::Value;

/// Where the log streams come from.
pub trait LogSource: Send + Sync + 'static {
    fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream>;
}

/// A [`Cluster`] over a [`LogSource`]; it derefs to the source (to script or inspect it).
pub struct LogsOnly<S>(pub S);

impl<S> std::ops::Deref for LogsOnly<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

fn nope<T>() -> ApiResult<T> {
    Err(ApiError::internal("this cluster only serves pod logs"))
}

#[async_trait::async_trait]
impl<S: LogSource> Cluster for LogsOnly<S> {
    fn endpoint(&self) -> String {
        "logs only".into()
    }
    async fn get(&self, _: &'static KindInfo, _: Option<&str>, _: &str) -> ApiResult<Value> {
        nope()
    }
    async fn list(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &ListOptions,
    ) -> ApiResult<ObjectList> {
        nope()
    }
    async fn watch(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &ListOptions,
    ) -> ApiResult<WatchStream> {
        nope()
    }
    async fn create(&self, _: Value, _: &WriteOptions) -> ApiResult<Value> {
        nope()
    }
    async fn update(&self, _: Value, _: &WriteOptions) -> ApiResult<Value> {
        nope()
    }
    async fn update_status(&self, _: Value) -> ApiResult<Value> {
        nope()
    }
    async fn patch(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &str,
        _: Patch,
        _: &WriteOptions,
    ) -> ApiResult<Value> {
        nope()
    }
    async fn delete(
        &self,
        _: &'static KindInfo,
        _: Option<&str>,
        _: &str,
        _: &DeleteOptions,
    ) -> ApiResult<DeleteOutcome> {
        nope()
    }
    async fn apply_batch(
        &self,
        _: Vec<Value>,
        _: BatchMode,
        _: &str,
        _: &WriteOptions,
    ) -> ApiResult<Vec<ApplyOutcome>> {
        nope()
    }
    async fn logs(&self, namespace: &str, pod: &str, opts: &LogOptions) -> ApiResult<LogStream> {
        self.0.logs(namespace, pod, opts)
    }
}
