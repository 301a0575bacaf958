//! `index.json` (which images the store keeps and the names that point at them) and the two
//! flock(2) files that let several processes use one store.
//!
//! - `lock` (exclusive) is held while index.json is read, changed and rewritten, so two
//!   writers never lose each other's update. Readers need no lock: the file is replaced by
//!   rename, so they see the old or the new version, never a half one.
//! - `gc.lock` is held shared by every import (and lazy unpack) for its whole run, and
//!   exclusively by garbage collection: blobs and layers an import has written but not yet
//!   registered are never collected under it. Order: gc.lock before lock.

use super::digest::Digest;
use super::{ImageError, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

pub const INDEX_FILE: &str = "index.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IndexFile {
    #[serde(default)]
    pub version: u32,
    /// Normalized `name:tag` → manifest digest.
    #[serde(default)]
    pub refs: BTreeMap<String, Digest>,
    /// Manifest digest → what is known about the image. An image no ref points at is
    /// untagged (`<none>`) and is kept until removed by id.
    #[serde(default)]
    pub images: BTreeMap<Digest, ImageEntry>,
    /// Layer diffID → uncompressed size in bytes.
    #[serde(default)]
    pub layer_sizes: BTreeMap<Digest, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageEntry {
    /// The config digest (the image id).
    pub id: Digest,
    /// When it was imported (RFC 3339).
    pub imported: String,
    /// Other digests that name this image (the image index it was chosen from, the docker
    /// manifest it was converted from); their blobs are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Digest>,
}

impl IndexFile {
    pub fn load(dir: &Path) -> Result<IndexFile> {
        let path = dir.join(INDEX_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ImageError::Invalid(format!(
                    "{} is damaged ({e}): move it away and import the images again",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IndexFile {
                version: VERSION,
                ..Default::default()
            }),
            Err(e) => Err(ImageError::io(format!("reading {}", path.display()))(e)),
        }
    }

    /// Write via a temporary file, fsync and rename: a crash leaves the old or the new file.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(INDEX_FILE);
        let tmp = dir.join(format!("{INDEX_FILE}.tmp-{}", std::process::id()));
        let what = format!("writing {}", path.display());
        let mut me = self.clone();
        me.version = VERSION;
        let bytes = serde_json::to_vec_pretty(&me)
            .map_err(|e| ImageError::Invalid(format!("{what}: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            ImageError::io(what)(e)
        })
    }

    /// The names pointing at a manifest, sorted.
    pub fn names_of(&self, manifest: &Digest) -> Vec<String> {
        self.refs
            .iter()
            .filter(|(_, d)| *d == manifest)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// An flock on a file in the store directory; released when dropped.
pub struct Lock(#[allow(dead_code)] Flock<File>);

pub fn lock(dir: &Path, name: &str, exclusive: bool) -> Result<Lock> {
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(ImageError::io(format!("opening {}", path.display())))?;
    let arg = if exclusive {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    Flock::lock(file, arg).map(Lock).map_err(|(_, errno)| {
        ImageError::io(format!("locking {}", path.display()))(std::io::Error::from(errno))
    })
}

/// Serializes read-modify-write of index.json.
pub fn index_lock(dir: &Path) -> Result<Lock> {
    lock(dir, "lock", true)
}

/// Shared for imports, exclusive for garbage collection.
pub fn gc_lock(dir: &Path, exclusive: bool) -> Result<Lock> {
    lock(dir, "gc.lock", exclusive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_index_is_empty_and_save_round_trips() {
        let t = tempfile::tempdir().unwrap();
        let mut ix = IndexFile::load(t.path()).unwrap();
        assert!(ix.images.is_empty());
        let m = Digest::of(b"m");
        ix.refs
            .insert("docker.io/library/busybox:latest".into(), m.clone());
        ix.images.insert(
            m.clone(),
            ImageEntry {
                id: Digest::of(b"c"),
                imported: "2024-01-01T00:00:00Z".into(),
                also: vec![],
            },
        );
        ix.save(t.path()).unwrap();
        let back = IndexFile::load(t.path()).unwrap();
        assert_eq!(back, IndexFile { version: 1, ..ix });
        assert_eq!(back.names_of(&m), ["docker.io/library/busybox:latest"]);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["index.json"]);
    }

    #[test]
    fn damaged_index_says_what_to_do() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join(INDEX_FILE), "{not json").unwrap();
        let e = IndexFile::load(t.path()).unwrap_err().to_string();
        assert!(e.contains("index.json is damaged"), "{e}");
    }

    #[test]
    fn exclusive_locks_exclude_across_open_files() {
        let t = tempfile::tempdir().unwrap();
        let held = index_lock(t.path()).unwrap();
        // flock locks belong to the open file: a second open in this process must wait.
        let f = OpenOptions::new()
            .write(true)
            .open(t.path().join("lock"))
            .unwrap();
        assert!(Flock::lock(f, FlockArg::LockExclusiveNonblock).is_err());
        drop(held);
        let f = OpenOptions::new()
            .write(true)
            .open(t.path().join("lock"))
            .unwrap();
        assert!(Flock::lock(f, FlockArg::LockExclusiveNonblock).is_ok());
        // Shared locks coexist.
        let _a = gc_lock(t.path(), false).unwrap();
        let _b = gc_lock(t.path(), false).unwrap();
    }
}
