//! The nftables script of one proxy sync: pure text from the service ports, so tests pin it.
//!
//! The table is rewritten in one `nft -f` transaction: `flush table` drops every rule, stale
//! chains and sets are deleted, and everything is added again. Set *elements* survive a
//! `flush table`, which is what keeps ClientIP affinity across syncs: each endpoint has a
//! dynamic set of client addresses with the Service's timeout, refreshed on every new
//! connection (the iptables proxy's `recent --rcheck --seconds` / `--set` pair).

use super::model::{Endpoint, ServicePort};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Chains every sync has (base chains hooked into the kernel, and the dispatch chain).
const BASE_CHAINS: [(&str, &str); 6] = [
    (
        "nat-prerouting",
        "type nat hook prerouting priority -100; policy accept;",
    ),
    (
        "nat-output",
        "type nat hook output priority -100; policy accept;",
    ),
    (
        "nat-postrouting",
        "type nat hook postrouting priority 100; policy accept;",
    ),
    (
        "filter-input",
        "type filter hook input priority -110; policy accept;",
    ),
    (
        "filter-forward",
        "type filter hook forward priority -110; policy accept;",
    ),
    (
        "filter-output",
        "type filter hook output priority -110; policy accept;",
    ),
];

/// Sets every sync has; their elements are rewritten each time.
const BASE_SETS: [(&str, &str); 3] = [
    (
        "no-endpoint-services",
        "type ipv4_addr . inet_proto . inet_service;",
    ),
    ("no-endpoint-nodeports", "type inet_proto . inet_service;"),
    ("hairpin", "type ipv4_addr . ipv4_addr;"),
];

/// Chains and sets present in the table before this sync (to delete the stale ones).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Existing {
    pub chains: BTreeSet<String>,
    pub sets: BTreeSet<String>,
}

impl Existing {
    /// Parse the output of `nft -t list table ip <table>`.
    pub fn parse(listing: &str) -> Existing {
        let mut e = Existing::default();
        for line in listing.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [what, name, "{", ..] = words.as_slice() {
                let name = name.trim_matches('"').to_string();
                match *what {
                    "chain" => {
                        e.chains.insert(name);
                    }
                    "set" | "map" => {
                        e.sets.insert(name);
                    }
                    _ => {}
                }
            }
        }
        e
    }
}

fn svc_id(sp: &ServicePort) -> String {
    format!(
        "{}/{}/{}/{}",
        sp.namespace,
        sp.name,
        sp.protocol.nft(),
        sp.port
    )
}

fn service_chain(sp: &ServicePort) -> String {
    format!("svc/{}", svc_id(sp))
}

fn endpoint_chain(sp: &ServicePort, ep: &Endpoint) -> String {
    format!("ep/{}/{}/{}", svc_id(sp), ep.ip, ep.port)
}

fn affinity_set(sp: &ServicePort, ep: &Endpoint, timeout: u32) -> String {
    format!("aff/{}/{}/{}/{timeout}", svc_id(sp), ep.ip, ep.port)
}

