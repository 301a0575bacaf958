//! The Linux pod runtime: cgroups, the pod sandbox (shared namespaces) and container
//! processes. Knows only api types; the node agent drives it.

pub mod cgroup;
pub mod container;
pub mod logs;
pub mod mountinfo;
pub mod sandbox;
pub mod shim;
