//! Query parameters and request bodies → the option types of the `Cluster` trait, with
//! Kubernetes' parsing rules and error messages.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::api::request::{
    DeleteOptions, FieldValidation, ListOptions, LogOptions, Propagation, WriteOptions,
};
use crate::server::routes::Query;
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value, json};

/// Largest request body accepted; a batch of manifests stays far below this.
const MAX_BODY: usize = 32 << 20;

/// A boolean query parameter as the API server reads it: present and not `0`/`false` is true
/// (so `?watch` and `?watch=1` both watch).
pub fn flag(q: &Query, key: &str) -> bool {
    match q.get(key) {
        None => false,
        Some(v) => !(v == "0" || v.eq_ignore_ascii_case("false")),
    }
}

pub fn int(q: &Query, key: &str) -> ApiResult<Option<i64>> {
    match q.non_empty(key) {
        None => Ok(None),
        Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid value {v:?} for query parameter {key}: must be an integer"
            ))
        }),
    }
}

pub fn list_options(q: &Query) -> ListOptions {
    ListOptions {
        label_selector: q.non_empty("labelSelector").map(str::to_string),
        field_selector: q.non_empty("fieldSelector").map(str::to_string),
        resource_version: q.non_empty("resourceVersion").map(str::to_string),
    }
}

fn dry_run(q: &Query) -> ApiResult<bool> {
    match q.non_empty("dryRun") {
        None => Ok(false),
        Some("All") => Ok(true),
        Some(v) => Err(ApiError::bad_request(format!(
            "invalid dryRun value {v:?}: only \"All\" is supported"
        ))),
    }
}

/// `dryRun` and `fieldValidation`. With no `fieldValidation` the API server warns (drops
/// unknown fields) rather than failing; kubectl always sends the parameter.
pub fn write_options(q: &Query) -> ApiResult<WriteOptions> {
    let field_validation = match q.non_empty("fieldValidation") {
        Some(v) => FieldValidation::parse(v)?,
        None => FieldValidation::Warn,
    };
    Ok(WriteOptions {
        dry_run: dry_run(q)?,
        field_validation,
    })
}

/// DeleteOptions from the optional JSON body, then query parameters (which win).
pub fn delete_options(body: &Bytes, q: &Query) -> ApiResult<DeleteOptions> {
    let mut opts = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        DeleteOptions::from_json(&parse_json(body)?)?
    };
    if let Some(g) = int(q, "gracePeriodSeconds")? {
        opts.grace_period_seconds = Some(g);
    }
    if let Some(p) = q.non_empty("propagationPolicy") {
        opts.propagation = Some(Propagation::parse(p)?);
    }
    if dry_run(q)? {
        opts.dry_run = true;
    }
    Ok(opts)
}

pub fn log_options(q: &Query) -> ApiResult<LogOptions> {
    Ok(LogOptions {
        container: q.non_empty("container").map(str::to_string),
        follow: flag(q, "follow"),
        previous: flag(q, "previous"),
        timestamps: flag(q, "timestamps"),
        tail_lines: int(q, "tailLines")?,
        since_seconds: int(q, "sinceSeconds")?,
        since_time: q.non_empty("sinceTime").map(str::to_string),
        limit_bytes: int(q, "limitBytes")?,
    })
}

pub async fn read_body<B>(body: B) -> ApiResult<Bytes>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(ApiError::bad_request(format!(
            "request body is larger than {} MiB",
            MAX_BODY >> 20
        ))),
        Err(e) => Err(ApiError::bad_request(format!(
            "could not read the request body: {e}"
        ))),
    }
}

pub fn parse_json(bytes: &Bytes) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "the request body is empty: send a JSON document",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))
}

