//! Store tests: imports of each format built here, resolution, removal and garbage
//! collection, corruption, concurrency.

use super::*;
use crate::image::spec::{self, Descriptor};
use crate::image::unpack::tests::RawTar;
use std::collections::BTreeMap;
use std::io::Write;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn desc(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: Digest::of(bytes),
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::new(),
    }
}

fn config_json(layers: &[Vec<u8>], cmd: &str) -> Vec<u8> {
    let (os, arch) = spec::host_platform();
    let diff_ids: Vec<String> = layers.iter().map(|l| Digest::of(l).to_string()).collect();
    serde_json::to_vec(&serde_json::json!({
        "created": "2024-05-01T10:00:00Z", "architecture": arch, "os": os,
        "config": {"Cmd": [cmd], "Env": ["PATH=/bin"], "WorkingDir": "/srv", "StopSignal": "SIGINT"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))
    .unwrap()
}

/// An OCI layout directory with one image of `layers` (gzip-compressed), named `name`.
/// With `multi`, index.json points at an image index with an arm64 and a host entry.
/// Returns (manifest digest, index digest if any).
fn oci_layout(
    dir: &Path,
    layers: &[Vec<u8>],
    name: Option<&str>,
    multi: bool,
) -> (Digest, Option<Digest>) {
    oci_layout_typed(dir, layers, name, multi, spec::OCI_MANIFEST)
}

/// `oci_layout` with the manifest's media type chosen (docker schema 2 or OCI).
fn oci_layout_typed(
    dir: &Path,
    layers: &[Vec<u8>],
    name: Option<&str>,
    multi: bool,
    manifest_type: &str,
) -> (Digest, Option<Digest>) {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| fs::write(blobs.join(Digest::of(bytes).hex()), bytes).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let config = config_json(layers, "sh");
    put(&config);
    let mut layer_descs = Vec::new();
    for l in layers {
        let gz = gzip(l);
        put(&gz);
        layer_descs.push(desc(spec::OCI_LAYER_GZIP, &gz));
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": manifest_type,
        "config": desc(spec::OCI_CONFIG, &config), "layers": layer_descs
    }))
    .unwrap();
    put(&manifest);
    let mut top = desc(manifest_type, &manifest);
    let mut index_digest = None;
    if multi {
        let (os, arch) = spec::host_platform();
        let other = br#"{"not": "fetched"}"#;
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": spec::OCI_INDEX,
            "manifests": [
                {"mediaType": spec::OCI_MANIFEST, "digest": Digest::of(other), "size": other.len(),
                 "platform": {"architecture": "arm64x", "os": "linux"}},
                {"mediaType": spec::OCI_MANIFEST, "digest": Digest::of(&manifest), "size": manifest.len(),
                 "platform": {"architecture": arch, "os": os}}
            ]
        }))
        .unwrap();
        put(&index);
        top = desc(spec::OCI_INDEX, &index);
        index_digest = Some(top.digest.clone());
    }
    if let Some(n) = name {
        top.annotations.insert(spec::REF_NAME.into(), n.into());
    }
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [top]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    (Digest::of(&manifest), index_digest)
}

fn store(t: &tempfile::TempDir) -> ImageStore {
    ImageStore::open(t.path().join("images")).unwrap()
}

fn rootfs_tar(t: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
    let tar = RawTar::new()
        .dir("bin/", 0o755)
        .file_mode("bin/tool", content, 0o755, 0)
        .symlink("bin/sh", "tool")
        .bytes();
    let p = t.path().join(name);
    fs::write(&p, tar).unwrap();
    p
}

fn names(s: &ImageStore) -> Vec<Vec<String>> {
    s.list()
        .unwrap()
        .iter()
        .map(|i| i.names.iter().map(|n| n.to_string()).collect())
        .collect()
}

