//! The endpoints controller: keeps an Endpoints object named like each Service that has a
//! selector, listing the IPs and resolved ports of the pods it selects (Kubernetes'
//! pkg/controller/endpoint). Services without a selector are left alone: their Endpoints are
//! the user's. The proxy and the DNS server read these Endpoints, never the pods.
//!
//! It keeps the Service's EndpointSlices too (`slices`), which Kubernetes does in a second
//! controller from the same inputs: tools that read slices (kubectl, client libraries)
//! see the same endpoints. peapod's own proxy and DNS read Endpoints.

pub mod slices;
pub mod subsets;

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{DeleteOptions, EventType, ListOptions, SharedWatchEvent, WriteOptions};
use crate::cluster::Cluster;
use crate::controllers::runtime::{Action, Reconciler, namespace_of};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Label Kubernetes puts on the Endpoints of a headless Service.
const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// Annotation the controller sets on Endpoints it writes (as Kubernetes does); only Endpoints
/// carrying it are removed when their Service is gone, so a user's standalone Endpoints stay.
const TRIGGER_TIME_ANNOTATION: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// namespace → service name → selector labels.
type Selectors = HashMap<String, HashMap<String, BTreeMap<String, String>>>;

#[derive(Default)]
pub struct EndpointsController {
    /// Service selectors from the services' watch, so a pod event finds its services without
    /// a list.
    selectors: Mutex<Selectors>,
    /// (namespace, pod) → the services it matched last time, so a pod whose labels changed
    /// still brings back the services it left.
    pod_services: Mutex<HashMap<(String, String), Vec<String>>>,
}

fn kind(resource: &str) -> ApiResult<&'static KindInfo> {
    kinds::lookup(resource).ok_or_else(|| ApiError::internal(format!("{resource} kind missing")))
}

/// A Service's selector as a label map; `None` when it has none (user-managed Endpoints).
pub fn selector_of(service: &Value) -> Option<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = service
        .pointer("/spec/selector")
        .and_then(Value::as_object)?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    (!map.is_empty()).then_some(map)
}

fn labels_match(selector: &BTreeMap<String, String>, obj: &Value) -> bool {
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    selector.iter().all(|(k, v)| {
        labels
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            .is_some_and(|x| x == v)
    })
}

