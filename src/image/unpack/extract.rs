//! Writing one layer's tar entries into its directory, safely. The directory is private to
//! this process while it is written (a temporary name), so checking each path component
//! with lstat before use is enough: only the tar itself changes the tree, one entry at a time.

use super::UnpackOptions;
use super::sys;
use crate::image::{ImageError, Result};
use nix::sys::stat::SFlag;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_NAME: &[u8] = b".wh..wh..opq";

/// Owner, mode and time of an entry.
#[derive(Debug, Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
}

pub struct Extractor<'a> {
    root: &'a Path,
    layer: &'a str,
    opts: &'a UnpackOptions,
    /// Directories whose metadata is applied at the end (creating their children would
    /// change their mtime, and a read-only mode would stop a non-root unpacker).
    dirs: Vec<(PathBuf, Meta)>,
    /// Whiteouts made by this layer: a directory later created in their place must hide
    /// what the lower layers have there, so it becomes opaque.
    whiteouts: HashSet<PathBuf>,
    pub skipped_devices: u64,
}

/// A numeric header field; an empty one (all NUL or spaces) reads as 0, as Go's
/// archive/tar (docker, containerd) reads it.
fn numeric(parsed: io::Result<u64>, raw: &[u8]) -> io::Result<u64> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        other => other,
    }
}

/// A tar path as a relative path without `.` components; `None` for the root itself.
pub fn safe_relative(raw: &[u8]) -> std::result::Result<Option<PathBuf>, &'static str> {
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return Err("is an absolute path"),
            Component::ParentDir => return Err("has a '..' component"),
            Component::CurDir => {}
            Component::Normal(n) => out.push(n),
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

