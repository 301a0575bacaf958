//! The cloned child: walks the plan's steps with raw system calls and either execs or reports
//! (step, errno) to the parent and exits 127.
//!
//! Rules for everything in this file (it runs between clone and execve in a copy of a
//! multi-threaded process): no allocation, no locks, no panics on reachable paths, no glibc
//! wrappers that touch other threads (ids are changed with raw syscalls), stack buffers only.

use super::plan::{Create, Op, Plan};
use super::sys::{self, check, errno};
use std::ffi::CStr;
use std::os::fd::RawFd;
use std::ptr;

type Res = Result<(), i32>;

/// Runs the plan; never returns.
pub(crate) fn run(plan: &Plan, report: RawFd) -> ! {
    sys::reset_signals();
    let mut root: RawFd = -1;
    for (i, op) in plan.ops.iter().enumerate() {
        if let Err(e) = step(op, &mut root) {
            sys::send_report(report, i as u32, e);
            // SAFETY: leaving without running any of the parent's destructors.
            unsafe { libc::_exit(127) };
        }
    }
    // Only reached if the plan had no Exec step.
    sys::send_report(report, plan.ops.len() as u32, libc::EINVAL);
    // SAFETY: as above.
    unsafe { libc::_exit(127) }
}

fn opt(c: &Option<std::ffi::CString>) -> *const libc::c_char {
    c.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

fn mount(
    src: *const libc::c_char,
    target: *const libc::c_char,
    fstype: *const libc::c_char,
    flags: libc::c_ulong,
    data: *const libc::c_char,
) -> Res {
    // SAFETY: NUL-terminated strings or null.
    check(unsafe { libc::mount(src, target, fstype, flags, data.cast()) } as libc::c_long)
        .map(|_| ())
}

fn close(fd: RawFd) {
    // SAFETY: closing an fd this child opened.
    unsafe { libc::close(fd) };
}

fn step(op: &Op, root: &mut RawFd) -> Res {
    // SAFETY (all blocks below): raw system calls on NUL-terminated strings prepared by the
    // parent, fds this process owns, and stack buffers.
    match op {
        Op::Umask(m) => {
            unsafe { libc::umask(*m) };
            Ok(())
        }
        Op::JoinCgroup(path) => {
            let fd = check(
                unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) }
                    as libc::c_long,
            )? as RawFd;
            let r = check(unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) } as libc::c_long);
            close(fd);
            r.map(|_| ())
        }
        Op::Setns { fd, nstype } => {
            check(unsafe { libc::setns(*fd, *nstype) } as libc::c_long).map(|_| ())
        }
        Op::RprivateRoot => mount(
            ptr::null(),
            c"/".as_ptr(),
            ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            ptr::null(),
        ),
        Op::MountHost {
            source,
            target,
            fstype,
            flags,
            data,
        } => mount(opt(source), target.as_ptr(), opt(fstype), *flags, opt(data)),
        Op::OpenRoot(path) => {
            let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
            *root = check(unsafe { libc::open(path.as_ptr(), flags) } as libc::c_long)? as RawFd;
            Ok(())
        }
        Op::MountIn {
            source,
            rel,
            fstype,
            flags,
            data,
            create,
            readonly,
        } => {
            let fd = resolve(*root, rel, *create)?;
            let mut buf = [0u8; 32];
            let r = mount(
                opt(source),
                sys::proc_fd_path(fd, &mut buf),
                opt(fstype),
                *flags,
                opt(data),
            );
            close(fd);
            r?;
            if *readonly {
                remount_readonly(*root, rel)
            } else {
                Ok(())
            }
        }
        Op::Mknod {
            dir,
            name,
            mode,
            dev,
        } => {
            let dfd = resolve(*root, dir, Create::No)?;
            let r =
                check(unsafe { libc::mknodat(dfd, name.as_ptr(), *mode, *dev) } as libc::c_long);
            close(dfd);
            r.map(|_| ())
        }
        Op::Symlink { dir, name, to } => {
            let dfd = resolve(*root, dir, Create::No)?;
            let r =
                check(unsafe { libc::symlinkat(to.as_ptr(), dfd, name.as_ptr()) } as libc::c_long);
            close(dfd);
            r.map(|_| ())
        }
        Op::Mask(rel) => {
            let fd = match sys::open_in_root(*root, rel, libc::O_PATH) {
                Err(libc::ENOENT) => return Ok(()),
                r => r?,
            };
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            let mut buf = [0u8; 32];
            let target = sys::proc_fd_path(fd, &mut buf);
            let r = match check(unsafe { libc::fstat(fd, &mut st) } as libc::c_long) {
                Err(e) => Err(e),
                Ok(_) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => mount(
                    c"tmpfs".as_ptr(),
                    target,
                    c"tmpfs".as_ptr(),
                    libc::MS_RDONLY,
                    ptr::null(),
                ),
                Ok(_) => mount(
                    c"/dev/null".as_ptr(),
                    target,
                    ptr::null(),
                    libc::MS_BIND,
                    ptr::null(),
                ),
            };
            close(fd);
            r
        }
        Op::ReadonlyIn(rel) => {
            let fd = match sys::open_in_root(*root, rel, libc::O_PATH) {
                Err(libc::ENOENT) => return Ok(()),
                r => r?,
            };
            let mut buf = [0u8; 32];
            let target = sys::proc_fd_path(fd, &mut buf);
            let r = mount(
                target,
                target,
                ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                ptr::null(),
            );
            close(fd);
            r?;
            remount_readonly(*root, rel)
        }
        Op::MkdirIn(rel) => resolve(*root, rel, Create::Dir).map(close),
        Op::PivotRoot => {
            // pivot_root(".", ".") stacks the old root on top of the new one; detaching it
            // leaves only the container's mounts (runc's trick, no put_old directory needed).
            check(unsafe { libc::fchdir(*root) } as libc::c_long)?;
            check(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) })?;
            check(unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } as libc::c_long)?;
            check(unsafe { libc::chdir(c"/".as_ptr()) } as libc::c_long)?;
            close(*root);
            *root = -1;
            Ok(())
        }
        Op::RemountRootReadonly => remount_fd_readonly(c"/".as_ptr(), -1),
        Op::Rlimit {
            resource,
            soft,
            hard,
        } => sys::set_rlimit(*resource, *soft, *hard),
        Op::Setsid => check(unsafe { libc::setsid() } as libc::c_long).map(|_| ()),
        Op::Stdio(fds) => {
            // Move the sources above 2 first: one of them may already sit on 0..2.
            let mut high = [-1; 3];
            for (h, fd) in high.iter_mut().zip(fds) {
                *h = check(unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3) } as libc::c_long)?
                    as RawFd;
            }
            for (target, h) in high.iter().enumerate() {
                check(unsafe { libc::dup2(*h, target as RawFd) } as libc::c_long)?;
            }
            Ok(())
        }
        Op::SetCtty => {
            check(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } as libc::c_long).map(|_| ())
        }
        Op::CloseFds => check(unsafe {
            libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int)
        } as libc::c_long)
        .map(|_| ()),
        Op::DropBounding { keep, last_cap } => {
            for cap in 0..=*last_cap {
                if keep & (1u64 << cap) == 0 {
                    let r = unsafe {
                        libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0)
                    };
                    if r == -1 && errno() != libc::EINVAL {
                        return Err(errno());
                    }
                }
            }
            Ok(())
        }
        Op::KeepCaps => {
            check(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) } as libc::c_long)
                .map(|_| ())
        }
        Op::SetUser { uid, gid, groups } => {
            // Raw syscalls: glibc's wrappers would try to signal the parent's other threads.
            check(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) })?;
            check(unsafe { libc::syscall(libc::SYS_setresgid, *gid, *gid, *gid) })?;
            check(unsafe { libc::syscall(libc::SYS_setresuid, *uid, *uid, *uid) })?;
            Ok(())
        }
        Op::Capset {
            effective,
            permitted,
            inheritable,
        } => sys::capset(*effective, *permitted, *inheritable),
        Op::ClearAmbient => {
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                )
            };
            if r == -1 && errno() != libc::EINVAL {
                Err(errno())
            } else {
                Ok(())
            }
        }
        Op::Chdir(path) => check(unsafe { libc::chdir(path.as_ptr()) } as libc::c_long).map(|_| ()),
        Op::NoNewPrivs => {
            check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long)
                .map(|_| ())
        }
        Op::Exec(x) => {
            // Like execvp: the first candidate that exists wins; "not there" errors only
            // count when no candidate gave a better reason (EACCES, ENOEXEC, ...).
            let mut best = libc::ENOENT;
            for c in &x.candidates {
                unsafe { libc::execve(c.as_ptr(), x.argv_ptrs.as_ptr(), x.env_ptrs.as_ptr()) };
                let e = errno();
                if e != libc::ENOENT && e != libc::ENOTDIR {
                    best = e;
                    if !x.searched || e != libc::EACCES {
                        break;
                    }
                }
            }
            Err(best)
        }
    }
}

