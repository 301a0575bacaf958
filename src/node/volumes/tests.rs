//! Volumes on a temp pod directory, checked the way a container would see them.

use super::*;
use crate::runtime::container::MountKind;
use serde_json::json;
use std::fs;
use std::os::unix::fs::MetadataExt;

fn pod(volumes: Value, mounts: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                     "labels": {"app": "web", "tier": "front \"end\""},
                     "annotations": {"note": "a\nb"}},
        "spec": {
            "nodeName": "node1",
            "volumes": volumes,
            "containers": [{"name": "app", "volumeMounts": mounts,
                "resources": {"limits": {"cpu": "500m", "memory": "64Mi"},
                              "requests": {"cpu": "250m", "memory": "32Mi"}}}]
        }
    })
}

/// Unmounts and removes a pod's volumes even when a test fails half-way.
struct Guard(tempfile::TempDir);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = cleanup(self.0.path());
    }
}

impl std::ops::Deref for Guard {
    type Target = tempfile::TempDir;
    fn deref(&self) -> &tempfile::TempDir {
        &self.0
    }
}

fn pod_dir() -> Guard {
    Guard(tempfile::tempdir().unwrap())
}

fn container(p: &Value) -> Value {
    p["spec"]["containers"][0].clone()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o7777
}

fn mounted(p: &Path) -> bool {
    host::mounts_under(&fs::canonicalize(p).unwrap())
        .unwrap()
        .iter()
        .any(|m| m == &fs::canonicalize(p).unwrap())
}

/// What a container reading the file would get.
fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap()
}

fn b64(s: &str) -> String {
    crate::api::defaults::base64_encode(s.as_bytes())
}

#[test]
fn empty_dir_is_a_world_writable_directory_shared_by_containers() {
    let dir = pod_dir();
    let p = pod(
        json!([{"name": "shared", "emptyDir": {}}]),
        json!([{"name": "shared", "mountPath": "/data"}]),
    );
    let v = prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    let host = dir.path().join("volumes/shared");
    assert_eq!(v.paths["shared"], host);
    assert_eq!(mode(&host), 0o777);
    let m = v.mounts(&p, &container(&p)).unwrap();
    assert_eq!(
        m,
        vec![Mount {
            source: host.clone(),
            destination: "/data".into(),
            kind: MountKind::Bind { readonly: false }
        }]
    );
    // a second prepare keeps what containers wrote
    fs::write(host.join("f"), "x").unwrap();
    prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    assert_eq!(read(&host.join("f")), "x");
    cleanup(dir.path()).unwrap();
    assert!(!dir.path().join("volumes").exists());
}

#[test]
fn empty_dir_memory_is_a_tmpfs_with_the_size_limit_as_root() {
    let dir = pod_dir();
    let p = pod(
        json!([{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}}]),
        json!([]),
    );
    let v = prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    let host = &v.paths["cache"];
    assert!(mounted(host), "no tmpfs at {}", host.display());
    let st = nix::sys::statvfs::statvfs(host.as_path()).unwrap();
    assert_eq!(st.blocks() * st.fragment_size(), 8 << 20);
    assert_eq!(mode(host), 0o777);
    // prepare again does not stack a second tmpfs
    prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    assert_eq!(host::mounts_under(&root).unwrap().len(), 1);
    cleanup(dir.path()).unwrap();
    assert!(host::mounts_under(&root).unwrap().is_empty());
    assert!(!dir.path().join("volumes").exists());
}

#[test]
fn empty_dir_fs_group_owns_with_setgid_as_root() {
    let dir = pod_dir();
    let mut p = pod(json!([{"name": "d", "emptyDir": {}}]), json!([]));
    p["spec"]["securityContext"] = json!({"fsGroup": 2345});
    let v = prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    let meta = fs::metadata(&v.paths["d"]).unwrap();
    assert_eq!(meta.gid(), 2345);
    assert_eq!(meta.mode() & 0o7777, 0o2777);
}

