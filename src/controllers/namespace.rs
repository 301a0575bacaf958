//! Namespace deletion: a deleted namespace is Terminating; this controller deletes everything
//! in it, waits until it is all gone (pods included), then drops the `kubernetes` finalizer so
//! the store removes the namespace.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{DeleteOptions, ListOptions, Propagation, WriteOptions};
use crate::cluster::Cluster;
use crate::controllers::runtime::{Action, Reconciler};
use serde_json::Value;
use std::time::Duration;

pub struct NamespaceController;

#[async_trait::async_trait]
impl Reconciler for NamespaceController {
    fn name(&self) -> &'static str {
        "namespace"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        kinds::lookup("namespaces").into_iter().collect()
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let ns_kind = kinds::lookup("namespaces")
            .ok_or_else(|| ApiError::internal("namespaces kind missing"))?;
        let mut ns = match cluster.get(ns_kind, None, &key.name).await {
            Ok(n) => n,
            Err(e) if e.is_not_found() => return Ok(Action::Done),
            Err(e) => return Err(e),
        };
        if ns.deletion_timestamp().is_none() {
            return Ok(Action::Done);
        }
        let mut remaining = 0usize;
        for kind in kinds::KINDS.iter().filter(|k| k.namespaced) {
            let list = cluster
                .list(kind, Some(&key.name), &ListOptions::default())
                .await?;
            remaining += list.items.len();
            for obj in list
                .items
                .iter()
                .filter(|o| o.deletion_timestamp().is_none())
            {
                let opts = DeleteOptions {
                    propagation: Some(Propagation::Background),
                    ..Default::default()
                };
                match cluster
                    .delete(kind, Some(&key.name), obj.name(), &opts)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if remaining > 0 {
            return Ok(Action::RequeueAfter(Duration::from_millis(200)));
        }
        let fins: Vec<Value> = ns
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|f| f.as_str() != Some("kubernetes"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        ns["spec"]["finalizers"] = Value::Array(fins);
        match cluster.update(ns, &WriteOptions::default()).await {
            Ok(_) => Ok(Action::Done),
            Err(e) if e.is_not_found() => Ok(Action::Done),
            Err(e) => Err(e),
        }
    }
}
