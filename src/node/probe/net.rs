//! httpGet and tcpSocket checks from inside the pod's network namespace. Each attempt runs on
//! its own short-lived thread that joins the namespace with setns(CLONE_NEWNET) (a thread
//! property, so the rest of peapod stays in the host's namespace) and uses blocking sockets
//! whose every step is bounded by the deadline. Error texts follow Go's net/http, which the
//! kubelet's messages quote (`dial tcp 127.0.0.1:81: connect: connection refused`).

use crate::runtime::container::sys;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Redirects the kubelet's HTTP client follows (Go's default).
const MAX_REDIRECTS: usize = 10;
/// Response head bytes we read at most.
const MAX_HEAD: usize = 64 * 1024;

/// Runs `f` on a new thread inside the network namespace of `sandbox_pid` and waits for its
/// answer. The thread ends on its own: `f` bounds every step by its deadline.
pub async fn in_pod_netns<T: Send + 'static>(
    sandbox_pid: i32,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("peapod-probe".to_string())
        .spawn(move || {
            let _ = tx.send(enter_netns(sandbox_pid).and_then(|()| f()));
        })
        .map_err(|e| format!("start a probe thread: {e}"))?;
    rx.await
        .unwrap_or_else(|_| Err("the probe thread ended without an answer".to_string()))
}

/// Joins the sandbox holder's network namespace on the calling thread. The pidfd pins the
/// process: if it is still alive after the namespace is open, the namespace is the pod's and
/// not that of a process that took over a recycled pid.
fn enter_netns(sandbox_pid: i32) -> Result<(), String> {
    let gone = || format!("the pod sandbox (pid {sandbox_pid}) is not running");
    let pidfd = sys::pidfd_open(sandbox_pid).map_err(|_| gone())?;
    let path = format!("/proc/{sandbox_pid}/ns/net");
    let ns = sys::open_path(&path, libc::O_RDONLY).map_err(|e| format!("open {path}: {e}"))?;
    if sys::pidfd_exited(pidfd.as_fd(), 0).unwrap_or(true) {
        return Err(gone());
    }
    nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("enter the pod's network namespace: {e}"))
}

/// Go's text for a socket error (`connect: connection refused`, `i/o timeout`).
fn go_error(e: &io::Error, op: &str) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "i/o timeout".to_string(),
        _ => {
            let text = match e.raw_os_error() {
                Some(code) => sys::errno_text(code).to_lowercase(),
                None => e.to_string(),
            };
            format!("{op}: {text}")
        }
    }
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Go's `net.Dial("tcp", ...)` with a deadline: `dial tcp HOST:PORT: ...` on failure.
fn dial(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, String> {
    let addr = join_host_port(host, port);
    let fail = |detail: String| format!("dial tcp {addr}: {detail}");
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("lookup {host}: {e}")))?
        .collect();
    let mut last = fail("no address".to_string());
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(fail("i/o timeout".to_string()));
        }
        match TcpStream::connect_timeout(&a, left) {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("dial tcp {a}: {}", go_error(&e, "connect")),
        }
    }
    Err(last)
}

/// tcpSocket: the connection opens within the timeout.
pub fn tcp_check(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    dial(host, port, Instant::now() + timeout).map(drop)
}

/// An httpGet request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpGet {
    pub host: String,
    pub port: u16,
    /// Path with query, as in the spec ("" is "/").
    pub path: String,
    /// httpHeaders in order; names are case-insensitive.
    pub headers: Vec<(String, String)>,
    /// `kube-probe/1.33` or `kube-lifecycle/1.33`, unless a header sets it.
    pub user_agent: String,
}

impl HttpGet {
    pub fn url(&self) -> String {
        format!(
            "http://{}{}",
            join_host_port(&self.host, self.port),
            normalize_path(&self.path)
        )
    }
}

