//! The service network's fixed addresses and ranges, shared by the store's allocator, the
//! proxy and the DNS server (which lives in `net/` and may only import `api`).

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 prefix such as `10.96.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    network: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    /// `base/prefix`, the host bits of `base` cleared; `None` when `prefix > 32`.
    pub const fn new(base: Ipv4Addr, prefix: u8) -> Option<Ipv4Cidr> {
        if prefix > 32 {
            return None;
        }
        let mask = Self::mask_of(prefix);
        Some(Ipv4Cidr {
            network: base.to_bits() & mask,
            prefix,
        })
    }

    const fn mask_of(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix as u32)
        }
    }

    /// Parse `10.96.0.0/16`.
    pub fn parse(s: &str) -> Option<Ipv4Cidr> {
        let (ip, prefix) = s.split_once('/')?;
        Ipv4Cidr::new(ip.parse().ok()?, prefix.parse().ok()?)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        ip.to_bits() & Self::mask_of(self.prefix) == self.network
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.network)
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Number of addresses, network and broadcast included.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix as u32)
    }

    /// The address `offset` places after the network address (`None` past the end).
    pub fn nth(&self, offset: u64) -> Option<Ipv4Addr> {
        (offset < self.size()).then(|| Ipv4Addr::from_bits(self.network + offset as u32))
    }

    /// Offset of `ip` from the network address, when inside.
    pub fn offset_of(&self, ip: Ipv4Addr) -> Option<u64> {
        self.contains(ip)
            .then(|| u64::from(ip.to_bits() - self.network))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

/// The service CIDR ClusterIPs come from (the API server's `--service-cluster-ip-range`).
pub const SERVICE_CIDR: Ipv4Cidr = match Ipv4Cidr::new(Ipv4Addr::new(10, 96, 0, 0), 16) {
    Some(c) => c,
    None => panic!("service CIDR constant"),
};

/// The first address of the range: the `kubernetes` Service's by convention.
pub const KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 1);

/// The cluster DNS Service's address (`kube-dns` in kube-system), written into pods'
/// resolv.conf; never handed out dynamically.
pub const DNS_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 10);

/// Addresses dynamic allocation skips: they are only taken when asked for by name.
pub const RESERVED_SERVICE_IPS: [Ipv4Addr; 2] = [KUBERNETES_SERVICE_IP, DNS_SERVICE_IP];

/// The API server's default `--service-node-port-range`.
pub const NODE_PORT_RANGE: (i64, i64) = (30000, 32767);

/// Whether a Service of this type gets a ClusterIP (ExternalName does not).
pub fn needs_cluster_ip(service_type: &str) -> bool {
    service_type != "ExternalName"
}

/// Whether a Service of this type gets node ports.
pub fn needs_node_ports(service_type: &str) -> bool {
    matches!(service_type, "NodePort" | "LoadBalancer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_arithmetic() {
        let c = Ipv4Cidr::parse("10.96.3.7/16").unwrap();
        assert_eq!(c.to_string(), "10.96.0.0/16");
        assert_eq!(c.size(), 65536);
        assert!(c.contains(Ipv4Addr::new(10, 96, 255, 255)));
        assert!(!c.contains(Ipv4Addr::new(10, 97, 0, 0)));
        assert_eq!(c.nth(10), Some(DNS_SERVICE_IP));
        assert_eq!(c.offset_of(KUBERNETES_SERVICE_IP), Some(1));
        assert_eq!(c.nth(65536), None);
        assert_eq!(Ipv4Cidr::parse("1.2.3.4/33"), None);
        assert_eq!(Ipv4Cidr::parse("0.0.0.0/0").unwrap().size(), 1 << 32);
        assert!(SERVICE_CIDR.contains(DNS_SERVICE_IP));
    }
}
