//! `exec_in`: start another process inside a running container (`peapod exec`, exec probes,
//! hooks). It joins the container's cgroups and all its namespaces and takes its user and
//! capabilities from the container's main process, as read from /proc.

use super::plan::{self, Op, Plan, Process, host_path};
use super::{Child, Error, Rlimit, Stdio, caps, launch, sys, sys_err};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

/// What to run inside the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecSpec {
    pub argv: Vec<String>,
    /// "NAME=value" entries; pass the container's environment for kubectl-exec behaviour.
    pub env: Vec<String>,
    /// Absolute working directory in the container; "" is /.
    pub cwd: String,
    /// stdin is a terminal (a pty slave the caller allocated): it becomes the controlling tty.
    pub tty: bool,
    /// The container's limits (the caller knows its spec); none keeps the caller's.
    pub rlimits: Vec<Rlimit>,
}

/// User and capabilities of a process, from /proc/<pid>/status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub bounding: u64,
    pub inheritable: u64,
    pub no_new_privs: bool,
}

impl Identity {
    pub fn parse(status: &str) -> Option<Identity> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
                .map(str::trim)
        };
        // Effective ids: the second of "real effective saved fs".
        let id = |name: &str| field(name)?.split_whitespace().nth(1)?.parse::<u32>().ok();
        let mask = |name: &str| u64::from_str_radix(field(name)?, 16).ok();
        let groups = field("Groups")?
            .split_whitespace()
            .map(|g| g.parse::<u32>().ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Identity {
            uid: id("Uid")?,
            gid: id("Gid")?,
            groups,
            bounding: mask("CapBnd")?,
            inheritable: mask("CapInh")?,
            no_new_privs: field("NoNewPrivs").is_some_and(|v| v == "1"),
        })
    }
}

/// Undoes mountinfo's octal escapes (`\040` is a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The cgroup.procs files to write to move a process into `target`'s cgroups (the contents
/// of /proc/<pid>/cgroup), skipping hierarchies where `own` (ours) is already the same. Each
/// hierarchy is found in `mountinfo`: cgroup2 for "0::", else the cgroup v1 mount whose
/// options list the line's controllers.
pub(crate) fn cgroup_procs_files(target: &str, own: &str, mountinfo: &str) -> Vec<PathBuf> {
    struct CgMount<'a> {
        root: String,
        point: String,
        v2: bool,
        opts: Vec<&'a str>,
    }
    let mounts: Vec<CgMount<'_>> = mountinfo
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<_> = pre.split(' ').collect();
            let post: Vec<_> = post.split(' ').collect();
            let fstype = *post.first()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(CgMount {
                root: unescape(pre.get(3)?),
                point: unescape(pre.get(4)?),
                v2: fstype == "cgroup2",
                opts: post.get(2)?.split(',').collect(),
            })
        })
        .collect();
    let own: Vec<&str> = own.lines().collect();
    let mut files = Vec::new();
    for line in target.lines() {
        if own.contains(&line) {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let found = mounts.iter().find(|m| {
            if id == "0" && controllers.is_empty() {
                m.v2
            } else {
                !m.v2 && controllers.split(',').all(|c| m.opts.contains(&c))
            }
        });
        let Some(m) = found else { continue };
        // A mount of a sub-tree (root != "/") shows paths below its root.
        let Some(rest) = path.strip_prefix(m.root.trim_end_matches('/')) else {
            continue;
        };
        let dir = PathBuf::from(&m.point).join(rest.trim_start_matches('/'));
        files.push(dir.join("cgroup.procs"));
    }
    files
}

fn not_running(pid: i32) -> Error {
    Error::Invalid(format!("container process {pid} is not running"))
}

