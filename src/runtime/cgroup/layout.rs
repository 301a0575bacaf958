//! Where the cgroup hierarchies are: read from /proc/self/mountinfo, never guessed.
//!
//! Three layouts exist in the wild:
//! - unified (v2): one `cgroup2` mount, usually /sys/fs/cgroup, holding every controller;
//! - legacy (v1): one `cgroup` mount per controller (or per co-mounted group such as
//!   `cpu,cpuacct`);
//! - hybrid: the v1 mounts plus a `cgroup2` mount (often /sys/fs/cgroup/unified) that holds no
//!   resource controller we need (on this host it lists only hugetlb). That is v1 for us: the
//!   controllers we use live on the v1 mounts, and the v2 mount is ignored (crun trips over
//!   exactly this; runc treats it as v1, as we do).
//!
//! The rule: if any v1 mount carries one of our controllers, the layout is v1 and all of them
//! must be on v1 mounts; otherwise a `cgroup2` mount (preferring /sys/fs/cgroup) is v2.

use super::CgroupError;
use crate::runtime::mountinfo::unescape;
use std::path::{Path, PathBuf};

/// The cgroup API generation in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The four controllers peapod uses. cpuacct only exists on v1 (v2 reports usage in cpu.stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    Cpu,
    Cpuacct,
    Memory,
    Pids,
}

impl Controller {
    pub const ALL: [Controller; 4] = [
        Controller::Cpu,
        Controller::Cpuacct,
        Controller::Memory,
        Controller::Pids,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuacct => "cpuacct",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
        }
    }
}

/// The mount point of each controller's hierarchy. On v2 all four are the same directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub version: Version,
    pub cpu: PathBuf,
    pub cpuacct: PathBuf,
    pub memory: PathBuf,
    pub pids: PathBuf,
}

