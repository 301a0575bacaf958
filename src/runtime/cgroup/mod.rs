//! Cgroups for pods and containers: a peapod parent cgroup, one cgroup per pod below it and one
//! per container below that, on cgroup v1, v2 and the hybrid layout (v1 controllers plus a
//! cgroup2 mount without them).
//!
//! Plain file I/O on the cgroup filesystem, blocking and without an async runtime, so the node
//! agent and the per-pod shim can both use it. Why not cgroups-rs: it pulls zbus and an async
//! stack (31 crates peapod does not have, plus a second nix), does not report OOM kills on v2,
//! and panics on unexpected file contents; the interface needed here is a dozen files.
//!
//! Layout of the tree (paths relative to each hierarchy's root, as /proc/PID/cgroup shows):
//! `/<parent>/pod<uid>/ctr-<container>`. On v2 a pod cgroup delegates its controllers to its
//! children, and the kernel then keeps processes out of it: every process, the shim included,
//! goes into a container-level cgroup.
//!
//! This module never signals a process: [`Cgroup::remove`] refuses while processes remain and
//! names them, and the caller stops its own processes first.

mod group;
pub mod layout;
pub mod resources;
#[cfg(test)]
mod tests;

pub use group::{Cgroup, ProcsPaths, Usage};
pub use layout::{Controller, Layout, Version};
pub use resources::{
    DEFAULT_CPU_PERIOD_US, DEFAULT_POD_PIDS_LIMIT, K8sResources, Resources, milli_to_quota,
    milli_to_shares, shares_to_weight,
};

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// Why a cgroup operation failed; every message names the cgroup or file involved.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", busy_message(cgroup, pids))]
    Busy { cgroup: String, pids: Vec<i32> },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

impl CgroupError {
    pub(crate) fn io(action: &str, path: &Path, source: std::io::Error) -> CgroupError {
        CgroupError::Io {
            action: action.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }
}

fn busy_message(cgroup: &str, pids: &[i32]) -> String {
    if pids.is_empty() {
        return format!(
            "cgroup {cgroup} is still busy: its processes are exiting; reap them and remove it again"
        );
    }
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    format!(
        "cgroup {cgroup} still has processes {}: stop them before removing it",
        list.join(", ")
    )
}

/// peapod's cgroup tree: where it is and how new pods are limited.
#[derive(Debug, Clone)]
pub struct Cgroups {
    layout: Layout,
    parent: PathBuf,
    pod_pids_limit: Option<i64>,
}

impl Cgroups {
    pub const DEFAULT_PARENT: &'static str = "peapod";

    /// The tree under `parent` (relative to each hierarchy root, e.g. `peapod` or
    /// `system.slice/peapod`), on the layout this process sees. Creates nothing yet.
    pub fn new(parent: &str) -> Result<Cgroups, CgroupError> {
        Cgroups::with_layout(Layout::detect()?, parent)
    }

    pub fn with_layout(layout: Layout, parent: &str) -> Result<Cgroups, CgroupError> {
        let parts: Vec<&str> = parent.split('/').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return Err(CgroupError::Invalid(format!(
                "cgroup parent {parent:?} is empty: name a cgroup such as \"peapod\""
            )));
        }
        for p in &parts {
            check_name("cgroup parent", parent, p)?;
        }
        Ok(Cgroups {
            layout,
            parent: parts.iter().collect(),
            pod_pids_limit: Some(DEFAULT_POD_PIDS_LIMIT),
        })
    }

    /// The pids limit every new pod cgroup starts with (`None`: unlimited).
    pub fn with_pod_pids_limit(mut self, limit: Option<i64>) -> Cgroups {
        self.pod_pids_limit = limit;
        self
    }

    pub fn pod_pids_limit(&self) -> Option<i64> {
        self.pod_pids_limit
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn version(&self) -> Version {
        self.layout.version
    }

    /// The parent cgroup itself (not created by this call).
    pub fn parent(&self) -> Cgroup {
        Cgroup::new(self.layout.clone(), self.parent.clone())
    }

    /// Creates the pod's cgroup (and the parent) in every hierarchy, with the pod pids limit
    /// already in place so nothing started in it can exhaust the host's pids.
    pub fn pod(&self, pod_uid: &str) -> Result<PodCgroup, CgroupError> {
        let pod = self.open_pod(pod_uid)?;
        pod.cg.create(true)?;
        if self.pod_pids_limit.is_some() {
            pod.cg.set_pids_limit(self.pod_pids_limit)?;
        }
        Ok(pod)
    }

    /// A handle on a pod's cgroup without creating it: for re-adopting running pods and for
    /// removing what a previous run left.
    pub fn open_pod(&self, pod_uid: &str) -> Result<PodCgroup, CgroupError> {
        check_name("pod uid", pod_uid, pod_uid)?;
        Ok(PodCgroup {
            cg: self.parent().child(&format!("pod{pod_uid}")),
            uid: pod_uid.to_string(),
        })
    }

    /// The uids of the pods that have a cgroup under the parent, sorted.
    pub fn pod_uids(&self) -> Result<Vec<String>, CgroupError> {
        let dir = self.parent().dir(Controller::Pids);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CgroupError::io("list", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CgroupError::io("list", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(uid) = name.strip_prefix("pod")
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                out.push(uid.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A pod's cgroup; derefs to [`Cgroup`] for limits, usage, OOM kills and removal (which takes
/// the container cgroups with it).
#[derive(Debug, Clone)]
pub struct PodCgroup {
    cg: Cgroup,
    uid: String,
}

impl PodCgroup {
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Creates the container's cgroup below the pod (every hierarchy).
    pub fn container(&self, name: &str) -> Result<ContainerCgroup, CgroupError> {
        let c = self.open_container(name)?;
        c.cg.create(false)?;
        Ok(c)
    }

    /// A handle on a container's cgroup without creating it.
    pub fn open_container(&self, name: &str) -> Result<ContainerCgroup, CgroupError> {
        check_name("container name", name, name)?;
        // The prefix keeps a container named like a cgroup file (`tasks`) from colliding.
        Ok(ContainerCgroup {
            cg: self.cg.child(&format!("ctr-{name}")),
            name: name.to_string(),
        })
    }
}

impl Deref for PodCgroup {
    type Target = Cgroup;
    fn deref(&self) -> &Cgroup {
        &self.cg
    }
}

/// A container's cgroup: where its processes live.
#[derive(Debug, Clone)]
pub struct ContainerCgroup {
    cg: Cgroup,
    name: String,
}

impl ContainerCgroup {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Deref for ContainerCgroup {
    type Target = Cgroup;
    fn deref(&self) -> &Cgroup {
        &self.cg
    }
}

/// One path component: no separators, no dot names, nothing the kernel would read specially.
fn check_name(what: &str, whole: &str, part: &str) -> Result<(), CgroupError> {
    let ok = !part.is_empty()
        && part.len() <= 200
        && !part.starts_with('.')
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':'));
    if ok {
        Ok(())
    } else {
        Err(CgroupError::Invalid(format!(
            "{what} {whole:?} cannot name a cgroup: use letters, digits, '-', '_', '.', '@' or ':' (not starting with '.')"
        )))
    }
}
