//! Property tests of label selectors and patches against small reference models.

use peapod::api::error::Reason;
use peapod::api::patch::{create_merge_patch, json_patch, merge_patch};
use peapod::api::selector::{FieldSelector, LabelSelector};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

// ---- label selectors ----

/// A reference model of one requirement, matched the Kubernetes way.
#[derive(Debug, Clone)]
enum Model {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

impl Model {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Model::Eq(k, v) => labels.get(k) == Some(v),
            // != and notin hold when the key is missing.
            Model::Ne(k, v) => labels.get(k) != Some(v),
            Model::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            Model::NotIn(k, vs) => !labels.get(k).is_some_and(|l| vs.contains(l)),
            Model::Exists(k) => labels.contains_key(k),
            Model::Absent(k) => !labels.contains_key(k),
        }
    }

    /// kubectl syntax, with the spacing and spelling variants users write.
    fn render(&self, sp: &str, double_eq: bool) -> String {
        let eq = if double_eq { "==" } else { "=" };
        let list = |vs: &Vec<String>| vs.join(&format!("{sp},{sp}"));
        match self {
            Model::Eq(k, v) => format!("{k}{sp}{eq}{sp}{v}"),
            Model::Ne(k, v) => format!("{k}{sp}!={sp}{v}"),
            Model::In(k, vs) => format!("{k} in{sp}({sp}{}{sp})", list(vs)),
            Model::NotIn(k, vs) => format!("{k} notin{sp}({sp}{}{sp})", list(vs)),
            Model::Exists(k) => k.clone(),
            Model::Absent(k) => format!("!{sp}{k}"),
        }
    }
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "app",
        "env",
        "in",
        "notin",
        "example.com/tier",
    ])
    .prop_map(String::from)
}

fn value() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "x", "y", "prod", "dev", "in", "1.2", "a_b-c"])
        .prop_map(String::from)
}

fn non_empty_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["x", "y", "prod", "dev", "in", "1.2"]).prop_map(String::from)
}

fn model() -> impl Strategy<Value = Model> {
    prop_oneof![
        (key(), value()).prop_map(|(k, v)| Model::Eq(k, v)),
        (key(), value()).prop_map(|(k, v)| Model::Ne(k, v)),
        (key(), prop::collection::vec(non_empty_value(), 1..4)).prop_map(|(k, v)| Model::In(k, v)),
        (key(), prop::collection::vec(non_empty_value(), 1..4))
            .prop_map(|(k, v)| Model::NotIn(k, v)),
        key().prop_map(Model::Exists),
        key().prop_map(Model::Absent),
    ]
}

fn label_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(key(), value(), 0..5)
}

fn object_with(labels: &BTreeMap<String, String>) -> Value {
    json!({"metadata": {"name": "o", "labels": labels}})
}

proptest! {
    #[test]
    fn selector_matches_reference_model(
        models in prop::collection::vec(model(), 0..5),
        sp in prop::sample::select(vec!["", " ", "  "]),
        double_eq in any::<bool>(),
        samples in prop::collection::vec(label_map(), 1..8),
    ) {
        let text: Vec<String> = models.iter().map(|m| m.render(sp, double_eq)).collect();
        let text = text.join(&format!("{sp},{sp}"));
        let s = LabelSelector::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(s.is_everything(), models.is_empty());
        for labels in &samples {
            let want = models.iter().all(|m| m.matches(labels));
            prop_assert_eq!(s.matches(labels), want, "{} on {:?}", text, labels);
            prop_assert_eq!(s.matches_object(&object_with(labels)), want, "{} on object {:?}", text, labels);
        }
    }

    #[test]
    fn display_round_trips(
        models in prop::collection::vec(model(), 0..5),
        samples in prop::collection::vec(label_map(), 1..8),
    ) {
        let text: Vec<String> = models.iter().map(|m| m.render(" ", false)).collect();
        let s = LabelSelector::parse(&text.join(",")).unwrap();
        let shown = s.to_string();
        let back = LabelSelector::parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown:?}: {e}")))?;
        prop_assert_eq!(&back, &s, "{}", shown);
        prop_assert_eq!(back.to_string(), shown.clone());
        // The metav1.LabelSelector form selects the same objects.
        let via_json = LabelSelector::from_json(&s.to_json()).unwrap().unwrap();
        for labels in &samples {
            prop_assert_eq!(back.matches(labels), s.matches(labels), "{}", shown);
            prop_assert_eq!(via_json.matches(labels), s.matches(labels), "{} via {}", shown, s.to_json());
        }
    }

    #[test]
    fn selector_parsers_never_panic(text in "[a-z!=(), in]{0,24}", kind in prop::sample::select(vec!["Pod", "Event", "ConfigMap"])) {
        if let Ok(s) = LabelSelector::parse(&text) {
            // Whatever parses prints in a form that parses back to the same selector.
            prop_assert_eq!(LabelSelector::parse(&s.to_string()).unwrap(), s);
        }
        if let Ok(f) = FieldSelector::parse(kind, &text) {
            prop_assert_eq!(FieldSelector::parse(kind, &f.to_string()).unwrap(), f);
        }
    }
}

