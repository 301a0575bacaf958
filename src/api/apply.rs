//! `apply` semantics (kubectl's client-side apply, computed where the store can do it
//! atomically): the manifest is recorded in the last-applied annotation; an update removes
//! fields the previous manifest had and the new one dropped, sets what the new one says, and
//! leaves everything else (defaults, fields written by controllers, status) alone.

use crate::api::error::ApiResult;
use crate::api::object::{ObjectExt, set_meta_map_entry};
use serde_json::{Map, Value};

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The manifest with its own compact JSON recorded in the last-applied annotation.
pub fn with_last_applied(manifest: &Value) -> ApiResult<Value> {
    let mut recorded = manifest.clone();
    set_meta_map_entry(&mut recorded, "annotations", LAST_APPLIED, None)?;
    let text = serde_json::to_string(&recorded).unwrap_or_default();
    let mut out = manifest.clone();
    set_meta_map_entry(&mut out, "annotations", LAST_APPLIED, Some(&text))?;
    Ok(out)
}

/// The object an apply of `manifest` (already carrying its last-applied annotation) makes of
/// `current`.
pub fn three_way(current: &Value, manifest: &Value) -> Value {
    let last: Value = current
        .annotation(LAST_APPLIED)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Object(Map::new()));
    merge(current, &last, manifest)
}

fn merge(current: &Value, last: &Value, new: &Value) -> Value {
    match (current, new) {
        (Value::Object(cur), Value::Object(newm)) => {
            let empty = Map::new();
            let lastm = last.as_object().unwrap_or(&empty);
            let mut out = cur.clone();
            // Fields the previous manifest set and this one dropped are removed.
            for k in lastm.keys() {
                if !newm.contains_key(k) {
                    out.remove(k);
                }
            }
            for (k, v) in newm {
                let merged = match cur.get(k) {
                    Some(c) => merge(c, lastm.get(k).unwrap_or(&Value::Null), v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(cur), Value::Array(newa)) => merge_list(cur, last.as_array(), newa),
        // Scalars, type changes and explicit nulls: the manifest wins.
        _ => new.clone(),
    }
}

/// Lists of named items (containers, ports, env, volumes...) merge item by item by `name`
/// as strategic merge patch does, so defaults filled into items survive; other lists are
/// replaced whole.
fn merge_list(cur: &[Value], last: Option<&Vec<Value>>, new: &[Value]) -> Value {
    let named = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
    let all_named = !new.is_empty() && new.iter().all(|v| named(v).is_some());
    if !all_named || !cur.iter().all(|v| named(v).is_some()) {
        return Value::Array(new.to_vec());
    }
    let out = new
        .iter()
        .map(|n| {
            let name = named(n);
            let c = cur.iter().find(|c| named(c) == name);
            let l = last.and_then(|l| l.iter().find(|x| named(x) == name));
            match c {
                Some(c) => merge(c, l.unwrap_or(&Value::Null), n),
                None => n.clone(),
            }
        })
        .collect();
    Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_defaults_and_controller_fields_removes_dropped_ones() {
        let m1 = with_last_applied(&json!({"metadata":{"name":"a","labels":{"x":"1","y":"2"}},"spec":{"containers":[{"name":"c","image":"i1"}]}})).unwrap();
        let mut current = m1.clone();
        current["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        current["spec"]["nodeName"] = json!("n1");
        current["metadata"]["labels"]["ctrl"] = json!("z");
        let m2 = with_last_applied(&json!({"metadata":{"name":"a","labels":{"x":"1"}},"spec":{"containers":[{"name":"c","image":"i2"}]}})).unwrap();
        let out = three_way(&current, &m2);
        assert_eq!(out["spec"]["containers"][0]["image"], "i2");
        assert_eq!(
            out["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(out["spec"]["nodeName"], "n1");
        assert_eq!(out["metadata"]["labels"], json!({"x":"1","ctrl":"z"}));
    }

    #[test]
    fn reapplying_the_same_manifest_is_a_no_op() {
        let m = with_last_applied(&json!({"metadata":{"name":"a"},"data":{"k":"v"}})).unwrap();
        assert_eq!(three_way(&m, &m), m);
    }
}
