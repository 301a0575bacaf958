//! [`ImageStore`]: resolve, list, remove, inspect, verify, and the registration step every
//! import (and later every pull) ends with.

use super::blobs::{Blobs, temp_path};
use super::digest::Digest;
use super::index::{self, ImageEntry, IndexFile};
use super::spec::{self, ConfigFile, Descriptor, MAX_JSON, Manifest};
use super::unpack::{self, UnpackOptions};
use super::{
    Image, ImageConfig, ImageError, ImageSummary, ImportedImage, Reference, Removed, Result,
};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The shortest image-id prefix accepted (podman accepts any; very short ones match by
/// accident too easily).
const MIN_ID_PREFIX: usize = 4;

/// An image store directory (`<state>/images`). Cheap to open; safe to use from several
/// processes at once (see `index.rs` for the locking).
pub struct ImageStore {
    dir: PathBuf,
    pub(super) blobs: Blobs,
    layers: PathBuf,
    pub(super) tmp: PathBuf,
    opts: UnpackOptions,
    /// Layer blobs this process has hashed end to end: blob → (diffID, uncompressed size).
    verified: Mutex<HashMap<Digest, (Digest, u64)>>,
}

/// Holds off garbage collection while blobs are written that no image references yet.
pub struct ImportGuard(#[allow(dead_code)] index::Lock);

/// How a reference matched an image.
struct Found {
    manifest: Digest,
    /// The normalized reference or the id/digest as given.
    shown: String,
    /// Matched through a name (`refs`), not an id or digest.
    by_name: bool,
}

impl ImageStore {
    /// Open (creating if needed) the store in `dir`, mode 0700.
    pub fn open(dir: impl Into<PathBuf>) -> Result<ImageStore> {
        let dir = dir.into();
        let mkdir = |p: &Path| {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(p)
                .map_err(ImageError::io(format!("creating {}", p.display())))
        };
        mkdir(&dir)?;
        // Layers hold setuid files: nobody else may reach them.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(ImageError::io(format!("chmod {}", dir.display())))?;
        let blob_dir = dir.join("blobs").join("sha256");
        let layers = dir.join("layers");
        let tmp = dir.join("tmp");
        for d in [&blob_dir, &layers, &tmp] {
            mkdir(d)?;
        }
        Ok(ImageStore {
            blobs: Blobs::new(blob_dir, tmp.clone()),
            dir,
            layers,
            tmp,
            opts: UnpackOptions::default(),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Unpack as if (not) root: tests use this to check the unprivileged path.
    pub fn with_unpack_options(mut self, opts: UnpackOptions) -> ImageStore {
        self.opts = opts;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a stored blob (for tests and diagnostics).
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.blobs.path(d)
    }

    /// Hold this while writing blobs that are not yet part of an image.
    pub fn import_guard(&self) -> Result<ImportGuard> {
        index::gc_lock(&self.dir, false).map(ImportGuard)
    }

    /// Store a blob whose digest is known (a registry pull); other content is refused.
    pub fn put_blob(&self, reader: impl io::Read, expected: &Digest, what: &str) -> Result<u64> {
        self.blobs.put(reader, Some(expected), what).map(|(_, n)| n)
    }

    /// Find an image by name (`busybox`, `localhost/x:1`), `name@sha256:…` (manifest or
    /// image-index digest), image id or id prefix (at least 4 digits), and return it ready
    /// to run: manifest and config verified, layers unpacked. `Ok(None)` when no image has
    /// that name.
    pub fn resolve(&self, reference: &str) -> Result<Option<Image>> {
        let ix = IndexFile::load(&self.dir)?;
        let Some(found) = find(&ix, reference)? else {
            return Ok(None);
        };
        let (id, manifest, config) = self.load(&found.manifest)?;
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for (desc, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            let dir = self.layer_dir(diff_id);
            if !dir.is_dir() {
                // Unpacked layers may be deleted to save space; the blob is unpacked again.
                let _guard = self.import_guard()?;
                self.ensure_layer(desc, diff_id, false)?;
            }
            layers.push(dir);
        }
        Ok(Some(Image {
            reference: found.shown,
            id,
            manifest_digest: found.manifest,
            config: ImageConfig::from_run_config(&config.config),
            layers,
        }))
    }

    /// Every image, newest first.
    pub fn list(&self) -> Result<Vec<ImageSummary>> {
        let ix = IndexFile::load(&self.dir)?;
        let mut out = Vec::new();
        for (manifest, entry) in &ix.images {
            // A damaged image is still listed (so it can be removed), with what is known.
            let config = self.load(manifest).ok().map(|(_, _, c)| c);
            let created = config
                .as_ref()
                .and_then(|c| c.created.as_deref())
                .and_then(|c| c.parse::<jiff::Timestamp>().ok());
            let size = config.as_ref().map(|c| size_of(&ix, c)).unwrap_or(0);
            let names = ix
                .names_of(manifest)
                .iter()
                .filter_map(|n| Reference::parse(n).ok())
                .collect();
            out.push(ImageSummary {
                id: entry.id.clone(),
                manifest_digest: manifest.clone(),
                names,
                created,
                size,
            });
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.names.cmp(&b.names)));
        Ok(out)
    }

    /// Remove a name, or an image by id/digest (all its names; with several names only with
    /// `force`, as `podman rmi`). An image left without names is deleted, and blobs and
    /// layers no image uses any more are garbage-collected.
    pub fn remove(&self, reference: &str, force: bool) -> Result<Removed> {
        let mut removed = Removed::default();
        {
            let _lock = index::index_lock(&self.dir)?;
            let mut ix = IndexFile::load(&self.dir)?;
            let found =
                find(&ix, reference)?.ok_or_else(|| ImageError::NotFound(reference.to_string()))?;
            let names = ix.names_of(&found.manifest);
            if found.by_name {
                ix.refs.remove(&found.shown);
                removed.untagged.push(found.shown.clone());
            } else {
                if names.len() > 1 && !force {
                    return Err(ImageError::Invalid(format!(
                        "image {reference} has several names ({}): remove them by name, or use --force",
                        names.join(", ")
                    )));
                }
                for n in &names {
                    ix.refs.remove(n);
                }
                removed.untagged = names;
            }
            if ix.names_of(&found.manifest).is_empty()
                && let Some(entry) = ix.images.remove(&found.manifest)
            {
                removed.deleted = Some(entry.id);
            }
            ix.save(&self.dir)?;
        }
        if removed.deleted.is_some() {
            self.gc()?;
        }
        Ok(removed)
    }

    /// The image's manifest and config, with podman-like summary fields.
    pub fn inspect(&self, reference: &str) -> Result<serde_json::Value> {
        let ix = IndexFile::load(&self.dir)?;
        let found =
            find(&ix, reference)?.ok_or_else(|| ImageError::NotFound(reference.to_string()))?;
        let m = &found.manifest;
        let manifest_bytes = self.blobs.read(m, MAX_JSON, "manifest")?;
        let manifest: Manifest = spec::parse_json(&manifest_bytes, &format!("manifest {m}"))?;
        let config_bytes = self
            .blobs
            .read(&manifest.config.digest, MAX_JSON, "config")?;
        let config: ConfigFile = spec::parse_json(&config_bytes, "image config")?;
        let config_value: serde_json::Value = spec::parse_json(&config_bytes, "image config")?;
        let manifest_value: serde_json::Value = spec::parse_json(&manifest_bytes, "manifest")?;
        let names = ix.names_of(m);
        let repo_digests: BTreeSet<String> = names
            .iter()
            .filter_map(|n| Reference::parse(n).ok())
            .map(|r| format!("{}@{m}", r.name()))
            .collect();
        let layer_dirs: Vec<String> = config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| self.layer_dir(d).display().to_string())
            .collect();
        Ok(serde_json::json!({
            "Id": manifest.config.digest.hex(),
            "Digest": m.to_string(),
            "RepoTags": names,
            "RepoDigests": repo_digests,
            "Created": config.created,
            "Architecture": config.architecture,
            "Os": config.os,
            "Size": size_of(&ix, &config),
            "Config": config_value.get("config").cloned().unwrap_or_default(),
            "RootFS": config_value.get("rootfs").cloned().unwrap_or_default(),
            "LayerDirs": layer_dirs,
            "Manifest": manifest_value,
            "ImageConfig": config_value,
        }))
    }

    /// Check every blob of an image end to end, and every layer's diffID.
    pub fn verify(&self, reference: &str) -> Result<()> {
        let ix = IndexFile::load(&self.dir)?;
        let found =
            find(&ix, reference)?.ok_or_else(|| ImageError::NotFound(reference.to_string()))?;
        let (_, manifest, config) = self.load(&found.manifest)?;
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        for (desc, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            self.check_layer(desc, diff_id)?;
        }
        Ok(())
    }

    /// Register an image whose manifest, config and layer blobs are in the store: verify
    /// them, unpack its layers, and point `names` (tagged references) at it. Tags that
    /// named another image move here; that image stays, untagged. `also` lists other digests
    /// that name the image (the index it came from), whose blobs must be stored too.
    pub fn add_image(
        &self,
        manifest_digest: &Digest,
        names: &[Reference],
        also: &[Digest],
    ) -> Result<ImportedImage> {
        let _guard = self.import_guard()?;
        let (id, manifest, config) = self.load(manifest_digest)?;
        spec::check_platform(&config, &format!("image {manifest_digest}"))?;
        let mut sizes = Vec::new();
        for (desc, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            sizes.push((diff_id.clone(), self.ensure_layer(desc, diff_id, true)?));
        }
        for d in also {
            self.blobs.verify(d, "image index")?;
        }
        for n in names {
            if n.digest.is_some() || n.tag.is_none() {
                return Err(ImageError::Invalid(format!(
                    "{n}: an image is named by name:tag, not by digest"
                )));
            }
        }
        let _lock = index::index_lock(&self.dir)?;
        let mut ix = IndexFile::load(&self.dir)?;
        for n in names {
            ix.refs.insert(n.to_string(), manifest_digest.clone());
        }
        let entry = ix
            .images
            .entry(manifest_digest.clone())
            .or_insert_with(|| ImageEntry {
                id: id.clone(),
                imported: jiff::Timestamp::now().to_string(),
                also: Vec::new(),
            });
        for d in also {
            if !entry.also.contains(d) {
                entry.also.push(d.clone());
            }
        }
        ix.layer_sizes.extend(sizes);
        ix.save(&self.dir)?;
        Ok(ImportedImage {
            id,
            manifest_digest: manifest_digest.clone(),
            names: names.to_vec(),
        })
    }

    /// Delete blobs and layers no image uses, and leftovers of interrupted imports. If an
    /// image's manifest or config cannot be read, nothing is deleted (what it uses is
    /// unknown).
    pub fn gc(&self) -> Result<(usize, usize)> {
        let _gc = index::gc_lock(&self.dir, true)?;
        let _lock = index::index_lock(&self.dir)?;
        let mut ix = IndexFile::load(&self.dir)?;
        let mut keep_blobs = BTreeSet::new();
        let mut keep_layers = BTreeSet::new();
        for (m, entry) in &ix.images {
            let Ok((_, manifest, config)) = self.load(m) else {
                return Ok((0, 0));
            };
            keep_blobs.insert(m.clone());
            keep_blobs.extend(entry.also.iter().cloned());
            keep_blobs.insert(manifest.config.digest.clone());
            keep_blobs.extend(manifest.layers.iter().map(|l| l.digest.clone()));
            keep_layers.extend(config.rootfs.diff_ids.iter().cloned());
        }
        let mut removed = (0, 0);
        for b in self.blobs.all()? {
            if !keep_blobs.contains(&b) {
                self.blobs.remove(&b)?;
                removed.0 += 1;
            }
        }
        for entry in fs::read_dir(&self.layers)
            .map_err(ImageError::io(format!("listing {}", self.layers.display())))?
            .flatten()
        {
            let keep = entry
                .file_name()
                .to_str()
                .and_then(Digest::from_hex)
                .is_some_and(|d| keep_layers.contains(&d));
            if !keep {
                remove_tree(&entry.path())?;
                removed.1 += 1;
            }
        }
        // No import runs (we hold gc.lock exclusively): everything in tmp/ is stale.
        for entry in fs::read_dir(&self.tmp).into_iter().flatten().flatten() {
            remove_tree(&entry.path())?;
        }
        let before = ix.layer_sizes.len();
        ix.layer_sizes.retain(|d, _| keep_layers.contains(d));
        if ix.layer_sizes.len() != before {
            ix.save(&self.dir)?;
        }
        Ok(removed)
    }

    fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.layers.join(diff_id.hex())
    }

    /// Image id, manifest and config of a stored image, all verified and consistent.
    fn load(&self, m: &Digest) -> Result<(Digest, Manifest, ConfigFile)> {
        let manifest: Manifest = spec::parse_json(
            &self.blobs.read(m, MAX_JSON, "manifest")?,
            &format!("manifest {m}"),
        )?;
        if manifest.schema_version != 2
            || !(manifest.media_type.is_empty() || manifest.media_type == spec::OCI_MANIFEST)
        {
            return Err(ImageError::Invalid(format!(
                "manifest {m} is not an OCI image manifest (mediaType {:?})",
                manifest.media_type
            )));
        }
        let id = manifest.config.digest.clone();
        let config: ConfigFile = spec::parse_json(
            &self.blobs.read(&id, MAX_JSON, "config")?,
            &format!("image config {id}"),
        )?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(ImageError::Invalid(format!(
                "image {}: the manifest lists {} layers but the config {} diffIDs",
                id.short(),
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        Ok((id, manifest, config))
    }

    /// Hash a layer blob end to end and compare both digests; remembered for this process.
    fn check_layer(&self, desc: &Descriptor, diff_id: &Digest) -> Result<u64> {
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&desc.digest)
            .cloned();
        if let Some((d, size)) = cached
            && d == *diff_id
        {
            return Ok(size);
        }
        let what = format!("layer {}", desc.digest);
        let digests = unpack::digest_layer(
            self.blobs.open(&desc.digest, "layer")?,
            &what,
            Some(&desc.digest),
        )?;
        self.check_digests(desc, diff_id, &digests)
    }

    fn check_digests(
        &self,
        desc: &Descriptor,
        diff_id: &Digest,
        got: &unpack::LayerDigests,
    ) -> Result<u64> {
        if got.blob != desc.digest {
            return Err(ImageError::Corrupt {
                digest: desc.digest.clone(),
                actual: got.blob.clone(),
            });
        }
        if got.diff_id != *diff_id {
            return Err(ImageError::Invalid(format!(
                "layer {}: its uncompressed content has digest {}, but the image config says {diff_id}",
                desc.digest, got.diff_id
            )));
        }
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(desc.digest.clone(), (diff_id.clone(), got.size));
        Ok(got.size)
    }

    /// Unpack a layer whose diffID is not known yet (a rootfs tar): it is computed while
    /// unpacking, and the layer is stored under it. Returns the diffID.
    pub(super) fn unpack_new_layer(&self, desc: &Descriptor) -> Result<Digest> {
        let tmp = temp_path(&self.tmp);
        let what = format!("layer {}", desc.digest);
        let unpacked = unpack::unpack(
            self.blobs.open(&desc.digest, "layer")?,
            &tmp,
            &what,
            Some(&desc.digest),
            &self.opts,
        )
        .and_then(|u| {
            self.check_digests(desc, &u.digests.diff_id, &u.digests)?;
            Ok(u)
        });
        let diff_id = match unpacked {
            Ok(u) => u.digests.diff_id,
            Err(e) => {
                let _ = remove_tree(&tmp);
                return Err(e);
            }
        };
        self.commit_layer(&tmp, &diff_id, &what)?;
        Ok(diff_id)
    }

    /// Rename an unpacked temporary layer into place; if another process got there first,
    /// keep theirs.
    fn commit_layer(&self, tmp: &Path, diff_id: &Digest, what: &str) -> Result<()> {
        let dir = self.layer_dir(diff_id);
        if let Err(e) = fs::rename(tmp, &dir) {
            let _ = remove_tree(tmp);
            if !dir.is_dir() {
                return Err(ImageError::io(format!(
                    "storing {what} in {}",
                    dir.display()
                ))(e));
            }
        }
        Ok(())
    }

    /// Make sure `layers/<diffid>` exists, unpacking the blob (verified on the way) into a
    /// temporary directory renamed into place. With `check_existing`, an already unpacked
    /// layer's blob is still hashed, so an import always proves its blobs match its config.
    fn ensure_layer(
        &self,
        desc: &Descriptor,
        diff_id: &Digest,
        check_existing: bool,
    ) -> Result<u64> {
        let dir = self.layer_dir(diff_id);
        if dir.is_dir() {
            return if check_existing {
                self.check_layer(desc, diff_id)
            } else {
                Ok(0)
            };
        }
        let tmp = temp_path(&self.tmp);
        let what = format!("layer {}", desc.digest);
        let result = unpack::unpack(
            self.blobs.open(&desc.digest, "layer")?,
            &tmp,
            &what,
            Some(&desc.digest),
            &self.opts,
        )
        .and_then(|u| self.check_digests(desc, diff_id, &u.digests));
        let size = match result {
            Ok(size) => size,
            Err(e) => {
                let _ = remove_tree(&tmp);
                return Err(e);
            }
        };
        self.commit_layer(&tmp, diff_id, &what)?;
        Ok(size)
    }
}

/// Look a reference up: names first (and `localhost/` for short names, as podman does),
/// then `name@digest`, then image ids and id prefixes.
fn find(ix: &IndexFile, s: &str) -> Result<Option<Found>> {
    let parsed = Reference::parse(s);
    if let Ok(r) = &parsed {
        if let Some(d) = &r.digest {
            let hit = ix
                .images
                .iter()
                .find(|(m, e)| *m == d || e.also.contains(d));
            return Ok(hit.map(|(m, _)| Found {
                manifest: m.clone(),
                shown: r.to_string(),
                by_name: false,
            }));
        }
        let candidates = std::iter::once(r.clone()).chain(r.localhost_alternative(s));
        for c in candidates {
            if let Some(m) = ix.refs.get(&c.to_string()) {
                return Ok(Some(Found {
                    manifest: m.clone(),
                    shown: c.to_string(),
                    by_name: true,
                }));
            }
        }
    }
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    let hex_like = hex.len() >= MIN_ID_PREFIX
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex_like {
        let by_manifest = Digest::from_hex(hex).filter(|d| ix.images.contains_key(d));
        let matches: Vec<&Digest> = match &by_manifest {
            Some(d) => vec![d],
            None => ix
                .images
                .iter()
                .filter(|(_, e)| e.id.hex().starts_with(hex))
                .map(|(m, _)| m)
                .collect(),
        };
        match matches.as_slice() {
            [m] => {
                return Ok(Some(Found {
                    manifest: (*m).clone(),
                    shown: s.to_string(),
                    by_name: false,
                }));
            }
            [] => {}
            _ => {
                return Err(ImageError::Invalid(format!(
                    "image id prefix {s} matches {} images: give more digits",
                    matches.len()
                )));
            }
        }
        return Ok(None);
    }
    parsed.map(|_| None)
}

/// Uncompressed size of an image's layers, as recorded when they were unpacked.
fn size_of(ix: &IndexFile, config: &ConfigFile) -> u64 {
    config
        .rootfs
        .diff_ids
        .iter()
        .filter_map(|d| ix.layer_sizes.get(d))
        .sum()
}

/// Remove a directory tree even when it holds read-only directories (an unprivileged
/// unpacker made them so).
pub fn remove_tree(path: &Path) -> Result<()> {
    let first = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Ok(m) if !m.is_dir() => fs::remove_file(path),
        _ => fs::remove_dir_all(path),
    };
    if first.is_ok() {
        return Ok(());
    }
    make_writable(path);
    fs::remove_dir_all(path).map_err(ImageError::io(format!("removing {}", path.display())))
}

fn make_writable(dir: &Path) {
    let Ok(m) = fs::symlink_metadata(dir) else {
        return;
    };
    if !m.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        make_writable(&e.path());
    }
}

#[cfg(test)]
mod tests;
