//! The follower against a fake cluster whose log streams the tests script.

use super::fake::{FakeCluster, Script, pod, two};
use super::*;
use crate::api::request::LogOptions;
use crate::cluster::Cluster;
use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

type Rx = mpsc::UnboundedReceiver<(u64, Batch)>;

struct Setup {
    fake: Arc<FakeCluster>,
    cluster: Arc<dyn Cluster>,
    sink: LogSink,
    rx: Rx,
    f: LogFollower,
}

fn setup() -> Setup {
    let fake = Arc::new(super::fake::cluster());
    let (tx, rx) = mpsc::unbounded_channel();
    Setup {
        cluster: fake.clone(),
        fake,
        sink: LogSink::unbounded(tx, |g, b| (g, b)),
        rx,
        f: LogFollower::new(1000),
    }
}

impl Setup {
    fn follow(&mut self, pod: &Value) -> bool {
        self.f.follow(Some(pod), &self.cluster, &self.sink)
    }

    /// Apply batches until `done` holds (10 s at most).
    async fn until(&mut self, what: &str, done: impl Fn(&LogFollower) -> bool) {
        let wait = async {
            while !done(&self.f) {
                let (g, b) = self.rx.recv().await.expect("sink open");
                self.f.on_batch(g, b);
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            panic!("timed out waiting for {what}; lines: {:?}", texts(&self.f));
        }
    }

    /// Wait until `n` logs calls were made (spawned tails call the cluster on their task).
    async fn calls(&self, n: usize) -> Vec<LogOptions> {
        for _ in 0..1000 {
            if self.fake.calls().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let calls = self.fake.calls();
        assert_eq!(calls.len(), n, "{calls:#?}");
        calls
    }
}

fn texts(f: &LogFollower) -> Vec<String> {
    f.buffer()
        .iter()
        .map(|l| match &l.container {
            Some(c) => format!("[{c}] {}", l.text),
            None => l.text.to_string(),
        })
        .collect()
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

#[tokio::test]
async fn follows_the_default_container_with_the_range() {
    let mut s = setup();
    s.fake.script(
        "app",
        Script::Lines(
            "2024-05-01T10:00:00Z one\n2024-05-01T10:00:01Z \x1b[31mtwo\x1b[0m\n",
            false,
        ),
    );
    assert!(s.follow(&two()));
    let c = s.calls(1).await;
    assert_eq!(c[0].container.as_deref(), Some("app"));
    assert_eq!(
        (c[0].follow, c[0].previous, c[0].timestamps),
        (true, false, true)
    );
    assert_eq!((c[0].tail_lines, c[0].since_seconds), (Some(100), None));
    s.until("two lines", |f| f.buffer().len() == 2).await;
    assert_eq!(texts(&s.f), ["one", "two"]);
    assert!(
        !s.f.buffer().get(1).unwrap().styles.is_empty(),
        "ANSI parsed"
    );
    assert_eq!(s.f.source(), "web/app");
    // The same pod again (same status) changes nothing and starts nothing.
    assert!(!s.follow(&two()));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(s.fake.calls().len(), 1);
}

#[tokio::test]
async fn kubectl_default_container_annotation_is_honoured() {
    let mut s = setup();
    let mut p = two();
    p["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/default-container": "side"});
    s.follow(&p);
    assert_eq!(s.calls(1).await[0].container.as_deref(), Some("side"));
}

#[tokio::test]
async fn container_switch_starts_a_new_tail_and_ignores_the_old_one() {
    let mut s = setup();
    s.fake.script("app", Script::Lines("from app\n", false));
    s.fake.script("side", Script::Lines("from side\n", false));
    s.follow(&two());
    s.until("app's line", |f| f.buffer().len() == 1).await;
    let old = s.f.generations();
    assert_eq!(
        s.f.on_action("logs.container.next", Some(&two())),
        Handled::Done
    );
    let c = s.calls(2).await;
    assert_eq!(c[1].container.as_deref(), Some("side"));
    assert_eq!(s.f.source(), "web/side");
    assert!(
        s.f.buffer().is_empty(),
        "another container starts a clean pane"
    );
    // A batch of the replaced tail still in flight is ignored.
    let stale = Batch {
        lines: vec![LogLine::new("late app line")],
        ..Batch::default()
    };
    assert!(!s.f.on_batch(old[0], stale));
    s.until("side's line", |f| f.buffer().len() == 1).await;
    assert_eq!(texts(&s.f), ["from side"]);
    // The cycle: app containers, init containers that ran (init, not `later`), around.
    s.f.on_action("logs.container.next", None);
    assert_eq!(s.f.source(), "web/init");
    assert_eq!(s.calls(3).await[2].container.as_deref(), Some("init"));
    s.f.on_action("logs.container.next", None);
    assert_eq!(s.f.source(), "web/app");
    assert_eq!(s.calls(4).await[3].container.as_deref(), Some("app"));
}

#[tokio::test]
async fn all_containers_tags_every_line_with_its_container() {
    let mut s = setup();
    s.fake.script("init", Script::Lines("migrated\n", true));
    s.fake.script("app", Script::Lines("serving\n", false));
    s.fake.script("side", Script::Lines("proxying\n", false));
    s.follow(&two());
    s.calls(1).await;
    assert_eq!(s.f.on_action("logs.all_containers", None), Handled::Done);
    assert_eq!(s.f.source(), "web (all containers)");
    let c = s.calls(4).await;
    // Every container that ran: not `later`, which is still waiting.
    let mut names: Vec<_> = c[1..]
        .iter()
        .map(|o| o.container.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "init", "side"]);
    s.until("three lines", |f| f.buffer().len() == 3).await;
    let mut got = texts(&s.f);
    got.sort();
    assert_eq!(got, ["[app] serving", "[init] migrated", "[side] proxying"]);
    let colours: std::collections::BTreeSet<u8> = s.f.buffer().iter().map(|l| l.colour).collect();
    assert_eq!(colours.len(), 3, "a colour per container");
    // A container that starts later joins the pane.
    let started = pod(
        "u1",
        &[("init", 0, "terminated"), ("later", 0, "running")],
        &[("app", 0, "running"), ("side", 0, "running")],
    );
    assert!(s.follow(&started));
    assert_eq!(s.calls(5).await[4].container.as_deref(), Some("later"));
    // Toggling again goes back to the default container.
    s.f.on_action("logs.all_containers", None);
    assert_eq!(s.f.source(), "web/app");
    assert_eq!(s.calls(6).await[5].container.as_deref(), Some("app"));
}

#[tokio::test]
async fn time_ranges_ask_for_since_seconds_or_tail_lines() {
    let mut s = setup();
    s.follow(&two());
    s.calls(1).await;
    let cases = [
        ("logs.since.1m", None, Some(60)),
        ("logs.since.5m", None, Some(300)),
        ("logs.since.15m", None, Some(900)),
        ("logs.since.30m", None, Some(1800)),
        ("logs.since.1h", None, Some(3600)),
        ("logs.since.tail", Some(100), None),
    ];
    for (i, (action, tail, since)) in cases.into_iter().enumerate() {
        assert_eq!(s.f.on_action(action, None), Handled::Done);
        let o = s.calls(i + 2).await.pop().unwrap();
        assert_eq!((o.tail_lines, o.since_seconds), (tail, since), "{action}");
        assert!(o.follow && o.container.as_deref() == Some("app"));
    }
    assert_eq!(s.f.view().range, view::TimeRange::Tail(100));
}

#[tokio::test]
async fn previous_asks_for_the_terminated_container_and_toggles_back() {
    let mut s = setup();
    s.fake.script("app", Script::Lines("now\n", false));
    s.follow(&two());
    s.until("a line", |f| f.buffer().len() == 1).await;
    assert_eq!(
        s.f.on_action("pod.logs.previous", Some(&two())),
        Handled::Done
    );
    let o = s.calls(2).await.pop().unwrap();
    assert!(o.previous && !o.follow, "{o:?}");
    assert!(s.f.status().flags.contains(&"previous".to_string()));
    s.f.on_action("pod.logs.previous", None);
    let o = s.calls(3).await.pop().unwrap();
    assert!(!o.previous && o.follow);
    assert!(s.f.status().flags.is_empty(), "{:?}", s.f.status());
}

#[tokio::test]
async fn another_pod_starts_over_and_no_pod_stops() {
    let mut s = setup();
    s.fake.script("app", Script::Lines("x\n", false));
    s.follow(&two());
    s.until("a line", |f| f.buffer().len() == 1).await;
    let old = s.f.generations();
    s.f.on_action("logs.wrap", None);
    assert!(s.follow(&pod("u2", &[], &[("app", 0, "running")])));
    assert_ne!(s.f.generations(), old);
    assert!(s.f.view().wrap, "view settings stay");
    s.until("the new pod's line", |f| f.buffer().len() == 1)
        .await;
    assert!(s.f.follow(None, &s.cluster, &s.sink));
    assert!(s.f.buffer().is_empty());
    assert!(s.f.generations().is_empty());
    assert_eq!(s.f.source(), "no pod selected");
}

#[tokio::test]
async fn a_restarted_container_continues_after_a_marker() {
    let mut s = setup();
    s.fake.script("app", Script::Lines("first run\n", true));
    s.fake.script("app", Script::Lines("second run\n", false));
    s.follow(&two());
    s.until("the first run's end", |f| f.status().flags == ["ended"])
        .await;
    // The pod says it restarted: a new tail of the whole new log, after a marker.
    let restarted = pod(
        "u1",
        &[("init", 0, "terminated"), ("later", 0, "waiting")],
        &[("app", 1, "running"), ("side", 0, "running")],
    );
    assert!(s.follow(&restarted));
    let o = s.calls(2).await.pop().unwrap();
    assert_eq!(
        (o.tail_lines, o.since_seconds, o.follow),
        (None, None, true)
    );
    s.until("the second run", |f| f.buffer().len() == 3).await;
    assert_eq!(
        texts(&s.f),
        ["first run", "── container app restarted ──", "second run"]
    );
    assert_eq!(s.f.buffer().get(1).unwrap().kind, LineKind::Restart);
    assert!(!s.follow(&restarted), "nothing more to do");
}

#[tokio::test]
async fn a_restart_seen_before_the_old_tail_ended_waits_for_the_end() {
    let mut s = setup();
    s.fake.script("app", Script::Lines("first run\n", true));
    s.fake.script("app", Script::Lines("second run\n", false));
    let restarted = pod("u1", &[], &[("app", 1, "running")]);
    s.follow(&pod("u1", &[], &[("app", 0, "running")]));
    s.calls(1).await;
    // The status update comes first: the old stream has not ended yet as far as we know.
    let g = s.f.generations()[0];
    s.follow(&restarted);
    assert_eq!(s.f.generations(), [g]);
    // Its end arrives: the new tail starts at once.
    s.until("the second run", |f| f.buffer().len() == 3).await;
    assert_eq!(texts(&s.f)[1], "── container app restarted ──");
}

#[tokio::test]
async fn a_tail_that_could_not_start_is_retried_and_its_error_shown_once() {
    let mut s = setup();
    s.fake.script(
        "app",
        Script::Fail("is waiting to start: ContainerCreating"),
    );
    s.fake.script(
        "app",
        Script::Fail("is waiting to start: ContainerCreating"),
    );
    s.fake.script("app", Script::Lines("up\n", false));
    let creating = pod("u1", &[], &[("app", 0, "waiting")]);
    s.follow(&creating);
    s.until("the error", |f| f.status().flags == ["failed"])
        .await;
    assert_eq!(
        texts(&s.f),
        ["(container \"app\" in pod \"web\" is waiting to start: ContainerCreating)"]
    );
    // Unchanged pod within a second: no retry.
    assert!(!s.follow(&creating));
    assert_eq!(s.fake.calls().len(), 1);
    // A status change retries at once; failing alike adds no second line.
    let mut changed = creating.clone();
    changed["status"]["containerStatuses"][0]["state"] = json!({"running": {}});
    assert!(s.follow(&changed));
    s.calls(2).await;
    s.until("the second failure", |f| f.status().flags == ["failed"])
        .await;
    assert_eq!(s.f.buffer().len(), 1);
    // A second later the same pod is retried (the console calls follow on its tick).
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert!(s.follow(&changed));
    s.until("the line", |f| f.buffer().len() == 2).await;
    assert_eq!(texts(&s.f)[1], "up");
    assert_eq!(s.calls(3).await[2].tail_lines, Some(100));
}

#[tokio::test]
async fn a_stream_broken_after_lines_resumes_after_the_last_one() {
    let mut s = setup();
    s.fake.script(
        "app",
        Script::Lines("2024-05-01T10:00:00Z a\n2024-05-01T10:00:01Z b\n", true),
    );
    s.fake.script(
        "app",
        Script::Lines("2024-05-01T10:00:01Z b\n2024-05-01T10:00:02Z c\n", false),
    );
    let p = pod("u1", &[], &[("app", 0, "running")]);
    s.follow(&p);
    s.until("two lines", |f| f.buffer().len() == 2).await;
    // Simulate the stream failing: the end came with an error.
    let g = s.f.generations()[0];
    s.f.on_batch(
        g,
        Batch {
            end: Some(Err("connection reset".into())),
            ..Batch::default()
        },
    );
    tokio::time::sleep(Duration::from_millis(1050)).await;
    s.follow(&p);
    let o = s.calls(2).await.pop().unwrap();
    assert_eq!(o.since_time.as_deref(), Some("2024-05-01T10:00:01Z"));
    assert_eq!((o.tail_lines, o.since_seconds), (None, None));
    s.until("c", |f| texts(f).last().map(String::as_str) == Some("c"))
        .await;
    assert_eq!(texts(&s.f), ["a", "b", "(connection reset)", "c"]);
}

#[tokio::test]
async fn a_broken_stream_of_a_container_that_restarted_continues_with_the_new_run() {
    let mut s = setup();
    s.fake
        .script("app", Script::Lines("2024-05-01T10:00:00Z old\n", false));
    s.fake
        .script("app", Script::Lines("2024-05-01T10:00:09Z new\n", false));
    s.follow(&pod("u1", &[], &[("app", 0, "running")]));
    s.until("a line", |f| f.buffer().len() == 1).await;
    let g = s.f.generations()[0];
    let broken = Batch {
        end: Some(Err("unexpected EOF".into())),
        ..Batch::default()
    };
    s.f.on_batch(g, broken);
    assert!(s.follow(&pod("u1", &[], &[("app", 1, "running")])));
    let o = s.calls(2).await.pop().unwrap();
    assert_eq!(
        (o.tail_lines, o.since_time),
        (None, None),
        "the whole new log"
    );
    s.until("the new run", |f| f.buffer().len() == 4).await;
    assert_eq!(
        texts(&s.f),
        [
            "old",
            "(unexpected EOF)",
            "── container app restarted ──",
            "new"
        ]
    );
}

#[tokio::test]
async fn save_writes_the_buffer_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup();
    s.f = LogFollower::new(1000).with_save_dir(dir.path().join("logs"));
    s.fake.script(
        "app",
        Script::Lines(
            "2024-05-01T10:00:00Z one\n2024-05-01T10:00:01Z \x1b[1mtwo\x1b[0m\n",
            false,
        ),
    );
    s.follow(&two());
    s.until("two lines", |f| f.buffer().len() == 2).await;
    let Handled::Message(m) = s.f.on_action("logs.save", None) else {
        panic!("no message");
    };
    let path = m.strip_prefix("saved 2 lines to ").expect(&m);
    let name = std::path::Path::new(path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        name.starts_with("web-app-")
            && name.ends_with(".log")
            && name.len() == "web-app-20240501-100000.log".len(),
        "{name}"
    );
    assert_eq!(std::fs::read_to_string(path).unwrap(), "one\ntwo\n");
    s.f.on_action("logs.timestamps", None);
    let Handled::Message(m) = s.f.on_action("logs.save", None) else {
        panic!()
    };
    let text = std::fs::read_to_string(m.strip_prefix("saved 2 lines to ").unwrap()).unwrap();
    assert_eq!(text, "2024-05-01T10:00:00Z one\n2024-05-01T10:00:01Z two\n");
    // A directory that cannot be made is an error for the message bar.
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let f = LogFollower::new(10).with_save_dir(file.join("sub"));
    assert!(matches!(f.save(), Handled::Error(e) if e.starts_with("cannot save logs to ")));
}

