//! Field selectors (`metadata.name=x,status.phase!=Running`): apimachinery's `fields.ParseSelector`
//! syntax (with its `\,` `\=` `\\` escapes) plus the per-kind field sets the API server supports.

use crate::api::error::{ApiError, ApiResult};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Fields every kind supports.
const COMMON_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// Extra fields per kind, as registered by the API server's field label conversion functions.
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "Node" => &["spec.unschedulable"],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

/// Every field a selector on `kind` may use (for help texts and completion).
pub fn supported_fields(kind: &str) -> Vec<&'static str> {
    COMMON_FIELDS
        .iter()
        .chain(kind_fields(kind))
        .copied()
        .collect()
}

/// `=`/`==` or `!=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldOp {
    Equals,
    NotEquals,
}

/// One `field op value` term.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldTerm {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

impl FieldTerm {
    pub fn matches(&self, obj: &Value) -> bool {
        let actual = field_value(obj, &self.field);
        (actual == self.value.as_str()) == (self.op == FieldOp::Equals)
    }
}

/// A parsed field selector (`metadata.name=x,status.phase!=Running`); terms are ANDed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parse and check that every field is supported for `kind` (the `Kind` name, e.g. `Pod`).
    pub fn parse(kind: &str, s: &str) -> ApiResult<FieldSelector> {
        let mut terms = Vec::new();
        for part in split_terms(s) {
            if part.trim().is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = lhs.trim();
            if !COMMON_FIELDS.contains(&field) && !kind_fields(kind).contains(&field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            let value = unescape_value(rhs).map_err(ApiError::bad_request)?;
            terms.push(FieldTerm {
                field: field.to_string(),
                op,
                value,
            });
        }
        terms.sort();
        terms.dedup();
        Ok(FieldSelector { terms })
    }

    pub fn everything() -> FieldSelector {
        FieldSelector::default()
    }

    pub fn is_everything(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn terms(&self) -> &[FieldTerm] {
        &self.terms
    }

    /// The value `field` must equal, if the selector pins one (`metadata.name=x`): lets the
    /// store read one object instead of scanning.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.op == FieldOp::Equals)
            .map(|t| t.value.as_str())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|t| t.matches(obj))
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if t.op == FieldOp::Equals { "=" } else { "!=" };
            write!(f, "{}{op}{}", t.field, escape_value(&t.value))?;
        }
        Ok(())
    }
}

/// The string form of a selectable field of `obj`, as the API server computes it: a missing
/// string is "", a missing boolean "false", a missing count "0" (Go zero values), and
/// booleans and numbers compare by their text.
pub fn field_value<'a>(obj: &'a Value, field: &str) -> Cow<'a, str> {
    let (pointer, zero) = match field {
        "spec.hostNetwork" => ("/spec/hostNetwork", "false"),
        "spec.unschedulable" => ("/spec/unschedulable", "false"),
        "status.replicas" => ("/status/replicas", "0"),
        // The field label says "successful", the JSON field is `succeeded`.
        "status.successful" => ("/status/succeeded", "0"),
        "status.podIP" => {
            let ip = text(obj.pointer("/status/podIP"));
            if !ip.is_empty() {
                return ip;
            }
            return text(obj.pointer("/status/podIPs/0/ip"));
        }
        "source" => {
            // Older events carry source.component, newer ones only reportingComponent.
            let component = text(obj.pointer("/source/component"));
            if !component.is_empty() {
                return component;
            }
            return text(obj.get("reportingComponent"));
        }
        other => {
            // Plain dotted paths (metadata.name, involvedObject.kind, reason, ...).
            let mut cur = Some(obj);
            for part in other.split('.') {
                cur = cur.and_then(|v| v.get(part));
            }
            return text(cur);
        }
    };
    match obj.pointer(pointer) {
        None | Some(Value::Null) => Cow::Borrowed(zero),
        v => text(v),
    }
}

