//! Containers of a pod: spawn a process in its own mount namespace (and pid namespace unless
//! the pod shares one), joined to the pod sandbox's network, IPC and UTS namespaces, on an
//! overlay or directory rootfs, with the mounts, user, capabilities and limits of its spec.
//!
//! # Process structure
//!
//! The caller clones the container process directly (clone3 with CLONE_NEWNS, plus
//! CLONE_NEWPID unless `share_pid`), so the caller is its parent and waits for it with
//! waitpid; there is no intermediate process and no init of ours inside the container. With its
//! own pid namespace the container's command is pid 1 there, as in Kubernetes with runc: it
//! reaps its own orphans, and when it exits the kernel kills everything else in the
//! namespace. With `share_pid` the caller's thread first enters the sandbox's pid namespace
//! for its children only (setns(CLONE_NEWPID) changes `pid_for_children` of the calling
//! thread, restored right after the clone); the sandbox holder is pid 1 there and reaps
//! orphans. `exec_in` does the same with the container's pid namespace.
//!
//! # Setup in the child
//!
//! Everything is computed before the clone as a list of steps (plan.rs, mounts.rs): the child
//! (child.rs) only makes system calls, because it is a copy of a possibly multi-threaded
//! process and any allocation or lock there could deadlock. A failing step sends (step number,
//! errno) up a close-on-exec pipe and exits 127; the parent turns it into a message such as
//! `mount overlay on /x: Invalid argument` or `exec "/bin/nosuch": No such file or directory`.
//! EOF on the pipe means execve succeeded.

pub mod caps;
mod child;
mod exec;
mod mounts;
mod plan;
pub(crate) mod sys;
#[cfg(test)]
mod tests;

pub use exec::{ExecSpec, exec_in};

use crate::runtime::sandbox::Sandbox;
use plan::Plan;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;

/// Paths container runtimes hide from containers (runc/containerd defaults).
pub const DEFAULT_MASKED_PATHS: [&str; 6] = [
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// Paths container runtimes make read-only (runc/containerd defaults).
pub const DEFAULT_READONLY_PATHS: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Why a container did not start. `Invalid` and `Setup` are Kubernetes'
/// CreateContainerError, `Exec` its RunContainerError.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec cannot run on this host; nothing was started.
    #[error("{0}")]
    Invalid(String),
    /// A setup step in the new process failed (namespaces, mounts, user, capabilities).
    #[error("{0}")]
    Setup(String),
    /// execve failed: the program is missing or cannot be executed.
    #[error("{0}")]
    Exec(String),
    /// A system call in the calling process failed.
    #[error("{context}: {source}")]
    Sys { context: String, source: io::Error },
}

pub(crate) fn sys_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let context = context.into();
    move |source| Error::Sys { context, source }
}

/// The container's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rootfs {
    /// overlayfs; `lowerdirs[0]` is the uppermost (newest) layer, as in the kernel's
    /// lowerdir= list. Writes go to `upper`; `merged` is the (empty) mount point.
    Overlay {
        lowerdirs: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
        merged: PathBuf,
    },
    /// A directory used as is (bind-mounted onto itself).
    Dir(PathBuf),
}

