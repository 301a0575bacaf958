//! Service validation (ValidateService).

use super::container::{validate_port_num_or_name, validate_protocol};
use super::meta::validate_labels;
use super::names;
use super::{Errs, Path, at, get, int_at, items, string};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::IpAddr;

pub(crate) use crate::api::services::NODE_PORT_RANGE;

/// `clusterIP: None` (or `clusterIPs: [None]`): a headless service.
pub(crate) fn is_headless(spec: &Value) -> bool {
    string(spec, "clusterIP") == "None"
        || items(spec, "clusterIPs").first().and_then(Value::as_str) == Some("None")
}

pub(super) fn validate_service(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    let ty = string(spec, "type");
    let headless = is_headless(spec);
    let ports = items(spec, "ports");
    if ports.is_empty() && !(headless && ty == "ClusterIP") && ty != "ExternalName" {
        errs.required(&path.child("ports"), "");
    }
    match ty {
        "LoadBalancer" | "NodePort" if headless => {
            let msg = format!("may not be set to 'None' for {ty} services");
            errs.invalid_str(&path.child("clusterIPs").index(0), "None", msg);
        }
        "ExternalName" => {
            if !string(spec, "clusterIP").is_empty() || !items(spec, "clusterIPs").is_empty() {
                errs.forbidden(
                    &path.child("clusterIPs"),
                    "may not be set for ExternalName services",
                );
            }
            for field in ["ipFamilies", "ipFamilyPolicy"] {
                if get(spec, field).is_some() {
                    errs.forbidden(
                        &path.child(field),
                        "may not be set for ExternalName services",
                    );
                }
            }
            // A trailing dot marks the name as fully qualified.
            let cname = string(spec, "externalName");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.required(&path.child("externalName"), "");
            } else {
                errs.invalid_each(
                    &path.child("externalName"),
                    cname,
                    names::is_dns1123_subdomain(cname),
                );
            }
        }
        _ => {}
    }
    if ty == "LoadBalancer" {
        for (i, p) in ports.iter().enumerate() {
            if int_at(p, "port") == Some(10250) {
                errs.invalid(
                    &path.child("ports").index(i),
                    &json!(10250),
                    "may not expose port 10250 externally since it is used by kubelet",
                );
            }
        }
    }

    let mut port_names = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        validate_service_port(
            p,
            ports.len() > 1,
            &mut port_names,
            &path.child("ports").index(i),
            errs,
        );
    }
    if spec.get("selector").is_some() {
        validate_labels(spec.get("selector"), &path.child("selector"), errs);
    }
    match string(spec, "sessionAffinity") {
        "None" => {
            if get(spec, "sessionAffinityConfig").is_some() {
                errs.forbidden(
                    &path.child("sessionAffinityConfig"),
                    "must not be set when session affinity is None",
                );
            }
        }
        "ClientIP" => {
            let cp = path
                .child("sessionAffinityConfig")
                .child("clientIP")
                .child("timeoutSeconds");
            let timeout = at(at(spec, "sessionAffinityConfig"), "clientIP")
                .get("timeoutSeconds")
                .and_then(Value::as_i64);
            match timeout {
                None => errs.required(&cp, ""),
                Some(t) if !(1..=86400).contains(&t) => {
                    errs.invalid(&cp, &json!(t), names::inclusive_range_error(1, 86400))
                }
                _ => {}
            }
        }
        "" => errs.required(&path.child("sessionAffinity"), ""),
        other => errs.not_supported(
            &path.child("sessionAffinity"),
            &Value::from(other),
            &["ClientIP", "None"],
        ),
    }
    let cluster_ip = string(spec, "clusterIP");
    if !cluster_ip.is_empty() && cluster_ip != "None" && cluster_ip.parse::<IpAddr>().is_err() {
        errs.invalid_str(
            &path.child("clusterIP"),
            cluster_ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        );
    }
    for (i, ip) in items(spec, "externalIPs").iter().enumerate() {
        let s = ip.as_str().unwrap_or("");
        if s.parse::<IpAddr>().is_err() {
            errs.invalid_str(
                &path.child("externalIPs").index(i),
                s,
                "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            );
        }
    }
    match ty {
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName" => {}
        "" => errs.required(&path.child("type"), ""),
        other => errs.not_supported(
            &path.child("type"),
            &Value::from(other),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ),
    }
    let mut node_ports = BTreeSet::new();
    let mut seen_ports = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = path.child("ports").index(i);
        let protocol = string(p, "protocol");
        let node_port = int_at(p, "nodePort").unwrap_or(0);
        if node_port != 0 {
            if ty == "ClusterIP" || ty == "ExternalName" {
                errs.forbidden(
                    &pp.child("nodePort"),
                    &format!("may not be used when `type` is '{ty}'"),
                );
            } else if !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&node_port) {
                errs.invalid(
                    &pp.child("nodePort"),
                    &json!(node_port),
                    format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                    ),
                );
            }
            if !node_ports.insert((node_port, protocol)) {
                errs.duplicate(&pp.child("nodePort"), &json!(node_port));
            }
        }
        let port = int_at(p, "port").unwrap_or(0);
        if !seen_ports.insert((port, protocol)) {
            errs.duplicate(&pp, &json!({"port": port, "protocol": protocol}));
        }
    }
    validate_traffic_policies(spec, ty, &path, errs);
}

