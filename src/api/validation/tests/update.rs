use super::*;

fn with(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut v);
    v
}

#[test]
fn unchanged_objects_are_valid_updates() {
    for (kind, obj) in [("Pod", pod()), ("Deployment", deployment())] {
        assert!(update(kind, obj.clone(), obj).is_empty());
    }
}

#[test]
fn identity_metadata_is_immutable() {
    let old = with(pod(), |p| {
        p["metadata"]["uid"] = json!("u1");
        p["metadata"]["creationTimestamp"] = json!("2024-01-01T00:00:00Z");
    });
    let new = with(old.clone(), |p| {
        p["metadata"]["name"] = json!("other");
        p["metadata"]["namespace"] = json!("prod");
        p["metadata"]["uid"] = json!("u2");
    });
    assert_eq!(
        update("Pod", new, old.clone()),
        [
            "metadata.name: Invalid value: \"other\": field is immutable",
            "metadata.namespace: Invalid value: \"prod\": field is immutable",
            "metadata.uid: Invalid value: \"u2\": field is immutable",
        ]
    );
    // Leaving namespace, uid and creationTimestamp out is not a change: the store keeps them.
    let new = with(old.clone(), |p| {
        p["metadata"].as_object_mut().unwrap().remove("namespace");
        p["metadata"].as_object_mut().unwrap().remove("uid");
        p["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
    });
    assert!(update("Pod", new, old).is_empty());
}

#[test]
fn pod_spec_is_immutable_except_images_and_deadlines() {
    let old = pod();
    let new = with(old.clone(), |p| {
        p["spec"]["containers"][0]["image"] = json!("nginx:1.26");
        p["spec"]["activeDeadlineSeconds"] = json!(60);
        p["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    });
    assert_eq!(
        update("Pod", new.clone(), old.clone()),
        Vec::<String>::new()
    );

    let changed = with(old.clone(), |p| p["spec"]["restartPolicy"] = json!("Never"));
    let errs = update("Pod", changed, old.clone());
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"), "{errs:?}");
    assert!(errs[0].ends_with("changed: spec.restartPolicy"), "{errs:?}");

    // Removing a toleration or an image-less container change is not allowed either.
    let removed = with(new.clone(), |p| p["spec"]["tolerations"] = json!([]));
    assert_eq!(update("Pod", removed, new.clone()).len(), 1);
    let ports = with(old.clone(), |p| {
        p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}])
    });
    assert!(update("Pod", ports, old.clone())[0].ends_with("changed: spec.containers[0].ports"));

    // The deadline may only shrink and never go away.
    let longer = with(new.clone(), |p| {
        p["spec"]["activeDeadlineSeconds"] = json!(120)
    });
    assert_eq!(
        update("Pod", longer, new.clone()),
        [
            "spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous value"
        ]
    );
    let unset = with(new.clone(), |p| {
        p["spec"]
            .as_object_mut()
            .unwrap()
            .remove("activeDeadlineSeconds")
            .map(|_| ())
            .unwrap_or(())
    });
    assert_eq!(
        update("Pod", unset, new),
        [
            "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"
        ]
    );
}

#[test]
fn workload_selectors_are_immutable() {
    let old = deployment();
    let new = with(old.clone(), |d| {
        d["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
        d["spec"]["template"]["metadata"]["labels"]["v"] = json!("2");
    });
    assert_eq!(
        update("Deployment", new, old.clone()),
        [
            "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}: field is immutable"
        ]
    );
    let scaled = with(old.clone(), |d| {
        d["spec"]["replicas"] = json!(5);
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    });
    assert!(update("Deployment", scaled, old).is_empty());
}

#[test]
fn stateful_set_spec_is_mostly_immutable() {
    let old = json!({"metadata": {"name": "db"}, "spec": {"selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
        "template": template(json!({"app": "db"}))}});
    let scaled = with(old.clone(), |s| {
        s["spec"]["replicas"] = json!(3);
        s["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    });
    assert!(update("StatefulSet", scaled, old.clone()).is_empty());
    let renamed = with(old.clone(), |s| s["spec"]["serviceName"] = json!("other"));
    assert_eq!(
        update("StatefulSet", renamed, old),
        [
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
        ]
    );
}

#[test]
fn job_spec_updates() {
    let mut t = template(json!({"app": "j"}));
    t["spec"]["restartPolicy"] = json!("Never");
    let old = json!({"metadata": {"name": "j"}, "spec": {"template": t, "selector": {"matchLabels": {"app": "j"}}}});
    let new = with(old.clone(), |j| {
        j["spec"]["completions"] = json!(3);
        j["spec"]["template"]["spec"]["containers"][0]["image"] = json!("other");
        j["spec"]["parallelism"] = json!(2);
    });
    let errs = update("Job", new, old.clone());
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(
        errs[0],
        "spec.completions: Invalid value: 3: field is immutable"
    );
    assert!(
        errs[1].starts_with("spec.template: Invalid value: {"),
        "{errs:?}"
    );
    assert!(errs[1].ends_with("}: field is immutable"), "{errs:?}");

    // Indexed jobs scale completions together with parallelism.
    let indexed = with(old.clone(), |j| {
        j["spec"]["completionMode"] = json!("Indexed");
        j["spec"]["completions"] = json!(2);
        j["spec"]["parallelism"] = json!(2);
    });
    let scaled = with(indexed.clone(), |j| {
        j["spec"]["completions"] = json!(4);
        j["spec"]["parallelism"] = json!(4);
    });
    assert!(update("Job", scaled, indexed.clone()).is_empty());
    let lopsided = with(indexed.clone(), |j| j["spec"]["completions"] = json!(4));
    assert_eq!(
        update("Job", lopsided, indexed),
        [
            "spec.completions: Invalid value: 4: can only be modified in tandem with spec.parallelism"
        ]
    );

    // A suspended job that never ran may move to other nodes.
    let suspended = with(old.clone(), |j| j["spec"]["suspend"] = json!(true));
    let moved = with(suspended.clone(), |j| {
        j["spec"]["template"]["spec"]["nodeSelector"] = json!({"disk": "ssd"})
    });
    assert!(update("Job", moved, suspended).is_empty());
}

#[test]
fn service_cluster_ip_is_immutable_once_set() {
    let old = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}});
    let moved = with(old.clone(), |s| {
        s["spec"]["clusterIP"] = json!("10.96.0.11")
    });
    assert_eq!(
        update("Service", moved, old.clone()),
        ["spec.clusterIP: Invalid value: \"10.96.0.11\": field is immutable"]
    );
    let omitted = with(old.clone(), |s| {
        s["spec"]
            .as_object_mut()
            .unwrap()
            .remove("clusterIP")
            .map(|_| ())
            .unwrap_or(())
    });
    assert!(update("Service", omitted, old.clone()).is_empty());
    let external = json!({"metadata": {"name": "s"}, "spec": {"type": "ExternalName", "externalName": "example.com"}});
    assert!(update("Service", external, old).is_empty());
}

#[test]
fn claims_may_only_grow_when_bound() {
    let old = json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Bound"}});
    let grown = with(old.clone(), |c| {
        c["spec"]["resources"]["requests"]["storage"] = json!("2Gi")
    });
    assert!(update("PersistentVolumeClaim", grown, old.clone()).is_empty());
    let shrunk = with(old.clone(), |c| {
        c["spec"]["resources"]["requests"]["storage"] = json!("512Mi")
    });
    assert_eq!(
        update("PersistentVolumeClaim", shrunk, old.clone()),
        ["spec.resources.requests.storage: Forbidden: field can not be less than previous value"]
    );
    let modes = with(old.clone(), |c| {
        c["spec"]["accessModes"] = json!(["ReadWriteMany"])
    });
    assert_eq!(
        update("PersistentVolumeClaim", modes, old.clone()),
        [
            "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
        ]
    );
    let bound = with(old.clone(), |c| c["spec"]["volumeName"] = json!("pv-1"));
    let mut unbound = old.clone();
    unbound["status"]["phase"] = json!("Pending");
    assert!(update("PersistentVolumeClaim", bound, unbound.clone()).is_empty());
    let pending_grow = with(unbound.clone(), |c| {
        c["spec"]["resources"]["requests"]["storage"] = json!("2Gi")
    });
    assert_eq!(
        update("PersistentVolumeClaim", pending_grow, unbound).len(),
        1
    );
}

#[test]
fn immutable_config_maps_and_secrets() {
    let old = json!({"metadata": {"name": "c"}, "immutable": true, "data": {"a": "1"}});
    let changed = with(old.clone(), |c| {
        c["data"]["a"] = json!("2");
        c["immutable"] = json!(false);
    });
    assert_eq!(
        update("ConfigMap", changed, old.clone()),
        [
            "immutable: Forbidden: field is immutable when `immutable` is set",
            "data: Forbidden: field is immutable when `immutable` is set",
        ]
    );
    let labelled = with(old.clone(), |c| c["metadata"]["labels"] = json!({"a": "b"}));
    assert!(update("ConfigMap", labelled, old).is_empty());

    let secret = json!({"metadata": {"name": "s"}, "data": {"a": "aGk="}});
    let retyped = with(secret.clone(), |s| s["type"] = json!("example.com/token"));
    assert_eq!(
        update("Secret", retyped, secret.clone()),
        ["type: Invalid value: \"example.com/token\": field is immutable"]
    );
    let edited = with(secret.clone(), |s| s["data"]["a"] = json!("aG8="));
    assert!(update("Secret", edited, secret).is_empty());
}

#[test]
fn updates_are_also_validated_like_creates() {
    let old = deployment();
    let new = with(old.clone(), |d| d["spec"]["replicas"] = json!(-3));
    assert_eq!(
        update("Deployment", new, old),
        ["spec.replicas: Invalid value: -3: must be greater than or equal to 0"]
    );
}
