//! Issue 6 end to end, as root, against `peapod serve` with the test's own bridge, pod
//! network and service proxy table (see `cli_support::Peapod`): pods reach a Service by name
//! (cluster DNS with the pod's search path, then the ClusterIP load-balanced by the proxy over
//! the pod network) and every ready backend answers; scaled to 5, the new pods join; a
//! backend deleted under load fails no request; `nslookup` from a pod resolves the Service
//! and a StatefulSet pod behind a headless Service. All traffic stays on the test's bridge.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const MANIFEST: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: httpd
        image: busybox:test
        command: [sh, -c, 'mkdir -p /srv && hostname > /srv/index.html && exec httpd -f -p 8080 -h /srv']
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          tcpSocket: {port: http}
          periodSeconds: 1
        # As in Kubernetes, a pod being deleted leaves the Endpoints at once but may still
        # get a connection routed before the proxy's rules change: serve a moment longer.
        lifecycle:
          preStop:
            exec: {command: [sleep, '1']}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: http}
---
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  selector: {app: db}
  ports:
  - {port: 5432}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 1
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox:test
        command: [sh, -c, 'trap \"exit 0\" TERM; sleep 3600 & wait']
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:test
    command: [sh, -c, 'trap \"exit 0\" TERM; sleep 3600 & wait']
";

fn json(p: &Peapod, args: &[&str]) -> Value {
    let out = p.run(args);
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

/// Waits (60 s at most) for `done` to hold of `get <what> -o json`.
#[track_caller]
fn wait_for(p: &Peapod, what: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json"]);
    loop {
        let v = json(p, &args);
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what:?} not reached; last: {v:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ready_addresses(ep: &Value) -> usize {
    ep["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["addresses"].as_array().map_or(0, Vec::len))
        .sum()
}

#[test]
fn pods_reach_services_by_name_across_every_backend_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs pods on the pod network and programs nftables: run it as root"
    );
    let p = Peapod::new();
    import_busybox(&p);
    let server = p.serve();
    let cleanup = Cleanup(&p);
    let manifest = p.file("app.yaml", MANIFEST);
    p.run(&["apply", "-f", manifest.to_str().unwrap()]).ok();

    wait_for(&p, &["endpoints", "web"], |ep| ready_addresses(ep) == 3);
    wait_for(&p, &["pod", "client"], |pod| {
        pod["status"]["phase"] == "Running" && pod["status"]["podIP"].is_string()
    });
    let db0 = wait_for(&p, &["pod", "db-0"], |pod| {
        pod["status"]["phase"] == "Running" && pod["status"]["podIP"].is_string()
    });
    let svc = json(&p, &["get", "svc", "web", "-o", "json"]);
    let cluster_ip = svc["spec"]["clusterIP"].as_str().unwrap_or("").to_string();
    assert!(!cluster_ip.is_empty(), "web has a ClusterIP: {svc:#}");

    // By name, through the cluster DNS and the ClusterIP: every ready backend answers.
    let backends = requests(&p, 40);
    assert_eq!(
        backends.len(),
        3,
        "requests spread over the 3 pods: {backends:?}"
    );
    assert!(
        backends.iter().all(|b| b.starts_with("web-")),
        "{backends:?}"
    );

    // Scaling to 5: the new pods join the rotation once ready.
    p.run(&["scale", "deploy/web", "--replicas=5"]).ok();
    wait_for(&p, &["endpoints", "web"], |ep| ready_addresses(ep) == 5);
    let five = requests(&p, 60);
    assert_eq!(five.len(), 5, "requests spread over the 5 pods: {five:?}");

    // A backend deleted while requests run: not one request fails; its replacement joins.
    let load = p.spawn(&[
        "exec",
        "client",
        "--",
        "sh",
        "-c",
        "for i in $(seq 80); do timeout 5 wget -q -O- http://web/ || echo FAILED; sleep 0.05; done",
    ]);
    std::thread::sleep(Duration::from_millis(1000));
    let victim = five.iter().next().cloned().unwrap_or_default();
    p.run(&["delete", "pod", &victim, "--wait=false"]).ok();
    let out = load.wait_with_output().expect("the request loop ends");
    let answers = String::from_utf8_lossy(&out.stdout);
    assert_eq!(answers.lines().count(), 80, "{answers}");
    assert!(!answers.contains("FAILED"), "a request failed:\n{answers}");
    wait_for(&p, &["endpoints", "web"], |ep| {
        ready_addresses(ep) == 5 && !ep.to_string().contains(&victim)
    });

    // nslookup from a pod: the Service's full name, and a StatefulSet pod's name under its
    // headless Service.
    let look = p.run(&[
        "exec",
        "client",
        "--",
        "nslookup",
        "web.default.svc.cluster.local",
    ]);
    assert!(look.ok().contains(&cluster_ip), "{}", look.stdout);
    // A StatefulSet pod under its headless Service, by its full name and by the short
    // `db-0.db` through the pod's search path (busybox's nslookup does not search names with
    // a dot; its resolver, used by ping, does).
    let db_ip = db0["status"]["podIP"].as_str().unwrap_or("-");
    let look = until_output_has(
        &p,
        &["nslookup", "db-0.db.default.svc.cluster.local"],
        db_ip,
    );
    assert!(look.contains(db_ip), "{look}");
    let ping = until_output_has(&p, &["ping", "-c", "1", "-W", "2", "db-0.db"], db_ip);
    assert!(ping.contains(&format!("({db_ip})")), "{ping}");

    drop(cleanup);
    drop(server);
}

/// `n` requests to `http://web/` from the client, one after another; every one must
/// succeed. Returns the backends that answered (each serves its pod name).
#[track_caller]
fn requests(p: &Peapod, n: usize) -> BTreeSet<String> {
    let script =
        format!("for i in $(seq {n}); do timeout 5 wget -q -O- http://web/ || echo FAILED; done");
    let out = p.run(&["exec", "client", "--", "sh", "-c", &script]);
    let answers: Vec<&str> = out.ok().lines().collect();
    assert_eq!(answers.len(), n, "{}", out.stdout);
    assert!(!answers.contains(&"FAILED"), "{}", out.stdout);
    answers.into_iter().map(str::to_string).collect()
}

/// Runs `cmd` in the client until its output names `ip` (the headless Service's endpoints
/// carry the pod's hostname once it is ready), 30 s at most; returns the last output.
fn until_output_has(p: &Peapod, cmd: &[&str], ip: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut args = vec!["exec", "client", "--"];
    args.extend_from_slice(cmd);
    loop {
        let out = p.run(&args);
        if out.stdout.contains(ip) || Instant::now() > deadline {
            return format!("{}{}", out.stdout, out.stderr);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}
