//! Defaulting tests, written from what the API server returns for the same input.

use super::apply_defaults;
use crate::api::kinds::lookup;
use serde_json::{Value, json};

fn defaulted(kind: &str, mut obj: Value) -> Value {
    let k = lookup(kind).unwrap();
    apply_defaults(k, &mut obj);
    // Defaulting twice changes nothing.
    let mut again = obj.clone();
    apply_defaults(k, &mut again);
    assert_eq!(again, obj, "defaulting {kind} is not idempotent");
    obj
}

fn pod_spec() -> Value {
    json!({"containers": [{"name": "web", "image": "nginx"}]})
}

#[test]
fn pod_gets_spec_and_container_defaults() {
    let p = defaulted(
        "Pod",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, "spec": pod_spec()}),
    );
    let s = &p["spec"];
    assert_eq!(s["restartPolicy"], "Always");
    assert_eq!(s["terminationGracePeriodSeconds"], 30);
    assert_eq!(s["dnsPolicy"], "ClusterFirst");
    assert_eq!(s["schedulerName"], "default-scheduler");
    assert_eq!(s["securityContext"], json!({}));
    assert_eq!(s["enableServiceLinks"], true);
    let c = &s["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
}

#[test]
fn pull_policy_follows_the_tag() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"containers": [
            {"name": "a", "image": "nginx:1.25"},
            {"name": "b", "image": "nginx:latest"},
            {"name": "c", "image": "nginx@sha256:0123"},
            {"name": "d", "image": "nginx", "imagePullPolicy": "Never"},
        ], "initContainers": [{"name": "i", "image": "busybox"}]}}),
    );
    let c = &p["spec"]["containers"];
    assert_eq!(c[0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c[1]["imagePullPolicy"], "Always");
    assert_eq!(c[2]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c[3]["imagePullPolicy"], "Never");
    assert_eq!(p["spec"]["initContainers"][0]["imagePullPolicy"], "Always");
}

#[test]
fn user_values_are_kept() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "enableServiceLinks": false, "dnsPolicy": "Default", "securityContext": {"runAsUser": 1},
            "containers": [{"name": "a", "image": "x", "extra": 1}]}}),
    );
    let s = &p["spec"];
    assert_eq!(s["restartPolicy"], "Never");
    assert_eq!(s["terminationGracePeriodSeconds"], 0);
    assert_eq!(s["enableServiceLinks"], false);
    assert_eq!(s["dnsPolicy"], "Default");
    assert_eq!(s["securityContext"], json!({"runAsUser": 1}));
    assert_eq!(s["containers"][0]["extra"], 1);
}

#[test]
fn empty_strings_and_nulls_count_as_unset() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"restartPolicy": "", "schedulerName": null, "containers": []}}),
    );
    assert_eq!(p["spec"]["restartPolicy"], "Always");
    assert_eq!(p["spec"]["schedulerName"], "default-scheduler");
}

#[test]
fn ports_probes_env_and_volumes() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"containers": [{"name": "a", "image": "x:1",
            "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
            "livenessProbe": {"httpGet": {"port": 80}, "periodSeconds": 5, "timeoutSeconds": 0},
            "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}],
            "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}},
                        {"name": "s", "secret": {"secretName": "s", "defaultMode": 256}}]}}),
    );
    let c = &p["spec"]["containers"][0];
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(c["ports"][1]["protocol"], "UDP");
    let probe = &c["livenessProbe"];
    assert_eq!(probe["periodSeconds"], 5);
    assert_eq!(probe["timeoutSeconds"], 1);
    assert_eq!(probe["successThreshold"], 1);
    assert_eq!(probe["failureThreshold"], 3);
    assert_eq!(probe["httpGet"]["path"], "/");
    assert_eq!(probe["httpGet"]["scheme"], "HTTP");
    assert!(c.get("readinessProbe").is_none(), "no probe is invented");
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    let v = &p["spec"]["volumes"];
    assert_eq!(v[0]["emptyDir"], json!({}));
    assert_eq!(v[1]["configMap"]["defaultMode"], 420);
    assert_eq!(v[2]["secret"]["defaultMode"], 256);
}

#[test]
fn pod_requests_default_to_limits_and_quantities_are_canonical() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"containers": [{"name": "a", "image": "x",
            "resources": {"limits": {"cpu": 0.5, "memory": "1Gi"}, "requests": {"memory": "0.5Gi"}}}]}}),
    );
    let r = &p["spec"]["containers"][0]["resources"];
    assert_eq!(r["limits"]["cpu"], "500m");
    assert_eq!(r["requests"]["cpu"], "500m");
    assert_eq!(r["requests"]["memory"], "512Mi");
    assert_eq!(r["limits"]["memory"], "1Gi");
}

