//! The shim's event loop: one thread, poll(2) over the control socket, its clients, every
//! container's output pipes and pidfd, and the sandbox holder's pidfd.

use super::os;
use super::protocol::{
    ContainerRecord, Request, Response, ShimConfig, ShimState, StartErrorKind, StartRequest,
};
use super::runs::{READ_CHUNK, Run};
use crate::runtime::container::sys;
use crate::runtime::logs::Rotation;
use crate::runtime::sandbox::Sandbox;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often re-parented orphans are reaped when no SIGCHLD woke the loop (the shim is a
/// child subreaper; normally its signalfd reports every exit).
const REAP_EVERY: Duration = Duration::from_secs(60);
/// How long an exit record waits for the container's pipes to reach EOF: with its own pid
/// namespace every writer is gone when the container is, but with a shared one a background
/// child can keep the pipe open. Its output is still logged after the record is out.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// Longest request line (a StartRequest carries a whole container spec).
const MAX_REQUEST: usize = 4 << 20;
/// How long a client that does not read its response may hold up the shim.
const WRITE_TIMEOUT_MS: i32 = 1000;
/// Clients waiting for their request line; more are turned away.
const MAX_CONNS: usize = 64;
/// Reads of one pipe per loop turn (one full pipe), so that no container starves the rest.
const READS_PER_TURN: usize = 8;
/// How long the shim must be quiet before it trims its resident code (see
/// `os::release_clean_file_pages`): a busy container wakes it often, and re-faulting code
/// from the page cache costs microseconds.
const IDLE_TRIM_MS: i32 = 1000;

pub(super) struct Server {
    pub pod_dir: PathBuf,
    pub config: ShimConfig,
    pub sandbox: Option<Sandbox>,
    pub sandbox_pid: i32,
    pub listener: UnixListener,
    conns: Vec<Conn>,
    watchers: Vec<UnixStream>,
    runs: Vec<Run>,
    /// The latest run of every container started so far (what `State` reports).
    latest: Vec<ContainerRecord>,
    /// Wakes the loop when a child exits (None: fall back to reaping on the timer).
    sigchld: Option<std::os::fd::OwnedFd>,
}

struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
}

#[derive(Clone, Copy)]
enum Tag {
    Listener,
    Holder,
    Conn(usize),
    Watcher(usize),
    Exit(usize),
    Pipe(usize, usize),
    Sigchld,
}

impl Server {
    pub fn new(
        pod_dir: PathBuf,
        config: ShimConfig,
        sandbox: Sandbox,
        listener: UnixListener,
    ) -> Server {
        Server {
            pod_dir,
            config,
            sandbox_pid: sandbox.pid(),
            sandbox: Some(sandbox),
            listener,
            conns: Vec::new(),
            watchers: Vec::new(),
            runs: Vec::new(),
            latest: Vec::new(),
            sigchld: os::sigchld_fd().ok(),
        }
    }

    fn rotation(&self) -> Rotation {
        Rotation {
            max_size: self.config.log_max_size,
            max_files: self.config.log_max_files,
        }
    }

    fn poll_set(&self) -> (Vec<libc::pollfd>, Vec<Tag>) {
        let mut fds = Vec::with_capacity(2 + self.conns.len() + self.watchers.len());
        let mut tags = Vec::with_capacity(fds.capacity());
        let mut add = |fd: RawFd, tag: Tag| {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
            tags.push(tag);
        };
        add(self.listener.as_raw_fd(), Tag::Listener);
        if let Some(fd) = &self.sigchld {
            add(fd.as_raw_fd(), Tag::Sigchld);
        }
        if let Some(sb) = &self.sandbox {
            add(sb.pidfd().as_raw_fd(), Tag::Holder);
        }
        for (i, c) in self.conns.iter().enumerate() {
            add(c.stream.as_raw_fd(), Tag::Conn(i));
        }
        for (i, w) in self.watchers.iter().enumerate() {
            add(w.as_raw_fd(), Tag::Watcher(i));
        }
        for (i, run) in self.runs.iter().enumerate() {
            if let Some(fd) = &run.pidfd {
                add(fd.as_raw_fd(), Tag::Exit(i));
            }
            for (p, pipe) in run.pipes.iter().enumerate() {
                if let Some(fd) = pipe {
                    add(fd.as_raw_fd(), Tag::Pipe(i, p));
                }
            }
        }
        (fds, tags)
    }

