//! `peapod image pull` against Debian's docker-registry on loopback, with images pushed by
//! skopeo from an OCI layout built here (a busybox rootfs layer): by tag, by digest, an
//! image index (multi-arch), a docker schema-2 manifest, a missing tag, a registry that is
//! not there, and a blob corrupted in the registry's storage. Needs root (layers with
//! device whiteouts are unpacked as root; the pulled rootfs is run with chroot).

mod cli_support;

use cli_support::Peapod;
use peapod::image::{Digest, Image, ImageStore};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root: layers are unpacked as root and the image is run with chroot"
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn tar_of(files: &[(&str, &[u8], u32)], symlinks: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let header = |kind, mode, size| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_700_000_000);
        h
    };
    for dir in ["bin", "tmp"] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, dir, &[][..]).unwrap();
    }
    for (path, data, mode) in files {
        let mut h = header(tar::EntryType::Regular, *mode, data.len() as u64);
        b.append_data(&mut h, path, *data).unwrap();
    }
    for (path, target) in symlinks {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, path, target).unwrap();
    }
    b.into_inner().unwrap()
}

/// An OCI image layout directory, its blobs written as they are added.
struct Layout {
    dir: PathBuf,
    entries: Vec<serde_json::Value>,
}

impl Layout {
    fn new(dir: &Path) -> Layout {
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(
            dir.join("oci-layout"),
            br#"{"imageLayoutVersion": "1.0.0"}"#,
        )
        .unwrap();
        Layout {
            dir: dir.to_path_buf(),
            entries: Vec::new(),
        }
    }

    fn blob(&self, media: &str, data: &[u8]) -> serde_json::Value {
        let d = Digest::of(data);
        fs::write(self.dir.join("blobs/sha256").join(d.hex()), data).unwrap();
        serde_json::json!({"mediaType": media, "digest": d.to_string(), "size": data.len()})
    }

    /// An image with one gzip layer; returns the manifest's descriptor.
    fn image(&self, layer: &[u8], arch: &str) -> serde_json::Value {
        let config = serde_json::to_vec(&serde_json::json!({
            "created": "2024-05-01T10:00:00Z", "architecture": arch, "os": "linux",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [Digest::of(layer).to_string()]}
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": self.blob("application/vnd.oci.image.config.v1+json", &config),
            "layers": [self.blob("application/vnd.oci.image.layer.v1.tar+gzip", &gzip(layer))]
        }))
        .unwrap();
        self.blob("application/vnd.oci.image.manifest.v1+json", &manifest)
    }

    fn tag(&mut self, mut desc: serde_json::Value, name: &str) {
        desc["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": name});
        self.entries.push(desc);
    }

    fn save(&self) {
        let index = serde_json::json!({"schemaVersion": 2, "manifests": self.entries});
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }
}

/// `bin/busybox` and a few symlinks to it.
fn busybox_layer() -> Vec<u8> {
    let bb = fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) is installed");
    tar_of(
        &[("bin/busybox", &bb, 0o755)],
        &[("bin/sh", "busybox"), ("bin/echo", "busybox")],
    )
}

