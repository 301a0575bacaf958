//! The files of configMap, secret, downwardAPI and projected volumes, computed from the
//! objects they refer to, with the kubelet's rules for items, modes and optional sources.

use super::atomic::{FileData, Payload};
use super::{VolumeError, VolumeSources};
use crate::api::object::ObjectExt;
use crate::api::quantity::Quantity;
use serde_json::Value;
use std::path::Path;

/// The default file mode of these volumes (0644).
pub const DEFAULT_MODE: u32 = 0o644;

fn mode_of(v: Option<&Value>, default: u32) -> u32 {
    v.and_then(Value::as_u64)
        .map(|m| (m as u32) & 0o777)
        .unwrap_or(default)
}

fn err(volume: &str, message: impl Into<String>) -> VolumeError {
    VolumeError {
        volume: volume.to_string(),
        message: message.into(),
    }
}

/// key → bytes of a ConfigMap (data and binaryData) or a Secret (data, base64-decoded).
fn object_data(obj: &Value, secret: bool) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let decoded = |k: &str, v: &Value| -> Result<Vec<u8>, String> {
        base64_decode(v.as_str().unwrap_or(""))
            .map_err(|e| format!("cannot decode key {k} of {}: {e}", obj.name()))
    };
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let bytes = if secret {
                decoded(k, v)?
            } else {
                v.as_str().unwrap_or("").as_bytes().to_vec()
            };
            out.push((k.clone(), bytes));
        }
    }
    if !secret && let Some(data) = obj.get("binaryData").and_then(Value::as_object) {
        for (k, v) in data {
            out.push((k.clone(), decoded(k, v)?));
        }
    }
    Ok(out)
}

/// Files of one configMap or secret source (a volume or a projected source).
/// `Ok(None)` when the object is missing and the source is optional.
fn key_files(
    volume: &str,
    source: &Value,
    secret: bool,
    sources: &VolumeSources<'_>,
    default_mode: u32,
    payload: &mut Payload,
) -> Result<(), VolumeError> {
    let (name_field, what, objects) = if secret {
        ("secretName", "secret", &sources.secrets)
    } else {
        ("name", "configmap", &sources.config_maps)
    };
    // A secret volume names its secret with secretName; a projected secret source with name.
    let name = source
        .get(name_field)
        .or_else(|| source.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let optional = source
        .get("optional")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let Some(obj) = objects.get(name) else {
        if optional {
            return Ok(());
        }
        return Err(err(volume, format!("{what} \"{name}\" not found")));
    };
    let data = object_data(obj, secret).map_err(|e| err(volume, e))?;
    let items = source.get("items").and_then(Value::as_array);
    match items {
        Some(items) if !items.is_empty() => {
            for item in items {
                let key = item.get("key").and_then(Value::as_str).unwrap_or("");
                let path = item.get("path").and_then(Value::as_str).unwrap_or("");
                let Some((_, bytes)) = data.iter().find(|(k, _)| k == key) else {
                    if optional {
                        continue;
                    }
                    return Err(err(
                        volume,
                        format!("{what} references non-existent config key: {key}"),
                    ));
                };
                let mode = mode_of(item.get("mode"), default_mode);
                insert(volume, payload, path, bytes.clone(), mode)?;
            }
        }
        _ => {
            for (k, bytes) in data {
                insert(volume, payload, &k, bytes, default_mode)?;
            }
        }
    }
    Ok(())
}

fn insert(
    volume: &str,
    payload: &mut Payload,
    path: &str,
    bytes: Vec<u8>,
    mode: u32,
) -> Result<(), VolumeError> {
    super::atomic::check_path(path).map_err(|e| err(volume, e))?;
    payload.insert(path.to_string(), FileData { bytes, mode });
    Ok(())
}

/// The files of a configMap volume (`secret: false`) or a secret volume (`secret: true`).
pub fn key_volume(
    volume: &str,
    source: &Value,
    secret: bool,
    sources: &VolumeSources<'_>,
) -> Result<Payload, VolumeError> {
    let mut payload = Payload::new();
    let mode = mode_of(source.get("defaultMode"), DEFAULT_MODE);
    key_files(volume, source, secret, sources, mode, &mut payload)?;
    Ok(payload)
}

pub fn downward_api(
    volume: &str,
    source: &Value,
    pod: &Value,
    sources: &VolumeSources<'_>,
    pod_dir: &Path,
) -> Result<Payload, VolumeError> {
    let mut payload = Payload::new();
    let mode = mode_of(source.get("defaultMode"), DEFAULT_MODE);
    downward_items(volume, source, pod, sources, pod_dir, mode, &mut payload)?;
    Ok(payload)
}

fn downward_items(
    volume: &str,
    source: &Value,
    pod: &Value,
    sources: &VolumeSources<'_>,
    pod_dir: &Path,
    default_mode: u32,
    payload: &mut Payload,
) -> Result<(), VolumeError> {
    for item in source
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let path = item.get("path").and_then(Value::as_str).unwrap_or("");
        let text = if let Some(f) = item.get("fieldRef") {
            let field = f.get("fieldPath").and_then(Value::as_str).unwrap_or("");
            field_value(pod, field, sources).map_err(|e| err(volume, e))?
        } else if let Some(r) = item.get("resourceFieldRef") {
            resource_value(pod, r, pod_dir).map_err(|e| err(volume, e))?
        } else {
            return Err(err(
                volume,
                format!("item {path:?} needs fieldRef or resourceFieldRef"),
            ));
        };
        let mode = mode_of(item.get("mode"), default_mode);
        insert(volume, payload, path, text.into_bytes(), mode)?;
    }
    Ok(())
}

