//! Capabilities, users, read-only and masked paths, mounts, errors, rlimits and exec_in.

use super::*;

fn status_field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn capabilities_default_added_dropped_privileged_as_root() {
    let pod = Pod::new("pod-caps", false);
    let out = pod.output("cat /proc/1/status");
    for f in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(&out, f), "00000000a80425fb", "{f}");
    }
    assert_eq!(status_field(&out, "CapInh:"), "0000000000000000");
    assert_eq!(status_field(&out, "CapAmb:"), "0000000000000000");
    assert_eq!(status_field(&out, "NoNewPrivs:"), "0");

    let mut spec = pod.sh("cat /proc/1/status");
    spec.capabilities = Capabilities {
        add: vec!["NET_ADMIN".into()],
        drop: vec!["CHOWN".into()],
    };
    spec.no_new_privs = true;
    let (out, _) = pod.run(&spec).unwrap();
    assert_eq!(status_field(&out, "CapEff:"), "00000000a80435fa");
    assert_eq!(status_field(&out, "CapBnd:"), "00000000a80435fa");
    assert_eq!(status_field(&out, "NoNewPrivs:"), "1");

    // Privileged: everything peapod itself holds (here all but CAP_SYS_RESOURCE).
    let mut spec =
        pod.sh("cat /proc/1/status; echo 1 > /proc/sys/kernel/hostname && echo sys-writable");
    spec.privileged = true;
    let (out, _) = pod.run(&spec).unwrap();
    let own = format!(
        "{:016x}",
        sys::own_permitted_caps().unwrap() & caps::all(caps::last_cap())
    );
    assert_eq!(status_field(&out, "CapEff:"), own);
    assert!(
        out.contains("sys-writable"),
        "privileged has no read-only /proc/sys: {out}"
    );

    let mut spec = pod.sh("true");
    spec.capabilities.add = vec!["NET_ADMINZ".into()];
    let err = pod.run(&spec).unwrap_err().to_string();
    assert!(err.contains("capabilities.add[0]"), "{err}");
}

#[test]
fn run_as_user_and_working_dir_as_root() {
    let pod = Pod::new("pod-user", false);
    let mut spec = pod.sh(
        "id -u; id -g; id -G; pwd; grep CapEff /proc/self/status; touch /x 2>&1 || echo denied",
    );
    spec.user = User {
        uid: 1000,
        gid: 3000,
        additional_gids: vec![2000],
    };
    spec.cwd = "/work/dir".into();
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    let l = lines(&out);
    // A non-root user keeps the bounding set but no effective capabilities after exec,
    // exactly as in Kubernetes.
    assert_eq!(
        &l[..5],
        [
            "1000",
            "3000",
            "3000 2000",
            "/work/dir",
            "CapEff:\t0000000000000000"
        ]
    );
    assert_eq!(l.last(), Some(&"denied"), "{out}");
}

#[test]
fn readonly_rootfs_refuses_writes_as_root() {
    let pod = Pod::new("pod-ro", false);
    let mut spec = pod.sh("touch /x 2>&1; echo rc=$?; touch /scratch/y && echo scratch-ok; touch /dev/shm/z && echo shm-ok");
    spec.readonly_rootfs = true;
    spec.mounts = vec![Mount {
        source: PathBuf::new(),
        destination: "/scratch".into(),
        kind: MountKind::Tmpfs {
            size: Some(1 << 20),
            mode: Some(0o700),
        },
    }];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert!(
        out.contains("scratch-ok") && out.contains("shm-ok"),
        "{out}"
    );
    assert!(!pod.path("rootfs/x").exists());
}

