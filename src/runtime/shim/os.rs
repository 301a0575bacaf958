//! The few system calls the shim makes beyond the container module's wrappers.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

/// A pipe whose read end is non-blocking (the shim polls it) and whose write end blocks (the
/// container writes into it); both close-on-exec: (read end, write end).
pub(super) fn output_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    set_nonblocking(r.as_raw_fd())?;
    Ok((r, w))
}

pub(super) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Reads what is available from a non-blocking fd: `Ok(None)` when nothing is (EAGAIN),
/// `Ok(Some(0))` at EOF.
pub(super) fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// Writes all of `data` to a non-blocking socket, waiting at most `timeout_ms` for room each
/// time the socket is full, so a client that stops reading cannot stall the shim for long.
pub(super) fn write_all_bounded(
    stream: &mut std::os::unix::net::UnixStream,
    mut data: &[u8],
    timeout_ms: i32,
) -> io::Result<()> {
    while !data.is_empty() {
        match stream.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut pfd = libc::pollfd {
                    fd: stream.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
                if n == 0 {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads a non-blocking socket into `buf` until it would block; true at EOF.
pub(super) fn read_available(
    stream: &mut std::os::unix::net::UnixStream,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<bool> {
    let mut chunk = [0u8; 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > limit {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("request longer than {limit} bytes"),
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// The pid of one exited child, without reaping it (waitid with WNOWAIT), or None.
pub(super) fn peek_exited_child() -> Option<i32> {
    // SAFETY: waitid fills the zeroed siginfo; si_pid is valid for SIGCHLD infos.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if r != 0 {
            return None;
        }
        match info.si_pid() {
            0 => None,
            pid => Some(pid),
        }
    }
}

/// Reaps a child that has exited (never blocks).
pub(super) fn reap(pid: i32) -> Option<i32> {
    let mut status = 0;
    // SAFETY: plain waitpid on our own child.
    (unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid).then_some(status)
}

/// Replaces `path` atomically: write a temporary file next to it, then rename.
pub(super) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// An RFC 3339 UTC timestamp with nanoseconds, as the kubelet writes container times.
pub(super) fn now_nanos() -> String {
    format!("{:.9}", jiff::Timestamp::now())
}

/// (exit code, signal) from a wait status: code, or 128+signal when killed by one.
pub(super) fn exit_of(status: i32) -> (i32, Option<i32>) {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        (128 + sig, Some(sig))
    } else {
        (libc::WEXITSTATUS(status), None)
    }
}

/// Drops this process's page mappings of unmodified file pages: program code and read-only
/// data that start-up and container setup touched once. The pages stay in the page cache
/// (shared with every other peapod process) and fault back in when run again, so the shim's
/// resident set shrinks to what its poll loop really uses; the kernel maps code around each
/// fault, and peapod's code is large, so without this an idle shim keeps megabytes mapped.
/// Mappings with private (written) pages, such as relocated read-only data, are left alone.
pub(super) fn release_clean_file_pages() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut candidate: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            // A new mapping header: `start-end perms offset dev inode [path]`.
            let perms = fields.next().unwrap_or("");
            let inode = fields.nth(2).unwrap_or("0");
            candidate = (!perms.contains('w') && perms.starts_with('r') && inode != "0")
                .then_some((start, end));
            continue;
        }
        // `Anonymous:` comes once per mapping, before the next header: private copies of
        // file pages show up there.
        if first == "Anonymous:" {
            if fields.next() == Some("0")
                && let Some(r) = candidate
            {
                ranges.push(r);
            }
            candidate = None;
        }
    }
    drop(smaps);
    // All at once at the end, so that the parsing above does not fault its code back in.
    for (start, end) in ranges {
        // SAFETY: the range is one of our own file-backed, non-writable mappings with no
        // private pages: discarding its page table entries loses nothing, the next access
        // reads the same file pages again.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Blocks SIGCHLD and returns a non-blocking signalfd for it, so that the poll loop wakes
/// when a child exits instead of polling for orphans on a timer: an idle shim then sleeps
/// for good. Children get an empty signal mask again before they exec (`reset_signals`).
pub(super) fn sigchld_fd() -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: sigset operations on a local set; signalfd returns a new fd we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) == -1 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Empties a signalfd (signals of one kind coalesce; the caller then reaps every child).
pub(super) fn drain_signalfd(fd: BorrowedFd<'_>) {
    let mut info = [0u8; 128];
    loop {
        // SAFETY: reading into a local buffer of the size of one signalfd_siginfo.
        let n = unsafe { libc::read(fd.as_raw_fd(), info.as_mut_ptr().cast(), info.len()) };
        if n <= 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_nanoseconds() {
        let t = now_nanos();
        assert!(t.ends_with('Z') && t.len() == "2024-01-01T00:00:00.123456789Z".len());
        assert!(t.parse::<jiff::Timestamp>().is_ok());
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(exit_of(3 << 8), (3, None));
        assert_eq!(exit_of(libc::SIGKILL), (137, Some(libc::SIGKILL)));
        assert_eq!(exit_of(0), (0, None));
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