/// Opens a path inside the root (O_PATH), creating it first when missing and asked to.
fn resolve(root: RawFd, rel: &CStr, create: Create) -> Result<RawFd, i32> {
    match sys::open_in_root(root, rel, libc::O_PATH) {
        Err(libc::ENOENT) if create != Create::No => {
            create_path(root, rel.to_bytes(), create == Create::File)?;
            sys::open_in_root(root, rel, libc::O_PATH)
        }
        r => r,
    }
}

/// Opens `bytes` (a path inside the root) after NUL-terminating it in `buf`.
fn open_prefix(root: RawFd, bytes: &[u8], buf: &mut [u8; PATH_BUF]) -> Result<RawFd, i32> {
    if bytes.len() >= buf.len() {
        return Err(libc::ENAMETOOLONG);
    }
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[bytes.len()] = 0;
    let path = if bytes.is_empty() {
        c"."
    } else {
        unsafe { CStr::from_bytes_with_nul_unchecked(&buf[..=bytes.len()]) }
    };
    sys::open_in_root(root, path, libc::O_PATH)
}

const PATH_BUF: usize = 4096;

/// mkdir -p inside the root; the last component becomes an empty file when `file`. Each parent
/// is reached with RESOLVE_IN_ROOT and each new entry made relative to it (O_EXCL|O_NOFOLLOW
/// for files), so a symlink in the image can never make us create something on the host. A
/// dangling symlink on the way is followed inside the root, as runc does: an image whose
/// /etc/resolv.conf points to ../run/resolv.conf gets that file created.
fn create_path(root: RawFd, rel: &[u8], file: bool) -> Res {
    let mut path = [0u8; PATH_BUF];
    let mut scratch = [0u8; PATH_BUF];
    let mut name = [0u8; 256];
    if rel.len() >= path.len() {
        return Err(libc::ENAMETOOLONG);
    }
    path[..rel.len()].copy_from_slice(rel);
    let mut len = rel.len();
    let mut hops = 0;
    'restart: loop {
        let mut start = 0;
        while start < len {
            if path[start] == b'/' {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < len && path[end] != b'/' {
                end += 1;
            }
            let last = path[end..len].iter().all(|c| *c == b'/');
            match open_prefix(root, &path[..end], &mut scratch) {
                Ok(fd) => close(fd),
                Err(libc::ENOENT) => {
                    let n = end - start;
                    if n >= name.len() {
                        return Err(libc::ENAMETOOLONG);
                    }
                    name[..n].copy_from_slice(&path[start..end]);
                    name[n] = 0;
                    let pfd = open_prefix(root, &path[..start], &mut scratch)?;
                    let r = if last && file {
                        let flags = libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_WRONLY
                            | libc::O_CLOEXEC
                            | libc::O_NOFOLLOW;
                        check(
                            unsafe { libc::openat(pfd, name.as_ptr().cast(), flags, 0o644) }
                                as libc::c_long,
                        )
                        .map(|fd| close(fd as RawFd))
                    } else {
                        check(unsafe { libc::mkdirat(pfd, name.as_ptr().cast(), 0o755) }
                            as libc::c_long)
                        .map(|_| ())
                    };
                    if r != Err(libc::EEXIST) {
                        close(pfd);
                        r?;
                        start = end + 1;
                        continue;
                    }
                    // It exists yet did not resolve: a dangling symlink (or a racing creator).
                    let link = unsafe {
                        libc::readlinkat(
                            pfd,
                            name.as_ptr().cast(),
                            scratch.as_mut_ptr().cast(),
                            scratch.len(),
                        )
                    };
                    close(pfd);
                    if link < 0 {
                        if errno() == libc::EINVAL {
                            start = end + 1; // not a symlink: someone else created it
                            continue;
                        }
                        return Err(errno());
                    }
                    hops += 1;
                    let link = link as usize;
                    if hops > 40 {
                        return Err(libc::ELOOP);
                    }
                    // New path: (relative link? the parent : nothing) + link + rest.
                    let keep = if scratch.first() == Some(&b'/') {
                        0
                    } else {
                        start
                    };
                    let rest = len - end;
                    let new_len = keep + link + 1 + rest;
                    if link >= scratch.len() || new_len >= path.len() {
                        return Err(libc::ENAMETOOLONG);
                    }
                    path.copy_within(end..len, keep + link + 1);
                    path[keep + link] = b'/';
                    path[keep..keep + link].copy_from_slice(&scratch[..link]);
                    len = new_len;
                    continue 'restart;
                }
                Err(e) => return Err(e),
            }
            start = end + 1;
        }
        return Ok(());
    }
}

