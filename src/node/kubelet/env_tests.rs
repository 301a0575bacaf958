use super::*;
use crate::api::quantity::Quantity;
use serde_json::json;

fn pod(containers: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1", "labels": {"app": "web"}},
        "spec": {"nodeName": "box", "containers": containers},
    })
}

fn extras() -> EnvExtras {
    EnvExtras {
        allocatable: Allocatable {
            cpu: Quantity::parse("2").unwrap(),
            memory: Quantity::parse("1Gi").unwrap(),
            ephemeral_storage: Quantity::parse("10Gi").unwrap(),
        },
        service_env: Vec::new(),
    }
}

fn cm(data: Value) -> Value {
    json!({"kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data})
}

/// Secret data is base64: "admin" and "s3cr=t".
fn secret() -> Value {
    json!({"kind": "Secret", "metadata": {"name": "creds"},
           "data": {"user": "YWRtaW4=", "pass": "czNjcj10", "bad-key!": "eA=="}})
}

fn build(
    container: Value,
    image_env: &[&str],
    sources: &EnvSources<'_>,
) -> Result<Vec<String>, String> {
    let p = pod(json!([container.clone()]));
    let image_env: Vec<String> = image_env.iter().map(|s| s.to_string()).collect();
    container_env_with(&p, &container, &image_env, sources, &extras())
}

/// The entries the pod added, without containerd's PATH and HOSTNAME.
fn own(env: Vec<String>) -> Vec<String> {
    env.into_iter()
        .filter(|e| !e.starts_with("PATH=") && !e.starts_with("HOSTNAME="))
        .collect()
}

#[test]
fn references_cover_env_env_from_and_volumes_once_each() {
    let p = json!({"spec": {
        "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "a"}}]}],
        "containers": [{
            "name": "c",
            "env": [
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "b", "key": "k"}}},
                {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}},
                {"name": "Z", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "W", "value": "plain"}
            ],
            "envFrom": [{"secretRef": {"name": "s2"}}, {"configMapRef": {"name": "a"}}]
        }],
        "volumes": [
            {"name": "v1", "configMap": {"name": "c"}},
            {"name": "v2", "secret": {"secretName": "s1"}},
            {"name": "v3", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "v4", "projected": {"sources": [
                {"configMap": {"name": "d"}}, {"secret": {"name": "s3"}},
                {"serviceAccountToken": {"path": "t"}}
            ]}},
            {"name": "v5", "emptyDir": {}}
        ]
    }});
    assert_eq!(
        references(&p),
        References {
            config_maps: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            secrets: vec!["s1".into(), "s2".into(), "s3".into()],
            pvcs: vec!["data".into()],
        }
    );
    assert_eq!(references(&json!({})), References::default());
}

#[test]
fn default_path_and_hostname_come_first_and_image_path_replaces_it() {
    let s = EnvSources::default();
    let env = build(json!({"name": "c"}), &[], &s).unwrap();
    assert_eq!(
        env,
        vec![format!("PATH={DEFAULT_PATH}"), "HOSTNAME=web".into()]
    );
    let env = build(json!({"name": "c"}), &["A=1", "PATH=/img"], &s).unwrap();
    assert_eq!(env, ["PATH=/img", "HOSTNAME=web", "A=1"]);
    let c = json!({"name": "c", "env": [{"name": "PATH", "value": "/pod"}]});
    assert_eq!(build(c, &["PATH=/img"], &s).unwrap()[0], "PATH=/pod");
}

#[test]
fn hostname_is_spec_hostname_or_the_cut_pod_name() {
    let mut p = pod(json!([]));
    p["spec"]["hostname"] = json!("custom");
    assert_eq!(pod_hostname(&p), "custom");
    let long = format!("{}-{}", "a".repeat(62), "b".repeat(10));
    let p = json!({"metadata": {"name": long}});
    assert_eq!(pod_hostname(&p), "a".repeat(62));
}

