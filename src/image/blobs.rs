//! `blobs/sha256/<hex>`: content-addressed files, verified on the way in and on every read.

use super::digest::{Digest, HashingReader};
use super::{ImageError, Result};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub struct Blobs {
    dir: PathBuf,
    tmp: PathBuf,
}

impl Blobs {
    /// `dir` is `blobs/sha256`; `tmp` is where blobs are written before they are complete.
    pub fn new(dir: PathBuf, tmp: PathBuf) -> Blobs {
        Blobs { dir, tmp }
    }

    pub fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    #[cfg(test)]
    pub fn has(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// Store what `reader` yields. With `expected`, content with another digest is refused
    /// (and nothing is stored). The blob appears under its name only once complete.
    pub fn put(
        &self,
        reader: impl Read,
        expected: Option<&Digest>,
        what: &str,
    ) -> Result<(Digest, u64)> {
        let tmp = temp_path(&self.tmp);
        let result = self.put_at(&tmp, reader, expected, what);
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn put_at(
        &self,
        tmp: &Path,
        reader: impl Read,
        expected: Option<&Digest>,
        what: &str,
    ) -> Result<(Digest, u64)> {
        let mut file = File::create_new(tmp).map_err(ImageError::io(format!(
            "creating a temporary file in {}",
            self.tmp.display()
        )))?;
        let mut hashing = HashingReader::new(reader);
        io::copy(&mut hashing, &mut file).map_err(ImageError::io(format!("copying {what}")))?;
        let (digest, size) = hashing
            .finish()
            .map_err(ImageError::io(format!("reading {what}")))?;
        if let Some(e) = expected
            && *e != digest
        {
            return Err(ImageError::Invalid(format!(
                "{what}: content has digest {digest}, expected {e} (corrupted or truncated)"
            )));
        }
        file.flush()
            .and_then(|()| file.sync_all())
            .map_err(ImageError::io(format!("writing {what}")))?;
        let dest = self.path(&digest);
        fs::rename(tmp, &dest).map_err(ImageError::io(format!(
            "storing {what} as {}",
            dest.display()
        )))?;
        Ok((digest, size))
    }

    pub fn put_bytes(&self, bytes: &[u8], what: &str) -> Result<Digest> {
        self.put(bytes, None, what).map(|(d, _)| d)
    }

    /// The whole blob, checked against its digest (for manifests, indexes and configs).
    pub fn read(&self, d: &Digest, limit: u64, what: &str) -> Result<Vec<u8>> {
        let file = self.open(d, what)?;
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(ImageError::io(format!("reading {what} {d}")))?;
        if bytes.len() as u64 > limit {
            return Err(ImageError::Invalid(format!(
                "{what} {d} is larger than {limit} bytes"
            )));
        }
        let actual = Digest::of(&bytes);
        if actual != *d {
            return Err(ImageError::Corrupt {
                digest: d.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Hash the blob end to end; a mismatch is `Corrupt`.
    pub fn verify(&self, d: &Digest, what: &str) -> Result<u64> {
        let r = HashingReader::new(self.open(d, what)?);
        let (actual, size) = r
            .finish()
            .map_err(ImageError::io(format!("reading {what} {d}")))?;
        if actual != *d {
            return Err(ImageError::Corrupt {
                digest: d.clone(),
                actual,
            });
        }
        Ok(size)
    }

    /// The raw file: the caller hashes what it reads and compares at the end.
    pub fn open(&self, d: &Digest, what: &str) -> Result<File> {
        File::open(self.path(d)).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ImageError::Invalid(format!(
                    "{what} {d} is missing from the store: remove the image and import it again"
                ))
            } else {
                ImageError::io(format!("opening {what} {d}"))(e)
            }
        })
    }

    /// Every stored blob's digest (for garbage collection).
    pub fn all(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        let rd = fs::read_dir(&self.dir)
            .map_err(ImageError::io(format!("listing {}", self.dir.display())))?;
        for entry in rd.flatten() {
            if let Some(d) = entry.file_name().to_str().and_then(Digest::from_hex) {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub fn remove(&self, d: &Digest) -> Result<()> {
        match fs::remove_file(self.path(d)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(ImageError::io(format!("removing blob {d}"))(e))
            }
            _ => Ok(()),
        }
    }
}

/// A fresh name in the temporary directory.
pub fn temp_path(tmp: &Path) -> PathBuf {
    tmp.join(format!(
        "{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(t: &tempfile::TempDir) -> Blobs {
        let dir = t.path().join("blobs/sha256");
        let tmp = t.path().join("tmp");
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(&tmp).unwrap();
        Blobs::new(dir, tmp)
    }

    #[test]
    fn put_and_read_back() {
        let t = tempfile::tempdir().unwrap();
        let b = blobs(&t);
        let d = b.put_bytes(b"hello", "test blob").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert!(b.has(&d));
        assert_eq!(b.read(&d, 100, "config").unwrap(), b"hello");
        assert_eq!(b.verify(&d, "layer").unwrap(), 5);
        assert_eq!(b.all().unwrap(), vec![d.clone()]);
        assert_eq!(fs::read_dir(t.path().join("tmp")).unwrap().count(), 0);
        let e = b.read(&d, 3, "config").unwrap_err().to_string();
        assert!(e.contains("larger than 3 bytes"), "{e}");
    }

    #[test]
    fn wrong_content_is_refused_and_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let b = blobs(&t);
        let want = Digest::of(b"good");
        let e = b
            .put(&b"evil"[..], Some(&want), "layer 1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&want.to_string()) && e.contains("layer 1"),
            "{e}"
        );
        assert!(!b.has(&want));
        assert!(b.all().unwrap().is_empty());
        assert_eq!(fs::read_dir(t.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn corruption_is_reported_with_the_digest() {
        let t = tempfile::tempdir().unwrap();
        let b = blobs(&t);
        let d = b.put_bytes(b"{\"a\":1}", "config").unwrap();
        fs::write(b.path(&d), b"{\"a\":2}").unwrap();
        for e in [
            b.read(&d, 100, "config").unwrap_err(),
            b.verify(&d, "layer").unwrap_err(),
        ] {
            assert!(matches!(e, ImageError::Corrupt { .. }));
            assert!(e.to_string().contains(&d.to_string()), "{e}");
        }
        fs::remove_file(b.path(&d)).unwrap();
        let e = b.read(&d, 100, "config").unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
    }
}
