//! Logs written by the runtime's `LogWriter`, read back through `EmbeddedCluster::logs`.

use crate::api::error::{ApiResult, Reason};
use crate::api::kinds::lookup;
use crate::api::request::{LogOptions, WriteOptions};
use crate::cluster::Cluster;
use crate::cluster::embedded::EmbeddedCluster;
use crate::cluster::logs::container_dir;
use crate::runtime::logs::{LogWriter, MAX_RECORD, Rotation, Stream};
use crate::store::{Store, StoreOptions};
use futures::StreamExt;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

struct Env {
    _dir: tempfile::TempDir,
    c: EmbeddedCluster,
    logs: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("s.redb"), StoreOptions::default()).unwrap());
    let logs = dir.path().join("logs");
    Env {
        c: EmbeddedCluster::new(store, logs.clone()),
        logs,
        _dir: dir,
    }
}

fn containers(names: &[&str]) -> Value {
    names
        .iter()
        .map(|n| json!({"name": n, "image": "busybox:1.36"}))
        .collect()
}

impl Env {
    async fn pod(&self, name: &str, main: &[&str], init: &[&str]) -> Value {
        let mut spec = json!({"containers": containers(main)});
        if !init.is_empty() {
            spec["initContainers"] = containers(init);
        }
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec});
        self.c.create(pod, &WriteOptions::default()).await.unwrap()
    }

    /// Set one container's status (`state`, `restartCount`, `lastState`).
    async fn status(&self, pod: &str, container: Value) {
        let k = lookup("pods").unwrap();
        let mut p = self.c.get(k, Some("default"), pod).await.unwrap();
        p["status"] = json!({"phase": "Running", "containerStatuses": [container]});
        self.c.update_status(p).await.unwrap();
    }

    fn dir(&self, pod: &Value, container: &str) -> PathBuf {
        container_dir(&self.logs, pod, container)
    }

    fn writer(&self, pod: &Value, container: &str, run: u32, rotation: Rotation) -> LogWriter {
        LogWriter::open(&self.dir(pod, container), run, rotation).unwrap()
    }

    async fn read(&self, pod: &str, opts: &LogOptions) -> ApiResult<String> {
        let mut s = self.c.logs("default", pod, opts).await?;
        let mut out = String::new();
        while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), s.next())
            .await
            .expect("the log stream ended in time")
        {
            out.push_str(std::str::from_utf8(&chunk?).unwrap());
        }
        Ok(out)
    }
}

fn write(w: &mut LogWriter, text: &str) {
    w.write(Stream::Stdout, text.as_bytes()).unwrap();
    w.flush().unwrap();
}

