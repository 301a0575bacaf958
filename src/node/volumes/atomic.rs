//! The kubelet's atomic writer: a volume's files live in a `..<timestamp>` directory, `..data`
//! is a symlink to it, and each top-level entry is a symlink `name -> ..data/name`. An update
//! writes a new timestamped directory and renames a fresh `..data` symlink over the old one,
//! so a reader sees either the old set of files or the new one, never a mix.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path};

/// One file of a volume's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileData {
    pub bytes: Vec<u8>,
    /// Permission bits (`defaultMode` or an item's `mode`).
    pub mode: u32,
}

/// Relative path in the volume → contents.
pub type Payload = BTreeMap<String, FileData>;

const DATA: &str = "..data";
const DATA_TMP: &str = "..data_tmp";

/// Read-only volumes owned by fsGroup get group read, and directories setgid and group
/// search, as the kubelet's SetVolumeOwnership does.
const RO_MASK: u32 = 0o440;
const DIR_MASK: u32 = 0o2000 | 0o110;

/// Why a payload path is refused (the API validates these too; this keeps a bad object
/// from writing outside the volume).
pub fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("invalid path: must not be empty".into());
    }
    if Path::new(path).is_absolute() {
        return Err(format!("invalid path {path:?}: must be a relative path"));
    }
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) if !s.to_string_lossy().starts_with("..") => {}
            _ => {
                return Err(format!(
                    "invalid path {path:?}: must not contain '..' or start with '..'"
                ));
            }
        }
    }
    Ok(())
}

/// The mode a file ends up with.
fn file_mode(mode: u32, fs_group: Option<u32>) -> u32 {
    let mode = mode & 0o777;
    if fs_group.is_some() {
        mode | RO_MASK
    } else {
        mode
    }
}

/// Write `payload` into `dir` atomically; returns whether anything changed. Unchanged
/// content (same files, bytes and modes) leaves the volume alone, as the kubelet does.
pub fn write(dir: &Path, payload: &Payload, fs_group: Option<u32>) -> io::Result<bool> {
    for p in payload.keys() {
        check_path(p).map_err(io::Error::other)?;
    }
    let old_target = fs::read_link(dir.join(DATA)).ok();
    if old_target.is_some() && matches(&dir.join(DATA), payload, fs_group) {
        return Ok(false);
    }
    let ts = new_timestamp_dir(dir)?;
    let ts_name = ts
        .file_name()
        .map(|n| n.to_os_string())
        .ok_or_else(|| io::Error::other("timestamp directory has no name"))?;
    if let Err(e) = fill(&ts, payload, fs_group) {
        let _ = fs::remove_dir_all(&ts);
        return Err(e);
    }
    let tmp = dir.join(DATA_TMP);
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&ts_name, &tmp)?;
    fs::rename(&tmp, dir.join(DATA))?;

    // User-visible names: one symlink per top-level entry.
    let tops: BTreeSet<String> = payload.keys().filter_map(|p| top(p)).collect();
    for t in &tops {
        let link = dir.join(t);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new(DATA).join(t), &link)?;
        }
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") || tops.contains(&name) {
            continue;
        }
        // Only our own links go; anything else in the directory is left alone.
        if entry.file_type()?.is_symlink() {
            fs::remove_file(entry.path())?;
        }
    }
    if let Some(old) = old_target
        && old.as_os_str() != ts_name
        && old.to_string_lossy().starts_with("..")
        && !old.to_string_lossy().contains('/')
    {
        fs::remove_dir_all(dir.join(old))?;
    }
    Ok(true)
}

fn top(path: &str) -> Option<String> {
    Path::new(path)
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
}

/// `..2006_01_02_15_04_05.<unique>`, mode 0755 whatever the umask.
fn new_timestamp_dir(dir: &Path) -> io::Result<std::path::PathBuf> {
    let now = jiff::Timestamp::now();
    let stamp = now.strftime("%Y_%m_%d_%H_%M_%S").to_string();
    for n in 0..1000u32 {
        let p = dir.join(format!("..{stamp}.{}{n}", now.subsec_nanosecond()));
        match fs::create_dir(&p) {
            Ok(()) => {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
                return Ok(p);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("cannot create a timestamped directory"))
}

fn fill(ts: &Path, payload: &Payload, fs_group: Option<u32>) -> io::Result<()> {
    for (rel, data) in payload {
        let path = ts.join(rel);
        if let Some(parent) = path.parent()
            && parent != ts
        {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, &data.bytes)?;
        fs::set_permissions(
            &path,
            fs::Permissions::from_mode(file_mode(data.mode, fs_group)),
        )?;
    }
    if let Some(gid) = fs_group {
        own_tree(ts, gid)?;
    }
    Ok(())
}

/// Group-own every directory and file under `dir` (and `dir`) by `gid`; directories get
/// setgid and group search.
pub fn own_tree(dir: &Path, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(dir, None, Some(gid))?;
    let mode = fs::symlink_metadata(dir)?.mode() & 0o7777;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode | DIR_MASK | RO_MASK))?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        if ft.is_dir() {
            own_tree(&entry.path(), gid)?;
        } else {
            std::os::unix::fs::lchown(entry.path(), None, Some(gid))?;
        }
    }
    Ok(())
}

/// Whether the files under `data` are exactly the payload.
fn matches(data: &Path, payload: &Payload, fs_group: Option<u32>) -> bool {
    let mut found = BTreeMap::new();
    if collect(data, data, &mut found).is_err() {
        return false;
    }
    if found.len() != payload.len() {
        return false;
    }
    payload.iter().all(|(rel, want)| {
        found.get(rel).is_some_and(|(mode, gid, path)| {
            *mode == file_mode(want.mode, fs_group)
                && fs_group.is_none_or(|g| g == *gid)
                && fs::read(path).is_ok_and(|b| b == want.bytes)
        })
    })
}

type Found = BTreeMap<String, (u32, u32, std::path::PathBuf)>;

fn collect(root: &Path, dir: &Path, out: &mut Found) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .to_string_lossy()
                .into_owned();
            out.insert(rel, (meta.mode() & 0o7777, meta.gid(), path));
        }
    }
    Ok(())
}
