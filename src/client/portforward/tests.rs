use super::*;
use serde_json::json;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn pod() -> Value {
    json!({"kind": "Pod", "metadata": {"name": "web-1"}, "spec": {"containers": [
        {"name": "a", "ports": [{"name": "metrics", "containerPort": 9090}]},
        {"name": "b", "ports": [{"name": "http", "containerPort": 8080}]}
    ]}})
}

fn svc(cluster_ip: &str) -> Value {
    json!({"kind": "Service", "metadata": {"name": "web"}, "spec": {
    "clusterIP": cluster_ip,
    "selector": {"app": "web"},
    "ports": [
        {"name": "web", "port": 80, "targetPort": "http"},
        {"name": "m", "port": 9000, "targetPort": 9090},
        {"name": "same", "port": 7000}
    ]}})
}

#[test]
fn pod_named_ports_become_numbers() {
    let got = convert_pod_named_ports(&strings(&["http", "1234:metrics", ":http", "80"]), &pod())
        .unwrap();
    assert_eq!(got, ["8080", "1234:9090", ":8080", "80"]);
    let e = convert_pod_named_ports(&strings(&["nope"]), &pod()).unwrap_err();
    assert_eq!(e, "Pod 'web-1' does not have a named port 'nope'");
}

#[test]
fn service_ports_map_to_target_ports() {
    let s = svc("10.96.0.5");
    let got = translate_service_ports(
        &strings(&["8080:80", "80", ":9000", "web", "7000", "5555:m"]),
        &s,
        &pod(),
    )
    .unwrap();
    assert_eq!(
        got,
        ["8080", "80:8080", ":9090", "80:8080", "7000", "5555:9090"]
    );
}

#[test]
fn service_port_errors_name_the_service() {
    let s = svc("10.96.0.5");
    let e = translate_service_ports(&strings(&["81"]), &s, &pod()).unwrap_err();
    assert_eq!(e, "Service web does not have a service port 81");
    let e = translate_service_ports(&strings(&["x"]), &s, &pod()).unwrap_err();
    assert_eq!(e, "Service 'web' does not have a named port 'x'");
    let no_named = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}});
    let e = translate_service_ports(&strings(&["80"]), &s, &no_named).unwrap_err();
    assert_eq!(e, "Pod 'p' does not have a named port 'http'");
}

#[test]
fn headless_service_forwards_the_port_as_given() {
    let got = translate_service_ports(&strings(&["8080:80"]), &svc("None"), &pod()).unwrap();
    assert_eq!(got, ["8080:80"]);
}

#[test]
fn the_running_ready_oldest_pod_is_chosen() {
    let p = |name: &str, phase: &str, ready: bool, created: &str| {
        json!({"metadata": {"name": name, "creationTimestamp": created},
               "spec": {"nodeName": "n"},
               "status": {"phase": phase, "conditions": [
                   {"type": "Ready", "status": if ready {"True"} else {"False"},
                    "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
    };
    let mut pods = [
        p("pending", "Pending", false, "2026-01-01T00:00:00Z"),
        p("unready", "Running", false, "2026-01-01T00:00:00Z"),
        p("new", "Running", true, "2026-01-03T00:00:00Z"),
        p("old", "Running", true, "2026-01-02T00:00:00Z"),
    ];
    pods.sort_by(most_attachable_first);
    let names: Vec<&str> = pods.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["old", "new", "unready", "pending"]);
}

#[test]
fn selectors_of_services_and_controllers() {
    assert_eq!(pod_selector(&svc("None")).as_deref(), Some("app=web"));
    let d = json!({"kind": "Deployment", "spec": {"selector": {"matchLabels": {"app": "x"}}}});
    assert_eq!(pod_selector(&d).as_deref(), Some("app=x"));
    let no = json!({"kind": "Service", "spec": {}});
    assert_eq!(pod_selector(&no), None);
}

#[test]
fn port_specs_are_checked_before_resolving() {
    for ok in ["80", "8080:80", ":80", "0:http", "http", "web-metrics"] {
        assert_eq!(check_port_spec(ok), Ok(()), "{ok}");
    }
    for bad in ["", "x:80", "8080:", "80:0", "8080:80:1", "HTTP", "99999"] {
        assert!(check_port_spec(bad).is_err(), "{bad}");
    }
}
