use super::*;

#[test]
fn containers_are_required() {
    assert_errs(
        "Pod",
        pod_with(|s| s["containers"] = json!([])),
        &["spec.containers: Required value"],
    );
    assert_errs(
        "Pod",
        pod_with(|s| *s = json!({})),
        &["spec.containers: Required value"],
    );
}

#[test]
fn container_names_images_and_uniqueness() {
    let p = pod_with(|s| {
        s["containers"] = json!([{"name": "web", "image": "a"}, {"name": "web", "image": "b"}, {"image": "c"}, {"name": "Web", "image": "d"}]);
        s["initContainers"] = json!([{"name": "web", "image": "e"}, {"name": "init"}]);
    });
    let errs = create("Pod", p);
    assert_has(&errs, "spec.containers[1].name: Duplicate value: \"web\"");
    assert_has(&errs, "spec.containers[2].name: Required value");
    assert_has_prefix(
        &errs,
        "spec.containers[3].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist",
    );
    assert_has(
        &errs,
        "spec.initContainers[0].name: Duplicate value: \"web\"",
    );
    assert_has(&errs, "spec.initContainers[1].image: Required value");
    assert_eq!(errs.len(), 5, "{errs:#?}");
    // Leading or trailing spaces are rejected on pods only.
    let p = pod_with(|s| s["containers"][0]["image"] = json!(" nginx"));
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace",
        ],
    );
}

#[test]
fn policies_must_be_known() {
    let p = pod_with(|s| {
        s["restartPolicy"] = json!("Sometimes");
        s["dnsPolicy"] = json!("Google");
        s["containers"][0]["imagePullPolicy"] = json!("Daily");
        s["containers"][0]["terminationMessagePolicy"] = json!("Stdout");
        s["terminationGracePeriodSeconds"] = json!(-5);
        s["activeDeadlineSeconds"] = json!(0);
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].imagePullPolicy: Unsupported value: \"Daily\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            "spec.containers[0].terminationMessagePolicy: Unsupported value: \"Stdout\": supported values: \"File\", \"FallbackToLogsOnError\"",
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "spec.dnsPolicy: Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
            "spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0",
            "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
        ],
    );
    assert_errs(
        "Pod",
        pod_with(|s| s["dnsPolicy"] = json!("None")),
        &["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
    );
}

#[test]
fn container_ports() {
    let p = pod_with(|s| {
        s["containers"][0]["ports"] = json!([
            {"containerPort": 80, "name": "http"},
            {"containerPort": 0},
            {"containerPort": 70000, "hostPort": 70000, "protocol": "ICMP"},
            {"containerPort": 81, "name": "http"},
            {"containerPort": 82, "name": "8080"},
            {"containerPort": 83, "name": "my--port"},
        ]);
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].ports[1].containerPort: Required value",
            "spec.containers[0].ports[2].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].ports[2].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].ports[2].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.containers[0].ports[3].name: Duplicate value: \"http\"",
            "spec.containers[0].ports[4].name: Invalid value: \"8080\": must contain at least one letter (a-z)",
            "spec.containers[0].ports[5].name: Invalid value: \"my--port\": must not contain consecutive hyphens",
        ],
    );
}

#[test]
fn host_ports_are_unique_per_protocol_across_containers() {
    let p = pod_with(|s| {
        s["containers"] = json!([
            {"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 8080, "protocol": "UDP"}]},
            {"name": "b", "image": "x", "ports": [{"containerPort": 81, "hostPort": 8080}]},
        ]);
    });
    assert_errs(
        "Pod",
        p,
        &["spec.containers[1].ports[0].hostPort: Duplicate value: \"8080/TCP\""],
    );
    let p = pod_with(|s| {
        s["hostNetwork"] = json!(true);
        s["containers"][0]["ports"] =
            json!([{"containerPort": 80}, {"containerPort": 81, "hostPort": 9090}]);
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].ports[1].hostPort: Invalid value: 9090: must match `containerPort` when `hostNetwork` is true",
        ],
    );
}

