//! A container's environment as the kubelet builds it.

use super::command::expand;
use super::downward::{self, Addresses, Allocatable};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// containerd's default PATH, used when neither the image nor the pod sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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
    let mut refs = References::default();
    let add = |list: &mut Vec<String>, name: &Value| {
        if let Some(name) = name.as_str().filter(|n| !n.is_empty())
            && !list.iter().any(|n| n == name)
        {
            list.push(name.to_string());
        }
    };
    let spec = &pod["spec"];
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for e in c["env"].as_array().into_iter().flatten() {
                add(
                    &mut refs.config_maps,
                    &e["valueFrom"]["configMapKeyRef"]["name"],
                );
                add(&mut refs.secrets, &e["valueFrom"]["secretKeyRef"]["name"]);
            }
            for e in c["envFrom"].as_array().into_iter().flatten() {
                add(&mut refs.config_maps, &e["configMapRef"]["name"]);
                add(&mut refs.secrets, &e["secretRef"]["name"]);
            }
        }
    }
    for v in spec["volumes"].as_array().into_iter().flatten() {
        add(&mut refs.config_maps, &v["configMap"]["name"]);
        add(&mut refs.secrets, &v["secret"]["secretName"]);
        add(&mut refs.pvcs, &v["persistentVolumeClaim"]["claimName"]);
        for s in v["projected"]["sources"].as_array().into_iter().flatten() {
            add(&mut refs.config_maps, &s["configMap"]["name"]);
            add(&mut refs.secrets, &s["secret"]["name"]);
        }
    }
    refs
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
    container_env_with(
        pod,
        container,
        image_env,
        sources,
        &EnvExtras {
            allocatable: Allocatable::host(),
            service_env: Vec::new(),
        },
    )
}

/// What `container_env` takes from the node rather than the pod.
#[derive(Debug, Clone)]
pub struct EnvExtras {
    /// Limits a container leaves unset read as these (resourceFieldRef).
    pub allocatable: Allocatable,
    /// Service links (`NAME_SERVICE_HOST`, ...), in order: visible to `$(VAR)` expansion
    /// after the container's own variables, and added where the container does not define
    /// the name, as the kubelet does.
    pub service_env: Vec<(String, String)>,
}

