//! /etc/passwd and /etc/group read from an image's unpacked layers, as overlayfs would show
//! them: the topmost layer that has the path wins, overlay whiteouts (char 0/0) delete,
//! opaque directories hide what is below, and symlinks resolve inside the image.

use crate::image::unpack::sys::{OPAQUE_XATTR, get_xattr, is_whiteout};
use std::cell::OnceCell;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Larger files are not account databases; reading stops there.
const MAX_FILE: u64 = 16 << 20;
/// Symlinks followed while resolving one path (Linux's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The image's account files, read once each when first needed.
pub(super) struct Files<'a> {
    layers: &'a [&'a Path],
    passwd: OnceCell<Vec<PasswdEntry>>,
    group: OnceCell<Vec<GroupEntry>>,
}

impl<'a> Files<'a> {
    pub(super) fn new(layers: &'a [&'a Path]) -> Files<'a> {
        Files {
            layers,
            passwd: OnceCell::new(),
            group: OnceCell::new(),
        }
    }

    /// /etc/passwd entries; none when the image has no such file.
    pub(super) fn passwd(&self) -> Result<Vec<PasswdEntry>, String> {
        if let Some(p) = self.passwd.get() {
            return Ok(p.clone());
        }
        let text = read_layered(self.layers, "etc/passwd")?.unwrap_or_default();
        Ok(self.passwd.get_or_init(|| parse_passwd(&text)).clone())
    }

    pub(super) fn group(&self) -> Result<Vec<GroupEntry>, String> {
        if let Some(g) = self.group.get() {
            return Ok(g.clone());
        }
        let text = read_layered(self.layers, "etc/group")?.unwrap_or_default();
        Ok(self.group.get_or_init(|| parse_group(&text)).clone())
    }
}

/// `name:password:uid:gid:...` lines; comments, NIS (`+`/`-`) and malformed lines skipped.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with(['#', '+', '-']))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first().filter(|n| !n.is_empty())?.to_string(),
                uid: f.get(2)?.trim().parse().ok()?,
                gid: f.get(3)?.trim().parse().ok()?,
            })
        })
        .collect()
}

/// `name:password:gid:member,member` lines.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with(['#', '+', '-']))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first().filter(|n| !n.is_empty())?.to_string(),
                gid: f.get(2)?.trim().parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|m| !m.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// A file's text as the merged image shows it at `path` (relative to the image root);
/// `None` when it does not exist there. Errors only for a file that exists and cannot be read.
pub fn read_layered(layers: &[&Path], path: &str) -> Result<Option<String>, String> {
    let Some(found) = resolve(layers, &normalize(Path::new(""), Path::new(path)), 0) else {
        return Ok(None);
    };
    let file =
        std::fs::File::open(&found).map_err(|e| format!("cannot read the image's /{path}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the image's /{path}: {e}"))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The host path of the regular file the merged view shows at `rel` (normalized components).
fn resolve(layers: &[&Path], rel: &[String], links: usize) -> Option<PathBuf> {
    if rel.is_empty() || links > MAX_LINKS {
        return None;
    }
    // For each leading directory: whether an upper layer already showed it as a directory
    // (a lower non-directory is then hidden).
    let mut seen_dir = vec![false; rel.len()];
    for layer in layers {
        let mut opaque = false;
        let mut here = layer.to_path_buf();
        for (i, part) in rel.iter().enumerate() {
            here.push(part);
            let Ok(meta) = std::fs::symlink_metadata(&here) else {
                break;
            };
            if is_whiteout(&here) {
                return None;
            }
            let last = i + 1 == rel.len();
            if meta.file_type().is_symlink() {
                if seen_dir[i] && !last {
                    return None;
                }
                let target = std::fs::read_link(&here).ok()?;
                let parent: PathBuf = rel[..i].iter().collect();
                let mut next = normalize(&parent, &target);
                next.extend(rel[i + 1..].iter().cloned());
                return resolve(layers, &next, links + 1);
            }
            if last {
                return meta.is_file().then_some(here);
            }
            if !meta.is_dir() {
                return None;
            }
            seen_dir[i] = true;
            if matches!(get_xattr(&here, OPAQUE_XATTR), Ok(Some(v)) if v == b"y") {
                opaque = true;
            }
        }
        // The path is not in this layer; an opaque directory on the way hides the lower ones.
        if opaque {
            return None;
        }
    }
    None
}

/// `target` taken relative to `base` (absolute targets from the image root), `..` clamped
/// at the root, as components.
fn normalize(base: &Path, target: &Path) -> Vec<String> {
    let mut out: Vec<String> = if target.is_absolute() {
        Vec::new()
    } else {
        base.iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect()
    };
    for c in target.components() {
        match c {
            Component::Normal(p) => out.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}
