//! ConfigMap, Secret, Namespace, PersistentVolumeClaim and PersistentVolume validation.

use super::pod::quantity_reason;
use super::{Errs, Path, at, get, items, object, string};
use crate::api::quantity::Quantity;
use serde_json::Value;

/// Largest total size of a ConfigMap's or Secret's data.
pub(crate) const MAX_SECRET_SIZE: usize = 1024 * 1024;

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];

pub(super) fn config_map(obj: &Value, errs: &mut Errs) {
    let data = object(obj, "data");
    let binary = object(obj, "binaryData");
    let mut total = 0;
    for (k, v) in data.into_iter().flatten() {
        let kp = Path::root("data").key(k);
        errs.invalid_each(&kp, k, super::names::is_config_map_key(k));
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.invalid_str(&kp, k, "duplicate of key present in binaryData");
        }
        total += v.as_str().map_or(0, str::len);
    }
    for (k, v) in binary.into_iter().flatten() {
        let kp = Path::root("binaryData").key(k);
        errs.invalid_each(&kp, k, super::names::is_config_map_key(k));
        match v.as_str().map(base64_decode) {
            Some(Ok(bytes)) => total += bytes.len(),
            Some(Err(e)) => errs.invalid_str(&kp, "<binary data redacted>", e),
            None => {}
        }
    }
    if total > MAX_SECRET_SIZE {
        errs.too_long(&Path::root(""), MAX_SECRET_SIZE);
    }
}

pub(super) fn secret(obj: &Value, errs: &mut Errs) {
    let data_path = Path::root("data");
    let data = object(obj, "data");
    let mut total = 0;
    for (k, v) in data.into_iter().flatten() {
        let kp = data_path.key(k);
        errs.invalid_each(&kp, k, super::names::is_config_map_key(k));
        match v.as_str().map(base64_decode) {
            Some(Ok(bytes)) => total += bytes.len(),
            Some(Err(e)) => errs.invalid_str(&kp, "<secret contents redacted>", e),
            None => {}
        }
    }
    if total > MAX_SECRET_SIZE {
        errs.too_long(&data_path, MAX_SECRET_SIZE);
    }
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
    let non_empty = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    match string(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let key = "kubernetes.io/service-account.name";
            if at(at(obj, "metadata"), "annotations")
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                errs.required(&Path::root("metadata").child("annotations").key(key), "");
            }
        }
        "kubernetes.io/dockercfg" => require_json(data, ".dockercfg", errs),
        "kubernetes.io/dockerconfigjson" => require_json(data, ".dockerconfigjson", errs),
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.required(&data_path.key("username"), "");
            errs.required(&data_path.key("password"), "");
        }
        "kubernetes.io/ssh-auth" if !non_empty("ssh-privatekey") => {
            errs.required(&data_path.key("ssh-privatekey"), "");
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.required(&data_path.key(k), "");
                }
            }
        }
        _ => {}
    }
}

/// A docker config secret key must hold well-formed JSON.
fn require_json(data: Option<&serde_json::Map<String, Value>>, key: &str, errs: &mut Errs) {
    let kp = Path::root("data").key(key);
    let Some(v) = data.and_then(|d| d.get(key)).and_then(Value::as_str) else {
        errs.required(&kp, "");
        return;
    };
    let Ok(bytes) = base64_decode(v) else { return };
    if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
        errs.invalid_str(&kp, "<secret contents redacted>", e);
    }
}

pub(super) fn namespace(obj: &Value, errs: &mut Errs) {
    // Namespace finalizers must be standard (`kubernetes`) or domain-qualified.
    let p = Path::root("spec").child("finalizers");
    for f in items(at(obj, "spec"), "finalizers") {
        let f = f.as_str().unwrap_or("");
        errs.invalid_each(&p, f, super::names::is_qualified_name(f));
        if !f.contains('/') && f != "kubernetes" {
            errs.invalid_str(
                &p,
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            );
        }
    }
}

pub(super) fn persistent_volume_claim(obj: &Value, errs: &mut Errs) {
    validate_claim_spec(at(obj, "spec"), &Path::root("spec"), errs);
}

pub(crate) fn validate_claim_spec(spec: &Value, path: &Path, errs: &mut Errs) {
    validate_access_modes(spec, path, errs);
    let requests = at(spec, "resources").get("requests");
    match requests
        .and_then(|r| r.get("storage"))
        .filter(|v| !v.is_null())
    {
        None => errs.required(&path.child("resources").key("storage"), ""),
        Some(v) => {
            let p = path.child("resources").key("storage");
            match Quantity::from_json(v) {
                Ok(q) if q <= Quantity::zero() => {
                    errs.invalid(&p, &q.to_json(), "must be greater than zero")
                }
                Ok(_) => {}
                Err(_) => errs.invalid(&p, v, quantity_reason(v)),
            }
        }
    }
    validate_volume_mode(spec, path, errs);
}

