//! Kubernetes' TTL-after-finished controller: a finished Job with
//! `spec.ttlSecondsAfterFinished` is deleted (with its pods: foreground cascade, as
//! Kubernetes does) that many seconds after it finished.

use super::logic;
use crate::api::error::ApiResult;
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{DeleteOptions, Propagation};
use crate::cluster::Cluster;
use crate::controllers::runtime::{Action, Reconciler, kind_of_key};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::time::Duration;

#[derive(Default)]
pub struct TtlAfterFinishedController;

/// When a Job expires: its finish time plus `ttlSecondsAfterFinished`; `None` if it has no
/// TTL, is not finished, or is already being deleted.
pub fn expires_at(job: &Value) -> Option<Timestamp> {
    let ttl = job
        .pointer("/spec/ttlSecondsAfterFinished")
        .and_then(Value::as_i64)?;
    if job.deletion_timestamp().is_some() || !logic::is_finished(job) {
        return None;
    }
    logic::finished_at(job)?
        .checked_add(SignedDuration::from_secs(ttl))
        .ok()
}

#[async_trait::async_trait]
impl Reconciler for TtlAfterFinishedController {
    fn name(&self) -> &'static str {
        "ttl-after-finished"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        kinds::lookup("jobs").into_iter().collect()
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let Some(kind) = kind_of_key(key) else {
            return Ok(Action::Done);
        };
        let job = match cluster.get(kind, Some(&key.namespace), &key.name).await {
            Ok(j) => j,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        let Some(expiry) = expires_at(&job) else {
            return Ok(Action::Done);
        };
        let now = Timestamp::now();
        if now < expiry {
            let left: Duration = now.duration_until(expiry).try_into().unwrap_or_default();
            return Ok(Action::RequeueAfter(left + Duration::from_millis(20)));
        }
        let opts = DeleteOptions {
            propagation: Some(Propagation::Foreground),
            precondition_uid: Some(job.uid().to_string()),
            ..Default::default()
        };
        match cluster
            .delete(kind, job.namespace(), job.name(), &opts)
            .await
        {
            Ok(_) => Ok(Action::Done),
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(Action::Done),
            Err(e) => Err(e),
        }
    }
}