pub fn projected(
    volume: &str,
    source: &Value,
    pod: &Value,
    sources: &VolumeSources<'_>,
    pod_dir: &Path,
) -> Result<Payload, VolumeError> {
    let mut payload = Payload::new();
    let mode = mode_of(source.get("defaultMode"), DEFAULT_MODE);
    for s in source
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(cm) = s.get("configMap") {
            key_files(volume, cm, false, sources, mode, &mut payload)?;
        } else if let Some(sec) = s.get("secret") {
            key_files(volume, sec, true, sources, mode, &mut payload)?;
        } else if let Some(d) = s.get("downwardAPI") {
            downward_items(volume, d, pod, sources, pod_dir, mode, &mut payload)?;
        }
        // serviceAccountToken (and clusterTrustBundle, podCertificate) need an issuer that
        // peapod does not have: those sources write no file.
    }
    Ok(payload)
}

/// A downward API fieldRef, as the kubelet formats it for files.
pub fn field_value(
    pod: &Value,
    field: &str,
    sources: &VolumeSources<'_>,
) -> Result<String, String> {
    let subscript = |prefix: &str| -> Option<String> {
        let rest = field.strip_prefix(prefix)?.strip_prefix("['")?;
        rest.strip_suffix("']").map(str::to_string)
    };
    Ok(match field {
        "metadata.name" => pod.name().to_string(),
        "metadata.namespace" => pod.namespace().unwrap_or("default").to_string(),
        "metadata.uid" => pod.uid().to_string(),
        "metadata.labels" => format_map(&pod.labels()),
        "metadata.annotations" => format_map(&pod.annotations()),
        "spec.nodeName" => pod
            .str_at("/spec/nodeName")
            .unwrap_or(&sources.node_name)
            .to_string(),
        "spec.serviceAccountName" => pod
            .str_at("/spec/serviceAccountName")
            .unwrap_or("")
            .to_string(),
        "status.podIP" => sources.pod_ip.clone(),
        _ => {
            if let Some(k) = subscript("metadata.labels") {
                pod.label(&k).unwrap_or("").to_string()
            } else if let Some(k) = subscript("metadata.annotations") {
                pod.annotation(&k).unwrap_or("").to_string()
            } else {
                return Err(format!("unsupported fieldRef fieldPath {field:?}"));
            }
        }
    })
}

/// Labels and annotations: `key="value"` lines sorted by key, values quoted as Go's %q.
pub fn format_map(m: &std::collections::BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A resourceFieldRef: the container's limit or request divided by the divisor, rounded up;
/// a missing limit is the node's allocatable (here: the machine's).
pub fn resource_value(pod: &Value, r: &Value, pod_dir: &Path) -> Result<String, String> {
    let container_name = r.get("containerName").and_then(Value::as_str).unwrap_or("");
    let resource = r.get("resource").and_then(Value::as_str).unwrap_or("");
    let spec = pod.get("spec");
    let container = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| spec.and_then(|s| s.get(*k)).and_then(Value::as_array))
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container_name))
        .ok_or_else(|| format!("container {container_name:?} not found in the pod"))?;
    let (section, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported resource {resource:?}"))?;
    if !matches!(section, "limits" | "requests") {
        return Err(format!("unsupported resource {resource:?}"));
    }
    let set = container
        .pointer(&format!("/resources/{section}/{name}"))
        .map(Quantity::from_json)
        .transpose()?;
    let quantity = match (set, section) {
        (Some(q), _) => q,
        (None, "limits") => allocatable(name, pod_dir)?,
        (None, _) => Quantity::zero(),
    };
    let divisor = match r.get("divisor") {
        Some(d) => Quantity::from_json(d)?,
        None => Quantity::zero(),
    };
    let ceil_div = |n: i128, d: i128| if d <= 0 { n } else { (n + d - 1).div_euclid(d) };
    Ok(if name == "cpu" {
        let d = if divisor.is_zero() {
            1000
        } else {
            divisor.milli_value()
        };
        ceil_div(quantity.milli_value(), d)
    } else {
        let d = if divisor.is_zero() {
            1
        } else {
            divisor.value()
        };
        ceil_div(quantity.value(), d)
    }
    .to_string())
}

fn allocatable(name: &str, pod_dir: &Path) -> Result<Quantity, String> {
    use crate::api::quantity::QuantityFormat;
    let v = match name {
        "cpu" => std::thread::available_parallelism()
            .map(|n| n.get() as i128)
            .unwrap_or(1),
        "memory" => std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<i128>().ok())
            })
            .map(|kb| kb * 1024)
            .unwrap_or(0),
        "ephemeral-storage" => nix::sys::statvfs::statvfs(pod_dir)
            .map(|s| s.blocks() as i128 * s.fragment_size() as i128)
            .unwrap_or(0),
        _ => 0,
    };
    Ok(Quantity::from_value(v, QuantityFormat::BinarySI))
}

/// Standard base64 with padding, as Secret data is stored.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err("illegal base64 data: length is not a multiple of 4".into());
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err(format!("illegal base64 data at input byte {}", i * 4));
        }
        let mut n = 0u32;
        for (j, &c) in chunk.iter().enumerate() {
            let v = if j >= 4 - pad {
                0
            } else {
                val(c).ok_or_else(|| format!("illegal base64 data at input byte {}", i * 4 + j))?
            };
            n = n << 6 | v;
        }
        let b = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&b[..3 - pad]);
    }
    Ok(out)
}