// ---- patches ----

fn small_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(String::from)
}

/// Random JSON; `nulls` decides whether `null` may appear.
fn json_value(nulls: bool) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        prop::sample::select(vec![0.5f64, -2.25]).prop_map(Value::from),
        prop::sample::select(vec!["", "x", "y"]).prop_map(Value::from),
        Just(Value::Null),
    ]
    .prop_filter("no nulls", move |v| nulls || !v.is_null());
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(small_key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn json_object(nulls: bool) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(small_key(), json_value(nulls), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn pointer() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "", "/a", "/b", "/a/b", "/a/0", "/a/1", "/a/-", "/b/a/c", "/c/0/d",
    ])
    .prop_map(String::from)
}

fn patch_op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test"]),
        pointer(),
        pointer(),
        json_value(true),
    )
        .prop_map(
            |(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}),
        )
}

proptest! {
    #[test]
    fn create_merge_patch_round_trips(from in json_object(true), to in json_object(false)) {
        let patch = create_merge_patch(&from, &to);
        let mut out = from.clone();
        merge_patch(&mut out, &patch);
        prop_assert_eq!(&out, &to, "patch {}", patch);
        // Identical documents need an empty patch.
        prop_assert_eq!(create_merge_patch(&to, &to), json!({}));
    }

    #[test]
    fn merge_patch_with_non_object_replaces(from in json_value(true), patch in json_value(true)) {
        let mut out = from.clone();
        merge_patch(&mut out, &patch);
        if !patch.is_object() {
            prop_assert_eq!(out, patch);
        } else {
            prop_assert!(out.is_object());
        }
    }

    /// A patch applies as its operations applied one by one; when one fails, the error names
    /// that operation and the caller's document is what it was.
    #[test]
    fn json_patch_is_atomic(doc in json_object(true), ops in prop::collection::vec(patch_op(), 0..6), fail_last in any::<bool>()) {
        let mut ops = ops;
        if fail_last {
            ops.push(json!({"op": "remove", "path": "/zz/never"}));
        }
        let before = doc.clone();
        let result = json_patch(&doc, &Value::Array(ops.clone()));
        prop_assert_eq!(&doc, &before);

        let mut step = doc.clone();
        let mut first_failure = None;
        for (i, op) in ops.iter().enumerate() {
            match json_patch(&step, &json!([op])) {
                Ok(next) => step = next,
                Err(_) => { first_failure = Some(i); break; }
            }
        }
        match (result, first_failure) {
            (Ok(out), None) => prop_assert_eq!(out, step),
            (Err(e), Some(i)) => {
                prop_assert_eq!(e.reason, Reason::Invalid);
                let prefix = format!("json patch op {i} (");
                prop_assert!(e.message.starts_with(&prefix), "{} (expected op {})", e.message, i);
            }
            (r, f) => prop_assert!(false, "batch {:?} but step-wise failure at {:?}", r, f),
        }
        if fail_last {
            prop_assert!(first_failure.is_some());
        }
    }

    #[test]
    fn json_patch_never_panics(doc in json_value(true), ops in json_value(true)) {
        let _ = json_patch(&doc, &ops);
        let _ = json_patch(&doc, &json!([ops]));
    }
}