fn host_path(path: &Path, kind: &str) -> Result<PodVolumes, VolumeError> {
    let dir = pod_dir();
    let p = pod(
        json!([{"name": "h", "hostPath": {"path": path, "type": kind}}]),
        json!([]),
    );
    prepare(&p, dir.path(), &VolumeSources::default())
}

#[test]
fn host_path_type_checks_use_the_kubelet_messages() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("file");
    fs::write(&file, "").unwrap();
    let missing = t.path().join("missing");
    let msg = |r: Result<PodVolumes, VolumeError>| r.unwrap_err().to_string();

    assert_eq!(
        msg(host_path(&file, "Directory")),
        format!(
            "MountVolume.SetUp failed for volume \"h\" : hostPath type check failed: {} is not a directory",
            file.display()
        )
    );
    assert_eq!(
        host_path(&missing, "Directory").unwrap_err().message,
        format!(
            "hostPath type check failed: {} does not exist",
            missing.display()
        )
    );
    assert_eq!(
        host_path(t.path(), "File").unwrap_err().message,
        format!(
            "hostPath type check failed: {} is not a file",
            t.path().display()
        )
    );
    assert_eq!(
        host_path(&file, "Socket").unwrap_err().message,
        format!(
            "hostPath type check failed: {} is not a socket file",
            file.display()
        )
    );
    assert_eq!(
        host_path(Path::new("/dev/null"), "BlockDevice")
            .unwrap_err()
            .message,
        "hostPath type check failed: /dev/null is not a block device"
    );
    assert_eq!(
        host_path(&file, "Bogus").unwrap_err().message,
        "Bogus is an invalid volume type"
    );
    host_path(Path::new("/dev/null"), "CharDevice").unwrap();
    host_path(t.path(), "Directory").unwrap();
    host_path(&file, "File").unwrap();
    // no type: no check at all, even for a missing path
    let v = host_path(&missing, "").unwrap();
    assert_eq!(v.paths["h"], missing);
    assert!(!missing.exists());

    let sock = t.path().join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    host_path(&sock, "Socket").unwrap();
}

#[test]
fn host_path_or_create_types_create_with_kubelet_modes() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("a/b");
    host_path(&d, "DirectoryOrCreate").unwrap();
    assert!(d.is_dir());
    assert_eq!(mode(&d), 0o755);
    let f = t.path().join("new.txt");
    host_path(&f, "FileOrCreate").unwrap();
    assert!(f.is_file());
    assert_eq!(mode(&f), 0o644);
    // the parent of a FileOrCreate path must exist
    assert!(host_path(&t.path().join("nope/f"), "FileOrCreate").is_err());
    // an existing file is not a directory, even for DirectoryOrCreate
    assert!(
        host_path(&f, "DirectoryOrCreate")
            .unwrap_err()
            .message
            .ends_with("is not a directory")
    );
}

fn cm(data: Value) -> Value {
    json!({"metadata": {"name": "cfg"}, "data": data})
}

#[test]
fn config_map_writes_the_atomic_writer_layout() {
    let dir = pod_dir();
    let mut obj = cm(json!({"a.conf": "A", "b.conf": "B"}));
    obj["binaryData"] = json!({"bin": b64("\u{1}\u{2}")});
    let sources = VolumeSources {
        config_maps: [("cfg".to_string(), &obj)].into(),
        ..Default::default()
    };
    let p = pod(
        json!([{"name": "c", "configMap": {"name": "cfg", "defaultMode": 0o600}}]),
        json!([{"name": "c", "mountPath": "/etc/app"}]),
    );
    let v = prepare(&p, dir.path(), &sources).unwrap();
    let vol = &v.paths["c"];
    assert_eq!(read(&vol.join("a.conf")), "A");
    assert_eq!(fs::read(vol.join("bin")).unwrap(), vec![1, 2]);
    assert_eq!(
        fs::read_link(vol.join("a.conf")).unwrap(),
        Path::new("..data/a.conf")
    );
    let target = fs::read_link(vol.join("..data")).unwrap();
    assert!(target.to_string_lossy().starts_with("..20"), "{target:?}");
    assert_eq!(mode(&vol.join("a.conf")), 0o600);
    // configMap volumes are mounted read-only whatever the volumeMount says
    let m = v.mounts(&p, &container(&p)).unwrap();
    assert_eq!(m[0].kind, MountKind::Bind { readonly: true });
}

