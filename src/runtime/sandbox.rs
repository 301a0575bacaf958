//! The pod sandbox: the namespaces a pod's containers share (network, IPC, UTS, and pid with
//! shareProcessNamespace), held open by a small holder process, the pod's "pause" process.
//!
//! The holder is a forked child that was born in the new namespaces (clone3 with CLONE_NEW*),
//! sets the hostname, brings loopback up (ioctl SIOCSIFFLAGS on "lo"), drops its stdio and
//! every inherited fd, then sleeps in pause(). When it is pid 1 of the pod's pid namespace it
//! ignores SIGCHLD, which makes the kernel reap the orphans reparented to it. It runs no Rust
//! code that allocates (it is a copy of a possibly multi-threaded process), holds no global
//! state, and keeps running when the caller exits, so a restarted caller re-adopts it with
//! `from_pid`. `destroy` kills it through its pidfd, never a recycled pid.

use crate::runtime::container::sys::{self, Forked, check};
use crate::runtime::container::{Error, sys_err};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOptions {
    /// The pod's hostname (the pod name, or spec.hostname).
    pub hostname: String,
    /// shareProcessNamespace: the pod gets a pid namespace whose pid 1 is the holder.
    pub share_pid: bool,
    /// hostNetwork: the pod uses the host's network namespace instead of its own.
    pub host_network: bool,
}

/// A running pod sandbox. Dropping it only closes its fds: the holder keeps running until
/// `destroy`, so that the pod survives a restart of its caller.
#[derive(Debug)]
pub struct Sandbox {
    pid: i32,
    pidfd: OwnedFd,
    /// The holder is our child: destroy reaps it with waitpid.
    ours: bool,
    host_network: bool,
    net: OwnedFd,
    ipc: OwnedFd,
    uts: OwnedFd,
    pid_ns: Option<OwnedFd>,
}

/// What the holder was doing when it reports a failure, by step number.
const HOLDER_STEPS: [&str; 4] = [
    "start a new session",
    "set the hostname",
    "bring up the loopback interface",
    "redirect stdio to /dev/null",
];

const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
const SIOCSIFFLAGS: libc::c_ulong = 0x8914;

/// `struct ifreq` with the flags member of its union (40 bytes on Linux).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Sets IFF_UP on "lo" in the current network namespace (child-safe).
fn loopback_up() -> Result<(), i32> {
    // SAFETY: a socket we close again and an ifreq on the stack.
    unsafe {
        let s = check(
            libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) as libc::c_long,
        )? as RawFd;
        let mut req = IfReq {
            name: [0; 16],
            flags: 0,
            _pad: [0; 22],
        };
        req.name[..2].copy_from_slice(b"lo");
        let mut r =
            check(libc::ioctl(s, SIOCGIFFLAGS as _, &mut req as *mut IfReq) as libc::c_long);
        if r.is_ok() {
            req.flags |= libc::IFF_UP as libc::c_short;
            r = check(libc::ioctl(s, SIOCSIFFLAGS as _, &req as *const IfReq) as libc::c_long);
        }
        libc::close(s);
        r.map(|_| ())
    }
}

/// The holder's life (child-safe, never returns).
fn holder(
    hostname: &[u8],
    own_net: bool,
    devnull: RawFd,
    report: RawFd,
    die_with: Option<libc::pid_t>,
) -> ! {
    let fail = |step: u32, errno: i32| -> ! {
        sys::send_report(report, step, errno);
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(127) }
    };
    sys::reset_signals();
    if let Some(parent) = die_with {
        // SAFETY: prctl and getppid take no pointers. If the parent died before the prctl,
        // the holder is already someone else's child: go.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
        }
    }
    // SAFETY (this block): raw calls on stack data and fds we own.
    unsafe {
        let mut ign: libc::sigaction = std::mem::zeroed();
        ign.sa_sigaction = libc::SIG_IGN;
        libc::sigaction(libc::SIGCHLD, &ign, std::ptr::null_mut());
        // Out of the caller's session: a Ctrl-C on its terminal must not stop the pod.
        if libc::setsid() == -1 {
            fail(0, sys::errno());
        }
        libc::chdir(c"/".as_ptr());
        libc::prctl(libc::PR_SET_NAME, c"peapod-sandbox".as_ptr(), 0, 0, 0);
        // With the host's network the pod also keeps the host's UTS namespace (and name),
        // as Kubernetes does for hostNetwork pods.
        if own_net && libc::sethostname(hostname.as_ptr().cast(), hostname.len()) == -1 {
            fail(1, sys::errno());
        }
    }
    if own_net && let Err(e) = loopback_up() {
        fail(2, e);
    }
    // SAFETY: dup2/close on fds we own.
    unsafe {
        for target in 0..3 {
            if libc::dup2(devnull, target) == -1 {
                fail(3, sys::errno());
            }
        }
        // Closing the report pipe tells the parent we are ready; nothing else of the caller
        // (sockets, pipes, the store) may stay open in a process that outlives it.
        // The report pipe goes last, so that "ready" means every other fd is closed.
        let report_u = report.max(3) as u32;
        if report_u > 3 {
            libc::close_range(3, report_u - 1, 0);
        }
        libc::close_range(report_u + 1, u32::MAX, 0);
        libc::close(report);
        loop {
            libc::pause();
        }
    }
}

