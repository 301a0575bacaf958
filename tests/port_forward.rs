//! `peapod port-forward` against a running `peapod serve`, as root: a busybox httpd pod
//! reached through pod/web and svc/web (service port 80 -> targetPort `http`) by 200
//! concurrent HTTP requests each, deploy/api by 20; SIGTERM closes the listener; deleting the
//! pod ends a forward with kubectl's `lost connection to pod`. Traffic stays on loopback and
//! inside the pods' own network namespaces.

mod cli_support;

use cli_support::{Cleanup, Peapod, import_busybox};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WEB: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:test
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports:
    - {name: http, containerPort: 80}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:test
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: web, port: 80, targetPort: http}
"#;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Reads the forward's stdout lines on a thread.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn get(addr: SocketAddr) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /index.html HTTP/1.0\r\nHost: web\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut body = String::new();
    s.read_to_string(&mut body)
        .map_err(|e| format!("read: {e}"))?;
    if body.starts_with("HTTP/1.")
        && body.contains(" 200 ")
        && body.contains("hello from the image")
    {
        Ok(body)
    } else {
        Err(format!("unexpected answer: {body:?}"))
    }
}

/// Starts `port-forward target LOCAL:remote` on a free local port and waits for its
/// Forwarding lines.
fn start_forward(
    p: &Peapod,
    target: &str,
    remote: u16,
) -> (Child, mpsc::Receiver<String>, u16, Vec<String>) {
    let local = free_port();
    let spec = format!("{local}:{remote}");
    let mut child = p.spawn(&["port-forward", target, &spec]);
    let lines = lines_of(&mut child);
    let want_v4 = format!("Forwarding from 127.0.0.1:{local} -> {remote}");
    let want_v6 = format!("Forwarding from [::1]:{local} -> {remote}");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen.contains(&want_v4) && (!ipv6_loopback() || seen.contains(&want_v6))) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{target}: no Forwarding lines; saw {seen:?}; stderr {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    (child, lines, local, seen)
}

/// Forwards `target` on a free local port, serves `count` concurrent requests, stops on
/// SIGTERM.
fn forward_and_load(p: &Peapod, target: &str, remote: u16, count: usize) {
    let (mut child, lines, local, seen) = start_forward(p, target, remote);
    let addr: SocketAddr = format!("127.0.0.1:{local}").parse().unwrap();
    let started = Instant::now();
    let workers: Vec<_> = (0..count)
        .map(|_| std::thread::spawn(move || get(addr)))
        .collect();
    let results: Vec<Result<String, String>> =
        workers.into_iter().map(|w| w.join().unwrap()).collect();
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {count} requests failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    eprintln!(
        "{target}: {count} concurrent requests in {:?}",
        started.elapsed()
    );
    if ipv6_loopback() {
        get(format!("[::1]:{local}").parse().unwrap()).expect("through ::1");
    }
    // kubectl prints a line per connection.
    let deadline = Instant::now() + Duration::from_secs(10);
    let handling = format!("Handling connection for {local}");
    let mut handled = seen.iter().filter(|l| **l == handling).count();
    while handled < count && Instant::now() < deadline {
        if let Ok(l) = lines.recv_timeout(Duration::from_millis(200))
            && l == handling
        {
            handled += 1;
        }
    }
    assert!(
        handled >= count,
        "{target}: {handled} 'Handling connection' lines"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{target}: port-forward did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{target}: exit status {status}");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "{target}: port {local} still open after SIGTERM"
    );
}

#[test]
fn port_forward_pod_and_service_serves_200_concurrent_requests_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the port-forward test needs root (CI runs it as root)"
    );
    let p = Peapod::new();
    import_busybox(&p);
    let _server = p.serve();
    let _cleanup = Cleanup(&p);
    let f = p.file("web.yaml", WEB);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = p.run(&["get", "pods", "-o", "jsonpath={.items[*].status.phase}"]);
        if out.stdout.trim() == "Running Running" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pods are not Running: {}",
            out.stdout
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    forward_and_load(&p, "pod/web", 80, 200);
    forward_and_load(&p, "svc/web", 80, 200);
    forward_and_load(&p, "deploy/api", 8080, 20);

    // A service port it does not have is refused with kubectl's message.
    let out = p.run(&["port-forward", "svc/web", "8080:81"]);
    assert!(
        out.stderr.contains("does not have a service port 81"),
        "{}",
        out.stderr
    );

    // Deleting the pod ends a forward to it, as kubectl's does.
    let (mut child, _lines, _, _) = start_forward(&p, "pod/web", 80);
    p.run(&["delete", "pod", "web", "--grace-period=0", "--force"])
        .ok();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("port-forward went on after its pod was deleted");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: lost connection to pod"), "{stderr}");

    p.run(&["delete", "deployment", "api"]).ok();
    p.run(&["delete", "service", "web"]).ok();
    cli_support::remove_all_pods(&p);
}
