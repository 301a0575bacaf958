//! Image imports end to end, with inputs built here: a busybox rootfs tar, a docker-save tar
//! and an OCI layout (two layers; the second whites out a file of the first and makes a
//! directory opaque), hostile layers, corrupted blobs, and `image ls/rm/inspect` through
//! the binary. Tests named `*_as_root` need root (whiteouts, overlay mounts, chroot).

mod cli_support;

use cli_support::Peapod;
use peapod::image::unpack::sys;
use peapod::image::{Digest, ImageStore};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root: whiteouts, overlay mounts and chroot"
    );
}

/// A tar built entry by entry with the tar crate.
struct Tar(tar::Builder<Vec<u8>>);

impl Tar {
    fn new() -> Tar {
        Tar(tar::Builder::new(Vec::new()))
    }
    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_700_000_000);
        h
    }
    fn dir(mut self, path: &str) -> Tar {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.0.append_data(&mut h, path, &[][..]).unwrap();
        self
    }
    fn file(mut self, path: &str, data: &[u8]) -> Tar {
        self.file_mode(path, data, 0o644);
        self
    }
    fn file_mode(&mut self, path: &str, data: &[u8], mode: u32) {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.0.append_data(&mut h, path, data).unwrap();
    }
    fn symlink(mut self, path: &str, target: &str) -> Tar {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.0.append_link(&mut h, path, target).unwrap();
        self
    }
    /// An entry with a raw name (the tar crate refuses to write `..` or absolute paths).
    fn raw(mut self, kind: tar::EntryType, name: &str, link: &str, data: &[u8]) -> Tar {
        let mut h = Self::header(kind, 0o644, data.len() as u64);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }
    fn bytes(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Layer 1: etc/{a,b}, data/{x,y}. Layer 2: whites out etc/a, makes data opaque with
/// data/z in it, adds etc/c.
fn two_layers() -> (Vec<u8>, Vec<u8>) {
    let l1 = Tar::new()
        .dir("etc")
        .file("etc/a", b"a from layer 1")
        .file("etc/b", b"b from layer 1")
        .dir("data")
        .file("data/x", b"x")
        .file("data/y", b"y")
        .bytes();
    let l2 = Tar::new()
        .dir("etc")
        .file("etc/.wh.a", b"")
        .file("etc/c", b"c from layer 2")
        .dir("data")
        .file("data/.wh..wh..opq", b"")
        .file("data/z", b"z from layer 2")
        .bytes();
    (l1, l2)
}

fn config_for(layers: &[&[u8]]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| Digest::of(l).to_string()).collect();
    serde_json::to_vec(&serde_json::json!({
        "created": "2024-05-01T10:00:00Z", "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/bin/app"], "Cmd": ["--serve"], "Env": ["PATH=/bin", "MODE=test"],
                   "WorkingDir": "/data", "User": "1000:1000", "Labels": {"tier": "web"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "layer 1"}, {"created_by": "layer 2"}]
    }))
    .unwrap()
}

/// A docker-save archive (classic layout: `<id>/layer.tar`, `<config>.json`, repositories).
fn docker_save_tar(repo_tag: &str) -> Vec<u8> {
    let (l1, l2) = two_layers();
    let config = config_for(&[&l1, &l2]);
    let cfg_name = format!("{}.json", Digest::of(&config).hex());
    let manifest = serde_json::json!([{
        "Config": cfg_name, "RepoTags": [repo_tag], "Layers": ["l1/layer.tar", "l2/layer.tar"]
    }]);
    let (repo, tag) = repo_tag.rsplit_once(':').unwrap();
    let repositories = serde_json::json!({ repo: { tag: "l2" } });
    let mut t = Tar::new().dir("l1").dir("l2");
    t.file_mode("l1/layer.tar", &l1, 0o644);
    t.file_mode("l2/layer.tar", &l2, 0o644);
    t.file_mode(&cfg_name, &config, 0o644);
    t.file_mode(
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
        0o644,
    );
    t.file_mode(
        "repositories",
        &serde_json::to_vec(&repositories).unwrap(),
        0o644,
    );
    t.bytes()
}

