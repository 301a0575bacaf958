//! A minimal rtnetlink client: the handful of link, address and route messages the pod
//! network needs, built by hand on a NETLINK_ROUTE socket. A pod's network is one veth
//! creation (host end up and enslaved to the bridge, peer created as `eth0` directly in the
//! pod's namespace), then inside the pod eth0 up, its address and the default route: a
//! handful of round trips of a few hundred bytes, synchronous, with no async runtime or
//! message framework around them.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;

const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RTN_UNICAST: u8 = 1;

const IFF_UP: u32 = libc::IFF_UP as u32;

/// A failed netlink request: what was asked and the kernel's errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlError {
    pub what: String,
    pub errno: i32,
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = std::io::Error::from_raw_os_error(self.errno);
        write!(f, "{}: {msg}", self.what)
    }
}

impl NlError {
    pub fn exists(&self) -> bool {
        self.errno == libc::EEXIST
    }
    pub fn no_device(&self) -> bool {
        self.errno == libc::ENODEV
    }
}

/// A message under construction: header, fixed part, attributes (nested ones by offset).
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by `finish`
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // sequence, set by `finish`
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        Msg { buf }
    }

    /// `struct ifinfomsg`.
    fn ifinfo(mut self, index: i32, flags: u32, change: u32) -> Msg {
        self.put_ifinfo(index, flags, change);
        self
    }

    fn put_ifinfo(&mut self, index: i32, flags: u32, change: u32) {
        self.buf
            .extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    fn attr(mut self, kind: u16, data: &[u8]) -> Msg {
        self.put_attr(kind, data);
        self
    }

    fn put_attr(&mut self, kind: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn str_attr(self, kind: u16, s: &str) -> Msg {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.attr(kind, &data)
    }

    fn put_str_attr(&mut self, kind: u16, s: &str) {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        self.put_attr(kind, &data);
    }

    /// Starts a nested attribute; `end_nest` writes its length.
    fn begin_nest(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        at
    }

    fn end_nest(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// A link as a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: i32,
    pub name: String,
    pub master: Option<i32>,
    /// `IFLA_INFO_KIND`: "veth", "bridge", ... (empty for plain devices).
    pub kind: String,
}

/// A NETLINK_ROUTE socket of the network namespace it was opened in.
pub struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink, NlError> {
        // SAFETY: socket(2) takes no pointers; the fd is owned at once.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(NlError {
                what: "open a netlink socket".into(),
                errno: errno(),
            });
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Netlink { fd, seq: 0 })
    }

    fn send(&mut self, msg: Msg, what: &dyn Fn() -> String) -> Result<u32, NlError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = msg.finish(seq);
        // SAFETY: the buffer outlives the call; an unbound netlink socket sends to the kernel.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
        if n < 0 {
            return Err(NlError {
                what: what(),
                errno: errno(),
            });
        }
        Ok(seq)
    }

    fn recv(&self, buf: &mut [u8], what: &dyn Fn() -> String) -> Result<usize, NlError> {
        loop {
            // SAFETY: recv writes at most buf.len() bytes into buf.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = errno();
            if e != libc::EINTR {
                return Err(NlError {
                    what: what(),
                    errno: e,
                });
            }
        }
    }

    /// Sends `msg` with NLM_F_ACK and waits for the kernel's answer.
    fn request(&mut self, msg: Msg, what: &dyn Fn() -> String) -> Result<(), NlError> {
        let seq = self.send(msg, what)?;
        let mut buf = [0u8; 4096];
        loop {
            let n = self.recv(&mut buf, what)?;
            for (kind, msg_seq, payload) in messages(&buf[..n]) {
                if msg_seq != seq || kind != NLMSG_ERROR {
                    continue;
                }
                let code = payload
                    .get(0..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .unwrap_or(-libc::EIO);
                return if code == 0 {
                    Ok(())
                } else {
                    Err(NlError {
                        what: what(),
                        errno: -code,
                    })
                };
            }
        }
    }

    /// Creates bridge `name`, up. EEXIST when it exists.
    pub fn create_bridge(&mut self, name: &str) -> Result<(), NlError> {
        let mut msg = Msg::new(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .ifinfo(0, IFF_UP, IFF_UP)
            .str_attr(IFLA_IFNAME, name);
        let info = msg.begin_nest(IFLA_LINKINFO);
        msg.put_str_attr(IFLA_INFO_KIND, "bridge");
        msg.end_nest(info);
        self.request(msg, &|| format!("create bridge {name}"))
    }

    /// Sets IFF_UP on link `index`.
    pub fn set_up(&mut self, index: i32) -> Result<(), NlError> {
        let msg = Msg::new(RTM_NEWLINK, NLM_F_ACK).ifinfo(index, IFF_UP, IFF_UP);
        self.request(msg, &|| format!("bring up link {index}"))
    }

    /// Creates a veth pair: `host` up and enslaved to `master`, its peer `peer` created (down)
    /// directly in the network namespace `netns`.
    pub fn create_veth(
        &mut self,
        host: &str,
        master: i32,
        peer: &str,
        netns: RawFd,
    ) -> Result<(), NlError> {
        let mut msg = Msg::new(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .ifinfo(0, IFF_UP, IFF_UP)
            .str_attr(IFLA_IFNAME, host)
            .attr(IFLA_MASTER, &(master as u32).to_ne_bytes());
        let info = msg.begin_nest(IFLA_LINKINFO);
        msg.put_str_attr(IFLA_INFO_KIND, "veth");
        let data = msg.begin_nest(IFLA_INFO_DATA);
        let peer_at = msg.begin_nest(VETH_INFO_PEER);
        // The peer cannot be created up: the kernel configures it before the pair is linked
        // (veth_open fails with ENOTCONN). `set_up` it from inside its namespace.
        msg.put_ifinfo(0, 0, 0);
        msg.put_str_attr(IFLA_IFNAME, peer);
        msg.put_attr(IFLA_NET_NS_FD, &(netns as u32).to_ne_bytes());
        msg.end_nest(peer_at);
        msg.end_nest(data);
        msg.end_nest(info);
        self.request(msg, &|| format!("create veth {host}"))
    }

    /// Deletes link `name`. ENODEV when there is none.
    pub fn delete_link(&mut self, name: &str) -> Result<(), NlError> {
        let msg = Msg::new(RTM_DELLINK, NLM_F_ACK)
            .ifinfo(0, 0, 0)
            .str_attr(IFLA_IFNAME, name);
        self.request(msg, &|| format!("delete link {name}"))
    }

    /// Adds `ip/prefix` (with its broadcast address) to link `index`. EEXIST when present.
    pub fn add_address(
        &mut self,
        index: i32,
        ip: Ipv4Addr,
        prefix: u8,
        broadcast: Ipv4Addr,
    ) -> Result<(), NlError> {
        let mut msg = Msg::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        // struct ifaddrmsg: family, prefixlen, flags, scope, index.
        msg.buf
            .extend_from_slice(&[libc::AF_INET as u8, prefix, 0, 0]);
        msg.buf.extend_from_slice(&(index as u32).to_ne_bytes());
        let msg = msg
            .attr(IFA_LOCAL, &ip.octets())
            .attr(IFA_ADDRESS, &ip.octets())
            .attr(IFA_BROADCAST, &broadcast.octets());
        self.request(msg, &|| {
            format!("add address {ip}/{prefix} to link {index}")
        })
    }

    /// Adds the default route via `gateway` on link `index`. EEXIST when present.
    pub fn add_default_route(&mut self, index: i32, gateway: Ipv4Addr) -> Result<(), NlError> {
        let mut msg = Msg::new(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
        msg.buf.extend_from_slice(&[
            libc::AF_INET as u8,
            0,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_BOOT,
            0,
            RTN_UNICAST,
        ]);
        msg.buf.extend_from_slice(&0u32.to_ne_bytes());
        let msg = msg
            .attr(RTA_GATEWAY, &gateway.octets())
            .attr(RTA_OIF, &(index as u32).to_ne_bytes());
        self.request(msg, &|| format!("add the default route via {gateway}"))
    }

    /// The link called `name`, if any.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>, NlError> {
        let msg = Msg::new(RTM_GETLINK, 0)
            .ifinfo(0, 0, 0)
            .str_attr(IFLA_IFNAME, name);
        let what = || format!("look up link {name}");
        let seq = self.send(msg, &what)?;
        let mut buf = vec![0u8; 16384];
        loop {
            let n = self.recv(&mut buf, &what)?;
            for (kind, msg_seq, payload) in messages(&buf[..n]) {
                if msg_seq != seq {
                    continue;
                }
                if kind == NLMSG_ERROR {
                    let code = payload
                        .get(0..4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(-libc::EIO);
                    return if code == -libc::ENODEV || code == 0 {
                        Ok(None)
                    } else {
                        Err(NlError {
                            what: what(),
                            errno: -code,
                        })
                    };
                }
                if kind == RTM_NEWLINK {
                    return Ok(parse_link(payload));
                }
            }
        }
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, NlError> {
        let msg = Msg::new(RTM_GETLINK, NLM_F_DUMP).ifinfo(0, 0, 0);
        let what = || "list links".to_string();
        let seq = self.send(msg, &what)?;
        let mut buf = vec![0u8; 65536];
        let mut out = Vec::new();
        loop {
            let n = self.recv(&mut buf, &what)?;
            for (kind, msg_seq, payload) in messages(&buf[..n]) {
                if msg_seq != seq {
                    continue;
                }
                match kind {
                    NLMSG_DONE => return Ok(out),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(0..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .unwrap_or(-libc::EIO);
                        return Err(NlError {
                            what: what(),
                            errno: -code,
                        });
                    }
                    RTM_NEWLINK => out.extend(parse_link(payload)),
                    _ => {}
                }
            }
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The messages in a datagram: (type, sequence, payload after the header).
fn messages(buf: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while let (Some(len), Some(kind), Some(seq)) =
        (u32_at(buf, at), u16_at(buf, at + 4), u32_at(buf, at + 8))
    {
        let len = len as usize;
        if len < 16 || at + len > buf.len() {
            break;
        }
        out.push((kind, seq, &buf[at + 16..at + len]));
        at += (len + 3) & !3;
    }
    out
}

/// The attributes in `buf`: (type without flags, data).
fn attrs(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while let (Some(len), Some(kind)) = (u16_at(buf, at), u16_at(buf, at + 2)) {
        let len = len as usize;
        if len < 4 || at + len > buf.len() {
            break;
        }
        out.push((kind & 0x3fff, &buf[at + 4..at + len]));
        at += (len + 3) & !3;
    }
    out
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// An RTM_NEWLINK payload: ifinfomsg (16 bytes) then attributes.
fn parse_link(payload: &[u8]) -> Option<Link> {
    let index = u32_at(payload, 4)? as i32;
    let mut link = Link {
        index,
        name: String::new(),
        master: None,
        kind: String::new(),
    };
    for (kind, data) in attrs(payload.get(16..)?) {
        match kind {
            IFLA_IFNAME => link.name = c_string(data),
            IFLA_MASTER => link.master = u32_at(data, 0).map(|m| m as i32),
            IFLA_LINKINFO => {
                for (k, d) in attrs(data) {
                    if k == IFLA_INFO_KIND {
                        link.kind = c_string(d);
                    }
                }
            }
            _ => {}
        }
    }
    Some(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_nested_attributes_with_lengths_and_padding() {
        let mut msg = Msg::new(RTM_NEWLINK, NLM_F_ACK).ifinfo(0, IFF_UP, IFF_UP);
        let at = msg.begin_nest(IFLA_LINKINFO);
        msg.put_str_attr(IFLA_INFO_KIND, "veth");
        msg.end_nest(at);
        let bytes = msg.finish(7);
        assert_eq!(u32_at(&bytes, 0), Some(bytes.len() as u32));
        assert_eq!(u32_at(&bytes, 8), Some(7));
        // header 16 + ifinfomsg 16 + nest header 4 + "veth\0" attr (4 + 5, padded to 12)
        assert_eq!(bytes.len(), 16 + 16 + 4 + 12);
        let top = attrs(&bytes[32..]);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0, IFLA_LINKINFO);
        let inner = attrs(top[0].1);
        assert_eq!(inner[0], (IFLA_INFO_KIND, &b"veth\0"[..]));
    }

    #[test]
    fn lists_the_loopback_link() {
        // Unprivileged: reading links needs no capability.
        let mut nl = Netlink::open().unwrap();
        let lo = nl.link("lo").unwrap().expect("every namespace has lo");
        assert_eq!(lo.index, 1);
        assert!(nl.links().unwrap().iter().any(|l| l.name == "lo"));
        assert_eq!(nl.link("no-such-link0").unwrap(), None);
    }
}
