use super::*;
use crate::cli::args::Command;
use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
use crate::cluster::embedded::EmbeddedCluster;
use crate::cluster::logs::container_dir;
use crate::runtime::logs::{LogWriter, Rotation, Stream};
use crate::store::{Store, StoreOptions};
use serde_json::json;
use std::sync::Arc;

fn logs_args(args: &[&str]) -> LogsArgs {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    match parse(&all) {
        Command::Logs(a) => a,
        _ => panic!("not logs"),
    }
}

#[test]
fn parses_every_flag() {
    let a = logs_args(&[
        "-l",
        "app=web",
        "--all-containers",
        "--prefix",
        "--max-log-requests",
        "7",
        "--since-time",
        "2024-05-01T12:00:00Z",
        "--limit-bytes",
        "100",
        "--ignore-errors",
        "--tail=-1",
        "-p",
        "--timestamps",
    ]);
    assert_eq!(a.selector.as_deref(), Some("app=web"));
    assert!(a.all_containers && a.prefix && a.ignore_errors && a.previous && a.timestamps);
    assert_eq!(
        (a.max_log_requests, a.limit_bytes, a.tail),
        (7, 100, Some(-1))
    );
    let o = base_options(&a).unwrap();
    assert_eq!(
        o.tail_lines, None,
        "--tail=-1 given: everything, even with -l"
    );
    assert_eq!(o.since_time.as_deref(), Some("2024-05-01T12:00:00Z"));
    assert_eq!(o.limit_bytes, Some(100));

    let a = logs_args(&["deploy/web", "side"]);
    assert_eq!(a.max_log_requests, 5);
    assert_eq!(
        source_and_container(&a).unwrap(),
        (
            Source::Object {
                resource: "deploy".into(),
                name: "web".into()
            },
            Some("side".into())
        )
    );
    let a = logs_args(&["-l", "app=web", "--since", "90s"]);
    let o = base_options(&a).unwrap();
    assert_eq!((o.tail_lines, o.since_seconds), (Some(10), Some(90)));
}

#[test]
fn refuses_what_kubectl_refuses() {
    let err = |args: &[&str]| {
        let a = logs_args(args);
        match source_and_container(&a).and_then(|_| base_options(&a)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{args:?} accepted"),
        }
    };
    assert_eq!(
        err(&["-l", "a=b", "web"]),
        "only a selector (-l) or a POD name is allowed"
    );
    assert_eq!(
        err(&["web", "c", "-c", "d"]),
        "only one of -c or an inline [CONTAINER] arg is allowed"
    );
    assert_eq!(err(&[]), USAGE);
    assert_eq!(
        err(&["web", "--all-containers", "-c", "x"]),
        "--all-containers=true should not be specified with container name x"
    );
    assert_eq!(
        err(&[
            "web",
            "--since",
            "1m",
            "--since-time",
            "2024-05-01T12:00:00Z"
        ]),
        "at most one of `sinceTime` or `sinceSeconds` may be specified"
    );
    assert_eq!(
        err(&["web", "--tail", "-2"]),
        "--tail must be greater than or equal to -1"
    );
    assert!(err(&["web", "--since-time", "noon"]).contains("RFC3339"));
    assert!(err(&["web", "--limit-bytes", "-1"]).contains("greater than 0"));
}

#[test]
fn default_container_rules() {
    let p =
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    assert_eq!(
        default_container(&p),
        (
            Some("a".into()),
            vec!["Defaulted container \"a\" out of: a, b".to_string()]
        )
    );
    let mut p2 = p.clone();
    p2["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/default-container": "b"});
    assert_eq!(default_container(&p2), (Some("b".into()), vec![]));
    p2["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/default-container": "zz"});
    assert_eq!(
        default_container(&p2).1,
        vec![
            "Default container name \"zz\" not found in pod p".to_string(),
            "Defaulted container \"a\" out of: a, b".to_string()
        ]
    );
    let one = json!({"spec": {"containers": [{"name": "x"}]}});
    assert_eq!(default_container(&one), (Some("x".into()), vec![]));
    // One container but also init and ephemeral ones: kubectl says it chose.
    let mixed = json!({"spec": {"containers": [{"name": "x"}], "initContainers": [{"name": "i"}],
        "ephemeralContainers": [{"name": "dbg"}]}});
    assert_eq!(
        default_container(&mixed).1,
        vec!["Defaulted container \"x\" out of: x, dbg (ephem), i (init)".to_string()]
    );
}

#[test]
fn passes_options_to_the_cluster() {
    let c = FakeCluster::default();
    c.insert(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "app"}, {"name": "side"}]}}));
    *c.log_text.lock().unwrap() = "one\ntwo\n".into();
    let a = logs_args(&["pod/web", "--tail", "5", "--since", "90s", "-f"]);
    let (code, out, err) = run_verb!(|io| run(&c, &ctx(), a, io));
    assert_eq!((code, out.as_str()), (0, "one\ntwo\n"));
    assert_eq!(err, "Defaulted container \"app\" out of: app, side\n");
    let call = c
        .calls()
        .into_iter()
        .find(|l| l.starts_with("logs"))
        .unwrap();
    assert!(
        call.contains("container: Some(\"app\")")
            && call.contains("tail_lines: Some(5)")
            && call.contains("since_seconds: Some(90)")
            && call.contains("follow: true"),
        "{call}"
    );
    let a = logs_args(&["nope", "side"]);
    let (code, _, err) = run_verb!(|io| run(&c, &ctx(), a, io));
    assert_eq!(
        (code, err.as_str()),
        (1, "Error from server (NotFound): pods \"nope\" not found\n")
    );
    let a = logs_args(&["web", "-c", "nope"]);
    let (code, _, err) = run_verb!(|io| run(&c, &ctx(), a, io));
    assert_eq!(
        (code, err.as_str()),
        (1, "error: container nope is not valid for pod web\n")
    );
}

