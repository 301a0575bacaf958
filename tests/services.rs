//! The service proxy's rules in the real kernel, without the pod network: the test builds its
//! own bridge, three network namespaces with veths ("pods") running a tiny TCP/UDP server
//! that answers its name, programs a test-only nftables table through `net::proxy`, and
//! connects from the host (and from a "pod") to the ClusterIP. Everything it creates is
//! removed by a Drop guard. Needs root.

mod cli_support;

use cli_support::Peapod;
use peapod::net::proxy::{Endpoint, Protocol, Proxy, ServicePort};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BACKENDS: usize = 3;
const BACKEND_PORT: u16 = 8080;
/// A blocking sink server for the benchmark: reads to EOF, answers `k`, closes.
const SINK_PORT: u16 = 8081;

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `f` on a thread that has entered the network namespace `ns`.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        f()
    })
}

/// The test's network: bridge, namespaces, veths, servers and the nftables table.
struct Net {
    id: String,
    /// Second octet of the test's 10.x.0.0/16.
    x: u8,
    bridge: String,
    namespaces: Vec<String>,
    stop: Arc<AtomicBool>,
    servers: Vec<JoinHandle<()>>,
    proxy: Proxy,
}

impl Net {
    fn new() -> Net {
        // Unique per fixture: two tests of this file run at once in one process.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let id = format!("{}{n}", pid % 10000);
        let x = 200 + ((pid + n * 17) % 50) as u8;
        let mut net = Net {
            bridge: format!("ppsvc{id}"),
            namespaces: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            servers: Vec::new(),
            proxy: Proxy::new(format!("peapod-svc-test-{id}")),
            id,
            x,
        };
        net.build();
        net
    }

