//! The cluster zone: every name the Kubernetes DNS specification defines, precomputed from
//! plain service data, and the lookup that answers a question from it (as CoreDNS's
//! kubernetes plugin does).
//!
//! - `<svc>.<ns>.svc.<domain>`: A/AAAA of the ClusterIP; headless: the ready endpoint IPs;
//!   ExternalName: a CNAME.
//! - `<hostname>.<svc>.<ns>.svc.<domain>` for endpoints with a hostname (StatefulSet pods of
//!   a headless service), `<a-b-c-d>.<svc>.<ns>.svc.<domain>` for the other headless ones.
//! - `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV for named ports (and SRV of all ports on
//!   the service name itself).
//! - `<a-b-c-d>.<ns>.pod.<domain>`: A of the dashed address (CoreDNS's `pods insecure`).
//! - PTR of ClusterIPs and of headless endpoint IPs (to their member names).
//!
//! A name that exists with no record of the asked type answers NOERROR with no records
//! (so AAAA of an IPv4 service is empty, not NXDOMAIN); a name that does not exist in the
//! domain is NXDOMAIN; both carry the zone's SOA.

use super::wire::{Answer, RCODE_NOERROR, RCODE_NXDOMAIN, RData, Record, TYPE_ANY, TYPE_SOA};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

/// CoreDNS's default TTL for cluster records.
pub const TTL: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub name: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAddress {
    pub ip: IpAddr,
    pub hostname: Option<String>,
}

/// What DNS needs to know of one Service and its ready endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceEntry {
    pub name: String,
    pub namespace: String,
    /// Empty for headless and ExternalName services.
    pub cluster_ips: Vec<IpAddr>,
    pub headless: bool,
    pub external_name: Option<String>,
    pub ports: Vec<ServicePort>,
    /// Ready addresses (headless services answer with these).
    pub endpoints: Vec<EndpointAddress>,
    /// The ports of the endpoints (headless SRV records use these).
    pub endpoint_ports: Vec<ServicePort>,
}

/// The precomputed cluster zone.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    domain: String,
    records: HashMap<String, Vec<RData>>,
    /// Names that exist without records of their own (`svc.cluster.local`, a namespace…).
    exists: HashSet<String>,
}

fn dashed(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => v6.to_string().replace(':', "-"),
    }
}

/// The reverse-lookup name of an address (`4.3.2.1.in-addr.arpa`).
pub fn reverse_name(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0x0F, b >> 4));
            }
            s + "ip6.arpa"
        }
    }
}

fn address(ip: &IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(*v4),
        IpAddr::V6(v6) => RData::Aaaa(*v6),
    }
}

impl Zone {
    pub fn new(domain: &str, services: &[ServiceEntry]) -> Zone {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        let mut z = Zone {
            records: HashMap::new(),
            exists: HashSet::new(),
            domain: domain.clone(),
        };
        z.exists.insert(domain.clone());
        z.exists.insert(format!("svc.{domain}"));
        z.exists.insert(format!("pod.{domain}"));
        for s in services {
            z.add_service(s);
        }
        z
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    fn add(&mut self, name: String, data: RData) {
        // Every ancestor in the domain exists (an empty non-terminal answers NODATA).
        let mut rest = name.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if !self.in_domain(parent) {
                break;
            }
            if !self.exists.contains(parent) {
                self.exists.insert(parent.to_string());
            }
            rest = parent;
        }
        self.records.entry(name).or_default().push(data);
    }

