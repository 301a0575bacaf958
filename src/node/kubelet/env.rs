//! A container's environment as the kubelet builds it.

use serde_json::Value;
use std::collections::BTreeMap;

/// Objects a pod's environment and volumes refer to, to be fetched before building it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// ConfigMap names in the pod's namespace (env valueFrom, envFrom, volumes).
    pub config_maps: Vec<String>,
    pub secrets: Vec<String>,
    pub pvcs: Vec<String>,
}

/// Every ConfigMap, Secret and PVC the pod refers to (containers, init containers, volumes,
/// projected sources), de-duplicated.
pub fn references(pod: &Value) -> References {
    let _ = pod;
    todo!()
}

/// What the environment may read: the fetched objects by name (missing = not found).
#[derive(Debug, Clone, Default)]
pub struct EnvSources<'a> {
    pub config_maps: BTreeMap<String, &'a Value>,
    pub secrets: BTreeMap<String, &'a Value>,
    pub pod_ip: String,
    pub host_ip: String,
    pub node_name: String,
}

/// The container's environment, "NAME=value", in the kubelet's order: image env first,
/// then envFrom sources in order, then env entries in order (later wins, keeping the first
/// position), with `$(VAR)` expanded against what came before. Secret values are decoded
/// from base64. Errors are the kubelet's CreateContainerConfigError messages, e.g.
/// `configmap "cfg" not found` or `couldn't find key mode in ConfigMap default/cfg`;
/// optional references that are missing are skipped. A missing PATH gets containerd's
/// default `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`.
pub fn container_env(
    pod: &Value,
    container: &Value,
    image_env: &[String],
    sources: &EnvSources<'_>,
) -> Result<Vec<String>, String> {
    let _ = (pod, container, image_env, sources);
    todo!()
}
