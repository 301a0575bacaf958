//! Thin wrappers over the Linux calls nix does not cover (clone3, openat2, pidfd, capset,
//! prlimit) and the child → parent report channel.
//!
//! Everything marked "child-safe" may run in a freshly cloned child of a multi-threaded
//! process: it makes raw system calls only, never allocates, never takes a lock and reports
//! failure as a bare errno.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `struct clone_args` of clone3(2); defined here because libc only has it on some targets.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub(crate) enum Forked {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// fork(2) with namespace flags (`CLONE_NEW*`), also returning a pidfd for the child.
///
/// # Safety
/// The child is a copy of a possibly multi-threaded process in which only the calling thread
/// survives, so until it execs it may only run child-safe code: raw system calls, no
/// allocation, no locks, and no glibc function that believes in the parent's threads (glibc's
/// setuid/setgroups broadcast to every thread it knows of: use the raw syscalls). It must end
/// with `_exit` or `execve`, never return or unwind. Everything it needs (C strings, pointer
/// arrays, paths) is computed before the call.
pub(crate) unsafe fn clone3(flags: u64) -> io::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: flags | libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: args lives across the call; stack 0 gives fork semantics (no CLONE_VM).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: the kernel stored a fresh pidfd (O_CLOEXEC) for us.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

/// The calling thread's errno (child-safe).
pub(crate) fn errno() -> i32 {
    // SAFETY: errno is thread-local and always readable.
    unsafe { *libc::__errno_location() }
}

/// Turns a -1 return into the errno (child-safe).
pub(crate) fn check(ret: libc::c_long) -> Result<libc::c_long, i32> {
    if ret == -1 { Err(errno()) } else { Ok(ret) }
}

/// An errno as the user reads it: "No such file or directory".
pub(crate) fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A close-on-exec pipe for reports from a child: (read end, write end).
pub(crate) fn report_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// Tells the parent which step failed and why (child-safe; 8 bytes are written atomically).
pub(crate) fn send_report(fd: RawFd, step: u32, errno: i32) {
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&step.to_ne_bytes());
    buf[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: buf is valid for 8 bytes; nothing to do if the parent is gone.
    unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
}

/// Reads the child's report: `None` when the write end closed without one (the child exec'd,
/// or the sandbox holder finished its setup), else (step, errno).
pub(crate) fn recv_report(fd: OwnedFd) -> io::Result<Option<(u32, i32)>> {
    let mut buf = [0u8; 8];
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: writing into the unfilled tail of buf.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[got..].as_mut_ptr().cast(),
                buf.len() - got,
            )
        };
        match n {
            0 => break,
            n if n > 0 => got += n as usize,
            _ if errno() == libc::EINTR => continue,
            _ => return Err(io::Error::last_os_error()),
        }
    }
    if got < buf.len() {
        return Ok(None);
    }
    let step = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
    Ok(Some((step, errno)))
}

/// Waits for a child we started (retrying on EINTR) and returns its raw wait status.
pub(crate) fn wait_pid(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: plain waitpid on our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            return Ok(status);
        }
        if errno() != libc::EINTR {
            return Err(io::Error::last_os_error());
        }
    }
}

pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd we own (pidfds are close-on-exec).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Signals exactly the process behind the pidfd: never a recycled pid.
pub(crate) fn pidfd_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: null siginfo is allowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// True once the process behind the pidfd has exited (waits up to `timeout_ms`).
pub(crate) fn pidfd_exited(pidfd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&mut pfd, 1, timeout_ms) } {
            -1 if errno() == libc::EINTR => continue,
            -1 => return Err(io::Error::last_os_error()),
            n => return Ok(n > 0),
        }
    }
}

