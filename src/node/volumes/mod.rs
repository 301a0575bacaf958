//! Pod volumes on the host, shared by the pod's containers: emptyDir (disk, or tmpfs for
//! medium Memory with sizeLimit), hostPath (with type checks), configMap, secret (tmpfs,
//! readable only by the pod's user), downwardAPI, projected, persistentVolumeClaim (a bound
//! PV's local directory). They live under `<pod-dir>/volumes/<name>`; `mounts` turns a
//! container's volumeMounts (subPath, readOnly) into runtime mounts; `cleanup` unmounts and
//! removes everything.

mod atomic;
mod host;
mod payload;
mod subpath;

pub use atomic::check_path;
pub use payload::{field_value, format_map};
pub use subpath::resolve as resolve_sub_path;

use crate::runtime::container::Mount;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What volume contents are made from: fetched objects by name (missing = not found).
#[derive(Debug, Clone, Default)]
pub struct VolumeSources<'a> {
    pub config_maps: BTreeMap<String, &'a Value>,
    pub secrets: BTreeMap<String, &'a Value>,
    /// PVC name → the host directory of the PV bound to it.
    pub pvc_paths: BTreeMap<String, PathBuf>,
    pub node_name: String,
    pub pod_ip: String,
}

/// A volume problem, worded for the pod's events (`FailedMount`):
/// `MountVolume.SetUp failed for volume "cfg" : configmap "cfg" not found`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MountVolume.SetUp failed for volume \"{volume}\" : {message}")]
pub struct VolumeError {
    pub volume: String,
    pub message: String,
}

/// The pod's volumes, set up on the host.
#[derive(Debug, Clone, Default)]
pub struct PodVolumes {
    /// volume name → host directory (or file, for hostPath files).
    pub paths: BTreeMap<String, PathBuf>,
}

/// Creates (or refreshes: configMap/secret/downwardAPI contents are rewritten atomically,
/// as the kubelet's `..data` symlink swap does) every volume of `pod` under `pod_dir`.
/// fs_group (pod securityContext.fsGroup) owns emptyDir/configMap/secret files when set.
pub fn prepare(
    pod: &Value,
    pod_dir: &Path,
    sources: &VolumeSources<'_>,
) -> Result<PodVolumes, VolumeError> {
    let root = pod_dir.join(VOLUMES_DIR);
    let fs_group = pod
        .pointer("/spec/securityContext/fsGroup")
        .and_then(Value::as_u64)
        .and_then(|g| u32::try_from(g).ok());
    let mut out = PodVolumes::default();
    for volume in pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
        let path = prepare_one(volume, name, pod, &root, sources, fs_group)?;
        out.paths.insert(name.to_string(), path);
    }
    Ok(out)
}

/// Where a pod's volumes live under its directory.
pub const VOLUMES_DIR: &str = "volumes";

fn io_err(volume: &str, what: &str, e: impl std::fmt::Display) -> VolumeError {
    VolumeError {
        volume: volume.to_string(),
        message: format!("{what}: {e}"),
    }
}

