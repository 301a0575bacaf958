use super::*;

fn svc(spec: Value) -> Value {
    json!({"metadata": {"name": "web"}, "spec": spec})
}

#[test]
fn service_ports_are_required_unless_headless_or_external_name() {
    assert_errs("Service", svc(json!({})), &["spec.ports: Required value"]);
    assert_valid(
        "Service",
        svc(json!({"clusterIP": "None", "selector": {"app": "db"}})),
    );
    assert_valid(
        "Service",
        svc(json!({"type": "ExternalName", "externalName": "db.example.com."})),
    );
    assert_errs(
        "Service",
        svc(json!({"type": "ExternalName"})),
        &["spec.externalName: Required value"],
    );
    assert_has(
        &create(
            "Service",
            svc(json!({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]})),
        ),
        "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
    );
}

#[test]
fn service_ports() {
    let s = svc(json!({"ports": [
        {"name": "http", "port": 80},
        {"name": "http", "port": 0, "protocol": "ICMP"},
        {"port": 443, "targetPort": "HTTPS"},
        {"name": "dup", "port": 80, "targetPort": 70000},
    ]}));
    assert_errs(
        "Service",
        s,
        &[
            "spec.ports[1].name: Duplicate value: \"http\"",
            "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            // targetPort defaults to port, so a zero port is reported twice (as Kubernetes does).
            "spec.ports[1].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[2].name: Required value",
            "spec.ports[2].targetPort: Invalid value: \"HTTPS\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.ports[2].targetPort: Invalid value: \"HTTPS\": must contain at least one letter (a-z)",
            "spec.ports[3].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.ports[3]: Duplicate value: {\"port\":80,\"protocol\":\"TCP\"}",
        ],
    );
}

#[test]
fn service_types_and_node_ports() {
    assert_errs(
        "Service",
        svc(json!({"type": "Internal", "ports": [{"port": 80}]})),
        &[
            "spec.type: Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ],
    );
    assert_valid(
        "Service",
        svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]})),
    );
    assert_errs(
        "Service",
        svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]})),
        &[
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
        ],
    );
    assert_errs(
        "Service",
        svc(json!({"ports": [{"port": 80, "nodePort": 30080}]})),
        &["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    );
    assert_errs(
        "Service",
        svc(
            json!({"clusterIP": "10.0.0.300", "sessionAffinity": "Sticky", "ports": [{"port": 80}]}),
        ),
        &[
            "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"",
            "spec.clusterIP: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ],
    );
}

#[test]
fn config_maps() {
    let cm = json!({"metadata": {"name": "c"}, "data": {"ok.key": "1", "bad/key": "2", "dup": "3"}, "binaryData": {"dup": "aGk="}});
    let errs = create("ConfigMap", cm);
    assert_has(
        &errs,
        "data[bad/key]: Invalid value: \"bad/key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
    assert_has(
        &errs,
        "data[dup]: Invalid value: \"dup\": duplicate of key present in binaryData",
    );
    assert_eq!(errs.len(), 2);
    let big = json!({"metadata": {"name": "c"}, "data": {"a": "x".repeat(1024 * 1024 + 1)}});
    assert_errs(
        "ConfigMap",
        big,
        &["Too long: may not be more than 1048576 bytes"],
    );
}

#[test]
fn secrets() {
    let s = json!({"metadata": {"name": "s"}, "data": {"good": "aGk=", "bad": "not base64!", "a b": "aGk="}});
    assert_errs(
        "Secret",
        s,
        &[
            "data[bad]: Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte 3",
            "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ],
    );
    assert_valid(
        "Secret",
        json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}),
    );
    assert_errs(
        "Secret",
        json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}}),
        &["data[tls.key]: Required value"],
    );
    assert_errs(
        "Secret",
        json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}}),
        &[],
    );
    let big = json!({"metadata": {"name": "s"}, "data": {"a": "A".repeat(1_400_000)}});
    assert_errs(
        "Secret",
        big,
        &["data: Too long: may not be more than 1048576 bytes"],
    );
}

#[test]
fn claims_and_volumes() {
    assert_errs(
        "PersistentVolumeClaim",
        json!({"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteSometimes"]}}),
        &[
            "spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
            "spec.resources[storage]: Required value",
        ],
    );
    assert_errs(
        "PersistentVolumeClaim",
        json!({"metadata": {"name": "c"}, "spec": {"resources": {"requests": {"storage": "0"}}, "volumeMode": "Raw"}}),
        &[
            "spec.accessModes: Required value: at least 1 access mode is required",
            "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
            "spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"",
        ],
    );
    assert_errs(
        "PersistentVolume",
        json!({"metadata": {"name": "v"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}}),
        &["spec: Required value: must specify a volume type"],
    );
}

#[test]
fn namespaces() {
    assert_errs(
        "Namespace",
        json!({"metadata": {"name": "a"}, "spec": {"finalizers": ["custom"]}}),
        &[
            "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
        ],
    );
}
