//! The parts of the OCI image spec (and docker's equivalents) the store reads and writes.

use super::ImageError;
use super::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// The annotation an OCI layout's index.json names its images with.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd (and docker ≥ 25 saves) put the full reference here.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The most a manifest, index or config may weigh: they are read into memory.
pub const MAX_JSON: u64 = 16 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (OCI, or docker schema 2 which has the same shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// An OCI image manifest for a config blob of `config_size` bytes and its layers.
    pub fn oci(config_digest: Digest, config_size: u64, layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: OCI_MANIFEST.to_string(),
            config: Descriptor {
                media_type: OCI_CONFIG.to_string(),
                digest: config_digest,
                size: config_size,
                platform: None,
                annotations: BTreeMap::new(),
            },
            layers,
            annotations: BTreeMap::new(),
        }
    }
}

/// An image index / docker manifest list, and an OCI layout's index.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

/// The image configuration blob (`application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub config: RunConfig,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<serde_json::Value>,
}

/// The `config` object of an image configuration: how containers run by default.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct RunConfig {
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(
        rename = "ExposedPorts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

/// Parse JSON, saying which document was bad.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ImageError> {
    serde_json::from_slice(bytes).map_err(|e| ImageError::Invalid(format!("{what}: {e}")))
}

/// Whether a media type (or an empty one, as in old layouts) is an image index.
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// The platform images are chosen for: this machine's (linux/amd64 on x86_64).
pub fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    ("linux", arch)
}

/// Check a config's os/architecture (when given) against this machine.
pub fn check_platform(config: &ConfigFile, what: &str) -> Result<(), ImageError> {
    let (os, arch) = host_platform();
    let wrong_os = !config.os.is_empty() && config.os != os;
    let wrong_arch = !config.architecture.is_empty() && config.architecture != arch;
    if wrong_os || wrong_arch {
        return Err(ImageError::Invalid(format!(
            "{what} is for {}/{}, this machine runs {os}/{arch}",
            config.os, config.architecture
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trip_keeps_docker_field_names() {
        let j = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/w",
                       "Labels": {"a": "b"}, "StopSignal": "SIGINT"},
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(b"").to_string()]}
        });
        let c: ConfigFile = serde_json::from_value(j).unwrap();
        assert_eq!(c.config.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(c.config.working_dir.as_deref(), Some("/w"));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(back["config"]["StopSignal"], "SIGINT");
        assert_eq!(back["rootfs"]["type"], "layers");
        assert!(back["config"].get("Entrypoint").is_none());
    }

    #[test]
    fn platform_check() {
        let (os, arch) = host_platform();
        let mut c = ConfigFile {
            os: os.into(),
            architecture: arch.into(),
            ..Default::default()
        };
        check_platform(&c, "image x").unwrap();
        c.architecture = "s390x".into();
        let e = check_platform(&c, "image x").unwrap_err().to_string();
        assert!(e.contains("image x is for linux/s390x"), "{e}");
        c.architecture.clear();
        check_platform(&c, "image x").unwrap();
    }

    #[test]
    fn bad_json_names_the_document() {
        let e = parse_json::<Manifest>(b"{", "manifest sha256:x").unwrap_err();
        assert!(e.to_string().starts_with("manifest sha256:x:"), "{e}");
    }
}
