//! Tests of JSON patch: the examples of RFC 6902 appendix A, pointer escapes, bounds, atomicity
//! and the wording of errors.

use super::*;
use serde_json::json;

fn ok(doc: Value, ops: Value) -> Value {
    json_patch(&doc, &ops).unwrap_or_else(|e| panic!("{ops}: {e}"))
}

fn fail(doc: Value, ops: Value) -> ApiError {
    match json_patch(&doc, &ops) {
        Ok(v) => panic!("{ops} applied: {v}"),
        Err(e) => e,
    }
}

#[test]
fn rfc6902_appendix_a() {
    // A.1 - A.10, A.16 (the successful ones).
    let cases = [
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz", "value": "qux"}]),
            json!({"baz": "qux", "foo": "bar"}),
        ),
        (
            json!({"foo": ["bar", "baz"]}),
            json!([{"op": "add", "path": "/foo/1", "value": "qux"}]),
            json!({"foo": ["bar", "qux", "baz"]}),
        ),
        (
            json!({"baz": "qux", "foo": "bar"}),
            json!([{"op": "remove", "path": "/baz"}]),
            json!({"foo": "bar"}),
        ),
        (
            json!({"foo": ["bar", "qux", "baz"]}),
            json!([{"op": "remove", "path": "/foo/1"}]),
            json!({"foo": ["bar", "baz"]}),
        ),
        (
            json!({"baz": "qux", "foo": "bar"}),
            json!([{"op": "replace", "path": "/baz", "value": "boo"}]),
            json!({"baz": "boo", "foo": "bar"}),
        ),
        (
            json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
            json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
            json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}),
        ),
        (
            json!({"foo": ["all", "grass", "cows", "eat"]}),
            json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
            json!({"foo": ["all", "cows", "eat", "grass"]}),
        ),
        (
            json!({"baz": "qux", "foo": ["a", 2, "c"]}),
            json!([{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}]),
            json!({"baz": "qux", "foo": ["a", 2, "c"]}),
        ),
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]),
            json!({"foo": "bar", "child": {"grandchild": {}}}),
        ),
        (
            json!({"foo": "bar"}),
            json!([{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]),
            json!({"foo": "bar", "baz": "qux"}),
        ),
        (
            json!({"foo": ["bar"]}),
            json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]),
            json!({"foo": ["bar", ["abc", "def"]]}),
        ),
        (
            json!({"foo": null}),
            json!([{"op": "test", "path": "/foo", "value": null}]),
            json!({"foo": null}),
        ),
        (
            json!({"foo": {"foo": 1, "bar": 2}}),
            json!([{"op": "test", "path": "/foo", "value": {"bar": 2, "foo": 1}}]),
            json!({"foo": {"foo": 1, "bar": 2}}),
        ),
    ];
    for (doc, ops, want) in cases {
        assert_eq!(ok(doc, ops.clone()), want, "{ops}");
    }
    // A.9: a failing test.
    let e = fail(
        json!({"baz": "qux"}),
        json!([{"op": "test", "path": "/baz", "value": "bar"}]),
    );
    assert_eq!(e.reason, Reason::Invalid);
    assert_eq!(
        e.message,
        "json patch op 0 (test /baz): test failed: value is \"qux\", not \"bar\""
    );
    // A.12: adding to a nonexistent target.
    let e = fail(
        json!({"foo": "bar"}),
        json!([{"op": "add", "path": "/baz/bat", "value": "qux"}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (add /baz/bat): path not found: /baz does not exist"
    );
    // A.15: comparing strings and numbers.
    let e = fail(
        json!({"/": 9, "~1": 10}),
        json!([{"op": "test", "path": "/~01", "value": "10"}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (test /~01): test failed: value is 10, not \"10\""
    );
}

#[test]
fn pointer_escapes() {
    // A.14: ~01 is "~1", not "/".
    let doc = json!({"/": 9, "~1": 10});
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "test", "path": "/~01", "value": 10}])
        ),
        doc
    );
    let out = ok(
        json!({}),
        json!([{"op": "add", "path": "/a~1b", "value": 1}, {"op": "add", "path": "/c~0d", "value": 2}]),
    );
    assert_eq!(out, json!({"a/b": 1, "c~d": 2}));
    // Annotation keys with slashes, the common Kubernetes case.
    let out = ok(
        json!({"metadata": {"annotations": {"example.com/x": "1"}}}),
        json!([{"op": "remove", "path": "/metadata/annotations/example.com~1x"}]),
    );
    assert_eq!(out, json!({"metadata": {"annotations": {}}}));
    let e = fail(
        json!({}),
        json!([{"op": "add", "path": "/a~2", "value": 1}]),
    );
    assert_eq!(e.reason, Reason::BadRequest);
    assert!(
        e.message
            .starts_with("json patch op 0 (add /a~2): invalid path: "),
        "{}",
        e.message
    );
    let e = fail(json!({}), json!([{"op": "add", "path": "a", "value": 1}]));
    assert!(
        e.message.contains("must be empty or start with \"/\""),
        "{}",
        e.message
    );
    // The empty key is a real member name.
    assert_eq!(
        ok(json!({}), json!([{"op": "add", "path": "/", "value": 1}])),
        json!({"": 1})
    );
}