    fn host_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.x, 0, 1)
    }

    fn backend_ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.x, 0, 10 + i as u8)
    }

    /// The test's "ClusterIP", inside its own 10.x.128.0/24 "service CIDR".
    fn cluster_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.x, 128, 20)
    }

    fn build(&mut self) {
        let br = self.bridge.clone();
        ip(&["link", "add", &br, "type", "bridge"]);
        ip(&["addr", "add", &format!("{}/24", self.host_ip()), "dev", &br]);
        ip(&["link", "set", &br, "up"]);
        // Forwarding, route_localnet and nf_call_iptables, on this bridge only.
        peapod::net::proxy::prepare_bridge(&br).expect("prepare bridge");
        // The service CIDR routes to the bridge, so local clients pick the bridge address.
        ip(&[
            "route",
            "add",
            &format!("10.{}.128.0/24", self.x),
            "dev",
            &br,
        ]);
        for i in 0..BACKENDS {
            let ns = format!("ppsvc-{}-{i}", self.id);
            let veth = format!("ppv{}{i}", self.id);
            ip(&["netns", "add", &ns]);
            self.namespaces.push(ns.clone());
            ip(&[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]);
            ip(&["link", "set", &veth, "master", &br, "up"]);
            peapod::net::proxy::prepare_port(&veth).expect("hairpin on the pod's port");
            let addr = format!("{}/24", self.backend_ip(i));
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            let gw = self.host_ip().to_string();
            ip(&["-n", &ns, "route", "add", "default", "via", &gw]);
            self.start_servers(&ns, format!("backend-{i}"));
            self.start_sink(&ns);
        }
        // The servers bind inside their namespaces before the test connects.
        let deadline = Instant::now() + Duration::from_secs(5);
        for i in 0..BACKENDS {
            let addr = SocketAddr::from((self.backend_ip(i), BACKEND_PORT));
            while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
                assert!(Instant::now() < deadline, "backend {i} did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The benchmark's sink server on SINK_PORT inside `ns` (blocking accept, so no polling
    /// delay per connection; Drop wakes it with one last connection).
    fn start_sink(&mut self, ns: &str) {
        let stop = self.stop.clone();
        self.servers.push(in_netns(ns, move || {
            let l = TcpListener::bind(("0.0.0.0", SINK_PORT)).expect("bind sink");
            let mut buf = vec![0u8; 1 << 16];
            while !stop.load(Ordering::Relaxed) {
                let Ok((mut s, _)) = l.accept() else {
                    continue;
                };
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                use std::io::Write;
                let _ = s.write_all(b"k");
            }
        }));
    }

    /// A TCP server answering `name` and closing, and a UDP server answering `name` to
    /// each datagram, both on BACKEND_PORT inside `ns`, until `stop`.
    fn start_servers(&mut self, ns: &str, name: String) {
        let stop = self.stop.clone();
        let n = name.clone();
        self.servers.push(in_netns(ns, move || {
            let l = TcpListener::bind(("0.0.0.0", BACKEND_PORT)).expect("bind tcp");
            l.set_nonblocking(true).expect("nonblocking");
            while !stop.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        use std::io::Write;
                        let _ = s.write_all(format!("{n}\n").as_bytes());
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }));
        let stop = self.stop.clone();
        self.servers.push(in_netns(ns, move || {
            let u = UdpSocket::bind(("0.0.0.0", BACKEND_PORT)).expect("bind udp");
            u.set_read_timeout(Some(Duration::from_millis(20)))
                .expect("timeout");
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((_, from)) = u.recv_from(&mut buf) {
                    let _ = u.send_to(format!("{name}\n").as_bytes(), from);
                }
            }
        }));
    }

    fn service(&self, endpoints: &[usize]) -> ServicePort {
        ServicePort {
            namespace: "default".into(),
            name: "web".into(),
            port_name: String::new(),
            protocol: Protocol::Tcp,
            cluster_ip: self.cluster_ip(),
            port: 80,
            node_port: None,
            affinity_timeout_seconds: None,
            endpoints: endpoints
                .iter()
                .map(|i| Endpoint {
                    ip: self.backend_ip(*i),
                    port: BACKEND_PORT,
                })
                .collect(),
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = self.proxy.remove();
        self.stop.store(true, Ordering::Relaxed);
        for i in 0..self.namespaces.len() {
            let addr = SocketAddr::from((self.backend_ip(i), SINK_PORT));
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        }
        for s in self.servers.drain(..) {
            let _ = s.join();
        }
        for i in 0..self.namespaces.len() {
            let _ = Command::new("ip")
                .args(["link", "del", &format!("ppv{}{i}", self.id)])
                .output();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

/// One TCP connection: the backend's name, or the error.
fn ask(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out.trim().to_string())
}

/// How often each backend answered `n` connections.
fn spread(addr: SocketAddr, n: usize) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..n {
        let name = ask(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        *seen.entry(name).or_insert(0) += 1;
    }
    seen
}

fn udp_ask(addr: SocketAddr) -> String {
    let u = UdpSocket::bind("0.0.0.0:0").expect("udp bind");
    u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    u.send_to(b"hi", addr).expect("udp send");
    let mut buf = [0u8; 64];
    let (n, _) = u.recv_from(&mut buf).expect("udp answer");
    String::from_utf8_lossy(&buf[..n]).trim().to_string()
}

fn names(seen: &BTreeMap<String, usize>) -> Vec<&str> {
    seen.keys().map(String::as_str).collect()
}

#[test]
fn cluster_ip_balances_sticks_follows_endpoints_and_rejects_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test programs nftables and network namespaces: run it as root"
    );
    let net = Net::new();
    let vip = SocketAddr::V4(SocketAddrV4::new(net.cluster_ip(), 80));

    // Three endpoints: every backend answers.
    net.proxy.sync(&[net.service(&[0, 1, 2])]).expect("sync");
    let seen = spread(vip, 60);
    assert_eq!(
        names(&seen),
        ["backend-0", "backend-1", "backend-2"],
        "{seen:?}"
    );

    // From a "pod" on the bridge too, itself included (hairpin).
    let seen = in_netns(&net.namespaces[0], move || spread(vip, 60))
        .join()
        .expect("pod client");
    assert_eq!(
        names(&seen),
        ["backend-0", "backend-1", "backend-2"],
        "{seen:?}"
    );

    // UDP is balanced per flow.
    let mut udp = net.service(&[0, 1, 2]);
    udp.protocol = Protocol::Udp;
    udp.port = 53;
    net.proxy
        .sync(&[net.service(&[0, 1, 2]), udp])
        .expect("sync udp");
    let dns = SocketAddr::V4(SocketAddrV4::new(net.cluster_ip(), 53));
    let mut udp_seen = BTreeMap::new();
    for _ in 0..60 {
        *udp_seen.entry(udp_ask(dns)).or_insert(0) += 1;
    }
    assert_eq!(names(&udp_seen), ["backend-0", "backend-1", "backend-2"]);

    // ClientIP affinity: the host always reaches the same backend.
    let mut sticky = net.service(&[0, 1, 2]);
    sticky.affinity_timeout_seconds = Some(10800);
    net.proxy.sync(&[sticky.clone()]).expect("sync affinity");
    let seen = spread(vip, 30);
    assert_eq!(seen.len(), 1, "affinity broken: {seen:?}");
    // It survives a re-sync of the same rules.
    let first = names(&seen)[0].to_string();
    net.proxy.sync(&[sticky]).expect("resync");
    assert_eq!(names(&spread(vip, 10)), [first.as_str()]);

    // NodePort on the host's bridge address and on loopback.
    let mut np = net.service(&[0, 1, 2]);
    np.node_port = Some(31080);
    net.proxy.sync(&[np]).expect("sync nodeport");
    let via_host = SocketAddr::from((net.host_ip(), 31080));
    let seen = spread(via_host, 45);
    assert_eq!(
        names(&seen),
        ["backend-0", "backend-1", "backend-2"],
        "{seen:?}"
    );
    let via_lo = SocketAddr::from((Ipv4Addr::LOCALHOST, 31080));
    let seen = spread(via_lo, 45);
    assert_eq!(
        names(&seen),
        ["backend-0", "backend-1", "backend-2"],
        "{seen:?}"
    );

    // An endpoint removed gets no more traffic.
    net.proxy.sync(&[net.service(&[0, 2])]).expect("sync two");
    let seen = spread(vip, 40);
    assert_eq!(names(&seen), ["backend-0", "backend-2"], "{seen:?}");

    // No endpoints: refused at once, not a timeout; the node port too.
    let mut none = net.service(&[]);
    none.node_port = Some(31080);
    net.proxy.sync(&[none]).expect("sync none");
    // A refusal, not a timeout (a blackhole would time out): the error kind tells.
    for addr in [vip, via_lo] {
        let err = ask(addr).expect_err("no endpoints must refuse");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{addr}: {err}");
    }

    // Chains and affinity sets of the gone endpoints were deleted, not left behind.
    let listing = Command::new("nft")
        .args(["list", "table", "ip", net.proxy.table()])
        .output()
        .expect("nft");
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    assert!(!listing.contains("chain ep/"), "{listing}");
    assert!(!listing.contains("chain svc/"), "{listing}");
    assert!(!listing.contains("set aff/"), "{listing}");

    // Removing the table removes every rule: the ClusterIP is a plain unrouted address again.
    net.proxy.remove().expect("remove");
    let out = Command::new("nft")
        .args(["list", "table", "ip", net.proxy.table()])
        .output()
        .expect("nft");
    assert!(!out.status.success(), "table still there");
}

/// Removes a host route the test added.
struct Route(String, String);

impl Drop for Route {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["route", "del", &self.0, "dev", &self.1])
            .output();
    }
}

