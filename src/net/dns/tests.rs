use super::objects::{HostnamedPods, hostnamed_pod, service_entry};
use super::wire::*;
use super::zone::*;
use super::*;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// A decoded response: flags, rcode and the records of each section as (name, type, text).
#[derive(Debug)]
struct Decoded {
    id: u16,
    flags: u16,
    answers: Vec<(String, u16, String)>,
    authority: Vec<(String, u16, String)>,
    additional: Vec<(String, u16, String)>,
}

impl Decoded {
    fn rcode(&self) -> u8 {
        (self.flags & 0x0F) as u8
    }
    fn truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    fn answer_texts(&self) -> Vec<String> {
        self.answers.iter().map(|a| a.2.clone()).collect()
    }
}

fn decode(msg: &[u8]) -> Decoded {
    let u16_at = |at: usize| u16::from_be_bytes([msg[at], msg[at + 1]]);
    let counts = [u16_at(6), u16_at(8), u16_at(10)];
    assert_eq!(u16_at(4), 1, "one question");
    let (_, mut pos) = read_name(msg, 12).unwrap();
    pos += 4;
    let mut sections = vec![Vec::new(), Vec::new(), Vec::new()];
    for (i, count) in counts.iter().enumerate() {
        for _ in 0..*count {
            let (name, after) = read_name(msg, pos).unwrap();
            let rtype = u16_at(after);
            let len = u16_at(after + 8) as usize;
            let rd = after + 10;
            let text = match rtype {
                TYPE_A => Ipv4Addr::new(msg[rd], msg[rd + 1], msg[rd + 2], msg[rd + 3]).to_string(),
                TYPE_CNAME | TYPE_PTR => read_name(msg, rd).unwrap().0,
                TYPE_SRV => format!(
                    "{} {} {} {}",
                    u16_at(rd),
                    u16_at(rd + 2),
                    u16_at(rd + 4),
                    read_name(msg, rd + 6).unwrap().0
                ),
                TYPE_SOA => read_name(msg, rd).unwrap().0,
                _ => format!("{len} bytes"),
            };
            sections[i].push((name, rtype, text));
            pos = rd + len;
        }
    }
    assert_eq!(pos, msg.len(), "no trailing bytes");
    let additional = sections.pop().unwrap();
    let authority = sections.pop().unwrap();
    let answers = sections.pop().unwrap();
    Decoded {
        id: u16_at(0),
        flags: u16_at(2),
        answers,
        authority,
        additional,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn port(name: &str, p: u16) -> ServicePort {
    ServicePort {
        name: name.into(),
        protocol: "TCP".into(),
        port: p,
    }
}

fn test_zone() -> Zone {
    let web = ServiceEntry {
        name: "web".into(),
        namespace: "default".into(),
        cluster_ips: vec![ip("10.96.0.20")],
        ports: vec![port("http", 80), port("", 8080)],
        ..Default::default()
    };
    let headless = ServiceEntry {
        name: "db".into(),
        namespace: "prod".into(),
        headless: true,
        endpoints: vec![
            EndpointAddress {
                ip: ip("10.88.0.5"),
                hostname: Some("db-0".into()),
            },
            EndpointAddress {
                ip: ip("10.88.0.6"),
                hostname: None,
            },
        ],
        endpoint_ports: vec![port("pg", 5432)],
        ..Default::default()
    };
    let ext = ServiceEntry {
        name: "search".into(),
        namespace: "default".into(),
        external_name: Some("www.example.com".into()),
        ..Default::default()
    };
    Zone::new(CLUSTER_DOMAIN, &[web, headless, ext])
}

fn texts(a: &Answer) -> Vec<String> {
    a.answers
        .iter()
        .map(|r| match &r.data {
            RData::A(ip) => ip.to_string(),
            RData::Aaaa(ip) => ip.to_string(),
            RData::Cname(n) | RData::Ptr(n) => n.clone(),
            RData::Srv { port, target, .. } => format!("{port} {target}"),
            RData::Soa { mname, .. } => mname.clone(),
        })
        .collect()
}

#[test]
fn query_bytes_parse_with_edns_and_compression() {
    // id 0xbeef, RD, one question web.default.svc.cluster.local A, one OPT (size 1232).
    let mut q = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    for l in ["web", "default", "svc", "cluster", "local"] {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    let parsed = parse_query(&q).unwrap();
    assert_eq!(parsed.id, 0xbeef);
    assert!(parsed.recursion_desired);
    assert_eq!(parsed.name, "web.default.svc.cluster.local");
    assert_eq!((parsed.qtype, parsed.qclass), (TYPE_A, CLASS_IN));
    assert_eq!(parsed.edns_size, Some(1232));
    assert_eq!(udp_limit(&parsed), 1232);

    // A pointer back into the message is followed; a forward pointer (a loop) is refused.
    let msg = [3, b'f', b'o', b'o', 0, 3, b'b', b'a', b'r', 0xC0, 0];
    assert_eq!(read_name(&msg, 5).unwrap(), ("bar.foo".to_string(), 11));
    assert!(read_name(&[0xC0, 0], 0).is_none());
    assert!(read_name(&[5, b'a'], 0).is_none());
}

#[test]
fn malformed_queries_get_formerr_or_nothing() {
    assert_eq!(parse_query(&[1, 2, 3]), Err(ParseError::TooShort));
    let two_questions = [0, 7, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        parse_query(&two_questions),
        Err(ParseError::Bad {
            id: 7,
            rcode: RCODE_FORMERR
        })
    );
    let update = [0, 8, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        parse_query(&update),
        Err(ParseError::Bad {
            id: 8,
            rcode: RCODE_NOTIMP
        })
    );
    let response = [0, 10, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1];
    assert_eq!(parse_query(&response), Err(ParseError::NotAQuery));
    let truncated_question = [0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'a'];
    assert!(matches!(
        parse_query(&truncated_question),
        Err(ParseError::Bad { id: 9, .. })
    ));
    let resp = error_response(7, RCODE_FORMERR, &two_questions);
    let d = (resp[2], resp[3]);
    assert_eq!(d.0 & 0x80, 0x80);
    assert_eq!(d.1 & 0x0F, RCODE_FORMERR);
}

#[test]
fn services_resolve_to_their_cluster_ip() {
    let z = test_zone();
    let a = z.lookup("web.default.svc.cluster.local", TYPE_A);
    assert_eq!(
        (a.rcode, texts(&a)),
        (RCODE_NOERROR, vec!["10.96.0.20".to_string()])
    );
    assert!(a.authoritative);
    // Names are case-insensitive and may end with a dot.
    assert_eq!(
        texts(&z.lookup("WEB.Default.svc.cluster.local.", TYPE_A)),
        ["10.96.0.20"]
    );
    // AAAA of an IPv4 service: the name exists, no records (NODATA with the SOA).
    let aaaa = z.lookup("web.default.svc.cluster.local", TYPE_AAAA);
    assert_eq!(aaaa.rcode, RCODE_NOERROR);
    assert!(aaaa.answers.is_empty());
    assert_eq!(aaaa.authority.len(), 1);
}

#[test]
fn unknown_names_in_the_domain_are_nxdomain_and_parents_exist() {
    let z = test_zone();
    for name in [
        "nope.default.svc.cluster.local",
        "web.other.svc.cluster.local",
        "google.com.default.svc.cluster.local",
        "x.cluster.local",
    ] {
        assert_eq!(z.lookup(name, TYPE_A).rcode, RCODE_NXDOMAIN, "{name}");
    }
    for name in [
        "default.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local",
        "prod.svc.cluster.local",
    ] {
        let a = z.lookup(name, TYPE_A);
        assert_eq!((a.rcode, a.answers.len()), (RCODE_NOERROR, 0), "{name}");
    }
    assert_eq!(
        texts(&z.lookup("cluster.local", TYPE_SOA)),
        ["ns.dns.cluster.local"]
    );
}

#[test]
fn headless_services_resolve_to_endpoints_and_members() {
    let z = test_zone();
    let mut all = texts(&z.lookup("db.prod.svc.cluster.local", TYPE_A));
    all.sort();
    assert_eq!(all, ["10.88.0.5", "10.88.0.6"]);
    assert_eq!(
        texts(&z.lookup("db-0.db.prod.svc.cluster.local", TYPE_A)),
        ["10.88.0.5"]
    );
    assert_eq!(
        texts(&z.lookup("10-88-0-6.db.prod.svc.cluster.local", TYPE_A)),
        ["10.88.0.6"]
    );
    assert_eq!(
        z.lookup("db-1.db.prod.svc.cluster.local", TYPE_A).rcode,
        RCODE_NXDOMAIN
    );
}

#[test]
fn srv_records_for_named_ports() {
    let z = test_zone();
    let a = z.lookup("_http._tcp.web.default.svc.cluster.local", TYPE_SRV);
    assert_eq!(texts(&a), ["80 web.default.svc.cluster.local"]);
    assert_eq!(a.additional.len(), 1, "the target's A record is added");
    // The service name itself has SRV records for every port.
    let mut all = texts(&z.lookup("web.default.svc.cluster.local", TYPE_SRV));
    all.sort();
    assert_eq!(
        all,
        [
            "80 web.default.svc.cluster.local",
            "8080 web.default.svc.cluster.local"
        ]
    );
    // Headless: one SRV per endpoint, targeting the member names.
    let mut h = texts(&z.lookup("_pg._tcp.db.prod.svc.cluster.local", TYPE_SRV));
    h.sort();
    assert_eq!(
        h,
        [
            "5432 10-88-0-6.db.prod.svc.cluster.local",
            "5432 db-0.db.prod.svc.cluster.local"
        ]
    );
    // `_tcp.<svc>` exists (NODATA); an unknown port name does not.
    assert_eq!(
        z.lookup("_tcp.web.default.svc.cluster.local", TYPE_SRV)
            .rcode,
        RCODE_NOERROR
    );
    assert_eq!(
        z.lookup("_nope._tcp.web.default.svc.cluster.local", TYPE_SRV)
            .rcode,
        RCODE_NXDOMAIN
    );
}

#[test]
fn external_names_are_cnames_and_pods_and_ptr_resolve() {
    let z = test_zone();
    let a = z.lookup("search.default.svc.cluster.local", TYPE_A);
    assert_eq!(a.answers[0].data, RData::Cname("www.example.com".into()));
    assert_eq!(
        texts(&z.lookup("10-88-0-9.default.pod.cluster.local", TYPE_A)),
        ["10.88.0.9"]
    );
    assert_eq!(
        texts(&z.lookup(&reverse_name(&ip("10.96.0.20")), TYPE_PTR)),
        ["web.default.svc.cluster.local"]
    );
    assert_eq!(reverse_name(&ip("10.96.0.20")), "20.0.96.10.in-addr.arpa");
    assert_eq!(
        texts(&z.lookup("5.0.88.10.in-addr.arpa", TYPE_PTR)),
        ["db-0.db.prod.svc.cluster.local"]
    );
    assert_eq!(
        texts(&z.lookup("6.0.88.10.in-addr.arpa", TYPE_PTR)),
        ["10-88-0-6.db.prod.svc.cluster.local"]
    );
    assert!(z.knows_reverse("5.0.88.10.in-addr.arpa"));
    assert!(!z.knows_reverse("7.0.88.10.in-addr.arpa"));
}

#[test]
fn responses_encode_and_truncate_over_udp() {
    let endpoints: Vec<EndpointAddress> = (0..100u8)
        .map(|i| EndpointAddress {
            ip: IpAddr::V4(Ipv4Addr::new(10, 88, 1, i)),
            hostname: None,
        })
        .collect();
    let big = ServiceEntry {
        name: "big".into(),
        namespace: "default".into(),
        headless: true,
        endpoints,
        ..Default::default()
    };
    let z = Zone::new(CLUSTER_DOMAIN, &[big]);
    let q = parse_query(&build_query(42, "big.default.svc.cluster.local", TYPE_A)).unwrap();
    let answer = z.lookup(&q.name, q.qtype);
    assert_eq!(answer.answers.len(), 100);
    let udp = build_response(&q, &answer, udp_limit(&q));
    assert!(udp.len() <= 512, "{}", udp.len());
    let d = decode(&udp);
    assert!(d.truncated());
    assert_eq!(d.id, 42);
    assert!(
        !d.answers.is_empty() && d.answers.len() < 100,
        "{}",
        d.answers.len()
    );
    // Over TCP everything fits; names are compressed (16 bytes per A record).
    let tcp = build_response(&q, &answer, 65535);
    let d = decode(&tcp);
    assert!(!d.truncated());
    assert_eq!(d.answers.len(), 100);
    assert!(tcp.len() < 12 + 35 + 100 * 16 + 1, "{}", tcp.len());
    assert_eq!(d.flags & 0x8400, 0x8400, "QR and AA");
}

#[test]
fn objects_become_entries_with_pod_hostnames() {
    let svc = json!({"metadata": {"name": "web", "namespace": "prod"},
        "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]}});
    let ep = json!({"subsets": [{
        "addresses": [
            {"ip": "10.88.0.7", "hostname": "web-0"},
            {"ip": "10.88.0.8", "targetRef": {"kind": "Pod", "name": "web-1"}},
            {"ip": "10.88.0.9", "targetRef": {"kind": "Pod", "name": "other"}}
        ],
        "notReadyAddresses": [{"ip": "10.88.0.10"}],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]
    }]});
    let pod = json!({"metadata": {"name": "web-1", "namespace": "prod"},
        "spec": {"hostname": "web-1", "subdomain": "web"}});
    let other = json!({"metadata": {"name": "other", "namespace": "prod"},
        "spec": {"hostname": "other", "subdomain": "elsewhere"}});
    let pods: HostnamedPods = [hostnamed_pod(&pod).unwrap(), hostnamed_pod(&other).unwrap()]
        .into_iter()
        .collect();
    let e = service_entry(&svc, Some(&ep), &pods);
    assert!(e.headless);
    let hosts: Vec<Option<&str>> = e.endpoints.iter().map(|a| a.hostname.as_deref()).collect();
    assert_eq!(hosts, [Some("web-0"), Some("web-1"), None]);
    assert_eq!(e.endpoint_ports, [port("http", 80)]);
    let z = Zone::new(CLUSTER_DOMAIN, &[e]);
    assert_eq!(
        texts(&z.lookup("web-1.web.prod.svc.cluster.local", TYPE_A)),
        ["10.88.0.8"]
    );

    let cip = json!({"metadata": {"name": "api"}, "spec": {"clusterIP": "10.96.0.30",
        "clusterIPs": ["10.96.0.30"], "ports": [{"port": 443}]}});
    let e = service_entry(&cip, None, &HostnamedPods::new());
    assert_eq!(
        (e.namespace.as_str(), e.cluster_ips.clone()),
        ("default", vec![ip("10.96.0.30")])
    );
    let ext = json!({"metadata": {"name": "x", "namespace": "a"},
        "spec": {"type": "ExternalName", "externalName": "db.example.org."}});
    let z = Zone::new(
        CLUSTER_DOMAIN,
        &[service_entry(&ext, None, &HostnamedPods::new())],
    );
    assert_eq!(
        texts(&z.lookup("x.a.svc.cluster.local", TYPE_AAAA)),
        ["db.example.org"]
    );
}

#[test]
fn upstreams_come_from_resolv_conf() {
    let u = Upstream::from_resolv_conf(
        "# comment\nsearch example.org\nnameserver 127.0.0.53\nnameserver ::1\nnameserver bad\noptions edns0\n",
    );
    assert_eq!(
        u.servers,
        vec![
            "127.0.0.53:53".parse::<SocketAddr>().unwrap(),
            "[::1]:53".parse().unwrap()
        ]
    );
}

/// A fake upstream on 127.0.0.1 answering every A query with 192.0.2.1.
async fn fake_upstream() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            let q = parse_query(&buf[..n]).unwrap();
            let answer = Answer {
                answers: vec![Record {
                    name: q.name.clone(),
                    ttl: 60,
                    data: RData::A(Ipv4Addr::new(192, 0, 2, 1)),
                }],
                ..Default::default()
            };
            let _ = sock.send_to(&build_response(&q, &answer, 512), peer).await;
        }
    });
    (addr, task)
}