pub fn parse_object(bytes: &Bytes) -> ApiResult<Value> {
    let v = parse_json(bytes)?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::bad_request(format!(
            "request body must be a JSON object, not {}",
            json_type(&v)
        )))
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Make a request body agree with its URL, as the API server does: fill in apiVersion, kind,
/// namespace and name when absent, and refuse ones that contradict the URL.
pub fn fit_object(
    kind: &KindInfo,
    url_ns: Option<&str>,
    url_name: Option<&str>,
    obj: &mut Value,
) -> ApiResult<()> {
    let api_version = kind.api_version();
    let body_ns = obj.namespace().map(str::to_string);
    let body_name = obj.name().to_string();
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    };
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), json!(api_version));
        }
        Some(v) if v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        Some(_) => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), json!(kind.kind));
        }
        Some(v) if v != kind.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({v}) does not match the expected kind ({})",
                kind.kind
            )));
        }
        Some(_) => {}
    }
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if meta.is_null() {
        *meta = json!({});
    }
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::bad_request("metadata must be a JSON object"));
    };
    if let (true, Some(ns)) = (kind.namespaced, url_ns) {
        match body_ns {
            None => {
                meta.insert("namespace".into(), json!(ns));
            }
            Some(b) if b != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(name) = url_name {
        if body_name.is_empty() {
            meta.insert("name".into(), json!(name));
        } else if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
    }
    Ok(())
}

/// Give an object its `apiVersion` and `kind` when the cluster left them out (list items must
/// carry them for kubectl), keeping them first as the API server prints them.
pub fn type_meta(kind: &KindInfo, obj: Value) -> Value {
    let has = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if has("apiVersion") && has("kind") {
        return obj;
    }
    let Value::Object(old) = obj else { return obj };
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(kind.api_version()));
    out.insert("kind".into(), json!(kind.kind));
    for (k, v) in old {
        if k != "apiVersion" && k != "kind" {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// Drop strategic-merge directives (`$setElementOrder/...`, `$patch`, `$retainKeys`,
/// `$deleteFromPrimitiveList/...`) so a strategic patch can be applied as a merge patch
/// without writing them into the object.
pub fn strip_directives(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k, strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_directives).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::Reason;
    use crate::api::kinds::lookup;

    #[test]
    fn flags_follow_the_api_server() {
        let q = Query::parse("watch&follow=0&previous=False&timestamps=yes&a=1");
        assert!(flag(&q, "watch"));
        assert!(!flag(&q, "follow"));
        assert!(!flag(&q, "previous"));
        assert!(flag(&q, "timestamps"));
        assert!(flag(&q, "a"));
        assert!(!flag(&q, "missing"));
        let e = int(&Query::parse("tailLines=ten"), "tailLines").unwrap_err();
        assert_eq!(e.reason, Reason::BadRequest);
        assert!(e.message.contains("tailLines"), "{}", e.message);
    }

    #[test]
    fn write_and_delete_options() {
        let w = write_options(&Query::parse("dryRun=All&fieldValidation=Strict")).unwrap();
        assert_eq!(
            w,
            WriteOptions {
                dry_run: true,
                field_validation: FieldValidation::Strict
            }
        );
        assert_eq!(
            write_options(&Query::default()).unwrap().field_validation,
            FieldValidation::Warn
        );
        assert!(write_options(&Query::parse("dryRun=Some")).is_err());
        assert!(write_options(&Query::parse("fieldValidation=loose")).is_err());

        let body = Bytes::from(
            r#"{"gracePeriodSeconds":5,"propagationPolicy":"Orphan","preconditions":{"uid":"u1"}}"#,
        );
        let d = delete_options(&body, &Query::parse("propagationPolicy=Foreground")).unwrap();
        assert_eq!(d.grace_period_seconds, Some(5));
        assert_eq!(d.propagation, Some(Propagation::Foreground));
        assert_eq!(d.precondition_uid.as_deref(), Some("u1"));
        let d = delete_options(
            &Bytes::new(),
            &Query::parse("gracePeriodSeconds=0&dryRun=All"),
        )
        .unwrap();
        assert_eq!((d.grace_period_seconds, d.dry_run), (Some(0), true));
        assert!(delete_options(&Bytes::from("{"), &Query::default()).is_err());
    }

    #[test]
    fn fit_object_fills_and_checks() {
        let pods = lookup("pods").unwrap();
        let mut o = json!({"metadata": {"labels": {"a": "b"}}});
        fit_object(pods, Some("team"), Some("web"), &mut o).unwrap();
        assert_eq!(o["apiVersion"], "v1");
        assert_eq!(o["kind"], "Pod");
        assert_eq!(o["metadata"]["namespace"], "team");
        assert_eq!(o["metadata"]["name"], "web");

        let mut o = json!({"metadata": {"namespace": "other"}});
        let e = fit_object(pods, Some("team"), None, &mut o).unwrap_err();
        assert_eq!(
            e.message,
            "the namespace of the provided object does not match the namespace sent on the request"
        );
        let mut o = json!({"metadata": {"name": "a"}});
        let e = fit_object(pods, None, Some("b"), &mut o).unwrap_err();
        assert_eq!(
            e.message,
            "the name of the object (a) does not match the name on the URL (b)"
        );
        let mut o = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        assert!(fit_object(pods, None, None, &mut o).is_err());
        let mut o = json!({"kind": "Service"});
        assert!(fit_object(pods, None, None, &mut o).is_err());
        let mut o = json!({"metadata": "x"});
        assert!(fit_object(pods, Some("a"), None, &mut o).is_err());
        // Cluster-scoped kinds ignore the URL namespace.
        let mut o = json!({"metadata": {}});
        fit_object(lookup("nodes").unwrap(), Some("a"), None, &mut o).unwrap();
        assert!(o["metadata"].get("namespace").is_none());
    }

    #[test]
    fn type_meta_and_directives() {
        let pods = lookup("pods").unwrap();
        let o = type_meta(pods, json!({"metadata": {"name": "x"}, "kind": ""}));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#
        );
        let p = strip_directives(
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "$patch": "merge"}]}}),
        );
        assert_eq!(p, json!({"spec": {"containers": [{"name": "a"}]}}));
        assert!(parse_json(&Bytes::from("  ")).is_err());
        let e = parse_object(&Bytes::from("[1]")).unwrap_err();
        assert!(e.message.contains("an array"), "{}", e.message);
    }
}
