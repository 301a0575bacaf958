//! securityContext (pod and container level) to the runtime's user and security settings.

use crate::runtime::container::{Capabilities, User};
use serde_json::Value;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    pub user: User,
    pub capabilities: Capabilities,
    pub privileged: bool,
    pub no_new_privs: bool,
    pub readonly_rootfs: bool,
}

/// Container settings override pod settings. The user comes from runAsUser/runAsGroup, else
/// the image's `User` (name or uid[:gid], names resolved in `rootfs`'s /etc/passwd and
/// /etc/group, the layers given topmost first); supplementalGroups and fsGroup become
/// additional groups, as do the user's groups from /etc/group. runAsNonRoot with uid 0
/// (or a non-numeric image user it cannot verify) fails with the kubelet's message
/// `container has runAsNonRoot and image will run as root (pod: "ns/name", container: c)`.
/// allowPrivilegeEscalation false sets no_new_privs (true when unset unless privileged or
/// CAP_SYS_ADMIN is added, as Kubernetes defaults it).
pub fn security(
    pod: &Value,
    container: &Value,
    image_user: Option<&str>,
    layers_topmost_first: &[&Path],
) -> Result<Security, String> {
    let _ = (pod, container, image_user, layers_topmost_first);
    todo!()
}
