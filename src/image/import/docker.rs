//! docker-save archives: `manifest.json` lists each image's config file, layer tars and
//! `RepoTags`. Both the classic layout (`<id>/layer.tar`, `<id>.json`) and docker ≥ 25's
//! (`blobs/sha256/…`) work; the legacy `repositories` file is not needed. Each image is
//! stored with a generated OCI manifest; its config blob is kept byte for byte, so the image
//! id is the one docker showed.

use super::source::Source;
use crate::image::spec::{self, ConfigFile, Descriptor, MAX_JSON, Manifest};
use crate::image::store::ImageStore;
use crate::image::unpack::{detect_compression, layer_media_type};
use crate::image::{ImageError, ImportedImage, Reference, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

pub fn import(
    store: &ImageStore,
    src: &dyn Source,
    name: Option<Reference>,
) -> Result<Vec<ImportedImage>> {
    let shown = src.shown().to_string();
    let entries: Vec<Entry> = spec::parse_json(
        &src.read_small("manifest.json", MAX_JSON)?,
        &format!("{shown}: manifest.json"),
    )?;
    if entries.is_empty() {
        return Err(ImageError::Invalid(format!(
            "{shown}: manifest.json lists no images"
        )));
    }
    if name.is_some() && entries.len() > 1 {
        return Err(ImageError::Invalid(format!(
            "{shown} holds {} images: import it without a name to keep theirs",
            entries.len()
        )));
    }
    let mut out = Vec::new();
    for entry in entries {
        let names = match &name {
            Some(n) => vec![n.clone()],
            None => repo_tags(&entry, &shown)?,
        };
        let manifest = store_image(store, src, &entry)?;
        out.push(store.add_image(&manifest, &names, &[])?);
    }
    Ok(out)
}

fn repo_tags(entry: &Entry, shown: &str) -> Result<Vec<Reference>> {
    let tags = entry.repo_tags.as_deref().unwrap_or_default();
    tags.iter()
        .map(|t| {
            Reference::parse(t)
                .map_err(|e| ImageError::Invalid(format!("{shown}: manifest.json: RepoTags: {e}")))
        })
        .collect()
}

/// Copy the config and layers into the store and write an OCI manifest for them.
fn store_image(
    store: &ImageStore,
    src: &dyn Source,
    entry: &Entry,
) -> Result<crate::image::Digest> {
    let shown = src.shown();
    let config_bytes = src.read_small(&entry.config, MAX_JSON)?;
    let config: ConfigFile =
        spec::parse_json(&config_bytes, &format!("{shown}: {}", entry.config))?;
    if config.rootfs.diff_ids.len() != entry.layers.len() {
        return Err(ImageError::Invalid(format!(
            "{shown}: {} lists {} layers but its config {} diffIDs",
            entry.config,
            entry.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let config_digest = store
        .blobs
        .put_bytes(&config_bytes, &format!("{shown}: {}", entry.config))?;
    let mut layers = Vec::new();
    for path in &entry.layers {
        let what = format!("{shown}: layer {path}");
        let (digest, size) = store.blobs.put(src.open(path)?, None, &what)?;
        let mut head = [0u8; 8];
        let n = store
            .blobs
            .open(&digest, "layer")?
            .read(&mut head)
            .map_err(ImageError::io(format!("reading {what}")))?;
        let compression = detect_compression(&head[..n], &what)?;
        layers.push(Descriptor {
            media_type: layer_media_type(compression).to_string(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
        });
    }
    let manifest = Manifest::oci(config_digest, config_bytes.len() as u64, layers);
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|e| ImageError::Invalid(format!("{shown}: encoding the manifest: {e}")))?;
    store.blobs.put_bytes(&bytes, "manifest")
}
