//! securityContext (pod and container level) to the runtime's user and security settings.

use crate::runtime::container::{Capabilities, User};
use serde_json::Value;
use std::path::Path;

mod passwd;

pub use passwd::{GroupEntry, PasswdEntry, read_layered};

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
/// (or a non-numeric image user it cannot verify) fails with the kubelet's message, e.g.
/// `container has runAsNonRoot and image will run as root (pod: "web_shop(uid)", container: c)`.
/// allowPrivilegeEscalation false sets no_new_privs (true when unset unless privileged or
/// CAP_SYS_ADMIN is added, as Kubernetes defaults it).
///
/// The runAsNonRoot messages are the kubelet's three (verifyRunAsNonRoot), naming the pod as
/// the kubelet does, `"name_namespace(uid)"`:
/// - runAsUser 0: `container's runAsUser breaks non-root policy (pod: ..., container: c)`;
/// - image user root or unset: `container has runAsNonRoot and image will run as root (...)`;
/// - image user a name: `container has runAsNonRoot and image has non-numeric user (NAME),
///   cannot verify user is non-root (...)`.
///
/// The user follows containerd: a numeric uid without a group takes the gid of its
/// /etc/passwd entry (0 without one); the additional groups are the primary gid, the
/// user's /etc/group memberships (skipped with supplementalGroupsPolicy Strict), fsGroup,
/// then supplementalGroups, without repeats. An image `uid:gid` keeps its gid unless
/// runAsGroup is set.
pub fn security(
    pod: &Value,
    container: &Value,
    image_user: Option<&str>,
    layers_topmost_first: &[&Path],
) -> Result<Security, String> {
    let psc = &pod["spec"]["securityContext"];
    let csc = &container["securityContext"];
    let cname = container["name"].as_str().unwrap_or_default();
    // Container level first, then pod level (DetermineEffectiveSecurityContext).
    let pick = |field: &str| match &csc[field] {
        Value::Null => &psc[field],
        v => v,
    };
    let id = |field: &str| -> Result<Option<u32>, String> {
        match pick(field) {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    format!("container {cname}: securityContext.{field} {v} is not a valid id")
                }),
        }
    };
    let run_as_user = id("runAsUser")?;
    let run_as_group = id("runAsGroup")?;
    let image_user = image_user.unwrap_or_default().trim();

    if pick("runAsNonRoot").as_bool() == Some(true) {
        verify_non_root(pod, cname, run_as_user, image_user)?;
    }

    let (user_part, image_group) = match image_user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (image_user, None),
    };
    // What containerd resolves: the uid or name, and the group when one is given.
    let (user, group) = match run_as_user {
        Some(uid) => (uid.to_string(), run_as_group.map(|g| g.to_string())),
        None => {
            let user = if user_part.is_empty() { "0" } else { user_part };
            let group = run_as_group
                .map(|g| g.to_string())
                .or_else(|| image_group.filter(|g| !g.is_empty()).map(str::to_string));
            (user.to_string(), group)
        }
    };

    let files = passwd::Files::new(layers_topmost_first);
    let (uid, name, passwd_gid) = match user.parse::<u32>() {
        Ok(uid) => {
            let entry = files.passwd()?.into_iter().find(|e| e.uid == uid);
            (
                uid,
                entry.as_ref().map(|e| e.name.clone()),
                entry.map(|e| e.gid),
            )
        }
        Err(_) => {
            let entry = files
                .passwd()?
                .into_iter()
                .find(|e| e.name == user)
                .ok_or_else(|| {
                    format!("unable to find user {user}: no matching entries in passwd file")
                })?;
            (entry.uid, Some(entry.name), Some(entry.gid))
        }
    };
    let gid = match &group {
        None => passwd_gid.unwrap_or(0),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => files
                .group()?
                .into_iter()
                .find(|e| &e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                })?,
        },
    };

    let mut groups: Vec<u32> = Vec::new();
    let mut push = |g: u32| {
        if !groups.contains(&g) {
            groups.push(g);
        }
    };
    if psc["supplementalGroupsPolicy"].as_str() != Some("Strict") {
        push(gid);
        if let Some(name) = &name {
            for g in files.group()? {
                // containerd takes only supplementary groups: not the user's own-named group.
                if &g.name != name && g.members.iter().any(|m| m == name) {
                    push(g.gid);
                }
            }
        }
    }
    let as_gid = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    if let Some(fs_group) = as_gid(&psc["fsGroup"]) {
        push(fs_group);
    }
    for g in psc["supplementalGroups"].as_array().into_iter().flatten() {
        if let Some(g) = as_gid(g) {
            push(g);
        }
    }

    let names = |field: &str| -> Vec<String> {
        csc["capabilities"][field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect()
    };
    Ok(Security {
        user: User {
            uid,
            gid,
            additional_gids: groups,
        },
        capabilities: Capabilities {
            add: names("add"),
            drop: names("drop"),
        },
        privileged: csc["privileged"].as_bool().unwrap_or(false),
        // AddNoNewPrivileges: only an explicit false sets it (the API server rejects false
        // together with privileged or CAP_SYS_ADMIN).
        no_new_privs: csc["allowPrivilegeEscalation"].as_bool() == Some(false),
        readonly_rootfs: csc["readOnlyRootFilesystem"].as_bool().unwrap_or(false),
    })
}

/// The kubelet's verifyRunAsNonRoot. Only the uid is checked: runAsUser, else the image's
/// user (no user at all means root).
fn verify_non_root(
    pod: &Value,
    container: &str,
    run_as_user: Option<u32>,
    image_user: &str,
) -> Result<(), String> {
    let meta = &pod["metadata"];
    let text = |f: &str| meta[f].as_str().unwrap_or_default().to_string();
    // format.Pod: name_namespace(uid), printed with %q.
    let who = format!(
        "(pod: {:?}, container: {container})",
        format!("{}_{}({})", text("name"), text("namespace"), text("uid"))
    );
    match run_as_user {
        Some(0) => Err(format!(
            "container's runAsUser breaks non-root policy {who}"
        )),
        Some(_) => Ok(()),
        None => {
            let user = image_user.split(':').next().unwrap_or_default();
            match user.parse::<u64>() {
                Ok(0) => Err(format!(
                    "container has runAsNonRoot and image will run as root {who}"
                )),
                Ok(_) => Ok(()),
                Err(_) if user.is_empty() => Err(format!(
                    "container has runAsNonRoot and image will run as root {who}"
                )),
                Err(_) => Err(format!(
                    "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root {who}"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests;
