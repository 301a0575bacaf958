//! `Cluster` over HTTP on the local socket of a running peapod. STUB (being written on branch wt-d).

use crate::api::error::{ApiError, ApiResult};
use std::path::PathBuf;

pub struct RemoteCluster {
    socket: PathBuf,
}

impl RemoteCluster {
    pub fn new(socket: PathBuf) -> RemoteCluster {
        RemoteCluster { socket }
    }
    pub async fn ping(&self) -> ApiResult<serde_json::Value> {
        Err(ApiError::unavailable(format!(
            "no peapod at {}",
            self.socket.display()
        )))
    }
}

// Temporary until the wt-d branch lands: every call reports the server as unavailable.
#[async_trait::async_trait]
impl crate::cluster::Cluster for RemoteCluster {
    fn endpoint(&self) -> String {
        format!("peapod serve at {}", self.socket.display())
    }
    async fn get(
        &self,
        _: &'static crate::api::kinds::KindInfo,
        _: Option<&str>,
        _: &str,
    ) -> ApiResult<serde_json::Value> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn list(
        &self,
        _: &'static crate::api::kinds::KindInfo,
        _: Option<&str>,
        _: &crate::api::request::ListOptions,
    ) -> ApiResult<crate::api::request::ObjectList> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn watch(
        &self,
        _: &'static crate::api::kinds::KindInfo,
        _: Option<&str>,
        _: &crate::api::request::ListOptions,
    ) -> ApiResult<crate::cluster::WatchStream> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn create(
        &self,
        _: serde_json::Value,
        _: &crate::api::request::WriteOptions,
    ) -> ApiResult<serde_json::Value> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn update(
        &self,
        _: serde_json::Value,
        _: &crate::api::request::WriteOptions,
    ) -> ApiResult<serde_json::Value> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn update_status(&self, _: serde_json::Value) -> ApiResult<serde_json::Value> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn patch(
        &self,
        _: &'static crate::api::kinds::KindInfo,
        _: Option<&str>,
        _: &str,
        _: crate::api::request::Patch,
        _: &crate::api::request::WriteOptions,
    ) -> ApiResult<serde_json::Value> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn delete(
        &self,
        _: &'static crate::api::kinds::KindInfo,
        _: Option<&str>,
        _: &str,
        _: &crate::api::request::DeleteOptions,
    ) -> ApiResult<crate::api::request::DeleteOutcome> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn apply_batch(
        &self,
        _: Vec<serde_json::Value>,
        _: crate::api::request::BatchMode,
        _: &str,
        _: &crate::api::request::WriteOptions,
    ) -> ApiResult<Vec<crate::api::request::ApplyOutcome>> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
    async fn logs(
        &self,
        _: &str,
        _: &str,
        _: &crate::api::request::LogOptions,
    ) -> ApiResult<crate::cluster::LogStream> {
        Err(ApiError::unavailable("remote client not built yet"))
    }
}