#[test]
fn host_network_pods_get_host_ports() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 8080}]}]}}),
    );
    assert_eq!(p["spec"]["containers"][0]["ports"][0]["hostPort"], 8080);
}

#[test]
fn templates_get_pod_spec_defaults_but_not_pod_only_ones() {
    let d = defaulted(
        "Deployment",
        json!({"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "a", "image": "x", "resources": {"limits": {"cpu": "1"}}}]}}}}),
    );
    let s = &d["spec"];
    assert_eq!(s["replicas"], 1);
    assert_eq!(
        s["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert_eq!(s["progressDeadlineSeconds"], 600);
    let t = &s["template"]["spec"];
    assert_eq!(t["restartPolicy"], "Always");
    assert_eq!(t["terminationGracePeriodSeconds"], 30);
    assert!(t.get("enableServiceLinks").is_none());
    assert!(t["containers"][0]["resources"].get("requests").is_none());
}

#[test]
fn recreate_deployments_get_no_rolling_update() {
    let d = defaulted(
        "Deployment",
        json!({"spec": {"strategy": {"type": "Recreate"}, "replicas": 0}}),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(d["spec"]["replicas"], 0);
}

#[test]
fn replica_sets_and_replication_controllers() {
    let rs = defaulted("ReplicaSet", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);
    let rc = defaulted(
        "ReplicationController",
        json!({"metadata": {"name": "r"}, "spec": {"template": {"metadata": {"labels": {"app": "r"}}, "spec": pod_spec()}}}),
    );
    assert_eq!(rc["spec"]["selector"], json!({"app": "r"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "r"}));
    assert_eq!(rc["spec"]["replicas"], 1);
    let own = defaulted(
        "ReplicationController",
        json!({"metadata": {"labels": {"team": "a"}}, "spec": {"selector": {"app": "s"}, "template": {"metadata": {"labels": {"app": "r"}}}}}),
    );
    assert_eq!(own["spec"]["selector"], json!({"app": "s"}));
    assert_eq!(own["metadata"]["labels"], json!({"team": "a"}));
}

#[test]
fn stateful_sets() {
    let s = defaulted(
        "StatefulSet",
        json!({"spec": {"template": {"spec": pod_spec()},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}}),
    );
    let spec = &s["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(
        spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    let on_delete = defaulted(
        "StatefulSet",
        json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
    );
    assert_eq!(
        on_delete["spec"]["updateStrategy"],
        json!({"type": "OnDelete"})
    );
}

#[test]
fn daemon_sets() {
    let d = defaulted(
        "DaemonSet",
        json!({"spec": {"template": {"spec": pod_spec()}}}),
    );
    assert_eq!(
        d["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert!(d["spec"].get("replicas").is_none());
}

#[test]
fn jobs() {
    let j = defaulted(
        "Job",
        json!({"spec": {"template": {"metadata": {"labels": {"app": "j"}}, "spec": pod_spec()}}}),
    );
    let s = &j["spec"];
    assert_eq!(s["completions"], 1);
    assert_eq!(s["parallelism"], 1);
    assert_eq!(s["backoffLimit"], 6);
    assert_eq!(s["completionMode"], "NonIndexed");
    assert_eq!(s["suspend"], false);
    assert_eq!(s["podReplacementPolicy"], "TerminatingOrFailed");
    assert!(s.get("manualSelector").is_none());
    assert!(s["template"]["spec"].get("restartPolicy").is_none());
    assert_eq!(s["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    assert_eq!(j["metadata"]["labels"], json!({"app": "j"}));

    // Only parallelism given: completions stay unset (a work queue job).
    let wq = defaulted("Job", json!({"spec": {"parallelism": 3}}));
    assert!(wq["spec"].get("completions").is_none());
    assert_eq!(wq["spec"]["parallelism"], 3);
    // Only completions given: parallelism defaults to 1.
    let c = defaulted("Job", json!({"spec": {"completions": 5}}));
    assert_eq!(c["spec"]["parallelism"], 1);
    let per_index = defaulted(
        "Job",
        json!({"spec": {"backoffLimitPerIndex": 1, "podFailurePolicy": {"rules": [{"onPodConditions": [{"type": "DisruptionTarget"}]}]}}}),
    );
    assert_eq!(per_index["spec"]["backoffLimit"], i32::MAX);
    assert_eq!(per_index["spec"]["podReplacementPolicy"], "Failed");
    assert_eq!(
        per_index["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
        "True"
    );
}

#[test]
fn cron_jobs() {
    let c = defaulted(
        "CronJob",
        json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": pod_spec()}}}}}),
    );
    let s = &c["spec"];
    assert_eq!(s["concurrencyPolicy"], "Allow");
    assert_eq!(s["suspend"], false);
    assert_eq!(s["successfulJobsHistoryLimit"], 3);
    assert_eq!(s["failedJobsHistoryLimit"], 1);
    let job = &s["jobTemplate"]["spec"];
    assert!(job.get("backoffLimit").is_none());
    assert!(job["template"]["spec"].get("restartPolicy").is_none());
    assert_eq!(
        job["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
}

#[test]
fn services() {
    let s = defaulted(
        "Service",
        json!({"spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}}),
    );
    let spec = &s["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert!(spec.get("externalTrafficPolicy").is_none());
    assert!(
        spec.get("clusterIP").is_none(),
        "allocation is not defaulting"
    );
    assert_eq!(spec["ports"][0]["protocol"], "TCP");
    assert_eq!(spec["ports"][0]["targetPort"], 80);
    assert_eq!(spec["ports"][1]["targetPort"], "dns");

    let np = defaulted(
        "Service",
        json!({"spec": {"type": "NodePort", "sessionAffinity": "ClientIP", "ports": [{"port": 80, "targetPort": 0}]}}),
    );
    assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(np["spec"]["ports"][0]["targetPort"], 80);
    assert_eq!(
        np["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        10800
    );
    let lb = defaulted("Service", json!({"spec": {"type": "LoadBalancer"}}));
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    let ext = defaulted(
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert!(ext["spec"].get("internalTrafficPolicy").is_none());
}

#[test]
fn secrets_fold_string_data_into_data() {
    let s = defaulted(
        "Secret",
        json!({"data": {"a": "eA=="}, "stringData": {"a": "hi", "b": "hello!"}}),
    );
    assert_eq!(s["type"], "Opaque");
    assert!(s.get("stringData").is_none());
    assert_eq!(s["data"], json!({"a": "aGk=", "b": "aGVsbG8h"}));
    let t = defaulted("Secret", json!({"type": "kubernetes.io/tls"}));
    assert_eq!(t["type"], "kubernetes.io/tls");
}

#[test]
fn namespaces() {
    let n = defaulted("Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_eq!(n["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(n["status"]["phase"], "Active");
    assert_eq!(
        n["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );
    let t = defaulted(
        "Namespace",
        json!({"metadata": {"name": "x"}, "status": {"phase": "Terminating"}}),
    );
    assert_eq!(t["status"]["phase"], "Terminating");
}

#[test]
fn volumes_and_claims() {
    let pvc = defaulted(
        "PersistentVolumeClaim",
        json!({"spec": {"resources": {"requests": {"storage": "1.5Gi"}}}}),
    );
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "1536Mi");
    assert_eq!(pvc["status"]["phase"], "Pending");
    let pv = defaulted(
        "PersistentVolume",
        json!({"spec": {"capacity": {"storage": "1Gi"}, "hostPath": {"path": "/x"}}}),
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
}

#[test]
fn wrong_types_and_other_kinds_do_not_panic() {
    for kind in [
        "Pod",
        "Deployment",
        "Job",
        "CronJob",
        "Service",
        "StatefulSet",
        "DaemonSet",
        "Secret",
        "Namespace",
        "ConfigMap",
        "Node",
    ] {
        for obj in [
            json!(null),
            json!([]),
            json!({"spec": "x"}),
            json!({"spec": {"containers": "x", "template": 3, "ports": [1, "a"], "strategy": []}}),
            json!({"spec": {"containers": [1, {"ports": "x", "livenessProbe": 3}], "volumes": [null]}}),
            json!({"metadata": 3, "stringData": {"a": 1}, "status": "x"}),
        ] {
            let mut o = obj.clone();
            apply_defaults(lookup(kind).unwrap(), &mut o);
        }
    }
    let cm = defaulted("ConfigMap", json!({"data": {"a": "b"}}));
    assert_eq!(cm, json!({"data": {"a": "b"}}));
}
