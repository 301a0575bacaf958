use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn ports_parse_like_kubectl() {
    let p = parse_ports(&strings(&["8080:80", "80", ":443", "0:53"])).unwrap();
    assert_eq!(
        p,
        vec![
            PortPair {
                local: 8080,
                remote: 80
            },
            PortPair {
                local: 80,
                remote: 80
            },
            PortPair {
                local: 0,
                remote: 443
            },
            PortPair {
                local: 0,
                remote: 53
            },
        ]
    );
}

#[test]
fn bad_ports_are_refused_with_the_spec() {
    for (spec, want) in [
        ("1:2:3", "invalid port format \"1:2:3\""),
        ("x:80", "local port \"x\""),
        ("80:y", "remote port \"y\""),
        ("8080:0", "must be > 0"),
        ("70000", "local port \"70000\""),
    ] {
        let e = parse_ports(&strings(&[spec])).unwrap_err();
        assert!(e.contains(want), "{spec}: {e}");
    }
    assert!(parse_ports(&[]).unwrap_err().contains("at least 1 PORT"));
}

#[test]
fn addresses_default_to_both_loopbacks() {
    let a = parse_addresses(&[]).unwrap();
    let ips: Vec<String> = a.iter().map(|a| a.ip.to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "::1"]);
    assert!(a.iter().all(|a| a.failure == FailureMode::All));
}

#[test]
fn addresses_take_comma_lists_and_dedupe() {
    let a = parse_addresses(&strings(&["0.0.0.0,localhost", "127.0.0.1"])).unwrap();
    let got: Vec<(String, FailureMode)> = a.iter().map(|a| (a.ip.to_string(), a.failure)).collect();
    assert_eq!(
        got,
        vec![
            ("0.0.0.0".to_string(), FailureMode::Any),
            ("127.0.0.1".to_string(), FailureMode::All),
            ("::1".to_string(), FailureMode::All),
        ]
    );
    let e = parse_addresses(&strings(&["example.com"])).unwrap_err();
    assert!(e.contains("example.com is not a valid IP"), "{e}");
}

#[test]
fn event_lines_match_kubectl() {
    let l = ForwardEvent::Listening {
        address: "[::1]:8080".parse().unwrap(),
        remote: 80,
    };
    assert_eq!(l.line(), "Forwarding from [::1]:8080 -> 80");
    assert_eq!(
        ForwardEvent::Connection { local: 8080 }.line(),
        "Handling connection for 8080"
    );
}

/// An echo server in our own namespace, reached through the namespace-entering dialer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_joins_many_connections_through_setns_as_root() {
    let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let remote = echo.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = echo.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let fd: OwnedFd = std::fs::File::open("/proc/thread-self/ns/net")
        .unwrap()
        .into();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let addrs = parse_addresses(&strings(&["127.0.0.1"])).unwrap();
    let fwd = Forward::start(
        PodNetns::from_fd(fd),
        &addrs,
        &[PortPair { local: 0, remote }],
        tx,
    )
    .await
    .expect("setns needs root: run the tests as root");
    let local = fwd.bound[0].0;
    assert!(matches!(
        rx.recv().await,
        Some(ForwardEvent::Listening { .. })
    ));
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(local).await.unwrap();
            let msg = format!("hello {i}");
            s.write_all(msg.as_bytes()).await.unwrap();
            s.shutdown().await.unwrap();
            let mut back = String::new();
            s.read_to_string(&mut back).await.unwrap();
            assert_eq!(back, msg);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A connection in flight is closed by stop, and the listener is gone.
    let mut open = TcpStream::connect(local).await.unwrap();
    open.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    open.read_exact(&mut one).await.unwrap();
    fwd.stop();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), open.read_to_end(&mut rest))
        .await
        .expect("the connection is closed on stop");
    assert!(n.map(|n| n == 0).unwrap_or(true));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(local).await.is_err(), "listener closed");
}

#[tokio::test]
async fn a_refused_pod_port_is_reported_per_connection_as_root() {
    let fd: OwnedFd = std::fs::File::open("/proc/thread-self/ns/net")
        .unwrap()
        .into();
    // A port nothing listens on: bind and drop.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let remote = free.local_addr().unwrap().port();
    drop(free);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let addrs = parse_addresses(&strings(&["127.0.0.1"])).unwrap();
    let fwd = Forward::start(
        PodNetns::from_fd(fd),
        &addrs,
        &[PortPair { local: 0, remote }],
        tx,
    )
    .await
    .expect("setns needs root");
    let mut s = TcpStream::connect(fwd.bound[0].0).await.unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let mut saw_error = false;
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        if let ForwardEvent::Error { message, .. } = ev {
            assert!(message.contains("IPv4"), "{message}");
            saw_error = true;
            break;
        }
    }
    assert!(saw_error);
}

/// A server whose accept backlog is full: the dial gets in soon after the server accepts,
/// long before the kernel would retransmit the dropped SYN (1 s).
#[test]
fn a_full_backlog_is_retried_before_the_syn_back_off() {
    use nix::sys::socket::{Backlog, listen};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // Listening again changes the backlog.
    listen(&listener, Backlog::new(0).unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue (backlog 0 holds one connection).
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    let started = std::time::Instant::now();
    let dial = std::thread::spawn(move || connect_patiently(addr));
    std::thread::sleep(Duration::from_millis(300));
    let (_first, _) = listener.accept().unwrap();
    let stream = dial.join().unwrap().expect("the dial gets in");
    let took = started.elapsed();
    assert!(took < Duration::from_millis(950), "took {took:?}");
    drop(stream);
}
