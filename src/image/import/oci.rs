//! OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/…`), as a directory or a tar.
//! Image indexes (multi-platform images) are resolved to this machine's platform
//! (linux/amd64 here); docker schema-2 manifests are converted to OCI ones. Every blob is
//! checked against its descriptor's digest and size as it is copied.

use super::copy_blob;
use super::source::Source;
use crate::image::digest::Digest;
use crate::image::spec::{self, Descriptor, Index, MAX_JSON, Manifest};
use crate::image::store::ImageStore;
use crate::image::{ImageError, ImportedImage, Reference, Result};

pub fn import(
    store: &ImageStore,
    src: &dyn Source,
    name: Option<Reference>,
) -> Result<Vec<ImportedImage>> {
    let shown = src.shown().to_string();
    let layout: serde_json::Value = spec::parse_json(
        &src.read_small("oci-layout", MAX_JSON)?,
        &format!("{shown}: oci-layout"),
    )?;
    if layout
        .get("imageLayoutVersion")
        .and_then(|v| v.as_str())
        .is_none()
    {
        return Err(ImageError::Invalid(format!(
            "{shown}: oci-layout has no imageLayoutVersion"
        )));
    }
    let index: Index = spec::parse_json(
        &src.read_small("index.json", MAX_JSON)?,
        &format!("{shown}: index.json"),
    )?;
    let chosen = choose(&index.manifests, name.as_ref(), &shown)?;
    let mut out = Vec::new();
    for (desc, names) in chosen {
        let (manifest, also) = store_manifest(store, src, &desc, 0)?;
        out.push(store.add_image(&manifest, &names, &also)?);
    }
    Ok(out)
}

/// The names an index.json entry carries: containerd's full name, or a ref.name that is a
/// full reference. A bare tag (`latest`) names no repository, so it gives no name.
fn annotated_names(d: &Descriptor) -> Vec<Reference> {
    let full = d.annotations.get(spec::CONTAINERD_NAME).or_else(|| {
        d.annotations
            .get(spec::REF_NAME)
            .filter(|n| n.contains(['/', ':']))
    });
    full.and_then(|n| Reference::parse(n).ok())
        .filter(|r| r.digest.is_none())
        .into_iter()
        .collect()
}

/// Which entries of index.json to import, with their names.
fn choose(
    entries: &[Descriptor],
    name: Option<&Reference>,
    shown: &str,
) -> Result<Vec<(Descriptor, Vec<Reference>)>> {
    let named = |d: &Descriptor| match name {
        Some(n) => vec![n.clone()],
        None => annotated_names(d),
    };
    match entries {
        [] => Err(ImageError::Invalid(format!(
            "{shown}: index.json lists no images"
        ))),
        [one] => Ok(vec![(one.clone(), named(one))]),
        _ if entries.iter().all(|d| d.platform.is_some()) => {
            let d = pick_platform(entries, shown, "index.json")?;
            Ok(vec![(d.clone(), named(d))])
        }
        _ => match name {
            None => Ok(entries
                .iter()
                .map(|d| (d.clone(), annotated_names(d)))
                .collect()),
            Some(n) => {
                let hits: Vec<&Descriptor> = entries
                    .iter()
                    .filter(|d| {
                        annotated_names(d).contains(n)
                            || d.annotations.get(spec::REF_NAME) == n.tag.as_ref()
                    })
                    .collect();
                match hits.as_slice() {
                    [d] => Ok(vec![((*d).clone(), vec![n.clone()])]),
                    _ => Err(ImageError::Invalid(format!(
                        "{shown} holds {} images and {} of them match {n}: import it without a name to keep theirs",
                        entries.len(),
                        hits.len()
                    ))),
                }
            }
        },
    }
}

/// The entry for this machine's platform.
fn pick_platform<'a>(entries: &'a [Descriptor], shown: &str, what: &str) -> Result<&'a Descriptor> {
    let (os, arch) = spec::host_platform();
    entries
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == arch)
        })
        .ok_or_else(|| {
            let have: Vec<String> = entries
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect();
            ImageError::Invalid(format!(
                "{shown}: {what} has no {os}/{arch} image (it has {})",
                have.join(", ")
            ))
        })
}

/// Read a JSON blob from the archive, checked against its descriptor.
fn read_blob(src: &dyn Source, desc: &Descriptor, what: &str) -> Result<Vec<u8>> {
    let bytes = src.read_small(&format!("blobs/sha256/{}", desc.digest.hex()), MAX_JSON)?;
    let actual = Digest::of(&bytes);
    if actual != desc.digest {
        return Err(ImageError::Invalid(format!(
            "{}: {what} {} is corrupted (its content hashes to {actual})",
            src.shown(),
            desc.digest
        )));
    }
    Ok(bytes)
}

