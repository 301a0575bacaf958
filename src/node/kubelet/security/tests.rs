use super::passwd::{parse_group, parse_passwd};
use super::*;
use serde_json::json;
use std::fs;
use tempfile::TempDir;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      # comment\n\
                      daemon:x:1:1::/:/bin/false\n\
                      app:x:1000:1001:App:/home/app:/bin/sh\n\
                      broken:x:notanumber:1\n\
                      +nis\n";
const GROUP: &str = "root:x:0:\n\
                     wheel:x:10:root,app\n\
                     app:x:1001:app\n\
                     staff:x:50:other, app\n\
                     audio:x:63:\n";

/// One unpacked layer with etc/passwd and etc/group.
fn layer() -> TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("etc")).unwrap();
    fs::write(d.path().join("etc/passwd"), PASSWD).unwrap();
    fs::write(d.path().join("etc/group"), GROUP).unwrap();
    d
}

fn pod(psc: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
           "spec": {"securityContext": psc}})
}

fn sec(psc: Value, csc: Value, image_user: Option<&str>) -> Result<Security, String> {
    let l = layer();
    let layers = [l.path()];
    security(
        &pod(psc),
        &json!({"name": "c", "securityContext": csc}),
        image_user,
        &layers,
    )
}

fn user(uid: u32, gid: u32, groups: &[u32]) -> User {
    User {
        uid,
        gid,
        additional_gids: groups.to_vec(),
    }
}

#[test]
fn no_user_anywhere_is_root_with_roots_groups() {
    let s = sec(json!({}), json!({}), None).unwrap();
    assert_eq!(s.user, user(0, 0, &[0, 10]));
    assert_eq!(
        sec(json!(null), json!(null), Some("")).unwrap().user,
        s.user
    );
}

#[test]
fn image_user_forms() {
    // A uid: the gid of its passwd entry, and its groups.
    assert_eq!(
        sec(json!({}), json!({}), Some("1000")).unwrap().user,
        user(1000, 1001, &[1001, 10, 50])
    );
    // A uid without an entry: gid 0, no groups from /etc/group.
    assert_eq!(
        sec(json!({}), json!({}), Some("4242")).unwrap().user,
        user(4242, 0, &[0])
    );
    // uid:gid as written.
    assert_eq!(
        sec(json!({}), json!({}), Some("4242:77")).unwrap().user,
        user(4242, 77, &[77])
    );
    // A name: uid and gid from its entry; groups listing it, except its own-named group.
    assert_eq!(
        sec(json!({}), json!({}), Some("app")).unwrap().user,
        user(1000, 1001, &[1001, 10, 50])
    );
    // name:group and name:gid.
    assert_eq!(
        sec(json!({}), json!({}), Some("app:audio")).unwrap().user,
        user(1000, 63, &[63, 10, 50])
    );
    assert_eq!(
        sec(json!({}), json!({}), Some("daemon:5")).unwrap().user,
        user(1, 5, &[5])
    );
    assert_eq!(
        sec(json!({}), json!({}), Some("0:audio")).unwrap().user,
        user(0, 63, &[63, 10])
    );
}

#[test]
fn unknown_names_fail() {
    assert_eq!(
        sec(json!({}), json!({}), Some("nobody")).unwrap_err(),
        "unable to find user nobody: no matching entries in passwd file"
    );
    assert_eq!(
        sec(json!({}), json!({}), Some("app:nogroup")).unwrap_err(),
        "unable to find group nogroup: no matching entries in group file"
    );
    // No passwd file at all.
    let empty = tempfile::tempdir().unwrap();
    let layers = [empty.path()];
    let err = security(&pod(json!({})), &json!({"name": "c"}), Some("app"), &layers);
    assert_eq!(
        err.unwrap_err(),
        "unable to find user app: no matching entries in passwd file"
    );
    let ok = security(&pod(json!({})), &json!({"name": "c"}), Some("7"), &layers).unwrap();
    assert_eq!(ok.user, user(7, 0, &[0]));
}

