//! Reading files of an image archive, whether it is a directory or a tar file (indexed once,
//! then read in place by offset, without unpacking it).

use crate::image::{ImageError, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub trait Source {
    /// Open a member by its path inside the archive (`blobs/sha256/…`, `manifest.json`).
    fn open(&self, path: &str) -> Result<Box<dyn Read + '_>>;
    fn exists(&self, path: &str) -> bool;
    /// How to name the archive in messages.
    fn shown(&self) -> &str;

    /// A small member read whole (JSON documents).
    fn read_small(&self, path: &str, limit: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open(path)?
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(ImageError::io(format!("{}: reading {path}", self.shown())))?;
        if out.len() as u64 > limit {
            return Err(ImageError::Invalid(format!(
                "{}: {path} is larger than {limit} bytes",
                self.shown()
            )));
        }
        Ok(out)
    }
}

/// A member path without `.`, `..` or empty components; `None` if it climbs out of the
/// archive or is absolute (a hostile manifest.json must not read files outside the archive).
pub fn clean(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn not_found(shown: &str, path: &str) -> ImageError {
    ImageError::Invalid(format!("{shown}: {path} is missing from the archive"))
}

pub struct DirSource {
    root: PathBuf,
    shown: String,
}

impl DirSource {
    pub fn new(root: &Path, shown: &str) -> DirSource {
        DirSource {
            root: root.to_path_buf(),
            shown: shown.to_string(),
        }
    }

    fn path(&self, path: &str) -> Result<PathBuf> {
        let c = clean(path).ok_or_else(|| {
            ImageError::Invalid(format!("{}: refusing the path {path:?}", self.shown))
        })?;
        Ok(self.root.join(c))
    }
}

impl Source for DirSource {
    fn open(&self, path: &str) -> Result<Box<dyn Read + '_>> {
        let p = self.path(path)?;
        match File::open(&p) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(not_found(&self.shown, path)),
            Err(e) => Err(ImageError::io(format!("{}: opening {path}", self.shown))(e)),
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.path(path).map(|p| p.is_file()).unwrap_or(false)
    }

    fn shown(&self) -> &str {
        &self.shown
    }
}

enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// A symlink or hard link, as a cleaned archive path.
    Link(String),
}

pub struct TarSource {
    file: File,
    members: HashMap<String, Member>,
    shown: String,
}

impl TarSource {
    /// Index an (uncompressed) tar file: one pass over its headers, seeking over contents.
    pub fn index(path: &Path, shown: &str) -> Result<TarSource> {
        let file = File::open(path).map_err(ImageError::io(format!("opening {shown}")))?;
        let not_tar = |e: io::Error| {
            ImageError::Invalid(format!(
                "{shown} is not a tar archive, an OCI layout or a docker-save archive ({e})"
            ))
        };
        let mut members = HashMap::new();
        let mut count = 0usize;
        let mut archive = tar::Archive::new(&file);
        for entry in archive.entries_with_seek().map_err(not_tar)? {
            let entry = entry.map_err(not_tar)?;
            count += 1;
            let raw = entry.path_bytes();
            let Some(name) = std::str::from_utf8(&raw).ok().and_then(clean) else {
                continue;
            };
            let kind = entry.header().entry_type();
            let member = if kind.is_file() || kind.is_contiguous() {
                Member::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                }
            } else if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                // Symlinks are relative to their directory; hard links to the archive root.
                let joined = if kind.is_symlink() {
                    match name.rsplit_once('/') {
                        Some((dir, _)) => format!("{dir}/{target}"),
                        None => target,
                    }
                } else {
                    target
                };
                match clean(&joined) {
                    Some(t) => Member::Link(t),
                    None => continue,
                }
            } else {
                continue;
            };
            members.insert(name, member);
        }
        if count == 0 {
            return Err(not_tar(io::Error::other("it holds no entries")));
        }
        Ok(TarSource {
            file,
            members,
            shown: shown.to_string(),
        })
    }

    fn lookup(&self, path: &str) -> Option<(u64, u64)> {
        let mut name = clean(path)?;
        for _ in 0..16 {
            match self.members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link(t) => name = t.clone(),
            }
        }
        None
    }
}

/// A member's bytes, read with pread so several can be open at once.
struct Section<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive is truncated",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Source for TarSource {
    fn open(&self, path: &str) -> Result<Box<dyn Read + '_>> {
        let (offset, size) = self
            .lookup(path)
            .ok_or_else(|| not_found(&self.shown, path))?;
        Ok(Box::new(Section {
            file: &self.file,
            pos: offset,
            end: offset + size,
        }))
    }

    fn exists(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    fn shown(&self) -> &str {
        &self.shown
    }
}

/// How a path is shown in messages.
pub fn display(path: &Path) -> String {
    String::from_utf8_lossy(path.as_os_str().as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(clean("manifest.json").as_deref(), Some("manifest.json"));
        assert_eq!(clean("../etc/passwd"), None);
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("/etc/passwd"), None);
        assert_eq!(clean("."), None);
    }

    #[test]
    fn tar_members_with_links() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("a.tar");
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_data(&mut h, "./one/layer.tar", &b"hello"[..])
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "two/layer.tar", "../one/layer.tar")
            .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "evil", "../../etc/passwd").unwrap();
        b.finish().unwrap();
        drop(b);
        let src = TarSource::index(&path, "a.tar").unwrap();
        let read = |p: &str| {
            let mut s = String::new();
            src.open(p).unwrap().read_to_string(&mut s).unwrap();
            s
        };
        assert_eq!(read("one/layer.tar"), "hello");
        assert_eq!(read("two/layer.tar"), "hello");
        assert!(!src.exists("evil"));
        assert!(!src.exists("../a.tar"));
        let e = src.open("missing.json").err().unwrap().to_string();
        assert!(e.contains("a.tar: missing.json is missing"), "{e}");
    }

    #[test]
    fn non_tar_input_is_named() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("x.txt");
        std::fs::write(
            &path,
            "just some text, certainly not a tar header ".repeat(20),
        )
        .unwrap();
        let e = TarSource::index(&path, "x.txt").err().unwrap().to_string();
        assert!(e.starts_with("x.txt is not a tar archive"), "{e}");
        std::fs::write(&path, "").unwrap();
        let e = TarSource::index(&path, "x.txt").err().unwrap().to_string();
        assert!(e.contains("no entries"), "{e}");
    }
}
