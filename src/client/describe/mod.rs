//! `describe`: kubectl's key/value layout (aligned with a tabwriter, padding 2), kind-specific
//! sections for pods, deployments, replica sets, services, namespaces, config maps and
//! secrets, a YAML fallback for other kinds, and the object's events.

mod pod;

use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, parse_time};
use crate::api::request::ListOptions;
use crate::api::table::{self, human_duration_between};
use crate::client::text::{tabwrite, to_yaml};
use crate::cluster::Cluster;
use serde_json::Value;
use std::collections::BTreeMap;

/// kubectl's PrefixWriter over a tabwriter: lines at indent levels (two spaces each), cells
/// separated by `\t`; `flush` ends an alignment block.
#[derive(Default)]
pub struct W {
    done: String,
    cur: String,
}

impl W {
    pub fn line(&mut self, level: usize, text: impl AsRef<str>) {
        for _ in 0..level {
            self.cur.push_str("  ");
        }
        self.cur.push_str(text.as_ref());
        self.cur.push('\n');
    }
    pub fn flush(&mut self) {
        let block = std::mem::take(&mut self.cur);
        self.done.push_str(&tabwrite(&block, 0, 2));
    }
    pub fn finish(mut self) -> String {
        self.flush();
        self.done
    }
}

pub fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

pub fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A scalar as text (`80`, `true`, `x`); empty for null/absent.
pub fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// RFC 1123 with numeric zone, in local time, as kubectl prints times.
pub fn time(ts: &str) -> String {
    match parse_time(ts) {
        Some(t) => t
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%a, %d %b %Y %H:%M:%S %z")
            .to_string(),
        None => ts.to_string(),
    }
}

/// `Labels:  a=b` then one `k=v` per line aligned under the first.
pub fn labels_multiline(w: &mut W, level: usize, title: &str, m: &BTreeMap<String, String>) {
    if m.is_empty() {
        w.line(level, format!("{title}:\t<none>"));
        return;
    }
    for (i, (k, v)) in m.iter().enumerate() {
        if i == 0 {
            w.line(level, format!("{title}:\t{k}={v}"));
        } else {
            w.line(level, format!("\t{k}={v}"));
        }
    }
}

/// `Annotations:  key: value`, skipping kubectl's last-applied-configuration.
fn annotations_multiline(w: &mut W, level: usize, m: &BTreeMap<String, String>) {
    let m: Vec<(&String, &String)> = m
        .iter()
        .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
        .collect();
    if m.is_empty() {
        w.line(level, "Annotations:\t<none>");
        return;
    }
    for (i, (k, v)) in m.iter().enumerate() {
        let prefix = if i == 0 { "Annotations:\t" } else { "\t" };
        let v = v.trim_end_matches('\n');
        if v.contains('\n') || v.len() + k.len() + 2 > 140 {
            w.line(level, format!("{prefix}{k}:"));
            for l in v.split('\n') {
                let short: String = if l.chars().count() > 138 {
                    l.chars().take(135).collect::<String>() + "..."
                } else {
                    l.to_string()
                };
                w.line(level, format!("\t{short}"));
            }
        } else {
            w.line(level, format!("{prefix}{k}: {v}"));
        }
    }
}

/// Name, Namespace, Labels, Annotations.
pub fn header(w: &mut W, obj: &Value) {
    w.line(0, format!("Name:\t{}", obj.name()));
    if let Some(ns) = obj.namespace() {
        w.line(0, format!("Namespace:\t{ns}"));
    }
    labels_multiline(w, 0, "Labels", &obj.labels());
    annotations_multiline(w, 0, &obj.annotations());
}

/// `Controlled By:  ReplicaSet/web-abc`.
pub fn controlled_by(w: &mut W, obj: &Value) {
    if let Some(o) = obj.owner_references().into_iter().find(|o| o.controller) {
        w.line(0, format!("Controlled By:\t{}/{}", o.kind, o.name));
    }
}