#[test]
fn environment_variables() {
    let p = pod_with(|s| {
        s["containers"][0]["env"] = json!([
            {"name": "GOOD_NAME", "value": "1"},
            {"name": "my.env-name"},
            {"name": "1BAD"},
            {"name": "A=B"},
            {"value": "x"},
            {"name": "FROM", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NONE", "valueFrom": {}},
            {"name": "TWO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}, "secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}},
            {"name": "LBL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "cfg"}}},
        ]);
    });
    let errs = create("Pod", p);
    let env = "spec.containers[0].env";
    let msg = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";
    assert_has(
        &errs,
        &format!("{env}[2].name: Invalid value: \"1BAD\": {msg}"),
    );
    assert_has(
        &errs,
        &format!("{env}[3].name: Invalid value: \"A=B\": {msg}"),
    );
    assert_has(&errs, &format!("{env}[4].name: Required value"));
    assert_has(
        &errs,
        &format!(
            "{env}[5].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"
        ),
    );
    assert_has(
        &errs,
        &format!(
            "{env}[6].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"
        ),
    );
    assert_has(
        &errs,
        &format!(
            "{env}[7].valueFrom: Invalid value: \"\": may not have more than one field specified at a time"
        ),
    );
    assert_has_prefix(
        &errs,
        &format!(
            "{env}[8].valueFrom.fieldRef.fieldPath: Unsupported value: \"spec.foo\": supported values: \"metadata.name\""
        ),
    );
    assert_has(
        &errs,
        &format!("{env}[10].valueFrom.configMapKeyRef.key: Required value"),
    );
    assert_eq!(errs.len(), 8, "{errs:#?}");
}

#[test]
fn resources_parse_and_requests_stay_within_limits() {
    let p = pod_with(|s| {
        s["containers"][0]["resources"] = json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        ],
    );
    let p = pod_with(|s| {
        s["containers"][0]["resources"] =
            json!({"limits": {"memory": "1Gi"}, "requests": {"memory": "1025Mi"}})
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].resources.requests: Invalid value: \"1025Mi\": must be less than or equal to memory limit of 1Gi",
        ],
    );
    let p = pod_with(
        |s| s["containers"][0]["resources"] = json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": 0.5, "memory": "100Mi"}}),
    );
    assert_valid("Pod", p);
    let p = pod_with(|s| {
        s["containers"][0]["resources"] =
            json!({"limits": {"cpu": "12x"}, "requests": {"memory": "-1"}})
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].resources.limits[cpu]: Invalid value: \"12x\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTPE]*[-+]?[0-9]*)$'",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0",
        ],
    );
    let p = pod_with(|s| s["containers"][0]["resources"] = json!({"limits": {"cpus": "1"}}));
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].resources.limits[cpus]: Invalid value: \"cpus\": must be a standard resource type or fully qualified",
            "spec.containers[0].resources.limits[cpus]: Invalid value: \"cpus\": must be a standard resource for containers",
            // Pods copy limits into missing requests before validation, as Kubernetes does.
            "spec.containers[0].resources.requests[cpus]: Invalid value: \"cpus\": must be a standard resource type or fully qualified",
            "spec.containers[0].resources.requests[cpus]: Invalid value: \"cpus\": must be a standard resource for containers",
        ],
    );
    // Extended resources cannot be overcommitted and come in whole units.
    let p = pod_with(|s| {
        s["containers"][0]["resources"] =
            json!({"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}})
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].resources.requests: Invalid value: \"1\": must be equal to example.com/gpu limit of 2",
        ],
    );
    let p = pod_with(|s| {
        s["containers"][0]["resources"] = json!({"requests": {"example.com/gpu": "500m"}})
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].resources.requests[example.com/gpu]: Invalid value: \"500m\": must be an integer",
            "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
        ],
    );
}

