//! Container validation: names, images, policies, ports, env, volume mounts, probes and
//! lifecycle handlers, resources.

use super::names;
use super::pod::quantity_reason;
use super::{Errs, Path, at, get, int_at, items, object, string};
use crate::api::quantity::Quantity;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What container checks need to know about the pod spec around them.
pub(crate) struct Ctx<'a> {
    /// Names of the pod's valid volumes.
    pub volumes: &'a BTreeSet<String>,
    pub is_pod: bool,
    pub host_network: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Regular,
    Init,
}

pub(crate) fn validate_containers(spec: &Value, path: &Path, ctx: &Ctx, errs: &mut Errs) {
    let containers = items(spec, "containers");
    if containers.is_empty() {
        errs.required(&path.child("containers"), "");
    }
    let mut names = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for (list, role) in [
        ("containers", Role::Regular),
        ("initContainers", Role::Init),
    ] {
        for (i, c) in items(spec, list).iter().enumerate() {
            let cp = path.child(list).index(i);
            validate_container(c, &cp, role, ctx, &mut names, errs);
            // Host ports are unique per protocol across every container of the pod.
            for (j, p) in items(c, "ports").iter().enumerate() {
                let host_port = int_at(p, "hostPort").unwrap_or(0);
                if host_port == 0 {
                    continue;
                }
                let key = format!("{host_port}/{}", string(p, "protocol"));
                if !host_ports.insert(key.clone()) {
                    errs.duplicate(
                        &cp.child("ports").index(j).child("hostPort"),
                        &Value::String(key),
                    );
                }
            }
        }
    }
}

fn validate_container(
    c: &Value,
    path: &Path,
    role: Role,
    ctx: &Ctx,
    names_seen: &mut BTreeSet<String>,
    errs: &mut Errs,
) {
    let name = string(c, "name");
    if name.is_empty() {
        errs.required(&path.child("name"), "");
    } else {
        errs.invalid_each(&path.child("name"), name, names::is_dns1123_label(name));
        if !names_seen.insert(name.to_string()) {
            errs.duplicate(&path.child("name"), &Value::from(name));
        }
    }
    let image = string(c, "image");
    if image.is_empty() {
        errs.required(&path.child("image"), "");
    } else if ctx.is_pod && image.trim() != image {
        errs.invalid_str(
            &path.child("image"),
            image,
            "must not have leading or trailing whitespace",
        );
    }
    let pull = string(c, "imagePullPolicy");
    match pull {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.required(&path.child("imagePullPolicy"), ""),
        other => errs.not_supported(
            &path.child("imagePullPolicy"),
            &Value::from(other),
            &["Always", "IfNotPresent", "Never"],
        ),
    }
    match string(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.required(
            &path.child("terminationMessagePolicy"),
            "must be 'File' or 'FallbackToLogsOnError'",
        ),
        other => errs.not_supported(
            &path.child("terminationMessagePolicy"),
            &Value::from(other),
            &["File", "FallbackToLogsOnError"],
        ),
    }
    let sidecar = role == Role::Init && string(c, "restartPolicy") == "Always";
    if let Some(rp) = get(c, "restartPolicy") {
        match role {
            Role::Init if rp.as_str() != Some("Always") => {
                errs.not_supported(&path.child("restartPolicy"), rp, &["Always"])
            }
            Role::Regular => errs.forbidden(
                &path.child("restartPolicy"),
                "may not be set for non-init containers",
            ),
            _ => {}
        }
    }
    validate_ports(items(c, "ports"), &path.child("ports"), ctx, errs);
    validate_env(items(c, "env"), &path.child("env"), errs);
    validate_env_from(items(c, "envFrom"), &path.child("envFrom"), errs);
    validate_volume_mounts(
        items(c, "volumeMounts"),
        &path.child("volumeMounts"),
        ctx,
        errs,
    );

    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(p) = get(c, probe) else { continue };
        let pp = path.child(probe);
        if role == Role::Init && !sidecar {
            errs.forbidden(
                &pp,
                "may not be set for init containers without restartPolicy=Always",
            );
            continue;
        }
        validate_probe(p, &pp, errs);
        if probe != "readinessProbe" && int_at(p, "successThreshold") != Some(1) {
            errs.invalid(
                &pp.child("successThreshold"),
                at(p, "successThreshold"),
                "must be 1",
            );
        }
        if probe == "readinessProbe" && get(p, "terminationGracePeriodSeconds").is_some() {
            errs.invalid(
                &pp.child("terminationGracePeriodSeconds"),
                at(p, "terminationGracePeriodSeconds"),
                "must not be set for readinessProbes",
            );
        }
    }
    if let Some(lifecycle) = get(c, "lifecycle") {
        if role == Role::Init && !sidecar {
            errs.forbidden(
                &path.child("lifecycle"),
                "may not be set for init containers without restartPolicy=Always",
            );
        } else {
            for hook in ["postStart", "preStop"] {
                if let Some(h) = get(lifecycle, hook) {
                    validate_handler(
                        h,
                        &path.child("lifecycle").child(hook),
                        &["exec", "httpGet", "tcpSocket", "sleep"],
                        errs,
                    );
                }
            }
        }
    }
    if let Some(res) = get(c, "resources") {
        validate_resources(res, &path.child("resources"), errs);
    }
}

