//! Tests on real cgroups of this host (root). Each test owns a unique parent cgroup that a guard
//! removes even when the test fails, and kills and reaps only the children it started.

use super::*;
use serde_json::json;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BUSYBOX: &str = "/bin/busybox";

/// A private cgroup tree; dropping it removes the tree (children are dropped first, since
/// they are declared after it).
struct Tree {
    cgroups: Cgroups,
}

impl Tree {
    fn new() -> Tree {
        static N: AtomicUsize = AtomicUsize::new(0);
        require_root();
        let parent = format!(
            "peapod-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        Tree {
            cgroups: Cgroups::new(&parent).unwrap(),
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if let Err(e) = self.cgroups.parent().remove() {
            eprintln!("test cleanup: {e}");
        }
    }
}

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "cgroup tests need root (run the suite as root)"
    );
    assert!(
        std::path::Path::new(BUSYBOX).exists(),
        "{BUSYBOX} is missing: install busybox-static"
    );
}

/// A child we started: killed (by pid) and reaped on drop if still running.
struct Kid(Child);

impl Kid {
    fn spawn(cmd: &mut Command) -> Kid {
        Kid(cmd.spawn().unwrap())
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    fn wait_timeout(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < limit, "child {} still runs", self.pid());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        if self.0.try_wait().unwrap().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `busybox ARGS…` that joins `cg` between fork and exec.
fn busybox_in(cg: &Cgroup, args: &[&str]) -> Command {
    let paths = cg.procs_paths().unwrap();
    let mut cmd = Command::new(BUSYBOX);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
    // SAFETY: join_self only calls open/write/close.
    unsafe {
        cmd.pre_exec(move || paths.join_self());
    }
    cmd
}

fn gone(cg: &Cgroup) -> bool {
    cg.dirs().iter().all(|d| !d.exists())
}

#[test]
fn detection_agrees_with_the_host() {
    let layout = Layout::detect().unwrap();
    let unified = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    assert_eq!(layout.version == Version::V2, unified, "{layout:?}");
    for c in Controller::ALL {
        assert!(layout.root(c).is_dir(), "{c:?} at {:?}", layout.root(c));
    }
}

#[test]
fn names_must_be_single_safe_components() {
    let c = Cgroups::with_layout(Layout::v2("/nonexistent".into()), "a/b/").unwrap();
    assert_eq!(c.parent().path(), "/a/b");
    for bad in ["", "/", "x/../y", ".hidden"] {
        assert!(
            Cgroups::with_layout(Layout::v2("/x".into()), bad).is_err(),
            "{bad}"
        );
    }
    assert!(c.open_pod("../etc").is_err());
    assert!(c.open_pod("").is_err());
    let pod = c.open_pod("1b4e28ba-2fa1-11d2-883f-0016d3cca427").unwrap();
    assert_eq!(pod.path(), "/a/b/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    assert!(pod.open_container("a/b").is_err());
    assert_eq!(
        pod.open_container("tasks").unwrap().path(),
        "/a/b/pod1b4e28ba-2fa1-11d2-883f-0016d3cca427/ctr-tasks"
    );
    let e = CgroupError::Busy {
        cgroup: "/peapod/podx".into(),
        pids: vec![12, 13],
    };
    assert_eq!(
        e.to_string(),
        "cgroup /peapod/podx still has processes 12, 13: stop them before removing it"
    );
}

#[test]
fn limits_are_written_and_read_back_as_root() {
    let t = Tree::new();
    let pod = t.cgroups.pod("uid-limits").unwrap();
    let ctr = pod.container("app").unwrap();
    assert!(pod.exists() && ctr.exists());
    assert_eq!(
        pod.read("pids.max").unwrap(),
        "1024",
        "default pod pids limit"
    );

    let spec = json!({"name": "app", "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}});
    let k = K8sResources::from_container(&spec).unwrap();
    pod.apply(&Resources::for_pod(&[k], &[], t.cgroups.pod_pids_limit()))
        .unwrap();
    ctr.apply(&k.container()).unwrap();
    for cg in [&*pod, &*ctr] {
        match cg.version() {
            Version::V1 => {
                assert_eq!(cg.read("cpu.cfs_quota_us").unwrap(), "50000");
                assert_eq!(cg.read("cpu.cfs_period_us").unwrap(), "100000");
                assert_eq!(cg.read("cpu.shares").unwrap(), "512");
                assert_eq!(cg.read("memory.limit_in_bytes").unwrap(), "134217728");
            }
            Version::V2 => {
                assert_eq!(cg.read("cpu.max").unwrap(), "50000 100000");
                assert_eq!(cg.read("cpu.weight").unwrap(), "20");
                assert_eq!(cg.read("memory.max").unwrap(), "134217728");
            }
        }
    }
    assert_eq!(pod.read("pids.max").unwrap(), "1024");
    assert_eq!(ctr.read("pids.max").unwrap(), "max");
    let text = ctr.limits_text().unwrap();
    assert!(text.contains("134217728"), "{text}");

    // Applying "no limits" resets every file.
    ctr.apply(&Resources::default()).unwrap();
    let unlimited = ctr.limits().unwrap();
    assert!(
        !unlimited
            .iter()
            .any(|(_, v)| v.contains("134217728") || v == "50000")
    );

    assert_eq!(
        t.cgroups.pod_uids().unwrap(),
        vec!["uid-limits".to_string()]
    );
    pod.remove().unwrap();
    assert!(gone(&pod) && gone(&ctr));
    // Removing what is gone is fine.
    pod.remove().unwrap();
    t.cgroups
        .open_pod("never-created")
        .unwrap()
        .remove()
        .unwrap();
}

#[test]
fn a_process_joins_and_remove_refuses_while_it_lives_as_root() {
    let t = Tree::new();
    let pod = t.cgroups.pod("uid-procs").unwrap();
    let ctr = pod.container("sleeper").unwrap();
    let mut kid = Kid::spawn(Command::new(BUSYBOX).args(["sleep", "30"]));
    ctr.add_process(kid.pid()).unwrap();
    assert_eq!(ctr.procs().unwrap(), vec![kid.pid()]);
    assert!(
        pod.procs().unwrap().is_empty(),
        "the pod cgroup itself holds nobody"
    );
    assert_eq!(pod.procs_recursive().unwrap(), vec![kid.pid()]);
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", kid.pid())).unwrap();
    assert!(own.contains(&ctr.path()), "{own}");

    let e = pod.remove().unwrap_err();
    assert!(matches!(&e, CgroupError::Busy { pids, .. } if pids == &vec![kid.pid()]));
    assert!(e.to_string().contains(&kid.pid().to_string()), "{e}");
    assert!(ctr.exists(), "nothing was removed");
    assert!(kid.0.try_wait().unwrap().is_none(), "remove never kills");

    kid.stop();
    pod.remove().unwrap();
    assert!(gone(&pod) && gone(&ctr));
}

#[test]
fn usage_grows_for_a_busy_child_as_root() {
    let t = Tree::new();
    let pod = t.cgroups.pod("uid-usage").unwrap();
    let ctr = pod.container("spin").unwrap();
    let before = ctr.usage().unwrap();
    assert_eq!(before.pids, 0);
    let mut kid = Kid::spawn(&mut busybox_in(
        &ctr,
        &["sh", "-c", "a=x; while :; do a=$a; done"],
    ));
    std::thread::sleep(Duration::from_millis(400));
    let during = ctr.usage().unwrap();
    let pod_usage = pod.usage().unwrap();
    assert_eq!(ctr.procs().unwrap(), vec![kid.pid()]);
    assert!(
        during.cpu_usage_ns >= before.cpu_usage_ns + 50_000_000,
        "{before:?} → {during:?}"
    );
    assert!(during.memory_bytes > 0, "{during:?}");
    assert_eq!(during.pids, 1);
    assert!(
        pod_usage.cpu_usage_ns >= during.cpu_usage_ns,
        "the pod includes its containers"
    );
    kid.stop();
    pod.remove().unwrap();
}

#[test]
fn a_memory_hog_is_oom_killed_as_root() {
    let t = Tree::new();
    let pod = t.cgroups.pod("uid-oom").unwrap();
    let ctr = pod.container("hog").unwrap();
    let mut r = Resources::from_k8s(&json!({}), &json!({"memory": "64Mi"})).unwrap();
    assert_eq!(r.memory_limit, Some(64 << 20));
    ctr.apply(&r).unwrap();
    assert_eq!(ctr.oom_kills().unwrap(), 0);
    // Doubling a shell variable allocates without forking, so the shell is the only process
    // and the one the OOM killer picks.
    let mut kid = Kid::spawn(&mut busybox_in(
        &ctr,
        &["sh", "-c", "a=a; while :; do a=$a$a; done"],
    ));
    let status = kid.wait_timeout(Duration::from_secs(60));
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
    assert!(ctr.oom_kills().unwrap() >= 1);
    assert!(
        pod.oom_kills().unwrap() >= 1,
        "the pod counts its containers' kills"
    );
    // A fresh container of the same pod starts with no kills.
    r.memory_limit = None;
    let other = pod.container("other").unwrap();
    other.apply(&r).unwrap();
    assert_eq!(other.oom_kills().unwrap(), 0);
    pod.remove().unwrap();
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit_as_root() {
    let t = Tree::new();
    let pod = t.cgroups.pod("uid-forks").unwrap();
    let ctr = pod.container("bomb").unwrap();
    ctr.apply(&Resources {
        pids_limit: Some(64),
        ..Resources::default()
    })
    .unwrap();
    // The loop runs as init of its own pid namespace: when it dies at the limit, the kernel
    // kills and reaps every sleep it started, so nothing is left to the host's init.
    let script =
        "n=0; while [ $n -lt 500 ]; do /bin/busybox sleep 30 & n=$((n+1)); done; echo all started";
    let mut cmd = busybox_in(&ctr, &["unshare", "-p", "-f", BUSYBOX, "sh", "-c", script]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut kid = Kid::spawn(&mut cmd);
    let status = kid.wait_timeout(Duration::from_secs(60));
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    kid.0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    kid.0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "{status:?} {out} {err}");
    assert!(!out.contains("all started"), "{out}");
    assert!(err.contains("can't fork"), "{err}");
    let events = ctr.read("pids.events").unwrap();
    let refused: u64 = events
        .lines()
        .find_map(|l| l.strip_prefix("max "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused >= 1, "{events}");
    // Everything is gone and the host still forks.
    assert!(ctr.procs_recursive().unwrap().is_empty());
    assert_eq!(ctr.usage().unwrap().pids, 0);
    assert!(
        Command::new(BUSYBOX)
            .arg("true")
            .status()
            .unwrap()
            .success()
    );
    pod.remove().unwrap();
}

/// On this hybrid host the cgroup2 mount holds no controller of ours: using it as a v2 layout
/// must fail with a message, while the controller-free parts (joining, listing, removing) work
/// there with v2 semantics. Skips on hosts without such a mount (pure v1 or pure v2).
#[test]
fn the_hybrid_cgroup2_mount_is_refused_but_membership_works_there_as_root() {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let Some(mount) = text.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let point = pre.split(' ').nth(4)?;
        (post.starts_with("cgroup2 ") && point != "/sys/fs/cgroup").then(|| point.to_string())
    }) else {
        eprintln!("no secondary cgroup2 mount here: nothing to check");
        return;
    };
    require_root();
    let parent = format!("peapod-test-{}-v2", std::process::id());
    let cgroups = Cgroups::with_layout(Layout::v2(mount.clone().into()), &parent).unwrap();
    let e = cgroups.pod("uid").unwrap_err().to_string();
    assert!(e.contains("not available") && e.contains(&mount), "{e}");

    let cg = cgroups
        .open_pod("uid")
        .unwrap()
        .open_container("c")
        .unwrap();
    std::fs::create_dir_all(&cg.dirs()[0]).unwrap();
    struct Cleanup(Cgroup);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = self.0.remove();
            let _ = std::fs::remove_dir(self.0.dirs()[0].parent().unwrap());
            let _ = std::fs::remove_dir(self.0.dirs()[0].parent().unwrap().parent().unwrap());
        }
    }
    let _cleanup = Cleanup((*cg).clone());
    let mut kid = Kid::spawn(&mut busybox_in(&cg, &["sleep", "30"]));
    // spawn returns after exec, and the child joined before exec.
    assert_eq!(cg.procs().unwrap(), vec![kid.pid()]);
    assert!(matches!(cg.remove(), Err(CgroupError::Busy { .. })));
    kid.stop();
    cg.remove().unwrap();
    assert!(!cg.dirs()[0].exists());
}
