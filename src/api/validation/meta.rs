//! Object metadata (ValidateObjectMeta / ValidateObjectMetaUpdate), labels, annotations and
//! metav1.LabelSelector checks and matching.

use super::names::{self, NameFn};
use super::{Errs, Path, at, get, int_at, items, object, str_at, string};
use crate::api::kinds::KindInfo;
use serde_json::{Map, Value};

/// Total bytes of annotation keys and values an object may carry.
pub(crate) const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// The name rule the API server applies to each kind.
pub(crate) fn name_fn(kind: &str) -> NameFn {
    match kind {
        "Namespace" => names::name_is_dns_label,
        // Service names become DNS labels that must start with a letter.
        "Service" => names::name_is_dns1035_label,
        _ => names::name_is_dns_subdomain,
    }
}

pub(super) fn validate_object_meta(kind: &KindInfo, obj: &Value, errs: &mut Errs) {
    let meta = at(obj, "metadata");
    let path = Path::root("metadata");
    let name_fn = name_fn(kind.kind);
    let generate_name = string(meta, "generateName");
    if !generate_name.is_empty() {
        errs.invalid_each(
            &path.child("generateName"),
            generate_name,
            name_fn(generate_name, true),
        );
    }
    let name = string(meta, "name");
    if name.is_empty() {
        // With generateName the store picks the name (Kubernetes does so before validating).
        if generate_name.is_empty() {
            errs.required(&path.child("name"), "name or generateName is required");
        }
    } else {
        errs.invalid_each(&path.child("name"), name, name_fn(name, false));
    }
    if kind.namespaced {
        let ns = string(meta, "namespace");
        if !ns.is_empty() {
            errs.invalid_each(
                &path.child("namespace"),
                ns,
                names::name_is_dns_label(ns, false),
            );
        }
    }
    errs.non_negative(&path.child("generation"), int_at(meta, "generation"));
    validate_labels(meta.get("labels"), &path.child("labels"), errs);
    validate_annotations(meta.get("annotations"), &path.child("annotations"), errs);
    validate_owner_references(
        items(meta, "ownerReferences"),
        &path.child("ownerReferences"),
        errs,
    );
    validate_finalizers(items(meta, "finalizers"), &path.child("finalizers"), errs);
}

/// Metadata of a pod template (or job template): only labels and annotations matter.
pub(crate) fn validate_template_meta(meta: &Value, path: &Path, errs: &mut Errs) {
    validate_labels(meta.get("labels"), &path.child("labels"), errs);
    validate_annotations(meta.get("annotations"), &path.child("annotations"), errs);
}

/// Label keys and values; errors carry the map's path and the offending key or value.
pub(crate) fn validate_labels(labels: Option<&Value>, path: &Path, errs: &mut Errs) {
    let Some(labels) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in labels {
        errs.invalid_each(path, k, names::validate_label_key(k));
        if let Some(v) = v.as_str() {
            errs.invalid_each(path, v, names::validate_label_value(v));
        }
    }
}

pub(crate) fn validate_annotations(annotations: Option<&Value>, path: &Path, errs: &mut Errs) {
    let Some(annotations) = annotations.and_then(Value::as_object) else {
        return;
    };
    let mut total = 0;
    for (k, v) in annotations {
        // Annotation keys are qualified names in any letter case.
        errs.invalid_each(path, k, names::is_qualified_name(&k.to_lowercase()));
        total += k.len() + v.as_str().map_or(0, str::len);
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT);
    }
}

fn validate_owner_references(refs: &[Value], path: &Path, errs: &mut Errs) {
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = string(r, "apiVersion");
        // "apps/v1" has version "v1"; "apps/" or "" has none.
        if api_version.rsplit('/').next().unwrap_or("").is_empty() {
            errs.invalid_str(
                &path.child("apiVersion"),
                api_version,
                "version must not be empty",
            );
        }
        for field in ["kind", "name", "uid"] {
            let v = string(r, field);
            if v.is_empty() {
                errs.invalid_str(&path.child(field), v, "must not be empty");
            }
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let this = format!("{}/{}", string(r, "kind"), string(r, "name"));
            match &first_controller {
                Some(first) => errs.invalid(
                    path,
                    &Value::Array(refs.to_vec()),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"),
                ),
                None => first_controller = Some(this),
            }
        }
    }
}

/// Finalizers are qualified names. Kubernetes only warns about names without a domain
/// (`prefer a domain-qualified finalizer name`), so those pass.
fn validate_finalizers(finalizers: &[Value], path: &Path, errs: &mut Errs) {
    for f in finalizers.iter().filter_map(Value::as_str) {
        errs.invalid_each(path, f, names::is_qualified_name(f));
    }
}

