//! The few syscalls unpacking needs that std does not offer, none of which follow a final
//! symlink.

use nix::sys::stat::{Mode, SFlag, UtimensatFlags, makedev, mknod, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat};
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// overlayfs marks a directory that hides everything below it with this xattr.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("path contains NUL"))
}

/// lsetxattr(2).
pub fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let p = cpath(path)?;
    let n = CString::new(name).map_err(|_| io::Error::other("xattr name contains NUL"))?;
    // SAFETY: both strings are NUL-terminated and live across the call; value is a valid slice.
    let r = unsafe {
        libc::lsetxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// lgetxattr(2); `None` when the attribute is not set.
pub fn get_xattr(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    let p = cpath(path)?;
    let n = CString::new(name).map_err(|_| io::Error::other("xattr name contains NUL"))?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: the buffer is valid for buf.len() bytes; strings are NUL-terminated.
    let r = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r >= 0 {
        buf.truncate(r as usize);
        return Ok(Some(buf));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENODATA) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// Create a character or block device, or a FIFO (`dev` ignored).
pub fn make_node(path: &Path, kind: SFlag, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    let dev = makedev(u64::from(major), u64::from(minor));
    mknod(path, kind, Mode::from_bits_truncate(mode & 0o7777), dev).map_err(io::Error::from)
}

/// An overlay whiteout: a character device 0/0.
pub fn make_whiteout(path: &Path) -> io::Result<()> {
    make_node(path, SFlag::S_IFCHR, 0, 0, 0)
}

/// lchown(2).
pub fn lchown(path: &Path, uid: u64, gid: u64) -> io::Result<()> {
    let (Ok(uid), Ok(gid)) = (u32::try_from(uid), u32::try_from(gid)) else {
        return Err(io::Error::other(format!(
            "uid/gid {uid}/{gid} out of range"
        )));
    };
    fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

/// Set atime and mtime (seconds) of the path itself, not of a symlink's target.
pub fn set_mtime_nofollow(path: &Path, mtime: u64) -> io::Result<()> {
    let secs = i64::try_from(mtime).unwrap_or(i64::MAX);
    let t = TimeSpec::new(secs, 0);
    utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &t,
        &t,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// Whether a path is an overlay whiteout (char device 0/0).
pub fn is_whiteout(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
        .unwrap_or(false)
}