#[test]
fn serve_programs_services_from_the_store_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test programs nftables and network namespaces: run it as root"
    );
    let net = Net::new();
    let p = Peapod::new();
    let _server = p.serve_env(&[("PEAPOD_SERVICE_PROXY_TABLE", net.proxy.table())]);
    // A Service without selector, its Endpoints written by hand (the pods of the fixture have
    // no Pod objects): the store allocates the ClusterIP, the node's proxy programs it.
    let manifest = format!(
        "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
    targetPort: {BACKEND_PORT}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
subsets:
- addresses:
  - ip: {}
  - ip: {}
  - ip: {}
  ports:
  - port: {BACKEND_PORT}
",
        net.backend_ip(0),
        net.backend_ip(1),
        net.backend_ip(2)
    );
    p.run_stdin(&["apply", "-f", "-"], &manifest).ok();
    let out = p.run(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    let cluster_ip: Ipv4Addr = out.ok().trim().parse().expect("a ClusterIP");
    assert!(peapod::api::services::SERVICE_CIDR.contains(cluster_ip));
    // Keep the test's traffic on its bridge even if the rules were missing.
    let dst = format!("{cluster_ip}/32");
    ip(&["route", "add", &dst, "dev", &net.bridge]);
    let _route = Route(dst, net.bridge.clone());
    let vip = SocketAddr::from((cluster_ip, 80));
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(vip).is_err() {
        assert!(
            Instant::now() < deadline,
            "the proxy never programmed {vip}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = spread(vip, 60);
    assert_eq!(
        names(&seen),
        ["backend-0", "backend-1", "backend-2"],
        "{seen:?}"
    );
    let listing = Command::new("nft")
        .args(["list", "table", "ip", net.proxy.table()])
        .output()
        .expect("nft");
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    assert!(listing.contains("svc/default/web/tcp/80"), "{listing}");
    // Deleting the Service removes its rules.
    p.run(&["delete", "svc", "web"]).ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new("nft")
            .args(["list", "table", "ip", net.proxy.table()])
            .output()
            .expect("nft");
        if !String::from_utf8_lossy(&out.stdout).contains("svc/default/web") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rules of the deleted Service stayed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One sink exchange: connect, send `bytes`, half-close, wait for the answer.
fn sink(addr: SocketAddr, bytes: usize) {
    use std::io::Write;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect sink");
    let chunk = vec![7u8; 1 << 16];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        s.write_all(&chunk[..n]).expect("send");
        left -= n;
    }
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    let mut k = [0u8; 1];
    s.read_exact(&mut k).expect("answer");
}

/// Connections per second and MiB/s to `addr`.
fn measure(addr: SocketAddr) -> (f64, f64) {
    const CONNECTIONS: usize = 3000;
    const BYTES: usize = 512 << 20;
    let start = Instant::now();
    for _ in 0..CONNECTIONS {
        sink(addr, 0);
    }
    let rate = CONNECTIONS as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    sink(addr, BYTES);
    let mib_s = (BYTES >> 20) as f64 / start.elapsed().as_secs_f64();
    (rate, mib_s)
}

/// A minimal userspace proxy for comparison (what a userspace kube-proxy does per
/// connection): accept on loopback, connect to `backend`, copy both ways on two threads.
/// Returns its address; it serves until the process ends (its threads only block on
/// sockets on loopback and in the test's namespaces).
fn userspace_proxy(backend: SocketAddr) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind userspace proxy");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let Ok(server) = TcpStream::connect(backend) else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let (mut c, mut s) = (client, server);
                let _ = std::io::copy(&mut s, &mut c);
            });
        }
    });
    addr
}