/// Debian's docker-registry serving a temporary directory on 127.0.0.1; killed by pid when
/// dropped.
struct Registry {
    child: Child,
    port: u16,
    storage: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        Registry::start_with(None)
    }

    /// With `tls`, serve HTTPS with this certificate and key.
    fn start_with(tls: Option<(&Path, &Path)>) -> Registry {
        let bin = Path::new("/usr/bin/docker-registry");
        assert!(
            bin.exists(),
            "this test needs Debian's docker-registry (apt-get install docker-registry; scripts/test installs it)"
        );
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("data");
        let port = free_port();
        let config = dir.path().join("config.yml");
        let mut yml = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some((cert, key)) = tls {
            yml.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        fs::write(&config, yml).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let reg = Registry {
            child,
            port,
            storage,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        reg
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Push `oci:<layout>:<tag>` to `<host>/<dest>` with skopeo.
    fn push(&self, layout: &Path, tag: &str, dest: &str, extra: &[&str]) {
        let out = Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
            ])
            .args(extra)
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{dest}", self.host()))
            .output()
            .expect("run skopeo (apt-get install skopeo; scripts/test installs it)");
        assert!(out.status.success(), "skopeo copy: {out:?}");
    }

    /// The digest of the manifest the registry serves for `dest` (as pushed).
    fn manifest_digest(&self, dest: &str) -> Digest {
        let out = Command::new("skopeo")
            .args([
                "--insecure-policy",
                "inspect",
                "--raw",
                "--tls-verify=false",
            ])
            .arg(format!("docker://{}/{dest}", self.host()))
            .output()
            .expect("run skopeo inspect");
        assert!(out.status.success(), "skopeo inspect: {out:?}");
        Digest::of(&out.stdout)
    }

    fn blob_file(&self, d: &Digest) -> PathBuf {
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&d.hex()[..2])
            .join(d.hex())
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn store(p: &Peapod) -> ImageStore {
    ImageStore::open(p.state().join("images")).unwrap()
}

#[test]
fn pull_from_a_local_registry_as_root() {
    require_root();
    let reg = Registry::start();
    let host = reg.host();
    let src = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(src.path());
    let bb = layout.image(&busybox_layer(), "amd64");
    let bb_layer = Digest::parse(
        serde_json::from_slice::<serde_json::Value>(
            &fs::read(
                src.path()
                    .join("blobs/sha256")
                    .join(Digest::parse(bb["digest"].as_str().unwrap()).unwrap().hex()),
            )
            .unwrap(),
        )
        .unwrap()["layers"][0]["digest"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    layout.tag(bb.clone(), "1");
    // A two-platform index: linux/amd64 is busybox, linux/arm64 a tiny other image.
    let arm = layout.image(&tar_of(&[("bin/x", b"arm", 0o755)], &[]), "arm64");
    let entry = |mut d: serde_json::Value, arch: &str| {
        d["platform"] = serde_json::json!({"os": "linux", "architecture": arch});
        d
    };
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry(arm, "arm64"), entry(bb.clone(), "amd64")]
    }))
    .unwrap();
    let index_desc = layout.blob("application/vnd.oci.image.index.v1+json", &index);
    layout.tag(index_desc, "multi");
    layout.save();
    reg.push(src.path(), "1", "test/busybox:1", &[]);
    reg.push(src.path(), "multi", "test/multi:1", &["--all"]);
    reg.push(src.path(), "1", "test/docker:1", &["--format", "v2s2"]);

    // By tag: progress like podman on stderr, the image id on stdout.
    let p = Peapod::new();
    let reference = format!("{host}/test/busybox:1");
    let out = p.run(&["image", "pull", &reference]);
    let id = out.ok().trim().to_string();
    assert_eq!(id.len(), 64, "{out:?}");
    let progress: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(progress[0], format!("Trying to pull {reference}..."));
    assert_eq!(progress[1], format!("Copying blob {bb_layer}"));
    assert!(
        progress[2].starts_with("Copying config sha256:"),
        "{progress:?}"
    );
    assert_eq!(progress[3], "Writing manifest to image destination");
    let ls = p.run(&["image", "ls", "--no-trunc"]);
    let rows: Vec<Vec<&str>> = ls
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[1][..3],
        [
            &format!("{host}/test/busybox"),
            "1",
            &format!("sha256:{id}")
        ]
    );

    // The image runs like an imported one.
    let img = store(&p).resolve(&reference).unwrap().unwrap();
    assert_eq!(img.id.hex(), id);
    assert_eq!(img.config.cmd, ["sh"]);
    let run = Command::new("chroot")
        .arg(&img.layers[0])
        .args(["/bin/sh", "-c", "echo pulled"])
        .output()
        .expect("chroot");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "pulled\n", "{run:?}");

    // By digest: every blob is there already; the digest names the image.
    let digest = reg.manifest_digest("test/busybox:1");
    assert_eq!(img.manifest_digest, digest);
    let by_digest = format!("{host}/test/busybox@{digest}");
    let out = p.run(&["image", "pull", &by_digest]);
    assert_eq!(out.ok().trim(), id);
    assert!(
        out.stderr
            .contains(&format!("Copying blob {bb_layer} skipped: already exists")),
        "{out:?}"
    );
    let img = store(&p).resolve(&by_digest).unwrap().unwrap();
    assert_eq!(img.id.hex(), id);

    // By digest into an empty store: untagged, found by name@digest.
    let q = Peapod::new();
    assert_eq!(q.run(&["image", "pull", "-q", &by_digest]).ok().trim(), id);
    assert!(store(&q).resolve(&by_digest).unwrap().is_some());
    let ls = q.run(&["image", "ls"]);
    assert!(
        ls.ok().lines().nth(1).unwrap().starts_with("<none>"),
        "{ls:?}"
    );

    // An image index resolves to linux/amd64; its digest names the image too.
    let multi = format!("{host}/test/multi:1");
    assert_eq!(p.run(&["image", "pull", "-q", &multi]).ok().trim(), id);
    let index_digest = reg.manifest_digest("test/multi:1");
    assert_eq!(index_digest, Digest::of(&index));
    let img = store(&p)
        .resolve(&format!("{host}/test/multi@{index_digest}"))
        .unwrap()
        .unwrap();
    assert_eq!(img.id.hex(), id);

    // A docker schema-2 manifest is stored as OCI; its own digest still finds it.
    let docker = format!("{host}/test/docker:1");
    p.run(&["image", "pull", "-q", &docker]).ok();
    let docker_digest = reg.manifest_digest("test/docker:1");
    let img = store(&p)
        .resolve(&format!("{host}/test/docker@{docker_digest}"))
        .unwrap()
        .unwrap();
    assert_eq!(
        store(&p).resolve(&docker).unwrap().unwrap(),
        Image {
            reference: docker.clone(),
            ..img
        }
    );

    // A missing tag gives the registry's reason.
    let e = p.run(&["image", "pull", &format!("{host}/test/busybox:nope")]);
    assert_eq!(
        e.failed().lines().last().unwrap(),
        format!("error: pull {host}/test/busybox:nope: manifest unknown (404 from {host})")
    );
    // A registry that is not there.
    let closed = format!("127.0.0.1:{}", free_port());
    let e = p.run(&["image", "pull", &format!("{closed}/x:1")]);
    assert_eq!(
        e.failed().lines().last().unwrap(),
        format!("error: pull {closed}/x:1: cannot reach {closed}: connection refused")
    );

    // A layer corrupted in the registry's storage is refused, and nothing of it is kept.
    let file = reg.blob_file(&bb_layer);
    let mut data = fs::read(&file).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    fs::write(&file, &data).unwrap();
    let r = Peapod::new();
    let e = r.run(&["image", "pull", &reference]);
    let line = e.failed().lines().last().unwrap().to_string();
    assert!(
        line.starts_with(&format!(
            "error: pull {reference}: layer {bb_layer}: content has digest sha256:"
        )),
        "{line}"
    );
    assert!(line.contains("corrupted"), "{line}");
    let s = store(&r);
    assert!(!s.blob_path(&bb_layer).exists());
    assert!(s.resolve(&reference).unwrap().is_none());
    assert_eq!(
        fs::read_dir(s.dir().join("tmp")).unwrap().count(),
        0,
        "no half-written blob"
    );
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, and a server certificate for 127.0.0.1 it signed: `ca/ca.crt`, `srv.crt`, `srv.key`.
fn make_certificates(dir: &Path) {
    fs::create_dir_all(dir.join("ca")).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca/ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=peapod test CA",
    ]);
    openssl(&ca, dir);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "srv.key",
        "-out",
        "srv.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&csr, dir);
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca/ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
        dir,
    );
}

