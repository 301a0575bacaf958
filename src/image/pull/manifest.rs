//! Manifests as registries serve them: which kinds are asked for, picking this machine's
//! entry of an image index, and docker schema-2 manifests stored as OCI ones.

use crate::image::Digest;
use crate::image::spec::{self, Descriptor, Index, Manifest};

/// Every manifest kind we read, OCI first.
pub fn accept() -> String {
    [
        spec::OCI_MANIFEST,
        spec::OCI_INDEX,
        spec::DOCKER_MANIFEST,
        spec::DOCKER_LIST,
    ]
    .join(", ")
}

/// What a fetched manifest document is.
pub enum Kind {
    Index(Index),
    /// With whether it is docker's schema 2 (stored converted to OCI).
    Image(Manifest, bool),
}

/// Classify a manifest by its mediaType field, else the Content-Type, else its shape.
pub fn classify(bytes: &[u8], content_type: &str, what: &str) -> Result<Kind, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{what} is not valid JSON: {e}"))?;
    let media_type = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty())
        .unwrap_or(content_type)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if value.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1)
        || media_type.starts_with("application/vnd.docker.distribution.manifest.v1")
    {
        return Err(format!(
            "{what} is a docker schema 1 manifest, which is not supported: push the image again with a current docker or skopeo"
        ));
    }
    if spec::is_index(&media_type) || value.get("manifests").is_some() {
        return serde_json::from_value(value)
            .map(Kind::Index)
            .map_err(|e| format!("{what}: bad image index: {e}"));
    }
    let docker = media_type == spec::DOCKER_MANIFEST;
    if !(docker || media_type == spec::OCI_MANIFEST || value.get("config").is_some()) {
        return Err(format!(
            "{what} has the unsupported media type {media_type:?}"
        ));
    }
    serde_json::from_value(value)
        .map(|m| Kind::Image(m, docker))
        .map_err(|e| format!("{what}: bad image manifest: {e}"))
}

/// The entry for linux/<this machine's architecture> (linux/amd64 here); the variant is
/// not looked at. Attestation entries (`unknown/unknown`) never match.
pub fn pick_platform<'a>(index: &'a Index, what: &str) -> Result<&'a Descriptor, String> {
    let (os, arch) = spec::host_platform();
    index
        .manifests
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == arch)
        })
        .ok_or_else(|| {
            let have: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .filter(|p| p.os != "unknown")
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect();
            format!(
                "{what} has no {os}/{arch} image (it has {})",
                if have.is_empty() {
                    "none with a platform".to_string()
                } else {
                    have.join(", ")
                }
            )
        })
}

/// A docker schema-2 manifest as the OCI manifest the store keeps (same config and layer
/// digests, OCI media types), and its bytes.
pub fn docker_to_oci(mut m: Manifest) -> Result<(Vec<u8>, Digest), String> {
    m.media_type = spec::OCI_MANIFEST.to_string();
    m.config.media_type = spec::OCI_CONFIG.to_string();
    for l in &mut m.layers {
        l.media_type = if l.media_type.contains("gzip") {
            spec::OCI_LAYER_GZIP.to_string()
        } else {
            spec::OCI_LAYER_TAR.to_string()
        };
    }
    let bytes = serde_json::to_vec(&m).map_err(|e| format!("encoding the manifest: {e}"))?;
    let d = Digest::of(&bytes);
    Ok((bytes, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(seed: &str, platform: serde_json::Value) -> serde_json::Value {
        let mut d = json!({
            "mediaType": spec::OCI_MANIFEST,
            "digest": Digest::of(seed.as_bytes()).to_string(),
            "size": 100,
        });
        if !platform.is_null() {
            d["platform"] = platform;
        }
        d
    }

    fn index(entries: Vec<serde_json::Value>) -> Index {
        serde_json::from_value(json!({
            "schemaVersion": 2, "mediaType": spec::OCI_INDEX, "manifests": entries
        }))
        .unwrap()
    }

    #[test]
    fn picks_this_machines_platform_ignoring_the_variant() {
        let (os, arch) = spec::host_platform();
        let ix = index(vec![
            entry("att", json!({"os": "unknown", "architecture": "unknown"})),
            entry(
                "arm",
                json!({"os": "linux", "architecture": "arm", "variant": "v7"}),
            ),
            entry("win", json!({"os": "windows", "architecture": arch})),
            entry(
                "host",
                json!({"os": os, "architecture": arch, "variant": "v3"}),
            ),
            entry("host2", json!({"os": os, "architecture": arch})),
        ]);
        let d = pick_platform(&ix, "image index x").unwrap();
        assert_eq!(d.digest, Digest::of(b"host"), "the first match wins");
    }

    #[test]
    fn no_matching_platform_lists_what_there_is() {
        let ix = index(vec![
            entry("att", json!({"os": "unknown", "architecture": "unknown"})),
            entry("a", json!({"os": "linux", "architecture": "s390x"})),
            entry(
                "b",
                json!({"os": "linux", "architecture": "arm", "variant": "v6"}),
            ),
            entry("c", serde_json::Value::Null),
        ]);
        let e = pick_platform(&ix, "image index x").unwrap_err();
        let (os, arch) = spec::host_platform();
        assert_eq!(
            e,
            format!("image index x has no {os}/{arch} image (it has linux/s390x, linux/arm/v6)")
        );
        let e = pick_platform(&index(vec![]), "image index x").unwrap_err();
        assert!(e.ends_with("(it has none with a platform)"), "{e}");
    }

    #[test]
    fn classification() {
        let config = json!({"mediaType": spec::DOCKER_CONFIG, "digest": Digest::of(b"c").to_string(), "size": 1});
        let layer = json!({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                           "digest": Digest::of(b"l").to_string(), "size": 2});
        let docker = json!({"schemaVersion": 2, "mediaType": spec::DOCKER_MANIFEST,
                            "config": config, "layers": [layer]});
        let bytes = serde_json::to_vec(&docker).unwrap();
        let Ok(Kind::Image(m, true)) = classify(&bytes, "", "manifest x") else {
            panic!("a docker manifest")
        };
        let (oci, d) = docker_to_oci(m).unwrap();
        assert_eq!(Digest::of(&oci), d);
        let back: serde_json::Value = serde_json::from_slice(&oci).unwrap();
        assert_eq!(back["mediaType"], spec::OCI_MANIFEST);
        assert_eq!(back["config"]["mediaType"], spec::OCI_CONFIG);
        assert_eq!(back["layers"][0]["mediaType"], spec::OCI_LAYER_GZIP);
        assert_eq!(back["layers"][0]["digest"], Digest::of(b"l").to_string());

        // No mediaType field: the Content-Type decides.
        let list = json!({"schemaVersion": 2, "manifests": []});
        let bytes = serde_json::to_vec(&list).unwrap();
        assert!(matches!(
            classify(&bytes, spec::DOCKER_LIST, "x"),
            Ok(Kind::Index(_))
        ));
        let v1 = br#"{"schemaVersion": 1, "name": "x", "fsLayers": []}"#;
        let e = classify(
            v1,
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "manifest x",
        )
        .err()
        .unwrap();
        assert!(e.contains("schema 1"), "{e}");
        let e = classify(b"{", "", "manifest x").err().unwrap();
        assert!(e.starts_with("manifest x is not valid JSON"), "{e}");
        let other = br#"{"schemaVersion": 2, "mediaType": "application/vnd.cncf.helm.chart"}"#;
        let e = classify(other, "", "manifest x").err().unwrap();
        assert!(e.contains("unsupported media type"), "{e}");
    }
}