/// An embedded cluster with pods web-1 and web-2 (app=web; containers app and side, init
/// container setup) whose logs the runtime's writer wrote.
struct Env {
    _dir: tempfile::TempDir,
    c: EmbeddedCluster,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let logs = dir.path().join("logs");
    let c = EmbeddedCluster::new(store, logs.clone());
    let k = kinds::lookup("pods").unwrap();
    for (name, ready) in [("web-1", "False"), ("web-2", "True")] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1",
                "initContainers": [{"name": "setup", "image": "busybox"}],
                "containers": [{"name": "app", "image": "busybox"}, {"name": "side", "image": "busybox"}]}});
        let mut pod = c.store().create(pod, &Default::default()).unwrap();
        let pod = Arc::make_mut(&mut pod);
        let done = json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        let statuses: Vec<Value> = ["app", "side"]
            .iter()
            .map(|n| json!({"name": n, "restartCount": 0, "state": done}))
            .collect();
        pod["status"] = json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": ready}],
            "initContainerStatuses": [{"name": "setup", "restartCount": 0, "state": done}],
            "containerStatuses": statuses});
        c.store().update_status(pod.clone()).unwrap();
        let pod = c.store().get(k, Some("default"), name).unwrap();
        let lines =
            |c: &str, n: usize| -> String { (0..n).map(|i| format!("{name} {c} {i}\n")).collect() };
        for (container, text) in [
            ("setup", lines("setup", 1)),
            ("app", lines("app", 12)),
            ("side", lines("side", 1)),
        ] {
            let mut w = LogWriter::open(
                &container_dir(&logs, &pod, container),
                0,
                Rotation::default(),
            )
            .unwrap();
            w.write(Stream::Stdout, text.as_bytes()).unwrap();
            w.flush().unwrap();
        }
    }
    Env { _dir: dir, c }
}

fn run_on(e: &Env, args: &[&str]) -> (i32, String, String) {
    let a = logs_args(args);
    run_verb!(|io| run(&e.c, &ctx(), a, io))
}

#[test]
fn reads_pods_containers_and_controllers() {
    let e = env();
    let (code, out, err) = run_on(&e, &["web-1", "--tail", "1"]);
    assert_eq!((code, out.as_str()), (0, "web-1 app 11\n"));
    assert_eq!(
        err,
        "Defaulted container \"app\" out of: app, side, setup (init)\n"
    );

    let (code, out, _) = run_on(&e, &["web-1", "--all-containers", "--prefix", "--tail=1"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "[pod/web-1/setup] web-1 setup 0\n[pod/web-1/app] web-1 app 11\n[pod/web-1/side] web-1 side 0\n"
    );

    // A selector shows the last 10 lines of each pod.
    let (code, out, err) = run_on(&e, &["-l", "app=web", "-c", "app", "--prefix"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20, "{out}");
    assert_eq!(lines[0], "[pod/web-1/app] web-1 app 2");
    assert_eq!(lines[19], "[pod/web-2/app] web-2 app 11");

    let (code, out, err) = run_on(&e, &["-l", "app=nothing"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "", "No resources found in default namespace.\n")
    );

    // A deployment: the ready pod is the one kubectl picks.
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "busybox"}]}}}});
    e.c.store().create(deploy, &Default::default()).unwrap();
    let (code, out, err) = run_on(&e, &["deploy/web", "-c", "side"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "web-2 side 0\n", "Found 2 pods, using pod/web-2\n")
    );
    let (code, _, err) = run_on(&e, &["deploy/nope"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error from server (NotFound): deployments.apps \"nope\" not found\n"
        )
    );
}

#[test]
fn errors_and_follow_limits() {
    let e = env();
    std::fs::remove_dir_all(container_dir(
        &e._dir.path().join("logs"),
        &e.c.store()
            .get(kinds::lookup("pods").unwrap(), Some("default"), "web-1")
            .unwrap(),
        "side",
    ))
    .unwrap();
    let (code, _, err) = run_on(&e, &["web-1", "-c", "side"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error from server (BadRequest): container \"side\" in pod \"web-1\" is terminated\n"
        )
    );
    let (code, _, err) = run_on(&e, &["web-1", "-c", "app", "--previous"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "Error from server (BadRequest): previous terminated container \"app\" in pod \"web-1\" not found\n"
        )
    );
    let (code, _, err) = run_on(&e, &["-l", "app=web", "--all-containers", "-f"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: you are attempting to follow 6 log streams, but maximum allowed concurrency is 5, use --max-log-requests to increase the limit\n"
        )
    );
    // --ignore-errors reports the failed container and reads the others.
    let (code, out, _) = run_on(
        &e,
        &["web-1", "--all-containers", "--ignore-errors", "--tail=1"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "web-1 setup 0\nweb-1 app 11\nerror: container \"side\" in pod \"web-1\" is terminated\n"
    );
    // Followed together; every container has terminated, so the follow ends.
    let (code, out, _) = run_on(
        &e,
        &["-l", "app=web", "-c", "app", "-f", "--prefix", "--tail=2"],
    );
    assert_eq!(code, 0);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "[pod/web-1/app] web-1 app 10",
            "[pod/web-1/app] web-1 app 11",
            "[pod/web-2/app] web-2 app 10",
            "[pod/web-2/app] web-2 app 11"
        ]
    );
}
