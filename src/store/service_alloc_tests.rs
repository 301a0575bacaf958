//! ClusterIP and node-port allocation through the store, as the API server behaves.

use crate::api::error::Reason;
use crate::api::kinds::lookup;
use crate::api::object::ObjectExt;
use crate::api::request::{DeleteOptions, WriteOptions};
use crate::api::services::{DNS_SERVICE_IP, SERVICE_CIDR};
use crate::store::{Store, StoreOptions};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.redb"), StoreOptions::default()).unwrap()
}

fn svc(name: &str, spec: Value) -> Value {
    let mut spec = spec;
    if spec.get("ports").is_none() && spec.get("type") != Some(&json!("ExternalName")) {
        spec["ports"] = json!([{"port": 80}]);
    }
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

fn w() -> WriteOptions {
    WriteOptions::default()
}

fn ip_of(v: &Value) -> Ipv4Addr {
    v.str_at("/spec/clusterIP").unwrap().parse().unwrap()
}

#[test]
fn cluster_ips_are_unique_in_range_and_skip_reserved() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let mut seen = BTreeSet::new();
    for i in 0..40 {
        let o = s.create(svc(&format!("s{i}"), json!({})), &w()).unwrap();
        let ip = ip_of(&o);
        assert!(SERVICE_CIDR.contains(ip), "{ip}");
        assert_ne!(ip, DNS_SERVICE_IP);
        assert_ne!(ip, SERVICE_CIDR.network());
        assert!(seen.insert(ip), "{ip} handed out twice");
        assert_eq!(o["spec"]["clusterIPs"], json!([ip.to_string()]));
        assert_eq!(o["spec"]["ipFamilies"], json!(["IPv4"]));
    }
}

#[test]
fn requested_ip_is_honoured_checked_and_freed_on_delete() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let dns = s
        .create(svc("dns", json!({"clusterIP": "10.96.0.10"})), &w())
        .unwrap();
    assert_eq!(dns["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    let e = s
        .create(svc("other", json!({"clusterIP": "10.96.0.10"})), &w())
        .unwrap_err();
    assert_eq!(e.reason, Reason::Invalid);
    assert_eq!(
        e.message,
        "Service \"other\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.96.0.10\"}: failed to allocate IP 10.96.0.10: provided IP is already allocated"
    );
    let e = s
        .create(svc("out", json!({"clusterIP": "1.2.3.4"})), &w())
        .unwrap_err();
    assert_eq!(
        e.message,
        "Service \"out\" is invalid: spec.clusterIPs: Invalid value: []string{\"1.2.3.4\"}: failed to allocate IP 1.2.3.4: the provided IP (1.2.3.4) is not in the valid range. The range of valid IPs is 10.96.0.0/16"
    );
    // clusterIPs alone is honoured too.
    let o = s
        .create(svc("by-list", json!({"clusterIPs": ["10.96.7.7"]})), &w())
        .unwrap();
    assert_eq!(o["spec"]["clusterIP"], "10.96.7.7");
    s.delete(
        lookup("svc").unwrap(),
        Some("default"),
        "dns",
        &DeleteOptions::default(),
    )
    .unwrap();
    let again = s
        .create(svc("other", json!({"clusterIP": "10.96.0.10"})), &w())
        .unwrap();
    assert_eq!(again["spec"]["clusterIP"], "10.96.0.10");
}

#[test]
fn headless_and_external_name_get_no_address() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let h = s
        .create(
            svc("h", json!({"clusterIP": "None", "selector": {"a": "b"}})),
            &w(),
        )
        .unwrap();
    assert_eq!(h["spec"]["clusterIP"], "None");
    assert_eq!(h["spec"]["clusterIPs"], json!(["None"]));
    let x = s
        .create(
            svc(
                "x",
                json!({"type": "ExternalName", "externalName": "example.com"}),
            ),
            &w(),
        )
        .unwrap();
    assert!(x.pointer("/spec/clusterIP").is_none());
    assert!(x.pointer("/spec/clusterIPs").is_none());
}

#[test]
fn cluster_ip_survives_updates_and_is_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = s.create(svc("web", json!({})), &w()).unwrap();
    let ip = ip_of(&o);
    // A replace without clusterIP keeps the allocated one.
    let mut replaced = svc("web", json!({"ports": [{"port": 8080}]}));
    replaced["metadata"]["resourceVersion"] = json!(o.resource_version());
    let u = s.update(replaced, &w()).unwrap();
    assert_eq!(ip_of(&u), ip);
    assert_eq!(u["spec"]["ports"][0]["port"], 8080);
    let mut changed = (*u).clone();
    changed["spec"]["clusterIP"] = json!("10.96.9.9");
    changed["spec"]["clusterIPs"] = json!(["10.96.9.9"]);
    let e = s.update(changed, &w()).unwrap_err();
    assert_eq!(e.reason, Reason::Invalid);
    assert!(e.message.contains("spec.clusterIP"), "{}", e.message);
    assert!(e.message.contains("field is immutable"), "{}", e.message);
}

