//! The endpoints controller against a real store, one reconcile at a time (no node agent:
//! the tests write pod status, podIP included, themselves).

use super::*;
use crate::api::kinds::lookup;
use crate::api::request::Patch;
use crate::controllers::podcontrol::tests::cluster;
use serde_json::json;

fn key(name: &str) -> ObjectKey {
    ObjectKey::new(lookup("svc").unwrap(), Some("default"), name)
}

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default", "labels": {"team": "a"}},
           "spec": spec})
}

/// A pod labelled `app=<app>` on node `n1` with a named container port `http` = 8080.
async fn pod(c: &dyn Cluster, name: &str, app: &str, ip: &str, ready: bool) -> Value {
    let p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox:1",
                 "ports": [{"name": "http", "containerPort": 8080}]}]}});
    let mut p = c.create(p, &WriteOptions::default()).await.unwrap();
    p["status"] = json!({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]});
    c.update_status(p).await.unwrap()
}

async fn endpoints(c: &dyn Cluster, name: &str) -> Option<Value> {
    c.get(lookup("ep").unwrap(), Some("default"), name)
        .await
        .ok()
}

fn ips(ep: &Value, field: &str) -> Vec<String> {
    ep.pointer("/subsets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get(field).and_then(Value::as_array))
        .flatten()
        .map(|a| a["ip"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn ready_and_not_ready_pods_with_named_and_numbered_ports() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = EndpointsController::default();
    c.create(
        service(
            "web",
            json!({"selector": {"app": "web"}, "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "metrics", "port": 9090}]}),
        ),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    pod(c, "web-1", "web", "10.88.0.6", true).await;
    pod(c, "web-2", "web", "10.88.0.5", true).await;
    pod(c, "web-3", "web", "10.88.0.7", false).await;
    pod(c, "other", "db", "10.88.0.9", true).await;
    // No IP yet: skipped.
    let p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-4", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}});
    c.create(p, &WriteOptions::default()).await.unwrap();
    assert_eq!(ctl.reconcile(c, &key("web")).await.unwrap(), Action::Done);
    let ep = endpoints(c, "web").await.expect("endpoints created");
    assert_eq!(ips(&ep, "addresses"), ["10.88.0.5", "10.88.0.6"]);
    assert_eq!(ips(&ep, "notReadyAddresses"), ["10.88.0.7"]);
    assert_eq!(ep["metadata"]["labels"], json!({"team": "a"}));
    let subset = &ep["subsets"][0];
    assert_eq!(
        subset["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"},
               {"name": "metrics", "port": 9090, "protocol": "TCP"}])
    );
    let a = &subset["addresses"][0];
    assert_eq!(a["nodeName"], "n1");
    assert_eq!(a["targetRef"]["kind"], "Pod");
    assert_eq!(a["targetRef"]["name"], "web-2");
    // A second pass with nothing changed writes nothing.
    let rv = ep.resource_version().to_string();
    ctl.reconcile(c, &key("web")).await.unwrap();
    assert_eq!(endpoints(c, "web").await.unwrap().resource_version(), rv);
}

#[tokio::test]
async fn named_port_missing_in_a_pod_leaves_that_pod_out() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = EndpointsController::default();
    c.create(
        service(
            "web",
            json!({"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "grpc"}]}),
        ),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    pod(c, "web-1", "web", "10.88.0.6", true).await;
    ctl.reconcile(c, &key("web")).await.unwrap();
    let ep = endpoints(c, "web").await.unwrap();
    assert!(ep.get("subsets").is_none(), "{ep}");
}

#[tokio::test]
async fn terminating_and_finished_pods_are_excluded() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = EndpointsController::default();
    c.create(
        service(
            "web",
            json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}),
        ),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    pod(c, "a", "web", "10.88.0.2", true).await;
    pod(c, "b", "web", "10.88.0.3", true).await;
    let mut done = pod(c, "c", "web", "10.88.0.4", true).await;
    done["status"]["phase"] = json!("Succeeded");
    c.update_status(done).await.unwrap();
    ctl.reconcile(c, &key("web")).await.unwrap();
    let ep = endpoints(c, "web").await.unwrap();
    assert_eq!(ips(&ep, "addresses"), ["10.88.0.2", "10.88.0.3"]);
    assert_eq!(
        ep["subsets"][0]["ports"],
        json!([{"port": 80, "protocol": "TCP"}])
    );
    // Bound to a node, the pod stays while terminating; it leaves the endpoints at once.
    c.delete(
        lookup("po").unwrap(),
        Some("default"),
        "a",
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        c.get(lookup("po").unwrap(), Some("default"), "a")
            .await
            .unwrap()
            .deletion_timestamp()
            .is_some()
    );
    ctl.reconcile(c, &key("web")).await.unwrap();
    let ep = endpoints(c, "web").await.unwrap();
    assert_eq!(ips(&ep, "addresses"), ["10.88.0.3"]);
    // publishNotReadyAddresses lists not-ready and terminating pods as ready.
    c.patch(
        lookup("svc").unwrap(),
        Some("default"),
        "web",
        Patch::Merge(json!({"spec": {"publishNotReadyAddresses": true}})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    pod(c, "d", "web", "10.88.0.5", false).await;
    ctl.reconcile(c, &key("web")).await.unwrap();
    let ep = endpoints(c, "web").await.unwrap();
    assert_eq!(
        ips(&ep, "addresses"),
        ["10.88.0.2", "10.88.0.3", "10.88.0.5"]
    );
    assert!(ips(&ep, "notReadyAddresses").is_empty());
}

#[tokio::test]
async fn services_without_selector_keep_user_endpoints_and_deleted_services_lose_theirs() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = EndpointsController::default();
    c.create(
        service("ext", json!({"ports": [{"port": 5432}]})),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let user = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "ext", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 5432}]}]});
    c.create(user, &WriteOptions::default()).await.unwrap();
    ctl.reconcile(c, &key("ext")).await.unwrap();
    let ep = endpoints(c, "ext").await.unwrap();
    assert_eq!(ips(&ep, "addresses"), ["192.0.2.1"]);
    c.create(
        service(
            "web",
            json!({"clusterIP": "None", "selector": {"app": "web"}}),
        ),
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    pod(c, "web-0", "web", "10.88.0.8", true).await;
    ctl.reconcile(c, &key("web")).await.unwrap();
    let ep = endpoints(c, "web").await.unwrap();
    // Headless without ports: addresses only, and the headless label.
    assert_eq!(ips(&ep, "addresses"), ["10.88.0.8"]);
    assert!(ep["subsets"][0].get("ports").is_none());
    assert_eq!(ep["metadata"]["labels"][HEADLESS_LABEL], "");
    c.delete(
        lookup("svc").unwrap(),
        Some("default"),
        "web",
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("web")).await.unwrap();
    assert!(endpoints(c, "web").await.is_none());
    // Endpoints a user wrote without any Service are not the controller's to remove.
    let lone = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "lone", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "192.0.2.2"}], "ports": [{"port": 1}]}]});
    c.create(lone, &WriteOptions::default()).await.unwrap();
    ctl.reconcile(c, &key("lone")).await.unwrap();
    assert!(endpoints(c, "lone").await.is_some());
}