fn ns_inode(path: &str) -> std::io::Result<(u64, u64)> {
    std::fs::metadata(path).map(|m| (m.dev(), m.ino()))
}

fn fd_inode(fd: &OwnedFd) -> std::io::Result<(u64, u64)> {
    let file = std::fs::File::from(fd.try_clone()?);
    file.metadata().map(|m| (m.dev(), m.ino()))
}

impl Sandbox {
    /// Starts the holder in new namespaces and waits until they are ready.
    pub fn create(opts: SandboxOptions) -> Result<Sandbox, Error> {
        Self::create_with(opts, false)
    }

    /// `create`, with a holder the kernel kills when the calling process dies: the pod shim
    /// uses it, so that a shim that dies does not leave its pod's namespaces held forever.
    /// The caller must be single-threaded (the kernel ties this to the creating thread).
    pub fn create_bound_to_caller(opts: SandboxOptions) -> Result<Sandbox, Error> {
        Self::create_with(opts, true)
    }

    fn create_with(opts: SandboxOptions, die_with_caller: bool) -> Result<Sandbox, Error> {
        // SAFETY: getpid has no preconditions.
        let caller = die_with_caller.then(|| unsafe { libc::getpid() });
        let name = &opts.hostname;
        if name.is_empty() || name.len() > 64 || name.contains('\0') {
            return Err(Error::Invalid(format!(
                "pod sandbox: hostname {name:?} must be 1 to 64 bytes without NUL"
            )));
        }
        let devnull =
            sys::open_path("/dev/null", libc::O_RDWR).map_err(sys_err("open /dev/null"))?;
        let (report_r, report_w) = sys::report_pipe().map_err(sys_err("create a pipe"))?;
        let mut flags = libc::CLONE_NEWIPC as u64;
        if !opts.host_network {
            flags |= (libc::CLONE_NEWNET | libc::CLONE_NEWUTS) as u64;
        }
        if opts.share_pid {
            flags |= libc::CLONE_NEWPID as u64;
        }
        // SAFETY: the child only runs `holder`, which follows clone3's rules.
        let (pid, pidfd) = match unsafe { sys::clone3(flags) } {
            Ok(Forked::Child) => holder(
                name.as_bytes(),
                !opts.host_network,
                devnull.as_raw_fd(),
                report_w.as_raw_fd(),
                caller,
            ),
            Ok(Forked::Parent { pid, pidfd }) => (pid, pidfd),
            Err(e) => {
                return Err(Error::Sys {
                    context: format!("pod sandbox {name}: create namespaces"),
                    source: e,
                });
            }
        };
        drop(report_w);
        let failed = |err: Error| {
            let _ = sys::pidfd_signal(pidfd.as_fd(), libc::SIGKILL);
            let _ = sys::wait_pid(pid);
            err
        };
        match sys::recv_report(report_r) {
            Ok(None) => {}
            Ok(Some((step, errno))) => {
                let what = HOLDER_STEPS.get(step as usize).copied().unwrap_or("set up");
                return Err(failed(Error::Setup(format!(
                    "pod sandbox {name}: {what}: {}",
                    sys::errno_text(errno)
                ))));
            }
            Err(e) => {
                return Err(failed(Error::Sys {
                    context: format!("pod sandbox {name}: wait for the holder"),
                    source: e,
                }));
            }
        }
        match Self::open(pid, &pidfd) {
            Ok((net, ipc, uts, pid_ns, host_network)) => Ok(Sandbox {
                pid,
                pidfd,
                ours: true,
                host_network,
                net,
                ipc,
                uts,
                pid_ns,
            }),
            Err(e) => Err(failed(e)),
        }
    }

