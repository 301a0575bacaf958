//! Table columns and rows per kind, as kubectl 1.32 prints them (pkg/printers/internalversion).
//! Used by `peapod get`, by the server for `as=Table` responses and by the console, so it
//! lives in the api layer. `row` returns one cell per column of `columns`, including the
//! wide-only ones; a printer drops those unless `-o wide`.

mod core_kinds;
mod pods;

pub use core_kinds::format_endpoints;
pub use pods::status_and_counts as pod_status;
mod workloads;

use crate::api::kinds::KindInfo;
use crate::api::object::parse_time;
use serde_json::Value;
use std::collections::BTreeMap;

/// One table column (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Header as the API names it (`Name`, `Access Modes`); printers upper-case it.
    pub name: &'static str,
    /// Only shown with `-o wide` (priority 1 in a Table response).
    pub wide_only: bool,
    /// OpenAPI type of the cells: `string` or `integer`.
    pub ty: &'static str,
    /// `name` for the column holding the object name (kubectl prefixes it with `kind/`).
    pub format: &'static str,
}

impl Column {
    /// The header as kubectl prints it: `ACCESS MODES`.
    pub fn header(&self) -> String {
        self.name.to_uppercase()
    }
    /// Priority in a `metav1.Table` response.
    pub fn priority(&self) -> i32 {
        i32::from(self.wide_only)
    }
}

pub(crate) const fn col(name: &'static str) -> Column {
    Column {
        name,
        wide_only: false,
        ty: "string",
        format: "",
    }
}
pub(crate) const fn int(name: &'static str) -> Column {
    Column {
        name,
        wide_only: false,
        ty: "integer",
        format: "",
    }
}
pub(crate) const fn wide(name: &'static str) -> Column {
    Column {
        name,
        wide_only: true,
        ty: "string",
        format: "",
    }
}
pub(crate) const NAME: Column = Column {
    name: "Name",
    wide_only: false,
    ty: "string",
    format: "name",
};
pub(crate) const AGE: Column = col("Age");

const DEFAULT: &[Column] = &[NAME, AGE];

/// The columns of a kind, wide-only ones included.
pub fn columns(kind: &KindInfo) -> &'static [Column] {
    match kind.kind {
        "Pod" => pods::COLUMNS,
        "Deployment" => workloads::DEPLOYMENT,
        "ReplicaSet" => workloads::REPLICASET,
        "ReplicationController" => workloads::REPLICATION_CONTROLLER,
        "DaemonSet" => workloads::DAEMONSET,
        "StatefulSet" => workloads::STATEFULSET,
        "Job" => workloads::JOB,
        "CronJob" => workloads::CRONJOB,
        "Service" => core_kinds::SERVICE,
        "Endpoints" => core_kinds::ENDPOINTS,
        "EndpointSlice" => core_kinds::ENDPOINT_SLICE,
        "Namespace" => core_kinds::NAMESPACE,
        "Node" => core_kinds::NODE,
        "ConfigMap" => core_kinds::CONFIGMAP,
        "Secret" => core_kinds::SECRET,
        "ServiceAccount" => core_kinds::SERVICEACCOUNT,
        "PersistentVolumeClaim" => core_kinds::PVC,
        "PersistentVolume" => core_kinds::PV,
        "Event" => core_kinds::EVENT,
        _ => DEFAULT,
    }
}

/// The cells of one object, one per entry of `columns(kind)`.
pub fn row(kind: &KindInfo, obj: &Value, now: jiff::Timestamp) -> Vec<String> {
    let cells = match kind.kind {
        "Pod" => pods::row(obj, now),
        "Deployment" => workloads::deployment(obj, now),
        "ReplicaSet" => workloads::replicaset(obj, now),
        "ReplicationController" => workloads::replication_controller(obj, now),
        "DaemonSet" => workloads::daemonset(obj, now),
        "StatefulSet" => workloads::statefulset(obj, now),
        "Job" => workloads::job(obj, now),
        "CronJob" => workloads::cronjob(obj, now),
        "Service" => core_kinds::service(obj, now),
        "Endpoints" => core_kinds::endpoints(obj, now),
        "EndpointSlice" => core_kinds::endpoint_slice(obj, now),
        "Namespace" => core_kinds::namespace(obj, now),
        "Node" => core_kinds::node(obj, now),
        "ConfigMap" => core_kinds::configmap(obj, now),
        "Secret" => core_kinds::secret(obj, now),
        "ServiceAccount" => core_kinds::serviceaccount(obj, now),
        "PersistentVolumeClaim" => core_kinds::pvc(obj, now),
        "PersistentVolume" => core_kinds::pv(obj, now),
        "Event" => core_kinds::event(obj, now),
        _ => vec![name(obj), age(obj, now)],
    };
    debug_assert_eq!(cells.len(), columns(kind).len(), "{}", kind.kind);
    cells
}