#[test]
fn rootfs_import_resolve_list_inspect_remove() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let tar = rootfs_tar(&t, "root.tar", b"tool v1");
    let changes = vec![
        r#"CMD ["/bin/sh"]"#.to_string(),
        "ENV A=1".into(),
        "USER 1000".into(),
    ];
    let imported = s.import(&tar, Some("bbox"), &changes).unwrap();
    assert_eq!(imported.len(), 1);
    let id = imported[0].id.clone();
    assert_eq!(
        imported[0].names[0].to_string(),
        "docker.io/library/bbox:latest"
    );

    let img = s.resolve("bbox").unwrap().unwrap();
    assert_eq!(img.reference, "docker.io/library/bbox:latest");
    assert_eq!(img.id, id);
    assert_eq!(img.config.cmd, ["/bin/sh"]);
    assert!(img.config.entrypoint.is_empty());
    assert_eq!(img.config.env[1], "A=1");
    assert!(img.config.env[0].starts_with("PATH="));
    assert_eq!(img.config.user.as_deref(), Some("1000"));
    assert_eq!(img.layers.len(), 1);
    assert_eq!(
        fs::read(img.layers[0].join("bin/tool")).unwrap(),
        b"tool v1"
    );
    // The same image by id prefix, full id, `sha256:` id and manifest digest.
    for r in [
        &id.hex()[..6],
        id.hex(),
        &id.to_string(),
        &img.manifest_digest.to_string(),
    ] {
        assert_eq!(s.resolve(r).unwrap().unwrap().id, id, "{r}");
    }
    let by_digest = format!("bbox@{}", img.manifest_digest);
    assert_eq!(s.resolve(&by_digest).unwrap().unwrap().id, id);
    assert!(s.resolve("other").unwrap().is_none());
    assert!(s.resolve("bbox:v2").unwrap().is_none());
    assert!(
        s.resolve(&format!("bbox@{}", Digest::of(b"x")))
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        s.resolve("Bad Name"),
        Err(ImageError::Reference { .. })
    ));

    let list = s.list().unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].size > 0 && list[0].created.is_some());
    let v = s.inspect("bbox").unwrap();
    assert_eq!(v["Id"], id.hex());
    assert_eq!(v["RepoTags"][0], "docker.io/library/bbox:latest");
    assert_eq!(v["Config"]["Cmd"][0], "/bin/sh");
    assert_eq!(v["Manifest"]["mediaType"], spec::OCI_MANIFEST);
    assert_eq!(v["ImageConfig"]["rootfs"]["type"], "layers");

    let r = s.remove("bbox", false).unwrap();
    assert_eq!(r.untagged, ["docker.io/library/bbox:latest"]);
    assert_eq!(r.deleted.as_ref(), Some(&id));
    assert!(s.list().unwrap().is_empty());
    // Everything was collected.
    let dir = t.path().join("images");
    assert_eq!(fs::read_dir(dir.join("blobs/sha256")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(dir.join("layers")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    let e = s.remove("bbox", false).unwrap_err().to_string();
    assert!(e.contains("\"bbox\" not found"), "{e}");
}

#[test]
fn retagging_leaves_the_old_image_untagged_and_shared_layers_survive_gc() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let tar = rootfs_tar(&t, "a.tar", b"same");
    let first = s
        .import(&tar, Some("localhost/app:1"), &[])
        .unwrap()
        .remove(0);
    let second = s
        .import(&tar, Some("localhost/app:1"), &[])
        .unwrap()
        .remove(0);
    assert_ne!(first.id, second.id, "each rootfs import has its own config");
    assert_eq!(names(&s).iter().filter(|n| n.is_empty()).count(), 1);
    assert_eq!(
        fs::read_dir(t.path().join("images/layers"))
            .unwrap()
            .count(),
        1
    );
    // The untagged one goes by id; the shared layer stays for the other.
    let r = s.remove(first.id.short(), false).unwrap();
    assert!(r.untagged.is_empty());
    assert_eq!(r.deleted, Some(first.id));
    let img = s.resolve("localhost/app:1").unwrap().unwrap();
    assert!(img.layers[0].join("bin/tool").exists());
    // Short names also find localhost/ images, as in podman.
    s.import(&tar, Some("localhost/bbox"), &[]).unwrap();
    assert_eq!(
        s.resolve("bbox").unwrap().unwrap().reference,
        "localhost/bbox:latest"
    );
}

#[test]
fn removing_by_id_with_several_names_needs_force() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let dir = t.path().join("oci");
    let layer = RawTar::new().file("f", b"x").bytes();
    oci_layout(&dir, &[layer], None, false);
    let a = s.import(&dir, Some("localhost/a"), &[]).unwrap().remove(0);
    let b = s.import(&dir, Some("localhost/b"), &[]).unwrap().remove(0);
    assert_eq!(
        a.manifest_digest, b.manifest_digest,
        "same layout, same image"
    );
    let e = s.remove(a.id.hex(), false).unwrap_err().to_string();
    assert!(e.contains("several names") && e.contains("--force"), "{e}");
    let r = s.remove(a.id.hex(), true).unwrap();
    assert_eq!(r.untagged.len(), 2);
    assert!(r.deleted.is_some());
    assert!(s.list().unwrap().is_empty());
}

