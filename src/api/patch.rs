//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

mod json;

pub use json::json_patch;

use serde_json::{Map, Value};

/// Apply an RFC 7386 merge patch in place: a `null` member deletes, an object merges
/// recursively, anything else (arrays included) replaces the target whole.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (key, value) in members {
        if value.is_null() {
            // shift_remove keeps the order of the remaining members.
            t.shift_remove(key);
        } else {
            merge_patch(t.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The merge patch that turns `from` into `to`: only changed members, `null` for removed ones,
/// arrays and non-objects replaced whole. RFC 7386 cannot set a member to `null`, so `null`s
/// inside `to`'s objects do not survive the round trip.
pub fn create_merge_patch(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) => Value::Object(object_diff(f, t)),
        // A non-object patch replaces the target, which is exactly `to`.
        _ => to.clone(),
    }
}

fn object_diff(from: &Map<String, Value>, to: &Map<String, Value>) -> Map<String, Value> {
    let mut patch = Map::new();
    for key in from.keys() {
        if !to.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, new) in to {
        match (from.get(key), new) {
            (Some(old), _) if old == new => {}
            (Some(Value::Object(old)), Value::Object(new)) => {
                patch.insert(key.clone(), Value::Object(object_diff(old, new)));
            }
            _ => {
                patch.insert(key.clone(), new.clone());
            }
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(target: Value, patch: Value) -> Value {
        let mut t = target;
        merge_patch(&mut t, &patch);
        t
    }

    /// The examples of RFC 7386, appendix A.
    #[test]
    fn rfc7386_appendix_a() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, want) in cases {
            assert_eq!(
                merged(target.clone(), patch.clone()),
                want,
                "{target} + {patch}"
            );
        }
    }

    #[test]
    fn merge_keeps_member_order() {
        let out = merged(
            json!({"a": 1, "b": 2, "c": 3}),
            json!({"a": null, "b": 5, "d": 4}),
        );
        assert_eq!(out.to_string(), r#"{"b":5,"c":3,"d":4}"#);
    }

    #[test]
    fn kubectl_scale_and_label_patches() {
        let deploy = json!({"metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
                            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c"}]}}}});
        let out = merged(deploy.clone(), json!({"spec": {"replicas": 3}}));
        assert_eq!(out["spec"]["replicas"], 3);
        assert_eq!(out["spec"]["template"], deploy["spec"]["template"]);
        let out = merged(
            deploy,
            json!({"metadata": {"labels": {"tier": null, "env": "prod"}}}),
        );
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "env": "prod"})
        );
    }

    #[test]
    fn create_merge_patch_is_minimal() {
        let from = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "f": "x"});
        let to = json!({"a": 1, "b": {"c": 2, "d": 4}, "e": [1, 2, 3], "g": {"h": true}});
        let patch = create_merge_patch(&from, &to);
        assert_eq!(
            patch,
            json!({"f": null, "b": {"d": 4}, "e": [1, 2, 3], "g": {"h": true}})
        );
        assert_eq!(merged(from.clone(), patch), to);
        assert_eq!(create_merge_patch(&from, &from), json!({}));
    }

    #[test]
    fn create_merge_patch_handles_type_changes() {
        for (from, to) in [
            (json!({"a": {"b": 1}}), json!({"a": 5})),
            (json!({"a": 5}), json!({"a": {"b": 1}})),
            (json!({"a": {"b": 1}}), json!({"a": {}})),
            (json!([1]), json!({"a": 1})),
            (json!({"a": 1}), json!([1])),
            (json!(3), json!(3)),
            (json!({"a": 1}), json!(null)),
        ] {
            let patch = create_merge_patch(&from, &to);
            assert_eq!(
                merged(from.clone(), patch.clone()),
                to,
                "{from} -> {to} via {patch}"
            );
        }
    }
}