/// Events about the object, oldest last-seen first, or `Events:  <none>`.
async fn events(
    cluster: &dyn Cluster,
    kind: &KindInfo,
    obj: &Value,
    now: jiff::Timestamp,
    w: &mut W,
) {
    let Some(ev_kind) = kinds::lookup("events") else {
        return;
    };
    let mut sel = format!("involvedObject.name={}", obj.name());
    if kind.namespaced {
        sel.push_str(&format!(
            ",involvedObject.namespace={}",
            obj.namespace().unwrap_or("")
        ));
    }
    if !obj.uid().is_empty() {
        sel.push_str(&format!(",involvedObject.uid={}", obj.uid()));
    }
    let opts = ListOptions {
        field_selector: Some(sel),
        ..Default::default()
    };
    let ns = if kind.namespaced {
        obj.namespace()
    } else {
        None
    };
    // kubectl ignores errors here: describe still shows the object.
    let mut items = cluster
        .list(ev_kind, ns, &opts)
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    if items.is_empty() {
        w.line(0, "Events:\t<none>");
        return;
    }
    w.flush();
    let last = |e: &Value| {
        let t = s(e, "/lastTimestamp");
        parse_time(if t.is_empty() { s(e, "/eventTime") } else { t })
    };
    items.sort_by_key(|e| last(e));
    w.line(0, "Events:");
    w.line(1, "Type\tReason\tAge\tFrom\tMessage");
    w.line(1, "----\t------\t----\t----\t-------");
    for e in &items {
        let first_ts = if s(e, "/eventTime").is_empty() {
            s(e, "/firstTimestamp")
        } else {
            s(e, "/eventTime")
        };
        let first = table::since(Some(first_ts), now);
        let count = e.pointer("/count").and_then(Value::as_i64).unwrap_or(0);
        let interval = if e.pointer("/series").is_some_and(Value::is_object) {
            let series_count = e
                .pointer("/series/count")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            format!(
                "{} (x{series_count} over {first})",
                table::since(Some(s(e, "/series/lastObservedTime")), now)
            )
        } else if count > 1 {
            format!(
                "{} (x{count} over {first})",
                table::since(Some(s(e, "/lastTimestamp")), now)
            )
        } else {
            first
        };
        let source = if s(e, "/source/component").is_empty() {
            s(e, "/reportingComponent")
        } else {
            s(e, "/source/component")
        };
        w.line(
            1,
            format!(
                "{}\t{}\t{interval}\t{source}\t{}",
                s(e, "/type"),
                s(e, "/reason"),
                s(e, "/message").trim()
            ),
        );
    }
}

/// YAML of a field, indented under its title, for kinds without a dedicated describer.
fn yaml_section(w: &mut W, title: &str, v: Option<&Value>) {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return;
    };
    w.line(0, format!("{title}:"));
    for l in to_yaml(v).lines() {
        w.line(1, l);
    }
}

fn generic(w: &mut W, kind: &KindInfo, obj: &Value) {
    w.line(0, format!("API Version:\t{}", kind.api_version()));
    w.line(0, format!("Kind:\t{}", kind.kind));
    if let Some(t) = obj.creation_timestamp() {
        w.line(0, format!("CreationTimestamp:\t{}", time(t)));
    }
    controlled_by(w, obj);
    w.flush();
    let skip = ["apiVersion", "kind", "metadata"];
    if let Some(m) = obj.as_object() {
        for (k, v) in m.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
            let mut title = k.clone();
            if let Some(f) = title.get_mut(0..1) {
                f.make_ascii_uppercase();
            }
            yaml_section(w, &title, Some(v));
        }
    }
}

fn namespace(w: &mut W, obj: &Value) {
    w.line(0, format!("Status:\t{}", s(obj, "/status/phase")));
    w.flush();
    w.line(0, "");
    w.line(0, "No resource quota.");
    w.line(0, "");
    w.line(0, "No LimitRange resource.");
}

fn configmap(w: &mut W, obj: &Value) {
    w.flush();
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    if let Some(m) = obj.get("data").and_then(Value::as_object) {
        let sorted: BTreeMap<&String, &Value> = m.iter().collect();
        for (k, v) in sorted {
            w.line(0, format!("{k}:"));
            w.line(0, "----");
            w.line(0, text(Some(v)));
            w.line(0, "");
        }
    }
    w.line(0, "");
    w.line(0, "BinaryData");
    w.line(0, "====");
    byte_sizes(w, obj.get("binaryData"), ": ");
    w.line(0, "");
    w.flush();
}

/// `key<sep>N bytes` per base64 value, sorted by key (binary data is never printed).
fn byte_sizes(w: &mut W, map: Option<&Value>, sep: &str) {
    if let Some(m) = map.and_then(Value::as_object) {
        let sorted: BTreeMap<&String, &Value> = m.iter().collect();
        for (k, v) in sorted {
            w.line(
                0,
                format!("{k}{sep}{} bytes", decoded_len(v.as_str().unwrap_or(""))),
            );
        }
    }
}

/// Length of base64 data once decoded.
fn decoded_len(b64: &str) -> usize {
    let t = b64.trim_end_matches('=');
    t.len() * 3 / 4
}

fn secret(w: &mut W, obj: &Value) {
    w.line(0, "");
    let ty = if s(obj, "/type").is_empty() {
        "Opaque"
    } else {
        s(obj, "/type")
    };
    w.line(0, format!("Type:\t{ty}"));
    w.line(0, "");
    w.line(0, "Data");
    w.line(0, "====");
    byte_sizes(w, obj.get("data"), ":\t");
}

