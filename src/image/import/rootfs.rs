//! A plain root filesystem tar (plain or gzip), as `podman import`: a one-layer image with a
//! generated OCI config, changed by `--change` instructions. Each import makes a new config
//! (it records the time), hence a new image id, as podman's does.

use super::changes::apply_changes;
use crate::image::spec::{self, ConfigFile, Descriptor, Manifest, RootFs, RunConfig};
use crate::image::store::ImageStore;
use crate::image::unpack::{detect_compression, layer_media_type};
use crate::image::{ImageError, ImportedImage, Reference, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// containerd's default PATH, given so a container of the image finds its commands.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn import(
    store: &ImageStore,
    path: &Path,
    shown: &str,
    name: Option<Reference>,
    changes: &[String],
) -> Result<ImportedImage> {
    let mut run = RunConfig {
        env: Some(vec![DEFAULT_PATH.to_string()]),
        ..Default::default()
    };
    apply_changes(&mut run, changes)?;
    let file = File::open(path).map_err(ImageError::io(format!("opening {shown}")))?;
    let (digest, size) = store.blobs.put(file, None, shown)?;
    let mut head = [0u8; 8];
    let n = store
        .blobs
        .open(&digest, "layer")?
        .read(&mut head)
        .map_err(ImageError::io(format!("reading {shown}")))?;
    let layer = Descriptor {
        media_type: layer_media_type(detect_compression(&head[..n], shown)?).to_string(),
        digest,
        size,
        platform: None,
        annotations: BTreeMap::new(),
    };
    let diff_id = store.unpack_new_layer(&layer)?;
    let now = jiff::Timestamp::now().to_string();
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (os, arch) = spec::host_platform();
    let config = ConfigFile {
        created: Some(now.clone()),
        architecture: arch.to_string(),
        os: os.to_string(),
        config: run,
        rootfs: RootFs {
            kind: "layers".to_string(),
            diff_ids: vec![diff_id],
        },
        history: vec![serde_json::json!({
            "created": now,
            "created_by": "peapod image import",
            "comment": format!("imported from {base}"),
        })],
    };
    let config_bytes = serde_json::to_vec(&config)
        .map_err(|e| ImageError::Invalid(format!("encoding the image config: {e}")))?;
    let config_digest = store.blobs.put_bytes(&config_bytes, "image config")?;
    let manifest = Manifest::oci(config_digest, config_bytes.len() as u64, vec![layer]);
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|e| ImageError::Invalid(format!("encoding the manifest: {e}")))?;
    let manifest_digest = store.blobs.put_bytes(&bytes, "manifest")?;
    let names: Vec<Reference> = name.into_iter().collect();
    store.add_image(&manifest_digest, &names, &[])
}