/// The labels of a Service's Endpoints: the Service's own, plus the headless marker.
fn endpoint_labels(service: &Value) -> Map<String, Value> {
    let mut labels = service
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if service.str_at("/spec/clusterIP") == Some("None") {
        labels.insert(HEADLESS_LABEL.into(), json!(""));
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

impl EndpointsController {
    fn remember_service(&self, event: &SharedWatchEvent) {
        let obj = &event.object;
        let ns = obj.namespace().unwrap_or("").to_string();
        let Ok(mut cache) = self.selectors.lock() else {
            return;
        };
        let services = cache.entry(ns.clone()).or_default();
        match selector_of(obj) {
            Some(sel) if event.event_type != EventType::Deleted => {
                services.insert(obj.name().to_string(), sel);
            }
            _ => {
                services.remove(obj.name());
                if services.is_empty() {
                    cache.remove(&ns);
                }
            }
        }
    }

    /// Services the pod matches now, plus those it matched at its previous event.
    fn services_for_pod(&self, event: &SharedWatchEvent) -> Vec<String> {
        let pod = &event.object;
        let ns = pod.namespace().unwrap_or("").to_string();
        let now: Vec<String> = match self.selectors.lock() {
            Ok(cache) => cache
                .get(&ns)
                .map(|svcs| {
                    svcs.iter()
                        .filter(|(_, sel)| labels_match(sel, pod))
                        .map(|(name, _)| name.clone())
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let Ok(mut prev) = self.pod_services.lock() else {
            return now;
        };
        let pod_key = (ns, pod.name().to_string());
        // Only pods some Service selects are remembered.
        let mut all = if event.event_type == EventType::Deleted || now.is_empty() {
            prev.remove(&pod_key).unwrap_or_default()
        } else {
            prev.insert(pod_key, now.clone()).unwrap_or_default()
        };
        all.extend(now);
        all.sort();
        all.dedup();
        all
    }

    /// Remove the Endpoints of a deleted Service, if this controller wrote them.
    async fn delete_endpoints(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<()> {
        let ep_kind = kind("endpoints")?;
        let ep = match cluster.get(ep_kind, namespace_of(key), &key.name).await {
            Ok(ep) => ep,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let managed = ep
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| a.contains_key(TRIGGER_TIME_ANNOTATION));
        if !managed {
            return Ok(());
        }
        let opts = DeleteOptions {
            precondition_uid: Some(ep.uid().to_string()),
            ..Default::default()
        };
        match cluster
            .delete(ep_kind, namespace_of(key), &key.name, &opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Write the Endpoints `service` should have, unless they already are so.
    async fn sync(
        &self,
        cluster: &dyn Cluster,
        service: &Value,
        selector: &BTreeMap<String, String>,
    ) -> ApiResult<()> {
        let ns = service.namespace();
        let pods = cluster
            .list_shared(kind("pods")?, ns, &ListOptions::default())
            .await?
            .items;
        let selected = pods
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| labels_match(selector, p));
        let subsets = subsets::compute_subsets(service, selected.clone());
        let labels = endpoint_labels(service);
        let want_slices = slices::desired(service, selected);
        if let Some(slice_kind) = kinds::lookup("endpointslices.discovery.k8s.io") {
            slices::sync(cluster, slice_kind, service, labels.clone(), want_slices).await?;
        }
        let ep_kind = kind("endpoints")?;
        let current = match cluster.get(ep_kind, ns, service.name()).await {
            Ok(c) => Some(c),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let current_subsets = current
            .as_ref()
            .and_then(|c| c.get("subsets"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let current_labels = current
            .as_ref()
            .and_then(|c| c.pointer("/metadata/labels"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if current.is_some() && current_subsets == subsets && current_labels == labels {
            return Ok(());
        }
        let mut ep = current.unwrap_or_else(|| {
            json!({"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": service.name(), "namespace": ns.unwrap_or("default")}})
        });
        ep["metadata"]["labels"] = Value::Object(labels);
        if !ep
            .pointer("/metadata/annotations")
            .is_some_and(Value::is_object)
        {
            ep["metadata"]["annotations"] = json!({});
        }
        ep["metadata"]["annotations"][TRIGGER_TIME_ANNOTATION] =
            json!(crate::api::object::now_rfc3339());
        if let Some(m) = ep.as_object_mut() {
            if subsets.is_empty() {
                m.remove("subsets");
            } else {
                m.insert("subsets".into(), Value::Array(subsets));
            }
        }
        let opts = WriteOptions::default();
        if ep.resource_version().is_empty() {
            match cluster.create(ep, &opts).await {
                Ok(_) => Ok(()),
                // Someone (a user, for a selector service) created it meanwhile: next pass.
                Err(e) if e.reason == crate::api::error::Reason::AlreadyExists => Err(
                    ApiError::conflict("endpoints", service.name(), "created concurrently"),
                ),
                Err(e) => Err(e),
            }
        } else {
            cluster.update(ep, &opts).await.map(|_| ())
        }
    }
}

#[async_trait::async_trait]
impl Reconciler for EndpointsController {
    fn name(&self) -> &'static str {
        "endpoints-controller"
    }

    fn watches(&self) -> Vec<&'static KindInfo> {
        [
            "services",
            "pods",
            "endpoints",
            "endpointslices.discovery.k8s.io",
        ]
        .iter()
        .filter_map(|r| kinds::lookup(r))
        .collect()
    }

    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        let Some(svc_kind) = kinds::lookup("services") else {
            return Vec::new();
        };
        let ns = event.object.namespace();
        match kind.kind {
            "Service" => {
                self.remember_service(event);
                vec![ObjectKey::new(svc_kind, ns, event.object.name())]
            }
            // A managed Endpoints changed or deleted by someone else is put back.
            "Endpoints" => vec![ObjectKey::new(svc_kind, ns, event.object.name())],
            "EndpointSlice" => event
                .object
                .pointer("/metadata/labels")
                .and_then(|l| l.get(slices::SERVICE_NAME_LABEL))
                .and_then(Value::as_str)
                .map(|svc| vec![ObjectKey::new(svc_kind, ns, svc)])
                .unwrap_or_default(),
            "Pod" => self
                .services_for_pod(event)
                .iter()
                .map(|name| ObjectKey::new(svc_kind, ns, name))
                .collect(),
            _ => Vec::new(),
        }
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action> {
        let service = match cluster
            .get(kind("services")?, namespace_of(key), &key.name)
            .await
        {
            Ok(s) => s,
            Err(e) if e.is_not_found() => {
                // The Service is gone: so are the Endpoints this controller kept for it.
                self.delete_endpoints(cluster, key).await?;
                return Ok(Action::Done);
            }
            Err(e) => return Err(e),
        };
        if service.deletion_timestamp().is_some() {
            return Ok(Action::Done);
        }
        let Some(selector) = selector_of(&service) else {
            return Ok(Action::Done);
        };
        self.sync(cluster, &service, &selector).await?;
        Ok(Action::Done)
    }
}

#[cfg(test)]
mod tests;