#[test]
fn volumes_need_names_and_exactly_one_source() {
    let p = pod_with(|s| {
        s["volumes"] = json!([
            {"name": "data", "emptyDir": {}},
            {"name": "data", "emptyDir": {}},
            {"name": "Cfg", "configMap": {"name": "c"}},
            {"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}},
            {"name": "claim", "persistentVolumeClaim": {}},
            {"emptyDir": {}},
            {"name": "secret", "secret": {"secretName": "s", "defaultMode": 1000, "items": [{"key": "a", "path": "../x"}]}},
        ]);
    });
    let errs = create("Pod", p);
    assert_has(&errs, "spec.volumes[1].name: Duplicate value: \"data\"");
    assert_has_prefix(
        &errs,
        "spec.volumes[2].name: Invalid value: \"Cfg\": a lowercase RFC 1123 label",
    );
    assert_has(
        &errs,
        "spec.volumes[3].emptyDir: Forbidden: may not specify more than 1 volume type",
    );
    assert_has(
        &errs,
        "spec.volumes[4].persistentVolumeClaim.claimName: Required value",
    );
    assert_has(&errs, "spec.volumes[5].name: Required value");
    assert_has(
        &errs,
        "spec.volumes[6].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
    );
    assert_has(
        &errs,
        "spec.volumes[6].secret.items[0].path: Invalid value: \"../x\": must not contain '..'",
    );
    assert_eq!(errs.len(), 8, "{errs:#?}");
}

#[test]
fn volume_mounts_refer_to_volumes() {
    let p = pod_with(|s| {
        s["volumes"] = json!([{"name": "data", "emptyDir": {}}, {"name": "Bad", "emptyDir": {}}]);
        s["containers"][0]["volumeMounts"] = json!([
            {"name": "data", "mountPath": "/data"},
            {"name": "missing", "mountPath": "/m"},
            {"name": "data", "mountPath": "/data"},
            {"name": "data"},
            {"name": "Bad", "mountPath": "relative"},
            {"name": "data", "mountPath": "/sub", "subPath": "/abs"},
        ]);
    });
    let errs = create("Pod", p);
    let m = "spec.containers[0].volumeMounts";
    assert_has(&errs, &format!("{m}[1].name: Not found: \"missing\""));
    assert_has(
        &errs,
        &format!("{m}[2].mountPath: Invalid value: \"/data\": must be unique"),
    );
    assert_has(&errs, &format!("{m}[3].mountPath: Required value"));
    assert_has(&errs, &format!("{m}[4].name: Not found: \"Bad\""));
    assert_has(
        &errs,
        &format!("{m}[4].mountPath: Invalid value: \"relative\": must be an absolute path"),
    );
    assert_has(
        &errs,
        &format!("{m}[5].subPath: Invalid value: \"/abs\": must be a relative path"),
    );
    // One for the bad volume name, six for the mounts.
    assert_eq!(errs.len(), 7, "{errs:#?}");
}

#[test]
fn probes() {
    let p = pod_with(|s| {
        let c = &mut s["containers"][0];
        c["livenessProbe"] =
            json!({"httpGet": {"port": 80}, "exec": {"command": ["true"]}, "successThreshold": 2});
        c["readinessProbe"] = json!({"periodSeconds": 5});
        c["startupProbe"] = json!({"tcpSocket": {"port": "Web"}, "failureThreshold": -1});
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type",
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            "spec.containers[0].readinessProbe: Required value: must specify a handler type",
            "spec.containers[0].startupProbe.tcpSocket.port: Invalid value: \"Web\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.containers[0].startupProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0",
        ],
    );
    let p = pod_with(|s| {
        s["containers"][0]["readinessProbe"] = json!({"httpGet": {"port": 0, "scheme": "FTP"}})
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"",
        ],
    );
}

#[test]
fn init_containers_and_sidecars() {
    let p = pod_with(|s| {
        s["initContainers"] = json!([
            {"name": "setup", "image": "x", "readinessProbe": {"exec": {"command": ["true"]}}},
            {"name": "side", "image": "x", "restartPolicy": "Always", "readinessProbe": {"exec": {"command": ["true"]}}},
            {"name": "odd", "image": "x", "restartPolicy": "Never"},
        ]);
        s["containers"][0]["restartPolicy"] = json!("Always");
    });
    assert_errs(
        "Pod",
        p,
        &[
            "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers",
            "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            "spec.initContainers[2].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        ],
    );
}

#[test]
fn tolerations_and_node_selector() {
    let p = pod_with(|s| {
        s["nodeSelector"] = json!({"disk": "ssd", "bad key": "x"});
        s["tolerations"] = json!([
            {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"},
            {"operator": "Exists"},
            {"key": "", "operator": "Equal", "value": "v"},
            {"key": "k", "operator": "Exists", "value": "v"},
            {"key": "k", "operator": "Near", "effect": "Maybe"},
            {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5},
        ]);
    });
    let errs = create("Pod", p);
    assert_has_prefix(&errs, "spec.nodeSelector: Invalid value: \"bad key\"");
    assert_has(
        &errs,
        "spec.tolerations[2].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
    );
    assert_has_prefix(&errs, "spec.tolerations[3].operator: Invalid value: {");
    assert_has(
        &errs,
        "spec.tolerations[4].operator: Unsupported value: \"Near\": supported values: \"Equal\", \"Exists\"",
    );
    assert_has(
        &errs,
        "spec.tolerations[4].effect: Unsupported value: \"Maybe\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
    );
    assert_has(
        &errs,
        "spec.tolerations[5].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
    );
    assert_eq!(errs.len(), 6, "{errs:#?}");
}