impl Layout {
    /// The layout this process sees.
    pub fn detect() -> Result<Layout, CgroupError> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|e| CgroupError::io("read", path, e))?;
        Layout::from_mountinfo(&text)
    }

    /// The layout described by a mountinfo text (proc(5) format); testable with a fake text.
    pub fn from_mountinfo(text: &str) -> Result<Layout, CgroupError> {
        let mounts: Vec<Mount> = text.lines().filter_map(parse_line).collect();
        let v1_root = |c: Controller| -> Option<PathBuf> {
            let all: Vec<&Mount> = mounts
                .iter()
                .filter(|m| m.fs_type == "cgroup" && m.options.iter().any(|o| o == c.name()))
                .collect();
            // A hierarchy may be mounted more than once (bind mounts); its real root is best.
            all.iter()
                .find(|m| m.root == "/")
                .or(all.first())
                .map(|m| m.mount_point.clone())
        };
        let v1: Vec<(Controller, Option<PathBuf>)> =
            Controller::ALL.iter().map(|&c| (c, v1_root(c))).collect();
        if v1.iter().any(|(_, p)| p.is_some()) {
            let missing: Vec<&str> = v1
                .iter()
                .filter(|(_, p)| p.is_none())
                .map(|(c, _)| c.name())
                .collect();
            if !missing.is_empty() {
                return Err(CgroupError::Unsupported(format!(
                    "cgroup v1 is in use but controller(s) {} are not mounted (see /proc/self/mountinfo): mount them under /sys/fs/cgroup or boot with cgroup v2",
                    missing.join(", ")
                )));
            }
            let get = |c: Controller| {
                v1.iter()
                    .find(|(x, _)| *x == c)
                    .and_then(|(_, p)| p.clone())
                    .unwrap_or_default()
            };
            return Ok(Layout {
                version: Version::V1,
                cpu: get(Controller::Cpu),
                cpuacct: get(Controller::Cpuacct),
                memory: get(Controller::Memory),
                pids: get(Controller::Pids),
            });
        }
        let v2: Vec<&Mount> = mounts.iter().filter(|m| m.fs_type == "cgroup2").collect();
        let chosen = v2
            .iter()
            .find(|m| m.mount_point == Path::new("/sys/fs/cgroup"))
            .or(v2.first());
        match chosen {
            Some(m) => Ok(Layout::v2(m.mount_point.clone())),
            None => Err(CgroupError::Unsupported(
                "no cgroup filesystem is mounted (no cgroup or cgroup2 entry in /proc/self/mountinfo): mount cgroup2 at /sys/fs/cgroup".to_string(),
            )),
        }
    }

    /// A unified layout rooted at `root`.
    pub fn v2(root: PathBuf) -> Layout {
        Layout {
            version: Version::V2,
            cpu: root.clone(),
            cpuacct: root.clone(),
            memory: root.clone(),
            pids: root,
        }
    }

    /// The hierarchy mount point of `c`.
    pub fn root(&self, c: Controller) -> &Path {
        match c {
            Controller::Cpu => &self.cpu,
            Controller::Cpuacct => &self.cpuacct,
            Controller::Memory => &self.memory,
            Controller::Pids => &self.pids,
        }
    }

    /// The distinct hierarchy roots (co-mounted v1 controllers and v2 share one), in
    /// Controller::ALL order.
    pub fn roots(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for c in Controller::ALL {
            let r = self.root(c);
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

struct Mount {
    root: String,
    mount_point: PathBuf,
    fs_type: String,
    options: Vec<String>,
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`: fields 4
/// and 5 are root and mount point, then optional fields up to `-`, then type, source and the
/// super options (where v1 names its controllers).
fn parse_line(line: &str) -> Option<Mount> {
    let (pre, post) = line.split_once(" - ")?;
    let pre: Vec<&str> = pre.split(' ').collect();
    let post: Vec<&str> = post.split(' ').collect();
    if pre.len() < 5 || post.len() < 3 {
        return None;
    }
    Some(Mount {
        root: unescape(pre[3]),
        mount_point: PathBuf::from(unescape(pre[4])),
        fs_type: post[0].to_string(),
        options: post[2].split(',').map(str::to_string).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This host's layout: one v1 mount per controller plus a cgroup2 mount listing hugetlb.
    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_host_is_v1_and_ignores_the_unified_mount() {
        let l = Layout::from_mountinfo(HYBRID).unwrap();
        assert_eq!(l.version, Version::V1);
        assert_eq!(l.cpu, Path::new("/sys/fs/cgroup/cpu"));
        assert_eq!(l.cpuacct, Path::new("/sys/fs/cgroup/cpuacct"));
        assert_eq!(l.memory, Path::new("/sys/fs/cgroup/memory"));
        assert_eq!(l.pids, Path::new("/sys/fs/cgroup/pids"));
        assert_eq!(l.roots().len(), 4);
    }

    #[test]
    fn systemd_v1_comounts_cpu_and_cpuacct() {
        let text = "\
25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd
30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
";
        let l = Layout::from_mountinfo(text).unwrap();
        assert_eq!(l.version, Version::V1);
        assert_eq!(l.cpu, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(l.cpuacct, l.cpu);
        assert_eq!(l.roots().len(), 3);
    }

    #[test]
    fn unified_host_is_v2() {
        let text = "\
22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw
25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
        let l = Layout::from_mountinfo(text).unwrap();
        assert_eq!(l.version, Version::V2);
        assert_eq!(l.memory, Path::new("/sys/fs/cgroup"));
        assert_eq!(l.roots(), vec![Path::new("/sys/fs/cgroup")]);
    }

    #[test]
    fn v2_prefers_sys_fs_cgroup_over_other_cgroup2_mounts() {
        let text = "\
40 1 0:40 / /run/other rw - cgroup2 cgroup2 rw
41 1 0:41 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
";
        assert_eq!(
            Layout::from_mountinfo(text).unwrap().cpu,
            Path::new("/sys/fs/cgroup")
        );
    }

    #[test]
    fn missing_v1_controller_is_named() {
        let text = "\
32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let e = Layout::from_mountinfo(text).unwrap_err().to_string();
        assert!(e.contains("pids"), "{e}");
        assert!(!e.contains("memory"), "{e}");
    }

    #[test]
    fn nothing_mounted_is_a_clear_error() {
        let text = "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n";
        let e = Layout::from_mountinfo(text).unwrap_err().to_string();
        assert!(e.contains("no cgroup filesystem"), "{e}");
    }

    #[test]
    fn a_bind_mounted_subtree_loses_to_the_real_root_and_escapes_are_decoded() {
        let text = "\
50 1 0:29 /some/sub /mnt/cpu\\040sub rw - cgroup cgroup rw,cpu,cpuacct
51 1 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct
52 1 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
53 1 0:33 / /mnt/pids\\040dir rw - cgroup cgroup rw,pids
";
        let l = Layout::from_mountinfo(text).unwrap();
        assert_eq!(l.cpu, Path::new("/sys/fs/cgroup/cpu"));
        assert_eq!(l.pids, Path::new("/mnt/pids dir"));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let text = "nonsense\n1 2 3 - \n\n35 31 0:32 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(Layout::from_mountinfo(text).unwrap().version, Version::V2);
    }
}