fn validate_ports(ports: &[Value], path: &Path, ctx: &Ctx, errs: &mut Errs) {
    let mut names_seen = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = path.index(i);
        let name = string(p, "name");
        if !name.is_empty() {
            let msgs = names::is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.invalid_each(&pp.child("name"), name, msgs);
            } else if !names_seen.insert(name.to_string()) {
                errs.duplicate(&pp.child("name"), &Value::from(name));
            }
        }
        let container_port = int_at(p, "containerPort").unwrap_or(0);
        if container_port == 0 {
            errs.required(&pp.child("containerPort"), "");
        } else {
            for m in names::is_valid_port_num(container_port) {
                errs.invalid(&pp.child("containerPort"), &Value::from(container_port), m);
            }
        }
        let host_port = int_at(p, "hostPort").unwrap_or(0);
        if host_port != 0 {
            for m in names::is_valid_port_num(host_port) {
                errs.invalid(&pp.child("hostPort"), &Value::from(host_port), m);
            }
            if ctx.host_network && host_port != container_port {
                errs.invalid(
                    &pp.child("hostPort"),
                    &Value::from(host_port),
                    "must match `containerPort` when `hostNetwork` is true",
                );
            }
        }
        validate_protocol(p, &pp, errs);
    }
}

/// `protocol` of container and service ports.
pub(crate) fn validate_protocol(port: &Value, path: &Path, errs: &mut Errs) {
    match string(port, "protocol") {
        "TCP" | "UDP" | "SCTP" => {}
        "" => errs.required(&path.child("protocol"), ""),
        other => errs.not_supported(
            &path.child("protocol"),
            &Value::from(other),
            &["SCTP", "TCP", "UDP"],
        ),
    }
}

/// An int-or-string port: a number 1-65535 or an IANA_SVC_NAME.
pub(crate) fn validate_port_num_or_name(port: &Value, path: &Path, errs: &mut Errs) {
    match port {
        Value::String(s) => errs.invalid_each(path, s, names::is_valid_port_name(s)),
        Value::Number(n) => {
            let v = n.as_i64().unwrap_or(0);
            for m in names::is_valid_port_num(v) {
                errs.invalid(path, port, m);
            }
        }
        _ => {}
    }
}

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn validate_env(env: &[Value], path: &Path, errs: &mut Errs) {
    for (i, e) in env.iter().enumerate() {
        let ep = path.index(i);
        let name = string(e, "name");
        if name.is_empty() {
            errs.required(&ep.child("name"), "");
        } else {
            errs.invalid_each(&ep.child("name"), name, names::is_env_var_name(name));
        }
        let Some(from) = get(e, "valueFrom") else {
            continue;
        };
        let fp = ep.child("valueFrom");
        let mut sources = 0;
        if let Some(f) = get(from, "fieldRef") {
            sources += 1;
            validate_field_ref(f, &fp.child("fieldRef"), errs);
        }
        if let Some(r) = get(from, "resourceFieldRef") {
            sources += 1;
            let rp = fp.child("resourceFieldRef");
            let resource = string(r, "resource");
            if resource.is_empty() {
                errs.required(&rp.child("resource"), "");
            } else if !RESOURCE_FIELD_PATHS.contains(&resource) && !resource.contains(".hugepages-")
            {
                errs.not_supported(
                    &rp.child("resource"),
                    &Value::from(resource),
                    RESOURCE_FIELD_PATHS,
                );
            }
        }
        for sel in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(s) = get(from, sel) {
                sources += 1;
                let sp = fp.child(sel);
                let n = string(s, "name");
                errs.invalid_each(&sp.child("name"), n, names::name_is_dns_subdomain(n, false));
                let key = string(s, "key");
                if key.is_empty() {
                    errs.required(&sp.child("key"), "");
                } else {
                    errs.invalid_each(&sp.child("key"), key, names::is_config_map_key(key));
                }
            }
        }
        let empty = Value::from("");
        if sources == 0 {
            errs.invalid(&fp, &empty, "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
        } else if !string(e, "value").is_empty() {
            errs.invalid(
                &fp,
                &empty,
                "may not be specified when `value` is not empty",
            );
        } else if sources > 1 {
            errs.invalid(
                &fp,
                &empty,
                "may not have more than one field specified at a time",
            );
        }
    }
}