/// An OCI image layout tar with gzip layers, named by a ref.name annotation.
fn oci_layout_tar(name: &str) -> (Vec<u8>, Digest) {
    let (l1, l2) = two_layers();
    let config = config_for(&[&l1, &l2]);
    let (g1, g2) = (gzip(&l1), gzip(&l2));
    let d = |media: &str, b: &[u8]| serde_json::json!({"mediaType": media, "digest": Digest::of(b).to_string(), "size": b.len()});
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": d("application/vnd.oci.image.config.v1+json", &config),
        "layers": [d("application/vnd.oci.image.layer.v1.tar+gzip", &g1),
                   d("application/vnd.oci.image.layer.v1.tar+gzip", &g2)]
    }))
    .unwrap();
    let mut top = d("application/vnd.oci.image.manifest.v1+json", &manifest);
    top["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": name});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    let mut t = Tar::new().dir("blobs").dir("blobs/sha256");
    t.file_mode("oci-layout", br#"{"imageLayoutVersion": "1.0.0"}"#, 0o644);
    t.file_mode("index.json", &serde_json::to_vec(&index).unwrap(), 0o644);
    for b in [&config, &g1, &g2, &manifest] {
        t.file_mode(&format!("blobs/sha256/{}", Digest::of(b).hex()), b, 0o644);
    }
    (t.bytes(), Digest::of(&manifest))
}

/// The busybox rootfs: `bin/busybox` and relative symlinks to it.
fn busybox_rootfs() -> Vec<u8> {
    let bb = fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) is installed");
    let mut t = Tar::new().dir("bin").dir("tmp");
    t.file_mode("bin/busybox", &bb, 0o755);
    for tool in ["sh", "ls", "cat", "echo", "wc"] {
        t = t.symlink(&format!("bin/{tool}"), "busybox");
    }
    t.bytes()
}

/// Checks both layers as unpacked, then as an overlay (when root).
fn check_two_layers(layers: &[PathBuf]) {
    assert_eq!(layers.len(), 2);
    let (l1, l2) = (&layers[0], &layers[1]);
    assert_eq!(fs::read(l1.join("etc/a")).unwrap(), b"a from layer 1");
    assert!(
        sys::is_whiteout(&l2.join("etc/a")),
        "etc/.wh.a became a 0/0 device"
    );
    assert!(!l2.join("etc/.wh.a").exists());
    assert_eq!(
        sys::get_xattr(&l2.join("data"), "trusted.overlay.opaque").unwrap(),
        Some(b"y".to_vec())
    );
    assert!(!l2.join("data/.wh..wh..opq").exists());
    check_overlay(layers);
}

/// Unmounts on drop, so a failed assertion leaves no mount behind.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn check_overlay(layers: &[PathBuf]) {
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("merged");
    fs::create_dir(&mnt).unwrap();
    // lowerdir lists the topmost layer first.
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|p| p.display().to_string())
        .collect();
    let opts = format!("lowerdir={}", lower.join(":"));
    nix::mount::mount(
        Some("overlay"),
        &mnt,
        Some("overlay"),
        nix::mount::MsFlags::MS_RDONLY,
        Some(opts.as_str()),
    )
    .unwrap_or_else(|e| panic!("mount overlay {opts}: {e}"));
    let guard = Mounted(mnt.clone());
    let list = |d: &str| {
        let mut v: Vec<String> = fs::read_dir(mnt.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(list("etc"), ["b", "c"], "the whiteout hides etc/a");
    assert_eq!(
        list("data"),
        ["z"],
        "the opaque dir hides data/x and data/y"
    );
    assert_eq!(fs::read(mnt.join("etc/b")).unwrap(), b"b from layer 1");
    drop(guard);
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&mnt.display().to_string()), "unmounted");
}

fn store(p: &Peapod) -> ImageStore {
    ImageStore::open(p.state().join("images")).unwrap()
}

#[test]
fn busybox_rootfs_import_runs_as_root() {
    require_root();
    let p = Peapod::new();
    let tar = p.state().join("busybox.tar");
    fs::write(&tar, busybox_rootfs()).unwrap();
    let out = p.run(&[
        "image",
        "import",
        tar.to_str().unwrap(),
        "busybox",
        "--change",
        r#"CMD ["sh"]"#,
        "-c",
        "ENV GREETING=hello",
        "--change",
        "WORKDIR /tmp",
    ]);
    assert_eq!(out.ok(), "Loaded image: docker.io/library/busybox:latest\n");
    let ls = p.run(&["image", "ls"]);
    let lines: Vec<&str> = ls.ok().lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    );
    assert!(
        lines[1].starts_with("docker.io/library/busybox  latest  "),
        "{lines:?}"
    );
    assert!(lines[1].contains(" MB"), "{lines:?}");

    let img = store(&p).resolve("busybox").unwrap().unwrap();
    assert_eq!(img.config.cmd, ["sh"]);
    assert_eq!(img.config.working_dir.as_deref(), Some("/tmp"));
    assert!(img.config.env.contains(&"GREETING=hello".to_string()));
    // The unpacked layer is a working root filesystem.
    let root = &img.layers[0];
    assert_eq!(
        fs::read_link(root.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    let run = Command::new("chroot")
        .arg(root)
        .args(["/bin/sh", "-c", "echo hi from $0; ls /bin | wc -l"])
        .stdin(Stdio::null())
        .output()
        .expect("run chroot");
    assert!(run.status.success(), "{run:?}");
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        text.split_whitespace().collect::<Vec<_>>(),
        ["hi", "from", "/bin/sh", "6"]
    );
}