// ---- value helpers -------------------------------------------------------------------------

pub(crate) fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn i(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

pub(crate) fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn map_len(v: &Value, ptr: &str) -> usize {
    v.pointer(ptr)
        .and_then(Value::as_object)
        .map(|m| m.len())
        .unwrap_or(0)
}

pub(crate) fn name(obj: &Value) -> String {
    s(obj, "/metadata/name").to_string()
}

pub(crate) fn age(obj: &Value, now: jiff::Timestamp) -> String {
    since(
        obj.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str),
        now,
    )
}

/// kubectl's `translateTimestampSince`: `<unknown>` without a time, else a human duration.
pub fn since(ts: Option<&str>, now: jiff::Timestamp) -> String {
    match ts.filter(|t| !t.is_empty()).and_then(parse_time) {
        Some(t) => human_duration_between(t, now),
        None => "<unknown>".to_string(),
    }
}

pub(crate) fn human_duration_between(from: jiff::Timestamp, to: jiff::Timestamp) -> String {
    // Go truncates the duration toward zero to whole seconds.
    human_duration(to.duration_since(from).as_secs())
}

/// apimachinery's `duration.HumanDuration` for a signed number of seconds.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// `labels.FormatLabels`: `a=b,c=d` sorted by key, `<none>` when empty.
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".into();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A JSON string map (`spec.selector` of a Service) as `FormatLabels` prints it.
pub fn format_label_map(v: Option<&Value>) -> String {
    let m: BTreeMap<String, String> = v
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    format_labels(&m)
}

/// The string form of a `metav1.LabelSelector` (`labels.Selector.String()`): requirements
/// sorted by key, `in`/`notin` values sorted. Empty for an empty or absent selector.
pub fn label_selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|v| v.is_object()) else {
        return String::new();
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = s(e, "/key");
        let mut values: Vec<&str> = arr(e, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>();
        values.sort_unstable();
        values.dedup();
        let text = match s(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        };
        reqs.push((key.to_string(), text));
    }
    // Go sorts requirements by key with a stable sort.
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: like `label_selector_string` but `<none>` when empty.
pub fn format_label_selector(sel: Option<&Value>) -> String {
    let s = label_selector_string(sel);
    if s.is_empty() { "<none>".into() } else { s }
}

/// `layoutContainerCells`: container names and images, comma separated.
pub(crate) fn container_cells(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::kinds::lookup;
    use serde_json::json;

    pub fn now() -> jiff::Timestamp {
        "2024-05-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn human_durations_follow_apimachinery() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (182, "3m2s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (8 * 86400, "8d"),
            (400 * 86400, "400d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn ages_and_unknown() {
        let o = json!({"metadata": {"name": "a", "creationTimestamp": "2024-05-01T11:57:00Z"}});
        assert_eq!(age(&o, now()), "3m");
        assert_eq!(age(&json!({}), now()), "<unknown>");
        assert_eq!(since(Some("2024-05-01T12:00:02Z"), now()), "<invalid>");
    }

    #[test]
    fn selectors_format_like_kubectl() {
        let sel = json!({
            "matchLabels": {"tier": "web", "app": "x"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "zz", "operator": "DoesNotExist"}
            ]
        });
        assert_eq!(
            label_selector_string(Some(&sel)),
            "app=x,env in (dev,prod),tier=web,!zz"
        );
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(
            format_label_map(Some(&json!({"b": "2", "a": "1"}))),
            "a=1,b=2"
        );
    }

    #[test]
    fn every_kind_has_matching_row_width() {
        for k in crate::api::kinds::KINDS {
            let obj = json!({"metadata": {"name": "x"}});
            assert_eq!(row(k, &obj, now()).len(), columns(k).len(), "{}", k.kind);
            assert_eq!(
                columns(k)
                    .iter()
                    .filter(|c| c.format == "name")
                    .count()
                    .min(1),
                1,
                "{}",
                k.kind
            );
        }
        assert_eq!(columns(lookup("pvc").unwrap())[4].header(), "ACCESS MODES");
    }
}