#[test]
fn pod_events_reach_the_services_they_match_and_left() {
    let ctl = EndpointsController::default();
    let pods = lookup("po").unwrap();
    let svcs = lookup("svc").unwrap();
    let ev = |t: EventType, obj: Value| SharedWatchEvent {
        event_type: t,
        object: std::sync::Arc::new(obj),
    };
    ctl.keys_for(
        svcs,
        &ev(
            EventType::Added,
            service("web", json!({"selector": {"app": "web"}})),
        ),
    );
    let p = |app: &str| json!({"metadata": {"name": "p", "namespace": "default", "labels": {"app": app}}});
    let names = |keys: Vec<ObjectKey>| keys.into_iter().map(|k| k.name).collect::<Vec<_>>();
    assert_eq!(
        names(ctl.keys_for(pods, &ev(EventType::Added, p("web")))),
        ["web"]
    );
    // Relabelled away: the service it left still hears about it, once.
    assert_eq!(
        names(ctl.keys_for(pods, &ev(EventType::Modified, p("db")))),
        ["web"]
    );
    assert!(names(ctl.keys_for(pods, &ev(EventType::Modified, p("db")))).is_empty());
}

async fn slices_of(c: &dyn Cluster, svc: &str) -> Vec<Value> {
    c.list(
        lookup("endpointslices").unwrap(),
        Some("default"),
        &ListOptions::default(),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|s| s["metadata"]["labels"][slices::SERVICE_NAME_LABEL] == svc)
    .collect()
}

#[tokio::test]
async fn endpoint_slices_follow_the_pods_with_conditions() {
    let (_d, c) = cluster();
    let c = c.as_ref();
    let ctl = EndpointsController::default();
    let svc = c
        .create(
            service(
                "web",
                json!({"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}),
            ),
            &WriteOptions::default(),
        )
        .await
        .unwrap();
    // No pods yet: one empty placeholder slice.
    ctl.reconcile(c, &key("web")).await.unwrap();
    let s = slices_of(c, "web").await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["endpoints"], json!([]));
    assert_eq!(s[0]["addressType"], "IPv4");
    assert_eq!(s[0]["metadata"]["ownerReferences"][0]["uid"], svc.uid());
    assert_eq!(
        s[0]["metadata"]["labels"][slices::MANAGED_BY_LABEL],
        slices::CONTROLLER_NAME
    );
    let placeholder = s[0].name().to_string();
    assert!(placeholder.starts_with("web-"), "{placeholder}");

    pod(c, "a", "web", "10.88.0.2", true).await;
    pod(c, "b", "web", "10.88.0.3", false).await;
    ctl.reconcile(c, &key("web")).await.unwrap();
    // The placeholder had other ports: replaced by the real slice.
    let s = slices_of(c, "web").await;
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        s[0]["ports"],
        json!([{"name": "http", "port": 8080, "protocol": "TCP"}])
    );
    let eps = s[0]["endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0]["addresses"], json!(["10.88.0.2"]));
    assert_eq!(
        eps[0]["conditions"],
        json!({"ready": true, "serving": true, "terminating": false})
    );
    assert_eq!(eps[1]["conditions"]["ready"], false);
    assert_eq!(eps[0]["targetRef"]["name"], "a");
    let name = s[0].name().to_string();

    // A terminating pod stays in the slice, not ready, terminating; the slice is updated
    // in place.
    c.delete(
        lookup("po").unwrap(),
        Some("default"),
        "a",
        &DeleteOptions::default(),
    )
    .await
    .unwrap();
    ctl.reconcile(c, &key("web")).await.unwrap();
    let s = slices_of(c, "web").await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].name(), name);
    assert_eq!(
        s[0]["endpoints"][0]["conditions"],
        json!({"ready": false, "serving": true, "terminating": true})
    );
    // The Endpoints object has dropped it already.
    let ep = endpoints(c, "web").await.unwrap();
    assert!(ips(&ep, "addresses").is_empty());
    assert_eq!(ips(&ep, "notReadyAddresses"), ["10.88.0.3"]);
}