impl<'a> Extractor<'a> {
    pub fn new(root: &'a Path, layer: &'a str, opts: &'a UnpackOptions) -> Extractor<'a> {
        Extractor {
            root,
            layer,
            opts,
            dirs: Vec::new(),
            whiteouts: HashSet::new(),
            skipped_devices: 0,
        }
    }

    fn refuse(&self, path: &Path, reason: impl Into<String>) -> ImageError {
        ImageError::Unsafe {
            layer: self.layer.to_string(),
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }

    fn io_err(&self, doing: &str, path: &Path) -> impl FnOnce(io::Error) -> ImageError + use<> {
        ImageError::io(format!("{}: {doing} {}", self.layer, path.display()))
    }

    pub fn extract(&mut self, tar: &mut dyn Read) -> Result<()> {
        let mut archive = tar::Archive::new(tar);
        let layer = self.layer;
        let bad_tar =
            |e: io::Error| ImageError::Invalid(format!("{layer}: not a valid tar archive: {e}"));
        for entry in archive.entries().map_err(bad_tar)? {
            let mut entry = entry.map_err(bad_tar)?;
            self.entry(&mut entry)?;
        }
        self.finish_dirs()
    }

    fn entry(&mut self, entry: &mut tar::Entry<'_, &mut dyn Read>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        let shown = PathBuf::from(OsStr::from_bytes(&raw));
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let rel = match safe_relative(&raw) {
            Ok(Some(rel)) => rel,
            // The layer root: its attributes come from the layer directory itself.
            Ok(None) => return Ok(()),
            Err(reason) => return Err(self.refuse(&shown, reason)),
        };
        let name = rel.file_name().map(|n| n.as_bytes()).unwrap_or_default();
        if name.starts_with(WHITEOUT_PREFIX) {
            return self.whiteout(&rel, name);
        }
        let header = entry.header();
        let bad_header = |field: &str, e: io::Error| {
            ImageError::Invalid(format!(
                "{}: entry {:?} has a bad {field}: {e}",
                self.layer,
                shown.display().to_string()
            ))
        };
        let old = header.as_old();
        let meta = Meta {
            mode: numeric(header.mode().map(u64::from), &old.mode)
                .map_err(|e| bad_header("mode", e))? as u32
                & 0o7777,
            uid: numeric(header.uid(), &old.uid).map_err(|e| bad_header("uid", e))?,
            gid: numeric(header.gid(), &old.gid).map_err(|e| bad_header("gid", e))?,
            mtime: numeric(header.mtime(), &old.mtime).map_err(|e| bad_header("mtime", e))?,
        };
        let xattrs = self.xattrs(entry, &rel)?;
        self.ensure_parent(&rel)?;
        let path = self.root.join(&rel);
        if kind.is_dir() {
            self.directory(&rel, &path, meta)?;
        } else if kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse() {
            self.file(entry, &path, meta)?;
        } else if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| self.refuse(&rel, "is a symlink without a target"))?
                .into_owned();
            self.remove_existing(&path)?;
            std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
                .map_err(self.io_err("creating symlink", &rel))?;
            self.finish_node(&path, meta, false)?;
        } else if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| self.refuse(&rel, "is a hard link without a target"))?
                .into_owned();
            self.hard_link(&rel, &path, &target)?;
        } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
            self.node(entry.header(), &rel, &path, meta)?;
        } else if kind.is_gnu_longname() || kind.is_gnu_longlink() || kind.is_pax_local_extensions()
        {
            return Ok(());
        } else {
            return Err(self.refuse(
                &rel,
                format!("has the unsupported tar type {:?}", kind.as_byte() as char),
            ));
        }
        self.apply_xattrs(&rel, &path, &xattrs)
    }

    /// Create the missing parents of `rel`; refuse to pass through a symlink or a file.
    fn ensure_parent(&mut self, rel: &Path) -> Result<()> {
        let Some(parent) = rel.parent() else {
            return Ok(());
        };
        let mut prefix = PathBuf::new();
        for c in parent.components() {
            prefix.push(c);
            let path = self.root.join(&prefix);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(self.refuse(
                        rel,
                        format!(
                            "goes through the symlink {:?}",
                            prefix.display().to_string()
                        ),
                    ));
                }
                Ok(_) if self.whiteouts.contains(&prefix) => {
                    // A directory replacing what this layer whited out.
                    self.remove_existing(&path)?;
                    self.mkdir(&path, &prefix)?;
                }
                Ok(_) => {
                    return Err(self.refuse(
                        rel,
                        format!(
                            "is below {:?}, which is not a directory",
                            prefix.display().to_string()
                        ),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => self.mkdir(&path, &prefix)?,
                Err(e) => return Err(self.io_err("inspecting", &prefix)(e)),
            }
        }
        Ok(())
    }

    /// Check that `rel` names an existing non-directory reached without symlinks.
    fn check_link_target(&self, entry: &Path, rel: &Path) -> Result<()> {
        let mut prefix = PathBuf::new();
        let count = rel.components().count();
        for (i, c) in rel.components().enumerate() {
            prefix.push(c);
            let last = i + 1 == count;
            let m = fs::symlink_metadata(self.root.join(&prefix)).map_err(|_| {
                self.refuse(
                    entry,
                    format!(
                        "links to {:?}, which is not in this layer",
                        rel.display().to_string()
                    ),
                )
            })?;
            let ok = if last {
                !m.file_type().is_dir()
            } else {
                m.file_type().is_dir()
            };
            if !ok {
                let why = if last {
                    "a directory".to_string()
                } else {
                    format!("reached through {:?}", prefix.display().to_string())
                };
                return Err(self.refuse(
                    entry,
                    format!("links to {:?}, which is {why}", rel.display().to_string()),
                ));
            }
        }
        Ok(())
    }

    /// A directory with mode 0755 whatever the umask (a parent the tar does not list keeps
    /// it; a listed one gets its own mode at the end).
    fn mkdir(&mut self, path: &Path, rel: &Path) -> Result<()> {
        fs::DirBuilder::new()
            .mode(0o755)
            .create(path)
            .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o755)))
            .map_err(self.io_err("creating directory", rel))?;
        if self.whiteouts.contains(rel) {
            self.set_opaque(rel, path)?;
        }
        Ok(())
    }

    /// Remove what an earlier entry put at `path` (a later entry replaces it, as tar does).
    fn remove_existing(&self, path: &Path) -> Result<()> {
        let rel = path.strip_prefix(self.root).unwrap_or(path);
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_dir() => {
                fs::remove_dir_all(path).map_err(self.io_err("replacing", rel))
            }
            Ok(_) => fs::remove_file(path).map_err(self.io_err("replacing", rel)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_err("inspecting", rel)(e)),
        }
    }

    fn directory(&mut self, rel: &Path, path: &Path, meta: Meta) -> Result<()> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => {
                self.remove_existing(path)?;
                self.mkdir(path, rel)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.mkdir(path, rel)?,
            Err(e) => return Err(self.io_err("inspecting", rel)(e)),
        }
        self.dirs.push((rel.to_path_buf(), meta));
        Ok(())
    }

    fn file(&self, entry: &mut dyn Read, path: &Path, meta: Meta) -> Result<()> {
        let rel = path.strip_prefix(self.root).unwrap_or(path);
        self.remove_existing(path)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(self.io_err("creating", rel))?;
        io::copy(entry, &mut f).map_err(|e| {
            ImageError::Invalid(format!("{}: reading {}: {e}", self.layer, rel.display()))
        })?;
        self.finish_file(&f, rel, meta)
    }

    /// Owner first (chown clears setuid bits), then mode, then times.
    fn finish_file(&self, f: &File, rel: &Path, meta: Meta) -> Result<()> {
        if self.opts.as_root {
            let (Ok(uid), Ok(gid)) = (u32::try_from(meta.uid), u32::try_from(meta.gid)) else {
                return Err(self.refuse(rel, "has a uid or gid out of range"));
            };
            std::os::unix::fs::fchown(f, Some(uid), Some(gid))
                .map_err(self.io_err("chown", rel))?;
        }
        f.set_permissions(fs::Permissions::from_mode(meta.mode))
            .map_err(self.io_err("chmod", rel))?;
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(meta.mtime);
        f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
            .map_err(self.io_err("setting times of", rel))
    }

    /// Owner, mode (not for symlinks) and times of a node created by path.
    fn finish_node(&self, path: &Path, meta: Meta, chmod: bool) -> Result<()> {
        let rel = path.strip_prefix(self.root).unwrap_or(path);
        if self.opts.as_root {
            sys::lchown(path, meta.uid, meta.gid).map_err(self.io_err("chown", rel))?;
        }
        if chmod {
            // The node was just created by this process and is not a symlink.
            fs::set_permissions(path, fs::Permissions::from_mode(meta.mode))
                .map_err(self.io_err("chmod", rel))?;
        }
        sys::set_mtime_nofollow(path, meta.mtime).map_err(self.io_err("setting times of", rel))
    }

    fn hard_link(&self, rel: &Path, path: &Path, target: &[u8]) -> Result<()> {
        let target_rel = match safe_relative(target) {
            Ok(Some(t)) => t,
            Ok(None) => return Err(self.refuse(rel, "is a hard link to the layer root")),
            Err(reason) => {
                let shown = String::from_utf8_lossy(target);
                return Err(
                    self.refuse(rel, format!("is a hard link to {shown:?}, which {reason}"))
                );
            }
        };
        self.check_link_target(rel, &target_rel)?;
        if target_rel == rel {
            return Ok(());
        }
        self.remove_existing(path)?;
        // linkat(2) without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
        fs::hard_link(self.root.join(&target_rel), path).map_err(self.io_err("linking", rel))
    }

    fn node(&mut self, header: &tar::Header, rel: &Path, path: &Path, meta: Meta) -> Result<()> {
        let kind = header.entry_type();
        let sflag = if kind.is_fifo() {
            SFlag::S_IFIFO
        } else if kind.is_block_special() {
            SFlag::S_IFBLK
        } else {
            SFlag::S_IFCHR
        };
        if sflag != SFlag::S_IFIFO && !self.opts.as_root {
            self.skipped_devices += 1;
            return Ok(());
        }
        let bad = |e: io::Error| self.refuse(rel, format!("has a bad device number: {e}"));
        let major = header.device_major().map_err(bad)?.unwrap_or(0);
        let minor = header.device_minor().map_err(bad)?.unwrap_or(0);
        self.remove_existing(path)?;
        sys::make_node(path, sflag, meta.mode, major, minor)
            .map_err(self.io_err("creating", rel))?;
        self.finish_node(path, meta, true)
    }

    /// `.wh..wh..opq` makes the directory opaque; `.wh.NAME` hides NAME of lower layers.
    fn whiteout(&mut self, rel: &Path, name: &[u8]) -> Result<()> {
        self.ensure_parent(rel)?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        if name == OPAQUE_NAME {
            return self.set_opaque(parent, &self.root.join(parent));
        }
        let hidden = &name[WHITEOUT_PREFIX.len()..];
        if hidden.starts_with(WHITEOUT_PREFIX) {
            // Other `.wh..wh.*` names are aufs bookkeeping, meaningless here.
            return Ok(());
        }
        if hidden.is_empty() || hidden == b"." || hidden == b".." {
            return Err(self.refuse(rel, "is a whiteout of nothing"));
        }
        let target_rel = parent.join(OsStr::from_bytes(hidden));
        let target = self.root.join(&target_rel);
        if fs::symlink_metadata(&target).is_ok() {
            // An entry of this same layer stays: a whiteout only hides lower layers.
            return Ok(());
        }
        sys::make_whiteout(&target).map_err(|e| {
            self.needs_root(
                &target_rel,
                "an overlay whiteout (a 0/0 character device)",
                e,
            )
        })?;
        self.whiteouts.insert(target_rel);
        Ok(())
    }

    fn set_opaque(&self, rel: &Path, path: &Path) -> Result<()> {
        sys::set_xattr(path, sys::OPAQUE_XATTR, b"y")
            .map_err(|e| self.needs_root(rel, "the overlay opaque attribute", e))
    }

    fn needs_root(&self, rel: &Path, what: &str, e: io::Error) -> ImageError {
        if e.raw_os_error() == Some(libc::EPERM) {
            ImageError::Invalid(format!(
                "{}: {}: creating {what} needs root: import this image as root",
                self.layer,
                rel.display()
            ))
        } else {
            self.io_err(&format!("creating {what} at"), rel)(e)
        }
    }

    /// `SCHILY.xattr.NAME` PAX records; `trusted.overlay.*` is refused.
    fn xattrs(
        &self,
        entry: &mut tar::Entry<'_, &mut dyn Read>,
        rel: &Path,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        let exts = entry.pax_extensions().map_err(|e| {
            ImageError::Invalid(format!(
                "{}: {}: bad PAX header: {e}",
                self.layer,
                rel.display()
            ))
        })?;
        for ext in exts.into_iter().flatten() {
            let Ok(ext) = ext else { continue };
            let Some(name) = ext.key().ok().and_then(|k| k.strip_prefix("SCHILY.xattr.")) else {
                continue;
            };
            if name.starts_with("trusted.overlay.") {
                return Err(self.refuse(rel, format!("sets the overlayfs attribute {name}")));
            }
            out.push((name.to_string(), ext.value_bytes().to_vec()));
        }
        Ok(out)
    }

    fn apply_xattrs(&self, rel: &Path, path: &Path, xattrs: &[(String, Vec<u8>)]) -> Result<()> {
        if !self.opts.as_root {
            return Ok(());
        }
        for (name, value) in xattrs {
            match sys::set_xattr(path, name, value) {
                Ok(()) => {}
                // The filesystem under the store does not keep this namespace.
                Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {}
                Err(e) => return Err(self.io_err(&format!("setting xattr {name} on"), rel)(e)),
            }
        }
        Ok(())
    }

    /// Directory metadata, after every entry is in place. A directory that a later entry
    /// replaced (or put behind a symlink) is skipped: its metadata went with it.
    fn finish_dirs(&mut self) -> Result<()> {
        for (rel, meta) in std::mem::take(&mut self.dirs) {
            if !self.is_plain_dir_path(&rel) {
                continue;
            }
            let path = self.root.join(&rel);
            let dir = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
                .open(&path)
                .map_err(self.io_err("opening", &rel))?;
            self.finish_file(&dir, &rel, meta)?;
        }
        Ok(())
    }

    fn is_plain_dir_path(&self, rel: &Path) -> bool {
        let mut prefix = self.root.to_path_buf();
        rel.components().all(|c| {
            prefix.push(c);
            fs::symlink_metadata(&prefix)
                .map(|m| m.file_type().is_dir())
                .unwrap_or(false)
        })
    }
}
