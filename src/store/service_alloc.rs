//! What the API server's service registry does around a Service write: allocate a ClusterIP
//! from the service CIDR and node ports from the node-port range, validate requested ones,
//! and keep allocated values across updates that leave them out.
//!
//! The allocation state is the set of stored Services itself, read through the write's `Txn`:
//! writes are serialized, so two concurrent creates can never get the same address, and a
//! deleted Service's addresses are free as soon as it is gone (no separate bitmap to repair
//! after a crash, unlike the API server's range allocator object).

use crate::api::error::{ApiError, ApiResult, FieldError, FieldErrorType};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::services::{
    Ipv4Cidr, NODE_PORT_RANGE, RESERVED_SERVICE_IPS, SERVICE_CIDR, needs_cluster_ip,
    needs_node_ports,
};
use crate::store::Txn;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Addresses and node ports held by every stored Service except `except` (the one being
/// updated).
fn in_use(txn: &Txn, except: &str) -> (BTreeSet<Ipv4Addr>, BTreeSet<i64>) {
    let mut ips = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for (key, svc) in txn.scan("services/") {
        if key == except {
            continue;
        }
        if let Some(ip) = svc
            .str_at("/spec/clusterIP")
            .and_then(|s| s.parse::<Ipv4Addr>().ok())
        {
            ips.insert(ip);
        }
        for p in svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_i64).filter(|n| *n > 0) {
                ports.insert(np);
            }
        }
    }
    (ips, ports)
}

fn invalid(obj: &Value, causes: Vec<FieldError>) -> ApiError {
    ApiError::invalid("Service", obj.name(), causes)
}

/// `[]string{"10.96.0.5"}`: how the API server prints `spec.clusterIPs` in its errors.
fn go_string_slice(ips: &[&str]) -> String {
    let quoted: Vec<String> = ips.iter().map(|s| format!("{s:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

fn cluster_ip_error(requested: &str, detail: String) -> FieldError {
    FieldError::new(
        FieldErrorType::Invalid,
        "spec.clusterIPs",
        format!(
            "Invalid value: {}: failed to allocate IP {requested}: {detail}",
            go_string_slice(&[requested])
        ),
    )
}

/// A free address of `cidr`, starting from a random offset (as the API server spreads
/// dynamic allocations), never the network/broadcast address nor a reserved one.
fn pick_free_ip(cidr: Ipv4Cidr, used: &BTreeSet<Ipv4Addr>) -> Option<Ipv4Addr> {
    let size = cidr.size();
    if size < 4 {
        return None;
    }
    let usable = size - 2;
    let start = rand::random_range(0..usable);
    (0..usable)
        .map(|i| 1 + (start + i) % usable)
        .filter_map(|off| cidr.nth(off))
        .find(|ip| !used.contains(ip) && !RESERVED_SERVICE_IPS.contains(ip))
}

fn pick_free_port(used: &BTreeSet<i64>) -> Option<i64> {
    let (lo, hi) = NODE_PORT_RANGE;
    let span = hi - lo + 1;
    let start = rand::random_range(0..span);
    (0..span)
        .map(|i| lo + (start + i) % span)
        .find(|p| !used.contains(p))
}

/// Allocate (or check) the ClusterIP and node ports of `svc`, which is stored under `key`.
/// Runs after validation, on create and on update.
pub fn allocate(txn: &Txn, key: &ObjectKey, svc: &mut Value) -> ApiResult<()> {
    allocate_in(txn, key, svc, SERVICE_CIDR)
}

fn allocate_in(txn: &Txn, key: &ObjectKey, svc: &mut Value, cidr: Ipv4Cidr) -> ApiResult<()> {
    let (used_ips, used_ports) = in_use(txn, &key.encode());
    let ty = svc.str_at("/spec/type").unwrap_or("ClusterIP").to_string();
    if needs_cluster_ip(&ty) {
        assign_cluster_ip(svc, cidr, &used_ips)?;
    }
    if needs_node_ports(&ty) {
        assign_node_ports(svc, used_ports)?;
    }
    Ok(())
}

fn assign_cluster_ip(svc: &mut Value, cidr: Ipv4Cidr, used: &BTreeSet<Ipv4Addr>) -> ApiResult<()> {
    let single = svc.str_at("/spec/clusterIP").unwrap_or("").to_string();
    let first = svc
        .pointer("/spec/clusterIPs/0")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !single.is_empty() && !first.is_empty() && single != first {
        let cause = FieldError::invalid(
            "spec.clusterIPs[0]",
            &json!(first),
            "must match `clusterIP` when both are specified",
        );
        return Err(invalid(svc, vec![cause]));
    }
    let requested = if single.is_empty() { first } else { single };
    let ip = if requested == "None" {
        "None".to_string()
    } else if requested.is_empty() {
        match pick_free_ip(cidr, used) {
            Some(ip) => ip.to_string(),
            None => {
                return Err(ApiError::internal(format!(
                    "Service {:?}: failed to allocate a cluster IP: range {cidr} is full; delete unused Services",
                    svc.name()
                )));
            }
        }
    } else {
        let parsed: Ipv4Addr = match requested.parse() {
            Ok(ip) => ip,
            Err(_) => {
                let detail = "IPv6 and malformed addresses are not supported; use an IPv4 address";
                return Err(invalid(
                    svc,
                    vec![cluster_ip_error(&requested, detail.into())],
                ));
            }
        };
        let usable = cidr
            .offset_of(parsed)
            .is_some_and(|o| o > 0 && o < cidr.size() - 1);
        if !usable {
            let detail = format!(
                "the provided IP ({parsed}) is not in the valid range. The range of valid IPs is {cidr}"
            );
            return Err(invalid(svc, vec![cluster_ip_error(&requested, detail)]));
        }
        if used.contains(&parsed) {
            let detail = "provided IP is already allocated".to_string();
            return Err(invalid(svc, vec![cluster_ip_error(&requested, detail)]));
        }
        requested
    };
    if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("clusterIP".into(), json!(ip));
        spec.insert("clusterIPs".into(), json!([ip]));
        spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
        spec.entry("ipFamilyPolicy")
            .or_insert_with(|| json!("SingleStack"));
    }
    Ok(())
}

fn assign_node_ports(svc: &mut Value, mut used: BTreeSet<i64>) -> ApiResult<()> {
    let name = svc.name().to_string();
    let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    let mut causes = Vec::new();
    // Requested ports first, so a dynamic pick never takes one asked for later in the list.
    // Within one Service the same node port may serve the same port number over two
    // protocols (TCP and UDP 53), as the API server allows.
    let mut own: Vec<(i64, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let np = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if np == 0 {
            continue;
        }
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        if used.contains(&np) {
            causes.push(FieldError::invalid(
                format!("spec.ports[{i}].nodePort"),
                &json!(np),
                "provided port is already allocated",
            ));
        } else if own.iter().any(|(n, pp)| *n == np && *pp != port) {
            causes.push(FieldError::duplicate(
                format!("spec.ports[{i}].nodePort"),
                &json!(np),
            ));
        }
        own.push((np, port));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("Service", &name, causes));
    }
    used.extend(own.iter().map(|(n, _)| *n));
    for p in ports.iter_mut() {
        let Some(map) = p.as_object_mut() else {
            continue;
        };
        if map.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
            continue;
        }
        let port = map.get("port").and_then(Value::as_i64).unwrap_or(0);
        let np = match own.iter().find(|(_, pp)| *pp == port) {
            Some((n, _)) => *n,
            None => pick_free_port(&used).ok_or_else(|| {
                ApiError::internal(format!(
                    "Service {name:?}: failed to allocate a node port: range {}-{} is full; delete unused NodePort Services",
                    NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                ))
            })?,
        };
        used.insert(np);
        own.push((np, port));
        map.insert("nodePort".into(), json!(np));
    }
    Ok(())
}

