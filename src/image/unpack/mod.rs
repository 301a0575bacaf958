//! Layer blobs: compression detection, digests of the compressed and uncompressed streams,
//! and unpacking into a directory usable as an overlayfs lowerdir.
//!
//! What unpacking does with each tar entry (see `extract.rs`):
//! - regular files, directories, symlinks (stored as written, never followed), hard links
//!   (only to a non-directory unpacked earlier in the same layer), FIFOs: always created;
//! - character and block devices: created only as root, skipped otherwise (counted in
//!   [`Unpacked::skipped_devices`]);
//! - ownership: applied as root (numeric uid/gid from the tar), left to the caller otherwise;
//!   permissions and mtimes always; `SCHILY.xattr.*` extended attributes as root, except
//!   `trusted.overlay.*`, which a layer must not set (it would steer overlayfs);
//! - OCI whiteouts: `.wh.NAME` becomes an overlay whiteout (char device 0/0) named NAME,
//!   `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory. Both need root
//!   (CAP_MKNOD, CAP_SYS_ADMIN); without it such a layer is refused with a clear message.
//! - nothing lands outside the layer directory: absolute paths, `..` components, and paths
//!   through a symlink are refused, for entries and for hard-link targets alike.

mod extract;
pub mod sys;

use super::digest::{Digest, HashingReader};
use super::{ImageError, Result};
use flate2::bufread::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// What the unpacker may do.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// chown entries, create device nodes, set xattrs. Defaults to "running as root".
    pub as_root: bool,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            as_root: nix::unistd::geteuid().is_root(),
        }
    }
}

/// The digests of a layer: of the blob as stored, and of its uncompressed tar (the diffID).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerDigests {
    pub blob: Digest,
    pub blob_size: u64,
    pub diff_id: Digest,
    /// Uncompressed size in bytes.
    pub size: u64,
}

/// The result of unpacking one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpacked {
    pub digests: LayerDigests,
    /// Device nodes not created because the unpacker is not root.
    pub skipped_devices: u64,
}

/// How a layer blob is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

/// Detect gzip by its magic; zstd, xz and bzip2 are recognized and refused by name.
pub fn detect_compression(head: &[u8], what: &str) -> Result<Compression> {
    let unsupported = |name: &str| {
        Err(ImageError::Invalid(format!(
            "{what} is {name}-compressed, which peapod cannot read: use gzip or an uncompressed tar"
        )))
    };
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        unsupported("zstd")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        unsupported("xz")
    } else if head.starts_with(b"BZh") {
        unsupported("bzip2")
    } else {
        Ok(Compression::None)
    }
}

/// The media type a layer blob gets in a generated OCI manifest.
pub fn layer_media_type(c: Compression) -> &'static str {
    match c {
        Compression::None => super::spec::OCI_LAYER_TAR,
        Compression::Gzip => super::spec::OCI_LAYER_GZIP,
    }
}

enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(MultiGzDecoder<R>),
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> Decoder<R> {
    fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(r) => r.into_inner(),
        }
    }
}

/// Run `f` over the uncompressed tar stream of a layer blob, hashing both streams to their
/// ends; the caller compares the digests with what it expected. When the blob's digest is
/// known, a blob that does not match it is reported as corrupted even if reading it failed
/// first (a flipped byte usually breaks the tar or gzip stream before the end).
pub fn read_layer<T>(
    blob: impl Read,
    what: &str,
    expected_blob: Option<&Digest>,
    f: impl FnOnce(&mut dyn Read) -> Result<T>,
) -> Result<(T, LayerDigests)> {
    let mut outer = BufReader::with_capacity(256 << 10, HashingReader::new(blob));
    let head = outer
        .fill_buf()
        .map_err(ImageError::io(format!("reading {what}")))?;
    let mut decoder = match detect_compression(head, what)? {
        Compression::None => Decoder::Plain(outer),
        Compression::Gzip => Decoder::Gzip(MultiGzDecoder::new(outer)),
    };
    let decode_err = |e: io::Error| ImageError::Invalid(format!("{what}: decompressing: {e}"));
    let result = {
        let mut inner = HashingReader::new(&mut decoder);
        match f(&mut inner) {
            Ok(v) => inner.finish().map_err(decode_err).map(|(d, n)| (v, d, n)),
            Err(e) => Err(e),
        }
    };
    let mut outer = decoder.into_inner();
    let blob_hash = io::copy(&mut outer, &mut io::sink()).and_then(|_| outer.into_inner().finish());
    if let (Some(want), Ok((got, _))) = (expected_blob, &blob_hash)
        && got != want
    {
        return Err(ImageError::Corrupt {
            digest: want.clone(),
            actual: got.clone(),
        });
    }
    let (value, diff_id, size) = result?;
    let (blob, blob_size) = blob_hash.map_err(ImageError::io(format!("reading {what}")))?;
    Ok((
        value,
        LayerDigests {
            blob,
            blob_size,
            diff_id,
            size,
        },
    ))
}

/// Digests of a layer blob without unpacking it.
pub fn digest_layer(
    blob: impl Read,
    what: &str,
    expected_blob: Option<&Digest>,
) -> Result<LayerDigests> {
    read_layer(blob, what, expected_blob, |_| Ok(())).map(|(_, d)| d)
}

/// Unpack a layer blob (plain or gzip tar) into `dest`, which must not exist yet. On error
/// `dest` may hold part of the layer: unpack into a temporary directory and rename it into
/// place only after checking the returned digests.
pub fn unpack(
    blob: impl Read,
    dest: &Path,
    what: &str,
    expected_blob: Option<&Digest>,
    opts: &UnpackOptions,
) -> Result<Unpacked> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir(dest)
        .and_then(|()| std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755)))
        .map_err(ImageError::io(format!("creating {}", dest.display())))?;
    let (skipped_devices, digests) = read_layer(blob, what, expected_blob, |tar| {
        let mut x = extract::Extractor::new(dest, what, opts);
        x.extract(tar)?;
        Ok(x.skipped_devices)
    })?;
    Ok(Unpacked {
        digests,
        skipped_devices,
    })
}

#[cfg(test)]
pub(crate) mod tests;
