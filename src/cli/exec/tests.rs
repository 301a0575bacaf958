//! `exec` rules (pure) and root tests of the process side against a busybox container the
//! test starts itself (the shim lookup is not exercised here).

use super::*;
use crate::cli::args::Command;
use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
use crate::node::probe::tests::busybox_rootfs;
use crate::runtime::container::{Child, ContainerSpec, Rootfs, spawn};
use crate::runtime::sandbox::{Sandbox, SandboxOptions};
use serde_json::json;
use std::io::{Read, Write};

fn pod(phase: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {"initContainers": [{"name": "init"}],
                 "containers": [{"name": "app", "workingDir": "/srv"}, {"name": "side"}]},
        "status": {"phase": phase}})
}

#[test]
fn parses_kubectl_style() {
    let Command::Exec(a) = parse(&["exec", "web", "-c", "app", "-it", "--", "sh", "-c", "ls -l"])
    else {
        panic!()
    };
    assert_eq!(
        (a.pod.as_str(), a.container.as_deref(), a.stdin, a.tty),
        ("web", Some("app"), true, true)
    );
    assert_eq!(a.command, ["sh", "-c", "ls -l"]);
    let Command::Exec(a) = parse(&["exec", "pod/web", "--", "ls", "-la"]) else {
        panic!()
    };
    assert_eq!(
        (a.pod.as_str(), a.command.len(), a.tty),
        ("pod/web", 2, false)
    );
}

#[test]
fn pod_names() {
    assert_eq!(pod_name("web").unwrap(), "web");
    assert_eq!(pod_name("po/web").unwrap(), "web");
    assert_eq!(pod_name("pods/web").unwrap(), "web");
    assert!(pod_name("deploy/web").is_err());
}

#[test]
fn container_choice() {
    assert_eq!(
        choose_container(&pod("Running"), None).unwrap(),
        (
            "app".to_string(),
            Some("Defaulted container \"app\" out of: app, side, init (init)".to_string())
        )
    );
    assert_eq!(
        choose_container(&pod("Running"), Some("side")).unwrap(),
        ("side".to_string(), None)
    );
    assert_eq!(
        choose_container(&pod("Pending"), Some("init")).unwrap().0,
        "init"
    );
    assert_eq!(
        choose_container(&pod("Running"), Some("nope"))
            .unwrap_err()
            .line()
            .unwrap(),
        "Error from server (BadRequest): container nope is not valid for pod web"
    );
    assert_eq!(
        choose_container(&pod("Succeeded"), None)
            .unwrap_err()
            .line()
            .unwrap(),
        "error: cannot exec into a container in a completed pod; current phase is Succeeded"
    );
}

#[test]
fn verb_errors_before_the_shim() {
    let c = FakeCluster::default();
    c.insert(pod("Failed"));
    let Command::Exec(a) = parse(&["exec", "web", "--", "ls"]) else {
        panic!()
    };
    let (code, _, err) = run_verb!(|io| run(&c, &ctx(), a, io));
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: cannot exec into a container in a completed pod; current phase is Failed\n"
        )
    );
    let Command::Exec(a) = parse(&["exec", "web"]) else {
        panic!()
    };
    let (code, _, err) = run_verb!(|io| run(&c, &ctx(), a, io));
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: you must specify at least one command for the container\n"
        )
    );
    let Command::Exec(a) = parse(&["exec", "nope", "--", "ls"]) else {
        panic!()
    };
    let (_, _, err) = run_verb!(|io| run(&c, &ctx(), a, io));
    assert_eq!(
        err,
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
}

// ---- root tests -----------------------------------------------------------------------

/// A sandbox with one long-running busybox container (cwd /tmp) to exec into.
struct Target {
    _tmp: tempfile::TempDir,
    sandbox: Option<Sandbox>,
    child: Option<Child>,
}