#[tokio::test]
async fn search_is_typed_counted_and_walked_with_n() {
    let mut s = setup();
    s.fake.script(
        "app",
        Script::Lines("an error\nok\nERROR two\nfine\nerror three\n", false),
    );
    s.follow(&two());
    s.until("five lines", |f| f.buffer().len() == 5).await;
    assert_eq!(
        s.f.on_key(key(KeyCode::Char('x'))),
        Handled::Ignored,
        "not typing yet"
    );
    s.f.on_action("logs.search", None);
    assert!(s.f.is_searching());
    for c in "err".chars() {
        s.f.on_key(key(KeyCode::Char(c)));
    }
    let st = s.f.status();
    assert_eq!(
        (st.typing.as_deref(), st.matches),
        (Some("err"), Some((None, 3)))
    );
    // Enter while following goes to the newest match.
    assert_eq!(s.f.on_key(key(KeyCode::Enter)), Handled::Done);
    assert!(!s.f.is_searching());
    assert_eq!(s.f.status().matches, Some((Some(3), 3)));
    s.f.on_action("logs.next", None);
    assert_eq!(
        s.f.status().matches,
        Some((Some(1), 3)),
        "wraps to the first"
    );
    s.f.on_action("logs.prev", None);
    assert_eq!(s.f.status().matches, Some((Some(3), 3)));
    // Esc while typing puts the confirmed query back.
    s.f.on_action("logs.search", None);
    s.f.on_key(key(KeyCode::Char('z')));
    assert_eq!(s.f.status().matches, Some((None, 0)));
    s.f.on_key(key(KeyCode::Esc));
    assert_eq!(s.f.view().query(), "err");
    assert_eq!(s.f.status().matches.map(|m| m.1), Some(3));
    // Backspace edits; no match is a message.
    s.f.on_action("logs.search", None);
    for c in "fix".chars() {
        s.f.on_key(key(KeyCode::Char(c)));
    }
    s.f.on_key(key(KeyCode::Backspace));
    assert_eq!(s.f.status().typing.as_deref(), Some("fi"));
    s.f.on_key(key(KeyCode::Char('z')));
    assert_eq!(
        s.f.on_key(key(KeyCode::Enter)),
        Handled::Message("no line matches \"fiz\"".into())
    );
}