#[test]
fn config_map_items_modes_and_optional() {
    let dir = pod_dir();
    let obj = cm(json!({"a": "A", "b": "B"}));
    let sources = VolumeSources {
        config_maps: [("cfg".to_string(), &obj)].into(),
        ..Default::default()
    };
    let p = pod(
        json!([{"name": "c", "configMap": {"name": "cfg",
            "items": [{"key": "a", "path": "sub/dir/a.txt", "mode": 0o400}]}}]),
        json!([]),
    );
    let v = prepare(&p, dir.path(), &sources).unwrap();
    let vol = &v.paths["c"];
    assert_eq!(read(&vol.join("sub/dir/a.txt")), "A");
    assert_eq!(mode(&vol.join("sub/dir/a.txt")), 0o400);
    assert!(!vol.join("b").exists(), "items select keys");
    assert_eq!(
        fs::read_link(vol.join("sub")).unwrap(),
        Path::new("..data/sub")
    );

    let missing_key = pod(
        json!([{"name": "c", "configMap": {"name": "cfg", "items": [{"key": "zz", "path": "z"}]}}]),
        json!([]),
    );
    assert_eq!(
        prepare(&missing_key, dir.path(), &sources)
            .unwrap_err()
            .message,
        "configmap references non-existent config key: zz"
    );
    let missing = pod(
        json!([{"name": "c", "configMap": {"name": "other"}}]),
        json!([]),
    );
    assert_eq!(
        prepare(&missing, dir.path(), &sources)
            .unwrap_err()
            .to_string(),
        "MountVolume.SetUp failed for volume \"c\" : configmap \"other\" not found"
    );
    let optional = pod(
        json!([{"name": "o", "configMap": {"name": "other", "optional": true}}]),
        json!([]),
    );
    let v = prepare(&optional, dir.path(), &sources).unwrap();
    assert!(v.paths["o"].is_dir());
    // an item path escaping the volume is refused
    let escape = pod(
        json!([{"name": "e", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "../x"}]}}]),
        json!([]),
    );
    assert!(prepare(&escape, dir.path(), &sources).is_err());
    assert!(!dir.path().join("volumes/x").exists());
}

#[test]
fn config_map_update_swaps_data_atomically() {
    let dir = pod_dir();
    let p = pod(
        json!([{"name": "c", "configMap": {"name": "cfg"}}]),
        json!([]),
    );
    let v1 = cm(json!({"keep": "1", "gone": "x"}));
    let s1 = VolumeSources {
        config_maps: [("cfg".to_string(), &v1)].into(),
        ..Default::default()
    };
    let vol = prepare(&p, dir.path(), &s1).unwrap().paths["c"].clone();
    let first = fs::read_link(vol.join("..data")).unwrap();
    // the same content again: nothing is rewritten
    prepare(&p, dir.path(), &s1).unwrap();
    assert_eq!(fs::read_link(vol.join("..data")).unwrap(), first);

    let v2 = cm(json!({"keep": "2", "new": "n"}));
    let s2 = VolumeSources {
        config_maps: [("cfg".to_string(), &v2)].into(),
        ..Default::default()
    };
    prepare(&p, dir.path(), &s2).unwrap();
    let second = fs::read_link(vol.join("..data")).unwrap();
    assert_ne!(first, second);
    assert_eq!(read(&vol.join("keep")), "2");
    assert_eq!(read(&vol.join("new")), "n");
    assert!(fs::symlink_metadata(vol.join("gone")).is_err());
    assert!(
        !vol.join(&first).exists(),
        "the old data directory is removed"
    );
    let names: Vec<String> = fs::read_dir(&vol)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}"); // ..data, ..<ts>, keep, new
}

