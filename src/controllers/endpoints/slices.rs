//! EndpointSlices (discovery.k8s.io/v1) of a Service with a selector, as Kubernetes'
//! endpointslice controller keeps them: one slice per distinct set of resolved ports, each
//! endpoint with its ready/serving/terminating conditions (terminating pods stay listed, not
//! ready), owned by the Service so the garbage collector removes them with it. A Service
//! whose pods give no endpoint keeps one empty placeholder slice.

use super::subsets::{
    belongs_in_slice, endpoint_port, ports_of, publishes_not_ready, resolve_target_port,
};
use crate::api::error::ApiResult;
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::api::request::{DeleteOptions, ListOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::controllers::podcontrol;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";

/// One slice's content: its ports and endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceContent {
    pub ports: Vec<Value>,
    pub endpoints: Vec<Value>,
}

fn slice_endpoint(pod: &Value, service: &Value, publish_not_ready: bool) -> Value {
    let ready = podcontrol::is_ready(pod);
    let terminating = pod.deletion_timestamp().is_some();
    let mut e = Map::new();
    e.insert(
        "addresses".into(),
        json!([pod.str_at("/status/podIP").unwrap_or("")]),
    );
    e.insert(
        "conditions".into(),
        json!({"ready": (ready && !terminating) || publish_not_ready,
               "serving": ready, "terminating": terminating}),
    );
    if let Some(h) = pod.str_at("/spec/hostname").filter(|h| !h.is_empty())
        && pod.str_at("/spec/subdomain") == Some(service.name())
    {
        e.insert("hostname".into(), json!(h));
    }
    if let Some(node) = pod.str_at("/spec/nodeName").filter(|n| !n.is_empty()) {
        e.insert("nodeName".into(), json!(node));
    }
    e.insert(
        "targetRef".into(),
        json!({"kind": "Pod", "namespace": pod.namespace().unwrap_or(""),
               "name": pod.name(), "uid": pod.uid()}),
    );
    Value::Object(e)
}

/// The slices `service` should have, given the pods its selector matches.
pub fn desired<'a>(
    service: &Value,
    pods: impl IntoIterator<Item = &'a Value>,
) -> Vec<SliceContent> {
    let publish_not_ready = publishes_not_ready(service);
    let service_ports = ports_of(service);
    let mut groups: BTreeMap<String, SliceContent> = BTreeMap::new();
    for pod in pods {
        if !belongs_in_slice(pod) {
            continue;
        }
        let mut ports: Vec<Value> = service_ports
            .iter()
            .filter_map(|sp| resolve_target_port(pod, sp).map(|p| endpoint_port(sp, p)))
            .collect();
        if ports.is_empty() && !service_ports.is_empty() {
            continue;
        }
        ports.sort_by_key(|p| p.to_string());
        groups
            .entry(Value::Array(ports.clone()).to_string())
            .or_insert_with(|| SliceContent {
                ports,
                endpoints: Vec::new(),
            })
            .endpoints
            .push(slice_endpoint(pod, service, publish_not_ready));
    }
    let mut out: Vec<SliceContent> = groups.into_values().collect();
    for s in &mut out {
        s.endpoints
            .sort_by_key(|e| e["addresses"][0].as_str().unwrap_or("").to_string());
    }
    if out.is_empty() {
        out.push(SliceContent {
            ports: Vec::new(),
            endpoints: Vec::new(),
        });
    }
    out
}

fn content_of(slice: &Value) -> SliceContent {
    let list = |k: &str| {
        slice
            .get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    SliceContent {
        ports: list("ports"),
        endpoints: list("endpoints"),
    }
}

fn set_content(slice: &mut Value, content: &SliceContent, labels: &Map<String, Value>) {
    slice["metadata"]["labels"] = Value::Object(labels.clone());
    slice["addressType"] = json!("IPv4");
    slice["ports"] = Value::Array(content.ports.clone());
    slice["endpoints"] = Value::Array(content.endpoints.clone());
}

/// Make the Service's managed slices hold `want`: update slices whose ports match, create the
/// missing ones, delete the rest.
pub async fn sync(
    cluster: &dyn Cluster,
    slice_kind: &'static KindInfo,
    service: &Value,
    mut labels: Map<String, Value>,
    want: Vec<SliceContent>,
) -> ApiResult<()> {
    labels.insert(SERVICE_NAME_LABEL.into(), json!(service.name()));
    labels.insert(MANAGED_BY_LABEL.into(), json!(CONTROLLER_NAME));
    let ns = service.namespace();
    let mut existing: Vec<Value> = cluster
        .list_shared(slice_kind, ns, &ListOptions::default())
        .await?
        .items
        .iter()
        .filter(|s| {
            s.pointer("/metadata/labels")
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .and_then(Value::as_str)
                == Some(service.name())
                && s.pointer("/metadata/labels")
                    .and_then(|l| l.get(MANAGED_BY_LABEL))
                    .and_then(Value::as_str)
                    == Some(CONTROLLER_NAME)
        })
        .map(|s| (**s).clone())
        .collect();
    let opts = WriteOptions::default();
    for content in want {
        let same_ports = existing
            .iter()
            .position(|s| content_of(s).ports == content.ports);
        match same_ports {
            Some(i) => {
                let mut slice = existing.remove(i);
                let current_labels = slice
                    .pointer("/metadata/labels")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if content_of(&slice) == content && current_labels == labels {
                    continue;
                }
                set_content(&mut slice, &content, &labels);
                cluster.update(slice, &opts).await?;
            }
            None => {
                let mut slice = json!({
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {
                        "generateName": format!("{}-", service.name()),
                        "namespace": ns.unwrap_or("default"),
                        "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                            "name": service.name(), "uid": service.uid(),
                            "controller": true, "blockOwnerDeletion": true}]}});
                set_content(&mut slice, &content, &labels);
                cluster.create(slice, &opts).await?;
            }
        }
    }
    for stale in existing {
        let opts = DeleteOptions {
            precondition_uid: Some(stale.uid().to_string()),
            ..Default::default()
        };
        match cluster.delete(slice_kind, ns, stale.name(), &opts).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
