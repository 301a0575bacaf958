//! Namespaces, /etc files, /dev /proc /sys, networking and ps: what a container sees.

use super::*;

#[test]
fn hostname_and_etc_files_as_root() {
    let pod = Pod::new("pod-a", false);
    std::fs::write(pod.path("hosts"), "127.0.0.1 localhost\n10.0.0.7 pod-a\n").unwrap();
    std::fs::write(pod.path("hostname"), "pod-a\n").unwrap();
    std::fs::write(pod.path("resolv.conf"), "nameserver 10.0.0.10\n").unwrap();
    let mut spec = pod.sh("hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf; ls /sys/class/net; cat /sys/class/net/lo/flags");
    spec.etc = EtcFiles {
        hosts: Some(pod.path("hosts")),
        hostname: Some(pod.path("hostname")),
        resolv_conf: Some(pod.path("resolv.conf")),
    };
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    // Only loopback, and up (IFF_UP|IFF_LOOPBACK = 0x9): the pod's own network namespace.
    assert_eq!(
        lines(&out),
        [
            "pod-a",
            "pod-a",
            "127.0.0.1 localhost",
            "10.0.0.7 pod-a",
            "nameserver 10.0.0.10",
            "lo",
            "0x9"
        ]
    );
}

#[test]
fn containers_in_one_sandbox_talk_over_localhost_and_share_shm_as_root() {
    let pod = Pod::new("pod-net", false);
    std::fs::create_dir(pod.path("shm")).unwrap();
    let mut server = pod.sh("echo hello-from-server > /tmp/index.html; echo shared > /dev/shm/x; exec httpd -f -p 127.0.0.1:8080 -h /tmp");
    server.shm = Some(pod.path("shm"));
    let mut client = pod.sh(
        "for i in $(seq 100); do wget -q -O - http://127.0.0.1:8080/index.html 2>/dev/null && cat /dev/shm/x && exit 0; usleep 50000; done; exit 1",
    );
    client.shm = Some(pod.path("shm"));
    let server = pod.start(&server).unwrap();
    let (out, code) = pod.run(&client).unwrap();
    server.kill();
    let (_, server_code) = server.finish();
    assert_eq!(
        (code, lines(&out)),
        (0, vec!["hello-from-server", "shared"]),
        "{out}"
    );
    assert_eq!(server_code, 128 + libc::SIGKILL);
    // The host's loopback never saw it: nothing listens on 8080 here.
    assert!(std::net::TcpStream::connect("127.0.0.1:8080").is_err());
}

#[test]
fn dev_proc_and_sys_are_the_containers_own_as_root() {
    let pod = Pod::new("pod-dev", false);
    let out = pod.output(
        "ls /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; readlink /dev/fd; \
         echo x > /dev/null && head -c 5 /dev/zero | wc -c && head -c 5 /dev/urandom | wc -c; \
         stat -c '%a' /dev/shm; cut -d' ' -f2,3 /proc/mounts",
    );
    let l = lines(&out);
    assert_eq!(
        l[0], "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero",
        "{out}"
    );
    assert_eq!(
        &l[1..6],
        ["pts/ptmx", "/proc/self/fd", "5", "5", "1777"],
        "{out}"
    );
    // Only the container's mounts: no host path is left after pivot_root.
    let mut mounts = l[6..].to_vec();
    let masked_or_ro = mounts
        .iter()
        .filter(|m| m.starts_with("/proc/") || m.starts_with("/sys/"))
        .count();
    mounts.retain(|m| !m.starts_with("/proc/") && !m.starts_with("/sys/"));
    assert!(mounts[0].starts_with("/ "), "{out}");
    let want = [
        "/proc proc",
        "/sys sysfs",
        "/dev tmpfs",
        "/dev/pts devpts",
        "/dev/shm tmpfs",
        "/dev/mqueue mqueue",
    ];
    assert_eq!(mounts[1..], want, "{out}");
    assert!(
        masked_or_ro >= 4,
        "masked and read-only paths are mounts too: {out}"
    );
}

#[test]
fn host_network_sees_the_hosts_interfaces_as_root() {
    let pod = Pod::with(SandboxOptions {
        hostname: "pod-hostnet".into(),
        share_pid: false,
        host_network: true,
    });
    // The namespace's identity, not the interface list: other tests (and pods) add and remove
    // host interfaces concurrently.
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    let out = pod.output("readlink /proc/self/ns/net; hostname");
    let mut l = lines(&out);
    // With the host's network the pod keeps the host's name too, as in Kubernetes.
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        l.pop(),
        Some(host_name.trim()),
        "a hostNetwork pod has the host's hostname"
    );
    assert_eq!(l, [host.to_string_lossy()], "the host's network namespace");
}

#[test]
fn tty_becomes_the_controlling_terminal_as_root() {
    let pod = Pod::new("pod-tty", false);
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut spec = pod.sh("[ -t 0 ] && echo stdin-is-a-tty; cut -d' ' -f7 /proc/self/stat");
    spec.tty = true;
    let slave = Some(pty.slave.as_fd());
    let child = spawn(
        &spec,
        pod.sandbox(),
        Stdio {
            stdin: slave,
            stdout: slave,
            stderr: slave,
        },
    )
    .unwrap();
    let mut running = Running {
        child: Some(child),
        out: None,
    };
    drop(pty.slave);
    // The master reads EIO once the last slave fd is closed.
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(running.child.take().unwrap().wait().unwrap().success());
    let out = String::from_utf8(out).unwrap();
    let l = lines(&out);
    assert_eq!(l.first(), Some(&"stdin-is-a-tty"), "{out:?}");
    // tty_nr of the process: non-zero only with a controlling terminal.
    assert_ne!(l.get(1).copied().unwrap_or("0"), "0", "{out:?}");
}

/// (pid, command) of busybox `ps` output (PID USER COMMAND), header skipped.
fn ps(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<_> = l.split_whitespace().collect();
            Some((f.first()?.parse().ok()?, f.get(2..)?.join(" ")))
        })
        .collect()
}

#[test]
fn ps_shows_only_the_containers_processes_as_root() {
    let pod = Pod::new("pod-ps", false);
    let procs = ps(&pod.output("ps; true"));
    assert_eq!(procs.len(), 2, "{procs:?}");
    assert_eq!(
        procs[0],
        (1, "/bin/sh -c ps; true".to_string()),
        "pid 1 is the command"
    );
    // busybox sh forks its ps applet without exec: it shows as "{ps} <sh's command line>".
    assert!(
        procs[1].1 == "ps" || procs[1].1.starts_with("{ps}"),
        "{procs:?}"
    );

    // With a shared pid namespace the sandbox holder is pid 1, as pause is in Kubernetes.
    let shared = Pod::new("pod-ps-shared", true);
    let mut spec = shared.sh("ps; true");
    spec.share_pid = true;
    let (out, code) = shared.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    let procs = ps(&out);
    assert!(
        procs
            .first()
            .is_some_and(|p| p.0 == 1 && p.1.starts_with("{peapod-sandbox}")),
        "{out}"
    );
    assert_eq!(procs.len(), 3, "{out}");
    // Sharing needs a sandbox made for it.
    let mut spec = pod.sh("true");
    spec.share_pid = true;
    assert!(matches!(pod.run(&spec), Err(Error::Invalid(_))));
}