#[test]
fn secret_is_a_tmpfs_with_modes_and_fs_group_as_root() {
    let dir = pod_dir();
    let obj = json!({"metadata": {"name": "s"}, "data": {"password": b64("hunter2"), "user": b64("bob")}});
    let sources = VolumeSources {
        secrets: [("s".to_string(), &obj)].into(),
        ..Default::default()
    };
    let mut p = pod(
        json!([{"name": "sec", "secret": {"secretName": "s", "defaultMode": 0o400,
            "items": [{"key": "password", "path": "pw"}, {"key": "user", "path": "user", "mode": 0o600}]}}]),
        json!([{"name": "sec", "mountPath": "/run/secret"}]),
    );
    p["spec"]["securityContext"] = json!({"fsGroup": 3000});
    let v = prepare(&p, dir.path(), &sources).unwrap();
    let vol = &v.paths["sec"];
    assert!(mounted(vol), "secret volume must be a tmpfs");
    let fstype = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(fs::canonicalize(vol).unwrap().to_str().unwrap()))
        .and_then(|l| {
            l.split(" - ")
                .nth(1)
                .map(|r| r.split(' ').next().unwrap().to_string())
        })
        .unwrap();
    assert_eq!(fstype, "tmpfs");
    assert_eq!(read(&vol.join("pw")), "hunter2");
    // fsGroup adds group read to the requested modes and owns the files
    assert_eq!(mode(&vol.join("pw")), 0o440);
    assert_eq!(mode(&vol.join("user")), 0o640);
    assert_eq!(fs::metadata(vol.join("pw")).unwrap().gid(), 3000);
    let m = v.mounts(&p, &container(&p)).unwrap();
    assert_eq!(m[0].kind, MountKind::Bind { readonly: true });
    assert_eq!(
        prepare(
            &pod(
                json!([{"name": "x", "secret": {"secretName": "nope"}}]),
                json!([])
            ),
            dir.path(),
            &sources
        )
        .unwrap_err()
        .message,
        "secret \"nope\" not found"
    );
    cleanup(dir.path()).unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    assert!(host::mounts_under(&root).unwrap().is_empty());
}

#[test]
fn downward_api_formats_fields_like_the_kubelet() {
    let dir = pod_dir();
    let p = pod(
        json!([{"name": "info", "downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
            {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
            {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
            {"path": "cpu_limit", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"}},
            {"path": "cpu_req_m", "resourceFieldRef": {"containerName": "app", "resource": "requests.cpu", "divisor": "1m"}},
            {"path": "mem_limit", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}},
        ]}}]),
        json!([]),
    );
    let v = prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    let vol = &v.paths["info"];
    assert_eq!(read(&vol.join("name")), "web");
    assert_eq!(read(&vol.join("ns")), "shop");
    assert_eq!(read(&vol.join("uid")), "u-1");
    assert_eq!(
        read(&vol.join("labels")),
        "app=\"web\"\ntier=\"front \\\"end\\\"\""
    );
    assert_eq!(read(&vol.join("annotations")), "note=\"a\\nb\"");
    assert_eq!(read(&vol.join("app")), "web");
    assert_eq!(read(&vol.join("cpu_limit")), "1"); // 500m rounds up to 1 core
    assert_eq!(read(&vol.join("cpu_req_m")), "250");
    assert_eq!(read(&vol.join("mem_limit")), "64");

    // a label change reaches the file on the next prepare
    let mut p2 = p.clone();
    p2["metadata"]["labels"]["app"] = json!("api");
    prepare(&p2, dir.path(), &VolumeSources::default()).unwrap();
    assert_eq!(read(&vol.join("app")), "api");
}

