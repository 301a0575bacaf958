//! describe for pods, their containers and volumes, and the workloads that carry a pod
//! template (deployments, replica sets, replication controllers).

use super::{W, ago, arr, controlled_by, labels_multiline, s, text, time};
use crate::api::kinds::{self, KindInfo};
use crate::api::object::ObjectExt;
use crate::api::request::ListOptions;
use crate::api::table;
use crate::cluster::Cluster;
use serde_json::Value;
use std::collections::BTreeMap;

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(Some(v)))).collect())
        .unwrap_or_default()
}

/// `Port:  80/TCP` or `Ports:  80/TCP, 443/TCP`, and the host ports likewise.
fn ports(w: &mut W, c: &Value) {
    let ports = arr(c, "/ports");
    let fmt = |p: &Value, field: &str| {
        let proto = if s(p, "/protocol").is_empty() {
            "TCP"
        } else {
            s(p, "/protocol")
        };
        let n = p.get(field).and_then(Value::as_i64).unwrap_or(0);
        let mut out = format!("{n}/{proto}");
        if field == "containerPort" && !s(p, "/name").is_empty() {
            out = format!("{n}/{proto} ({})", s(p, "/name"));
        }
        out
    };
    match ports.len() {
        0 => {
            w.line(2, "Port:\t<none>");
            w.line(2, "Host Port:\t<none>");
        }
        1 => {
            w.line(2, format!("Port:\t{}", fmt(&ports[0], "containerPort")));
            w.line(2, format!("Host Port:\t{}", fmt(&ports[0], "hostPort")));
        }
        _ => {
            let all: Vec<String> = ports.iter().map(|p| fmt(p, "containerPort")).collect();
            let hosts: Vec<String> = ports.iter().map(|p| fmt(p, "hostPort")).collect();
            w.line(2, format!("Ports:\t{}", all.join(", ")));
            w.line(2, format!("Host Ports:\t{}", hosts.join(", ")));
        }
    }
}

fn command_lines(w: &mut W, title: &str, v: &[Value]) {
    if v.is_empty() {
        return;
    }
    w.line(2, format!("{title}:"));
    for part in v {
        for l in text(Some(part)).split('\n') {
            w.line(3, l);
        }
    }
}

fn state(w: &mut W, title: &str, st: Option<&Value>) {
    let st = st.filter(|v| v.is_object());
    let get = |k: &str| st.and_then(|s| s.get(k)).filter(|v| v.is_object());
    if let Some(r) = get("running") {
        w.line(2, format!("{title}:\tRunning"));
        w.line(3, format!("Started:\t{}", time(s(r, "/startedAt"))));
    } else if let Some(wt) = get("waiting") {
        w.line(2, format!("{title}:\tWaiting"));
        if !s(wt, "/reason").is_empty() {
            w.line(3, format!("Reason:\t{}", s(wt, "/reason")));
        }
    } else if let Some(t) = get("terminated") {
        w.line(2, format!("{title}:\tTerminated"));
        if !s(t, "/reason").is_empty() {
            w.line(3, format!("Reason:\t{}", s(t, "/reason")));
        }
        if !s(t, "/message").is_empty() {
            w.line(3, format!("Message:\t{}", s(t, "/message")));
        }
        w.line(3, format!("Exit Code:\t{}", text(t.get("exitCode"))));
        if t.get("signal").and_then(Value::as_i64).unwrap_or(0) > 0 {
            w.line(3, format!("Signal:\t{}", text(t.get("signal"))));
        }
        w.line(3, format!("Started:\t{}", time(s(t, "/startedAt"))));
        w.line(3, format!("Finished:\t{}", time(s(t, "/finishedAt"))));
    } else {
        w.line(2, format!("{title}:\tWaiting"));
    }
}

fn resources(w: &mut W, c: &Value) {
    for (title, ptr) in [
        ("Limits", "/resources/limits"),
        ("Requests", "/resources/requests"),
    ] {
        let m = string_map(c.pointer(ptr));
        if m.is_empty() {
            continue;
        }
        w.line(2, format!("{title}:"));
        for (k, v) in m {
            w.line(3, format!("{k}:\t{v}"));
        }
    }
}

