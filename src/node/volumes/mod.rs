//! Pod volumes on the host, shared by the pod's containers: emptyDir (disk, or tmpfs for
//! medium Memory with sizeLimit), hostPath (with type checks), configMap, secret (tmpfs,
//! readable only by the pod's user), downwardAPI, projected, persistentVolumeClaim (a bound
//! PV's local directory). They live under `<pod-dir>/volumes/<name>`; `mounts` turns a
//! container's volumeMounts (subPath, readOnly) into runtime mounts; `cleanup` unmounts and
//! removes everything.

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
    let _ = (pod, pod_dir, sources);
    todo!()
}

impl PodVolumes {
    /// The runtime mounts for one container's volumeMounts, in order.
    pub fn mounts(&self, pod: &Value, container: &Value) -> Result<Vec<Mount>, VolumeError> {
        let _ = (pod, container);
        todo!()
    }
}

/// Unmounts every tmpfs under `<pod_dir>/volumes` and removes the directory.
pub fn cleanup(pod_dir: &Path) -> std::io::Result<()> {
    let _ = pod_dir;
    todo!()
}