    fn add_service(&mut self, s: &ServiceEntry) {
        let ns = s.namespace.to_ascii_lowercase();
        let svc = format!("{}.{ns}.svc.{}", s.name.to_ascii_lowercase(), self.domain);
        self.exists.insert(format!("{ns}.svc.{}", self.domain));
        self.exists.insert(svc.clone());
        let srv = |port: &ServicePort, target: String| RData::Srv {
            priority: 0,
            weight: 100,
            port: port.port,
            target,
        };
        if let Some(ext) = &s.external_name {
            self.add(
                svc,
                RData::Cname(ext.trim_end_matches('.').to_ascii_lowercase()),
            );
            return;
        }
        if !s.headless {
            for ip in &s.cluster_ips {
                self.add(svc.clone(), address(ip));
                self.add(reverse_name(ip), RData::Ptr(svc.clone()));
            }
            for p in &s.ports {
                self.add(svc.clone(), srv(p, svc.clone()));
                if !p.name.is_empty() {
                    let owner = format!("_{}._{}.{svc}", p.name, p.protocol.to_ascii_lowercase());
                    self.add(owner, srv(p, svc.clone()));
                }
            }
            return;
        }
        for e in &s.endpoints {
            let host = e
                .hostname
                .clone()
                .unwrap_or_else(|| dashed(&e.ip))
                .to_ascii_lowercase();
            let member = format!("{host}.{svc}");
            self.add(svc.clone(), address(&e.ip));
            self.add(member.clone(), address(&e.ip));
            self.add(reverse_name(&e.ip), RData::Ptr(member.clone()));
            for p in &s.endpoint_ports {
                self.add(svc.clone(), srv(p, member.clone()));
                if !p.name.is_empty() {
                    let owner = format!("_{}._{}.{svc}", p.name, p.protocol.to_ascii_lowercase());
                    self.add(owner, srv(p, member.clone()));
                }
            }
        }
    }

    /// Whether `name` (lower-case, no trailing dot) is in the cluster domain.
    pub fn in_domain(&self, name: &str) -> bool {
        name == self.domain || name.ends_with(&format!(".{}", self.domain))
    }

    /// Whether a reverse name belongs to an address this zone knows.
    pub fn knows_reverse(&self, name: &str) -> bool {
        self.records.contains_key(name)
    }

    fn soa(&self) -> Record {
        Record {
            name: self.domain.clone(),
            ttl: TTL,
            data: RData::Soa {
                mname: format!("ns.dns.{}", self.domain),
                rname: format!("hostmaster.{}", self.domain),
                serial: 1,
                refresh: 7200,
                retry: 1800,
                expire: 86400,
                minimum: TTL,
            },
        }
    }

    /// The pod A record `<a-b-c-d>.<ns>.pod.<domain>`, if `name` has that form.
    fn pod_address(&self, name: &str) -> Option<IpAddr> {
        let rest = name.strip_suffix(&format!(".pod.{}", self.domain))?;
        let (host, _ns) = rest.split_once('.')?;
        if let Ok(v4) = host.replace('-', ".").parse::<Ipv4Addr>() {
            return Some(IpAddr::V4(v4));
        }
        host.replace('-', ":").parse().ok()
    }

    /// Answers a question in the cluster domain (or a known reverse name).
    pub fn lookup(&self, name: &str, qtype: u16) -> Answer {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut answer = Answer {
            rcode: RCODE_NOERROR,
            authoritative: true,
            ..Default::default()
        };
        let record = |name: &str, data: RData| Record {
            name: name.to_string(),
            ttl: TTL,
            data,
        };
        if name == self.domain && qtype == TYPE_SOA {
            answer.answers.push(self.soa());
            return answer;
        }
        let pod_ip = self.pod_address(&name);
        let found: Vec<RData> = match (self.records.get(&name), pod_ip) {
            (Some(r), _) => r.clone(),
            (None, Some(ip)) => vec![address(&ip)],
            (None, None) => {
                if !self.exists.contains(&name) {
                    answer.rcode = RCODE_NXDOMAIN;
                }
                answer.authority.push(self.soa());
                return answer;
            }
        };
        let cname = found.iter().find_map(|d| match d {
            RData::Cname(t) => Some(t.clone()),
            _ => None,
        });
        if let Some(target) = cname {
            // A CNAME answers every type; the client resolves the target itself.
            answer.answers.push(record(&name, RData::Cname(target)));
            return answer;
        }
        for d in found {
            if qtype == TYPE_ANY || d.rtype() == qtype {
                if let RData::Srv { target, .. } = &d {
                    for extra in self.records.get(target).into_iter().flatten() {
                        if matches!(extra, RData::A(_) | RData::Aaaa(_))
                            && !answer
                                .additional
                                .iter()
                                .any(|r| r.name == *target && r.data == *extra)
                        {
                            answer.additional.push(record(target, extra.clone()));
                        }
                    }
                }
                answer.answers.push(record(&name, d));
            }
        }
        if answer.answers.is_empty() {
            answer.authority.push(self.soa());
        }
        answer
    }
}