/// Host files bound over the container's /etc files (the kubelet's managed files).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EtcFiles {
    pub hosts: Option<PathBuf>,
    pub hostname: Option<PathBuf>,
    pub resolv_conf: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MountKind {
    /// A recursive bind of `source`; `readonly` remounts the top mount read-only.
    Bind { readonly: bool },
    /// A fresh tmpfs (`source` is ignored); mode defaults to 1777, size to the kernel's half
    /// of RAM.
    Tmpfs {
        size: Option<u64>,
        mode: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mount {
    pub source: PathBuf,
    /// Absolute path in the container; created (directory or empty file) when missing.
    pub destination: PathBuf,
    pub kind: MountKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

/// securityContext.capabilities: names such as "NET_ADMIN" or "ALL".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
    pub add: Vec<String>,
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RlimitResource {
    Core,
    Cpu,
    Data,
    Fsize,
    Locks,
    Memlock,
    Msgqueue,
    Nice,
    Nofile,
    Nproc,
    Rss,
    Rtprio,
    Rttime,
    Sigpending,
    Stack,
    As,
}

impl RlimitResource {
    const ALL: [(RlimitResource, &'static str, libc::c_int); 16] = [
        (
            RlimitResource::Core,
            "RLIMIT_CORE",
            libc::RLIMIT_CORE as libc::c_int,
        ),
        (
            RlimitResource::Cpu,
            "RLIMIT_CPU",
            libc::RLIMIT_CPU as libc::c_int,
        ),
        (
            RlimitResource::Data,
            "RLIMIT_DATA",
            libc::RLIMIT_DATA as libc::c_int,
        ),
        (
            RlimitResource::Fsize,
            "RLIMIT_FSIZE",
            libc::RLIMIT_FSIZE as libc::c_int,
        ),
        (
            RlimitResource::Locks,
            "RLIMIT_LOCKS",
            libc::RLIMIT_LOCKS as libc::c_int,
        ),
        (
            RlimitResource::Memlock,
            "RLIMIT_MEMLOCK",
            libc::RLIMIT_MEMLOCK as libc::c_int,
        ),
        (
            RlimitResource::Msgqueue,
            "RLIMIT_MSGQUEUE",
            libc::RLIMIT_MSGQUEUE as libc::c_int,
        ),
        (
            RlimitResource::Nice,
            "RLIMIT_NICE",
            libc::RLIMIT_NICE as libc::c_int,
        ),
        (
            RlimitResource::Nofile,
            "RLIMIT_NOFILE",
            libc::RLIMIT_NOFILE as libc::c_int,
        ),
        (
            RlimitResource::Nproc,
            "RLIMIT_NPROC",
            libc::RLIMIT_NPROC as libc::c_int,
        ),
        (
            RlimitResource::Rss,
            "RLIMIT_RSS",
            libc::RLIMIT_RSS as libc::c_int,
        ),
        (
            RlimitResource::Rtprio,
            "RLIMIT_RTPRIO",
            libc::RLIMIT_RTPRIO as libc::c_int,
        ),
        (
            RlimitResource::Rttime,
            "RLIMIT_RTTIME",
            libc::RLIMIT_RTTIME as libc::c_int,
        ),
        (
            RlimitResource::Sigpending,
            "RLIMIT_SIGPENDING",
            libc::RLIMIT_SIGPENDING as libc::c_int,
        ),
        (
            RlimitResource::Stack,
            "RLIMIT_STACK",
            libc::RLIMIT_STACK as libc::c_int,
        ),
        (
            RlimitResource::As,
            "RLIMIT_AS",
            libc::RLIMIT_AS as libc::c_int,
        ),
    ];

    fn entry(self) -> (RlimitResource, &'static str, libc::c_int) {
        Self::ALL
            .into_iter()
            .find(|e| e.0 == self)
            .unwrap_or(Self::ALL[0])
    }

    /// The OCI name, e.g. "RLIMIT_NOFILE".
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    pub(crate) fn number(self) -> libc::c_int {
        self.entry().2
    }

    /// Parses "RLIMIT_NOFILE" or "nofile".
    pub fn from_name(name: &str) -> Option<RlimitResource> {
        let upper = name.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("RLIMIT_").unwrap_or(&upper);
        Self::ALL
            .into_iter()
            .find(|e| &e.1[7..] == bare)
            .map(|e| e.0)
    }
}

/// A resource limit; the hard limit may not exceed the caller's own hard limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rlimit {
    pub resource: RlimitResource,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerSpec {
    pub rootfs: Rootfs,
    /// Command and arguments, already resolved from image and pod spec. A program without '/'
    /// is looked up in the PATH of `env` inside the container.
    pub argv: Vec<String>,
    /// "NAME=value" entries, passed as is.
    pub env: Vec<String>,
    /// Absolute working directory; created when missing, as runc does.
    pub cwd: String,
    pub etc: EtcFiles,
    /// A host directory bound as /dev/shm so the pod's containers share it; else a private tmpfs.
    pub shm: Option<PathBuf>,
    pub mounts: Vec<Mount>,
    pub user: User,
    pub capabilities: Capabilities,
    /// All capabilities, /sys read-write, no masked or read-only paths.
    pub privileged: bool,
    pub no_new_privs: bool,
    pub readonly_rootfs: bool,
    pub rlimits: Vec<Rlimit>,
    /// `cgroup.procs` files to join before anything else happens.
    pub cgroup_procs: Vec<PathBuf>,
    /// Join the sandbox's pid namespace (shareProcessNamespace) instead of a new one.
    pub share_pid: bool,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// stdin is a terminal: it becomes the controlling terminal of the new session.
    pub tty: bool,
}

impl ContainerSpec {
    /// A spec with the container defaults: root user, default capabilities, cwd /, the
    /// default masked and read-only paths.
    pub fn new(rootfs: Rootfs, argv: Vec<String>) -> ContainerSpec {
        ContainerSpec {
            rootfs,
            argv,
            env: Vec::new(),
            cwd: "/".to_string(),
            etc: EtcFiles::default(),
            shm: None,
            mounts: Vec::new(),
            user: User::default(),
            capabilities: Capabilities::default(),
            privileged: false,
            no_new_privs: false,
            readonly_rootfs: false,
            rlimits: Vec::new(),
            cgroup_procs: Vec::new(),
            share_pid: false,
            masked_paths: DEFAULT_MASKED_PATHS.iter().map(|s| s.to_string()).collect(),
            readonly_paths: DEFAULT_READONLY_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            tty: false,
        }
    }
}

/// The container's standard streams; `None` is /dev/null. The caller keeps its fds and
/// should close its copies of pipe ends it handed over.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdio<'a> {
    pub stdin: Option<BorrowedFd<'a>>,
    pub stdout: Option<BorrowedFd<'a>>,
    pub stderr: Option<BorrowedFd<'a>>,
}

impl Stdio<'_> {
    fn raw(&self, devnull: &OwnedFd) -> [RawFd; 3] {
        let or_null =
            |fd: Option<BorrowedFd<'_>>| fd.map_or(devnull.as_raw_fd(), |fd| fd.as_raw_fd());
        [
            or_null(self.stdin),
            or_null(self.stdout),
            or_null(self.stderr),
        ]
    }
}

/// A started process; the caller is its parent and must wait for it (`wait`, or its own
/// waitpid loop) so that it does not stay a zombie.
#[derive(Debug)]
pub struct Child {
    /// The pid in the caller's pid namespace.
    pub pid: i32,
    pidfd: OwnedFd,
}

impl Child {
    /// A pidfd for the process: pollable for exit, safe against pid reuse.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    pub fn into_pidfd(self) -> OwnedFd {
        self.pidfd
    }

    /// Sends a signal to exactly this process (through its pidfd).
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        sys::pidfd_signal(self.pidfd.as_fd(), sig)
    }

    /// Waits for the process to exit and reaps it.
    pub fn wait(self) -> io::Result<ExitStatus> {
        sys::wait_pid(self.pid).map(ExitStatus::from_raw)
    }
}

