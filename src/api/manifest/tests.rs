use super::*;
use serde_json::json;

fn one(text: &str) -> Document {
    let mut docs = parse_str(text, "t.yaml").unwrap();
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs.remove(0)
}

fn errs(text: &str) -> Vec<ManifestError> {
    parse_str(text, "t.yaml").unwrap_err()
}

const TYPO_POD: &str = "apiVersion: v1
kind: Pod
metadata:
  labels:
    app: web
spec:
  container:
  - name: web
    image: busybox
";

#[test]
fn typo_pod_positions() {
    let doc = one(TYPO_POD);
    assert_eq!(doc.value["spec"]["container"][0]["image"], json!("busybox"));
    assert_eq!(doc.position("spec.container"), (7, 3));
    // metadata.name is missing: point at the metadata key.
    assert_eq!(doc.position("metadata.name"), (3, 1));
    assert_eq!(doc.position("metadata.labels[app]"), (5, 5));
    assert_eq!(doc.position("spec.container[0].image"), (9, 5));
    assert_eq!(doc.position("nothing.here"), (1, 1));
    assert_eq!(doc.line, 1);
    assert_eq!(
        doc.error_at("spec.container", "boom").to_string(),
        "t.yaml:7:3: boom"
    );
}

#[test]
fn key_order_is_preserved() {
    let doc = one("kind: Pod\napiVersion: v1\nb: 1\na: 2\n");
    let keys: Vec<&String> = doc.value.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["kind", "apiVersion", "b", "a"]);
}

#[test]
fn nested_list_item_positions() {
    let doc = one("kind: Pod
spec:
  containers:
  - name: a
    ports:
    - containerPort: 80
    -   containerPort: 81
        name: web
  - name: b
    env: [{name: X, value: '1'}, {name: Y}]
");
    assert_eq!(doc.position("spec.containers[0]"), (4, 5));
    assert_eq!(doc.position("spec.containers[0].ports[1].name"), (8, 9));
    assert_eq!(
        doc.position("spec.containers[0].ports[1].containerPort"),
        (7, 9)
    );
    assert_eq!(doc.position("spec.containers[1].name"), (9, 5));
    assert_eq!(doc.position("spec.containers[1].env[1].name"), (10, 35));
    assert_eq!(doc.position("spec.containers[1].env[0].value"), (10, 21));
    assert_eq!(doc.position("spec.containers[5].name"), (3, 3));
}

#[test]
fn label_keys_with_dots_and_slashes() {
    let doc = one("metadata:\n  labels:\n    app.kubernetes.io/name: web\n    version: 1\n");
    assert_eq!(
        doc.position("metadata.labels[app.kubernetes.io/name]"),
        (3, 5)
    );
    assert_eq!(doc.position("metadata.labels[version]"), (4, 5));
    assert_eq!(doc.value["metadata"]["labels"]["version"], json!(1));
}

#[test]
fn multi_document_streams() {
    let docs = parse_str(
        "# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
# only a comment
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
...
",
        "s.yaml",
    )
    .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].line, 3);
    assert_eq!(docs[1].line, 10);
    assert_eq!(docs[1].position("metadata.name"), (12, 12));
    assert_eq!(docs[1].source, "s.yaml");
}

#[test]
fn empty_input_gives_no_documents() {
    assert!(parse_str("", "x").unwrap().is_empty());
    assert!(parse_str("# nothing\n---\n", "x").unwrap().is_empty());
    assert!(parse_str("\n\n   \n", "x").unwrap().is_empty());
}

#[test]
fn list_expands_into_items_with_their_positions() {
    let docs = parse_str(
        "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: v1
  kind: PodList
  items:
  - kind: Pod
    metadata:
      name: p
- apiVersion: v1
  kind: Pod
  spec:
    x: 1
",
        "l.yaml",
    )
    .unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0].value["metadata"]["name"], json!("a"));
    assert_eq!(docs[0].line, 4);
    assert_eq!(docs[1].value["metadata"]["name"], json!("p"));
    assert_eq!(docs[1].line, 10);
    assert_eq!(docs[1].position("metadata.name"), (12, 7));
    assert_eq!(docs[2].line, 13);
    assert_eq!(docs[2].position("spec.x"), (16, 5));
    // A path the item does not have falls back to the item itself.
    assert_eq!(docs[2].position("status"), (13, 3));
}