pub(super) fn validate_object_meta_update(new: &Value, old: &Value, errs: &mut Errs) {
    let (nm, om) = (at(new, "metadata"), at(old, "metadata"));
    let path = Path::root("metadata");
    // The name must match exactly. Namespace, uid, creationTimestamp and deletionTimestamp are
    // filled in from the request or the stored object when an update leaves them out (as the
    // API server does), so only a different value counts.
    if string(nm, "name") != string(om, "name") {
        errs.immutable(&path.child("name"), at(nm, "name"));
    }
    for field in [
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        if let Some(v) = get(nm, field)
            && Some(v) != get(om, field)
            && v.as_str() != Some("")
        {
            errs.immutable(&path.child(field), v);
        }
    }
    // No new finalizers while deleting: the store checks that itself (see store::lifecycle).
}

/// Check a metav1.LabelSelector (matchLabels and matchExpressions).
pub(crate) fn validate_label_selector(sel: &Value, path: &Path, errs: &mut Errs) {
    validate_labels(sel.get("matchLabels"), &path.child("matchLabels"), errs);
    for (i, req) in items(sel, "matchExpressions").iter().enumerate() {
        let rp = path.child("matchExpressions").index(i);
        let values = items(req, "values");
        match string(req, "operator") {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.required(
                        &rp.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    );
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.forbidden(
                        &rp.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    );
                }
            }
            op => errs.invalid_str(&rp.child("operator"), op, "not a valid selector operator"),
        }
        let key = string(req, "key");
        errs.invalid_each(&rp.child("key"), key, names::validate_label_key(key));
        for (j, v) in values.iter().enumerate() {
            if let Some(v) = v.as_str() {
                errs.invalid_each(
                    &rp.child("values").index(j),
                    v,
                    names::validate_label_value(v),
                );
            }
        }
    }
}

/// Whether a metav1.LabelSelector matches `labels`: `None` when the selector cannot be turned
/// into one (bad operator, In without values...). A missing selector matches nothing and `{}`
/// matches everything, as in Kubernetes.
pub(crate) fn selector_matches(sel: Option<&Value>, labels: Option<&Value>) -> Option<bool> {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return Some(false);
    };
    let empty = Map::new();
    let labels = labels.and_then(Value::as_object).unwrap_or(&empty);
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let mut ok = true;
    if let Some(ml) = object(sel, "matchLabels") {
        for (k, v) in ml {
            ok &= label(k) == Some(v.as_str()?);
        }
    }
    for req in items(sel, "matchExpressions") {
        let key = str_at(req, "key")?;
        let values: Vec<&str> = items(req, "values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        ok &= match string(req, "operator") {
            "In" if !values.is_empty() => label(key).is_some_and(|v| values.contains(&v)),
            "NotIn" if !values.is_empty() => !label(key).is_some_and(|v| values.contains(&v)),
            "Exists" if values.is_empty() => label(key).is_some(),
            "DoesNotExist" if values.is_empty() => label(key).is_none(),
            _ => return None,
        };
    }
    Some(ok)
}

/// Whether a selector has no requirements at all (`{}`).
pub(crate) fn selector_is_empty(sel: &Value) -> bool {
    object(sel, "matchLabels").is_none_or(Map::is_empty)
        && items(sel, "matchExpressions").is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_like_kubernetes() {
        let labels = json!({"app": "web", "tier": "front"});
        let m = |sel: Value| selector_matches(Some(&sel), Some(&labels));
        assert_eq!(m(json!({})), Some(true));
        assert_eq!(selector_matches(None, Some(&labels)), Some(false));
        assert_eq!(m(json!({"matchLabels": {"app": "web"}})), Some(true));
        assert_eq!(m(json!({"matchLabels": {"app": "db"}})), Some(false));
        assert_eq!(
            m(
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]})
            ),
            Some(true)
        );
        assert_eq!(
            m(
                json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]})
            ),
            Some(true)
        );
        assert_eq!(
            m(json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]})),
            Some(false)
        );
        assert_eq!(
            m(json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]})),
            Some(true)
        );
        assert_eq!(
            m(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": []}]})),
            None
        );
        assert_eq!(
            m(json!({"matchExpressions": [{"key": "app", "operator": "Maybe"}]})),
            None
        );
    }

    #[test]
    fn selector_problems_are_reported() {
        let mut errs = Errs::default();
        let sel = json!({"matchLabels": {"a b": "x"}, "matchExpressions": [
            {"key": "k", "operator": "In"},
            {"key": "k", "operator": "Exists", "values": ["v"]},
            {"key": "k", "operator": "Near", "values": ["-bad"]}]});
        validate_label_selector(&sel, &Path::root("spec.selector"), &mut errs);
        let text: Vec<String> = errs.0.iter().map(|e| e.to_string()).collect();
        assert!(
            text[0].starts_with(
                "spec.selector.matchLabels: Invalid value: \"a b\": name part must consist"
            ),
            "{text:?}"
        );
        assert_eq!(
            text[1],
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        );
        assert_eq!(
            text[2],
            "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        );
        assert_eq!(
            text[3],
            "spec.selector.matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator"
        );
        assert!(text[4].starts_with(
            "spec.selector.matchExpressions[2].values[0]: Invalid value: \"-bad\": a valid label"
        ));
        assert_eq!(text.len(), 5);
    }
}
