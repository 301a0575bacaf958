use super::*;
use crate::api::error::FieldErrorType;
use crate::api::kinds::{KINDS, lookup};
use serde_json::json;

fn check(kind: &str, obj: Value) -> Vec<FieldError> {
    check_fields(lookup(kind).unwrap(), &obj)
}

fn show(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn typo_pod_end_to_end() {
    let text = "apiVersion: v1
kind: Pod
metadata:
  labels:
    app: web
spec:
  container:
  - name: web
    image: busybox
";
    let docs = crate::api::manifest::parse_str(text, "pod.yaml").unwrap();
    let errors = check_fields(lookup("Pod").unwrap(), &docs[0].value);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, FieldErrorType::Unknown);
    assert_eq!(errors[0].path, "spec.container");
    assert_eq!(
        errors[0].message,
        "unknown field \"spec.container\", did you mean \"containers\"?"
    );
    assert_eq!(docs[0].position(&errors[0].path), (7, 3));
    assert_eq!(docs[0].position("metadata.name"), (3, 1));
}

#[test]
fn valid_objects_have_no_problems() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "a", "labels": {"app": "web"}, "annotations": {"x/y": "z"},
                     "creationTimestamp": null,
                     "managedFields": [{"fieldsV1": {"f:spec": {"anything": {}}}}]},
        "spec": {
            "containers": [{
                "name": "c", "image": "busybox", "args": null,
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {"limits": {"cpu": 0.5, "memory": "64Mi"}, "requests": {"cpu": 1}},
                "livenessProbe": {"httpGet": {"port": "http", "path": "/"}}
            }],
            "terminationGracePeriodSeconds": 30.0
        },
        "status": {"phase": "Running"}
    });
    assert_eq!(show(&check("Pod", pod)), Vec::<String>::new());
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "x"}},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                 "template": {"metadata": {"labels": {"app": "x"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    });
    assert_eq!(show(&check("deploy", deploy)), Vec::<String>::new());
}

#[test]
fn all_unknown_fields_are_reported_with_full_paths() {
    let errors = check(
        "Deployment",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "spex": {},
            "metadata": {"name": "d", "lables": {"a": "b"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "a", "image": "i"},
                {"name": "b", "imagee": "i", "zzzzzzzz": {"nested": 1}}
            ]}}}
        }),
    );
    assert_eq!(
        show(&errors),
        [
            "spex: unknown field \"spex\", did you mean \"spec\"?",
            "metadata.lables: unknown field \"metadata.lables\", did you mean \"labels\"?",
            "spec.template.spec.containers[1].imagee: unknown field \"spec.template.spec.containers[1].imagee\", did you mean \"image\"?",
            "spec.template.spec.containers[1].zzzzzzzz: unknown field \"spec.template.spec.containers[1].zzzzzzzz\"",
        ]
    );
    assert!(errors.iter().all(|e| e.kind == FieldErrorType::Unknown));
}

#[test]
fn field_names_are_case_sensitive() {
    let errors = check("Pod", json!({"spec": {"Containers": []}}));
    assert_eq!(
        errors[0].message,
        "unknown field \"spec.Containers\", did you mean \"containers\"?"
    );
}

#[test]
fn type_mismatches() {
    let errors = check(
        "Deployment",
        json!({
            "metadata": {"labels": {"version": 1, "ok": "x"}},
            "spec": {"replicas": "three", "paused": "yes", "selector": [],
                     "template": {"spec": {"containers": {"name": "x"}}}}
        }),
    );
    assert_eq!(
        show(&errors),
        [
            "metadata.labels[version]: expected string, got number",
            "spec.replicas: expected integer, got string",
            "spec.paused: expected boolean, got string",
            "spec.selector: expected object, got array",
            "spec.template.spec.containers: expected array, got object",
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e.kind == FieldErrorType::TypeMismatch)
    );
}

#[test]
fn numbers_integers_and_ranges() {
    let errors = check(
        "Pod",
        json!({"spec": {
            "activeDeadlineSeconds": 1.5,
            "containers": [{"name": "c", "ports": [{"containerPort": 3000000000u64}]}]
        }}),
    );
    assert_eq!(
        show(&errors),
        [
            "spec.activeDeadlineSeconds: expected integer, got number 1.5",
            "spec.containers[0].ports[0].containerPort: expected a 32-bit integer, got 3000000000 (out of range)",
        ]
    );
}

#[test]
fn int_or_string_and_quantity() {
    let errors = check(
        "Service",
        json!({"spec": {"ports": [
            {"port": 80, "targetPort": "http"},
            {"port": 81, "targetPort": 8080},
            {"port": 82, "targetPort": 1.5},
            {"port": 83, "targetPort": true}
        ]}}),
    );
    assert_eq!(
        show(&errors),
        [
            "spec.ports[2].targetPort: expected integer or string, got number",
            "spec.ports[3].targetPort: expected integer or string, got boolean",
        ]
    );
    let errors = check(
        "Pod",
        json!({"spec": {"containers": [{"name": "c",
            "resources": {"limits": {"cpu": "500m", "memory": 1e9}, "requests": {"cpu": [1]}}}]}}),
    );
    assert_eq!(
        show(&errors),
        [
            "spec.containers[0].resources.requests[cpu]: expected quantity (string or number), got array"
        ]
    );
}

#[test]
fn secret_data_must_be_base64() {
    let errors = check(
        "Secret",
        json!({"data": {"good": "aGVsbG8=", "bad": "hello!"}, "stringData": {"plain": "hello!"}}),
    );
    assert_eq!(
        show(&errors),
        ["data[bad]: expected base64-encoded data: illegal base64 data at input byte 5"]
    );
    let errors = check("Secret", json!({"data": {"n": 5}}));
    assert_eq!(show(&errors), ["data[n]: expected string, got number"]);
}

#[test]
fn nulls_are_unset_fields() {
    let errors = check(
        "Pod",
        json!({"metadata": null, "spec": {"containers": [null, {"name": "a", "env": null}],
               "nodeSelector": {"a": null}}}),
    );
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn every_kind_has_a_schema_with_definitions() {
    for kind in KINDS {
        let schema = schema_for(kind).unwrap_or_else(|| panic!("no schema for {}", kind.kind));
        assert_eq!(schema["type"], json!("object"), "{}", kind.kind);
        assert!(
            schema["properties"]["metadata"]["$ref"].is_string(),
            "{}",
            kind.kind
        );
        assert!(schema["$defs"].is_object(), "{}", kind.kind);
        // A bare object of the kind is always acceptable.
        let obj =
            json!({"apiVersion": kind.api_version(), "kind": kind.kind, "metadata": {"name": "x"}});
        assert!(check_fields(kind, &obj).is_empty(), "{}", kind.kind);
    }
    // Cached: the same allocation every time.
    let pod = lookup("Pod").unwrap();
    assert!(std::ptr::eq(
        schema_for(pod).unwrap(),
        schema_for(pod).unwrap()
    ));
}

#[test]
fn kinds_without_schema_are_not_checked() {
    let fake = KindInfo {
        kind: "Widget",
        group: "example.com",
        version: "v1",
        plural: "widgets",
        singular: "widget",
        namespaced: true,
        short_names: &[],
        categories: &[],
        has_status: false,
    };
    assert!(schema_for(&fake).is_none());
    assert!(check_fields(&fake, &json!({"anything": 1})).is_empty());
}

#[test]
fn non_object_top_level_is_a_mismatch() {
    assert_eq!(
        show(&check("Pod", json!([1]))),
        ["expected object, got array"]
    );
}
