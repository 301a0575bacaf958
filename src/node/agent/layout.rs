//! Where a pod's files live under the state directory.

use std::path::{Path, PathBuf};

/// `<state>/pods/<uid>/`: the shim's socket and exit records (see runtime::shim), volumes,
/// per-run container root filesystems, the managed /etc files and the pod's /dev/shm.
#[derive(Debug, Clone)]
pub struct PodLayout {
    pub dir: PathBuf,
}

impl PodLayout {
    pub fn new(state_dir: &Path, uid: &str) -> PodLayout {
        PodLayout {
            dir: state_dir.join("pods").join(uid),
        }
    }

    /// Upper, work and mount-point directories of one container run.
    pub fn rootfs(&self, container: &str, attempt: u32) -> PathBuf {
        self.dir
            .join("rootfs")
            .join(container)
            .join(attempt.to_string())
    }

    pub fn rootfs_of(&self, container: &str) -> PathBuf {
        self.dir.join("rootfs").join(container)
    }

    pub fn etc(&self) -> PathBuf {
        self.dir.join("etc")
    }

    pub fn shm(&self) -> PathBuf {
        self.dir.join("shm")
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join(crate::runtime::shim::SOCKET)
    }
}