#[tokio::test]
async fn scrolling_actions_and_unknown_ones() {
    let mut s = setup();
    let text: &'static str = Box::leak(
        (0..50)
            .map(|i| format!("line {i}\n"))
            .collect::<String>()
            .into_boxed_str(),
    );
    s.fake.script("app", Script::Lines(text, false));
    s.follow(&two());
    s.until("fifty lines", |f| f.buffer().len() == 50).await;
    s.f.set_height(10);
    s.f.on_action("page.up", None);
    assert!(!s.f.view().follow);
    assert_eq!(s.f.view().top_line(s.f.buffer(), 10), 30);
    s.f.on_action("row.up", None);
    s.f.on_action("row.down", None);
    s.f.on_action("row.up", None);
    assert_eq!(s.f.view().top_line(s.f.buffer(), 10), 29);
    s.f.on_action("row.first", None);
    assert_eq!(s.f.view().top_line(s.f.buffer(), 10), 0);
    s.f.on_action("page.down", None);
    assert_eq!(s.f.view().top_line(s.f.buffer(), 10), 10);
    s.f.on_action("row.last", None);
    assert!(s.f.view().follow);
    s.f.on_action("logs.follow", None);
    assert!(!s.f.view().follow);
    s.f.on_action("logs.clear", None);
    assert!(s.f.buffer().is_empty());
    assert_eq!(s.f.on_action("resource.delete", None), Handled::Ignored);
    assert!(matches!(
        s.f.on_action("logs.next", None),
        Handled::Message(_)
    ));
}

