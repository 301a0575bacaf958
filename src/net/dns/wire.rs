//! The DNS message format (RFC 1035) as far as a cluster resolver needs it: parse a query
//! (header, one question, an EDNS OPT record for the client's UDP size), build a response
//! with compressed names, and truncate it (TC bit) to what the transport allows.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_OPT: u16 = 41;
pub const TYPE_ANY: u16 = 255;
pub const CLASS_IN: u16 = 1;

pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_FORMERR: u8 = 1;
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_NOTIMP: u8 = 4;

/// The classic UDP limit without EDNS.
pub const UDP_DEFAULT_SIZE: usize = 512;
/// What we accept as an EDNS UDP size at most (and advertise).
pub const UDP_MAX_SIZE: usize = 4096;

/// A parsed query: what the server needs to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub opcode: u8,
    pub recursion_desired: bool,
    /// Lower-case, without the trailing dot ("" is the root).
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// The client's EDNS UDP payload size, when it sent an OPT record.
    pub edns_size: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not even a header: nothing can be answered.
    TooShort,
    /// A response (QR set): never answered, so two servers cannot bounce messages forever.
    NotAQuery,
    /// A header we can answer with FORMERR (or NOTIMP) keeping its id.
    Bad { id: u16, rcode: u8 },
}

/// Record data of the kinds we answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Ptr(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
}