/// Runs `spec` inside the container whose main process is `container_pid` (a process the
/// caller started with `spawn`). The caller is the new process's parent.
pub fn exec_in(container_pid: i32, spec: &ExecSpec, stdio: Stdio<'_>) -> Result<Child, Error> {
    // The pidfd pins the identity: if the container exits while we read /proc, we notice.
    let pidfd = sys::pidfd_open(container_pid).map_err(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => not_running(container_pid),
        _ => Error::Sys {
            context: format!("open container process {container_pid}"),
            source: e,
        },
    })?;
    let proc_dir = format!("/proc/{container_pid}");
    let read = |name: &str| {
        std::fs::read_to_string(format!("{proc_dir}/{name}"))
            .map_err(sys_err(format!("read {proc_dir}/{name}")))
    };
    let ns = |name: &str| {
        sys::open_path(&format!("{proc_dir}/ns/{name}"), libc::O_RDONLY)
            .map_err(sys_err(format!("open {proc_dir}/ns/{name}")))
    };
    let (net, ipc, uts, mnt, pid_ns) = (ns("net")?, ns("ipc")?, ns("uts")?, ns("mnt")?, ns("pid")?);
    let identity = Identity::parse(&read("status")?)
        .ok_or_else(|| Error::Invalid(format!("{proc_dir}/status: unexpected format")))?;
    let own_cgroup =
        std::fs::read_to_string("/proc/self/cgroup").map_err(sys_err("read /proc/self/cgroup"))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(sys_err("read /proc/self/mountinfo"))?;
    let cgroups = cgroup_procs_files(&read("cgroup")?, &own_cgroup, &mountinfo);
    if sys::pidfd_exited(pidfd.as_fd(), 0).map_err(sys_err("poll the container process"))? {
        return Err(not_running(container_pid));
    }

    let mut plan = Plan::default();
    for p in &cgroups {
        plan.push(
            Op::JoinCgroup(host_path(p, "cgroup")?),
            format!("join cgroup {}", p.display()),
        );
    }
    // The mount namespace last: after it, host paths are gone.
    for (fd, nstype, name) in [
        (&ipc, libc::CLONE_NEWIPC, "IPC"),
        (&uts, libc::CLONE_NEWUTS, "UTS"),
        (&net, libc::CLONE_NEWNET, "network"),
        (&mnt, libc::CLONE_NEWNS, "mount"),
    ] {
        plan.push(
            Op::Setns {
                fd: fd.as_raw_fd(),
                nstype,
            },
            format!("join the container's {name} namespace"),
        );
    }
    let devnull = sys::open_path("/dev/null", libc::O_RDWR).map_err(sys_err("open /dev/null"))?;
    let process = Process {
        argv: &spec.argv,
        env: &spec.env,
        cwd: &spec.cwd,
        tty: spec.tty,
        stdio: stdio.raw(&devnull),
        rlimits: &spec.rlimits,
        uid: identity.uid,
        gid: identity.gid,
        groups: &identity.groups,
        bounding: identity.bounding,
        inheritable: identity.inheritable,
        no_new_privs: identity.no_new_privs,
        last_cap: caps::last_cap(),
        own_caps: sys::own_permitted_caps().map_err(sys_err("read peapod's capabilities"))?,
    };
    plan::push_process(&mut plan, &process)?;
    launch(&plan, 0, Some(pid_ns.as_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_from_status() {
        let status = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t3000\t3000\t3000\t3000\n\
                      Groups:\t2000 4000 \nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
                      CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\n";
        let id = Identity::parse(status).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.groups.clone()),
            (1000, 3000, vec![2000, 4000])
        );
        assert_eq!(id.bounding, 0xa804_25fb);
        assert!(id.no_new_privs);
        assert!(Identity::parse("Name:\tsh\n").is_none());
    }

    #[test]
    fn cgroup_files_for_v1_hybrid_and_v2() {
        let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 31 0:39 /sub /mnt/cpu\\040set rw - cgroup cgroup rw,cpuset
";
        let target = "12:cpu:/peapod/p1/c1\n9:memory:/peapod/p1/c1\n1:name=systemd:/\n0::/peapod\n7:cpuset:/sub/x\n3:blkio:/y\n";
        let own = "12:cpu:/\n9:memory:/\n1:name=systemd:/\n0::/\n";
        let files = cgroup_procs_files(target, own, mountinfo);
        let files: Vec<_> = files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(
            files,
            [
                "/sys/fs/cgroup/cpu/peapod/p1/c1/cgroup.procs",
                "/sys/fs/cgroup/memory/peapod/p1/c1/cgroup.procs",
                "/sys/fs/cgroup/unified/peapod/cgroup.procs",
                "/mnt/cpu set/x/cgroup.procs",
            ],
            "systemd is already the same; blkio has no mount"
        );
    }
}
