//! `getReplicaSetsForDeployment`: the ReplicaSets a Deployment controls, adopting orphans its
//! selector matches and releasing its own that no longer match (ControllerRefManager).

use crate::api::error::ApiResult;
use crate::api::kinds::KindInfo;
use crate::api::object::{ObjectExt, OwnerReference};
use crate::api::request::{ListOptions, WriteOptions};
use crate::api::selector::LabelSelector;
use crate::cluster::Cluster;
use serde_json::{Value, json};

/// The controller reference of an object, if any.
pub fn controller_ref(obj: &Value) -> Option<OwnerReference> {
    obj.owner_references().into_iter().find(|r| r.controller)
}

pub async fn replica_sets_for(
    cluster: &dyn Cluster,
    rs_kind: &'static KindInfo,
    d: &Value,
    selector: &LabelSelector,
) -> ApiResult<Vec<Value>> {
    let list = cluster
        .list(rs_kind, d.namespace(), &ListOptions::default())
        .await?;
    let deleting = d.deletion_timestamp().is_some();
    let mut out = Vec::new();
    for rs in list.items {
        let matches = selector.matches_object(&rs);
        match controller_ref(&rs) {
            Some(r) if r.uid == d.uid() => {
                if matches || deleting {
                    out.push(rs);
                } else {
                    release(cluster, rs, d.uid()).await?;
                }
            }
            Some(_) => {}
            None => {
                if matches
                    && !deleting
                    && rs.deletion_timestamp().is_none()
                    && let Some(adopted) = adopt(cluster, rs, d).await?
                {
                    out.push(adopted);
                }
            }
        }
    }
    Ok(out)
}

async fn adopt(cluster: &dyn Cluster, mut rs: Value, d: &Value) -> ApiResult<Option<Value>> {
    let mut refs: Vec<Value> = rs
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    refs.push(OwnerReference::controller_of(d));
    rs["metadata"]["ownerReferences"] = json!(refs);
    match cluster.update(rs, &WriteOptions::default()).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn release(cluster: &dyn Cluster, mut rs: Value, uid: &str) -> ApiResult<Option<Value>> {
    let kept: Vec<Value> = rs
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|r| r["uid"].as_str() != Some(uid))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(m) = rs["metadata"].as_object_mut() {
        if kept.is_empty() {
            m.remove("ownerReferences");
        } else {
            m.insert("ownerReferences".into(), json!(kept));
        }
    }
    match cluster.update(rs, &WriteOptions::default()).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