#[test]
fn run_as_user_and_group_override_the_image_container_over_pod() {
    let s = sec(json!({"runAsUser": 1000}), json!({}), Some("daemon")).unwrap();
    assert_eq!(s.user, user(1000, 1001, &[1001, 10, 50]));
    let s = sec(
        json!({"runAsUser": 1000}),
        json!({"runAsUser": 5}),
        Some("app"),
    )
    .unwrap();
    assert_eq!(s.user, user(5, 0, &[0]));
    let s = sec(
        json!({"runAsUser": 1000, "runAsGroup": 3000}),
        json!({}),
        None,
    )
    .unwrap();
    assert_eq!(s.user, user(1000, 3000, &[3000, 10, 50]));
    let s = sec(
        json!({"runAsGroup": 3000}),
        json!({"runAsGroup": 4000}),
        Some("app"),
    )
    .unwrap();
    assert_eq!(s.user, user(1000, 4000, &[4000, 10, 50]));
    // runAsGroup replaces an image's group.
    let s = sec(json!({"runAsGroup": 9}), json!({}), Some("4242:77")).unwrap();
    assert_eq!(s.user, user(4242, 9, &[9]));
}

#[test]
fn fs_group_and_supplemental_groups_are_added_in_order() {
    let psc = json!({"runAsUser": 4242, "runAsGroup": 100, "fsGroup": 2000, "supplementalGroups": [3000, 100, 4000]});
    assert_eq!(
        sec(psc, json!({}), None).unwrap().user,
        user(4242, 100, &[100, 2000, 3000, 4000])
    );
    // Strict: only what the pod lists, not the image's /etc/group.
    let psc = json!({"supplementalGroupsPolicy": "Strict", "supplementalGroups": [3000]});
    assert_eq!(
        sec(psc, json!({}), Some("app")).unwrap().user,
        user(1000, 1001, &[3000])
    );
}

#[test]
fn run_as_non_root() {
    let who = "(pod: \"web_shop(u-1)\", container: c)";
    let nonroot = json!({"runAsNonRoot": true});
    assert_eq!(
        sec(nonroot.clone(), json!({}), None).unwrap_err(),
        format!("container has runAsNonRoot and image will run as root {who}")
    );
    assert_eq!(
        sec(nonroot.clone(), json!({}), Some("0:10")).unwrap_err(),
        format!("container has runAsNonRoot and image will run as root {who}")
    );
    assert_eq!(
        sec(nonroot.clone(), json!({}), Some("app")).unwrap_err(),
        format!(
            "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root {who}"
        )
    );
    assert_eq!(
        sec(
            json!({}),
            json!({"runAsNonRoot": true, "runAsUser": 0}),
            Some("1000")
        )
        .unwrap_err(),
        format!("container's runAsUser breaks non-root policy {who}")
    );
    assert!(sec(nonroot.clone(), json!({}), Some("1000")).is_ok());
    assert!(sec(nonroot.clone(), json!({"runAsUser": 1000}), Some("app")).is_ok());
    assert!(sec(nonroot, json!({"runAsUser": 1000}), None).is_ok());
    // The container can turn the pod's requirement off.
    assert!(
        sec(
            json!({"runAsNonRoot": true}),
            json!({"runAsNonRoot": false}),
            None
        )
        .is_ok()
    );
}

#[test]
fn bad_ids_are_errors_not_panics() {
    let err = sec(json!({"runAsUser": -1}), json!({}), None).unwrap_err();
    assert_eq!(
        err,
        "container c: securityContext.runAsUser -1 is not a valid id"
    );
    assert!(sec(json!({}), json!({"runAsGroup": "x"}), None).is_err());
}

#[test]
fn capabilities_privileged_no_new_privs_readonly() {
    let s = sec(json!({}), json!({}), None).unwrap();
    assert_eq!(s.capabilities, Capabilities::default());
    assert!(!s.privileged && !s.no_new_privs && !s.readonly_rootfs);
    let csc = json!({
        "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["ALL"]},
        "privileged": true,
        "readOnlyRootFilesystem": true
    });
    let s = sec(json!({}), csc, None).unwrap();
    assert_eq!(s.capabilities.add, ["NET_ADMIN", "SYS_TIME"]);
    assert_eq!(s.capabilities.drop, ["ALL"]);
    assert!(s.privileged && s.readonly_rootfs && !s.no_new_privs);
    let s = sec(json!({}), json!({"allowPrivilegeEscalation": false}), None).unwrap();
    assert!(s.no_new_privs);
    let s = sec(json!({}), json!({"allowPrivilegeEscalation": true}), None).unwrap();
    assert!(!s.no_new_privs);
}

#[test]
fn account_files_parse_leniently() {
    let p = parse_passwd(PASSWD);
    assert_eq!(
        p.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["root", "daemon", "app"]
    );
    let g = parse_group(GROUP);
    assert_eq!(g[1].members, ["root", "app"]);
    assert_eq!(g[3].members, ["other", "app"]);
    assert!(g[0].members.is_empty());
}

