//! IPv4 networks in CIDR notation (`10.88.0.0/16`): parsing and the addresses a pod network
//! may hand out (never the network, gateway or broadcast address).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network: its base address (host bits zero) and prefix length (8..=30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    base: u32,
    prefix: u8,
}

impl Ipv4Cidr {
    /// 10.88.0.0/16, the default pod network (`DEFAULT_POD_CIDR`).
    pub const DEFAULT_PODS: Ipv4Cidr = Ipv4Cidr {
        base: u32::from_be_bytes([10, 88, 0, 0]),
        prefix: 16,
    };

    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Ipv4Cidr, String> {
        // A /31 or /32 has no room for a gateway and a pod; shorter than /8 is a mistake.
        if !(8..=30).contains(&prefix) {
            return Err(format!(
                "pod network {addr}/{prefix}: the prefix length must be between 8 and 30"
            ));
        }
        let base = u32::from(addr) & Self::mask_of(prefix);
        Ok(Ipv4Cidr { base, prefix })
    }

    fn mask_of(prefix: u8) -> u32 {
        u32::MAX << (32 - u32::from(prefix))
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base | !Self::mask_of(self.prefix))
    }

    /// The bridge's address: the first address of the network.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask_of(self.prefix) == self.base
    }

    /// The addresses pods may get: after the gateway, before the broadcast address.
    pub fn pod_range(&self) -> std::ops::RangeInclusive<u32> {
        (self.base + 2)..=(u32::from(self.broadcast()) - 1)
    }

    pub fn pod_capacity(&self) -> usize {
        self.pod_range().count()
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Ipv4Cidr, String> {
        let bad = || format!("pod network {s:?}: expected an IPv4 network such as 10.88.0.0/16");
        let (addr, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Ipv4Cidr::new(addr, prefix)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_computes_the_special_addresses() {
        let c: Ipv4Cidr = "10.88.3.4/16".parse().unwrap();
        assert_eq!(c, Ipv4Cidr::DEFAULT_PODS);
        assert_eq!(c.to_string(), "10.88.0.0/16");
        assert_eq!(c.gateway(), Ipv4Addr::new(10, 88, 0, 1));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 88, 255, 255));
        assert_eq!(c.pod_capacity(), 65533);
        assert!(c.contains(Ipv4Addr::new(10, 88, 200, 1)));
        assert!(!c.contains(Ipv4Addr::new(10, 89, 0, 1)));
        let small: Ipv4Cidr = "192.168.7.0/30".parse().unwrap();
        assert_eq!(small.pod_capacity(), 1);
    }

    #[test]
    fn refuses_bad_networks() {
        for s in [
            "10.88.0.0",
            "10.88.0.0/31",
            "10.88.0.0/4",
            "x/16",
            "10.88.0.0/ab",
        ] {
            let e = s.parse::<Ipv4Cidr>().unwrap_err();
            assert!(e.contains("pod network"), "{e}");
        }
    }
}