async fn udp_query(server: SocketAddr, name: &str, qtype: u16) -> Decoded {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&build_query(7, name, qtype), server)
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .expect("an answer over UDP")
        .unwrap();
    decode(&buf[..n])
}

async fn tcp_query(server: SocketAddr, name: &str, qtype: u16) -> Decoded {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server).await.unwrap();
    let q = build_query(9, name, qtype);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).await.unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.unwrap();
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).await.unwrap();
    decode(&msg)
}

#[tokio::test]
async fn server_answers_over_udp_and_tcp_and_forwards_outside_names() {
    let (upstream, fake) = fake_upstream().await;
    let zone = Arc::new(SharedZone::new(test_zone()));
    let resolver = Resolver {
        zone: zone.clone(),
        upstream: Upstream {
            servers: vec![upstream],
            timeout: Duration::from_secs(2),
        },
    };
    let server = serve("127.0.0.1:0".parse().unwrap(), resolver)
        .await
        .unwrap();
    assert_eq!(server.udp_addr, server.tcp_addr);
    let addr = server.udp_addr;

    let d = udp_query(addr, "web.default.svc.cluster.local", TYPE_A).await;
    assert_eq!(
        (d.id, d.rcode(), d.answer_texts()),
        (7, RCODE_NOERROR, vec!["10.96.0.20".to_string()])
    );
    let d = tcp_query(addr, "db-0.db.prod.svc.cluster.local", TYPE_A).await;
    assert_eq!((d.id, d.answer_texts()), (9, vec!["10.88.0.5".to_string()]));
    let d = udp_query(addr, "missing.default.svc.cluster.local", TYPE_A).await;
    assert_eq!(d.rcode(), RCODE_NXDOMAIN);
    assert_eq!(d.authority.len(), 1);

    // Outside the cluster domain: the upstream's answer.
    let d = udp_query(addr, "www.example.com", TYPE_A).await;
    assert_eq!(
        (d.rcode(), d.answer_texts()),
        (RCODE_NOERROR, vec!["192.0.2.1".to_string()])
    );
    let d = tcp_query(addr, "www.example.com", TYPE_A).await;
    assert_eq!(d.answer_texts(), ["192.0.2.1"]);
    assert!(d.additional.is_empty());

    // A new zone is served at once.
    zone.set(Zone::new(CLUSTER_DOMAIN, &[]));
    let d = udp_query(addr, "web.default.svc.cluster.local", TYPE_A).await;
    assert_eq!(d.rcode(), RCODE_NXDOMAIN);

    // An upstream that does not answer: SERVFAIL after the timeout.
    fake.abort();
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let resolver = Resolver {
        zone,
        upstream: Upstream {
            servers: vec![silent.local_addr().unwrap()],
            timeout: Duration::from_millis(200),
        },
    };
    let server2 = serve("127.0.0.1:0".parse().unwrap(), resolver)
        .await
        .unwrap();
    let d = udp_query(server2.udp_addr, "www.example.com", TYPE_A).await;
    assert_eq!(d.rcode(), RCODE_SERVFAIL);
}