#[test]
fn container_env_overrides_image_env_in_place() {
    let c =
        json!({"name": "c", "env": [{"name": "B", "value": "pod"}, {"name": "C", "value": "3"}]});
    let env = own(build(c, &["A=1", "B=image"], &EnvSources::default()).unwrap());
    assert_eq!(env, ["A=1", "B=pod", "C=3"]);
}

#[test]
fn later_env_wins_and_keeps_the_first_position() {
    let c = json!({"name": "c", "env": [
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}
    ]});
    assert_eq!(
        own(build(c, &[], &EnvSources::default()).unwrap()),
        ["A=3", "B=2"]
    );
}

#[test]
fn values_expand_against_earlier_container_variables_only() {
    let c = json!({"name": "c", "env": [
        {"name": "BEFORE", "value": "$(LATER)"},
        {"name": "LATER", "value": "x"},
        {"name": "REF", "value": "$(LATER)-$(FROM_CM)-$(IMG)-$$(LATER)"},
        {"name": "EMPTY", "value": ""}
    ], "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "FROM_"}]});
    let data = cm(json!({"CM": "cm"}));
    let s = EnvSources {
        config_maps: [("cfg".to_string(), &data)].into(),
        ..EnvSources::default()
    };
    let env = own(build(c, &["IMG=image"], &s).unwrap());
    assert_eq!(
        env,
        [
            "IMG=image",
            "FROM_CM=cm",
            "BEFORE=$(LATER)",
            "LATER=x",
            "REF=x-cm-$(IMG)-$(LATER)",
            "EMPTY="
        ]
    );
}

#[test]
fn env_from_prefix_skips_invalid_names_and_env_overrides_it() {
    let data = cm(json!({"mode": "fast", "1st": "bad", "bad key": "x", "level": "3"}));
    let s = EnvSources {
        config_maps: [("cfg".to_string(), &data)].into(),
        ..EnvSources::default()
    };
    let c = json!({"name": "c", "envFrom": [{"configMapRef": {"name": "cfg"}}]});
    assert_eq!(own(build(c, &[], &s).unwrap()), ["level=3", "mode=fast"]);
    // A prefix can make a key valid ("1st" alone starts with a digit).
    let c = json!({"name": "c",
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "APP_"}],
        "env": [{"name": "APP_mode", "value": "slow"}]});
    assert_eq!(
        own(build(c, &[], &s).unwrap()),
        ["APP_1st=bad", "APP_level=3", "APP_mode=slow"]
    );
}

#[test]
fn secrets_are_decoded_from_data() {
    let sec = secret();
    let s = EnvSources {
        secrets: [("creds".to_string(), &sec)].into(),
        ..EnvSources::default()
    };
    let c = json!({"name": "c", "env": [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pass"}}}
    ]});
    assert_eq!(own(build(c, &[], &s).unwrap()), ["PASSWORD=s3cr=t"]);
    let c = json!({"name": "c", "envFrom": [{"secretRef": {"name": "creds"}, "prefix": "DB_"}]});
    assert_eq!(
        own(build(c, &[], &s).unwrap()),
        ["DB_pass=s3cr=t", "DB_user=admin"]
    );
}