impl RData {
    pub fn rtype(&self) -> u16 {
        match self {
            RData::A(_) => TYPE_A,
            RData::Aaaa(_) => TYPE_AAAA,
            RData::Cname(_) => TYPE_CNAME,
            RData::Ptr(_) => TYPE_PTR,
            RData::Srv { .. } => TYPE_SRV,
            RData::Soa { .. } => TYPE_SOA,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Lower-case owner name without the trailing dot.
    pub name: String,
    pub ttl: u32,
    pub data: RData,
}

/// What to send back for a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub rcode: u8,
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset after it.
pub fn read_name(msg: &[u8], at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut pos = at;
    let mut end = None;
    let mut jumps = 0;
    let mut total = 0usize;
    loop {
        let len = *msg.get(pos)? as usize;
        match len & 0xC0 {
            0x00 => {
                if len == 0 {
                    let after = end.unwrap_or(pos + 1);
                    return Some((labels.join("."), after));
                }
                let label = msg.get(pos + 1..pos + 1 + len)?;
                total += len + 1;
                if total > 255 {
                    return None;
                }
                labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                pos += 1 + len;
            }
            0xC0 => {
                let target = (u16_at(msg, pos)? & 0x3FFF) as usize;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                jumps += 1;
                // Pointers must go backwards; a bounded count also stops loops.
                if jumps > 64 || target >= pos {
                    return None;
                }
                pos = target;
            }
            _ => return None,
        }
    }
}

/// Parses a query message.
pub fn parse_query(msg: &[u8]) -> Result<Query, ParseError> {
    if msg.len() < 12 {
        return Err(ParseError::TooShort);
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let flags = u16::from_be_bytes([msg[2], msg[3]]);
    let formerr = ParseError::Bad {
        id,
        rcode: RCODE_FORMERR,
    };
    if flags & 0x8000 != 0 {
        return Err(ParseError::NotAQuery);
    }
    let opcode = ((flags >> 11) & 0x0F) as u8;
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    let ancount = u16::from_be_bytes([msg[6], msg[7]]);
    let nscount = u16::from_be_bytes([msg[8], msg[9]]);
    let arcount = u16::from_be_bytes([msg[10], msg[11]]);
    if opcode != 0 {
        return Err(ParseError::Bad {
            id,
            rcode: RCODE_NOTIMP,
        });
    }
    if qdcount != 1 {
        return Err(formerr);
    }
    let (name, mut pos) = read_name(msg, 12).ok_or(formerr.clone())?;
    let qtype = u16_at(msg, pos).ok_or(formerr.clone())?;
    let qclass = u16_at(msg, pos + 2).ok_or(formerr.clone())?;
    pos += 4;
    let mut edns_size = None;
    // Skip answers and authority; look for OPT in the additional section.
    let records = ancount as usize + nscount as usize + arcount as usize;
    for i in 0..records {
        let (_, after) = read_name(msg, pos).ok_or(formerr.clone())?;
        let rtype = u16_at(msg, after).ok_or(formerr.clone())?;
        let class = u16_at(msg, after + 2).ok_or(formerr.clone())?;
        let rdlen = u16_at(msg, after + 8).ok_or(formerr.clone())? as usize;
        if i >= (ancount as usize + nscount as usize) && rtype == TYPE_OPT {
            edns_size = Some(class);
        }
        pos = after + 10 + rdlen;
        if pos > msg.len() {
            return Err(formerr);
        }
    }
    Ok(Query {
        id,
        opcode,
        recursion_desired: flags & 0x0100 != 0,
        name,
        qtype,
        qclass,
        edns_size,
    })
}

/// Builds messages with name compression.
struct Writer {
    buf: Vec<u8>,
    names: HashMap<String, u16>,
}

impl Writer {
    fn name(&mut self, name: &str) {
        let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if let Some(&off) = self.names.get(&suffix) {
                self.buf.extend_from_slice(&(0xC000 | off).to_be_bytes());
                return;
            }
            if self.buf.len() < 0x3FFF {
                self.names.insert(suffix, self.buf.len() as u16);
            }
            let label = labels[i].as_bytes();
            let len = label.len().min(63);
            self.buf.push(len as u8);
            self.buf.extend_from_slice(&label[..len]);
        }
        self.buf.push(0);
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn record(&mut self, r: &Record) {
        self.name(&r.name);
        self.u16(r.data.rtype());
        self.u16(CLASS_IN);
        self.u32(r.ttl);
        let len_at = self.buf.len();
        self.u16(0);
        match &r.data {
            RData::A(ip) => self.buf.extend_from_slice(&ip.octets()),
            RData::Aaaa(ip) => self.buf.extend_from_slice(&ip.octets()),
            RData::Cname(n) | RData::Ptr(n) => self.name(n),
            RData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                self.u16(*priority);
                self.u16(*weight);
                self.u16(*port);
                // RFC 2782: the target is not compressed.
                let saved = std::mem::take(&mut self.names);
                self.name(target);
                self.names = saved;
            }
            RData::Soa {
                mname,
                rname,
                serial,
                refresh,
                retry,
                expire,
                minimum,
            } => {
                self.name(mname);
                self.name(rname);
                for v in [serial, refresh, retry, expire, minimum] {
                    self.u32(*v);
                }
            }
        }
        let len = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

/// Encodes the response to `q` with at most `answers` answer records; `truncated` sets TC.
fn encode(q: &Query, a: &Answer, answers: usize, truncated: bool) -> Vec<u8> {
    let mut w = Writer {
        buf: Vec::with_capacity(512),
        names: HashMap::new(),
    };
    let full = !truncated;
    let answers = &a.answers[..answers.min(a.answers.len())];
    let authority: &[Record] = if full { &a.authority } else { &[] };
    let additional: &[Record] = if full { &a.additional } else { &[] };
    w.u16(q.id);
    let mut flags: u16 = 0x8000 | ((q.opcode as u16 & 0x0F) << 11) | 0x0080; // QR, RA
    if a.authoritative {
        flags |= 0x0400;
    }
    if truncated {
        flags |= 0x0200;
    }
    if q.recursion_desired {
        flags |= 0x0100;
    }
    flags |= (a.rcode & 0x0F) as u16;
    w.u16(flags);
    w.u16(1);
    w.u16(answers.len() as u16);
    w.u16(authority.len() as u16);
    w.u16(additional.len() as u16 + u16::from(q.edns_size.is_some()));
    w.name(&q.name);
    w.u16(q.qtype);
    w.u16(q.qclass);
    for r in answers.iter().chain(authority).chain(additional) {
        w.record(r);
    }
    if q.edns_size.is_some() {
        // OPT: root name, our UDP size, no extended rcode, no options.
        w.buf.push(0);
        w.u16(TYPE_OPT);
        w.u16(UDP_MAX_SIZE as u16);
        w.u32(0);
        w.u16(0);
    }
    w.buf
}

/// The largest message the client takes over UDP (EDNS size, at least 512).
pub fn udp_limit(q: &Query) -> usize {
    q.edns_size
        .map(|s| (s as usize).clamp(UDP_DEFAULT_SIZE, UDP_MAX_SIZE))
        .unwrap_or(UDP_DEFAULT_SIZE)
}

/// Encodes the response within `limit` bytes: whole if it fits, else with as many answer
/// records as fit, no authority/additional records, and the TC bit (the client retries
/// over TCP).
pub fn build_response(q: &Query, a: &Answer, limit: usize) -> Vec<u8> {
    let whole = encode(q, a, a.answers.len(), false);
    if whole.len() <= limit {
        return whole;
    }
    // Binary search for the most answers that fit.
    let (mut lo, mut hi) = (0usize, a.answers.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if encode(q, a, mid, true).len() <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    encode(q, a, lo, true)
}

/// A header-only error response (FORMERR, NOTIMP, SERVFAIL) echoing what was parseable.
pub fn error_response(id: u16, rcode: u8, request: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&id.to_be_bytes());
    let opcode_rd = request
        .get(2)
        .map(|f| u16::from(f & 0x79) << 8)
        .unwrap_or(0);
    let flags: u16 = 0x8000 | opcode_rd | 0x0080 | rcode as u16;
    b.extend_from_slice(&flags.to_be_bytes());
    b.extend_from_slice(&[0; 8]);
    b
}

/// A query message (for forwarding tests and the fake upstream).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut w = Writer {
        buf: Vec::new(),
        names: HashMap::new(),
    };
    w.u16(id);
    w.u16(0x0100);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    w.name(name);
    w.u16(qtype);
    w.u16(CLASS_IN);
    w.buf
}