#[test]
fn docker_save_archive_with_two_layers_as_root() {
    require_root();
    let p = Peapod::new();
    let tar = p.state().join("two.tar");
    fs::write(&tar, docker_save_tar("two:1")).unwrap();
    let out = p.run(&["image", "import", tar.to_str().unwrap()]);
    assert_eq!(out.ok(), "Loaded image: docker.io/library/two:1\n");
    let s = store(&p);
    let img = s.resolve("two:1").unwrap().unwrap();
    assert_eq!(img.config.entrypoint, ["/bin/app"]);
    assert_eq!(img.config.cmd, ["--serve"]);
    assert_eq!(img.config.user.as_deref(), Some("1000:1000"));
    assert_eq!(img.config.labels["tier"], "web");
    check_two_layers(&img.layers);
    // The image id is the config digest, as docker shows it.
    let (l1, l2) = two_layers();
    assert_eq!(img.id, Digest::of(&config_for(&[&l1, &l2])));

    // The same archive gzip-compressed, under another name: the layers are shared.
    let gz = p.state().join("two.tar.gz");
    fs::write(&gz, gzip(&fs::read(&tar).unwrap())).unwrap();
    let out = p.run(&[
        "image",
        "import",
        gz.to_str().unwrap(),
        "localhost/two:copy",
    ]);
    assert_eq!(out.ok(), "Loaded image: localhost/two:copy\n");
    assert_eq!(fs::read_dir(s.dir().join("layers")).unwrap().count(), 2);

    let inspect = p.run(&["image", "inspect", "localhost/two:copy"]);
    let v: serde_json::Value = serde_json::from_str(inspect.ok()).unwrap();
    assert_eq!(v[0]["Id"], img.id.hex());
    assert_eq!(v[0]["Config"]["Entrypoint"][0], "/bin/app");
    assert_eq!(v[0]["Manifest"]["layers"].as_array().unwrap().len(), 2);

    // rm by name untags; the image goes once its last name does.
    let out = p.run(&["image", "rm", "two:1"]);
    assert_eq!(out.ok(), "Untagged: docker.io/library/two:1\n");
    assert!(s.resolve("two:1").unwrap().is_none());
    let out = p.run(&["image", "rm", "localhost/two:copy"]);
    assert_eq!(
        out.ok(),
        format!("Untagged: localhost/two:copy\nDeleted: {}\n", img.id.hex())
    );
    assert_eq!(p.run(&["image", "ls", "-q"]).ok(), "");
    assert_eq!(fs::read_dir(s.dir().join("layers")).unwrap().count(), 0);
    assert_eq!(
        fs::read_dir(s.dir().join("blobs/sha256")).unwrap().count(),
        0
    );
    let out = p.run(&["image", "rm", "two:1"]);
    assert!(
        out.failed().contains("\"two:1\" not found"),
        "{}",
        out.stderr
    );
}

#[test]
fn oci_layout_tar_and_directory_with_two_layers_as_root() {
    require_root();
    let p = Peapod::new();
    let (bytes, manifest) = oci_layout_tar("localhost/two-oci:1");
    let tar = p.state().join("oci.tar");
    fs::write(&tar, &bytes).unwrap();
    let s = store(&p);
    let got = s.import(&tar, None, &[]).unwrap();
    assert_eq!(got[0].names[0].to_string(), "localhost/two-oci:1");
    assert_eq!(
        got[0].manifest_digest, manifest,
        "OCI manifests are kept as they are"
    );
    let img = s.resolve("localhost/two-oci:1").unwrap().unwrap();
    check_two_layers(&img.layers);
    // By digest, and the same layout as a directory (unpacked with the system tar).
    let by_digest = s
        .resolve(&format!("localhost/two-oci@{manifest}"))
        .unwrap()
        .unwrap();
    assert_eq!(by_digest.id, img.id);
    let dir = p.state().join("oci-dir");
    fs::create_dir(&dir).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let out = p.run(&[
        "image",
        "import",
        dir.to_str().unwrap(),
        "localhost/from-dir",
    ]);
    assert_eq!(out.ok(), "Loaded image: localhost/from-dir:latest\n");
    assert_eq!(
        s.resolve("localhost/from-dir")
            .unwrap()
            .unwrap()
            .manifest_digest,
        manifest
    );
}