fn validate_service_port(
    p: &Value,
    require_name: bool,
    seen: &mut BTreeSet<String>,
    path: &Path,
    errs: &mut Errs,
) {
    let name = string(p, "name");
    if require_name && name.is_empty() {
        errs.required(&path.child("name"), "");
    } else if !name.is_empty() {
        errs.invalid_each(&path.child("name"), name, names::is_dns1123_label(name));
        if !seen.insert(name.to_string()) {
            errs.duplicate(&path.child("name"), &Value::from(name));
        }
    }
    let port = int_at(p, "port").unwrap_or(0);
    for m in names::is_valid_port_num(port) {
        errs.invalid(&path.child("port"), &json!(port), m);
    }
    validate_protocol(p, path, errs);
    if let Some(target) = get(p, "targetPort") {
        validate_port_num_or_name(target, &path.child("targetPort"), errs);
    }
    let app_protocol = string(p, "appProtocol");
    if !app_protocol.is_empty() {
        errs.invalid_each(
            &path.child("appProtocol"),
            app_protocol,
            names::is_qualified_name(app_protocol),
        );
    }
}

fn validate_traffic_policies(spec: &Value, ty: &str, path: &Path, errs: &mut Errs) {
    let external = string(spec, "externalTrafficPolicy");
    let externally_accessible = ty == "NodePort"
        || ty == "LoadBalancer"
        || (ty == "ClusterIP" && !items(spec, "externalIPs").is_empty());
    if !external.is_empty() {
        if !externally_accessible {
            errs.invalid_str(
                &path.child("externalTrafficPolicy"),
                external,
                "may only be set for externally-accessible services",
            );
        } else if !matches!(external, "Cluster" | "Local") {
            errs.not_supported(
                &path.child("externalTrafficPolicy"),
                &Value::from(external),
                &["Cluster", "Local"],
            );
        }
    } else if externally_accessible {
        errs.required(&path.child("externalTrafficPolicy"), "");
    }
    if let Some(hc) = get(spec, "healthCheckNodePort").filter(|v| v.as_i64() != Some(0))
        && !(ty == "LoadBalancer" && external == "Local")
    {
        errs.invalid(
            &path.child("healthCheckNodePort"),
            hc,
            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        );
    }
    match get(spec, "internalTrafficPolicy") {
        None if matches!(ty, "ClusterIP" | "NodePort" | "LoadBalancer") => {
            errs.required(&path.child("internalTrafficPolicy"), "")
        }
        Some(v) if !matches!(v.as_str(), Some("Cluster" | "Local")) => errs.not_supported(
            &path.child("internalTrafficPolicy"),
            v,
            &["Cluster", "Local"],
        ),
        _ => {}
    }
}
