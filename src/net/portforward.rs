//! Port-forward: local TCP listeners whose connections are joined to a port of a pod.
//!
//! Traffic reaches the pod the way the kubelet's CRI runtime does it: a socket is created
//! **inside the pod's network namespace** and connected to `127.0.0.1:REMOTE` (then `[::1]`),
//! so a forward works for every pod, with or without the pod network, and reaches ports the
//! pod binds on loopback only. The namespace is found through the pod's shim (its sandbox
//! holder process) in `<state>/pods/<uid>`.
//!
//! A tokio worker thread must never change namespace (it would carry other tasks into the
//! pod), so each connection is dialled by a short-lived dedicated thread that `setns`es and
//! connects; the connected socket is then handed to tokio. Thread creation costs tens of
//! microseconds, far below a connection's lifetime.

use crate::runtime::sandbox::Sandbox;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long a connect inside the pod may take in all.
const DIAL_TIMEOUT: Duration = Duration::from_secs(60);

/// The first attempt's wait for a connect; each next attempt waits twice as long, up to
/// [`DIAL_ATTEMPT_MAX`]. On loopback a connect completes at once unless the server's accept
/// backlog is full: then the SYN is dropped and the kernel would retransmit it only after 1,
/// 3, 7, 15 s… A burst of connections to a server with a small backlog (busybox httpd
/// listens with 9) would wait seconds; a fresh attempt every few hundred milliseconds gets
/// in as soon as the server has accepted.
const DIAL_ATTEMPT_FIRST: Duration = Duration::from_millis(50);
const DIAL_ATTEMPT_MAX: Duration = Duration::from_millis(400);

/// One forwarded port: `local` 0 means "pick a free port".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPair {
    pub local: u16,
    pub remote: u16,
}

/// Parses numeric port specs as kubectl's `parsePorts`: `8080:80`, `80` (same local port),
/// `:80` or `0:80` (a random local port). Names must have been translated to numbers first.
pub fn parse_ports(specs: &[String]) -> Result<Vec<PortPair>, String> {
    if specs.is_empty() {
        return Err("at least 1 PORT is required for port-forward".into());
    }
    specs.iter().map(|s| parse_port(s)).collect()
}

fn parse_port(spec: &str) -> Result<PortPair, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (local, remote) = match parts.as_slice() {
        [one] => (*one, *one),
        [l, r] => (if l.is_empty() { "0" } else { *l }, *r),
        _ => return Err(format!("invalid port format {spec:?}: use [LOCAL:]REMOTE")),
    };
    let local: u16 = local.parse().map_err(|_| {
        format!("error parsing local port {local:?} of {spec:?}: not a port number")
    })?;
    let remote: u16 = remote.parse().map_err(|_| {
        format!("error parsing remote port {remote:?} of {spec:?}: not a port number")
    })?;
    if remote == 0 {
        return Err(format!("remote port of {spec:?} must be > 0"));
    }
    Ok(PortPair { local, remote })
}

/// Whether a failed bind on this address fails the forward (kubectl's failure modes):
/// `localhost` fails only when neither 127.0.0.1 nor ::1 binds, an explicit IP always.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    All,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    pub ip: IpAddr,
    pub failure: FailureMode,
}

/// Parses `--address` values (each may be a comma list): `localhost` or IP addresses, as
/// kubectl does; duplicates are dropped.
pub fn parse_addresses(values: &[String]) -> Result<Vec<ListenAddr>, String> {
    let mut out: Vec<ListenAddr> = Vec::new();
    let mut push = |a: ListenAddr| {
        if !out.iter().any(|o| o.ip == a.ip) {
            out.push(a);
        }
    };
    let mut any = false;
    for item in values.iter().flat_map(|v| v.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        any = true;
        if item == "localhost" {
            for ip in [
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ] {
                push(ListenAddr {
                    ip,
                    failure: FailureMode::All,
                });
            }
        } else {
            let ip: IpAddr = item
                .parse()
                .map_err(|_| format!("{item} is not a valid IP or \"localhost\" in --address"))?;
            push(ListenAddr {
                ip,
                failure: FailureMode::Any,
            });
        }
    }
    if !any {
        return parse_addresses(&["localhost".to_string()]);
    }
    Ok(out)
}