/// The hostile tars of the issue, imported as rootfs tars through the binary: each is
/// refused with a message naming the entry, nothing is written outside the layer, and no
/// layer or temporary directory is left behind.
#[test]
fn hostile_layers_are_rejected() {
    let p = Peapod::new();
    let marker = format!("peapod-hostile-{}", std::process::id());
    let cases = [
        (
            "dotdot",
            Tar::new().raw(
                tar::EntryType::Regular,
                &format!("../../{marker}"),
                "",
                b"x",
            ),
            "'..' component",
        ),
        (
            "absolute",
            Tar::new().raw(tar::EntryType::Regular, &format!("/etc/{marker}"), "", b"x"),
            "absolute path",
        ),
        (
            "symlink to /",
            Tar::new().symlink("root", "/").raw(
                tar::EntryType::Regular,
                &format!("root/etc/{marker}"),
                "",
                b"x",
            ),
            "goes through the symlink",
        ),
        (
            "hard link to /etc/passwd",
            Tar::new().raw(tar::EntryType::Link, "passwd", "/etc/passwd", b""),
            "absolute path",
        ),
    ];
    for (name, tar, want) in cases {
        let path = p
            .state()
            .join(format!("{}.tar", name.replace(['/', ' '], "_")));
        fs::write(&path, tar.bytes()).unwrap();
        let out = p.run(&["image", "import", path.to_str().unwrap(), "evil"]);
        let err = out.failed();
        assert!(err.starts_with("error: layer sha256:"), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(!Path::new("/etc").join(&marker).exists(), "{name}");
        assert!(
            !p.state().parent().unwrap().join(&marker).exists(),
            "{name}"
        );
        assert!(!p.state().join(&marker).exists(), "{name}");
    }
    let images = p.state().join("images");
    assert_eq!(fs::read_dir(images.join("layers")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(images.join("tmp")).unwrap().count(), 0);
    assert_eq!(p.run(&["image", "ls", "-q"]).ok(), "");
    assert_eq!(
        fs::metadata("/etc/passwd").map(|m| m.len() > 0).ok(),
        Some(true)
    );
}

#[test]
fn corrupted_blobs_are_reported_by_digest() {
    let p = Peapod::new();
    let tar = p.state().join("bb.tar");
    fs::write(&tar, busybox_rootfs()).unwrap();
    p.run(&["image", "import", tar.to_str().unwrap(), "bb"])
        .ok();
    let s = store(&p);
    let img = s.resolve("bb").unwrap().unwrap();
    let flip = |path: &Path| {
        let mut b = fs::read(path).unwrap();
        let i = b.len() / 3;
        b[i] ^= 0x20;
        fs::write(path, b).unwrap();
    };
    // A layer blob: verify finds it, and so does unpacking it again.
    let v = s.inspect("bb").unwrap();
    let layer = Digest::parse(v["Manifest"]["layers"][0]["digest"].as_str().unwrap()).unwrap();
    flip(&s.blob_path(&layer));
    let e = s.verify("bb").unwrap_err().to_string();
    assert!(
        e.contains(&layer.to_string()) && e.contains("corrupted"),
        "{e}"
    );
    fs::remove_dir_all(&img.layers[0]).unwrap();
    let e = s.resolve("bb").unwrap_err().to_string();
    assert!(
        e.contains(&layer.to_string()) && e.contains("corrupted"),
        "{e}"
    );
    // The config blob: every use reads and checks it.
    flip(&s.blob_path(&img.id));
    let out = p.run(&["image", "inspect", "bb"]);
    let err = out.failed();
    assert!(
        err.contains(&img.id.to_string()) && err.contains("corrupted"),
        "{err}"
    );
    // Still listed and removable.
    assert!(
        p.run(&["image", "ls"])
            .ok()
            .contains("docker.io/library/bb")
    );
    p.run(&["image", "rm", "bb"]).ok();
}

#[test]
fn two_processes_importing_at_once_keep_both_images() {
    let p = Peapod::new();
    let bin = std::env::var_os("PEAPOD_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_peapod")));
    let mut children = Vec::new();
    for i in 0..3 {
        let tar = p.state().join(format!("r{i}.tar"));
        // Different content each, large enough for the imports to overlap.
        let mut t = Tar::new().dir("data");
        t.file_mode("data/blob", &vec![i as u8; 4 << 20], 0o644);
        fs::write(&tar, t.bytes()).unwrap();
        children.push(
            Command::new(&bin)
                .arg("--state-dir")
                .arg(p.state())
                .args(["image", "import"])
                .arg(&tar)
                .arg(format!("localhost/par{i}"))
                .env_remove("PEAPOD_HOME")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ls = p.run(&["image", "ls"]);
    for i in 0..3 {
        assert!(
            ls.ok().contains(&format!("localhost/par{i} ")),
            "{}",
            ls.stdout
        );
    }
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(p.state().join("images/index.json")).unwrap()).unwrap();
    assert_eq!(index["refs"].as_object().unwrap().len(), 3);
}