#[test]
fn list_problems_are_located() {
    let e = errs("kind: List\nitems:\n- kind: Pod\n- just a string\n");
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].line, e[0].column), (4, 3));
    assert_eq!(
        e[0].message,
        "items[1]: expected an object with apiVersion and kind, got string"
    );
    let e = errs("kind: List\nitems: 5\n");
    assert_eq!((e[0].line, e[0].column), (2, 1));
    // An empty List is no objects, not an error.
    assert!(
        parse_str("kind: List\napiVersion: v1\nitems: []\n", "x")
            .unwrap()
            .is_empty()
    );
    // `*List` kinds without items are ordinary objects.
    assert_eq!(parse_str("kind: WatchList\n", "x").unwrap().len(), 1);
}

#[test]
fn duplicate_keys_are_errors() {
    let e = errs("kind: Pod\nspec:\n  containers:\n  - name: a\n    image: x\n    name: b\n");
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].line, e[0].column), (6, 5));
    assert_eq!(
        e[0].message,
        "duplicate field \"spec.containers[0].name\" (first set at line 4)"
    );
    // Every duplicate is reported.
    let e = errs("a: 1\na: 2\nb: 1\nb: 2\n");
    assert_eq!(e.len(), 2);
    // A duplicate label key names the label in brackets.
    let e = errs(
        "metadata:\n  labels:\n    app.kubernetes.io/name: a\n    app.kubernetes.io/name: b\n",
    );
    assert!(
        e[0].message
            .contains("metadata.labels[app.kubernetes.io/name]"),
        "{}",
        e[0].message
    );
}

#[test]
fn non_mapping_documents_are_errors() {
    let e = errs("apiVersion: v1\nkind: ConfigMap\n---\n- a\n- b\n---\nhello\n");
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].line, e[0].column), (4, 1));
    assert_eq!(
        e[0].message,
        "expected an object with apiVersion and kind, got list"
    );
    assert_eq!((e[1].line, e[1].column), (7, 1));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let doc = one("kind: Deployment
metadata:
  labels: &labels
    app: web
    tier: front
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels:
        <<: *labels
        tier: back
");
    assert_eq!(
        doc.value["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "tier": "front"})
    );
    assert_eq!(
        doc.value["spec"]["template"]["metadata"]["labels"],
        json!({"tier": "back", "app": "web"})
    );
    // Inside an alias, positions point at the alias.
    assert_eq!(doc.position("spec.selector.matchLabels[app]"), (8, 5));
    assert_eq!(doc.position("spec.template.metadata.labels[app]"), (12, 9));
    assert_eq!(doc.position("spec.template.metadata.labels[tier]"), (13, 9));
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
";
    let start = std::time::Instant::now();
    let e = errs(text);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("billion laughs"), "{}", e[0].message);
    assert!(e[0].line >= 6, "{e:?}");
}

#[test]
fn json_input() {
    let docs = parse_str(
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"spec\": {\n\t\"containers\": [{\"name\": \"a\", \"port\": 80}]\n  }\n}\n",
        "p.json",
    )
    .unwrap();
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert_eq!(doc.value["spec"]["containers"][0]["port"], json!(80));
    assert_eq!(doc.position("spec"), (4, 3));
    assert_eq!(doc.position("spec.containers[0].port"), (5, 31));
    // JSON strings that look like numbers stay strings.
    let doc = one(r#"{"kind": "ConfigMap", "data": {"a": "1", "b": "true"}}"#);
    assert_eq!(doc.value["data"], json!({"a": "1", "b": "true"}));
    // JSON escapes, including `\/` and `\u`.
    let doc = one(r#"{"kind": "ConfigMap", "data": {"a": "caf\u00e9 \/ \"q\"\n"}}"#);
    assert_eq!(doc.value["data"]["a"], json!("café / \"q\"\n"));
    // A JSON List.
    let docs = parse_str(
        r#"{"kind":"List","items":[{"kind":"Pod"},{"kind":"Service"}]}"#,
        "l.json",
    )
    .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1].position(""), (1, 40));
}

