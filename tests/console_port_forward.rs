//! Port-forward from the console, in a real terminal (tmux), as root: Shift-F on a pod and
//! on a service, HTTP through both forwards, `:pf` lists them, ctrl-d stops one, deleting
//! the pod ends the other. Traffic stays on loopback and inside the pod's namespace.

mod cli_support;

use cli_support::tmux::Tmux;
use cli_support::{Cleanup, Peapod, import_busybox, remove_all_pods};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const MANIFEST: &str = "\
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
    command: [httpd, -f, -p, '80', -h, /www]
    ports:
    - {name: http, containerPort: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {port: 8000, targetPort: http}
";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn get(port: u16) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut body = String::new();
    s.read_to_string(&mut body)
        .map_err(|e| format!("read: {e}"))?;
    if body.contains(" 200 ") && body.contains("hello from the image") {
        Ok(body)
    } else {
        Err(format!("unexpected answer {body:?}"))
    }
}

fn closed(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .is_err()
}

/// Shift-F, replace the offered port (`offered`) with `LOCAL:REMOTE`, Enter.
fn forward(tmux: &Tmux, offered: &str, spec: &str) {
    tmux.keys(&["F"]);
    tmux.wait_for("Port-forward");
    for _ in offered.chars() {
        tmux.keys(&["BSpace"]);
    }
    tmux.type_text(spec);
    tmux.keys(&["Enter"]);
}

#[test]
fn console_port_forward_in_tmux_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs pods: run it as root (CI does)"
    );
    let p = Peapod::new();
    import_busybox(&p);
    let manifest = p.file("web.yaml", MANIFEST);
    let tmux = Tmux::start(&p, "pf");
    let cleanup = Cleanup(&p);
    tmux.wait_for("pods(all)[0/0]");
    p.run(&["apply", "-f", manifest.to_str().unwrap()]).ok();
    tmux.wait("web Running", |s| {
        s.lines()
            .any(|l| l.contains(" web ") && l.contains("Running"))
    });

    // Shift-F on the pod offers its container port 80.
    let pod_port = free_port();
    let s = {
        tmux.keys(&["F"]);
        tmux.wait_for("Ports of pod/web")
    };
    assert!(s.contains("Ports of pod/web: 80"), "{s}");
    tmux.keys(&["Escape"]);
    tmux.wait("the prompt to close", |s| !s.contains("Ports of pod/web"));
    forward(&tmux, "80", &format!("{pod_port}:80"));
    tmux.wait_for(&format!("({pod_port}:80) to pod/web web"));
    let workers: Vec<_> = (0..50)
        .map(|_| std::thread::spawn(move || get(pod_port)))
        .collect();
    for w in workers {
        w.join()
            .unwrap()
            .expect("a request through the pod forward");
    }

    // The service: port 8000 maps to the pod's named port http (80).
    tmux.keys(&[":"]);
    tmux.type_text("svc");
    tmux.keys(&["Enter"]);
    tmux.wait("the services table", |s| {
        s.contains("services(") && s.lines().any(|l| l.contains(" web "))
    });
    let svc_port = free_port();
    forward(&tmux, "8000", &format!("{svc_port}:8000"));
    tmux.wait_for(&format!("({svc_port}:80) to svc/web web"));
    get(svc_port).expect("a request through the service forward");

    // :pf lists both; ctrl-d stops the selected (first) one.
    tmux.keys(&[":"]);
    tmux.type_text("pf");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_for("portforwards[2]");
    assert!(s.contains("pod/web") && s.contains("svc/web"), "{s}");
    assert!(s.contains("127.0.0.1"), "{s}");
    tmux.keys(&["C-d"]);
    tmux.wait_for("portforwards[1]");
    assert!(closed(pod_port), "the stopped forward's port is closed");
    get(svc_port).expect("the other forward still serves");

    // Deleting the pod ends the forward to it.
    p.run(&["delete", "pod", "web", "--grace-period=0", "--force"])
        .ok();
    tmux.wait_for("portforwards[0]");
    assert!(closed(svc_port), "the forward to the deleted pod is closed");

    remove_all_pods(&p);
    drop(cleanup);
    // Esc and q apart: together a terminal reads them as alt-q.
    tmux.keys(&["Escape"]);
    tmux.wait("the list to close", |s| !s.contains("portforwards["));
    tmux.keys(&["q"]);
    tmux.wait_for("CONSOLE-EXITED 0");
}