pub(crate) fn open_path(path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c =
        std::ffi::CString::new(path).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// While alive, the calling thread's *new children* are born in another pid namespace
/// (setns(CLONE_NEWPID) changes only `pid_for_children` of this thread); dropping it restores
/// the previous one. This lets the caller stay the parent of a process that lives in the pod's
/// or a container's pid namespace, so it can waitpid it directly.
pub(crate) struct ChildPidNs {
    saved: OwnedFd,
}

impl ChildPidNs {
    pub(crate) fn enter(target: BorrowedFd<'_>) -> io::Result<ChildPidNs> {
        let saved = open_path("/proc/thread-self/ns/pid_for_children", libc::O_RDONLY)?;
        nix::sched::setns(target, nix::sched::CloneFlags::CLONE_NEWPID).map_err(io::Error::from)?;
        Ok(ChildPidNs { saved })
    }
}

impl Drop for ChildPidNs {
    fn drop(&mut self) {
        // Going back to our own (ancestor) namespace is always allowed.
        let _ = nix::sched::setns(self.saved.as_fd(), nix::sched::CloneFlags::CLONE_NEWPID);
    }
}

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Opens `path` (relative) as if `root` were `/`: `..` and absolute symlinks cannot leave
/// it, so an image's symlinks cannot turn a mount target into a host path (child-safe).
pub(crate) fn open_in_root(root: RawFd, path: &CStr, flags: libc::c_int) -> Result<RawFd, i32> {
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: valid C string and struct for the duration of the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root,
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    check(fd).map(|fd| fd as RawFd)
}

/// Writes "/proc/self/fd/<fd>\0" into `buf`: the path through which mount(2) reaches exactly
/// the file an O_PATH fd refers to (child-safe).
pub(crate) fn proc_fd_path(fd: RawFd, buf: &mut [u8; 32]) -> *const libc::c_char {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut n = fd.max(0) as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 || len == digits.len() {
            break;
        }
    }
    for i in 0..len {
        buf[PREFIX.len() + i] = digits[len - 1 - i];
    }
    buf[PREFIX.len() + len] = 0;
    buf.as_ptr().cast()
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// capset(2) for the calling thread with 64-bit masks (child-safe).
pub(crate) fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), i32> {
    let header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and two data structs as the v3 ABI requires.
    check(unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) })
        .map(|_| ())
}

/// The calling thread's permitted capability set.
pub(crate) fn own_permitted_caps() -> io::Result<u64> {
    let header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: as capset.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &header as *const CapHeader,
            data.as_mut_ptr(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32))
}

/// prlimit64(2) on the calling process (child-safe).
pub(crate) fn set_rlimit(resource: libc::c_int, soft: u64, hard: u64) -> Result<(), i32> {
    let new = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: valid struct; old limit not requested.
    check(unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            resource,
            &new as *const libc::rlimit64,
            std::ptr::null_mut::<libc::rlimit64>(),
        )
    })
    .map(|_| ())
}

/// The calling process's (soft, hard) limit.
pub(crate) fn get_rlimit(resource: libc::c_int) -> io::Result<(u64, u64)> {
    let mut old = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            resource,
            std::ptr::null::<libc::rlimit64>(),
            &mut old as *mut libc::rlimit64,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((old.rlim_cur, old.rlim_max))
}

/// Puts every signal back to its default disposition and unblocks all of them: a cloned child
/// inherits the caller's handlers and mask, and ignored signals (Rust ignores SIGPIPE) would
/// survive execve into the container (child-safe).
pub(crate) fn reset_signals() {
    // SAFETY: zeroed sigaction is SIG_DFL with an empty mask; errors (SIGKILL, SIGSTOP and the
    // signals libc reserves) are expected and harmless.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..=64 {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fd_path_formats_the_fd() {
        let mut buf = [0u8; 32];
        for (fd, want) in [
            (0, "/proc/self/fd/0"),
            (7, "/proc/self/fd/7"),
            (1234, "/proc/self/fd/1234"),
        ] {
            let p = proc_fd_path(fd, &mut buf);
            // SAFETY: proc_fd_path NUL-terminates inside buf.
            let s = unsafe { CStr::from_ptr(p) };
            assert_eq!(s.to_str().unwrap(), want);
        }
    }

    #[test]
    fn errno_text_has_no_os_error_suffix() {
        assert_eq!(errno_text(libc::ENOENT), "No such file or directory");
        assert_eq!(errno_text(libc::EINVAL), "Invalid argument");
    }
}