#[test]
fn oci_layout_with_an_image_index_resolves_to_this_platform() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let dir = t.path().join("oci");
    let l1 = RawTar::new().file("etc/a", b"1").bytes();
    let l2 = RawTar::new().file("etc/b", b"2").bytes();
    let (manifest, index) = oci_layout(&dir, &[l1, l2], Some("localhost/multi:1"), true);
    let got = s.import(&dir, None, &[]).unwrap();
    assert_eq!(got[0].manifest_digest, manifest);
    assert_eq!(got[0].names[0].to_string(), "localhost/multi:1");
    let img = s.resolve("localhost/multi:1").unwrap().unwrap();
    assert_eq!(img.layers.len(), 2);
    assert!(img.layers[0].join("etc/a").exists() && img.layers[1].join("etc/b").exists());
    assert_eq!(img.config.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(img.config.working_dir.as_deref(), Some("/srv"));
    // The index digest names the image too (what a registry calls the image's digest).
    let by_index = format!("localhost/multi@{}", index.unwrap());
    assert_eq!(
        s.resolve(&by_index).unwrap().unwrap().manifest_digest,
        manifest
    );
    // --change is for rootfs imports only.
    let e = s
        .import(&dir, None, &["CMD [\"sh\"]".to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("OCI image layout") && e.contains("--change"),
        "{e}"
    );
}

#[test]
fn corrupted_blobs_are_reported_with_their_digest() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let tar = rootfs_tar(&t, "a.tar", b"content");
    let img = s.import(&tar, Some("x"), &[]).unwrap().remove(0);
    let flip = |p: &Path| {
        let mut b = fs::read(p).unwrap();
        let i = b.len() / 2;
        b[i] ^= 0xff;
        fs::write(p, b).unwrap();
    };
    // A layer blob: found by verify, and by the lazy unpack when the layer dir is gone.
    let resolved = s.resolve("x").unwrap().unwrap();
    let layer_blob = s.inspect("x").unwrap()["Manifest"]["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let layer_digest = Digest::parse(&layer_blob).unwrap();
    flip(&s.blob_path(&layer_digest));
    let e = s.verify("x").unwrap_err();
    assert!(matches!(e, ImageError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains(&layer_blob), "{e}");
    remove_tree(&resolved.layers[0]).unwrap();
    let e = s.resolve("x").unwrap_err().to_string();
    assert!(e.contains(&layer_blob) && e.contains("corrupted"), "{e}");
    // The config blob: every resolve reads it.
    flip(&s.blob_path(&img.id));
    let e = s.resolve("x").unwrap_err().to_string();
    assert!(
        e.contains(&img.id.to_string()) && e.contains("corrupted"),
        "{e}"
    );
    // Still listed (so it can be removed), and removable.
    assert_eq!(s.list().unwrap().len(), 1);
    s.remove("x", false).unwrap();
}

#[test]
fn a_layer_that_does_not_match_its_diff_id_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let dir = t.path().join("oci");
    let layer = RawTar::new().file("f", b"x").bytes();
    oci_layout(&dir, &[layer], None, false);
    // Rewrite the config with a wrong diffID, and the manifest and index to match.
    let cfg_path = fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs::read_to_string(p).is_ok_and(|s| s.contains("diff_ids")))
        .unwrap();
    let wrong = config_json(&[b"other".to_vec()], "sh");
    let old_cfg = fs::read(&cfg_path).unwrap();
    fs::write(
        dir.join("blobs/sha256").join(Digest::of(&wrong).hex()),
        &wrong,
    )
    .unwrap();
    let m_path = fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| fs::read_to_string(p).is_ok_and(|s| s.contains("schemaVersion")))
        .unwrap();
    let m = fs::read_to_string(&m_path)
        .unwrap()
        .replace(
            &Digest::of(&old_cfg).to_string(),
            &Digest::of(&wrong).to_string(),
        )
        .replace(
            &format!("\"size\":{}", old_cfg.len()),
            &format!("\"size\":{}", wrong.len()),
        );
    fs::write(
        dir.join("blobs/sha256")
            .join(Digest::of(m.as_bytes()).hex()),
        &m,
    )
    .unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [desc(spec::OCI_MANIFEST, m.as_bytes())]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let e = s.import(&dir, Some("x"), &[]).unwrap_err().to_string();
    assert!(
        e.contains("uncompressed content has digest") && e.contains("config says"),
        "{e}"
    );
    assert!(s.list().unwrap().is_empty());
    assert_eq!(
        fs::read_dir(t.path().join("images/layers"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        fs::read_dir(t.path().join("images/tmp")).unwrap().count(),
        0
    );
}

#[test]
fn a_corrupted_blob_in_the_archive_is_refused_on_import() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let dir = t.path().join("oci");
    let layer = RawTar::new().file("f", b"some content").bytes();
    oci_layout(&dir, std::slice::from_ref(&layer), None, false);
    let gz = Digest::of(&gzip(&layer));
    let p = dir.join("blobs/sha256").join(gz.hex());
    let mut b = fs::read(&p).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    fs::write(&p, b).unwrap();
    let e = s.import(&dir, Some("x"), &[]).unwrap_err().to_string();
    assert!(
        e.contains(&gz.to_string()) && e.contains("corrupted"),
        "{e}"
    );
    assert!(s.list().unwrap().is_empty());
}