#[test]
fn projected_combines_sources_and_skips_tokens() {
    let dir = pod_dir();
    let c = cm(json!({"a": "A"}));
    let s = json!({"metadata": {"name": "s"}, "data": {"k": b64("K")}});
    let sources = VolumeSources {
        config_maps: [("cfg".to_string(), &c)].into(),
        secrets: [("s".to_string(), &s)].into(),
        ..Default::default()
    };
    let p = pod(
        json!([{"name": "all", "projected": {"defaultMode": 0o640, "sources": [
            {"configMap": {"name": "cfg"}},
            {"secret": {"name": "s", "items": [{"key": "k", "path": "secret/k"}]}},
            {"downwardAPI": {"items": [{"path": "pod", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            {"serviceAccountToken": {"path": "token"}},
            {"configMap": {"name": "absent", "optional": true}},
        ]}}]),
        json!([]),
    );
    let v = prepare(&p, dir.path(), &sources).unwrap();
    let vol = &v.paths["all"];
    assert_eq!(read(&vol.join("a")), "A");
    assert_eq!(read(&vol.join("secret/k")), "K");
    assert_eq!(read(&vol.join("pod")), "web");
    assert_eq!(mode(&vol.join("a")), 0o640);
    assert!(!vol.join("token").exists());
}

#[test]
fn persistent_volume_claims_use_the_bound_directory() {
    let dir = pod_dir();
    let pv = tempfile::tempdir().unwrap();
    let p = pod(
        json!([{"name": "data", "persistentVolumeClaim": {"claimName": "db"}}]),
        json!([{"name": "data", "mountPath": "/var/lib/db"}]),
    );
    assert_eq!(
        prepare(&p, dir.path(), &VolumeSources::default())
            .unwrap_err()
            .message,
        "persistentvolumeclaim \"db\" not bound"
    );
    let sources = VolumeSources {
        pvc_paths: [("db".to_string(), pv.path().to_path_buf())].into(),
        ..Default::default()
    };
    let v = prepare(&p, dir.path(), &sources).unwrap();
    assert_eq!(v.paths["data"], pv.path());
    let m = v.mounts(&p, &container(&p)).unwrap();
    assert_eq!(m[0].source, pv.path());
    assert_eq!(m[0].kind, MountKind::Bind { readonly: false });
    // data survives the pod: cleanup never touches the claim's directory
    fs::write(pv.path().join("row"), "1").unwrap();
    cleanup(dir.path()).unwrap();
    assert_eq!(read(&pv.path().join("row")), "1");
}

#[test]
fn mounts_follow_volume_mounts_in_order_with_sub_paths() {
    let dir = pod_dir();
    let obj = cm(json!({"app.conf": "conf"}));
    let sources = VolumeSources {
        config_maps: [("cfg".to_string(), &obj)].into(),
        ..Default::default()
    };
    let mut p = pod(
        json!([{"name": "shared", "emptyDir": {}}, {"name": "c", "configMap": {"name": "cfg"}}]),
        json!([
            {"name": "shared", "mountPath": "/b", "subPath": "logs/app", "readOnly": true},
            {"name": "c", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
            {"name": "shared", "mountPath": "/a"},
            {"name": "shared", "mountPath": "/p", "subPathExpr": "$(POD)/x"},
        ]),
    );
    p["spec"]["containers"][0]["env"] =
        json!([{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]);
    let v = prepare(&p, dir.path(), &sources).unwrap();
    let m = v.mounts(&p, &container(&p)).unwrap();
    let shared = fs::canonicalize(&v.paths["shared"]).unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(m[0].source, shared.join("logs/app"));
    assert!(m[0].source.is_dir(), "missing subPath is created");
    assert_eq!(mode(&m[0].source), 0o777);
    assert_eq!(m[0].kind, MountKind::Bind { readonly: true });
    // a subPath of a configMap key binds the resolved file
    assert!(m[1].source.is_file());
    assert_eq!(read(&m[1].source), "conf");
    assert!(m[1].source.to_string_lossy().contains("/..20"));
    assert_eq!(m[2].destination, Path::new("/a"));
    assert_eq!(m[2].kind, MountKind::Bind { readonly: false });
    assert_eq!(m[3].source, shared.join("web/x"));
}

#[test]
fn sub_paths_never_escape_the_volume() {
    let dir = pod_dir();
    let mounts = |sub: &str| json!([{"name": "v", "mountPath": "/x", "subPath": sub}]);
    let run = |sub: &str| {
        let p = pod(json!([{"name": "v", "emptyDir": {}}]), mounts(sub));
        let v = prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
        v.mounts(&p, &container(&p))
    };
    assert_eq!(
        run("/etc").unwrap_err().message,
        "error SubPath `/etc` must not be an absolute path"
    );
    assert_eq!(
        run("a/../../etc").unwrap_err().message,
        "unable to provision SubPath `a/../../etc`: must not contain '..'"
    );
    // a container can plant a symlink in the volume: following it out is refused
    let vol = dir.path().join("volumes/v");
    std::os::unix::fs::symlink("/etc", vol.join("evil")).unwrap();
    let e = run("evil/passwd").unwrap_err().message;
    assert!(e.contains("outside of the volume"), "{e}");
    std::os::unix::fs::symlink("/", vol.join("up")).unwrap();
    assert!(run("up/tmp/newdir").is_err());
    assert!(!Path::new("/tmp/newdir").exists());
    // a symlink inside the volume is fine
    fs::create_dir(vol.join("real")).unwrap();
    std::os::unix::fs::symlink("real", vol.join("alias")).unwrap();
    let m = run("alias").unwrap();
    assert_eq!(m[0].source, fs::canonicalize(vol.join("real")).unwrap());
}

#[test]
fn unknown_volume_in_a_mount_is_an_error() {
    let dir = pod_dir();
    let p = pod(json!([]), json!([{"name": "ghost", "mountPath": "/g"}]));
    let v = prepare(&p, dir.path(), &VolumeSources::default()).unwrap();
    assert_eq!(
        v.mounts(&p, &container(&p)).unwrap_err().message,
        "cannot find volume \"ghost\" to mount into container \"app\""
    );
    let bad = pod(
        json!([{"name": "n", "nfs": {"server": "x", "path": "/"}}]),
        json!([]),
    );
    assert!(
        prepare(&bad, dir.path(), &VolumeSources::default())
            .unwrap_err()
            .message
            .contains("not supported")
    );
}

#[test]
fn cleanup_leaves_no_mount_and_is_idempotent_as_root() {
    let dir = pod_dir();
    let obj = json!({"metadata": {"name": "s"}, "data": {"k": b64("v")}});
    let sources = VolumeSources {
        secrets: [("s".to_string(), &obj)].into(),
        ..Default::default()
    };
    let p = pod(
        json!([
            {"name": "m", "emptyDir": {"medium": "Memory"}},
            {"name": "s", "secret": {"secretName": "s"}},
            {"name": "d", "emptyDir": {}},
        ]),
        json!([]),
    );
    let v = prepare(&p, dir.path(), &sources).unwrap();
    // a mount stacked inside a volume (as a nested tmpfs would be) goes too
    let nested = v.paths["m"].join("inner");
    fs::create_dir(&nested).unwrap();
    host::ensure_tmpfs(&nested, None, 0o755).unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    assert_eq!(host::mounts_under(&root).unwrap().len(), 3);
    // a busy mount (open file inside) is detached
    let _busy = fs::File::open(v.paths["s"].join("k")).unwrap();
    cleanup(dir.path()).unwrap();
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !info.contains(root.to_str().unwrap()),
        "mounts left behind:\n{info}"
    );
    assert!(!dir.path().join("volumes").exists());
    cleanup(dir.path()).unwrap();
}

#[test]
fn mountinfo_paths_are_unescaped() {
    assert_eq!(host::unescape("/a\\040b\\134c"), "/a b\\c");
    assert_eq!(host::unescape("/plain\\04"), "/plain\\04");
}

#[test]
fn base64_decoding_matches_go() {
    assert_eq!(payload::base64_decode("aHVudGVyMg==").unwrap(), b"hunter2");
    assert_eq!(payload::base64_decode("").unwrap(), b"");
    assert!(payload::base64_decode("a=bc").is_err());
    assert!(payload::base64_decode("abc").is_err());
    assert!(payload::base64_decode("ab!c").is_err());
}