fn environment(w: &mut W, c: &Value) {
    let env = arr(c, "/env");
    let from = arr(c, "/envFrom");
    if env.is_empty() && from.is_empty() {
        w.line(2, "Environment:\t<none>");
        return;
    }
    if !from.is_empty() {
        w.line(2, "Environment Variables from:");
        for f in from {
            let (name, what) = if f.get("configMapRef").is_some() {
                (s(f, "/configMapRef/name"), "ConfigMap")
            } else {
                (s(f, "/secretRef/name"), "Secret")
            };
            let prefix = if s(f, "/prefix").is_empty() {
                String::new()
            } else {
                format!(" with prefix '{}'", s(f, "/prefix"))
            };
            let optional = f
                .pointer("/configMapRef/optional")
                .or(f.pointer("/secretRef/optional"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            w.line(3, format!("{name}\t{what}{prefix}\tOptional: {optional}"));
        }
    }
    if env.is_empty() {
        w.line(2, "Environment:\t<none>");
        return;
    }
    w.line(2, "Environment:");
    for e in env {
        let name = s(e, "/name");
        let optional = |p: &str| e.pointer(p).and_then(Value::as_bool).unwrap_or(false);
        if let Some(f) = e.pointer("/valueFrom/fieldRef") {
            w.line(
                3,
                format!("{name}:\t ({}:{})", s(f, "/apiVersion"), s(f, "/fieldPath")),
            );
        } else if let Some(r) = e.pointer("/valueFrom/resourceFieldRef") {
            w.line(
                3,
                format!(
                    "{name}:\t{} ({})",
                    s(r, "/resource"),
                    s(r, "/containerName")
                ),
            );
        } else if let Some(r) = e.pointer("/valueFrom/configMapKeyRef") {
            w.line(
                3,
                format!(
                    "{name}:\t<set to the key '{}' of config map '{}'>\tOptional: {}",
                    s(r, "/key"),
                    s(r, "/name"),
                    optional("/valueFrom/configMapKeyRef/optional")
                ),
            );
        } else if let Some(r) = e.pointer("/valueFrom/secretKeyRef") {
            w.line(
                3,
                format!(
                    "{name}:\t<set to the key '{}' in secret '{}'>\tOptional: {}",
                    s(r, "/key"),
                    s(r, "/name"),
                    optional("/valueFrom/secretKeyRef/optional")
                ),
            );
        } else {
            w.line(3, format!("{name}:\t{}", s(e, "/value")));
        }
    }
}

fn mounts(w: &mut W, c: &Value) {
    let m = arr(c, "/volumeMounts");
    if m.is_empty() {
        w.line(2, "Mounts:\t<none>");
        return;
    }
    w.line(2, "Mounts:");
    for v in m {
        let ro = if v.get("readOnly").and_then(Value::as_bool).unwrap_or(false) {
            "ro"
        } else {
            "rw"
        };
        let sub = if s(v, "/subPath").is_empty() {
            String::new()
        } else {
            format!(",path=\"{}\"", s(v, "/subPath"))
        };
        w.line(
            3,
            format!("{} from {} ({ro}{sub})", s(v, "/mountPath"), s(v, "/name")),
        );
    }
}

/// The containers section; `statuses` are the pod's statuses (none for templates). kubectl
/// puts a pod's titles at level 0 with names indented by two, and a template's titles at
/// level 1 with names indented by three; fields are at level 2 in both.
fn containers(
    w: &mut W,
    title_level: usize,
    title: &str,
    specs: &[Value],
    statuses: Option<&[Value]>,
) {
    if specs.is_empty() {
        return;
    }
    w.line(title_level, format!("{title}:"));
    for c in specs {
        let name = s(c, "/name");
        let st = statuses.and_then(|all| all.iter().find(|x| s(x, "/name") == name));
        w.line(0, format!("{}{name}:", " ".repeat(2 + title_level)));
        if statuses.is_some() {
            w.line(
                2,
                format!(
                    "Container ID:\t{}",
                    st.map(|x| s(x, "/containerID")).unwrap_or("")
                ),
            );
        }
        w.line(2, format!("Image:\t{}", s(c, "/image")));
        if statuses.is_some() {
            w.line(
                2,
                format!("Image ID:\t{}", st.map(|x| s(x, "/imageID")).unwrap_or("")),
            );
        }
        ports(w, c);
        command_lines(w, "Command", arr(c, "/command"));
        command_lines(w, "Args", arr(c, "/args"));
        if statuses.is_some() {
            state(w, "State", st.and_then(|x| x.get("state")));
            if let Some(last) = st
                .and_then(|x| x.get("lastState"))
                .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
            {
                state(w, "Last State", Some(last));
            }
            let ready = st
                .and_then(|x| x.get("ready"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            w.line(
                2,
                format!("Ready:\t{}", if ready { "True" } else { "False" }),
            );
            w.line(
                2,
                format!(
                    "Restart Count:\t{}",
                    st.and_then(|x| x.get("restartCount"))
                        .and_then(Value::as_i64)
                        .unwrap_or(0)
                ),
            );
        }
        resources(w, c);
        environment(w, c);
        mounts(w, c);
    }
}

fn volumes(w: &mut W, level: usize, vols: &[Value]) {
    if vols.is_empty() {
        w.line(level, "Volumes:\t<none>");
        return;
    }
    w.line(level, "Volumes:");
    for v in vols {
        w.line(level + 1, format!("{}:", s(v, "/name")));
        let l = level + 2;
        if let Some(e) = v.get("emptyDir") {
            w.line(
                l,
                "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)",
            );
            w.line(l, format!("Medium:\t{}", s(e, "/medium")));
            let limit = text(e.get("sizeLimit"));
            w.line(
                l,
                format!(
                    "SizeLimit:\t{}",
                    if limit.is_empty() {
                        "<unset>".into()
                    } else {
                        limit
                    }
                ),
            );
        } else if let Some(c) = v.get("configMap") {
            w.line(l, "Type:\tConfigMap (a volume populated by a ConfigMap)");
            w.line(l, format!("Name:\t{}", s(c, "/name")));
            w.line(
                l,
                format!(
                    "Optional:\t{}",
                    c.get("optional").and_then(Value::as_bool).unwrap_or(false)
                ),
            );
        } else if let Some(c) = v.get("secret") {
            w.line(l, "Type:\tSecret (a volume populated by a Secret)");
            w.line(l, format!("SecretName:\t{}", s(c, "/secretName")));
            w.line(
                l,
                format!(
                    "Optional:\t{}",
                    c.get("optional").and_then(Value::as_bool).unwrap_or(false)
                ),
            );
        } else if let Some(h) = v.get("hostPath") {
            w.line(l, "Type:\tHostPath (bare host directory volume)");
            w.line(l, format!("Path:\t{}", s(h, "/path")));
            w.line(l, format!("HostPathType:\t{}", s(h, "/type")));
        } else if let Some(p) = v.get("persistentVolumeClaim") {
            w.line(l, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)");
            w.line(l, format!("ClaimName:\t{}", s(p, "/claimName")));
            w.line(
                l,
                format!(
                    "ReadOnly:\t{}",
                    p.get("readOnly").and_then(Value::as_bool).unwrap_or(false)
                ),
            );
        } else if let Some(key) = v.as_object().and_then(|m| m.keys().find(|k| *k != "name")) {
            w.line(l, format!("Type:\t{key}"));
        }
    }
}

fn tolerations(w: &mut W, level: usize, tol: &[Value]) {
    if tol.is_empty() {
        w.line(level, "Tolerations:\t<none>");
        return;
    }
    for (i, t) in tol.iter().enumerate() {
        let mut line = s(t, "/key").to_string();
        if !s(t, "/value").is_empty() {
            line.push_str(&format!("={}", s(t, "/value")));
        }
        if !s(t, "/effect").is_empty() {
            line.push_str(&format!(":{}", s(t, "/effect")));
        }
        if s(t, "/operator") == "Exists" && s(t, "/value").is_empty() {
            line.push_str(if s(t, "/key").is_empty() && s(t, "/effect").is_empty() {
                "op=Exists"
            } else {
                " op=Exists"
            });
        }
        if let Some(secs) = t.get("tolerationSeconds").and_then(Value::as_i64) {
            line.push_str(&format!(" for {secs}s"));
        }
        let prefix = if i == 0 { "Tolerations:\t" } else { "\t" };
        w.line(level, format!("{prefix}{line}"));
    }
}

/// The pod's QoS class: the status field when set, else computed from requests and limits.
fn qos(pod: &Value) -> String {
    if !s(pod, "/status/qosClass").is_empty() {
        return s(pod, "/status/qosClass").to_string();
    }
    let all: Vec<&Value> = arr(pod, "/spec/containers")
        .iter()
        .chain(arr(pod, "/spec/initContainers"))
        .collect();
    let any = all.iter().any(|c| {
        c.pointer("/resources/limits")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
            || c.pointer("/resources/requests")
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
    });
    if !any {
        return "BestEffort".into();
    }
    let guaranteed = all.iter().all(|c| {
        let lim = string_map(c.pointer("/resources/limits"));
        let req = string_map(c.pointer("/resources/requests"));
        ["cpu", "memory"]
            .iter()
            .all(|r| lim.contains_key(*r) && req.get(*r).is_none_or(|q| Some(q) == lim.get(*r)))
    });
    if guaranteed {
        "Guaranteed".into()
    } else {
        "Burstable".into()
    }
}

pub(super) fn pod(w: &mut W, pod: &Value, now: jiff::Timestamp) {
    w.line(0, format!("Name:\t{}", pod.name()));
    w.line(0, format!("Namespace:\t{}", pod.namespace().unwrap_or("")));
    w.line(0, format!("Priority:\t{}", int(pod, "/spec/priority")));
    if !s(pod, "/spec/priorityClassName").is_empty() {
        w.line(
            0,
            format!(
                "Priority Class Name:\t{}",
                s(pod, "/spec/priorityClassName")
            ),
        );
    }
    let sa = s(pod, "/spec/serviceAccountName");
    w.line(
        0,
        format!(
            "Service Account:\t{}",
            if sa.is_empty() { "default" } else { sa }
        ),
    );
    let node = s(pod, "/spec/nodeName");
    let node = match (node, s(pod, "/status/hostIP")) {
        ("", _) => "<none>".to_string(),
        (n, "") => n.to_string(),
        (n, ip) => format!("{n}/{ip}"),
    };
    w.line(0, format!("Node:\t{node}"));
    if !s(pod, "/status/startTime").is_empty() {
        w.line(
            0,
            format!("Start Time:\t{}", time(s(pod, "/status/startTime"))),
        );
    }
    labels_multiline(w, 0, "Labels", &pod.labels());
    super::annotations_multiline(w, 0, &pod.annotations());
    if let Some(dt) = pod.deletion_timestamp() {
        w.line(0, format!("Status:\tTerminating (lasts {})", ago(dt, now)));
        if let Some(g) = pod
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
        {
            w.line(0, format!("Termination Grace Period:\t{g}s"));
        }
    } else {
        w.line(0, format!("Status:\t{}", s(pod, "/status/phase")));
    }
    if !s(pod, "/status/reason").is_empty() {
        w.line(0, format!("Reason:\t{}", s(pod, "/status/reason")));
    }
    if !s(pod, "/status/message").is_empty() {
        w.line(0, format!("Message:\t{}", s(pod, "/status/message")));
    }
    w.line(0, format!("IP:\t{}", s(pod, "/status/podIP")));
    let ips = arr(pod, "/status/podIPs");
    if ips.is_empty() {
        w.line(0, "IPs:\t<none>");
    } else {
        w.line(0, "IPs:");
        for ip in ips {
            w.line(1, format!("IP:\t{}", s(ip, "/ip")));
        }
    }
    controlled_by(w, pod);
    containers(
        w,
        0,
        "Init Containers",
        arr(pod, "/spec/initContainers"),
        Some(arr(pod, "/status/initContainerStatuses")),
    );
    containers(
        w,
        0,
        "Containers",
        arr(pod, "/spec/containers"),
        Some(arr(pod, "/status/containerStatuses")),
    );
    let conds = arr(pod, "/status/conditions");
    if !conds.is_empty() {
        w.line(0, "Conditions:");
        w.line(1, "Type\tStatus");
        for c in conds {
            w.line(1, format!("{} \t{} ", s(c, "/type"), s(c, "/status")));
        }
    }
    volumes(w, 0, arr(pod, "/spec/volumes"));
    w.line(0, format!("QoS Class:\t{}", qos(pod)));
    labels_multiline(
        w,
        0,
        "Node-Selectors",
        &string_map(pod.pointer("/spec/nodeSelector")),
    );
    tolerations(w, 0, arr(pod, "/spec/tolerations"));
}

/// `Pod Template:` of a workload.
fn pod_template(w: &mut W, tpl: &Value) {
    w.line(0, "Pod Template:");
    labels_multiline(w, 1, "Labels", &string_map(tpl.pointer("/metadata/labels")));
    let ann = string_map(tpl.pointer("/metadata/annotations"));
    if !ann.is_empty() {
        for (i, (k, v)) in ann.iter().enumerate() {
            let prefix = if i == 0 { "Annotations:\t" } else { "\t" };
            w.line(1, format!("{prefix}{k}: {v}"));
        }
    }
    let sa = s(tpl, "/spec/serviceAccountName");
    if !sa.is_empty() {
        w.line(1, format!("Service Account:\t{sa}"));
    }
    containers(
        w,
        1,
        "Init Containers",
        arr(tpl, "/spec/initContainers"),
        None,
    );
    containers(w, 1, "Containers", arr(tpl, "/spec/containers"), None);
    volumes(w, 1, arr(tpl, "/spec/volumes"));
    labels_multiline(
        w,
        1,
        "Node-Selectors",
        &string_map(tpl.pointer("/spec/nodeSelector")),
    );
    tolerations(w, 1, arr(tpl, "/spec/tolerations"));
}

fn conditions_with_reason(w: &mut W, obj: &Value) {
    let conds = arr(obj, "/status/conditions");
    if conds.is_empty() {
        return;
    }
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus\tReason");
    w.line(1, "----\t------\t------");
    for c in conds {
        w.line(
            1,
            format!(
                "{}\t{}\t{}",
                s(c, "/type"),
                s(c, "/status"),
                s(c, "/reason")
            ),
        );
    }
}

fn int(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// Replica sets controlled by the deployment: (new, old).
async fn owned_replicasets(cluster: &dyn Cluster, d: &Value) -> (Option<Value>, Vec<Value>) {
    let Some(rs_kind) = kinds::lookup("replicasets") else {
        return (None, Vec::new());
    };
    let Ok(list) = cluster
        .list(rs_kind, d.namespace(), &ListOptions::default())
        .await
    else {
        return (None, Vec::new());
    };
    let mut owned: Vec<Value> = list
        .items
        .into_iter()
        .filter(|rs| {
            rs.owner_references()
                .iter()
                .any(|o| o.controller && o.uid == d.uid())
        })
        .collect();
    let revision = |rs: &Value| {
        rs.annotation("deployment.kubernetes.io/revision")
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(0)
    };
    owned.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
    let mut it = owned.into_iter();
    let newest = it.next();
    let old = it
        .filter(|rs| int(rs, "/spec/replicas") > 0 || int(rs, "/status/replicas") > 0)
        .collect();
    (newest, old)
}

pub(super) async fn deployment(cluster: &dyn Cluster, w: &mut W, d: &Value) {
    w.line(
        0,
        format!(
            "Selector:\t{}",
            table::label_selector_string(d.pointer("/spec/selector"))
        ),
    );
    let desired = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    w.line(
        0,
        format!(
            "Replicas:\t{desired} desired | {} updated | {} total | {} available | {} unavailable",
            int(d, "/status/updatedReplicas"),
            int(d, "/status/replicas"),
            int(d, "/status/availableReplicas"),
            int(d, "/status/unavailableReplicas")
        ),
    );
    let strategy = if s(d, "/spec/strategy/type").is_empty() {
        "RollingUpdate"
    } else {
        s(d, "/spec/strategy/type")
    };
    w.line(0, format!("StrategyType:\t{strategy}"));
    w.line(
        0,
        format!("MinReadySeconds:\t{}", int(d, "/spec/minReadySeconds")),
    );
    if strategy == "RollingUpdate" {
        let or = |p: &str, def: &str| {
            let v = text(d.pointer(p));
            if v.is_empty() { def.to_string() } else { v }
        };
        w.line(
            0,
            format!(
                "RollingUpdateStrategy:\t{} max unavailable, {} max surge",
                or("/spec/strategy/rollingUpdate/maxUnavailable", "25%"),
                or("/spec/strategy/rollingUpdate/maxSurge", "25%")
            ),
        );
    }
    pod_template(w, d.pointer("/spec/template").unwrap_or(&Value::Null));
    conditions_with_reason(w, d);
    let (newest, old) = owned_replicasets(cluster, d).await;
    let describe_rs = |rs: &Value| {
        format!(
            "{} ({}/{} replicas created)",
            rs.name(),
            int(rs, "/status/replicas"),
            int(rs, "/spec/replicas")
        )
    };
    let old_text = if old.is_empty() {
        "<none>".to_string()
    } else {
        old.iter().map(describe_rs).collect::<Vec<_>>().join(", ")
    };
    w.line(0, format!("OldReplicaSets:\t{old_text}"));
    w.line(
        0,
        format!(
            "NewReplicaSet:\t{}",
            newest
                .as_ref()
                .map(describe_rs)
                .unwrap_or_else(|| "<none>".into())
        ),
    );
}

pub(super) async fn replicaset(cluster: &dyn Cluster, kind: &KindInfo, w: &mut W, rs: &Value) {
    let selector = if kind.kind == "ReplicationController" {
        table::format_label_map(rs.pointer("/spec/selector"))
    } else {
        table::label_selector_string(rs.pointer("/spec/selector"))
    };
    // Selector goes right after Namespace in kubectl; after the header is close enough.
    w.line(0, format!("Selector:\t{selector}"));
    controlled_by(w, rs);
    let desired = rs
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    w.line(
        0,
        format!(
            "Replicas:\t{} current / {desired} desired",
            int(rs, "/status/replicas")
        ),
    );
    let (mut running, mut waiting, mut succeeded, mut failed) = (0, 0, 0, 0);
    if let Some(pods) = kinds::lookup("pods") {
        let opts = ListOptions {
            label_selector: Some(selector.clone()).filter(|s| !s.is_empty() && s != "<none>"),
            ..Default::default()
        };
        if let Ok(list) = cluster.list(pods, rs.namespace(), &opts).await {
            for p in list.items.iter().filter(|p| {
                p.owner_references()
                    .iter()
                    .any(|o| o.controller && o.uid == rs.uid())
            }) {
                match s(p, "/status/phase") {
                    "Running" => running += 1,
                    "Succeeded" => succeeded += 1,
                    "Failed" => failed += 1,
                    _ => waiting += 1,
                }
            }
        }
    }
    w.line(0, format!("Pods Status:\t{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed"));
    pod_template(w, rs.pointer("/spec/template").unwrap_or(&Value::Null));
    conditions_with_reason(w, rs);
}