#[tokio::test]
async fn a_flood_of_100k_lines_a_second_is_at_most_30_deliveries_a_second() {
    // One second of 100,000 lines, in 1,000-line chunks every 10 ms.
    let chunk: Bytes = (0..1000)
        .map(|i| format!("line {i}\n"))
        .collect::<String>()
        .into();
    let stream = futures::stream::unfold(0, move |n| {
        let chunk = chunk.clone();
        async move {
            if n == 100 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            Some((Ok(chunk), n + 1))
        }
    })
    .boxed();
    let cfg = LogFollower::new(1_000_000).tail_config();
    let start = std::time::Instant::now();
    let (mut rx, h) = spawn_tail_stream(stream, false, None, cfg);
    let (mut batches, mut lines) = (0, 0);
    while let Some(b) = rx.recv().await {
        batches += 1;
        lines += b.lines.len() + b.dropped as usize;
    }
    h.await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(lines, 100_000);
    // The last batch (the end) may come right after a timed one.
    let rate = (batches - 1) as f64 / secs;
    assert!(rate <= 31.0, "{batches} deliveries in {secs:.2} s");
    assert!(batches >= 10, "{batches}: lines must not wait for the end");
}

#[test]
fn outside_tokio_following_fails_politely() {
    let fake: Arc<dyn Cluster> = Arc::new(super::fake::cluster());
    let sink = LogSink::callback(|_, _| {});
    let mut f = LogFollower::new(10);
    f.follow(Some(&two()), &fake, &sink);
    assert_eq!(f.status().flags, ["failed"]);
}