    /// Until the next exit record is due, else the orphan reaping period.
    fn timeout_ms(&self, last_reap: Instant) -> i32 {
        let mut next = (last_reap + REAP_EVERY).saturating_duration_since(Instant::now());
        for run in &self.runs {
            if let (Some(at), false) = (run.exited, run.published) {
                next = next.min((at + DRAIN_LIMIT).saturating_duration_since(Instant::now()));
            }
        }
        next.as_millis().clamp(1, i32::MAX as u128) as i32
    }

    /// Serves until `Shutdown` or the sandbox holder's death; returns the exit code.
    pub fn serve(mut self) -> i32 {
        let mut buf = [0u8; READ_CHUNK];
        let mut last_reap = Instant::now();
        // Whether anything happened since the resident code was last trimmed, and whether
        // to trim right before the next (long) wait.
        let mut busy = false;
        let mut trim = false;
        loop {
            let (mut fds, tags) = self.poll_set();
            let mut timeout = self.timeout_ms(last_reap);
            if busy {
                timeout = timeout.min(IDLE_TRIM_MS);
            }
            if trim {
                // Quiet for a while: drop the code that handling the last events mapped in,
                // as late as possible so that nothing runs between this and the wait.
                os::release_clean_file_pages();
                trim = false;
            }
            // SAFETY: fds is a valid array of pollfds for its length.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                if sys::errno() == libc::EINTR {
                    continue;
                }
                return self.teardown(1);
            }
            if n == 0 && busy {
                trim = true;
                busy = false;
            }
            busy |= n > 0;
            let mut holder_died = false;
            let mut listener_ready = false;
            let mut ready_conns = Vec::new();
            let mut gone_watchers = Vec::new();
            for (pfd, tag) in fds.iter().zip(&tags) {
                if pfd.revents == 0 {
                    continue;
                }
                match *tag {
                    Tag::Listener => listener_ready = true,
                    Tag::Holder => holder_died = true,
                    Tag::Conn(i) => ready_conns.push(i),
                    Tag::Watcher(i) => gone_watchers.push(i),
                    Tag::Pipe(r, p) => {
                        for _ in 0..READS_PER_TURN {
                            if !self.runs[r].pump(p, &mut buf) {
                                break;
                            }
                        }
                    }
                    Tag::Sigchld => {
                        if let Some(fd) = &self.sigchld {
                            os::drain_signalfd(fd.as_fd());
                        }
                        // Reap now rather than at the next timer.
                        last_reap = Instant::now() - REAP_EVERY;
                    }
                    Tag::Exit(r) => {
                        let run = &mut self.runs[r];
                        run.reaped();
                        run.drain(&mut buf);
                    }
                }
            }
            if last_reap.elapsed() >= REAP_EVERY {
                if self.reap_orphans(&mut buf) {
                    holder_died = true;
                }
                last_reap = Instant::now();
            }
            self.publish_finished(false);
            if holder_died {
                return self.teardown(1);
            }
            // A watcher never sends anything after its request: readable means it hung up.
            for i in gone_watchers.into_iter().rev() {
                self.watchers.swap_remove(i);
            }
            for request in self.read_requests(ready_conns) {
                if let Some(code) = self.handle(request) {
                    return code;
                }
            }
            if listener_ready {
                self.accept();
            }
            self.runs.retain(|r| !(r.published && r.pipes_closed()));
        }
    }

    /// Reaps exited children that are not containers (re-parented orphans). A container or
    /// the holder found exited is handled here too, since it must not be reaped blindly.
    /// Returns true when the holder has exited.
    fn reap_orphans(&mut self, buf: &mut [u8]) -> bool {
        while let Some(pid) = os::peek_exited_child() {
            if pid == self.sandbox_pid {
                return true;
            }
            if let Some(run) = self
                .runs
                .iter_mut()
                .find(|r| r.running() && r.record.pid == pid)
            {
                run.reaped();
                run.drain(buf);
            } else if os::reap(pid).is_none() {
                return false;
            }
        }
        false
    }

    /// Writes and sends the exit record of every run whose output is complete (or has had
    /// its time); `force` publishes every exited run.
    fn publish_finished(&mut self, force: bool) {
        let mut done = Vec::new();
        for run in &mut self.runs {
            run.flush();
            let Some(at) = run.exited else { continue };
            if run.published || !(force || run.pipes_closed() || at.elapsed() >= DRAIN_LIMIT) {
                continue;
            }
            let _ = run.save();
            run.published = true;
            done.push(run.record.clone());
        }
        for record in done {
            if let Some(l) = self
                .latest
                .iter_mut()
                .find(|l| l.container == record.container && l.attempt == record.attempt)
            {
                *l = record.clone();
            }
            let mut line = serde_json::to_vec(&record).unwrap_or_default();
            line.push(b'\n');
            self.watchers
                .retain_mut(|w| os::write_all_bounded(w, &line, WRITE_TIMEOUT_MS).is_ok());
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if self.conns.len() >= MAX_CONNS || stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    self.conns.push(Conn {
                        stream,
                        buf: Vec::new(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // WouldBlock, or a client that gave up (ECONNABORTED): try again next turn.
                Err(_) => return,
            }
        }
    }

    /// Reads the ready clients; those with a complete line leave `conns` with it.
    fn read_requests(&mut self, mut ready: Vec<usize>) -> Vec<(UnixStream, Vec<u8>)> {
        let mut out = Vec::new();
        // Descending, so that swap_remove leaves the indices still to visit valid.
        ready.sort_unstable();
        for i in ready.into_iter().rev() {
            let conn = &mut self.conns[i];
            let result = os::read_available(&mut conn.stream, &mut conn.buf, MAX_REQUEST);
            let has_line = conn.buf.contains(&b'\n');
            match result {
                Ok(_) if has_line => {
                    let Conn { stream, mut buf } = self.conns.swap_remove(i);
                    let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
                    buf.truncate(end);
                    out.push((stream, buf));
                }
                Ok(false) => {}
                // EOF before a full line, or a read error: nothing to answer.
                Ok(true) | Err(_) => {
                    let mut conn = self.conns.swap_remove(i);
                    if let Err(e) = result {
                        respond(&mut conn.stream, &Response::Error(e.to_string()));
                    }
                }
            }
        }
        // Requests are answered in arrival order as far as we can tell: oldest conn first.
        out.reverse();
        out
    }

    /// Answers one request; `Some(code)` when the shim must exit.
    fn handle(&mut self, (mut stream, line): (UnixStream, Vec<u8>)) -> Option<i32> {
        let request = match serde_json::from_slice::<Request>(&line) {
            Ok(r) => r,
            Err(e) => {
                respond(
                    &mut stream,
                    &Response::Error(format!("shim: bad request: {e}")),
                );
                return None;
            }
        };
        let response = match request {
            Request::Start(req) => self.start(&req),
            Request::Signal { container, signal } => self.signal(&container, signal),
            Request::State => Response::State(ShimState {
                shim_pid: std::process::id() as i32,
                sandbox_pid: self.sandbox_pid,
                containers: self.latest.clone(),
            }),
            Request::Watch => {
                // The Ok line tells the client it is registered: exits from then on reach it.
                if respond(&mut stream, &Response::Ok) {
                    self.watchers.push(stream);
                }
                return None;
            }
            Request::Shutdown => {
                let code = self.teardown(0);
                respond(&mut stream, &Response::Ok);
                return Some(code);
            }
        };
        respond(&mut stream, &response);
        None
    }

    fn start(&mut self, req: &StartRequest) -> Response {
        if let Some(run) = self
            .runs
            .iter()
            .find(|r| r.running() && r.record.container == req.container)
        {
            return Response::StartFailed(super::protocol::StartError {
                kind: StartErrorKind::Invalid,
                message: format!(
                    "container {} is already running (pid {})",
                    req.container, run.record.pid
                ),
            });
        }
        let Some(sandbox) = &self.sandbox else {
            return Response::Error("shim: the pod sandbox is gone".to_string());
        };
        match Run::start(&self.pod_dir, sandbox, self.rotation(), req) {
            Ok(run) => {
                let record = run.record.clone();
                match self
                    .latest
                    .iter_mut()
                    .find(|l| l.container == record.container)
                {
                    Some(l) => *l = record.clone(),
                    None => self.latest.push(record.clone()),
                }
                self.runs.push(run);
                Response::Started(record)
            }
            Err(e) => Response::StartFailed(e),
        }
    }

    fn signal(&mut self, container: &str, signal: i32) -> Response {
        let Some(run) = self
            .runs
            .iter()
            .find(|r| r.running() && r.record.container == container)
        else {
            return Response::Ok;
        };
        let Some(pidfd) = &run.pidfd else {
            return Response::Ok;
        };
        match sys::pidfd_signal(pidfd.as_fd(), signal) {
            Err(e) if e.raw_os_error() != Some(libc::ESRCH) => Response::Error(format!(
                "signal {signal} to container {container} (pid {}): {e}",
                run.record.pid
            )),
            _ => Response::Ok,
        }
    }

    /// Kills every container, records how each ended, destroys the sandbox and removes the
    /// socket and pid file. Returns `code`.
    fn teardown(&mut self, code: i32) -> i32 {
        for run in self.runs.iter().filter(|r| r.running()) {
            if let Some(fd) = &run.pidfd {
                let _ = sys::pidfd_signal(fd.as_fd(), libc::SIGKILL);
            }
        }
        for run in &mut self.runs {
            run.reaped();
        }
        // With a shared pid namespace, the holder's death takes the containers' leftover
        // children (and their pipe ends) with it.
        if let Some(sb) = self.sandbox.take() {
            let _ = sb.destroy();
        }
        self.drain_all(Duration::from_secs(1));
        self.publish_finished(true);
        let _ = std::fs::remove_file(self.pod_dir.join(super::SOCKET));
        let _ = std::fs::remove_file(self.pod_dir.join(super::PID_FILE));
        code
    }

    /// Reads every open pipe until EOF or `limit`.
    fn drain_all(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut buf = [0u8; READ_CHUNK];
        loop {
            let mut fds = Vec::new();
            let mut which = Vec::new();
            for (i, run) in self.runs.iter().enumerate() {
                for (p, pipe) in run.pipes.iter().enumerate() {
                    if let Some(fd) = pipe {
                        fds.push(libc::pollfd {
                            fd: fd.as_raw_fd(),
                            events: libc::POLLIN,
                            revents: 0,
                        });
                        which.push((i, p));
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if fds.is_empty() || left.is_zero() {
                break;
            }
            // SAFETY: fds is a valid array of pollfds for its length.
            let n = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    left.as_millis().max(1) as i32,
                )
            };
            if n < 0 && sys::errno() != libc::EINTR {
                break;
            }
            for (pfd, (i, p)) in fds.iter().zip(which) {
                if pfd.revents != 0 {
                    while self.runs[i].pump(p, &mut buf) {}
                }
            }
        }
        for run in &mut self.runs {
            run.flush();
        }
    }
}

/// Writes one response line; false when the client is gone.
fn respond(stream: &mut UnixStream, response: &Response) -> bool {
    let mut line = serde_json::to_vec(response).unwrap_or_default();
    line.push(b'\n');
    os::write_all_bounded(stream, &line, WRITE_TIMEOUT_MS).is_ok()
}