#[test]
fn overlay_writes_go_to_upper_and_lowerdirs_stay_untouched_as_root() {
    let pod = Pod::new("pod-overlay", false);
    let top = pod.path("layer-top");
    std::fs::create_dir_all(top.join("data")).unwrap();
    std::fs::write(top.join("data/a"), "from the top layer\n").unwrap();
    std::fs::write(top.join("data/b"), "keep\n").unwrap();
    for d in ["upper", "work", "merged"] {
        std::fs::create_dir(pod.path(d)).unwrap();
    }
    let rootfs = Rootfs::Overlay {
        lowerdirs: vec![top.clone(), pod.path("rootfs")],
        upper: pod.path("upper"),
        work: pod.path("work"),
        merged: pod.path("merged"),
    };
    let mut spec = pod.sh("cat /data/a; echo new > /new; rm /data/a; cat /data/a 2>/dev/null || echo gone; cat /data/b");
    spec.rootfs = rootfs;
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(
        (code, lines(&out)),
        (0, vec!["from the top layer", "gone", "keep"]),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(pod.path("upper/new")).unwrap(),
        "new\n"
    );
    // rm of a lower file leaves a whiteout (a 0:0 character device) in upper.
    let meta = std::fs::symlink_metadata(pod.path("upper/data/a")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &meta.file_type()
    ));
    assert_eq!(
        std::fs::read_to_string(top.join("data/a")).unwrap(),
        "from the top layer\n"
    );
    assert!(!pod.path("rootfs/new").exists() && !top.join("new").exists());
    assert_eq!(
        std::fs::read_dir(pod.path("merged")).unwrap().count(),
        0,
        "merged is only a mount point"
    );
}

#[test]
fn masked_and_readonly_paths_as_root() {
    let pod = Pod::new("pod-mask", false);
    // Which of the masked paths exist depends on the kernel's config; check those that do.
    let present: Vec<_> = DEFAULT_MASKED_PATHS
        .iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    assert!(present.len() >= 2, "{present:?}");
    let script = format!(
        "for p in {}; do if [ -d $p ]; then echo $p $(ls $p | wc -l); else echo $p $(wc -c < $p); fi; done; \
         echo hacked > /proc/sys/kernel/hostname; echo rc=$?; hostname",
        present
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = pod.output(&script);
    let l = lines(&out);
    let want: Vec<_> = present.iter().map(|p| format!("{p} 0")).collect();
    assert_eq!(&l[..present.len()], want, "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert_eq!(l.last(), Some(&"pod-mask"));
}

#[test]
fn bind_and_tmpfs_mounts_as_root() {
    let pod = Pod::new("pod-mounts", false);
    std::fs::create_dir(pod.path("vol")).unwrap();
    std::fs::write(pod.path("vol/f"), "volume data\n").unwrap();
    std::fs::write(pod.path("single"), "one file\n").unwrap();
    let mut spec = pod.sh(
        "cat /data/f /etc/single; touch /data/g 2>&1; echo rc=$?; grep ' /scratch ' /proc/mounts",
    );
    spec.mounts = vec![
        Mount {
            source: PathBuf::new(),
            destination: "/scratch".into(),
            kind: MountKind::Tmpfs {
                size: Some(1 << 20),
                mode: Some(0o700),
            },
        },
        Mount {
            source: pod.path("vol"),
            destination: "/data".into(),
            kind: MountKind::Bind { readonly: true },
        },
        Mount {
            source: pod.path("single"),
            destination: "/etc/single".into(),
            kind: MountKind::Bind { readonly: false },
        },
    ];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("volume data\none file\n"), "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert!(
        out.contains("size=1024k") && out.contains("mode=700"),
        "{out}"
    );
    assert!(!pod.path("vol/g").exists());
}

#[test]
fn mount_targets_cannot_escape_the_rootfs_as_root() {
    let pod = Pod::new("pod-escape", false);
    let outside = pod.path("outside");
    std::fs::create_dir(&outside).unwrap();
    // The image points /escape at a host directory and /etc/hosts at a host file.
    std::os::unix::fs::symlink(&outside, pod.path("rootfs/escape")).unwrap();
    std::fs::create_dir(pod.path("rootfs/etc")).unwrap();
    std::os::unix::fs::symlink(outside.join("hosts"), pod.path("rootfs/etc/hosts")).unwrap();
    std::fs::write(pod.path("hosts"), "127.0.0.1 localhost\n").unwrap();
    let mut spec = pod.sh("cat /etc/hosts");
    spec.etc.hosts = Some(pod.path("hosts"));
    spec.mounts = vec![Mount {
        source: PathBuf::new(),
        destination: "/escape/sub".into(),
        kind: MountKind::Tmpfs {
            size: None,
            mode: None,
        },
    }];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!((code, out.as_str()), (0, "127.0.0.1 localhost\n"));
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing was created on the host"
    );
    // Both were resolved inside the rootfs instead.
    let inside = pod.path("rootfs").join(outside.strip_prefix("/").unwrap());
    assert!(inside.join("sub").is_dir() && inside.join("hosts").is_file());
}

