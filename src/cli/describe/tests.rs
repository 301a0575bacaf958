use super::*;
use crate::cli::args::Command;
use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
use serde_json::json;

fn describe(c: &FakeCluster, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["describe"];
    all.extend_from_slice(args);
    let Command::Describe(a) = parse(&all) else {
        panic!()
    };
    run_verb!(|io| run(c, &ctx(), a, io))
}

fn cluster() -> FakeCluster {
    let c = FakeCluster::default();
    c.insert(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "env": "prod"},
                     "annotations": {"note": "hi"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                 "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                 "env": [{"name": "MODE", "value": "fast"}],
                                 "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}}}],
                 "volumes": [{"name": "data", "emptyDir": {}}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}}));
    c.insert(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "uid-web"},
        "type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/web to node1",
        "source": {"component": "default-scheduler"},
        "firstTimestamp": "2024-05-01T11:59:30Z", "lastTimestamp": "2024-05-01T11:59:30Z", "count": 1}));
    c.insert(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
        "data": {"b": "2", "a": "1"}}));
    c.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}, "status": {"phase": "Active"}}));
    c
}

#[test]
fn pod_layout() {
    let (code, out, _) = describe(&cluster(), &["po", "web"]);
    assert_eq!(code, 0);
    let expected_start = "\
Name:             web
Namespace:        default
Priority:         0
Service Account:  default
Node:             <none>
Labels:           app=web
                  env=prod
Annotations:      note: hi
Status:           Pending
IP:               
IPs:              <none>
Containers:
  nginx:
    Container ID:   
    Image:          nginx:1.25
    Image ID:       
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Waiting
    Ready:          False
    Restart Count:  0
    Limits:
      cpu:  500m
    Requests:
      cpu:  100m
    Environment:
      MODE:  fast
    Mounts:  <none>
Conditions:
  Type           Status
  PodScheduled   True 
Volumes:
  data:
    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:      
    SizeLimit:   <unset>
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     <none>
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  30s   default-scheduler  Successfully assigned default/web to node1
";
    assert_eq!(out, expected_start, "{out}");
}

#[test]
fn configmap_namespace_and_prefix_match() {
    let c = cluster();
    let (_, out, _) = describe(&c, &["cm", "cfg"]);
    assert_eq!(
        out,
        "Name:         cfg\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\nData\n====\na:\n----\n1\n\nb:\n----\n2\n\n\nBinaryData\n====\n\nEvents:  <none>\n"
    );
    let (_, out, _) = describe(&c, &["ns/dev"]);
    assert!(out.starts_with("Name:         dev\nLabels:       <none>\nAnnotations:  <none>\nStatus:       Active\n\nNo resource quota.\n"), "{out}");
    let (code, out, _) = describe(&c, &["po", "we"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Name:             web\n"),
        "prefix match: {out}"
    );
    let (code, _, err) = describe(&c, &["po", "zz"]);
    assert_eq!(
        (code, err.as_str()),
        (1, "Error from server (NotFound): pods \"zz\" not found\n")
    );
}

#[test]
fn generic_fallback_prints_yaml_sections() {
    let c = FakeCluster::default();
    c.insert(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "default"},
        "spec": {"accessModes": ["ReadWriteOnce"]}, "status": {"phase": "Pending"}}));
    let (_, out, _) = describe(&c, &["pvc", "data"]);
    assert!(
        out.contains("Kind:               PersistentVolumeClaim\n"),
        "{out}"
    );
    assert!(
        out.contains("Spec:\n  accessModes:\n  - ReadWriteOnce\nStatus:\n  phase: Pending\n"),
        "{out}"
    );
}

#[test]
fn deployment_sections() {
    let c = FakeCluster::default();
    c.insert(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "d1"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        "status": {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "unavailableReplicas": 1,
                   "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]}}));
    c.insert(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "namespace": "default", "annotations": {"deployment.kubernetes.io/revision": "1"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 2}, "status": {"replicas": 2}}));
    let (_, out, _) = describe(&c, &["deploy", "web"]);
    assert!(out.contains("Replicas:               2 desired | 2 updated | 2 total | 1 available | 1 unavailable\n"), "{out}");
    assert!(
        out.contains("Pod Template:\n  Labels:  app=web\n  Containers:\n   nginx:\n    Image:"),
        "{out}"
    );
    assert!(out.contains("  Type           Status  Reason\n  ----           ------  ------\n  Available      False   MinimumReplicasUnavailable\nOldReplicaSets:  <none>\n"), "{out}");
    assert!(
        out.contains("NewReplicaSet:   web-abc (2/2 replicas created)\n"),
        "{out}"
    );
}