/// `container_env` with the node's side given: the allocatable resources unset limits read
/// as, and the service environment.
///
/// Beyond the image and the pod, the result starts with containerd's own entries: PATH (the
/// default, replaced in place when the image or pod sets one) and HOSTNAME (the pod's
/// hostname). `$(VAR)` sees only the container's own variables and the service environment,
/// never the image's, as in Kubernetes.
pub fn container_env_with(
    pod: &Value,
    container: &Value,
    image_env: &[String],
    sources: &EnvSources<'_>,
    extras: &EnvExtras,
) -> Result<Vec<String>, String> {
    let namespace = pod["metadata"]["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let mut out = OrderedEnv::default();
    out.set("PATH", DEFAULT_PATH.to_string());
    out.set("HOSTNAME", pod_hostname(pod));
    for entry in image_env {
        let (name, value) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
        out.set(name, value.to_string());
    }
    // The container's own variables: what `$(VAR)` may refer to.
    let mut own = OrderedEnv::default();
    let lookup = Lookup { sources };

    for from in container["envFrom"].as_array().into_iter().flatten() {
        let prefix = from["prefix"].as_str().unwrap_or_default();
        let (data, secret) = if from["configMapRef"].is_object() {
            let r = &from["configMapRef"];
            match lookup.config_map(r)? {
                Some(cm) => (&cm["data"], false),
                None => continue,
            }
        } else if from["secretRef"].is_object() {
            let r = &from["secretRef"];
            match lookup.secret(r)? {
                Some(s) => (&s["data"], true),
                None => continue,
            }
        } else {
            continue;
        };
        let mut keys: Vec<(&String, &Value)> = data.as_object().into_iter().flatten().collect();
        // The kubelet walks a Go map (no order); sorted keys make the result stable.
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (key, value) in keys {
            let name = format!("{prefix}{key}");
            // The kubelet skips such keys (and records an InvalidEnvironmentVariableNames event).
            if !is_env_var_name(&name) {
                continue;
            }
            let value = value.as_str().unwrap_or_default();
            let value = if secret {
                decode_secret_value(value, &name)?
            } else {
                value.to_string()
            };
            own.set(&name, value);
        }
    }

    let addresses = Addresses {
        pod_ip: &sources.pod_ip,
        host_ip: &sources.host_ip,
    };
    for var in container["env"].as_array().into_iter().flatten() {
        let Some(name) = var["name"].as_str() else {
            continue;
        };
        let literal = var["value"].as_str().unwrap_or_default();
        let from = &var["valueFrom"];
        let value = if !literal.is_empty() || !from.is_object() {
            let known = |n: &str| {
                own.get(n).map(str::to_string).or_else(|| {
                    extras
                        .service_env
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.clone())
                })
            };
            expand(literal, &known)
        } else if let Some(path) = from["fieldRef"]["fieldPath"].as_str() {
            let mut pod = pod.clone();
            if pod["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
                && !sources.node_name.is_empty()
                && let Some(spec) = pod["spec"].as_object_mut()
            {
                spec.insert("nodeName".into(), sources.node_name.clone().into());
            }
            downward::field_ref(&pod, path, &addresses)?
        } else if from["resourceFieldRef"].is_object() {
            downward::resource_field_ref(
                pod,
                container,
                &from["resourceFieldRef"],
                &extras.allocatable,
            )?
        } else if from["configMapKeyRef"].is_object() {
            let r = &from["configMapKeyRef"];
            let Some(cm) = lookup.config_map(r)? else {
                continue;
            };
            let key = r["key"].as_str().unwrap_or_default();
            match cm["data"][key].as_str() {
                Some(v) => v.to_string(),
                None if optional(r) => continue,
                None => {
                    return Err(format!(
                        "couldn't find key {key} in ConfigMap {namespace}/{}",
                        r["name"].as_str().unwrap_or_default()
                    ));
                }
            }
        } else if from["secretKeyRef"].is_object() {
            let r = &from["secretKeyRef"];
            let Some(secret) = lookup.secret(r)? else {
                continue;
            };
            let key = r["key"].as_str().unwrap_or_default();
            match secret["data"][key].as_str() {
                Some(v) => decode_secret_value(v, name)?,
                None if optional(r) => continue,
                None => {
                    return Err(format!(
                        "couldn't find key {key} in Secret {namespace}/{}",
                        r["name"].as_str().unwrap_or_default()
                    ));
                }
            }
        } else {
            // fileKeyRef and sources this kubelet does not know: nothing to set.
            continue;
        };
        own.set(name, value);
    }

    for (name, value) in own.entries {
        out.set(&name, value);
    }
    for (name, value) in &extras.service_env {
        if !own.index.contains_key(name.as_str()) {
            out.set(name, value.clone());
        }
    }
    Ok(out
        .entries
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect())
}

/// Variables in first-definition order; setting a name again replaces its value in place
/// (containerd's replaceOrAppendEnvValues).
#[derive(Default)]
struct OrderedEnv {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl OrderedEnv {
    fn set(&mut self, name: &str, value: String) {
        match self.index.get(name) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(name.to_string(), self.entries.len());
                self.entries.push((name.to_string(), value));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.entries[i].1.as_str())
    }
}

/// Fetched ConfigMaps and Secrets with the kubelet's not-found rules.
struct Lookup<'s, 'a> {
    sources: &'s EnvSources<'a>,
}

impl<'s, 'a> Lookup<'s, 'a> {
    /// The referenced ConfigMap; `None` when it is missing and the reference is optional.
    fn config_map(&self, r: &Value) -> Result<Option<&'a Value>, String> {
        let name = r["name"].as_str().unwrap_or_default();
        match self.sources.config_maps.get(name) {
            Some(cm) => Ok(Some(*cm)),
            None if optional(r) => Ok(None),
            // The kubelet's configmap manager reports the resource in the singular.
            None => Err(format!("configmap {name:?} not found")),
        }
    }

    fn secret(&self, r: &Value) -> Result<Option<&'a Value>, String> {
        let name = r["name"].as_str().unwrap_or_default();
        match self.sources.secrets.get(name) {
            Some(s) => Ok(Some(*s)),
            None if optional(r) => Ok(None),
            None => Err(format!("secret {name:?} not found")),
        }
    }
}

fn optional(r: &Value) -> bool {
    r["optional"].as_bool().unwrap_or(false)
}

/// The pod's hostname as the kubelet gives it to the sandbox: spec.hostname, else the pod
/// name cut to 63 characters (without a trailing `-` or `.`); the node's with hostNetwork.
fn pod_hostname(pod: &Value) -> String {
    if pod["spec"]["hostNetwork"].as_bool() == Some(true) {
        return nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
    }
    if let Some(h) = pod["spec"]["hostname"].as_str().filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    if name.len() <= 63 {
        return name.to_string();
    }
    // Pod names are DNS subdomains (ASCII), so cutting at a byte index is safe; guard anyway.
    let cut = name.get(..63).unwrap_or(name);
    cut.trim_end_matches(['-', '.']).to_string()
}

/// Kubernetes' IsEnvVarName: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub fn is_env_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-._".contains(c))
}

/// A Secret's `data` value, stored in base64; the bytes become the variable's value.
fn decode_secret_value(value: &str, name: &str) -> Result<String, String> {
    base64_decode(value)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or_else(|| format!("secret value for {name} is not valid base64"))
}

/// Standard base64 with optional padding (the API server has validated it already).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !matches!(c, b'\r' | b'\n')) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
#[path = "env_tests.rs"]
mod tests;
