//! `peapod image import FILE|DIR [REF] [--change ...]`: what the input is, and handing it to
//! the importer of its format.
//!
//! - a directory or tar with `manifest.json`: a docker-save archive (`docker.rs`);
//! - a directory or tar with `oci-layout`: an OCI image layout (`oci.rs`);
//! - any other tar: a root filesystem, as `podman import` (`rootfs.rs`).
//!
//! Archives may be gzip-compressed as a whole; zstd, xz and bzip2 are refused by name.

pub mod changes;
mod docker;
mod oci;
mod rootfs;
mod source;

use super::blobs::temp_path;
use super::spec::RunConfig;
use super::store::ImageStore;
use super::unpack::{Compression, detect_compression};
use super::{ImageError, ImportedImage, Reference, Result};
use source::{DirSource, Source, TarSource};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

impl ImageStore {
    /// Import an image archive or a root filesystem tar (see the module docs). `reference`
    /// names the image (`busybox`, `localhost/app:1`): for a rootfs it is its only name; for
    /// an archive it replaces the names the archive carries. `changes` (`CMD ["sh"]`,
    /// `ENV K=V`, ...) apply to rootfs imports only. Returns each image added.
    pub fn import(
        &self,
        path: &Path,
        reference: Option<&str>,
        changes: &[String],
    ) -> Result<Vec<ImportedImage>> {
        let name = reference.map(import_name).transpose()?;
        // Check the changes before any work.
        apply_changes_checked(changes)?;
        let shown = source::display(path);
        let _guard = self.import_guard()?;
        let meta = fs::metadata(path).map_err(ImageError::io(format!("reading {shown}")))?;
        if meta.is_dir() {
            let src = DirSource::new(path, &shown);
            return match self.import_archive(&src, name, changes)? {
                Some(images) => Ok(images),
                None => Err(ImageError::Invalid(format!(
                    "{shown} is a directory without oci-layout or manifest.json: give an OCI image layout, a docker-save archive or a rootfs tar"
                ))),
            };
        }
        let mut head = [0u8; 8];
        let n = read_head(path, &mut head).map_err(ImageError::io(format!("reading {shown}")))?;
        let decompressed = match detect_compression(&head[..n], &shown)? {
            Compression::None => None,
            Compression::Gzip => Some(TempFile(self.gunzip(path, &shown)?)),
        };
        let tar_path = decompressed.as_ref().map(|t| t.0.as_path()).unwrap_or(path);
        let src = TarSource::index(tar_path, &shown)?;
        match self.import_archive(&src, name.clone(), changes)? {
            Some(images) => Ok(images),
            None => rootfs::import(self, path, &shown, name, changes).map(|i| vec![i]),
        }
    }

    /// `None` when the source is neither a docker-save archive nor an OCI layout.
    fn import_archive(
        &self,
        src: &dyn Source,
        name: Option<Reference>,
        changes: &[String],
    ) -> Result<Option<Vec<ImportedImage>>> {
        let format = if src.exists("manifest.json") {
            "docker-save archive"
        } else if src.exists("oci-layout") {
            "OCI image layout"
        } else {
            return Ok(None);
        };
        if !changes.is_empty() {
            return Err(ImageError::Invalid(format!(
                "{} is a {format}: --change applies only to rootfs tar imports",
                src.shown()
            )));
        }
        let images = if format == "docker-save archive" {
            docker::import(self, src, name)?
        } else {
            oci::import(self, src, name)?
        };
        Ok(Some(images))
    }

    /// Decompress a gzip archive into the store's tmp directory.
    fn gunzip(&self, path: &Path, shown: &str) -> Result<PathBuf> {
        let tmp = temp_path(&self.tmp);
        let result = (|| {
            let mut input =
                flate2::read::MultiGzDecoder::new(io::BufReader::new(File::open(path)?));
            let mut out = File::create_new(&tmp)?;
            io::copy(&mut input, &mut out)?;
            Ok(())
        })();
        result.map_err(|e: io::Error| {
            let _ = fs::remove_file(&tmp);
            ImageError::Invalid(format!("{shown}: decompressing: {e}"))
        })?;
        Ok(tmp)
    }
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn read_head(path: &Path, buf: &mut [u8]) -> io::Result<usize> {
    let mut f = File::open(path)?;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The name an import gives: `name[:tag]`, never a digest.
fn import_name(s: &str) -> Result<Reference> {
    let r = Reference::parse(s)?;
    if r.digest.is_some() {
        return Err(ImageError::Reference {
            reference: s.to_string(),
            reason: "an imported image is named by name[:tag], not by digest".into(),
        });
    }
    Ok(r)
}

fn apply_changes_checked(changes: &[String]) -> Result<()> {
    changes::apply_changes(&mut RunConfig::default(), changes)
}

/// A copy of a descriptor's blob from an archive into the store, verified.
fn copy_blob(
    store: &ImageStore,
    src: &dyn Source,
    desc: &super::spec::Descriptor,
    what: &str,
) -> Result<()> {
    let path = format!("blobs/sha256/{}", desc.digest.hex());
    let what = format!("{}: {what} {}", src.shown(), desc.digest);
    let size = store.put_blob(src.open(&path)?, &desc.digest, &what)?;
    if size != desc.size {
        return Err(ImageError::Invalid(format!(
            "{what}: {size} bytes, but its descriptor says {}",
            desc.size
        )));
    }
    Ok(())
}