#[test]
fn whole_document_operations() {
    assert_eq!(
        ok(
            json!({"a": 1}),
            json!([{"op": "replace", "path": "", "value": [1]}])
        ),
        json!([1])
    );
    assert_eq!(
        ok(
            json!({"a": 1}),
            json!([{"op": "add", "path": "", "value": {"b": 2}}])
        ),
        json!({"b": 2})
    );
    let e = fail(json!({"a": 1}), json!([{"op": "remove", "path": ""}]));
    assert_eq!(
        e.message,
        "json patch op 0 (remove ): cannot remove the whole document"
    );
}

#[test]
fn array_indexes() {
    let doc = json!({"a": [0, 1, 2]});
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "add", "path": "/a/3", "value": 3}])
        ),
        json!({"a": [0, 1, 2, 3]})
    );
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "add", "path": "/a/0", "value": 9}])
        ),
        json!({"a": [9, 0, 1, 2]})
    );
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "replace", "path": "/a/2", "value": 9}])
        ),
        json!({"a": [0, 1, 9]})
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "add", "path": "/a/4", "value": 3}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (add /a/4): index 4 is out of bounds for the array at /a (length 3)"
    );
    let e = fail(doc.clone(), json!([{"op": "remove", "path": "/a/3"}]));
    assert_eq!(
        e.message,
        "json patch op 0 (remove /a/3): index 3 is out of bounds for the array at /a (length 3)"
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "replace", "path": "/a/-", "value": 1}]),
    );
    assert!(
        e.message.contains("names no element; only add can use it"),
        "{}",
        e.message
    );
    for bad in ["01", "x", "-1", "1.0", ""] {
        let e = fail(
            doc.clone(),
            json!([{"op": "remove", "path": format!("/a/{bad}")}]),
        );
        assert!(
            e.message.contains("is not an index into the array at /a"),
            "{bad}: {}",
            e.message
        );
    }
    let e = fail(
        doc.clone(),
        json!([{"op": "remove", "path": "/a/99999999999999999999999"}]),
    );
    assert!(e.message.contains("out of bounds"), "{}", e.message);
    // Move and copy write with add semantics, so "-" appends there too.
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "copy", "from": "/a/0", "path": "/a/-"}])
        ),
        json!({"a": [0, 1, 2, 0]})
    );
}

#[test]
fn replace_remove_and_test_need_an_existing_target() {
    let doc = json!({"spec": {"replicas": 1}});
    let e = fail(
        doc.clone(),
        json!([{"op": "test", "path": "/spec/replicas", "value": 1}, {"op": "add", "path": "/x", "value": 1}, {"op": "replace", "path": "/spec/paused", "value": true}]),
    );
    assert_eq!(
        e.message,
        "json patch op 2 (replace /spec/paused): path not found"
    );
    assert_eq!(e.reason, Reason::Invalid);
    let e = fail(doc.clone(), json!([{"op": "remove", "path": "/spec/x"}]));
    assert_eq!(
        e.message,
        "json patch op 0 (remove /spec/x): path not found"
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "test", "path": "/status/x", "value": 1}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (test /status/x): path not found: /status does not exist"
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "add", "path": "/spec/replicas/x", "value": 1}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (add /spec/replicas/x): path not found: /spec/replicas is a number, not an object or array"
    );
    let e = fail(json!("s"), json!([{"op": "add", "path": "/x", "value": 1}]));
    assert_eq!(
        e.message,
        "json patch op 0 (add /x): path not found: the document is a string, not an object or array"
    );
}