/// Starts a container in the sandbox. Returns once the container's program is exec'd, or
/// with the reason it could not be.
pub fn spawn(spec: &ContainerSpec, sandbox: &Sandbox, stdio: Stdio<'_>) -> Result<Child, Error> {
    let pid_ns = if spec.share_pid {
        let Some(ns) = sandbox.pid_ns() else {
            return Err(Error::Invalid(
                "shareProcessNamespace: the pod sandbox was created without a shared pid namespace"
                    .to_string(),
            ));
        };
        Some(ns)
    } else {
        None
    };
    let last_cap = caps::last_cap();
    let bounding = caps::container_set(
        &spec.capabilities.add,
        &spec.capabilities.drop,
        spec.privileged,
        last_cap,
    )
    .map_err(Error::Invalid)?;
    let own_caps = sys::own_permitted_caps().map_err(sys_err("read peapod's capabilities"))?;
    let devnull = sys::open_path("/dev/null", libc::O_RDWR).map_err(sys_err("open /dev/null"))?;
    let mut plan = Plan::default();
    let ns = [sandbox.net_ns(), sandbox.ipc_ns(), sandbox.uts_ns()].map(|fd| fd.as_raw_fd());
    mounts::push_setup(&mut plan, spec, ns)?;
    let process = plan::Process {
        argv: &spec.argv,
        env: &spec.env,
        cwd: &spec.cwd,
        tty: spec.tty,
        stdio: stdio.raw(&devnull),
        rlimits: &spec.rlimits,
        uid: spec.user.uid,
        gid: spec.user.gid,
        groups: &spec.user.additional_gids,
        bounding,
        inheritable: 0,
        no_new_privs: spec.no_new_privs,
        last_cap,
        own_caps,
    };
    plan::push_process(&mut plan, &process)?;
    let mut flags = libc::CLONE_NEWNS as u64;
    if !spec.share_pid {
        flags |= libc::CLONE_NEWPID as u64;
    }
    launch(&plan, flags, pid_ns)
}

/// Clones the child that runs `plan`, in `pid_ns` when given, and waits for its exec.
pub(crate) fn launch(
    plan: &Plan,
    flags: u64,
    pid_ns: Option<BorrowedFd<'_>>,
) -> Result<Child, Error> {
    let (report_r, report_w) = sys::report_pipe().map_err(sys_err("create a pipe"))?;
    let guard = match pid_ns {
        Some(ns) => Some(sys::ChildPidNs::enter(ns).map_err(sys_err("enter the pid namespace"))?),
        None => None,
    };
    // SAFETY: the child runs only child::run, which follows clone3's rules, and never returns.
    let (pid, pidfd) = match unsafe { sys::clone3(flags) } {
        Ok(sys::Forked::Child) => child::run(plan, report_w.as_raw_fd()),
        Ok(sys::Forked::Parent { pid, pidfd }) => (pid, pidfd),
        // A pid namespace whose init has exited refuses new members with ENOMEM.
        Err(e) if e.raw_os_error() == Some(libc::ENOMEM) && pid_ns.is_some() => {
            return Err(Error::Setup(
                "the pid namespace to join has no running init (container exited)".to_string(),
            ));
        }
        Err(e) => {
            return Err(Error::Sys {
                context: "clone the container process".to_string(),
                source: e,
            });
        }
    };
    drop(guard);
    drop(report_w);
    match sys::recv_report(report_r) {
        Ok(None) => Ok(Child { pid, pidfd }),
        Ok(Some((step, errno))) => {
            let _ = sys::wait_pid(pid);
            Err(plan.error(step, errno))
        }
        Err(e) => {
            let _ = sys::pidfd_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = sys::wait_pid(pid);
            Err(Error::Sys {
                context: "read the container's setup report".to_string(),
                source: e,
            })
        }
    }
}