/// The network namespace of a running pod, held open for the forward's lifetime.
#[derive(Debug, Clone)]
pub struct PodNetns {
    fd: Arc<OwnedFd>,
}

impl PodNetns {
    /// Opens the network namespace of the pod whose shim state is in `pod_dir`
    /// (`<state>/pods/<uid>`).
    pub async fn open(pod_dir: &Path) -> Result<PodNetns, String> {
        let shim = crate::runtime::shim::connect(pod_dir)
            .await
            .map_err(|e| format!("the pod's sandbox is not reachable: {e}"))?;
        let pid = shim.sandbox_pid;
        let fd = tokio::task::spawn_blocking(move || -> Result<OwnedFd, String> {
            let sandbox = Sandbox::from_pid(pid).map_err(|e| e.to_string())?;
            sandbox
                .net_ns()
                .try_clone_to_owned()
                .map_err(|e| format!("pod sandbox: duplicate the network namespace: {e}"))
        })
        .await
        .map_err(|e| format!("open the pod's network namespace: {e}"))??;
        Ok(PodNetns { fd: Arc::new(fd) })
    }

    /// A namespace given by an open fd (tests: a namespace the test created).
    pub fn from_fd(fd: OwnedFd) -> PodNetns {
        PodNetns { fd: Arc::new(fd) }
    }

    /// Connects to `port` on the pod's loopback: 127.0.0.1 first, then ::1 (what containerd
    /// does), from a thread inside the namespace.
    pub async fn connect(&self, port: u16) -> Result<TcpStream, String> {
        let fd = self.fd.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("pf-dial".into())
            .spawn(move || {
                let _ = tx.send(dial_in(&fd, port));
            })
            .map_err(|e| format!("start a thread to dial the pod: {e}"))?;
        let stream = rx
            .await
            .map_err(|_| "the dial thread ended without an answer".to_string())??;
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("socket to the pod: {e}"))?;
        TcpStream::from_std(stream).map_err(|e| format!("socket to the pod: {e}"))
    }
}

/// Runs on its own thread, which it moves into the namespace (and which ends afterwards).
fn dial_in(netns: &OwnedFd, port: u16) -> Result<std::net::TcpStream, String> {
    nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("enter the pod's network namespace: {e}"))?;
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match connect_patiently(v4) {
        Ok(s) => Ok(s),
        Err(e4) => connect_patiently(v6).map_err(|e6| {
            format!(
                "failed to connect to localhost:{port} inside the pod's network namespace, \
                 IPv4: {e4}, IPv6: {e6}"
            )
        }),
    }
}

/// Connects within [`DIAL_TIMEOUT`], starting over with a fresh socket whenever an attempt
/// times out (a dropped SYN), instead of waiting for the kernel's SYN back-off. Any other
/// error (refused, unreachable) ends it at once.
fn connect_patiently(addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    let deadline = std::time::Instant::now() + DIAL_TIMEOUT;
    let mut wait = DIAL_ATTEMPT_FIRST;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let attempt = wait.min(left).max(Duration::from_millis(1));
        match std::net::TcpStream::connect_timeout(&addr, attempt) {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut && !left.is_zero() => {
                wait = (wait * 2).min(DIAL_ATTEMPT_MAX);
            }
            other => return other,
        }
    }
}

/// What a running forward reports, for printing (CLI) or the forwards list (console).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardEvent {
    /// A listener is up: print `Forwarding from 127.0.0.1:8080 -> 80`.
    Listening { address: SocketAddr, remote: u16 },
    /// A connection was accepted: `Handling connection for 8080`.
    Connection { local: u16 },
    /// A connection could not be joined to the pod.
    Error {
        local: u16,
        remote: u16,
        message: String,
    },
}

