//! Unpacking tests. Tests named `*_as_root` need root (whiteouts, chown, devices) and fail
//! when run without it.

use super::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

/// Builds tars with raw names, so hostile paths (`../x`, `/etc/x`) can be written.
pub struct RawTar {
    b: tar::Builder<Vec<u8>>,
}

impl RawTar {
    pub fn new() -> RawTar {
        RawTar {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: tar::EntryType, path: &str, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    fn append(&mut self, mut h: tar::Header, data: &[u8]) -> &mut Self {
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub fn file(&mut self, path: &str, data: &[u8]) -> &mut Self {
        self.file_mode(path, data, 0o644, 0)
    }

    pub fn file_mode(&mut self, path: &str, data: &[u8], mode: u32, uid: u64) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Regular, path, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(uid);
        self.append(h, data)
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        let h = Self::header(tar::EntryType::Directory, path, mode, 0);
        self.append(h, &[])
    }

    fn link(&mut self, kind: tar::EntryType, path: &str, target: &str) -> &mut Self {
        let mut h = Self::header(kind, path, 0o777, 0);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.append(h, &[])
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Symlink, path, target)
    }

    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Link, path, target)
    }

    pub fn node(&mut self, kind: tar::EntryType, path: &str, major: u32, minor: u32) -> &mut Self {
        let mut h = Self::header(kind, path, 0o666, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.append(h, &[])
    }

    pub fn pax_xattr(&mut self, path: &str, name: &str, value: &str) -> &mut Self {
        let key = format!("SCHILY.xattr.{name}");
        self.b
            .append_pax_extensions([(key.as_str(), value.as_bytes())])
            .unwrap();
        self.file(path, b"")
    }

    pub fn bytes(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

fn root_opts() -> UnpackOptions {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (it checks ownership, devices or whiteouts)"
    );
    UnpackOptions { as_root: true }
}

fn unpack_into(t: &tempfile::TempDir, tar: &[u8], opts: &UnpackOptions) -> Result<Unpacked> {
    unpack(tar, &t.path().join("layer"), "layer test", None, opts)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn digests_of_plain_and_gzip_layers() {
    let tar = RawTar::new().file("a", b"hello").bytes();
    let d = digest_layer(&tar[..], "l", None).unwrap();
    assert_eq!(d.blob, Digest::of(&tar));
    assert_eq!(d.diff_id, Digest::of(&tar));
    assert_eq!((d.blob_size, d.size), (tar.len() as u64, tar.len() as u64));
    let gz = gzip(&tar);
    let d = digest_layer(&gz[..], "l", None).unwrap();
    assert_eq!(d.blob, Digest::of(&gz));
    assert_eq!(d.diff_id, Digest::of(&tar));
    assert_eq!(d.blob_size, gz.len() as u64);
    // Trailing bytes after the tar's end marker still count in the diffID.
    let mut padded = tar.clone();
    padded.extend_from_slice(&[0u8; 4096]);
    let d = digest_layer(&padded[..], "l", None).unwrap();
    assert_eq!(d.diff_id, Digest::of(&padded));
}

#[test]
fn other_compressions_are_refused_by_name() {
    for (magic, name) in [
        (&[0x28u8, 0xb5, 0x2f, 0xfd, 0][..], "zstd"),
        (b"\xfd7zXZ\x00", "xz"),
        (b"BZh91AY", "bzip2"),
    ] {
        let e = digest_layer(magic, "layer sha256:x", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(name) && e.contains("layer sha256:x"), "{e}");
    }
    let e = digest_layer(&b"\x1f\x8bgarbage"[..], "layer y", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer y") && e.contains("decompressing"), "{e}");
}

#[test]
fn files_dirs_links_modes_and_times() {
    let t = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .dir("./", 0o755)
        .dir("./bin/", 0o755)
        .file_mode("./bin/busybox", b"#!elf", 0o755, 0)
        .symlink("./bin/sh", "busybox")
        .symlink("./bin/abs", "/bin/busybox")
        .hardlink("./bin/ls", "bin/busybox")
        .file("etc/deep/er/conf", b"x=1") // parents not listed: created
        .dir("ro/", 0o555)
        .file("ro/inside", b"in a read-only dir")
        .file("twice", b"first")
        .file("twice", b"second")
        .node(tar::EntryType::Fifo, "run/fifo", 0, 0)
        .bytes();
    let gz = gzip(&tar);
    let u = unpack_into(&t, &gz, &UnpackOptions { as_root: false }).unwrap();
    assert_eq!(u.digests.diff_id, Digest::of(&tar));
    let l = t.path().join("layer");
    assert_eq!(fs::read(l.join("bin/busybox")).unwrap(), b"#!elf");
    let m = fs::metadata(l.join("bin/busybox")).unwrap();
    assert_eq!(m.permissions().mode() & 0o7777, 0o755);
    assert_eq!(m.mtime(), 1_600_000_000);
    assert_eq!(
        fs::read_link(l.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    assert_eq!(
        fs::read_link(l.join("bin/abs")).unwrap().to_str(),
        Some("/bin/busybox"),
        "symlinks are stored as written"
    );
    assert_eq!(fs::metadata(l.join("bin/ls")).unwrap().ino(), m.ino());
    assert_eq!(fs::read(l.join("etc/deep/er/conf")).unwrap(), b"x=1");
    let implicit = fs::metadata(l.join("etc/deep")).unwrap();
    assert_eq!(implicit.permissions().mode() & 0o777, 0o755);
    let ro = fs::metadata(l.join("ro")).unwrap();
    assert_eq!(ro.permissions().mode() & 0o777, 0o555);
    assert_eq!(
        ro.mtime(),
        1_600_000_000,
        "dir times are set after its children"
    );
    assert_eq!(fs::read(l.join("twice")).unwrap(), b"second");
    assert!(
        fs::symlink_metadata(l.join("run/fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    fs::set_permissions(l.join("ro"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn devices_are_skipped_without_root() {
    let t = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .node(tar::EntryType::Char, "dev/null", 1, 3)
        .node(tar::EntryType::Block, "dev/sda", 8, 0)
        .file("ok", b"")
        .bytes();
    let u = unpack_into(&t, &tar, &UnpackOptions { as_root: false }).unwrap();
    assert_eq!(u.skipped_devices, 2);
    assert!(!t.path().join("layer/dev/null").exists());
    assert!(t.path().join("layer/ok").exists());
}

#[test]
fn ownership_devices_and_xattrs_as_root() {
    let t = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .file_mode("suid", b"x", 0o4755, 1234)
        .node(tar::EntryType::Char, "dev/null", 1, 3)
        .pax_xattr("cap", "user.peapod", "v")
        .bytes();
    let u = unpack_into(&t, &tar, &root_opts()).unwrap();
    assert_eq!(u.skipped_devices, 0);
    let l = t.path().join("layer");
    let m = fs::metadata(l.join("suid")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 1234));
    assert_eq!(
        m.permissions().mode() & 0o7777,
        0o4755,
        "setuid survives chown"
    );
    let d = fs::symlink_metadata(l.join("dev/null")).unwrap();
    assert!(d.file_type().is_char_device());
    assert_eq!(d.rdev(), nix::sys::stat::makedev(1, 3));
    let x = sys::get_xattr(&l.join("cap"), "user.peapod");
    // tmpfs before 6.6 has no user.* xattrs; then the attribute is skipped.
    if let Ok(v) = x {
        assert!(v.is_none() || v.as_deref() == Some(&b"v"[..]));
    }
}

#[test]
fn whiteouts_become_overlay_whiteouts_as_root() {
    let t = tempfile::tempdir().unwrap();
    let tar = RawTar::new()
        .file("etc/.wh.passwd", b"")
        .dir("opaque/", 0o755)
        .file("opaque/.wh..wh..opq", b"")
        .file("opaque/kept", b"k")
        .file(".wh.replaced", b"")
        .dir("replaced/", 0o755)
        .file("replaced/new", b"n")
        .file("mine", b"this layer's own file")
        .file(".wh.mine", b"")
        .file(".wh..wh.plnk", b"")
        .bytes();
    unpack_into(&t, &tar, &root_opts()).unwrap();
    let l = t.path().join("layer");
    assert!(sys::is_whiteout(&l.join("etc/passwd")));
    assert!(!l.join("etc/.wh.passwd").exists());
    assert_eq!(
        sys::get_xattr(&l.join("opaque"), sys::OPAQUE_XATTR).unwrap(),
        Some(b"y".to_vec())
    );
    assert!(!l.join("opaque/.wh..wh..opq").exists());
    assert_eq!(fs::read(l.join("opaque/kept")).unwrap(), b"k");
    // A directory replacing a whited-out one hides the lower one's content.
    assert!(l.join("replaced").is_dir());
    assert_eq!(
        sys::get_xattr(&l.join("replaced"), sys::OPAQUE_XATTR).unwrap(),
        Some(b"y".to_vec())
    );
    assert_eq!(fs::read(l.join("mine")).unwrap(), b"this layer's own file");
    assert!(!l.join(".wh..wh.plnk").exists());
}

/// The hostile tars of the issue: each is refused and nothing appears outside the layer.
#[test]
fn hostile_layers_are_refused() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            RawTar::new().file("../../escaped", b"x").bytes(),
            "'..' component",
        ),
        (
            "absolute",
            RawTar::new().file("/etc/peapod-escaped", b"x").bytes(),
            "absolute path",
        ),
        (
            "through symlink",
            RawTar::new()
                .symlink("root", "/")
                .file("root/etc/peapod-escaped", b"x")
                .bytes(),
            "goes through the symlink \"root\"",
        ),
        (
            "relative symlink",
            RawTar::new()
                .symlink("up", "../..")
                .file("up/escaped", b"x")
                .bytes(),
            "goes through the symlink \"up\"",
        ),
        (
            "hard link to /etc/passwd",
            RawTar::new().hardlink("pw", "/etc/passwd").bytes(),
            "absolute path",
        ),
        (
            "hard link up",
            RawTar::new().hardlink("pw", "../../etc/passwd").bytes(),
            "'..' component",
        ),
        (
            "hard link through symlink",
            RawTar::new()
                .symlink("etc", "/etc")
                .hardlink("pw", "etc/passwd")
                .bytes(),
            "reached through \"etc\"",
        ),
        (
            "hard link to nothing",
            RawTar::new().hardlink("pw", "missing").bytes(),
            "not in this layer",
        ),
        (
            "whiteout through symlink",
            RawTar::new()
                .symlink("etc", "/etc")
                .file("etc/.wh.passwd", b"")
                .bytes(),
            "goes through the symlink",
        ),
        (
            "overlay xattr",
            RawTar::new()
                .pax_xattr("x", "trusted.overlay.redirect", "/etc")
                .bytes(),
            "overlayfs attribute",
        ),
    ];
    for (name, tar, want) in cases {
        let t = tempfile::tempdir().unwrap();
        let inner = t.path().join("a/b");
        fs::create_dir_all(&inner).unwrap();
        let e = unpack(
            &tar[..],
            &inner.join("layer"),
            "layer evil",
            None,
            &UnpackOptions::default(),
        )
        .expect_err(name)
        .to_string();
        assert!(e.contains("layer evil") && e.contains(want), "{name}: {e}");
        assert!(!t.path().join("escaped").exists(), "{name}");
        assert!(!t.path().join("a/escaped").exists(), "{name}");
        assert!(!Path::new("/etc/peapod-escaped").exists(), "{name}");
        assert!(!Path::new("/escaped").exists(), "{name}");
    }
    assert!(fs::metadata("/etc/passwd").unwrap().nlink() == 1);
}

#[test]
fn directory_metadata_never_follows_a_later_symlink() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o700)).unwrap();
    let tar = RawTar::new()
        .dir("d/", 0o777)
        .symlink("d", victim.to_str().unwrap())
        .bytes();
    unpack_into(&t, &tar, &UnpackOptions::default()).unwrap();
    let m = fs::metadata(&victim).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o700);
}