#[test]
fn config_map_key_ref() {
    let data = cm(json!({"mode": "fast"}));
    let s = EnvSources {
        config_maps: [("cfg".to_string(), &data)].into(),
        ..EnvSources::default()
    };
    let c = json!({"name": "c", "env": [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
        {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope", "optional": true}}},
        {"name": "GONE", "valueFrom": {"configMapKeyRef": {"name": "other", "key": "k", "optional": true}}}
    ]});
    assert_eq!(own(build(c, &[], &s).unwrap()), ["MODE=fast"]);
}

#[test]
fn missing_required_references_fail_with_the_kubelets_messages() {
    let data = cm(json!({"mode": "fast"}));
    let sec = secret();
    let s = EnvSources {
        config_maps: [("cfg".to_string(), &data)].into(),
        secrets: [("creds".to_string(), &sec)].into(),
        ..EnvSources::default()
    };
    let err = |env: Value| build(json!({"name": "c", "env": env}), &[], &s).unwrap_err();
    assert_eq!(
        err(json!([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}])),
        "configmap \"nope\" not found"
    );
    assert_eq!(
        err(json!([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}])),
        "couldn't find key k in ConfigMap shop/cfg"
    );
    assert_eq!(
        err(json!([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}])),
        "secret \"nope\" not found"
    );
    assert_eq!(
        err(json!([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}])),
        "couldn't find key k in Secret shop/creds"
    );
    let c = json!({"name": "c", "envFrom": [{"secretRef": {"name": "gone"}}]});
    assert_eq!(build(c, &[], &s).unwrap_err(), "secret \"gone\" not found");
    let c = json!({"name": "c", "envFrom": [{"configMapRef": {"name": "gone"}}]});
    assert_eq!(
        build(c, &[], &s).unwrap_err(),
        "configmap \"gone\" not found"
    );
    let c = json!({"name": "c", "envFrom": [
        {"configMapRef": {"name": "gone", "optional": true}},
        {"secretRef": {"name": "gone", "optional": true}}
    ]});
    assert_eq!(own(build(c, &[], &s).unwrap()), Vec::<String>::new());
}

#[test]
fn downward_api_values() {
    let s = EnvSources {
        pod_ip: "10.0.0.5".into(),
        host_ip: "192.168.0.2".into(),
        ..EnvSources::default()
    };
    let c = json!({"name": "c",
    "resources": {"limits": {"memory": "128Mi"}},
    "env": [
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "URL", "value": "http://$(IP):80/$(POD)"}
    ]});
    assert_eq!(
        own(build(c, &[], &s).unwrap()),
        [
            "POD=web",
            "NS=shop",
            "APP=web",
            "NODE=box",
            "IP=10.0.0.5",
            "HOST=192.168.0.2",
            "MEM=128",
            "CPU=2",
            "URL=http://10.0.0.5:80/web"
        ]
    );
}

#[test]
fn node_name_falls_back_to_the_sources() {
    let c = json!({"name": "c", "env": [
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    ]});
    let p = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [c.clone()]}});
    let s = EnvSources {
        node_name: "here".into(),
        ..EnvSources::default()
    };
    let env = container_env_with(&p, &c, &[], &s, &extras()).unwrap();
    assert!(env.contains(&"NODE=here".to_string()), "{env:?}");
}

#[test]
fn service_env_is_visible_to_expansion_and_added_unless_defined() {
    let mut x = extras();
    x.service_env = vec![
        ("DB_SERVICE_HOST".into(), "10.96.0.7".into()),
        ("MINE".into(), "svc".into()),
    ];
    let c = json!({"name": "c", "env": [
        {"name": "MINE", "value": "own"},
        {"name": "URL", "value": "$(DB_SERVICE_HOST):5432"}
    ]});
    let p = pod(json!([c.clone()]));
    let env = own(container_env_with(&p, &c, &[], &EnvSources::default(), &x).unwrap());
    assert_eq!(
        env,
        [
            "MINE=own",
            "URL=10.96.0.7:5432",
            "DB_SERVICE_HOST=10.96.0.7"
        ]
    );
}

#[test]
fn base64_and_env_names() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
    assert_eq!(base64_decode("").unwrap(), b"");
    assert!(base64_decode("a*b").is_none());
    assert!(is_env_var_name("my.env-name"));
    assert!(is_env_var_name("_x"));
    assert!(!is_env_var_name("1x"));
    assert!(!is_env_var_name(""));
    assert!(!is_env_var_name("a=b"));
}

#[test]
fn container_env_uses_the_host_for_unset_limits() {
    let c = json!({"name": "c", "env": [
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}
    ]});
    let p = pod(json!([c.clone()]));
    let env = container_env(&p, &c, &[], &EnvSources::default()).unwrap();
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert!(env.contains(&format!("CPU={cpus}")), "{env:?}");
}