/// Remounts the mount now at `rel` read-only, keeping its nosuid/nodev/noexec/atime flags.
fn remount_readonly(root: RawFd, rel: &CStr) -> Res {
    // Re-resolve: the fd we mounted on points below the new mount, this one at its root.
    let fd = sys::open_in_root(root, rel, libc::O_PATH)?;
    let mut buf = [0u8; 32];
    let r = remount_fd_readonly(sys::proc_fd_path(fd, &mut buf), fd);
    close(fd);
    r
}

fn remount_fd_readonly(target: *const libc::c_char, fd: RawFd) -> Res {
    // glibc's statvfs takes the flags from statfs(2) (ST_VALID kernels), no allocation.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let r = if fd >= 0 {
        unsafe { libc::fstatvfs(fd, &mut st) }
    } else {
        unsafe { libc::statvfs(target, &mut st) }
    };
    check(r as libc::c_long)?;
    let f = st.f_flag as libc::c_ulong;
    let mut keep = f
        & (libc::MS_NOSUID
            | libc::MS_NODEV
            | libc::MS_NOEXEC
            | libc::MS_NOATIME
            | libc::MS_NODIRATIME);
    if f & libc::ST_RELATIME != 0 {
        keep |= libc::MS_RELATIME;
    }
    mount(
        ptr::null(),
        target,
        ptr::null(),
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | keep,
        ptr::null(),
    )
}