async fn service(cluster: &dyn Cluster, w: &mut W, obj: &Value) {
    w.line(
        0,
        format!(
            "Selector:\t{}",
            table::format_label_map(obj.pointer("/spec/selector")).replace("<none>", "")
        ),
    );
    let ty = if s(obj, "/spec/type").is_empty() {
        "ClusterIP"
    } else {
        s(obj, "/spec/type")
    };
    w.line(0, format!("Type:\t{ty}"));
    if !s(obj, "/spec/ipFamilyPolicy").is_empty() {
        w.line(
            0,
            format!("IP Family Policy:\t{}", s(obj, "/spec/ipFamilyPolicy")),
        );
    }
    let families: Vec<&str> = arr(obj, "/spec/ipFamilies")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !families.is_empty() {
        w.line(0, format!("IP Families:\t{}", families.join(",")));
    }
    let ip = s(obj, "/spec/clusterIP");
    w.line(
        0,
        format!("IP:\t{}", if ip.is_empty() { "<none>" } else { ip }),
    );
    let ips: Vec<&str> = arr(obj, "/spec/clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !ips.is_empty() {
        w.line(0, format!("IPs:\t{}", ips.join(",")));
    }
    let ext: Vec<&str> = arr(obj, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !ext.is_empty() {
        w.line(0, format!("External IPs:\t{}", ext.join(",")));
    }
    if ty == "ExternalName" {
        w.line(
            0,
            format!("External Name:\t{}", s(obj, "/spec/externalName")),
        );
    }
    let endpoints = match kinds::lookup("endpoints") {
        Some(k) => cluster.get(k, obj.namespace(), obj.name()).await.ok(),
        None => None,
    };
    for p in arr(obj, "/spec/ports") {
        let name = if s(p, "/name").is_empty() {
            "<unset>"
        } else {
            s(p, "/name")
        };
        let proto = if s(p, "/protocol").is_empty() {
            "TCP"
        } else {
            s(p, "/protocol")
        };
        w.line(0, format!("Port:\t{name}\t{}/{proto}", text(p.get("port"))));
        let target = text(p.get("targetPort"));
        let target = if target.is_empty() {
            text(p.get("port"))
        } else {
            target
        };
        w.line(0, format!("TargetPort:\t{target}/{proto}"));
        if let Some(np) = p
            .get("nodePort")
            .and_then(Value::as_i64)
            .filter(|n| *n != 0)
        {
            w.line(0, format!("NodePort:\t{name}\t{np}/{proto}"));
        }
        let eps = match &endpoints {
            Some(e) => table::format_endpoints(e, Some(s(p, "/name"))),
            None => "<none>".to_string(),
        };
        w.line(0, format!("Endpoints:\t{eps}"));
    }
    let affinity = if s(obj, "/spec/sessionAffinity").is_empty() {
        "None"
    } else {
        s(obj, "/spec/sessionAffinity")
    };
    w.line(0, format!("Session Affinity:\t{affinity}"));
    if !s(obj, "/spec/internalTrafficPolicy").is_empty() {
        w.line(
            0,
            format!(
                "Internal Traffic Policy:\t{}",
                s(obj, "/spec/internalTrafficPolicy")
            ),
        );
    }
}

/// The full description of one object.
pub async fn describe_one(
    cluster: &dyn Cluster,
    kind: &'static KindInfo,
    obj: &Value,
    show_events: bool,
    now: jiff::Timestamp,
) -> String {
    let mut w = W::default();
    match kind.kind {
        "Pod" => pod::pod(&mut w, obj, now),
        "Deployment" => {
            header_with_created(&mut w, obj);
            pod::deployment(cluster, &mut w, obj).await;
        }
        "ReplicaSet" | "ReplicationController" => {
            header(&mut w, obj);
            pod::replicaset(cluster, kind, &mut w, obj).await;
        }
        "Service" => {
            header(&mut w, obj);
            service(cluster, &mut w, obj).await;
        }
        "Namespace" => {
            header(&mut w, obj);
            namespace(&mut w, obj);
        }
        "ConfigMap" => {
            header(&mut w, obj);
            configmap(&mut w, obj);
        }
        "Secret" => {
            header(&mut w, obj);
            secret(&mut w, obj);
        }
        _ => {
            header(&mut w, obj);
            generic(&mut w, kind, obj);
        }
    }
    if show_events && kind.kind != "Event" {
        events(cluster, kind, obj, now, &mut w).await;
    }
    w.finish()
}

fn header_with_created(w: &mut W, obj: &Value) {
    w.line(0, format!("Name:\t{}", obj.name()));
    if let Some(ns) = obj.namespace() {
        w.line(0, format!("Namespace:\t{ns}"));
    }
    if let Some(t) = obj.creation_timestamp() {
        w.line(0, format!("CreationTimestamp:\t{}", time(t)));
    }
    labels_multiline(w, 0, "Labels", &obj.labels());
    annotations_multiline(w, 0, &obj.annotations());
}

/// How long ago, for `Terminating (lasts 5s)`.
pub fn ago(ts: &str, now: jiff::Timestamp) -> String {
    parse_time(ts)
        .map(|t| human_duration_between(t, now))
        .unwrap_or_else(|| "<unknown>".into())
}