fn validate_field_ref(f: &Value, path: &Path, errs: &mut Errs) {
    let field_path = string(f, "fieldPath");
    if string(f, "apiVersion").is_empty() {
        errs.required(&path.child("apiVersion"), "");
        return;
    }
    if field_path.is_empty() {
        errs.required(&path.child("fieldPath"), "");
        return;
    }
    // metadata.labels['key'] and metadata.annotations['key'] pick one entry.
    if let Some((base, rest)) = field_path.split_once("['")
        && let Some(key) = rest.strip_suffix("']")
    {
        match base {
            "metadata.labels" => errs.invalid_each(path, key, names::is_qualified_name(key)),
            "metadata.annotations" => {
                errs.invalid_each(path, key, names::is_qualified_name(&key.to_lowercase()))
            }
            _ => errs.invalid_str(path, base, "does not support subscript"),
        }
        return;
    }
    if !ENV_FIELD_PATHS.contains(&field_path) {
        errs.not_supported(
            &path.child("fieldPath"),
            &Value::from(field_path),
            ENV_FIELD_PATHS,
        );
    }
}

fn validate_env_from(env_from: &[Value], path: &Path, errs: &mut Errs) {
    for (i, e) in env_from.iter().enumerate() {
        let ep = path.index(i);
        let prefix = string(e, "prefix");
        if !prefix.is_empty() {
            errs.invalid_each(&ep.child("prefix"), prefix, names::is_env_var_name(prefix));
        }
        let mut sources = 0;
        for r in ["configMapRef", "secretRef"] {
            if let Some(s) = get(e, r) {
                sources += 1;
                let n = string(s, "name");
                if n.is_empty() {
                    errs.required(&ep.child(r).child("name"), "");
                } else {
                    errs.invalid_each(
                        &ep.child(r).child("name"),
                        n,
                        names::name_is_dns_subdomain(n, false),
                    );
                }
            }
        }
        let empty = Value::from("");
        if sources == 0 {
            errs.invalid(
                &ep,
                &empty,
                "must specify one of: `configMapRef` or `secretRef`",
            );
        } else if sources > 1 {
            errs.invalid(
                &ep,
                &empty,
                "may not have more than one field specified at a time",
            );
        }
    }
}

fn validate_volume_mounts(mounts: &[Value], path: &Path, ctx: &Ctx, errs: &mut Errs) {
    let mut mount_points = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let mp = path.index(i);
        let name = string(m, "name");
        if name.is_empty() {
            errs.required(&mp.child("name"), "");
        }
        if !ctx.volumes.contains(name) {
            errs.not_found(&mp.child("name"), name);
        }
        let mount_path = string(m, "mountPath");
        if mount_path.is_empty() {
            errs.required(&mp.child("mountPath"), "");
        } else if !mount_path.starts_with('/') {
            // peapod runs Linux containers only, where mount points are absolute.
            errs.invalid_str(
                &mp.child("mountPath"),
                mount_path,
                "must be an absolute path",
            );
        }
        if !mount_points.insert(mount_path.to_string()) {
            errs.invalid_str(&mp.child("mountPath"), mount_path, "must be unique");
        }
        let sub_path = string(m, "subPath");
        if !sub_path.is_empty() {
            validate_local_descending_path(sub_path, &mp.child("subPath"), errs);
        }
        let expr = string(m, "subPathExpr");
        if !expr.is_empty() {
            if !sub_path.is_empty() {
                errs.invalid_str(
                    &mp.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                );
            }
            validate_local_descending_path(expr, &mp.child("subPathExpr"), errs);
        }
    }
}

/// A path that must stay inside its volume: relative and without `..`.
pub(crate) fn validate_local_descending_path(p: &str, path: &Path, errs: &mut Errs) {
    if p.starts_with('/') {
        errs.invalid_str(path, p, "must be a relative path");
    }
    if p.split('/').any(|part| part == "..") {
        errs.invalid_str(path, p, "must not contain '..'");
    }
}

fn validate_probe(p: &Value, path: &Path, errs: &mut Errs) {
    validate_handler(p, path, &["exec", "httpGet", "tcpSocket", "grpc"], errs);
    for field in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        errs.non_negative(&path.child(field), int_at(p, field));
    }
    if let Some(g) = int_at(p, "terminationGracePeriodSeconds").filter(|g| *g <= 0) {
        errs.invalid(
            &path.child("terminationGracePeriodSeconds"),
            &Value::from(g),
            "must be greater than 0",
        );
    }
}