#[test]
fn node_ports_are_allocated_checked_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = s
        .create(
            svc(
                "np",
                json!({"type": "NodePort", "ports": [
                    {"name": "a", "port": 80},
                    {"name": "b", "port": 443, "nodePort": 30443}]}),
            ),
            &w(),
        )
        .unwrap();
    let dynamic = o["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    assert!((30000..=32767).contains(&dynamic));
    assert_ne!(dynamic, 30443);
    assert_eq!(o["spec"]["ports"][1]["nodePort"], 30443);
    let e = s
        .create(
            svc(
                "np2",
                json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30443}]}),
            ),
            &w(),
        )
        .unwrap_err();
    assert_eq!(
        e.message,
        "Service \"np2\" is invalid: spec.ports[0].nodePort: Invalid value: 30443: provided port is already allocated"
    );
    // Same port number over TCP and UDP shares one node port.
    let dns = s
        .create(
            svc(
                "dns",
                json!({"type": "NodePort", "ports": [
                    {"name": "udp", "port": 53, "protocol": "UDP"},
                    {"name": "tcp", "port": 53, "protocol": "TCP"}]}),
            ),
            &w(),
        )
        .unwrap();
    assert_eq!(
        dns["spec"]["ports"][0]["nodePort"],
        dns["spec"]["ports"][1]["nodePort"]
    );
    // A replace without node ports keeps them.
    let mut replaced = svc(
        "np",
        json!({"type": "NodePort", "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 443}]}),
    );
    replaced["metadata"]["resourceVersion"] = json!(o.resource_version());
    let u = s.update(replaced, &w()).unwrap();
    assert_eq!(u["spec"]["ports"][0]["nodePort"], dynamic);
    assert_eq!(u["spec"]["ports"][1]["nodePort"], 30443);
    // Freed on delete.
    s.delete(
        lookup("svc").unwrap(),
        Some("default"),
        "np",
        &DeleteOptions::default(),
    )
    .unwrap();
    s.create(
        svc(
            "np2",
            json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30443}]}),
        ),
        &w(),
    )
    .unwrap();
}

#[test]
fn concurrent_creates_never_share_an_address() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(open(&dir));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let o = s
                            .create(svc(&format!("t{t}-{i}"), json!({"type": "NodePort"})), &w())
                            .unwrap();
                        (
                            ip_of(&o),
                            o["spec"]["ports"][0]["nodePort"].as_i64().unwrap(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<(Ipv4Addr, i64)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let ips: BTreeSet<_> = all.iter().map(|(ip, _)| *ip).collect();
    let ports: BTreeSet<_> = all.iter().map(|(_, p)| *p).collect();
    assert_eq!(ips.len(), 100);
    assert_eq!(ports.len(), 100);
}

#[test]
fn type_changes_allocate_and_drop_what_the_new_type_uses() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let o = s.create(svc("web", json!({})), &w()).unwrap();
    let ip = ip_of(&o);
    // ClusterIP → NodePort: a node port is allocated, the IP stays.
    let mut np = (*o).clone();
    np["spec"]["type"] = json!("NodePort");
    let np = s.update(np, &w()).unwrap();
    assert_eq!(ip_of(&np), ip);
    let port = np["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    assert!((30000..=32767).contains(&port));
    // NodePort → ClusterIP with the node port sent back unchanged: dropped, and free again.
    let mut back = (*np).clone();
    back["spec"]["type"] = json!("ClusterIP");
    back["spec"]
        .as_object_mut()
        .unwrap()
        .remove("externalTrafficPolicy");
    let back = s.update(back, &w()).unwrap();
    assert!(back["spec"]["ports"][0].get("nodePort").is_none(), "{back}");
    s.create(
        svc(
            "other",
            json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": port}]}),
        ),
        &w(),
    )
    .unwrap();
    // ClusterIP → ExternalName: the address is released.
    let mut ext = (*back).clone();
    ext["spec"]["type"] = json!("ExternalName");
    ext["spec"]["externalName"] = json!("example.com");
    let ext = s.update(ext, &w()).unwrap();
    assert!(ext.pointer("/spec/clusterIP").is_none(), "{ext}");
    let reuse = s
        .create(svc("reuse", json!({"clusterIP": ip.to_string()})), &w())
        .unwrap();
    assert_eq!(ip_of(&reuse), ip);
    // ExternalName → ClusterIP: a new address.
    let mut again = (*ext).clone();
    again["spec"]["type"] = json!("ClusterIP");
    again["spec"]
        .as_object_mut()
        .unwrap()
        .remove("externalName");
    let again = s.update(again, &w()).unwrap();
    assert!(SERVICE_CIDR.contains(ip_of(&again)));
    assert_ne!(ip_of(&again), ip);
}