#[test]
fn move_and_copy() {
    let doc = json!({"a": {"b": [1, 2]}, "c": 3});
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "copy", "from": "/a/b", "path": "/d"}])
        ),
        json!({"a": {"b": [1, 2]}, "c": 3, "d": [1, 2]})
    );
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "move", "from": "/a", "path": "/a"}])
        ),
        doc
    );
    assert_eq!(
        ok(
            doc.clone(),
            json!([{"op": "move", "from": "/a/b", "path": "/a"}])
        ),
        json!({"a": [1, 2], "c": 3})
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "move", "from": "/a", "path": "/a/b/0"}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (move /a to /a/b/0): cannot move /a into its own child /a/b/0"
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "move", "from": "/x", "path": "/y"}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (move /x to /y): from path not found"
    );
    let e = fail(
        doc.clone(),
        json!([{"op": "copy", "from": "/c", "path": "/q/r"}]),
    );
    assert_eq!(
        e.message,
        "json patch op 0 (copy /c to /q/r): path not found: /q does not exist"
    );
    let e = fail(doc.clone(), json!([{"op": "move", "path": "/y"}]));
    assert_eq!(e.reason, Reason::BadRequest);
    assert_eq!(e.message, "json patch op 0 (move to /y): missing \"from\"");
}

#[test]
fn test_compares_numbers_by_value() {
    let doc = json!({"n": 1, "f": 2.5, "big": u64::MAX, "neg": -3});
    ok(
        doc.clone(),
        json!([
            {"op": "test", "path": "/n", "value": 1.0},
            {"op": "test", "path": "/f", "value": 2.5},
            {"op": "test", "path": "/big", "value": u64::MAX},
            {"op": "test", "path": "/neg", "value": -3},
        ]),
    );
    fail(
        doc.clone(),
        json!([{"op": "test", "path": "/n", "value": 2}]),
    );
    fail(doc, json!([{"op": "test", "path": "/neg", "value": 3}]));
}

#[test]
fn malformed_patches_are_bad_requests() {
    let cases = [
        (
            json!({"op": "add"}),
            "json patch must be a JSON array of operations, not an object",
        ),
        (json!([1]), "json patch op 0: must be an object like"),
        (json!([{"path": "/a"}]), "json patch op 0: missing \"op\""),
        (
            json!([{"op": 1, "path": "/a"}]),
            "json patch op 0: \"op\" must be a string, not a number",
        ),
        (
            json!([{"op": "merge", "path": "/a"}]),
            "json patch op 0: unknown op \"merge\" (use add, remove, replace, move, copy or test)",
        ),
        (
            json!([{"op": "add", "value": 1}]),
            "json patch op 0 (add): missing \"path\"",
        ),
        (
            json!([{"op": "add", "path": "/a"}]),
            "json patch op 0 (add /a): missing \"value\"",
        ),
        (
            json!([{"op": "test", "path": "/a"}]),
            "json patch op 0 (test /a): missing \"value\"",
        ),
    ];
    for (ops, want) in cases {
        let e = fail(json!({"a": 1}), ops.clone());
        assert_eq!(e.reason, Reason::BadRequest, "{ops}");
        assert!(e.message.starts_with(want), "{ops}: {}", e.message);
    }
    // A malformed op late in the patch is reported before anything is applied.
    let e = fail(
        json!({}),
        json!([{"op": "remove", "path": "/nope"}, {"op": "bogus", "path": "/"}]),
    );
    assert_eq!(e.reason, Reason::BadRequest);
    let too_many: Vec<Value> = (0..=MAX_OPS)
        .map(|_| json!({"op": "test", "path": "", "value": 1}))
        .collect();
    let e = fail(json!(1), Value::Array(too_many));
    assert_eq!(
        e.message,
        "The allowed maximum operations in a JSON patch is 10000, got 10001"
    );
    // add with an explicit null value is fine.
    assert_eq!(
        ok(
            json!({}),
            json!([{"op": "add", "path": "/a", "value": null}])
        ),
        json!({"a": null})
    );
    assert_eq!(ok(json!({"a": 1}), json!([])), json!({"a": 1}));
}

#[test]
fn failing_op_leaves_no_partial_result() {
    let doc = json!({"spec": {"replicas": 1}, "list": [1]});
    let ops = json!([
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/list/-", "value": 2},
        {"op": "test", "path": "/spec/replicas", "value": 1},
    ]);
    let before = doc.clone();
    let e = fail(doc.clone(), ops);
    assert!(
        e.message
            .starts_with("json patch op 2 (test /spec/replicas): test failed"),
        "{}",
        e.message
    );
    assert_eq!(doc, before);
}

#[test]
fn long_values_are_shortened_in_messages() {
    let big = "x".repeat(500);
    let e = fail(
        json!({"a": big}),
        json!([{"op": "test", "path": "/a", "value": "y"}]),
    );
    assert!(e.message.len() < 200, "{}", e.message);
    assert!(e.message.contains("..."), "{}", e.message);
}
