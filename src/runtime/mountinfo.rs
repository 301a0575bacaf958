//! Reading /proc/self/mountinfo (proc(5)): the mount points this process sees.

use std::io;
use std::path::{Path, PathBuf};

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every mount point, in mount order (a path may appear more than once).
pub fn mount_points() -> io::Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
        .collect())
}

/// Whether something is mounted exactly at `path`. statx reports it in O(1)
/// (STATX_ATTR_MOUNT_ROOT, Linux 5.8); reading mountinfo, the fallback, costs a line per
/// mount, and every running pod adds mounts.
pub fn is_mountpoint(path: &Path) -> bool {
    match mount_root_attr(path) {
        Some(is_root) => is_root,
        None => mount_points().is_ok_and(|ps| ps.iter().any(|p| p == path)),
    }
}

/// STATX_ATTR_MOUNT_ROOT of `path` (not following a final symlink, as mountinfo lists the
/// link itself); `None` when the kernel cannot tell.
fn mount_root_attr(path: &Path) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statx is plain old data; zeroed is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a buffer of the right type.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            0,
            &mut stx,
        )
    };
    if rc != 0 {
        // A path that does not exist is no mount point.
        return (io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT)).then_some(false);
    }
    let known = stx.stx_attributes_mask & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0;
    known.then_some(stx.stx_attributes & libc::STATX_ATTR_MOUNT_ROOT as u64 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_roots_are_recognised() {
        assert!(is_mountpoint(Path::new("/")));
        assert!(is_mountpoint(Path::new("/proc")));
        assert!(!is_mountpoint(Path::new("/proc/self")));
        assert!(!is_mountpoint(Path::new("/no/such/path/here")));
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!is_mountpoint(dir.path()));
        // Both ways agree where the kernel can tell.
        for p in ["/", "/proc", "/sys", "/etc"] {
            let listed = mount_points().is_ok_and(|ps| ps.iter().any(|m| m == Path::new(p)));
            assert_eq!(is_mountpoint(Path::new(p)), listed, "{p}");
        }
    }
}