/// A real resolver client (busybox nslookup, as in pods) against the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busybox_nslookup_resolves_cluster_names() {
    let resolver = Resolver {
        zone: Arc::new(SharedZone::new(test_zone())),
        upstream: Upstream {
            servers: Vec::new(),
            timeout: Duration::from_millis(100),
        },
    };
    let server = serve("127.0.0.1:0".parse().unwrap(), resolver)
        .await
        .unwrap();
    let port = format!("-port={}", server.udp_addr.port());
    let lookup = |args: Vec<String>| async move {
        let out = tokio::process::Command::new("/bin/busybox")
            .arg("nslookup")
            .args(&args)
            .arg("127.0.0.1")
            .output()
            .await
            .expect("/bin/busybox (busybox-static) is installed");
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    let out = lookup(vec![port.clone(), "web.default.svc.cluster.local".into()]).await;
    assert!(out.contains("Address: 10.96.0.20"), "{out}");
    let out = lookup(vec![port.clone(), "db-0.db.prod.svc.cluster.local".into()]).await;
    assert!(out.contains("Address: 10.88.0.5"), "{out}");
    let out = lookup(vec![
        port.clone(),
        "-type=srv".into(),
        "_http._tcp.web.default.svc.cluster.local".into(),
    ])
    .await;
    assert!(out.contains("web.default.svc.cluster.local"), "{out}");
    assert!(out.contains(" 80 "), "{out}");
    let out = lookup(vec![port, "nope.default.svc.cluster.local".into()]).await;
    assert!(out.contains("NXDOMAIN"), "{out}");
}