    /// Re-adopts a running sandbox holder (after a restart of the caller).
    pub fn from_pid(pid: i32) -> Result<Sandbox, Error> {
        let pidfd = sys::pidfd_open(pid).map_err(|e| match e.raw_os_error() {
            Some(libc::ESRCH) => {
                Error::Invalid(format!("pod sandbox process {pid} is not running"))
            }
            _ => Error::Sys {
                context: format!("open pod sandbox process {pid}"),
                source: e,
            },
        })?;
        let (net, ipc, uts, pid_ns, host_network) = Self::open(pid, &pidfd)?;
        let same = |fd: &OwnedFd, name: &str| -> Result<bool, Error> {
            let own = ns_inode(&format!("/proc/self/ns/{name}"))
                .map_err(sys_err(format!("stat /proc/self/ns/{name}")))?;
            Ok(fd_inode(fd).map_err(sys_err("stat a namespace"))? == own)
        };
        // A host-network sandbox keeps the host's UTS namespace; every sandbox has its own IPC.
        if same(&ipc, "ipc")? || (!host_network && same(&uts, "uts")?) {
            return Err(Error::Invalid(format!(
                "process {pid} is not a pod sandbox: it shares peapod's IPC or UTS namespace"
            )));
        }
        // Our own child (same caller process) can be reaped; otherwise we wait on the pidfd.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(sys_err(format!("read /proc/{pid}/stat")))?;
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok());
        let ours = ppid == Some(std::process::id() as i32);
        Ok(Sandbox {
            pid,
            pidfd,
            ours,
            host_network,
            net,
            ipc,
            uts,
            pid_ns,
        })
    }

    #[allow(clippy::type_complexity)]
    fn open(
        pid: i32,
        pidfd: &OwnedFd,
    ) -> Result<(OwnedFd, OwnedFd, OwnedFd, Option<OwnedFd>, bool), Error> {
        let ns = |name: &str| {
            let path = format!("/proc/{pid}/ns/{name}");
            sys::open_path(&path, libc::O_RDONLY)
                .map_err(sys_err(format!("pod sandbox: open {path}")))
        };
        let (net, ipc, uts, pid_ns) = (ns("net")?, ns("ipc")?, ns("uts")?, ns("pid")?);
        let inode = |fd: &OwnedFd| fd_inode(fd).map_err(sys_err("pod sandbox: stat a namespace"));
        let own = |name: &str| {
            ns_inode(&format!("/proc/self/ns/{name}")).map_err(sys_err("stat our namespaces"))
        };
        let host_network = inode(&net)? == own("net")?;
        let pid_ns = if inode(&pid_ns)? == own("pid")? {
            None
        } else {
            Some(pid_ns)
        };
        // The fds are only trustworthy if the pid was still the holder when we opened them.
        if sys::pidfd_exited(pidfd.as_fd(), 0).map_err(sys_err("poll the pod sandbox"))? {
            return Err(Error::Invalid(format!(
                "pod sandbox process {pid} is not running"
            )));
        }
        Ok((net, ipc, uts, pid_ns, host_network))
    }

    /// The holder's pid (in the caller's pid namespace); persist it to re-adopt the sandbox.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    pub fn host_network(&self) -> bool {
        self.host_network
    }

    pub fn shares_pid(&self) -> bool {
        self.pid_ns.is_some()
    }

    pub fn net_ns(&self) -> BorrowedFd<'_> {
        self.net.as_fd()
    }

    pub fn ipc_ns(&self) -> BorrowedFd<'_> {
        self.ipc.as_fd()
    }

    pub fn uts_ns(&self) -> BorrowedFd<'_> {
        self.uts.as_fd()
    }

    /// The pod's pid namespace, when the pod shares one.
    pub fn pid_ns(&self) -> Option<BorrowedFd<'_>> {
        self.pid_ns.as_ref().map(|fd| fd.as_fd())
    }

    /// Kills the holder (and with it, when it is the pod's pid 1, every process in the pod's
    /// pid namespace) and waits until it is gone. Containers with their own pid namespace are
    /// not touched: stop them first, or they keep the pod's network namespace alive.
    pub fn destroy(self) -> Result<(), Error> {
        match sys::pidfd_signal(self.pidfd.as_fd(), libc::SIGKILL) {
            Err(e) if e.raw_os_error() != Some(libc::ESRCH) => {
                return Err(Error::Sys {
                    context: format!("kill pod sandbox process {}", self.pid),
                    source: e,
                });
            }
            _ => {}
        }
        if self.ours {
            sys::wait_pid(self.pid)
                .map_err(sys_err(format!("reap pod sandbox process {}", self.pid)))?;
        } else if !sys::pidfd_exited(self.pidfd.as_fd(), 10_000)
            .map_err(sys_err("wait for the pod sandbox"))?
        {
            return Err(Error::Setup(format!(
                "pod sandbox process {} did not exit within 10s of SIGKILL",
                self.pid
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ino(path: &str) -> (u64, u64) {
        ns_inode(path).unwrap()
    }

    /// Destroys the sandbox even when an assertion fails first.
    struct Held(Option<Sandbox>);

    impl Held {
        fn create(hostname: &str, share_pid: bool, host_network: bool) -> Held {
            Held(Some(
                Sandbox::create(SandboxOptions {
                    hostname: hostname.into(),
                    share_pid,
                    host_network,
                })
                .unwrap(),
            ))
        }

        fn get(&self) -> &Sandbox {
            self.0.as_ref().unwrap()
        }

        /// Destroys it and checks that the holder is gone.
        fn destroy(mut self) {
            let sb = self.0.take().unwrap();
            let pid = sb.pid();
            sb.destroy().unwrap();
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            if let Some(sb) = self.0.take() {
                let _ = sb.destroy();
            }
        }
    }

    #[test]
    fn sandbox_namespaces_and_destroy_as_root() {
        let held = Held::create("pod-a", false, false);
        let sb = held.get();
        let pid = sb.pid();
        assert_ne!(
            ino(&format!("/proc/{pid}/ns/net")),
            ino("/proc/self/ns/net")
        );
        assert_ne!(
            ino(&format!("/proc/{pid}/ns/uts")),
            ino("/proc/self/ns/uts")
        );
        assert_ne!(
            ino(&format!("/proc/{pid}/ns/ipc")),
            ino("/proc/self/ns/ipc")
        );
        assert_eq!(
            ino(&format!("/proc/{pid}/ns/pid")),
            ino("/proc/self/ns/pid")
        );
        assert!(!sb.host_network() && !sb.shares_pid());
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        assert_eq!(comm.trim(), "peapod-sandbox");
        // Loopback is up: only then does the namespace have 127.0.0.1 in its local table
        // (a fresh network namespace has an empty fib_trie).
        let fib = std::fs::read_to_string(format!("/proc/{pid}/net/fib_trie")).unwrap();
        assert!(fib.contains("127.0.0.1"), "{fib}");
        // No fd of ours leaks into the holder: only 0, 1, 2 (all /dev/null).
        let fds: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(fds.len(), 3, "{fds:?}");
        held.destroy();
    }

    #[test]
    fn sandbox_host_network_and_shared_pid_as_root() {
        let held = Held::create("pod-b", true, true);
        let sb = held.get();
        let pid = sb.pid();
        assert!(sb.host_network() && sb.shares_pid());
        assert_eq!(
            ino(&format!("/proc/{pid}/ns/net")),
            ino("/proc/self/ns/net")
        );
        // hostNetwork keeps the host's name too, as in Kubernetes.
        assert_eq!(
            ino(&format!("/proc/{pid}/ns/uts")),
            ino("/proc/self/ns/uts")
        );
        assert_ne!(
            ino(&format!("/proc/{pid}/ns/pid")),
            ino("/proc/self/ns/pid")
        );
        // The holder is pid 1 of the pod's pid namespace.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
        assert!(nspid.trim_end().ends_with("\t1"), "{nspid}");
        held.destroy();
    }

    #[test]
    fn sandbox_from_pid_readopts_as_root() {
        let held = Held::create("pod-c", true, false);
        let pid = held.get().pid();
        let again = Held(Some(Sandbox::from_pid(pid).unwrap()));
        assert_eq!(
            fd_inode(&again.get().net).unwrap(),
            fd_inode(&held.get().net).unwrap()
        );
        assert!(again.get().shares_pid() && !again.get().host_network() && again.get().ours);
        // Dropping a Sandbox value leaves the holder running (the pod outlives its caller).
        let mut held = held;
        drop(held.0.take());
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        again.destroy();
        let err = Sandbox::from_pid(pid).unwrap_err().to_string();
        assert!(err.contains("not running"), "{err}");
        // Our own process is no sandbox.
        let err = Sandbox::from_pid(std::process::id() as i32)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a pod sandbox"), "{err}");
    }

    #[test]
    fn sandbox_refuses_bad_hostname() {
        let opts = SandboxOptions {
            hostname: "x".repeat(65),
            share_pid: false,
            host_network: false,
        };
        assert!(
            Sandbox::create(opts)
                .unwrap_err()
                .to_string()
                .contains("hostname")
        );
    }
}