#[test]
fn pull_over_https_as_root() {
    require_root();
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let reg = Registry::start_with(Some((
        &certs.path().join("srv.crt"),
        &certs.path().join("srv.key"),
    )));
    let host = reg.host();
    let src = tempfile::tempdir().unwrap();
    let mut layout = Layout::new(src.path());
    let img = layout.image(&tar_of(&[("bin/x", b"x", 0o755)], &[]), "amd64");
    layout.tag(img, "1");
    layout.save();
    reg.push(src.path(), "1", "test/tls:1", &[]);

    let p = Peapod::new();
    let reference = format!("{host}/test/tls:1");
    // Its certificate is not trusted: said so, not retried over plain HTTP.
    let e = p.run(&["image", "pull", &reference]);
    let line = e.failed().lines().last().unwrap().to_string();
    assert!(
        line.starts_with(&format!(
            "error: pull {reference}: cannot reach {host}: TLS handshake: invalid peer certificate: UnknownIssuer"
        )),
        "{line}"
    );
    // With its CA it is pulled over HTTPS.
    let ca_dir = certs.path().join("ca");
    let out = p.run(&[
        "image",
        "pull",
        "--cert-dir",
        ca_dir.to_str().unwrap(),
        &reference,
    ]);
    let id = out.ok().trim().to_string();
    assert_eq!(store(&p).resolve(&reference).unwrap().unwrap().id.hex(), id);
}