impl ForwardEvent {
    /// The line kubectl prints for this event.
    pub fn line(&self) -> String {
        match self {
            ForwardEvent::Listening { address, remote } => {
                format!("Forwarding from {address} -> {remote}")
            }
            ForwardEvent::Connection { local } => format!("Handling connection for {local}"),
            ForwardEvent::Error {
                local,
                remote,
                message,
            } => format!("an error occurred forwarding {local} -> {remote}: {message}"),
        }
    }
}

/// A running forward. Stopping (or dropping) it closes the listeners and every connection.
#[derive(Debug)]
pub struct Forward {
    listeners: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    /// What is bound: (local address, remote port).
    pub bound: Vec<(SocketAddr, u16)>,
}

impl Forward {
    /// Binds every port on every address (a random local port is chosen once, then used on
    /// the other addresses, as kubectl does) and starts accepting.
    pub async fn start(
        netns: PodNetns,
        addresses: &[ListenAddr],
        ports: &[PortPair],
        events: mpsc::UnboundedSender<ForwardEvent>,
    ) -> Result<Forward, String> {
        let (stop, stop_rx) = watch::channel(false);
        let mut forward = Forward {
            listeners: Vec::new(),
            stop,
            bound: Vec::new(),
        };
        for pair in ports {
            let mut local = pair.local;
            let mut errors = Vec::new();
            let (mut ok_all, mut failed_all, mut failed_any) = (0, 0, 0);
            for addr in addresses {
                match TcpListener::bind(SocketAddr::new(addr.ip, local)).await {
                    Ok(listener) => {
                        let address = listener
                            .local_addr()
                            .map_err(|e| format!("listener on {}: {e}", addr.ip))?;
                        local = address.port();
                        if addr.failure == FailureMode::All {
                            ok_all += 1;
                        }
                        let _ = events.send(ForwardEvent::Listening {
                            address,
                            remote: pair.remote,
                        });
                        forward.bound.push((address, pair.remote));
                        forward.listeners.push(tokio::spawn(accept_loop(
                            listener,
                            netns.clone(),
                            pair.remote,
                            events.clone(),
                            stop_rx.clone(),
                        )));
                    }
                    Err(e) => {
                        errors.push(format!(
                            "unable to listen on {}: {e}",
                            SocketAddr::new(addr.ip, local)
                        ));
                        match addr.failure {
                            FailureMode::All => failed_all += 1,
                            FailureMode::Any => failed_any += 1,
                        }
                    }
                }
            }
            if (ok_all == 0 && failed_all > 0) || failed_any > 0 {
                return Err(format!(
                    "unable to listen on port {}: {}",
                    pair.local,
                    errors.join("; ")
                ));
            }
        }
        Ok(forward)
    }

    /// Closes the listeners and the connections in flight.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        for l in &self.listeners {
            l.abort();
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(
    listener: TcpListener,
    netns: PodNetns,
    remote: u16,
    events: mpsc::UnboundedSender<ForwardEvent>,
    stop: watch::Receiver<bool>,
) {
    let local = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    loop {
        let (client, _) = match listener.accept().await {
            Ok(c) => c,
            // EMFILE and friends: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = events.send(ForwardEvent::Connection { local });
        let (netns, events, mut stop) = (netns.clone(), events.clone(), stop.clone());
        tokio::spawn(async move {
            let joined = async {
                let mut upstream = netns.connect(remote).await?;
                let mut client = client;
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                // A reset by either side just ends the connection, as with a direct one.
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                Ok::<(), String>(())
            };
            tokio::select! {
                r = joined => {
                    if let Err(message) = r {
                        let _ = events.send(ForwardEvent::Error { local, remote, message });
                    }
                }
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}

#[cfg(test)]
mod tests;