#[test]
fn topmost_layer_with_the_file_wins() {
    let lower = layer();
    let upper = tempfile::tempdir().unwrap();
    fs::create_dir(upper.path().join("etc")).unwrap();
    fs::write(
        upper.path().join("etc/passwd"),
        "app:x:2000:2000::/:/bin/sh\n",
    )
    .unwrap();
    let layers = [upper.path(), lower.path()];
    // passwd from the upper layer, group from the lower one.
    let s = security(&pod(json!({})), &json!({"name": "c"}), Some("app"), &layers).unwrap();
    assert_eq!(s.user, user(2000, 2000, &[2000, 10, 50]));
    assert_eq!(read_layered(&layers, "etc/group").unwrap().unwrap(), GROUP);
    assert_eq!(read_layered(&layers, "etc/shadow").unwrap(), None);
}

#[test]
fn symlinks_resolve_inside_the_image() {
    let lower = layer();
    let upper = tempfile::tempdir().unwrap();
    fs::create_dir(upper.path().join("etc")).unwrap();
    // Absolute: from the image root, never the host's /etc.
    std::os::unix::fs::symlink("/usr/lib/passwd", upper.path().join("etc/passwd")).unwrap();
    fs::create_dir_all(upper.path().join("usr/lib")).unwrap();
    fs::write(
        upper.path().join("usr/lib/passwd"),
        "lib:x:7:8::/:/bin/sh\n",
    )
    .unwrap();
    // Relative, climbing above the root, into the lower layer.
    std::os::unix::fs::symlink("../../../etc/passwd", upper.path().join("usr/lib/up")).unwrap();
    let layers = [upper.path(), lower.path()];
    assert_eq!(
        read_layered(&layers, "etc/passwd").unwrap().unwrap(),
        "lib:x:7:8::/:/bin/sh\n"
    );
    assert_eq!(
        read_layered(&layers, "usr/lib/up").unwrap().unwrap(),
        "lib:x:7:8::/:/bin/sh\n"
    );
    // A loop ends as "no file".
    std::os::unix::fs::symlink("loop", upper.path().join("loop")).unwrap();
    assert_eq!(read_layered(&layers, "loop").unwrap(), None);
    // A directory symlink on the way.
    let d = tempfile::tempdir().unwrap();
    fs::create_dir(d.path().join("real")).unwrap();
    fs::write(d.path().join("real/group"), "g:x:5:\n").unwrap();
    std::os::unix::fs::symlink("real", d.path().join("etc")).unwrap();
    assert_eq!(
        read_layered(&[d.path()], "etc/group").unwrap().unwrap(),
        "g:x:5:\n"
    );
}

fn need_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (whiteouts and trusted.* xattrs)"
    );
}

#[test]
fn whiteouts_and_opaque_directories_hide_lower_files_as_root() {
    need_root();
    let lower = layer();
    let upper = tempfile::tempdir().unwrap();
    fs::create_dir(upper.path().join("etc")).unwrap();
    nix::sys::stat::mknod(
        &upper.path().join("etc/passwd"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
        0,
    )
    .unwrap();
    let layers = [upper.path(), lower.path()];
    assert_eq!(read_layered(&layers, "etc/passwd").unwrap(), None);
    assert_eq!(read_layered(&layers, "etc/group").unwrap().unwrap(), GROUP);
    assert_eq!(
        security(&pod(json!({})), &json!({"name": "c"}), Some("app"), &layers).unwrap_err(),
        "unable to find user app: no matching entries in passwd file"
    );

    let opaque = tempfile::tempdir().unwrap();
    fs::create_dir(opaque.path().join("etc")).unwrap();
    crate::image::unpack::sys::set_xattr(&opaque.path().join("etc"), OPAQUE, b"y").unwrap();
    fs::write(opaque.path().join("etc/hosts"), "").unwrap();
    let layers = [opaque.path(), lower.path()];
    assert_eq!(read_layered(&layers, "etc/group").unwrap(), None);
    // Without the attribute the lower file shows through.
    let plain = tempfile::tempdir().unwrap();
    fs::create_dir(plain.path().join("etc")).unwrap();
    let layers = [plain.path(), lower.path()];
    assert_eq!(read_layered(&layers, "etc/group").unwrap().unwrap(), GROUP);
}

const OPAQUE: &str = crate::image::unpack::sys::OPAQUE_XATTR;
