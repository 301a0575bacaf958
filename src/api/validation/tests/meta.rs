use super::*;

#[test]
fn name_or_generate_name_is_required() {
    let mut p = pod();
    p["metadata"] = json!({"namespace": "default"});
    assert_errs(
        "Pod",
        p.clone(),
        &["metadata.name: Required value: name or generateName is required"],
    );
    p["metadata"]["generateName"] = json!("web-");
    assert_valid("Pod", p.clone());
    p["metadata"]["generateName"] = json!("Web-");
    let errs = create("Pod", p);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain"
        ),
        "{errs:?}"
    );
}

#[test]
fn names_follow_the_rule_of_their_kind() {
    let mut p = pod();
    p["metadata"]["name"] = json!("Web");
    assert_errs(
        "Pod",
        p,
        &[
            r#"metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
        ],
    );
    // Dots are fine in pod and config map names, not in namespaces.
    let mut p = pod();
    p["metadata"]["name"] = json!("web.v1");
    assert_valid("Pod", p);
    assert_errs(
        "Namespace",
        json!({"metadata": {"name": "team.a"}}),
        &["metadata.name: Invalid value: \"team.a\": must not contain dots"],
    );
    let long = "a".repeat(64);
    // The name is also copied into the kubernetes.io/metadata.name label, which is too long too.
    assert_errs(
        "Namespace",
        json!({"metadata": {"name": long}}),
        &[
            &format!(
                "metadata.name: Invalid value: \"{long}\": must be no more than 63 characters"
            ),
            &format!(
                "metadata.labels: Invalid value: \"{long}\": must be no more than 63 characters"
            ),
        ],
    );
    assert_valid("ConfigMap", json!({"metadata": {"name": "a".repeat(253)}}));
    assert_eq!(
        create("ConfigMap", json!({"metadata": {"name": "a".repeat(254)}})).len(),
        1
    );
    // Service names are DNS-1035 labels: they must start with a letter.
    let errs = create(
        "Service",
        json!({"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}),
    );
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character"), "{errs:?}");
}

#[test]
fn namespace_syntax_is_checked() {
    let mut p = pod();
    p["metadata"]["namespace"] = json!("Team_A");
    let errs = create("Pod", p);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            "metadata.namespace: Invalid value: \"Team_A\": a lowercase RFC 1123 label"
        ),
        "{errs:?}"
    );
}

#[test]
fn labels_keys_and_values() {
    let mut p = pod();
    p["metadata"]["labels"] = json!({"app": "web", "example.com/tier": "front", "bad key": "x", "ok": "-bad", "empty": ""});
    let errs = create("Pod", p);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs[0].starts_with("metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters"), "{errs:?}");
    assert!(
        errs[1].starts_with(
            "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string"
        ),
        "{errs:?}"
    );
    let mut p = pod();
    p["metadata"]["labels"] = json!({"app": "x".repeat(64)});
    assert_eq!(
        create("Pod", p)[0],
        format!(
            "metadata.labels: Invalid value: \"{}\": must be no more than 63 characters",
            "x".repeat(64)
        )
    );
}

#[test]
fn annotations_keys_and_total_size() {
    let mut p = pod();
    p["metadata"]["annotations"] = json!({"Example.COM/Note": "anything at all: {}", "kubectl.kubernetes.io/last-applied-configuration": "{}"});
    assert_valid("Pod", p);
    let mut p = pod();
    p["metadata"]["annotations"] = json!({"a/b/c": "x"});
    assert_has_prefix(
        &create("Pod", p),
        "metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist",
    );
    let mut p = pod();
    p["metadata"]["annotations"] = json!({"big": "x".repeat(256 * 1024)});
    assert_errs(
        "Pod",
        p,
        &["metadata.annotations: Too long: may not be more than 262144 bytes"],
    );
    let mut p = pod();
    p["metadata"]["annotations"] = json!({"big": "x".repeat(256 * 1024 - 3)});
    assert_valid("Pod", p);
}

#[test]
fn owner_references_and_finalizers() {
    let mut p = pod();
    p["metadata"]["ownerReferences"] = json!([
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true},
        {"apiVersion": "apps/", "kind": "", "name": "c", "uid": ""},
    ]);
    // Finalizers without a domain only draw a warning in Kubernetes; bad syntax is an error.
    p["metadata"]["finalizers"] = json!(["kubernetes", "example.com/cleanup", "cleanup", "a/b/c"]);
    let errs = create("Pod", p);
    assert_has_prefix(&errs, "metadata.ownerReferences: Invalid value: [");
    assert!(errs.iter().any(|e| e.ends_with("Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b")));
    assert_has(
        &errs,
        "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty",
    );
    assert_has(
        &errs,
        "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty",
    );
    assert_has(
        &errs,
        "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty",
    );
    assert_has_prefix(
        &errs,
        "metadata.finalizers: Invalid value: \"a/b/c\": a qualified name must consist",
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
}

#[test]
fn generation_may_not_be_negative() {
    let mut p = pod();
    p["metadata"]["generation"] = json!(-1);
    assert_errs(
        "Pod",
        p,
        &["metadata.generation: Invalid value: -1: must be greater than or equal to 0"],
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let p = json!({"metadata": {"name": "Bad Name"}, "spec": {"containers": [{"name": "Web"}], "restartPolicy": "Sometimes"}});
    let errs = create("Pod", p);
    assert_has_prefix(&errs, "metadata.name: Invalid value: \"Bad Name\"");
    assert_has_prefix(&errs, "spec.containers[0].name: Invalid value: \"Web\"");
    assert_has(&errs, "spec.containers[0].image: Required value");
    assert_has(
        &errs,
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    );
}
