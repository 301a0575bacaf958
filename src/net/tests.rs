//! Root tests of the pod network on a test-specific bridge and network.

use super::*;
use crate::runtime::sandbox::{Sandbox, SandboxOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

/// A test bridge and network of its own, removed (with its veths) on drop.
struct TestNet {
    opts: NetworkOptions,
    state: tempfile::TempDir,
}

impl TestNet {
    fn new(tag: u8) -> TestNet {
        let pid = std::process::id();
        TestNet {
            opts: NetworkOptions {
                bridge: format!("ppu{tag}{}", pid % 10000),
                pod_cidr: format!("10.{}.{}.0/24", 200 + tag, pid % 250)
                    .parse()
                    .unwrap(),
                masquerade: false,
            },
            state: tempfile::tempdir().unwrap(),
        }
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        let _ = reset(&self.opts, self.state.path());
    }
}

fn sandbox(name: &str) -> Sandbox {
    Sandbox::create(SandboxOptions {
        hostname: name.into(),
        share_pid: false,
        host_network: false,
    })
    .unwrap()
}

/// Runs `f` on a thread inside the sandbox's network namespace.
fn in_netns<T: Send>(sb: &Sandbox, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            assert_eq!(
                unsafe { libc::setns(sb.net_ns().as_raw_fd(), libc::CLONE_NEWNET) },
                0
            );
            f()
        })
        .join()
        .unwrap()
    })
}

#[test]
fn pods_get_addresses_reach_each_other_and_are_removed_as_root() {
    let t = TestNet::new(1);
    let net = PodNetwork::open(t.opts.clone(), t.state.path()).unwrap();
    let (a, b) = (sandbox("pod-a"), sandbox("pod-b"));
    let (ip_a, work) = net
        .attach("aaaaaaaa-1111-4000-8000-000000000001", a.pid())
        .unwrap();
    assert!(work.is_some());
    let (ip_b, _) = net
        .attach("bbbbbbbb-2222-4000-8000-000000000002", b.pid())
        .unwrap();
    assert_ne!(ip_a, ip_b);
    assert!(t.opts.pod_cidr.contains(ip_a) && t.opts.pod_cidr.contains(ip_b));
    assert!(link_exists(&t.opts.bridge).unwrap());
    let veth_a = host_veth_name("aaaaaaaa-1111-4000-8000-000000000001");
    assert_eq!(veth_a, "ppvaaaaaaaa1111");
    assert!(link_exists(&veth_a).unwrap());
    // Attaching again (a re-adopted pod) keeps the address and the veth.
    assert_eq!(
        net.attach("aaaaaaaa-1111-4000-8000-000000000001", a.pid())
            .unwrap(),
        (ip_a, None)
    );
    // A veth whose setup never finished (no marker: peapod died in it) is set up again.
    let marker = state_dir(t.state.path()).join("attached/bbbbbbbb-2222-4000-8000-000000000002");
    std::fs::remove_file(&marker).unwrap();
    let (again, work) = net
        .attach("bbbbbbbb-2222-4000-8000-000000000002", b.pid())
        .unwrap();
    assert_eq!(again, ip_b);
    assert!(work.is_some() && marker.exists());

    // B listens inside its namespace; A connects over the bridge; the host connects too.
    let listener = in_netns(&b, || TcpListener::bind((ip_b, 8080)).unwrap());
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"hello").unwrap();
        }
    });
    let read = |mut s: TcpStream| {
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        got
    };
    let from_a = in_netns(&a, || TcpStream::connect((ip_b, 8080)).map(read));
    assert_eq!(from_a.unwrap(), "hello", "pod A reaches pod B");
    let from_host = TcpStream::connect((ip_b, 8080)).map(read);
    assert_eq!(from_host.unwrap(), "hello", "the host reaches pod B");
    server.join().unwrap();

    net.detach("aaaaaaaa-1111-4000-8000-000000000001").unwrap();
    assert!(!link_exists(&veth_a).unwrap());
    assert_eq!(net.ip_of("aaaaaaaa-1111-4000-8000-000000000001"), None);
    a.destroy().unwrap();

    let removed = reset(&t.opts, t.state.path()).unwrap();
    assert!(removed.iter().any(|l| l.contains("bridge")), "{removed:?}");
    assert!(!link_exists(&t.opts.bridge).unwrap());
    assert!(!link_exists(&host_veth_name("bbbbbbbb-2222-4000-8000-000000000002")).unwrap());
    assert!(!state_dir(t.state.path()).exists());
    b.destroy().unwrap();
}

#[test]
fn masquerade_table_is_ours_and_removed_by_reset_as_root() {
    let mut t = TestNet::new(2);
    t.opts.masquerade = true;
    let before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let _net = PodNetwork::open(t.opts.clone(), t.state.path()).unwrap();
    assert!(masquerade::present(&t.opts.bridge));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1"
    );
    let removed = reset(&t.opts, t.state.path()).unwrap();
    assert!(
        removed.iter().any(|l| l.contains("nftables")),
        "{removed:?}"
    );
    assert!(!masquerade::present(&t.opts.bridge));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        before,
        "ip_forward restored"
    );
}

#[test]
fn options_validate_names_and_networks() {
    let o =
        NetworkOptions::resolve(Some("br-test".into()), Some("10.9.0.0/24".into()), false).unwrap();
    assert_eq!(o.pod_cidr.to_string(), "10.9.0.0/24");
    let e =
        NetworkOptions::resolve(Some("a-very-long-bridge-name".into()), None, false).unwrap_err();
    assert!(e.contains("bridge"), "{e}");
    assert!(NetworkOptions::resolve(None, Some("10.9.0.0/33".into()), false).is_err());
}

/// Per-pod setup times through the agent's path (`attach_pod`), printed: for measuring.
#[test]
#[ignore]
fn setup_times_as_root() {
    let t = TestNet::new(3);
    let net = Arc::new(PodNetwork::open(t.opts.clone(), t.state.path()).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut boxes = Vec::new();
    for i in 0..20 {
        let sb = sandbox(&format!("p{i}"));
        let uid = format!("{i:08}-0000-4000-8000-000000000000");
        let t0 = Instant::now();
        rt.block_on(net.attach_pod(&uid, sb.pid())).unwrap();
        eprintln!("setup {:?}", t0.elapsed());
        boxes.push(sb);
    }
    for b in boxes {
        b.destroy().unwrap();
    }
}