fn opts(container: &str) -> LogOptions {
    LogOptions {
        container: Some(container.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_current_run_reads_rotated_files_and_joins_long_lines() {
    let e = env();
    let pod = e.pod("web", &["app"], &[]).await;
    write(
        &mut e.writer(&pod, "app", 0, Rotation::default()),
        "old run\n",
    );
    let small = Rotation {
        max_size: 2000,
        max_files: 100,
    };
    let mut w = e.writer(&pod, "app", 1, small);
    let mut expected = String::new();
    for i in 0..100 {
        expected.push_str(&format!("line {i}\n"));
    }
    let long = "x".repeat(MAX_RECORD * 2 + 5);
    expected.push_str(&format!("{long}\nend\n"));
    write(&mut w, &expected);
    // An unfinished line is not shown until it ends.
    write(&mut w, "unfinished");
    assert!(crate::runtime::logs::rotated_files(w.path()).len() > 3);

    assert_eq!(
        e.read("web", &LogOptions::default()).await.unwrap(),
        expected
    );
    let tail = LogOptions {
        tail_lines: Some(3),
        ..Default::default()
    };
    assert_eq!(
        e.read("web", &tail).await.unwrap(),
        format!("line 99\n{long}\nend\n")
    );
    let zero = LogOptions {
        tail_lines: Some(0),
        ..Default::default()
    };
    assert_eq!(e.read("web", &zero).await.unwrap(), "");
    let stamped = LogOptions {
        timestamps: true,
        tail_lines: Some(1),
        ..Default::default()
    };
    let out = e.read("web", &stamped).await.unwrap();
    let (ts, rest) = out.split_once(' ').unwrap();
    assert!(ts.parse::<jiff::Timestamp>().is_ok(), "{out}");
    assert_eq!(rest, "end\n");
}

#[tokio::test]
async fn previous_reads_the_run_before_the_current_one() {
    let e = env();
    let pod = e.pod("web", &["app"], &[]).await;
    let none = e
        .read(
            "web",
            &LogOptions {
                previous: true,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        (none.reason, none.message.as_str()),
        (
            Reason::BadRequest,
            "previous terminated container \"app\" in pod \"web\" not found"
        )
    );
    for (run, text) in [(0, "zero\n"), (1, "one\n"), (2, "two\n")] {
        write(&mut e.writer(&pod, "app", run, Rotation::default()), text);
    }
    let previous = LogOptions {
        previous: true,
        ..Default::default()
    };
    // No status: the newest file is the current run.
    assert_eq!(e.read("web", &previous).await.unwrap(), "one\n");
    assert_eq!(e.read("web", &opts("app")).await.unwrap(), "two\n");
    // The status says which run is current: restartCount - 1 is the previous one.
    e.status(
        "web",
        json!({"name": "app", "restartCount": 2, "state": {"running": {}}}),
    )
    .await;
    assert_eq!(e.read("web", &previous).await.unwrap(), "one\n");
    // A run whose file is gone: the newest file below the current run.
    std::fs::remove_file(e.dir(&pod, "app").join("1.log")).unwrap();
    assert_eq!(e.read("web", &previous).await.unwrap(), "zero\n");
}

#[tokio::test]
async fn since_and_limit_bytes() {
    let e = env();
    let pod = e.pod("web", &["app"], &[]).await;
    let dir = e.dir(&pod, "app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("0.log"),
        "2020-01-01T00:00:00.5Z stdout F ancient\n2021-06-01T00:00:00Z stderr F middle\n",
    )
    .unwrap();
    write(
        &mut e.writer(&pod, "app", 0, Rotation::default()),
        "fresh\n",
    );
    let o = |f: fn(&mut LogOptions)| {
        let mut o = LogOptions::default();
        f(&mut o);
        o
    };
    assert_eq!(
        e.read("web", &o(|o| o.since_seconds = Some(600)))
            .await
            .unwrap(),
        "fresh\n"
    );
    assert_eq!(
        e.read(
            "web",
            &o(|o| o.since_time = Some("2021-01-01T00:00:00Z".into()))
        )
        .await
        .unwrap(),
        "middle\nfresh\n"
    );
    assert_eq!(
        e.read("web", &o(|o| o.limit_bytes = Some(10)))
            .await
            .unwrap(),
        "ancient\nmi"
    );
    // tail is taken before since, as the kubelet does.
    assert_eq!(
        e.read(
            "web",
            &o(|o| {
                o.tail_lines = Some(2);
                o.since_time = Some("2021-01-01T00:00:00Z".into());
            })
        )
        .await
        .unwrap(),
        "middle\nfresh\n"
    );
    for (bad, field) in [
        (
            o(|o| {
                o.since_seconds = Some(5);
                o.since_time = Some("2021-01-01T00:00:00Z".into());
            }),
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ),
        (o(|o| o.tail_lines = Some(-1)), "tailLines"),
        (o(|o| o.limit_bytes = Some(0)), "limitBytes"),
        (o(|o| o.since_time = Some("yesterday".into())), "sinceTime"),
    ] {
        let err = e.read("web", &bad).await.unwrap_err();
        assert_eq!(err.reason, Reason::Invalid, "{err}");
        assert!(err.message.contains(field), "{err}");
    }
}

#[tokio::test]
async fn container_errors_are_worded_as_the_api_server_does() {
    let e = env();
    e.pod("two", &["a", "b"], &["setup"]).await;
    let msg = |r: ApiResult<String>| {
        let err = r.unwrap_err();
        assert_eq!(err.reason, Reason::BadRequest, "{err}");
        err.message
    };
    assert_eq!(
        msg(e.read("two", &LogOptions::default()).await),
        "a container name must be specified for pod two, choose one of: [a b] or one of the init containers: [setup]"
    );
    assert_eq!(
        msg(e.read("two", &opts("x")).await),
        "container x is not valid for pod two"
    );
    assert_eq!(
        msg(e.read("two", &opts("setup")).await),
        "container \"setup\" in pod \"two\" is waiting to start: ContainerCreating"
    );
    e.status(
        "two",
        json!({"name": "a", "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}),
    )
    .await;
    assert_eq!(
        msg(e.read("two", &opts("a")).await),
        "container \"a\" in pod \"two\" is waiting to start: image can't be pulled"
    );
    let nope = e.read("gone", &LogOptions::default()).await.unwrap_err();
    assert_eq!(nope.reason, Reason::NotFound);
}

/// Follow sees lines written later, reads through rotations (several between two reads,
/// with a long line split across files) without losing or repeating a line, and ends when
/// the status says the container terminated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_survives_rotation_and_ends_with_the_container() {
    let e = env();
    let pod = e.pod("web", &["app"], &[]).await;
    e.status(
        "web",
        json!({"name": "app", "restartCount": 0, "state": {"running": {}}}),
    )
    .await;
    let rotation = Rotation {
        max_size: 4096,
        max_files: 1000,
    };
    let mut w = e.writer(&pod, "app", 0, rotation);
    write(&mut w, "before\n");
    let follow = LogOptions {
        follow: true,
        ..Default::default()
    };
    let mut s = e.c.logs("default", "web", &follow).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, "before\n");

    let long = "L".repeat(MAX_RECORD + 100);
    let writer = std::thread::spawn(move || {
        let mut expected = String::new();
        for burst in 0..40 {
            let mut text = String::new();
            for i in 0..50 {
                text.push_str(&format!("burst {burst} line {i}\n"));
            }
            if burst == 20 {
                text.push_str(&format!("{long}\n"));
            }
            write(&mut w, &text);
            expected.push_str(&text);
            std::thread::sleep(Duration::from_millis(15));
        }
        expected
    });
    let reader = tokio::spawn(async move {
        let mut got = String::new();
        while let Some(chunk) = tokio::time::timeout(Duration::from_secs(20), s.next())
            .await
            .expect("follow ended in time")
        {
            got.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
        got
    });
    let expected = writer.join().unwrap();
    let dir = e.dir(&pod, "app");
    assert!(
        crate::runtime::logs::rotated_files(&dir.join("0.log")).len() > 20,
        "the test must rotate often"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !reader.is_finished(),
        "follow ended while the container ran"
    );
    e.status(
        "web",
        json!({"name": "app", "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}),
    )
    .await;
    let got = reader.await.unwrap();
    assert!(got == expected, "lines lost or repeated across rotation");
}

/// A new run of the container ends the follow of the old one, as kubectl's follow ends when
/// the container exits; a pod deleted meanwhile ends it too.
#[tokio::test]
async fn follow_ends_on_restart_and_on_deletion() {
    let e = env();
    let pod = e.pod("web", &["app"], &[]).await;
    write(
        &mut e.writer(&pod, "app", 0, Rotation::default()),
        "run 0\n",
    );
    let follow = LogOptions {
        follow: true,
        ..Default::default()
    };
    let read = e.read("web", &follow);
    let restart = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        write(
            &mut e.writer(&pod, "app", 1, Rotation::default()),
            "run 1\n",
        );
    };
    let (out, ()) = tokio::join!(read, restart);
    assert_eq!(out.unwrap(), "run 0\n");

    let s = e.c.logs("default", "web", &follow).await.unwrap();
    let k = lookup("pods").unwrap();
    let now = crate::api::request::DeleteOptions {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    e.c.delete(k, Some("default"), "web", &now).await.unwrap();
    let all: Vec<_> = tokio::time::timeout(Duration::from_secs(10), s.collect::<Vec<_>>())
        .await
        .expect("follow ended after the pod was deleted");
    assert!(all.iter().all(|c| c.is_ok()));
}
