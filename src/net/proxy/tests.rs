//! Rule rendering and the Service → rules model, as golden text.

use super::render::{Existing, render};
use super::*;
use serde_json::json;
use std::net::Ipv4Addr;

fn ep(last: u8, port: u16) -> Endpoint {
    Endpoint {
        ip: Ipv4Addr::new(10, 88, 0, last),
        port,
    }
}

fn port(name: &str, endpoints: Vec<Endpoint>) -> ServicePort {
    ServicePort {
        namespace: "default".into(),
        name: name.into(),
        port_name: String::new(),
        protocol: Protocol::Tcp,
        cluster_ip: Ipv4Addr::new(10, 96, 0, 20),
        port: 80,
        node_port: None,
        affinity_timeout_seconds: None,
        endpoints,
    }
}

/// The lines of the script after the fixed prelude (table, base chains and sets, fixed rules).
fn service_lines(script: &str) -> Vec<&str> {
    script
        .lines()
        .filter(|l| {
            l.contains("svc/")
                || l.contains("ep/")
                || l.contains("aff/")
                || l.starts_with("add element")
                || l.starts_with("delete")
        })
        .collect()
}

#[test]
fn prelude_is_fixed_and_only_touches_the_own_table() {
    let s = render("t", &Existing::default(), &[]);
    assert_eq!(
        s,
        "add table ip t
flush table ip t
add chain ip t nat-prerouting { type nat hook prerouting priority -100; policy accept; }
add chain ip t nat-output { type nat hook output priority -100; policy accept; }
add chain ip t nat-postrouting { type nat hook postrouting priority 100; policy accept; }
add chain ip t filter-input { type filter hook input priority -110; policy accept; }
add chain ip t filter-forward { type filter hook forward priority -110; policy accept; }
add chain ip t filter-output { type filter hook output priority -110; policy accept; }
add chain ip t services
add chain ip t no-endpoints
add set ip t no-endpoint-services { type ipv4_addr . inet_proto . inet_service; }
flush set ip t no-endpoint-services
add set ip t no-endpoint-nodeports { type inet_proto . inet_service; }
flush set ip t no-endpoint-nodeports
add set ip t hairpin { type ipv4_addr . ipv4_addr; }
flush set ip t hairpin
add rule ip t nat-prerouting jump services
add rule ip t nat-output jump services
add rule ip t nat-postrouting ct status dnat ip saddr . ip daddr @hairpin masquerade
add rule ip t nat-postrouting ct status dnat ip saddr 127.0.0.0/8 masquerade
add rule ip t no-endpoints meta l4proto tcp reject with tcp reset
add rule ip t no-endpoints reject
add rule ip t filter-forward ip daddr . meta l4proto . th dport @no-endpoint-services goto no-endpoints
add rule ip t filter-output ip daddr . meta l4proto . th dport @no-endpoint-services goto no-endpoints
add rule ip t filter-input fib daddr type local meta l4proto . th dport @no-endpoint-nodeports goto no-endpoints
add rule ip t filter-output fib daddr type local meta l4proto . th dport @no-endpoint-nodeports goto no-endpoints
"
    );
    assert!(
        s.lines()
            .all(|l| l.contains(" ip t ") || l.ends_with(" ip t"))
    );
}

#[test]
fn cluster_ip_with_three_endpoints() {
    let s = render(
        "t",
        &Existing::default(),
        &[port("web", vec![ep(5, 8080), ep(6, 8080), ep(7, 8080)])],
    );
    assert_eq!(
        service_lines(&s),
        [
            "add chain ip t ep/default/web/tcp/80/10.88.0.5/8080",
            "add chain ip t ep/default/web/tcp/80/10.88.0.6/8080",
            "add chain ip t ep/default/web/tcp/80/10.88.0.7/8080",
            "add chain ip t svc/default/web/tcp/80",
            "add element ip t hairpin { 10.88.0.5 . 10.88.0.5, 10.88.0.6 . 10.88.0.6, 10.88.0.7 . 10.88.0.7 }",
            "add rule ip t services ip daddr . meta l4proto . th dport vmap { 10.96.0.20 . tcp . 80 : goto svc/default/web/tcp/80 }",
            "add rule ip t ep/default/web/tcp/80/10.88.0.5/8080 meta l4proto tcp dnat to 10.88.0.5:8080",
            "add rule ip t ep/default/web/tcp/80/10.88.0.6/8080 meta l4proto tcp dnat to 10.88.0.6:8080",
            "add rule ip t ep/default/web/tcp/80/10.88.0.7/8080 meta l4proto tcp dnat to 10.88.0.7:8080",
            "add rule ip t svc/default/web/tcp/80 numgen random mod 3 vmap { 0 : goto ep/default/web/tcp/80/10.88.0.5/8080, 1 : goto ep/default/web/tcp/80/10.88.0.6/8080, 2 : goto ep/default/web/tcp/80/10.88.0.7/8080 }",
        ]
    );
}