/// When the type changes to one that does not use them, the allocated values the client sent
/// back unchanged are dropped (the API server's `dropTypeDependentFields`): an edit from
/// NodePort to ClusterIP, or to ExternalName, works without clearing them by hand.
fn drop_type_dependent(new: &mut Value, old: &Value, ty: &str) {
    let old_ty = old.str_at("/spec/type").unwrap_or("ClusterIP").to_string();
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if !needs_cluster_ip(ty)
        && needs_cluster_ip(&old_ty)
        && spec.get("clusterIP") == old.pointer("/spec/clusterIP")
    {
        for f in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if spec.get(f) == old.pointer(&format!("/spec/{f}")) {
                spec.remove(f);
            }
        }
    }
    if !needs_node_ports(ty) && needs_node_ports(&old_ty) {
        let old_ports = old
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for p in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            let np = p.get("nodePort").cloned();
            if np.is_some() && old_ports.iter().any(|o| o.get("nodePort") == np.as_ref()) {
                p.remove("nodePort");
            }
        }
    }
}

/// An update that leaves out the ClusterIP or a node port keeps the allocated one (the API
/// server's `patchAllocatedValues`), so `kubectl replace` of a manifest without them works.
pub fn keep_allocated(new: &mut Value, old: &Value) {
    let ty = new.str_at("/spec/type").unwrap_or("ClusterIP").to_string();
    drop_type_dependent(new, old, &ty);
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let unset = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    };
    if needs_cluster_ip(&ty) && unset(spec.get("clusterIP")) && unset(spec.get("clusterIPs")) {
        for f in ["clusterIP", "clusterIPs"] {
            if let Some(v) = old.pointer(&format!("/spec/{f}")) {
                spec.insert(f.into(), v.clone());
            }
        }
    }
    if !needs_node_ports(&ty) {
        return;
    }
    let old_ports = old
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for p in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        if p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
            continue;
        }
        let same = |o: &&Value| {
            o.get("port") == p.get("port")
                && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                    == p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
        };
        if let Some(np) = old_ports
            .iter()
            .find(same)
            .and_then(|o| o.get("nodePort"))
            .filter(|n| n.as_i64().unwrap_or(0) != 0)
        {
            p.insert("nodePort".into(), np.clone());
        }
    }
}

#[cfg(test)]
#[path = "service_alloc_tests.rs"]
mod tests;