fn normalize_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The status code of the last response, after following redirects on the same host (as the
/// kubelet's client does; a redirect elsewhere ends with the 3xx response). The error is Go's
/// `Get "URL": ...`.
pub fn http_get(req: &HttpGet, timeout: Duration) -> Result<u16, String> {
    let deadline = Instant::now() + timeout;
    let mut path = normalize_path(&req.path);
    for _ in 0..=MAX_REDIRECTS {
        let url = format!("http://{}{}", join_host_port(&req.host, req.port), path);
        let (status, location) =
            one_request(req, &path, deadline).map_err(|e| format!("Get {url:?}: {e}"))?;
        let Some(next) = location.filter(|_| matches!(status, 301 | 302 | 303 | 307 | 308)) else {
            return Ok(status);
        };
        match same_host_path(&next, &req.host, req.port) {
            Some(p) => path = p,
            None => return Ok(status),
        }
    }
    Err(format!("Get {:?}: stopped after 10 redirects", req.url()))
}

/// The path of a redirect that stays on the probed host and port (relative, or absolute
/// http:// to the same address). Go's client would also follow a redirect to another port of
/// the same host name; we keep to the one address we dial.
fn same_host_path(location: &str, host: &str, port: u16) -> Option<String> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(location.to_string());
    }
    let rest = location.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let same = authority == join_host_port(host, port) || (port == 80 && authority == host);
    same.then(|| path.to_string())
}

fn one_request(
    req: &HttpGet,
    path: &str,
    deadline: Instant,
) -> Result<(u16, Option<String>), String> {
    let timeout_msg = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
    let mut stream = dial(&req.host, req.port, deadline).map_err(|e| {
        if e.ends_with("i/o timeout") {
            timeout_msg.to_string()
        } else {
            e
        }
    })?;
    let has = |name: &str| {
        req.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let host_header = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| join_host_port(&req.host, req.port));
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {host_header}\r\n");
    if !has("user-agent") {
        head.push_str(&format!("User-Agent: {}\r\n", req.user_agent));
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (n, v) in &req.headers {
        if n.eq_ignore_ascii_case("host") || n.contains(['\r', '\n']) || v.contains(['\r', '\n']) {
            continue;
        }
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let io_err = |e: io::Error| match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timeout_msg.to_string(),
        _ => go_error(&e, "read"),
    };
    let left = |d: Instant| {
        let l = d.saturating_duration_since(Instant::now());
        if l.is_zero() {
            Err(timeout_msg.to_string())
        } else {
            Ok(l)
        }
    };
    stream
        .set_write_timeout(Some(left(deadline)?))
        .map_err(io_err)?;
    stream.write_all(head.as_bytes()).map_err(io_err)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find_head_end(&buf) {
            return parse_head(&buf[..end]);
        }
        if buf.len() > MAX_HEAD {
            return Err("net/http: response headers too large".to_string());
        }
        stream
            .set_read_timeout(Some(left(deadline)?))
            .map_err(io_err)?;
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(if buf.is_empty() {
                    "EOF".to_string()
                } else {
                    "unexpected EOF".to_string()
                });
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Status code and Location header of a response head.
fn parse_head(head: &[u8]) -> Result<(u16, Option<String>), String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let (true, Some(code)) = (version.starts_with("HTTP/1."), code) else {
        return Err(format!("malformed HTTP response {status_line:?}"));
    };
    let location = lines.find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Ok((code, location))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse() {
        assert_eq!(
            parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html").unwrap(),
            (404, None)
        );
        assert_eq!(
            parse_head(b"HTTP/1.0 302 Found\r\nlocation: /x").unwrap(),
            (302, Some("/x".to_string()))
        );
        assert!(parse_head(b"SSH-2.0-OpenSSH").is_err());
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n\r\nbody"), Some(15));
    }

    #[test]
    fn redirects_stay_on_the_host() {
        let same = |l: &str| same_host_path(l, "127.0.0.1", 8080);
        assert_eq!(same("/ok").as_deref(), Some("/ok"));
        assert_eq!(same("http://127.0.0.1:8080/a").as_deref(), Some("/a"));
        assert_eq!(same("http://127.0.0.1:8080").as_deref(), Some("/"));
        assert_eq!(same("http://127.0.0.1/a"), None, "another port");
        assert_eq!(same("http://example.com/a"), None);
        assert_eq!(same("//example.com/a"), None);
        assert_eq!(same("https://127.0.0.1:8080/a"), None);
    }

    #[test]
    fn urls_and_addresses() {
        let r = HttpGet {
            host: "::1".into(),
            port: 80,
            path: "healthz".into(),
            headers: vec![],
            user_agent: "kube-probe/1.33".into(),
        };
        assert_eq!(r.url(), "http://[::1]:80/healthz");
        assert_eq!(join_host_port("10.0.0.1", 8080), "10.0.0.1:8080");
    }
}