#[test]
fn errors_reach_the_caller_as_root() {
    let pod = Pod::new("pod-errors", false);
    let run_err = |spec: &ContainerSpec| pod.run(spec).unwrap_err();
    let mut spec = pod.sh("");
    spec.argv = vec!["/bin/nosuch".into()];
    let err = run_err(&spec);
    assert!(matches!(err, Error::Exec(_)));
    assert_eq!(
        err.to_string(),
        "exec \"/bin/nosuch\": No such file or directory"
    );
    spec.argv = vec!["nosuch".into()];
    assert_eq!(
        run_err(&spec).to_string(),
        "exec \"nosuch\": executable file not found in $PATH"
    );
    std::fs::write(pod.path("rootfs/notexec"), "data").unwrap();
    spec.argv = vec!["/notexec".into()];
    assert_eq!(
        run_err(&spec).to_string(),
        "exec \"/notexec\": Permission denied"
    );

    let mut spec = pod.sh("true");
    let missing = pod.path("no-such-volume");
    spec.mounts = vec![Mount {
        source: missing.clone(),
        destination: "/data".into(),
        kind: MountKind::Bind { readonly: false },
    }];
    let err = run_err(&spec);
    assert!(matches!(err, Error::Setup(_)));
    assert_eq!(
        err.to_string(),
        format!(
            "bind {} on /data: No such file or directory",
            missing.display()
        )
    );

    let mut spec = pod.sh("true");
    let merged = pod.path("merged");
    spec.rootfs = Rootfs::Overlay {
        lowerdirs: vec![pod.path("no-layer")],
        upper: pod.path("u"),
        work: pod.path("w"),
        merged: merged.clone(),
    };
    std::fs::create_dir(&merged).unwrap();
    let err = run_err(&spec).to_string();
    assert!(
        err.starts_with(&format!("mount overlay on {}: ", merged.display())),
        "{err}"
    );

    let mut spec = pod.sh("true");
    spec.mounts = vec![Mount {
        source: PathBuf::new(),
        destination: "data".into(),
        kind: MountKind::Tmpfs {
            size: None,
            mode: None,
        },
    }];
    assert_eq!(
        run_err(&spec).to_string(),
        "mounts[0].destination \"data\": must be an absolute path"
    );
}

#[test]
fn rlimits_below_the_hard_limit_as_root() {
    let pod = Pod::new("pod-rlimit", false);
    let mut spec = pod.sh("ulimit -n; ulimit -Hn");
    spec.rlimits = vec![Rlimit {
        resource: RlimitResource::Nofile,
        soft: 100,
        hard: 200,
    }];
    let (out, code) = pod.run(&spec).unwrap();
    assert_eq!((code, lines(&out)), (0, vec!["100", "200"]));

    let (_, host_hard) = sys::get_rlimit(libc::RLIMIT_NOFILE as libc::c_int).unwrap();
    spec.rlimits = vec![Rlimit {
        resource: RlimitResource::Nofile,
        soft: 100,
        hard: host_hard + 1,
    }];
    let err = pod.run(&spec).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)));
    let err = err.to_string();
    assert!(
        err.contains("RLIMIT_NOFILE") && err.contains("above this host's hard limit"),
        "{err}"
    );
    assert_eq!(
        RlimitResource::from_name("nofile"),
        Some(RlimitResource::Nofile)
    );
}