impl Target {
    fn start() -> Target {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("rootfs");
        busybox_rootfs(&root);
        let sandbox = Sandbox::create(SandboxOptions {
            hostname: "execbox".into(),
            share_pid: false,
            host_network: false,
        })
        .unwrap();
        let mut spec =
            ContainerSpec::new(Rootfs::Dir(root), vec!["/bin/sleep".into(), "600".into()]);
        spec.env = vec!["PATH=/bin".into(), "GREETING=hi there".into()];
        spec.cwd = "/tmp".into();
        let child = spawn(&spec, &sandbox, Stdio::default()).unwrap();
        Target {
            _tmp: tmp,
            sandbox: Some(sandbox),
            child: Some(child),
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().pid
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            let _ = c.signal(libc::SIGKILL);
            let _ = c.wait();
        }
        if let Some(sb) = self.sandbox.take() {
            sb.destroy().unwrap();
        }
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    sys::report_pipe().unwrap()
}

fn read_all(fd: OwnedFd) -> String {
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).unwrap();
    s
}

fn spec_for(b: &Target, argv: &[&str], tty: bool) -> ExecSpec {
    ExecSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: container_env(b.pid()),
        cwd: working_dir(&json!({}), "c", b.pid()),
        tty,
        rlimits: Vec::new(),
    }
}

#[test]
fn plain_exec_streams_env_cwd_and_exit_code_as_root() {
    let b = Target::start();
    let env = container_env(b.pid());
    assert!(env.contains(&"GREETING=hi there".to_string()), "{env:?}");
    assert_eq!(working_dir(&json!({}), "c", b.pid()), "/tmp");
    assert_eq!(working_dir(&pod("Running"), "app", b.pid()), "/srv");

    // stdin (-i) goes to the command; stdout and stderr are ours.
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    std::fs::File::from(in_w)
        .write_all(b"from stdin\n")
        .unwrap();
    let spec = spec_for(
        &b,
        &[
            "sh",
            "-c",
            "cat; pwd; echo $GREETING; hostname; echo oops >&2; exit 3",
        ],
        false,
    );
    let code = run_plain(
        b.pid(),
        &spec,
        Some(in_r.as_fd()),
        out_w.as_fd(),
        err_w.as_fd(),
    )
    .unwrap();
    drop((in_r, out_w, err_w));
    assert_eq!(code, 3);
    assert_eq!(read_all(out_r), "from stdin\n/tmp\nhi there\nexecbox\n");
    assert_eq!(read_all(err_r), "oops\n");

    // Without -i stdin is empty.
    let (out_r, out_w) = pipe();
    let spec = spec_for(&b, &["sh", "-c", "cat; echo end"], false);
    let code = run_plain(b.pid(), &spec, None, out_w.as_fd(), out_w.as_fd()).unwrap();
    drop(out_w);
    assert_eq!((code, read_all(out_r).as_str()), (0, "end\n"));

    let spec = spec_for(&b, &["nosuch"], false);
    let (_, out_w) = pipe();
    let err = run_plain(b.pid(), &spec, None, out_w.as_fd(), out_w.as_fd()).unwrap_err();
    assert!(err.contains("nosuch"), "{err}");
}

#[test]
fn terminal_exec_has_a_pty_with_the_window_size_as_root() {
    let b = Target::start();
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = open_pty(Some(&size)).unwrap();
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    std::fs::File::from(in_w)
        .write_all(b"stty size; test -t 0 && echo tty-$((1+1)); exit 7\n")
        .unwrap();
    let spec = spec_for(&b, &["sh"], true);
    let code = pty_session(b.pid(), &spec, pty, Some(in_r), out_w).unwrap();
    let out = read_all(out_r);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("40 100"), "{out}");
    assert!(out.contains("tty-2"), "{out}");

    // A resize reaches the command's terminal.
    let pty = open_pty(None).unwrap();
    set_window_size(
        pty.master.as_fd(),
        &libc::winsize {
            ws_row: 50,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    );
    let (out_r, out_w) = pipe();
    let spec = spec_for(&b, &["stty", "size"], true);
    let code = pty_session(b.pid(), &spec, pty, None, out_w).unwrap();
    assert_eq!((code, read_all(out_r).trim()), (0, "50 120"));
}
