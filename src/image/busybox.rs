//! A runnable busybox image made from the host's static busybox (Debian's busybox-static):
//! `/bin/busybox` with a symlink per applet, /etc/passwd and /etc/group, /tmp. It is what the
//! tests and `peapod bench pods` run, and a way to get a first image without a registry.

use std::io;
use std::path::Path;

/// A rootfs tar of the image, from the busybox binary at `busybox`.
pub fn rootfs_tar(busybox: &Path) -> io::Result<Vec<u8>> {
    let bin = std::fs::read(busybox)?;
    let list = std::process::Command::new(busybox).arg("--list").output()?;
    if !list.status.success() {
        return Err(io::Error::other(format!(
            "{} --list failed: is it a busybox binary?",
            busybox.display()
        )));
    }
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        if let Some(l) = link {
            h.set_link_name(l)?;
        }
        h.set_cksum();
        b.append_data(&mut h, path, data)
    };
    for d in ["bin", "etc", "tmp", "root", "var", "var/www"] {
        add(
            d,
            tar::EntryType::Directory,
            if d == "tmp" { 0o1777 } else { 0o755 },
            b"",
            None,
        )?;
    }
    add("bin/busybox", tar::EntryType::Regular, 0o755, &bin, None)?;
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" && !applet.contains('/') {
            add(
                &format!("bin/{applet}"),
                tar::EntryType::Symlink,
                0o777,
                b"",
                Some("busybox"),
            )?;
        }
    }
    add(
        "etc/passwd",
        tar::EntryType::Regular,
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        None,
    )?;
    add(
        "etc/group",
        tar::EntryType::Regular,
        0o644,
        b"root:x:0:\nnogroup:x:65534:\n",
        None,
    )?;
    b.into_inner()
}