/// The whole sync as one `nft -f` script for `table` (family `ip`).
pub fn render(table: &str, existing: &Existing, ports: &[ServicePort]) -> String {
    let mut ports: Vec<&ServicePort> = ports.iter().collect();
    ports.sort_by(|a, b| {
        (&a.namespace, &a.name, a.protocol, a.port).cmp(&(
            &b.namespace,
            &b.name,
            b.protocol,
            b.port,
        ))
    });
    let mut chains: Vec<(String, Vec<String>)> = Vec::new();
    let mut sets: Vec<(String, String)> = Vec::new();
    let mut cluster_ips: Vec<String> = Vec::new();
    let mut node_ports: Vec<String> = Vec::new();
    let mut no_endpoints: Vec<String> = Vec::new();
    let mut no_endpoint_node_ports: Vec<String> = Vec::new();
    let mut hairpin: BTreeSet<String> = BTreeSet::new();
    for sp in &ports {
        let proto = sp.protocol.nft();
        if sp.endpoints.is_empty() {
            no_endpoints.push(format!("{} . {proto} . {}", sp.cluster_ip, sp.port));
            if let Some(np) = sp.node_port {
                no_endpoint_node_ports.push(format!("{proto} . {np}"));
            }
            continue;
        }
        let chain = service_chain(sp);
        cluster_ips.push(format!(
            "{} . {proto} . {} : goto {chain}",
            sp.cluster_ip, sp.port
        ));
        if let Some(np) = sp.node_port {
            node_ports.push(format!("{proto} . {np} : goto {chain}"));
        }
        let mut svc_rules = Vec::new();
        for ep in &sp.endpoints {
            let ep_chain = endpoint_chain(sp, ep);
            let mut ep_rules = Vec::new();
            if let Some(timeout) = sp.affinity_timeout_seconds {
                let set = affinity_set(sp, ep, timeout);
                sets.push((
                    set.clone(),
                    format!("type ipv4_addr; flags dynamic,timeout; timeout {timeout}s;"),
                ));
                svc_rules.push(format!("ip saddr @{set} goto {ep_chain}"));
                ep_rules.push(format!("update @{set} {{ ip saddr }}"));
            }
            ep_rules.push(format!(
                "meta l4proto {proto} dnat to {}:{}",
                ep.ip, ep.port
            ));
            hairpin.insert(format!("{} . {}", ep.ip, ep.ip));
            chains.push((ep_chain, ep_rules));
        }
        svc_rules.push(if sp.endpoints.len() == 1 {
            format!("goto {}", endpoint_chain(sp, &sp.endpoints[0]))
        } else {
            let arms: Vec<String> = sp
                .endpoints
                .iter()
                .enumerate()
                .map(|(i, ep)| format!("{i} : goto {}", endpoint_chain(sp, ep)))
                .collect();
            format!(
                "numgen random mod {} vmap {{ {} }}",
                sp.endpoints.len(),
                arms.join(", ")
            )
        });
        chains.push((chain, svc_rules));
    }

    let mut out = String::new();
    let t = format!("ip {table}");
    let _ = writeln!(out, "add table {t}");
    let _ = writeln!(out, "flush table {t}");
    let wanted_chains: BTreeSet<&str> = BASE_CHAINS
        .iter()
        .map(|(n, _)| *n)
        .chain(["services", "no-endpoints"])
        .chain(chains.iter().map(|(n, _)| n.as_str()))
        .collect();
    let wanted_sets: BTreeSet<&str> = BASE_SETS
        .iter()
        .map(|(n, _)| *n)
        .chain(sets.iter().map(|(n, _)| n.as_str()))
        .collect();
    for stale in existing
        .chains
        .iter()
        .filter(|c| !wanted_chains.contains(c.as_str()))
    {
        let _ = writeln!(out, "delete chain {t} {stale}");
    }
    for stale in existing
        .sets
        .iter()
        .filter(|s| !wanted_sets.contains(s.as_str()))
    {
        let _ = writeln!(out, "delete set {t} {stale}");
    }
    for (name, def) in BASE_CHAINS {
        let _ = writeln!(out, "add chain {t} {name} {{ {def} }}");
    }
    let _ = writeln!(out, "add chain {t} services");
    let _ = writeln!(out, "add chain {t} no-endpoints");
    for (name, _) in &chains {
        let _ = writeln!(out, "add chain {t} {name}");
    }
    for (name, def) in BASE_SETS {
        let _ = writeln!(out, "add set {t} {name} {{ {def} }}");
        let _ = writeln!(out, "flush set {t} {name}");
    }
    for (name, def) in &sets {
        let _ = writeln!(out, "add set {t} {name} {{ {def} }}");
    }
    let elements = |out: &mut String, set: &str, items: &[String]| {
        if !items.is_empty() {
            let _ = writeln!(out, "add element {t} {set} {{ {} }}", items.join(", "));
        }
    };
    elements(&mut out, "no-endpoint-services", &no_endpoints);
    elements(&mut out, "no-endpoint-nodeports", &no_endpoint_node_ports);
    elements(
        &mut out,
        "hairpin",
        &hairpin.into_iter().collect::<Vec<_>>(),
    );
    let rule = |out: &mut String, chain: &str, r: &str| {
        let _ = writeln!(out, "add rule {t} {chain} {r}");
    };
    rule(&mut out, "nat-prerouting", "jump services");
    rule(&mut out, "nat-output", "jump services");
    // Replies must come back through this host to be un-DNATed: a pod reaching itself
    // through its Service, and local clients whose loopback source cannot leave the host.
    rule(
        &mut out,
        "nat-postrouting",
        "ct status dnat ip saddr . ip daddr @hairpin masquerade",
    );
    rule(
        &mut out,
        "nat-postrouting",
        "ct status dnat ip saddr 127.0.0.0/8 masquerade",
    );
    // A Service without ready endpoints refuses connections at once (as kube-proxy does)
    // instead of letting them time out: TCP with a reset (an ICMP error is not delivered to
    // a local client whose route to the ClusterIP has a loopback source), UDP with ICMP.
    rule(
        &mut out,
        "no-endpoints",
        "meta l4proto tcp reject with tcp reset",
    );
    rule(&mut out, "no-endpoints", "reject");
    let no_ep = "ip daddr . meta l4proto . th dport @no-endpoint-services goto no-endpoints";
    rule(&mut out, "filter-forward", no_ep);
    rule(&mut out, "filter-output", no_ep);
    let no_np =
        "fib daddr type local meta l4proto . th dport @no-endpoint-nodeports goto no-endpoints";
    rule(&mut out, "filter-input", no_np);
    rule(&mut out, "filter-output", no_np);
    if !cluster_ips.is_empty() {
        rule(
            &mut out,
            "services",
            &format!(
                "ip daddr . meta l4proto . th dport vmap {{ {} }}",
                cluster_ips.join(", ")
            ),
        );
    }
    if !node_ports.is_empty() {
        rule(
            &mut out,
            "services",
            &format!(
                "fib daddr type local meta l4proto . th dport vmap {{ {} }}",
                node_ports.join(", ")
            ),
        );
    }
    for (name, rules) in &chains {
        for r in rules {
            rule(&mut out, name, r);
        }
    }
    out
}