/// A throwaway cgroup v1 pids cgroup, removed on drop (this host has cgroup v1 controllers).
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The kernel refuses while tasks remain; all were reaped before we get here.
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn exec_in_joins_the_containers_namespaces_and_cgroup_as_root() {
    let pod = Pod::new("pod-exec", false);
    std::fs::write(pod.path("rootfs/marker"), "inside the rootfs\n").unwrap();
    let cg = TestCgroup(PathBuf::from(format!(
        "/sys/fs/cgroup/pids/peapod-test-{}",
        std::process::id()
    )));
    std::fs::create_dir(&cg.0).unwrap();
    let mut spec = pod.sh("");
    spec.argv = vec!["/bin/sleep".into(), "60".into()];
    spec.user = User {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![],
    };
    spec.cgroup_procs = vec![cg.0.join("cgroup.procs")];
    let main = pod.start(&spec).unwrap();
    // The container may still be on its way to exec `sleep` (a loaded machine): the check
    // below reads its command line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read(format!("/proc/{}/cmdline", main.pid()))
        .is_ok_and(|c| !c.starts_with(b"/bin/sleep"))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let exec = ExecSpec {
        argv: vec!["sh".into(), "-c".into(), "hostname; id -u; cat /marker; cat /proc/1/cmdline | tr '\\0' ' '; echo; grep pids /proc/self/cgroup; ps | wc -l".into()],
        env: vec!["PATH=/bin".into()],
        cwd: "/tmp".into(),
        ..ExecSpec::default()
    };
    let (r, w) = sys::report_pipe().unwrap();
    let child = exec_in(
        main.pid(),
        &exec,
        Stdio {
            stdin: None,
            stdout: Some(w.as_fd()),
            stderr: Some(w.as_fd()),
        },
    )
    .unwrap();
    drop(w);
    let (out, code) = finish(child, r);
    assert_eq!(code, 0, "{out}");
    let cgroup_line = format!("pids:/peapod-test-{}", std::process::id());
    let l = lines(&out);
    assert_eq!(
        &l[..4],
        ["pod-exec", "1000", "inside the rootfs", "/bin/sleep 60"],
        "{out}"
    );
    assert!(l[4].ends_with(&cgroup_line), "{out}");
    // ps header + sleep + sh + ps + wc: the container's pid namespace.
    assert_eq!(l[5], "5", "{out}");

    main.kill();
    let pid = main.pid();
    main.finish();
    let err = exec_in(pid, &exec, Stdio::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("not running"), "{err}");
}

/// Not a timed assertion: prints the median of sandbox create + spawn `/bin/true` + wait +
/// destroy. Run with `cargo test --release --lib spawn_latency -- --ignored --nocapture`.
#[test]
#[ignore]
fn spawn_latency_as_root() {
    let tmp = tempfile::tempdir().unwrap();
    busybox_rootfs(tmp.path());
    let spec = ContainerSpec::new(
        Rootfs::Dir(tmp.path().to_path_buf()),
        vec!["/bin/true".into()],
    );
    let (mut total, mut create, mut spawn_wait) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..100 {
        let t0 = Instant::now();
        let sb = Sandbox::create(SandboxOptions {
            hostname: "bench".into(),
            share_pid: false,
            host_network: false,
        })
        .unwrap();
        let t1 = Instant::now();
        let child = spawn(&spec, &sb, Stdio::default()).unwrap();
        assert!(child.wait().unwrap().success());
        let t2 = Instant::now();
        sb.destroy().unwrap();
        total.push(t2 - t0);
        create.push(t1 - t0);
        spawn_wait.push(t2 - t1);
    }
    let stats = |v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "median {:.3} ms, p90 {:.3}, min {:.3}, max {:.3}",
            ms(v[v.len() / 2]),
            ms(v[v.len() * 9 / 10]),
            ms(v[0]),
            ms(v[v.len() - 1])
        )
    };
    eprintln!("sandbox create:          {}", stats(&mut create));
    eprintln!("spawn /bin/true + wait:  {}", stats(&mut spawn_wait));
    eprintln!("create + spawn + wait:   {}", stats(&mut total));
}