/// The benchmark, a measurement rather than a check (timings assert nothing here):
/// connection rate and throughput from the host through a ClusterIP (one endpoint, so both
/// paths reach the same server) versus directly to the pod IP, and through a userspace relay
/// for the design choice. Run it on purpose, as root:
/// `cargo test --release --test services -- --ignored --nocapture cluster_ip_costs`.
#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn cluster_ip_costs_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test programs nftables and network namespaces: run it as root"
    );
    let net = Net::new();
    let mut svc = net.service(&[0]);
    svc.endpoints[0].port = SINK_PORT;
    net.proxy.sync(&[svc]).expect("sync");
    let direct = SocketAddr::from((net.backend_ip(0), SINK_PORT));
    let vip = SocketAddr::from((net.cluster_ip(), 80));
    // Warm up both paths (ARP, conntrack, page cache of the code).
    for _ in 0..100 {
        sink(direct, 0);
        sink(vip, 0);
    }
    let user = userspace_proxy(direct);
    for _ in 0..100 {
        sink(user, 0);
    }
    let (d_rate, d_tput) = measure(direct);
    let (v_rate, v_tput) = measure(vip);
    let (u_rate, u_tput) = measure(user);
    eprintln!(
        "direct:          {d_rate:8.0} connections/s {d_tput:8.0} MiB/s\nClusterIP (nft): {v_rate:8.0} connections/s {v_tput:8.0} MiB/s\nuserspace proxy: {u_rate:8.0} connections/s {u_tput:8.0} MiB/s"
    );
}

/// Removes the test's proxy table when the test ends.
struct Table(Proxy);