fn prepare_one(
    volume: &Value,
    name: &str,
    pod: &Value,
    root: &Path,
    sources: &VolumeSources<'_>,
    fs_group: Option<u32>,
) -> Result<PathBuf, VolumeError> {
    let fail = |message: String| VolumeError {
        volume: name.to_string(),
        message,
    };
    if name.is_empty() || name.contains('/') || name.starts_with("..") {
        return Err(fail(format!("invalid volume name {name:?}")));
    }
    if let Some(h) = volume.get("hostPath") {
        let path = PathBuf::from(h.get("path").and_then(Value::as_str).unwrap_or(""));
        if !path.is_absolute() {
            return Err(fail(format!(
                "hostPath {:?} must be an absolute path",
                path.display().to_string()
            )));
        }
        let kind = h.get("type").and_then(Value::as_str).unwrap_or("");
        host::check_host_path(&path, kind).map_err(fail)?;
        return Ok(path);
    }
    if let Some(c) = volume.get("persistentVolumeClaim") {
        let claim = c.get("claimName").and_then(Value::as_str).unwrap_or("");
        return sources
            .pvc_paths
            .get(claim)
            .cloned()
            .ok_or_else(|| fail(format!("persistentvolumeclaim \"{claim}\" not bound")));
    }
    let dir = root.join(name);
    let ensure = |mode: u32| -> Result<(), VolumeError> {
        std::fs::create_dir_all(root).map_err(|e| io_err(name, "create volumes directory", e))?;
        host::ensure_dir(&dir, mode).map_err(|e| io_err(name, "create volume directory", e))
    };
    if let Some(e) = volume.get("emptyDir") {
        ensure(host::EMPTY_DIR_MODE)?;
        match e.get("medium").and_then(Value::as_str).unwrap_or("") {
            "" => {}
            "Memory" => {
                let size = match e.get("sizeLimit") {
                    Some(q) => Some(
                        crate::api::quantity::Quantity::from_json(q)
                            .map_err(fail)?
                            .value()
                            .clamp(0, u64::MAX as i128) as u64,
                    ),
                    None => None,
                };
                host::ensure_tmpfs(&dir, size, host::EMPTY_DIR_MODE)
                    .map_err(|e| io_err(name, "mount tmpfs", e))?;
            }
            other => return Err(fail(format!("emptyDir medium {other:?} is not supported"))),
        }
        if let Some(gid) = fs_group {
            host::own_dir(&dir, gid).map_err(|e| io_err(name, "set fsGroup ownership", e))?;
        }
        return Ok(dir);
    }
    let payload = if let Some(s) = volume.get("configMap") {
        payload::key_volume(name, s, false, sources)?
    } else if let Some(s) = volume.get("secret") {
        let p = payload::key_volume(name, s, true, sources)?;
        // Secrets never touch the disk: the volume is a tmpfs, as the kubelet makes it.
        ensure(host::EMPTY_DIR_MODE)?;
        host::ensure_tmpfs(&dir, None, host::EMPTY_DIR_MODE)
            .map_err(|e| io_err(name, "mount tmpfs", e))?;
        p
    } else if let Some(s) = volume.get("downwardAPI") {
        payload::downward_api(name, s, pod, sources, root.parent().unwrap_or(root))?
    } else if let Some(s) = volume.get("projected") {
        payload::projected(name, s, pod, sources, root.parent().unwrap_or(root))?
    } else {
        return Err(fail(format!(
            "volume type is not supported by peapod (supported: {})",
            SUPPORTED.join(", ")
        )));
    };
    ensure(host::EMPTY_DIR_MODE)?;
    if let Some(gid) = fs_group {
        host::own_dir(&dir, gid).map_err(|e| io_err(name, "set fsGroup ownership", e))?;
    }
    atomic::write(&dir, &payload, fs_group).map_err(|e| io_err(name, "write volume files", e))?;
    Ok(dir)
}

/// Volume types peapod sets up.
pub const SUPPORTED: &[&str] = &[
    "emptyDir",
    "hostPath",
    "configMap",
    "secret",
    "downwardAPI",
    "projected",
    "persistentVolumeClaim",
];

impl PodVolumes {
    /// The runtime mounts for one container's volumeMounts, in order.
    pub fn mounts(&self, pod: &Value, container: &Value) -> Result<Vec<Mount>, VolumeError> {
        subpath::mounts(self, pod, container)
    }
}

/// Unmounts every tmpfs under `<pod_dir>/volumes` and removes the directory.
pub fn cleanup(pod_dir: &Path) -> std::io::Result<()> {
    let root = pod_dir.join(VOLUMES_DIR);
    let root = match std::fs::canonicalize(&root) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    host::unmount_all(&root)?;
    // Never remove through a mount that is still there.
    if !host::mounts_under(&root)?.is_empty() {
        return Err(std::io::Error::other(format!(
            "{} still has mounts",
            root.display()
        )));
    }
    match std::fs::remove_dir_all(&root) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
