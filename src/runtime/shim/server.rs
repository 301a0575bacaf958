//! The shim process itself (no async runtime).

use std::path::Path;

/// Entry point of `peapod shim <pod-dir>`: returns the process exit code.
pub fn run(pod_dir: &Path) -> i32 {
    let _ = pod_dir;
    todo!()
}
