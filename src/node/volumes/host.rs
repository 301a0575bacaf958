//! Volume directories on the host: emptyDir (optionally a tmpfs), hostPath type checks,
//! and unmounting everything under a pod's volumes directory.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// emptyDir directories are world-writable, as the kubelet makes them, so any container
/// user can write.
pub const EMPTY_DIR_MODE: u32 = 0o777;

/// Create `dir` (mode `mode`, whatever the umask) unless it exists.
pub fn ensure_dir(dir: &Path, mode: u32) -> io::Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(mode)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `dir` is the root of a mount (its device differs from its parent's).
pub fn is_mount_point(dir: &Path) -> io::Result<bool> {
    let meta = fs::symlink_metadata(dir)?;
    let parent = dir.parent().unwrap_or(Path::new("/"));
    let pmeta = fs::metadata(parent)?;
    Ok(meta.dev() != pmeta.dev() || meta.ino() == pmeta.ino())
}

/// Mount a tmpfs on `dir` unless one is already there.
pub fn ensure_tmpfs(dir: &Path, size: Option<u64>, mode: u32) -> io::Result<()> {
    if is_mount_point(dir)? {
        return Ok(());
    }
    let mut data = format!("mode={mode:o}");
    if let Some(size) = size.filter(|s| *s > 0) {
        data.push_str(&format!(",size={size}"));
    }
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
        Some(data.as_str()),
    )
    .map_err(io::Error::from)
}

/// Group-own a writable volume directory by fsGroup with setgid, so new files inherit the
/// group (the kubelet's SetVolumeOwnership for emptyDir).
pub fn own_dir(dir: &Path, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(dir, None, Some(gid))?;
    let mode = fs::metadata(dir)?.mode() & 0o7777;
    fs::set_permissions(
        dir,
        fs::Permissions::from_mode(mode | 0o2000 | 0o660 | 0o110),
    )
}

/// The kubelet's hostPath type check; creates the path for the `...OrCreate` types.
pub fn check_host_path(path: &Path, kind: &str) -> Result<(), String> {
    let shown = path.display();
    let meta = fs::metadata(path).ok();
    let missing = || format!("hostPath type check failed: {shown} does not exist");
    let is = |f: &dyn Fn(&fs::Metadata) -> bool, what: &str| match &meta {
        None => Err(missing()),
        Some(m) if f(m) => Ok(()),
        Some(_) => Err(format!("hostPath type check failed: {shown} is not {what}")),
    };
    match kind {
        "" => Ok(()),
        "DirectoryOrCreate" if meta.is_none() => {
            fs::create_dir_all(path).map_err(|e| format!("mkdir {shown}: {e}"))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod {shown}: {e}"))
        }
        "Directory" | "DirectoryOrCreate" => is(&|m| m.is_dir(), "a directory"),
        "FileOrCreate" if meta.is_none() => {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| format!("open {shown}: {e}"))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o644))
                .map_err(|e| format!("chmod {shown}: {e}"))
        }
        "File" | "FileOrCreate" => is(&|m| m.is_file(), "a file"),
        "Socket" => is(&|m| m.file_type().is_socket(), "a socket file"),
        "CharDevice" => is(&|m| m.file_type().is_char_device(), "a character device"),
        "BlockDevice" => is(&|m| m.file_type().is_block_device(), "a block device"),
        other => Err(format!("{other} is an invalid volume type")),
    }
}

/// Mount points at or under `dir`, deepest (and most recently mounted) first.
pub fn mounts_under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<(usize, PathBuf)> = crate::runtime::mountinfo::mount_points()?
        .into_iter()
        .enumerate()
        .filter(|(_, p)| p.starts_with(dir))
        .collect();
    found.sort_by(|a, b| {
        b.1.components()
            .count()
            .cmp(&a.1.components().count())
            .then(b.0.cmp(&a.0))
    });
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
pub(super) use crate::runtime::mountinfo::unescape;

/// Unmount everything at or under `dir`: a plain unmount first, a lazy detach when busy.
pub fn unmount_all(dir: &Path) -> io::Result<()> {
    // Stacked mounts show up again after the top one goes: repeat until none is left.
    for _ in 0..64 {
        let mounts = mounts_under(dir)?;
        if mounts.is_empty() {
            return Ok(());
        }
        for m in mounts {
            if nix::mount::umount2(&m, nix::mount::MntFlags::empty()).is_err() {
                match nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH) {
                    Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
                    Err(e) => {
                        return Err(io::Error::other(format!("unmount {}: {e}", m.display())));
                    }
                }
            }
        }
    }
    Err(io::Error::other(format!(
        "mounts under {} keep coming back",
        dir.display()
    )))
}