fn validate_access_modes(spec: &Value, path: &Path, errs: &mut Errs) {
    let modes = items(spec, "accessModes");
    if modes.is_empty() {
        errs.required(
            &path.child("accessModes"),
            "at least 1 access mode is required",
        );
    }
    for m in modes {
        if !m.as_str().is_some_and(|s| ACCESS_MODES.contains(&s)) {
            errs.not_supported(&path.child("accessModes"), m, ACCESS_MODES);
        }
    }
    let has_once_pod = modes.iter().any(|m| m.as_str() == Some("ReadWriteOncePod"));
    if has_once_pod && modes.len() > 1 {
        errs.forbidden(
            &path.child("accessModes"),
            "may not use ReadWriteOncePod with other access modes",
        );
    }
}

fn validate_volume_mode(spec: &Value, path: &Path, errs: &mut Errs) {
    if let Some(mode) = get(spec, "volumeMode")
        && !matches!(mode.as_str(), Some("Block" | "Filesystem"))
    {
        errs.not_supported(&path.child("volumeMode"), mode, &["Block", "Filesystem"]);
    }
}

pub(super) fn persistent_volume(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    validate_access_modes(spec, &path, errs);
    match at(spec, "capacity").get("storage").filter(|v| !v.is_null()) {
        None => errs.required(&path.child("capacity"), ""),
        Some(v) => {
            let p = path.child("capacity").key("storage");
            match Quantity::from_json(v) {
                Ok(q) if q <= Quantity::zero() => {
                    errs.invalid(&p, &q.to_json(), "must be greater than zero")
                }
                Ok(_) => {}
                Err(_) => errs.invalid(&p, v, quantity_reason(v)),
            }
        }
    }
    let policy = string(spec, "persistentVolumeReclaimPolicy");
    if !matches!(policy, "Delete" | "Recycle" | "Retain") {
        errs.not_supported(
            &path.child("persistentVolumeReclaimPolicy"),
            &Value::from(policy),
            &["Delete", "Recycle", "Retain"],
        );
    }
    const SOURCES: &[&str] = &[
        "hostPath",
        "local",
        "nfs",
        "csi",
        "iscsi",
        "fc",
        "rbd",
        "cephfs",
        "glusterfs",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "azureDisk",
        "azureFile",
        "cinder",
        "flexVolume",
        "flocker",
        "vsphereVolume",
        "quobyte",
        "photonPersistentDisk",
        "portworxVolume",
        "scaleIO",
        "storageos",
    ];
    let present: Vec<&str> = SOURCES
        .iter()
        .copied()
        .filter(|s| get(spec, s).is_some())
        .collect();
    match present.as_slice() {
        [] => errs.required(&path, "must specify a volume type"),
        [_, rest @ ..] => {
            for extra in rest {
                errs.forbidden(
                    &path.child(extra),
                    "may not specify more than 1 volume type",
                );
            }
        }
    }
    for source in ["hostPath", "local"] {
        if let Some(s) = get(spec, source)
            && string(s, "path").is_empty()
        {
            errs.required(&path.child(source).child("path"), "");
        }
    }
    validate_volume_mode(spec, &path, errs);
}

/// Standard base64 with padding, as Go's encoding/json reads `[]byte` (line breaks ignored);
/// the error is Go's `illegal base64 data at input byte N`.
pub(crate) fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let symbols: Vec<(usize, u8)> = s
        .bytes()
        .enumerate()
        .filter(|(_, c)| *c != b'\r' && *c != b'\n')
        .collect();
    let err = |i: usize| format!("illegal base64 data at input byte {i}");
    let quads = symbols.len().div_ceil(4);
    let mut out = Vec::with_capacity(quads * 3);
    for (q, quad) in symbols.chunks(4).enumerate() {
        let mut n = 0u32;
        let mut data = 0;
        for (k, &(i, c)) in quad.iter().enumerate() {
            if c == b'=' {
                // Padding may only fill the last one or two places of the last quantum.
                if k < 2 {
                    return Err(err(i));
                }
                if let Some(&(j, _)) = quad[k..].iter().find(|(_, c)| *c != b'=') {
                    return Err(err(j));
                }
                break;
            }
            n = n << 6 | value(c).ok_or_else(|| err(i))?;
            data += 1;
        }
        let padded = data < quad.len();
        if quad.len() < 4 {
            // Go reports where the incomplete quantum starts.
            return Err(err(quad[0].0));
        }
        if padded && q + 1 < quads {
            // Go stops after the padding and reports the data that follows.
            return Err(err(quad[3].0 + 1));
        }
        n <<= 6 * (4 - data) as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..data - 1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;
    use crate::api::defaults::base64_encode as encode;

    #[test]
    fn base64_round_trips_and_reports_go_offsets() {
        for text in ["", "a", "ab", "abc", "hello, world!", "\u{0}\u{ff}"] {
            assert_eq!(
                base64_decode(&encode(text.as_bytes())).unwrap(),
                text.as_bytes()
            );
        }
        assert_eq!(base64_decode("aGk=\n").unwrap(), b"hi");
        assert_eq!(
            base64_decode("a$==").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
        assert_eq!(
            base64_decode("abc").unwrap_err(),
            "illegal base64 data at input byte 0"
        );
        assert_eq!(
            base64_decode("ab==abcd").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            base64_decode("a===").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
    }
}
