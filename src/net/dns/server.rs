//! The DNS server: UDP and TCP on one address, answers from the current cluster zone, and
//! forwards names outside the cluster domain to the upstream resolvers (the host's, from
//! /etc/resolv.conf), first over UDP and over TCP when the answer was truncated for a TCP
//! client.

use super::wire::{self, RCODE_SERVFAIL, TYPE_PTR};
use super::zone::Zone;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// The zone the server answers from, replaced whole whenever services or endpoints change.
#[derive(Debug, Default)]
pub struct SharedZone(RwLock<Arc<Zone>>);

impl SharedZone {
    pub fn new(zone: Zone) -> SharedZone {
        SharedZone(RwLock::new(Arc::new(zone)))
    }

    pub fn get(&self) -> Arc<Zone> {
        match self.0.read() {
            Ok(z) => z.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, zone: Zone) {
        match self.0.write() {
            Ok(mut z) => *z = Arc::new(zone),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(zone),
        }
    }
}

/// Where names outside the cluster domain go.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub servers: Vec<SocketAddr>,
    /// Per server and attempt.
    pub timeout: Duration,
}

impl Upstream {
    /// The nameservers of a resolv.conf text (port 53), skipping none: the server runs in
    /// the host's network namespace, so a loopback resolver (systemd-resolved) works.
    pub fn from_resolv_conf(text: &str) -> Upstream {
        let servers = text
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("nameserver")).then(|| w.next()).flatten()
            })
            .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        Upstream {
            servers,
            timeout: Duration::from_secs(2),
        }
    }

    /// The host's resolvers from /etc/resolv.conf (none if it cannot be read).
    pub fn from_host() -> Upstream {
        Upstream::from_resolv_conf(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
    }
}

/// What a query is answered from.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub zone: Arc<SharedZone>,
    pub upstream: Upstream,
}

/// The transport a query came on: UDP responses are truncated to the client's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Resolver {
    /// The response to one request message (`None`: too short to answer at all).
    pub async fn respond(&self, request: &[u8], transport: Transport) -> Option<Vec<u8>> {
        let q = match wire::parse_query(request) {
            Ok(q) => q,
            Err(wire::ParseError::TooShort | wire::ParseError::NotAQuery) => return None,
            Err(wire::ParseError::Bad { id, rcode }) => {
                return Some(wire::error_response(id, rcode, request));
            }
        };
        let zone = self.zone.get();
        let local = zone.in_domain(&q.name) || (q.qtype == TYPE_PTR && zone.knows_reverse(&q.name));
        if local {
            let answer = zone.lookup(&q.name, q.qtype);
            let limit = match transport {
                Transport::Udp => wire::udp_limit(&q),
                Transport::Tcp => u16::MAX as usize,
            };
            return Some(wire::build_response(&q, &answer, limit));
        }
        Some(match self.forward(request, transport).await {
            Some(answer) => answer,
            None => {
                let failed = wire::Answer {
                    rcode: RCODE_SERVFAIL,
                    ..Default::default()
                };
                wire::build_response(&q, &failed, wire::udp_limit(&q))
            }
        })
    }

    async fn forward(&self, request: &[u8], transport: Transport) -> Option<Vec<u8>> {
        for server in &self.upstream.servers {
            let Some(answer) = forward_udp(*server, request, self.upstream.timeout).await else {
                continue;
            };
            let truncated = answer.get(2).is_some_and(|f| f & 0x02 != 0);
            if truncated
                && transport == Transport::Tcp
                && let Some(full) = forward_tcp(*server, request, self.upstream.timeout).await
            {
                return Some(full);
            }
            return Some(answer);
        }
        None
    }
}

async fn forward_udp(server: SocketAddr, request: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .ok()?;
    let sock = UdpSocket::bind(bind).await.ok()?;
    sock.connect(server).await.ok()?;
    sock.send(request).await.ok()?;
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, sock.recv(&mut buf))
            .await
            .ok()?
            .ok()?;
        // Only the answer to this query (same id) counts.
        if n >= 12 && buf[..2] == request[..2] {
            buf.truncate(n);
            return Some(buf);
        }
    }
}

async fn forward_tcp(server: SocketAddr, request: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(timeout, async {
        let mut s = TcpStream::connect(server).await.ok()?;
        write_framed(&mut s, request).await.ok()?;
        read_framed(&mut s).await.ok()?
    })
    .await
    .ok()?
}

async fn write_framed(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(msg.len()).map_err(|_| std::io::ErrorKind::InvalidData)?;
    let mut out = Vec::with_capacity(msg.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(msg);
    s.write_all(&out).await
}

/// One length-prefixed message; `None` at a clean end of stream.
async fn read_framed(s: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match s.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).await?;
    Ok(Some(msg))
}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct DnsServer {
    pub udp_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// How long a TCP client may stay idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Serves DNS on `addr` over UDP and TCP (port 0: a free port, the same for both when it can
/// be had). Production: the pod network's gateway, port 53.
pub async fn serve(addr: SocketAddr, resolver: Resolver) -> std::io::Result<DnsServer> {
    let udp = UdpSocket::bind(addr).await?;
    let udp_addr = udp.local_addr()?;
    let tcp = match TcpListener::bind(udp_addr).await {
        Ok(t) => t,
        Err(_) if addr.port() == 0 => TcpListener::bind(addr).await?,
        Err(e) => return Err(e),
    };
    let tcp_addr = tcp.local_addr()?;
    let resolver = Arc::new(resolver);
    let udp = Arc::new(udp);
    let r = resolver.clone();
    let udp_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65535];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let request = buf[..n].to_vec();
            let (r, udp) = (r.clone(), udp.clone());
            tokio::spawn(async move {
                if let Some(resp) = r.respond(&request, Transport::Udp).await {
                    let _ = udp.send_to(&resp, peer).await;
                }
            });
        }
    });
    let tcp_task = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let r = resolver.clone();
            tokio::spawn(async move {
                while let Ok(Ok(Some(request))) =
                    tokio::time::timeout(TCP_IDLE, read_framed(&mut conn)).await
                {
                    let Some(resp) = r.respond(&request, Transport::Tcp).await else {
                        return;
                    };
                    if write_framed(&mut conn, &resp).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(DnsServer {
        udp_addr,
        tcp_addr,
        tasks: vec![udp_task, tcp_task],
    })
}
