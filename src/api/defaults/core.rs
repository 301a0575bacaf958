//! Core/v1 defaults other than pods: Service, Secret, Namespace, PersistentVolumeClaim,
//! PersistentVolume, Endpoints.

use super::{canonical_resource_list, child, default_str, default_value, each_item, ensure_child};
use serde_json::{Map, Value, json};

pub(super) fn service(obj: &mut Map<String, Value>) {
    let Some(spec) = child(obj, "spec") else {
        return;
    };
    default_str(spec, "sessionAffinity", "None");
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP")
        && let Some(client_ip) =
            ensure_child(spec, "sessionAffinityConfig").and_then(|c| ensure_child(c, "clientIP"))
    {
        default_value(client_ip, "timeoutSeconds", json!(10800));
    }
    default_str(spec, "type", "ClusterIP");
    for p in each_item(spec, "ports") {
        default_str(p, "protocol", "TCP");
        let target_unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(v) => v.as_i64() == Some(0),
        };
        if target_unset
            && let Some(port) = p.get("port").filter(|v| v.is_i64() || v.is_u64()).cloned()
        {
            p.insert("targetPort".into(), port);
        }
    }
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let externally_accessible =
        ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && has_external_ips);
    if externally_accessible {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(ty.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        default_value(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default_value(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

/// Type `Opaque`, and `stringData` folded into `data` as the API server does when it decodes a
/// Secret (`stringData` is write-only: it wins over `data` and is never stored).
pub(super) fn secret(obj: &mut Map<String, Value>) {
    default_str(obj, "type", "Opaque");
    let Some(Value::Object(string_data)) = obj.get("stringData").cloned() else {
        return;
    };
    if string_data.values().any(|v| !v.is_string()) {
        // Leave malformed stringData for schema checking to report.
        return;
    }
    obj.remove("stringData");
    let Some(data) = ensure_child(obj, "data") else {
        return;
    };
    for (k, v) in string_data {
        let text = v.as_str().unwrap_or_default();
        data.insert(k, Value::String(base64_encode(text.as_bytes())));
    }
}

pub(super) fn namespace(obj: &mut Map<String, Value>) {
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty()
        && let Some(labels) = ensure_child(obj, "metadata").and_then(|m| ensure_child(m, "labels"))
    {
        labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
    }
    if let Some(spec) = ensure_child(obj, "spec") {
        default_value(spec, "finalizers", json!(["kubernetes"]));
    }
    if let Some(status) = ensure_child(obj, "status") {
        default_str(status, "phase", "Active");
    }
}

pub(super) fn persistent_volume_claim(obj: &mut Map<String, Value>) {
    default_claim(obj);
}

/// Also used for StatefulSet `volumeClaimTemplates`, which Kubernetes defaults as claims.
pub(super) fn default_claim(obj: &mut Map<String, Value>) {
    if let Some(spec) = child(obj, "spec") {
        default_value(spec, "volumeMode", json!("Filesystem"));
        if let Some(resources) = child(spec, "resources") {
            canonical_resource_list(resources, "requests");
            canonical_resource_list(resources, "limits");
        }
    }
    if let Some(status) = ensure_child(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

pub(super) fn persistent_volume(obj: &mut Map<String, Value>) {
    if let Some(spec) = child(obj, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_value(spec, "volumeMode", json!("Filesystem"));
        canonical_resource_list(spec, "capacity");
    }
    if let Some(status) = ensure_child(obj, "status") {
        default_str(status, "phase", "Pending");
    }
}

pub(super) fn endpoints(obj: &mut Map<String, Value>) {
    for subset in each_item(obj, "subsets") {
        for p in each_item(subset, "ports") {
            default_str(p, "protocol", "TCP");
        }
    }
}

/// Standard base64 with padding (what Go's encoding/json does for `[]byte`).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