/// Copy a manifest (through any image index) with its config and layers into the store.
/// Returns the stored OCI manifest's digest and the other digests naming the image.
fn store_manifest(
    store: &ImageStore,
    src: &dyn Source,
    desc: &Descriptor,
    depth: usize,
) -> Result<(Digest, Vec<Digest>)> {
    let shown = src.shown();
    let bytes = read_blob(src, desc, "manifest")?;
    let value: serde_json::Value =
        spec::parse_json(&bytes, &format!("{shown}: manifest {}", desc.digest))?;
    let media_type = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or(&desc.media_type)
        .to_string();
    if spec::is_index(&media_type) || value.get("manifests").is_some() {
        if depth > 1 {
            return Err(ImageError::Invalid(format!(
                "{shown}: image index {} nests too deeply",
                desc.digest
            )));
        }
        let index: Index =
            spec::parse_json(&bytes, &format!("{shown}: image index {}", desc.digest))?;
        let chosen = pick_platform(
            &index.manifests,
            shown,
            &format!("image index {}", desc.digest),
        )?;
        let (m, mut also) = store_manifest(store, src, chosen, depth + 1)?;
        store.blobs.put_bytes(&bytes, "image index")?;
        also.push(desc.digest.clone());
        return Ok((m, also));
    }
    let mut manifest: Manifest =
        spec::parse_json(&bytes, &format!("{shown}: manifest {}", desc.digest))?;
    copy_blob(store, src, &manifest.config, "config")?;
    for layer in &manifest.layers {
        copy_blob(store, src, layer, "layer")?;
    }
    if media_type == spec::DOCKER_MANIFEST {
        // Stored as an OCI manifest; the docker one is kept so its digest still names it.
        store.blobs.put_bytes(&bytes, "manifest")?;
        manifest.media_type = spec::OCI_MANIFEST.to_string();
        manifest.config.media_type = spec::OCI_CONFIG.to_string();
        for l in &mut manifest.layers {
            l.media_type = if l.media_type.contains("gzip") {
                spec::OCI_LAYER_GZIP.to_string()
            } else {
                spec::OCI_LAYER_TAR.to_string()
            };
        }
        let oci = serde_json::to_vec(&manifest)
            .map_err(|e| ImageError::Invalid(format!("{shown}: encoding the manifest: {e}")))?;
        let d = store.blobs.put_bytes(&oci, "manifest")?;
        return Ok((d, vec![desc.digest.clone()]));
    }
    if !(media_type.is_empty() || media_type == spec::OCI_MANIFEST) {
        return Err(ImageError::Invalid(format!(
            "{shown}: {} has the unsupported media type {media_type}",
            desc.digest
        )));
    }
    let d = store.blobs.put_bytes(&bytes, "manifest")?;
    Ok((d, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::spec::Platform;
    use std::collections::BTreeMap;

    fn desc(seed: &str, platform: Option<(&str, &str)>, name: Option<&str>) -> Descriptor {
        let mut annotations = BTreeMap::new();
        if let Some(n) = name {
            annotations.insert(spec::REF_NAME.to_string(), n.to_string());
        }
        Descriptor {
            media_type: spec::OCI_MANIFEST.into(),
            digest: Digest::of(seed.as_bytes()),
            size: 1,
            platform: platform.map(|(os, arch)| Platform {
                os: os.into(),
                architecture: arch.into(),
                variant: None,
            }),
            annotations,
        }
    }

    #[test]
    fn annotations_give_names_only_when_they_are_references() {
        let d = desc("a", None, Some("docker.io/library/busybox:1.36"));
        assert_eq!(
            annotated_names(&d)[0].to_string(),
            "docker.io/library/busybox:1.36"
        );
        let d = desc("a", None, Some("busybox:1.36"));
        assert_eq!(
            annotated_names(&d)[0].to_string(),
            "docker.io/library/busybox:1.36"
        );
        assert!(annotated_names(&desc("a", None, Some("latest"))).is_empty());
        let mut d = desc("a", None, Some("latest"));
        d.annotations
            .insert(spec::CONTAINERD_NAME.into(), "localhost/x:2".into());
        assert_eq!(annotated_names(&d)[0].to_string(), "localhost/x:2");
    }

    #[test]
    fn choosing_entries() {
        let (os, arch) = spec::host_platform();
        let multi = [
            desc("arm", Some(("linux", "arm64x")), None),
            desc("host", Some((os, arch)), None),
        ];
        let got = choose(&multi, None, "x").unwrap();
        assert_eq!(got[0].0.digest, Digest::of(b"host"));
        let e = choose(&multi[..1], None, "x").unwrap();
        assert_eq!(e.len(), 1, "a single entry is taken whatever its platform");
        let only_arm = [
            desc("a", Some(("linux", "s390x")), None),
            desc("b", Some(("linux", "ppc")), None),
        ];
        let e = choose(&only_arm, None, "x").unwrap_err().to_string();
        assert!(
            e.contains("has no linux/") && e.contains("linux/s390x, linux/ppc"),
            "{e}"
        );

        let named = [
            desc("a", None, Some("localhost/a:1")),
            desc("b", None, Some("localhost/b:1")),
        ];
        assert_eq!(choose(&named, None, "x").unwrap().len(), 2);
        let want = Reference::parse("localhost/b:1").unwrap();
        let got = choose(&named, Some(&want), "x").unwrap();
        assert_eq!(got[0].0.digest, Digest::of(b"b"));
        let other = Reference::parse("localhost/c").unwrap();
        let e = choose(&named, Some(&other), "x").unwrap_err().to_string();
        assert!(e.contains("holds 2 images"), "{e}");
        assert!(choose(&[], None, "x").is_err());
    }
}