#[test]
fn scalars_styles_and_tags() {
    let doc = one("a: 1
b: '1'
c: \"x\\ty\"
d: |
  line one
  line two
e: >
  folded
  text
f: !!str 12
g: null
h: ~
i: 0644
j: yes
k: 1.5
l:
1: one
true: t
");
    let v = &doc.value;
    assert_eq!(v["a"], json!(1));
    assert_eq!(v["b"], json!("1"));
    assert_eq!(v["c"], json!("x\ty"));
    assert_eq!(v["d"], json!("line one\nline two\n"));
    assert_eq!(v["e"], json!("folded text\n"));
    assert_eq!(v["f"], json!("12"));
    assert_eq!(v["g"], Value::Null);
    assert_eq!(v["h"], Value::Null);
    assert_eq!(v["i"], json!(420));
    assert_eq!(v["j"], json!("yes"));
    assert_eq!(v["k"], json!(1.5));
    assert_eq!(v["l"], Value::Null);
    assert_eq!(v["1"], json!("one"));
    assert_eq!(v["true"], json!("t"));
}

#[test]
fn non_finite_numbers_and_complex_keys_are_errors() {
    let e = errs("kind: Pod\nspec:\n  x: .inf\n  y: .nan\n");
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].line, e[0].column), (3, 6));
    assert!(e[0].message.contains("quote it"), "{}", e[0].message);
    let e = errs("? [a, b]\n: c\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("mapping key must be a string"));
}

#[test]
fn syntax_errors_do_not_hide_later_documents() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: a
---
kind: Pod
spec: [1, 2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
  name: c
";
    let e = errs(text);
    assert_eq!(e.len(), 3, "{e:?}");
    assert!(e[0].line <= 4 && e[1].line >= 5 && e[1].line <= 7, "{e:?}");
    assert_eq!((e[2].line, e[2].column), (12, 3));
    assert!(e.iter().all(|e| e.source == "t.yaml"));
    assert!(e[0].to_string().starts_with("t.yaml:"));
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("a: {}{}", "[".repeat(5000), "]".repeat(5000));
    let e = errs(&deep);
    assert_eq!(e.len(), 1, "{e:?}");
    // Within the parser's own limit, ours applies.
    let deep = format!("a: {}{}", "[".repeat(150), "]".repeat(150));
    let e = errs(&deep);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("nested more than 100 levels"),
        "{e:?}"
    );
    assert_eq!((e[0].line, e[0].column), (1, 103));
    // Real depth is fine.
    let ok = format!("a: {}{}", "[".repeat(50), "]".repeat(50));
    assert!(parse_str(&ok, "x").is_ok());
}

#[test]
fn crlf_and_bom() {
    let doc = one("\u{feff}kind: Pod\r\nmetadata:\r\n  name: x\r\n");
    assert_eq!(doc.value["metadata"]["name"], json!("x"));
    assert_eq!(doc.position("metadata.name"), (3, 3));
}

#[test]
fn display_forms() {
    let e = ManifestError {
        source: "a.yaml".into(),
        line: 3,
        column: 5,
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "a.yaml:3:5: bad");
    let e = ManifestError {
        source: "a.yaml".into(),
        line: 0,
        column: 0,
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "a.yaml: bad");
}

#[test]
fn from_value_positions() {
    let d = Document::from_value("flags", json!({"kind": "Pod"}));
    assert_eq!(d.position("spec.containers[0]"), (1, 1));
}