/// Exactly one handler of `kinds` (probe or lifecycle hook).
fn validate_handler(h: &Value, path: &Path, kinds: &[&str], errs: &mut Errs) {
    let mut found = 0;
    for kind in kinds {
        let Some(action) = get(h, kind) else { continue };
        let ap = path.child(kind);
        if found > 0 {
            errs.forbidden(&ap, "may not specify more than 1 handler type");
            continue;
        }
        found += 1;
        match *kind {
            "exec" if items(action, "command").is_empty() => {
                errs.required(&ap.child("command"), "");
            }
            "httpGet" => {
                if string(action, "path").is_empty() {
                    errs.required(&ap.child("path"), "");
                }
                validate_port_num_or_name(at(action, "port"), &ap.child("port"), errs);
                let scheme = string(action, "scheme");
                if !matches!(scheme, "HTTP" | "HTTPS") {
                    errs.not_supported(
                        &ap.child("scheme"),
                        &Value::from(scheme),
                        &["HTTP", "HTTPS"],
                    );
                }
            }
            "tcpSocket" => validate_port_num_or_name(at(action, "port"), &ap.child("port"), errs),
            "grpc" => {
                let port = int_at(action, "port").unwrap_or(0);
                for m in names::is_valid_port_num(port) {
                    errs.invalid(&ap.child("port"), &Value::from(port), m);
                }
            }
            "sleep" => errs.non_negative(&ap.child("seconds"), int_at(action, "seconds")),
            _ => {}
        }
    }
    if found == 0 {
        errs.required(path, "must specify a handler type");
    }
}

/// Resource names `validateResourceName` accepts without a domain.
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "requests.storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Kubernetes' own resources (no domain, or a kubernetes.io domain).
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// Requests may be below limits only for cpu, memory and the like; hugepages and extended
/// resources (`example.com/gpu`) must request exactly their limit.
fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !name.starts_with("hugepages-")
}

fn validate_container_resource_name(name: &str, path: &Path, errs: &mut Errs) {
    errs.invalid_each(path, name, names::is_qualified_name(name));
    if !name.contains('/') {
        if !STANDARD_RESOURCES.contains(&name) && !name.starts_with("hugepages-") {
            errs.invalid_str(
                path,
                name,
                "must be a standard resource type or fully qualified",
            );
        }
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage")
            && !name.starts_with("hugepages-")
        {
            errs.invalid_str(path, name, "must be a standard resource for containers");
        }
    } else if !is_native(name)
        && (name.starts_with("requests.")
            || !names::is_qualified_name(&format!("requests.{name}")).is_empty())
    {
        errs.invalid_str(path, name, "doesn't follow extended resource name standard");
    }
}

/// Parse and check one resource list; returns the quantities that parsed.
fn resource_list(
    list: Option<&Map<String, Value>>,
    path: &Path,
    errs: &mut Errs,
) -> BTreeMap<String, Quantity> {
    let mut out = BTreeMap::new();
    for (name, v) in list.into_iter().flatten() {
        let kp = path.key(name);
        validate_container_resource_name(name, &kp, errs);
        let q = match Quantity::from_json(v) {
            Ok(q) => q,
            Err(_) => {
                errs.invalid(&kp, v, quantity_reason(v));
                continue;
            }
        };
        if q < Quantity::zero() {
            errs.invalid(&kp, &q.to_json(), "must be greater than or equal to 0");
        }
        if !is_native(name) && q.milli_value() % 1000 != 0 {
            errs.invalid(&kp, &q.to_json(), "must be an integer");
        }
        out.insert(name.clone(), q);
    }
    out
}

fn validate_resources(res: &Value, path: &Path, errs: &mut Errs) {
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let limits = resource_list(object(res, "limits"), &lim_path, errs);
    let requests = resource_list(object(res, "requests"), &req_path, errs);
    let limit_names: BTreeSet<&String> = object(res, "limits")
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    for (name, q) in &requests {
        match limits.get(name) {
            Some(limit) if q != limit && !overcommit_allowed(name) => errs.invalid(
                &req_path,
                &q.to_json(),
                format!("must be equal to {name} limit of {limit}"),
            ),
            Some(limit) if q > limit => errs.invalid(
                &req_path,
                &q.to_json(),
                format!("must be less than or equal to {name} limit of {limit}"),
            ),
            None if !overcommit_allowed(name) && !limit_names.contains(name) => errs.required(
                &lim_path,
                "Limit must be set for non overcommitable resources",
            ),
            _ => {}
        }
    }
    let has = |m: &BTreeMap<String, Quantity>, f: &dyn Fn(&str) -> bool| m.keys().any(|k| f(k));
    let compute = |k: &str| k == "cpu" || k == "memory";
    let huge = |k: &str| k.starts_with("hugepages-");
    if !has(&limits, &compute)
        && !has(&requests, &compute)
        && (has(&limits, &huge) || has(&requests, &huge))
    {
        errs.forbidden(path, "HugePages require cpu or memory");
    }
    for (i, claim) in items(res, "claims").iter().enumerate() {
        if string(claim, "name").is_empty() {
            errs.required(&path.child("claims").index(i).child("name"), "");
        }
    }
}