fn text(v: Option<&Value>) -> Cow<'_, str> {
    match v {
        Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
        Some(Value::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Some(Value::Number(n)) => Cow::Owned(n.to_string()),
        _ => Cow::Borrowed(""),
    }
}

/// Split on commas that are not escaped with a backslash.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// `lhs op rhs` at the first operator; `!=` and `==` win over `=` at the same position.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, rhs));
            }
        }
    }
    None
}

fn unescape_value(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {c:?} (write \\{c})"
                ));
            }
            c => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

fn escape_value(s: &str) -> Cow<'_, str> {
    if !s.contains(['\\', ',', '=']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::Reason;
    use serde_json::json;

    fn pod(node: Option<&str>, phase: &str) -> Value {
        let mut p = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default"},
            "spec": {"restartPolicy": "Always", "containers": []},
            "status": {"phase": phase},
        });
        if let Some(n) = node {
            p["spec"]["nodeName"] = json!(n);
        }
        p
    }

    fn fs(kind: &str, s: &str) -> FieldSelector {
        FieldSelector::parse(kind, s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn pod_fields() {
        let running = pod(Some("node-1"), "Running");
        let pending = pod(None, "Pending");
        let s = fs("Pod", "status.phase!=Running");
        assert!(!s.matches(&running) && s.matches(&pending));
        let s = fs("Pod", "spec.nodeName=node-1,metadata.namespace==default");
        assert!(s.matches(&running) && !s.matches(&pending));
        // An empty value selects objects without the field: unscheduled pods.
        let s = fs("Pod", "spec.nodeName=");
        assert!(!s.matches(&running) && s.matches(&pending));
        assert!(fs("Pod", "metadata.name=web-1").matches(&running));
        assert!(!fs("Pod", "metadata.name=web-2").matches(&running));
        assert!(fs("Pod", "spec.restartPolicy=Always").matches(&running));
    }

    #[test]
    fn booleans_and_numbers_compare_by_text_with_go_zero_values() {
        let mut p = pod(None, "Running");
        assert!(fs("Pod", "spec.hostNetwork=false").matches(&p));
        assert!(!fs("Pod", "spec.hostNetwork=true").matches(&p));
        p["spec"]["hostNetwork"] = json!(true);
        assert!(fs("Pod", "spec.hostNetwork=true").matches(&p));
        let node = json!({"kind": "Node", "metadata": {"name": "n"}, "spec": {}});
        assert!(fs("Node", "spec.unschedulable!=true").matches(&node));
        assert!(fs("Node", "spec.unschedulable=false").matches(&node));
        let rs = json!({"metadata": {"name": "r"}, "status": {"replicas": 3}});
        assert!(fs("ReplicaSet", "status.replicas=3").matches(&rs));
        assert!(fs("ReplicaSet", "status.replicas=0").matches(&json!({"metadata": {}})));
        assert!(fs("ReplicationController", "status.replicas!=0").matches(&rs));
        let job = json!({"metadata": {"name": "j"}, "status": {"succeeded": 1}});
        assert!(fs("Job", "status.successful=1").matches(&job));
        assert!(!fs("Job", "status.successful=0").matches(&job));
    }

    #[test]
    fn pod_ip_falls_back_to_pod_ips() {
        let mut p = pod(Some("n"), "Running");
        p["status"]["podIPs"] = json!([{"ip": "10.0.0.5"}]);
        assert!(fs("Pod", "status.podIP=10.0.0.5").matches(&p));
        p["status"]["podIP"] = json!("10.0.0.6");
        assert!(fs("Pod", "status.podIP=10.0.0.6").matches(&p));
    }

    #[test]
    fn event_fields() {
        let ev = json!({
            "kind": "Event",
            "metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": "u1"},
            "reason": "Scheduled", "type": "Normal",
            "reportingComponent": "default-scheduler",
        });
        let s = fs(
            "Event",
            "involvedObject.kind=Pod,involvedObject.name=web-1,type=Normal",
        );
        assert!(s.matches(&ev));
        assert!(fs("Event", "reason=Scheduled,involvedObject.uid=u1").matches(&ev));
        assert!(fs("Event", "source=default-scheduler").matches(&ev));
        assert!(fs("Event", "reportingComponent=default-scheduler").matches(&ev));
        assert!(fs("Event", "involvedObject.fieldPath=").matches(&ev));
        let mut ev2 = ev.clone();
        ev2["source"] = json!({"component": "kubelet"});
        assert!(fs("Event", "source=kubelet").matches(&ev2));
    }

    #[test]
    fn unsupported_fields_are_rejected_like_the_api_server() {
        let e = FieldSelector::parse("Pod", "spec.foo=bar").unwrap_err();
        assert_eq!(e.reason, Reason::BadRequest);
        assert_eq!(e.message, "field label not supported: spec.foo");
        // Kind-specific fields belong to their kind only.
        assert_eq!(
            FieldSelector::parse("ConfigMap", "status.phase=Active")
                .unwrap_err()
                .message,
            "field label not supported: status.phase"
        );
        assert_eq!(
            FieldSelector::parse("Deployment", "type=x")
                .unwrap_err()
                .message,
            "field label not supported: type"
        );
        assert!(FieldSelector::parse("Secret", "type=Opaque").is_ok());
        assert!(FieldSelector::parse("Namespace", "status.phase=Active").is_ok());
        assert!(FieldSelector::parse("Deployment", "metadata.name=x").is_ok());
    }

    #[test]
    fn syntax_and_escapes() {
        assert!(fs("Pod", "").is_everything());
        assert!(fs("Pod", "").matches(&json!({})));
        let e = FieldSelector::parse("Pod", "metadata.name").unwrap_err();
        assert_eq!(
            e.message,
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
        );
        let e = FieldSelector::parse("Pod", "metadata.name=a=b").unwrap_err();
        assert!(
            e.message.contains("unescaped character in value"),
            "{}",
            e.message
        );
        let e = FieldSelector::parse("Pod", "metadata.name=a\\x").unwrap_err();
        assert_eq!(
            e.message,
            "invalid field selector: invalid escape sequence: \\x"
        );
        let e = FieldSelector::parse("Pod", "metadata.name=a\\").unwrap_err();
        assert_eq!(
            e.message,
            "invalid field selector: invalid escape sequence: \\"
        );
        let s = fs("Pod", "metadata.name=a\\,b\\=c\\\\d");
        assert_eq!(s.terms()[0].value, "a,b=c\\d");
        assert!(s.matches(&json!({"metadata": {"name": "a,b=c\\d"}})));
        assert_eq!(s.to_string(), "metadata.name=a\\,b\\=c\\\\d");
        assert_eq!(fs("Pod", &s.to_string()), s);
    }

    #[test]
    fn canonical_form_and_exact_match() {
        let s = fs("Pod", "status.phase!=Failed,metadata.name==web");
        assert_eq!(s.to_string(), "metadata.name=web,status.phase!=Failed");
        assert_eq!(s.requires_exact_match("metadata.name"), Some("web"));
        assert_eq!(s.requires_exact_match("status.phase"), None);
        assert_eq!(fs("Pod", "metadata.name=a,,"), fs("Pod", "metadata.name=a"));
        assert!(supported_fields("Pod").contains(&"spec.nodeName"));
        assert_eq!(
            supported_fields("ConfigMap"),
            vec!["metadata.name", "metadata.namespace"]
        );
    }

    #[test]
    fn cluster_scoped_objects_have_an_empty_namespace() {
        let node = json!({"kind": "Node", "metadata": {"name": "n"}});
        assert!(fs("Node", "metadata.namespace=").matches(&node));
        assert!(!fs("Node", "metadata.namespace=default").matches(&node));
    }
}
