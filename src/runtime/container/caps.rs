//! Capability names and the set a container gets: containerd's default 14, plus
//! securityContext add, minus drop; everything when privileged.

/// Capability names by number (linux/capability.h), without the `CAP_` prefix.
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The capabilities containerd (and Docker) give a non-privileged container.
pub const DEFAULT: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Number of a capability named as Kubernetes does (`NET_ADMIN`) or with the prefix
/// (`CAP_NET_ADMIN`), in any case.
pub fn number(name: &str) -> Option<u32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// Mask of every capability up to `last_cap` (/proc/sys/kernel/cap_last_cap).
pub fn all(last_cap: u32) -> u64 {
    if last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (last_cap + 1)) - 1
    }
}

pub fn default_set() -> u64 {
    DEFAULT
        .iter()
        .filter_map(|n| number(n))
        .fold(0, |m, c| m | 1 << c)
}

/// The container's bounding set as containerd computes it: privileged gets everything;
/// otherwise `add: [ALL]` starts from everything and `drop: [ALL]` from nothing, then the
/// named adds are added and the named drops removed (a capability both added and dropped is
/// dropped). Unknown names are an error naming the field.
pub fn container_set(
    add: &[String],
    drop: &[String],
    privileged: bool,
    last_cap: u32,
) -> Result<u64, String> {
    let everything = all(last_cap);
    if privileged {
        return Ok(everything);
    }
    let is_all = |n: &String| n.trim().eq_ignore_ascii_case("ALL");
    let mut set = default_set();
    if add.iter().any(is_all) {
        set = everything;
    }
    if drop.iter().any(is_all) {
        set = 0;
    }
    for (field, names) in [("add", add), ("drop", drop)] {
        for (i, name) in names.iter().enumerate().filter(|(_, n)| !is_all(n)) {
            let Some(c) = number(name) else {
                return Err(format!(
                    "securityContext.capabilities.{field}[{i}]: unknown capability {name:?} (expected a name such as NET_ADMIN)"
                ));
            };
            if field == "add" {
                set |= 1 << c;
            } else {
                set &= !(1u64 << c);
            }
        }
    }
    Ok(set & everything)
}

/// Names of the capabilities in a mask, for messages and tests.
pub fn names(mask: u64) -> Vec<&'static str> {
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// This kernel's highest capability number.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_set_is_dockers_a80425fb() {
        // The CapEff every Docker/containerd root container shows.
        assert_eq!(default_set(), 0xa804_25fb);
        assert_eq!(names(default_set()).len(), 14);
    }

    #[test]
    fn names_parse_with_or_without_prefix() {
        assert_eq!(number("NET_ADMIN"), Some(12));
        assert_eq!(number("cap_net_admin"), Some(12));
        assert_eq!(number("CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(number("NET_ADMINS"), None);
    }

    #[test]
    fn add_and_drop_change_the_default_set() {
        let set = container_set(&strings(&["NET_ADMIN"]), &strings(&["CHOWN"]), false, 40).unwrap();
        assert_eq!(set, 0xa804_35fa);
        // Dropped wins over added.
        let set = container_set(
            &strings(&["SYS_ADMIN"]),
            &strings(&["SYS_ADMIN"]),
            false,
            40,
        )
        .unwrap();
        assert_eq!(set, default_set());
    }

    #[test]
    fn all_in_drop_and_add() {
        assert_eq!(
            container_set(
                &strings(&["NET_BIND_SERVICE"]),
                &strings(&["ALL"]),
                false,
                40
            )
            .unwrap(),
            1 << 10
        );
        assert_eq!(
            container_set(&strings(&["ALL"]), &[], false, 40).unwrap(),
            all(40)
        );
        assert_eq!(container_set(&[], &[], true, 40).unwrap(), all(40));
        assert_eq!(all(40), 0x1ff_ffff_ffff);
    }

    #[test]
    fn unknown_capability_names_the_field() {
        let err = container_set(&[], &strings(&["CHOWN", "NOPE"]), false, 40).unwrap_err();
        assert!(
            err.contains("capabilities.drop[1]") && err.contains("\"NOPE\""),
            "{err}"
        );
    }

    #[test]
    fn set_is_clipped_to_the_kernel() {
        assert_eq!(
            container_set(&strings(&["CHECKPOINT_RESTORE"]), &[], false, 39).unwrap(),
            default_set()
        );
    }
}
