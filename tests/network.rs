//! The pod network (issue 6, item 1), through the CLI against `peapod serve`, as root: every
//! pod gets its own address on a test-specific bridge and network (see `cli_support::Peapod`),
//! pods reach each other and the host reaches them, /etc/hosts carries the address, a
//! re-adopted pod keeps it, deleting pods removes their veths and frees their addresses, and
//! `serve --reset-network` removes the bridge. All traffic stays inside the test's bridge.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the pod network tests need root (CI runs them as root)"
    );
}

const PODS: &str = "\
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
---
apiVersion: v1
kind: Pod
metadata:
  name: server
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:test
    command: [httpd, -f, -p, '8080', -h, /www]
";

fn pod_json(p: &Peapod, name: &str) -> Option<Value> {
    let out = p.run(&["get", "pod", name, "-o", "json"]);
    if out.code != 0 {
        return None;
    }
    serde_json::from_str(&out.stdout).ok()
}

/// Waits (30 s at most) until pod `name` is Running with an IP; returns (ip, uid).
#[track_caller]
fn running_with_ip(p: &Peapod, name: &str) -> (Ipv4Addr, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(pod) = pod_json(p, name)
            && pod["status"]["phase"] == "Running"
            && let Some(ip) = pod["status"]["podIP"].as_str()
        {
            assert_eq!(
                pod["status"]["podIPs"],
                serde_json::json!([{"ip": ip}]),
                "podIPs lists podIP"
            );
            let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
            return (ip.parse().expect("podIP is an IPv4 address"), uid);
        }
        assert!(
            Instant::now() < deadline,
            "pod {name} did not run with an IP; last seen: {:#}",
            pod_json(p, name).unwrap_or(Value::Null)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn host_veth(uid: &str) -> String {
    let hex: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("ppv{hex}")
}

fn in_cidr(ip: Ipv4Addr, cidr: &str) -> bool {
    let (base, prefix) = cidr.split_once('/').unwrap();
    let base: Ipv4Addr = base.parse().unwrap();
    let mask = u32::MAX << (32 - prefix.parse::<u32>().unwrap());
    u32::from(ip) & mask == u32::from(base) & mask
}

/// GET / from pod `ip` port 8080, from this process (the host's network namespace).
fn http_get(ip: Ipv4Addr) -> String {
    let mut s = TcpStream::connect_timeout(&(ip, 8080).into(), Duration::from_secs(5))
        .expect("the host connects to the pod IP");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

#[test]
fn pods_get_addresses_reach_each_other_and_clean_up_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let server = p.serve();
    let cleanup = Cleanup(&p);
    let manifest = p.file("pods.yaml", PODS);
    p.run(&["apply", "-f", manifest.to_str().unwrap()]).ok();
    let (ip_client, uid_client) = running_with_ip(&p, "client");
    let (ip_server, uid_server) = running_with_ip(&p, "server");
    assert_ne!(ip_client, ip_server, "each pod has its own address");
    for ip in [ip_client, ip_server] {
        assert!(in_cidr(ip, &p.pod_cidr), "{ip} is in {}", p.pod_cidr);
        let last = ip.octets()[3];
        assert!(
            last != 0 && last != 1 && last != 255,
            "{ip}: not network, gateway, broadcast"
        );
        assert!(p.state().join("network/ips").join(ip.to_string()).exists());
    }
    assert!(
        link_exists(&p.bridge),
        "the test's bridge {} exists",
        p.bridge
    );
    let (veth_client, veth_server) = (host_veth(&uid_client), host_veth(&uid_server));
    assert!(link_exists(&veth_client) && link_exists(&veth_server));
    assert_eq!(
        std::fs::read_to_string(format!("/sys/class/net/{veth_server}/master/uevent"))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("INTERFACE=")),
        Some(format!("INTERFACE={}", p.bridge).as_str()),
        "the host end is on the bridge"
    );

    // Pod to pod, directly over the bridge (busybox httpd serves /www/index.html).
    let url = format!("http://{ip_server}:8080/");
    let out = p.run(&["exec", "client", "--", "wget", "-q", "-O-", &url]);
    assert_eq!(out.ok(), "hello from the image\n");
    // The pod's own view: eth0 with its address, the default route via the gateway.
    let addr = p.run(&["exec", "client", "--", "ip", "-4", "addr", "show", "eth0"]);
    assert!(
        addr.ok().contains(&ip_client.to_string()),
        "{}",
        addr.stdout
    );
    let route = p.run(&["exec", "client", "--", "ip", "route"]);
    assert!(route.ok().starts_with("default via "), "{}", route.stdout);
    // The host to a pod.
    assert!(http_get(ip_server).contains("hello from the image"));
    // /etc/hosts names the pod with its IP.
    let hosts = p.run(&["exec", "client", "--", "cat", "/etc/hosts"]);
    assert!(
        hosts.ok().contains(&format!("{ip_client}\tclient")),
        "{}",
        hosts.stdout
    );
    // The downward API agrees.
    let env = p.run(&["get", "pod", "client", "-o", "wide"]);
    assert!(env.ok().contains(&ip_client.to_string()), "{}", env.stdout);

    // While peapod serves, the reset is refused.
    let refused = p.run(&["serve", "--reset-network"]);
    assert!(refused.failed().contains("stop it"), "{refused:?}");

    // Deleting the pods removes their veths and frees their addresses.
    p.run(&["delete", "pod", "client", "server"]).ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (link_exists(&veth_client) || link_exists(&veth_server)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!link_exists(&veth_client) && !link_exists(&veth_server));
    for ip in [ip_client, ip_server] {
        assert!(!p.state().join("network/ips").join(ip.to_string()).exists());
    }
    drop(cleanup);
    assert!(server.terminate().success());

    let reset = p.run(&["serve", "--reset-network"]);
    assert!(
        reset.ok().contains(&format!("removed bridge {}", p.bridge)),
        "{reset:?}"
    );
    assert!(!link_exists(&p.bridge));
    assert!(!p.state().join("network").exists());
    let again = p.run(&["serve", "--reset-network"]);
    assert!(again.ok().contains("nothing to remove"), "{again:?}");
}

#[test]
fn a_readopted_pod_keeps_its_address_as_root() {
    require_root();
    let p = Peapod::new();
    import_busybox(&p);
    let server = p.serve();
    let manifest = p.file("pods.yaml", PODS);
    p.run(&["apply", "-f", manifest.to_str().unwrap()]).ok();
    let (ip, uid) = running_with_ip(&p, "server");
    // kill -9 the serving peapod: the pod keeps running; the new peapod re-adopts it.
    server.kill();
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pod = pod_json(&p, "server").unwrap_or(Value::Null);
        let ready = pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        if ready {
            assert_eq!(pod["metadata"]["uid"], uid.as_str(), "the same pod");
            assert_eq!(
                pod["status"]["podIP"],
                ip.to_string(),
                "it keeps its address"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pod was not re-adopted: {pod:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(link_exists(&host_veth(&uid)));
    assert!(
        http_get(ip).contains("hello from the image"),
        "still reachable"
    );
    // A new pod gets another address.
    let (other, _) = running_with_ip(&p, "client");
    assert_ne!(other, ip);
    cli_support::remove_all_pods(&p);
    assert!(!link_exists(&host_veth(&uid)));
}