impl Drop for Table {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

fn endpoints_json(p: &Peapod, name: &str) -> serde_json::Value {
    let out = p.run(&["get", "endpoints", name, "-o", "json"]);
    serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// The whole chain with a real pod: a hostNetwork pod (the only kind with an IP before the
/// pod network) listens; the endpoints controller lists it once Ready; the node's proxy sends
/// the ClusterIP there; deleting the pod empties the Endpoints and the ClusterIP refuses.
#[test]
fn ready_pod_behind_a_cluster_ip_end_to_end_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs pods and programs nftables: run it as root"
    );
    let table = Table(Proxy::new(format!("peapod-svc-e2e-{}", std::process::id())));
    let p = Peapod::new();
    cli_support::import_busybox(&p);
    let _server = p.serve_env(&[("PEAPOD_SERVICE_PROXY_TABLE", table.0.table())]);
    let port = 20000 + std::process::id() % 10000;
    let manifest = format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: hostweb
  labels: {{app: hostweb}}
spec:
  terminationGracePeriodSeconds: 0
  hostNetwork: true
  containers:
  - name: main
    image: busybox:test
    command: [nc, -ll, -p, \"{port}\", -e, echo, hostweb]
    ports:
    - {{name: web, containerPort: {port}}}
---
apiVersion: v1
kind: Service
metadata:
  name: hostweb
spec:
  selector: {{app: hostweb}}
  ports:
  - port: 80
    targetPort: web
"
    );
    p.run_stdin(&["apply", "-f", "-"], &manifest).ok();
    let out = p.run(&["get", "svc", "hostweb", "-o", "jsonpath={.spec.clusterIP}"]);
    let cluster_ip: Ipv4Addr = out.ok().trim().parse().expect("a ClusterIP");
    // Without rules the ClusterIP goes nowhere (loopback) instead of the default route.
    let dst = format!("{cluster_ip}/32");
    ip(&["route", "add", &dst, "dev", "lo"]);
    let _route = Route(dst, "lo".into());

    let deadline = Instant::now() + Duration::from_secs(30);
    let address = loop {
        let ep = endpoints_json(&p, "hostweb");
        if let Some(ip) = ep
            .pointer("/subsets/0/addresses/0/ip")
            .and_then(|v| v.as_str())
        {
            assert_eq!(
                ep.pointer("/subsets/0/ports/0/port")
                    .and_then(|v| v.as_u64()),
                Some(u64::from(port)),
                "named target port resolved: {ep}"
            );
            break ip.to_string();
        }
        assert!(Instant::now() < deadline, "no ready endpoint: {ep}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let vip = SocketAddr::from((cluster_ip, 80));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ask(vip) {
            Ok(name) if name == "hostweb" => break,
            other => assert!(
                Instant::now() < deadline,
                "{vip} (endpoint {address}:{port}) answered {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let table_out = p.run(&["get", "svc", "hostweb"]);
    let line = table_out.ok().lines().nth(1).unwrap_or("").to_string();
    assert!(line.starts_with("hostweb"), "{line}");
    assert!(
        line.contains(&format!("ClusterIP   {cluster_ip}")),
        "{line}"
    );
    assert!(line.contains("80/TCP"), "{line}");
    let eps = p.run(&["get", "endpoints", "hostweb"]);
    assert!(
        eps.ok().contains(&format!("{address}:{port}")),
        "{}",
        eps.stdout
    );
    let describe = p.run(&["describe", "svc", "hostweb"]);
    // Compare with columns collapsed to one space (the layout aligns them).
    let text: Vec<String> = describe
        .ok()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for want in [
        format!("IP: {cluster_ip}"),
        "TargetPort: web/TCP".to_string(),
        format!("Endpoints: {address}:{port}"),
        "Session Affinity: None".to_string(),
    ] {
        assert!(text.contains(&want), "{want:?} in {text:#?}");
    }
    let slices = p.run(&["get", "endpointslices"]);
    assert!(
        slices.ok().contains(&format!("IPv4          {port}")),
        "{}",
        slices.stdout
    );

    // The pod goes: its endpoint goes, and the ClusterIP refuses at once.
    p.run(&["delete", "pod", "hostweb", "--grace-period=0", "--force"])
        .ok();
    // Once the proxy has the Service as endpoint-less, the ClusterIP refuses (from the
    // rules, not from a closed port behind them).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let set = Command::new("nft")
            .args(["list", "set", "ip", table.0.table(), "no-endpoint-services"])
            .output()
            .expect("nft");
        if String::from_utf8_lossy(&set.stdout).contains(&cluster_ip.to_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy never marked {vip} endpoint-less"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        endpoints_json(&p, "hostweb").get("subsets"),
        None,
        "no endpoints left"
    );
    let err = ask(vip).expect_err("no endpoints must refuse");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}