#[test]
fn zstd_layers_are_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let zst = t.path().join("root.tar.zst");
    fs::write(&zst, [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]).unwrap();
    let e = s.import(&zst, None, &[]).unwrap_err().to_string();
    assert!(e.contains("zstd"), "{e}");
    let e = s.import(t.path(), None, &[]).unwrap_err().to_string();
    assert!(e.contains("without oci-layout or manifest.json"), "{e}");
    let e = s
        .import(&zst, Some("x@sha256:0000"), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("x@sha256:0000"), "{e}");
    let e = s
        .import(&zst, None, &["FROB x".to_string()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown instruction FROB"), "{e}");
}

#[test]
fn concurrent_imports_keep_every_name() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("images");
    let tars: Vec<PathBuf> = (0..4)
        .map(|i| rootfs_tar(&t, &format!("r{i}.tar"), format!("tool {i}").as_bytes()))
        .collect();
    std::thread::scope(|sc| {
        for (i, tar) in tars.iter().enumerate() {
            let dir = dir.clone();
            sc.spawn(move || {
                // Each thread opens its own store, as separate processes would.
                let s = ImageStore::open(&dir).unwrap();
                s.import(tar, Some(&format!("localhost/img{i}")), &[])
                    .unwrap();
            });
        }
    });
    let s = ImageStore::open(&dir).unwrap();
    let mut all: Vec<String> = names(&s).into_iter().flatten().collect();
    all.sort();
    assert_eq!(
        all,
        (0..4)
            .map(|i| format!("localhost/img{i}:latest"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn docker_manifests_in_a_layout_are_stored_as_oci_and_keep_their_digest() {
    let t = tempfile::tempdir().unwrap();
    let s = store(&t);
    let dir = t.path().join("oci");
    let layer = RawTar::new().file("f", b"x").bytes();
    let (docker_digest, _) = oci_layout_typed(
        &dir,
        &[layer],
        Some("localhost/d:1"),
        false,
        spec::DOCKER_MANIFEST,
    );
    let got = s.import(&dir, None, &[]).unwrap().remove(0);
    assert_ne!(got.manifest_digest, docker_digest);
    let v = s.inspect("localhost/d:1").unwrap();
    assert_eq!(v["Manifest"]["mediaType"], spec::OCI_MANIFEST);
    assert_eq!(
        v["Manifest"]["layers"][0]["mediaType"],
        spec::OCI_LAYER_GZIP
    );
    let by_docker = format!("localhost/d@{docker_digest}");
    assert_eq!(
        s.resolve(&by_docker).unwrap().unwrap().manifest_digest,
        got.manifest_digest
    );
    // Both manifests survive garbage collection while the image exists.
    s.gc().unwrap();
    assert!(s.blob_path(&docker_digest).exists());
    s.remove("localhost/d:1", false).unwrap();
    assert!(!s.blob_path(&docker_digest).exists());
}