#[test]
fn client_ip_affinity_uses_timed_sets_per_endpoint() {
    let mut p = port("web", vec![ep(5, 80), ep(6, 80)]);
    p.affinity_timeout_seconds = Some(10800);
    let s = render("t", &Existing::default(), &[p]);
    let lines = service_lines(&s);
    assert!(lines.contains(
        &"add set ip t aff/default/web/tcp/80/10.88.0.5/80/10800 { type ipv4_addr; flags dynamic,timeout; timeout 10800s; }"
    ));
    let svc_rules: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("add rule ip t svc/"))
        .collect();
    assert_eq!(
        svc_rules,
        [
            "add rule ip t svc/default/web/tcp/80 ip saddr @aff/default/web/tcp/80/10.88.0.5/80/10800 goto ep/default/web/tcp/80/10.88.0.5/80",
            "add rule ip t svc/default/web/tcp/80 ip saddr @aff/default/web/tcp/80/10.88.0.6/80/10800 goto ep/default/web/tcp/80/10.88.0.6/80",
            "add rule ip t svc/default/web/tcp/80 numgen random mod 2 vmap { 0 : goto ep/default/web/tcp/80/10.88.0.5/80, 1 : goto ep/default/web/tcp/80/10.88.0.6/80 }",
        ]
    );
    assert!(lines.contains(
        &"add rule ip t ep/default/web/tcp/80/10.88.0.5/80 update @aff/default/web/tcp/80/10.88.0.5/80/10800 { ip saddr }"
    ));
}

#[test]
fn node_port_and_udp_and_no_endpoints() {
    let mut np = port("np", vec![ep(9, 8080)]);
    np.node_port = Some(30080);
    let mut dns = port("dns", vec![]);
    dns.protocol = Protocol::Udp;
    dns.port = 53;
    dns.cluster_ip = Ipv4Addr::new(10, 96, 0, 10);
    dns.node_port = Some(30053);
    let s = render("t", &Existing::default(), &[np, dns]);
    assert_eq!(
        service_lines(&s),
        [
            "add chain ip t ep/default/np/tcp/80/10.88.0.9/8080",
            "add chain ip t svc/default/np/tcp/80",
            "add element ip t no-endpoint-services { 10.96.0.10 . udp . 53 }",
            "add element ip t no-endpoint-nodeports { udp . 30053 }",
            "add element ip t hairpin { 10.88.0.9 . 10.88.0.9 }",
            "add rule ip t services ip daddr . meta l4proto . th dport vmap { 10.96.0.20 . tcp . 80 : goto svc/default/np/tcp/80 }",
            "add rule ip t services fib daddr type local meta l4proto . th dport vmap { tcp . 30080 : goto svc/default/np/tcp/80 }",
            "add rule ip t ep/default/np/tcp/80/10.88.0.9/8080 meta l4proto tcp dnat to 10.88.0.9:8080",
            "add rule ip t svc/default/np/tcp/80 goto ep/default/np/tcp/80/10.88.0.9/8080",
        ]
    );
}

#[test]
fn stale_chains_and_sets_are_deleted() {
    let listing = "table ip t {
\tset hairpin {
\t\ttype ipv4_addr . ipv4_addr
\t}
\tset aff/default/old/tcp/80/10.88.0.5/80/10800 {
\t\ttype ipv4_addr
\t}
\tchain services {
\t}
\tchain svc/default/old/tcp/80 {
\t}
\tchain ep/default/web/tcp/80/10.88.0.5/8080 {
\t}
}
";
    let existing = Existing::parse(listing);
    assert_eq!(existing.chains.len(), 3);
    assert_eq!(existing.sets.len(), 2);
    let s = render("t", &existing, &[port("web", vec![ep(5, 8080)])]);
    let deletes: Vec<&str> = s.lines().filter(|l| l.starts_with("delete")).collect();
    assert_eq!(
        deletes,
        [
            "delete chain ip t svc/default/old/tcp/80",
            "delete set ip t aff/default/old/tcp/80/10.88.0.5/80/10800",
        ]
    );
}

#[test]
fn service_ports_from_objects() {
    let svc = json!({"metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": "NodePort", "clusterIP": "10.96.1.2", "sessionAffinity": "ClientIP",
                 "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080},
                           {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
                           {"name": "sctp", "port": 9, "protocol": "SCTP"}]}});
    let eps = json!({"subsets": [
        {"addresses": [{"ip": "10.88.0.6"}, {"ip": "10.88.0.5"}],
         "notReadyAddresses": [{"ip": "10.88.0.7"}],
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"addresses": [{"ip": "10.88.0.8"}],
         "ports": [{"name": "http", "port": 8081, "protocol": "TCP"},
                   {"name": "dns", "port": 5353, "protocol": "UDP"}]}]});
    let ports = service_ports(&svc, Some(&eps));
    assert_eq!(ports.len(), 2);
    assert_eq!(ports[0].port_name, "http");
    assert_eq!(ports[0].node_port, Some(30080));
    assert_eq!(ports[0].affinity_timeout_seconds, Some(60));
    assert_eq!(ports[0].endpoints, [ep(5, 8080), ep(6, 8080), ep(8, 8081)]);
    assert_eq!(ports[1].protocol, Protocol::Udp);
    assert_eq!(ports[1].endpoints, [ep(8, 5353)]);
    let headless =
        json!({"metadata": {"name": "h"}, "spec": {"clusterIP": "None", "ports": [{"port": 80}]}});
    assert!(service_ports(&headless, Some(&eps)).is_empty());
    let external =
        json!({"metadata": {"name": "x"}, "spec": {"type": "ExternalName", "externalName": "a.b"}});
    assert!(service_ports(&external, None).is_empty());
    let plain = json!({"metadata": {"name": "p"}, "spec": {"clusterIP": "10.96.1.3", "ports": [{"port": 80}]}});
    let p = service_ports(&plain, None);
    assert_eq!(p[0].node_port, None);
    assert_eq!(p[0].affinity_timeout_seconds, None);
    assert!(p[0].endpoints.is_empty());
}
