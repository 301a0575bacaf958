use super::*;
use crate::api::kinds::lookup;
use serde_json::json;

fn now() -> jiff::Timestamp {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

/// A pod created `age` seconds before `now()`, running one container.
fn pod(ns: &str, name: &str, age: i64, phase: &str, restarts: i64, app: &str) -> Arc<Value> {
    let created = now() - jiff::SignedDuration::from_secs(age);
    Arc::new(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"),
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": "node-1"},
        "status": {"phase": phase, "podIP": "10.0.0.1",
            "containerStatuses": [{"name": "c", "ready": phase == "Running",
                "restartCount": restarts, "state": {"running": {}}}]}
    }))
}

fn pods() -> ResourceTable {
    ResourceTable::new(lookup("po").unwrap())
}

fn names(t: &mut ResourceTable) -> Vec<String> {
    t.keys()
}

#[test]
fn upserts_keep_kubectl_order_incrementally() {
    let mut t = pods();
    for (ns, n) in [("b", "x"), ("a", "z"), ("a", "y"), ("b", "a")] {
        t.upsert(pod(ns, n, 10, "Running", 0, "web"));
    }
    assert_eq!(names(&mut t), ["a/y", "a/z", "b/a", "b/x"]);
    // Inserts and removes between reads keep the order without a rebuild.
    t.upsert(pod("a", "a", 10, "Running", 0, "web"));
    assert!(t.remove("b/a"));
    assert!(!t.remove("b/a"));
    t.upsert(pod("c", "c", 10, "Running", 0, "web"));
    assert!(!t.dirty);
    assert_eq!(names(&mut t), ["a/a", "a/y", "a/z", "b/x", "c/c"]);
    assert_eq!(t.total(), 5);
}

#[test]
fn modified_object_moves_to_its_new_place() {
    let mut t = pods();
    t.sort_by(SortColumn::Restarts);
    for (n, r) in [("a", 1), ("b", 2), ("c", 3)] {
        t.upsert(pod("d", n, 10, "Running", r, "web"));
    }
    assert_eq!(names(&mut t), ["d/a", "d/b", "d/c"]);
    t.upsert(pod("d", "a", 10, "Running", 9, "web"));
    assert_eq!(names(&mut t), ["d/b", "d/c", "d/a"]);
    assert_eq!(t.total(), 3);
}

#[test]
fn selection_follows_its_key_through_inserts_and_resorts() {
    let mut t = pods();
    for n in ["b", "d", "f"] {
        t.upsert(pod("ns", n, 10, "Running", 0, "web"));
    }
    t.down();
    assert_eq!(t.selected_key(), Some("ns/d"));
    t.upsert(pod("ns", "a", 10, "Running", 0, "web"));
    t.upsert(pod("ns", "c", 10, "Running", 0, "web"));
    assert_eq!(t.selected_key(), Some("ns/d"));
    assert_eq!(t.selected_index(), Some(3));
    t.sort_by(SortColumn::Name);
    t.sort_by(SortColumn::Name); // descending: f d c b a
    assert_eq!(t.selected_key(), Some("ns/d"));
    assert_eq!(t.selected_index(), Some(1));
    // The selected row goes away: the row that takes its place is selected.
    t.remove("ns/d");
    assert_eq!(t.selected_key(), Some("ns/c"));
    t.last();
    assert_eq!(t.selected_key(), Some("ns/a"));
    t.remove("ns/a");
    assert_eq!(t.selected_key(), Some("ns/b"));
    t.first();
    assert_eq!(t.selected_key(), Some("ns/f"));
    t.page_down(10);
    assert_eq!(t.selected_key(), Some("ns/b"));
    t.page_up(1);
    assert_eq!(t.selected_key(), Some("ns/c"));
    t.up();
    t.up();
    t.up();
    assert_eq!(t.selected_key(), Some("ns/f"));
}

#[test]
fn reset_keeps_selection_and_marks_by_key() {
    let mut t = pods();
    for n in ["a", "b", "c"] {
        t.upsert(pod("ns", n, 10, "Running", 0, "web"));
    }
    t.down();
    t.toggle_mark();
    t.reset();
    assert_eq!(t.len(), 0);
    assert_eq!(t.selected_key(), None);
    for n in ["a", "b", "c"] {
        t.upsert(pod("ns", n, 10, "Running", 0, "web"));
    }
    assert_eq!(t.selected_key(), Some("ns/b"));
    assert!(t.is_marked("ns/b"));
}

#[test]
fn marks_survive_updates_and_go_with_deletes() {
    let mut t = pods();
    for n in ["a", "b", "c"] {
        t.upsert(pod("ns", n, 10, "Running", 0, "web"));
    }
    t.toggle_mark();
    t.last();
    t.toggle_mark();
    t.upsert(pod("ns", "a", 10, "Failed", 3, "web"));
    let marked: Vec<String> = t.marked().iter().map(|o| key_of(o)).collect();
    assert_eq!(marked, ["ns/a", "ns/c"]);
    assert_eq!(t.targets().len(), 2);
    t.toggle_mark(); // unmark c
    t.remove("ns/a");
    assert!(t.marked().is_empty());
    assert_eq!(t.targets().len(), 1, "no marks: the selected row");
    let rows = t.visible_rows(0, 10, now());
    assert!(rows.iter().all(|r| !r.marked));
}

#[test]
fn text_filter_is_case_insensitive_regex_and_inverts() {
    let mut t = pods();
    t.upsert(pod("shop", "Web-1", 10, "Running", 0, "web"));
    t.upsert(pod("shop", "web-2", 10, "CrashLoopBackOff", 0, "web"));
    t.upsert(pod("shop", "db-0", 10, "Running", 0, "db"));
    t.set_filter("WEB").unwrap();
    assert_eq!(names(&mut t), ["shop/Web-1", "shop/web-2"]);
    t.set_filter("^db|-2$").unwrap();
    assert_eq!(
        names(&mut t),
        ["shop/db-0"],
        "the row text starts with NAME"
    );
    t.set_filter("!web").unwrap();
    assert_eq!(names(&mut t), ["shop/db-0"]);
    // Status text is part of the row.
    t.set_filter("failed").unwrap();
    assert!(t.is_empty());
    t.set_filter("pending|running").unwrap();
    assert_eq!(t.len(), 2);
    // Not a valid regex: matched literally, no error while typing.
    t.set_filter("web-(").unwrap();
    assert!(t.is_empty());
    // Incremental: a new matching pod appears, a non-matching one does not.
    t.set_filter("web").unwrap();
    t.upsert(pod("shop", "web-3", 10, "Running", 0, "web"));
    t.upsert(pod("shop", "cache", 10, "Running", 0, "cache"));
    assert_eq!(t.len(), 3);
    // A pod that stops matching leaves the rows.
    t.upsert(pod("shop", "web-3", 10, "Running", 0, "web")); // unchanged
    t.set_filter("!running").unwrap();
    assert_eq!(names(&mut t), ["shop/web-2"]);
    t.upsert(pod("shop", "web-2", 10, "Running", 0, "web"));
    assert!(t.is_empty());
    t.set_filter("").unwrap();
    assert_eq!(t.len(), 5);
}

#[test]
fn label_selector_filter() {
    let mut t = pods();
    t.upsert(pod("shop", "a", 10, "Running", 0, "web"));
    t.upsert(pod("shop", "b", 10, "Running", 0, "db"));
    t.upsert(pod("shop", "c", 10, "Running", 0, "cache"));
    t.set_filter("-l app=web").unwrap();
    assert_eq!(names(&mut t), ["shop/a"]);
    t.set_filter("-l app in (db,cache)").unwrap();
    assert_eq!(names(&mut t), ["shop/b", "shop/c"]);
    t.set_filter("-l app!=web").unwrap();
    assert_eq!(names(&mut t), ["shop/b", "shop/c"]);
    assert!(t.filter().labels().is_some());
    let err = t.set_filter("-l app in (").unwrap_err();
    assert!(err.starts_with("bad label selector"), "{err}");
    assert_eq!(
        t.filter().source(),
        "-l app!=web",
        "a bad filter changes nothing"
    );
    assert!(t.set_filter("-l").is_err());
    // `-lx` is a text filter, not a selector.
    t.set_filter("-lx").unwrap();
    assert!(t.filter().labels().is_none());
    // Label filtering never builds cells.
    let mut t2 = pods();
    t2.set_filter("-l app=web").unwrap();
    for i in 0..50 {
        t2.upsert(pod("shop", &format!("p{i}"), 10, "Running", 0, "web"));
    }
    assert_eq!(t2.len(), 50);
    assert_eq!(t2.rows_built(), 0);
}

#[test]
fn namespace_scope() {
    let mut t = pods();
    t.upsert(pod("a", "x", 10, "Running", 0, "web"));
    t.upsert(pod("b", "y", 10, "Running", 0, "web"));
    assert!(t.all_namespaces());
    t.set_namespace(Some("b".into()));
    assert_eq!(names(&mut t), ["b/y"]);
    t.upsert(pod("a", "z", 10, "Running", 0, "web"));
    t.upsert(pod("b", "w", 10, "Running", 0, "web"));
    assert_eq!(names(&mut t), ["b/w", "b/y"]);
    assert!(!t.all_namespaces());
    assert_eq!(t.headers()[0], "NAME");
    t.set_namespace(None);
    assert_eq!(t.len(), 4);
}

#[test]
fn sorting_toggles_direction_with_k9s_columns() {
    let mut t = pods();
    t.upsert(pod("n", "old", 3600, "Running", 5, "web"));
    t.upsert(pod("n", "new", 60, "Pending", 0, "web"));
    t.upsert(pod("n", "mid", 600, "Failed", 2, "web"));
    assert_eq!(t.sort(), (SortColumn::Namespace, false));
    assert!(t.sort_by(SortColumn::Age));
    assert_eq!(names(&mut t), ["n/new", "n/mid", "n/old"], "youngest first");
    assert!(t.sort_by(SortColumn::Age));
    assert_eq!(t.sort(), (SortColumn::Age, true));
    assert_eq!(names(&mut t), ["n/old", "n/mid", "n/new"]);
    t.sort_by(SortColumn::Status);
    assert_eq!(
        names(&mut t),
        ["n/mid", "n/new", "n/old"],
        "Failed Pending Running"
    );
    t.sort_by(SortColumn::Restarts);
    assert_eq!(
        t.sort(),
        (SortColumn::Restarts, false),
        "a new column starts ascending"
    );
    assert_eq!(names(&mut t), ["n/new", "n/mid", "n/old"]);
    t.sort_by(SortColumn::Restarts);
    assert_eq!(names(&mut t), ["n/old", "n/mid", "n/new"]);
    t.sort_by(SortColumn::Name);
    assert_eq!(names(&mut t), ["n/mid", "n/new", "n/old"]);
    // Incremental insert respects a descending sort.
    t.sort_by(SortColumn::Name);
    t.upsert(pod("n", "nnn", 1, "Running", 0, "web"));
    assert_eq!(names(&mut t), ["n/old", "n/nnn", "n/new", "n/mid"]);
    // CPU from the metrics map.
    t.sort_by(SortColumn::Cpu);
    t.set_metrics(HashMap::from([
        ("uid-n-old".to_string(), (5, 1 << 20)),
        ("uid-n-new".to_string(), (50, 1 << 20)),
        ("uid-n-mid".to_string(), (1, 1 << 20)),
    ]));
    assert_eq!(
        names(&mut t),
        ["n/nnn", "n/mid", "n/old", "n/new"],
        "no metrics first"
    );
}

#[test]
fn sort_columns_resolve_per_kind() {
    let mut d = ResourceTable::new(lookup("deploy").unwrap());
    assert!(!d.sort_by(SortColumn::Restarts));
    assert!(
        !d.sort_by(SortColumn::Status),
        "deployments have no STATUS column"
    );
    assert_eq!(d.sort(), (SortColumn::Namespace, false));
    let ns = lookup("ns").unwrap();
    let mut n = ResourceTable::new(ns);
    assert!(n.sort_by(SortColumn::Status));
    assert_eq!(n.sort().0, SortColumn::Column(1));
    n.upsert(Arc::new(
        json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}),
    ));
    n.upsert(Arc::new(
        json!({"metadata": {"name": "b"}, "status": {"phase": "Active"}}),
    ));
    assert_eq!(names(&mut n), ["b", "a"]);
    // Generic integer column: secrets by DATA.
    let sec = lookup("secret").unwrap();
    let mut s = ResourceTable::new(sec);
    let data = SortColumn::from_header(sec, "data").unwrap();
    assert!(s.sort_by(data));
    for (name, keys) in [("x", 10), ("y", 9), ("z", 2)] {
        let m: serde_json::Map<String, Value> = (0..keys)
            .map(|i| (format!("k{i}"), json!("dg==")))
            .collect();
        s.upsert(Arc::new(
            json!({"metadata": {"name": name, "namespace": "d"}, "data": m}),
        ));
    }
    assert_eq!(names(&mut s), ["d/z", "d/y", "d/x"], "numeric, not 10 < 2");
    assert_eq!(
        SortColumn::from_header(ns, "NAMESPACE"),
        Some(SortColumn::Name)
    );
    assert_eq!(SortColumn::from_header(ns, "NOPE"), None);
    assert_eq!(SortColumn::for_key('T'), Some(SortColumn::Restarts));
    assert_eq!(SortColumn::for_key('n'), None);
}

#[test]
fn visible_rows_builds_only_the_window() {
    let mut t = pods();
    for i in 0..1000 {
        t.upsert(pod("ns", &format!("p{i:04}"), 120, "Running", 0, "web"));
    }
    assert_eq!(t.rows_built(), 0, "upserts build no cells");
    let rows = t.visible_rows(100, 40, now());
    assert_eq!(rows.len(), 40);
    assert_eq!(t.rows_built(), 40);
    assert_eq!(rows[0].key, "ns/p0100");
    let rows = t.visible_rows(990, 40, now());
    assert_eq!(rows.len(), 10);
    assert_eq!(t.rows_built(), 50);
    assert!(t.visible_rows(5000, 40, now()).is_empty());
    assert!(t.visible_rows(0, 0, now()).is_empty());
    assert_eq!(t.rows_built(), 50);
}

#[test]
fn pod_rows_have_k9s_columns_and_namespace_when_all() {
    let mut t = pods();
    t.upsert(pod("shop", "web", 180, "Running", 0, "web"));
    t.set_metrics(HashMap::from([(
        "uid-shop-web".to_string(),
        (12, 34 * 1024 * 1024 + 5),
    )]));
    assert_eq!(
        t.headers(),
        [
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "CPU",
            "MEM",
            "AGE",
            "IP",
            "NODE"
        ]
    );
    let rows = t.visible_rows(0, 10, now());
    assert_eq!(
        rows[0].cells,
        [
            "shop", "web", "1/1", "Running", "0", "12m", "34Mi", "3m", "10.0.0.1", "node-1"
        ]
    );
    assert!(rows[0].selected);
    t.set_namespace(Some("shop".into()));
    t.set_metrics(HashMap::new());
    let rows = t.visible_rows(0, 10, now());
    assert_eq!(t.headers().len(), rows[0].cells.len());
    assert_eq!(rows[0].cells[0], "web");
    assert_eq!(rows[0].cells[4..6], ["n/a", "n/a"]);
}

#[test]
fn other_kinds_use_kubectl_columns() {
    let deploy = lookup("deploy").unwrap();
    let mut t = ResourceTable::new(deploy);
    t.upsert(Arc::new(json!({
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": "2024-05-01T10:00:00Z"},
        "spec": {"replicas": 3},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    })));
    assert_eq!(
        t.headers(),
        [
            "NAMESPACE",
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE"
        ]
    );
    let rows = t.visible_rows(0, 5, now());
    assert_eq!(rows[0].cells, ["shop", "web", "2/3", "3", "2", "120m"]);
    // Cluster-scoped kinds never get a NAMESPACE column.
    let mut n = ResourceTable::new(lookup("ns").unwrap());
    n.upsert(Arc::new(
        json!({"metadata": {"name": "shop"}, "status": {"phase": "Active"}}),
    ));
    assert!(!n.all_namespaces());
    assert_eq!(n.headers(), ["NAME", "STATUS", "AGE"]);
    assert_eq!(
        n.visible_rows(0, 5, now())[0].cells[..2],
        ["shop", "Active"]
    );
}

#[test]
fn scroll_offset_keeps_selection_visible() {
    let mut t = pods();
    for i in 0..100 {
        t.upsert(pod("ns", &format!("p{i:03}"), 10, "Running", 0, "web"));
    }
    assert_eq!(t.scroll_offset(0, 10), 0);
    t.move_by(15);
    assert_eq!(t.scroll_offset(0, 10), 6);
    assert_eq!(t.scroll_offset(8, 10), 8);
    t.move_by(-14);
    assert_eq!(t.scroll_offset(8, 10), 1);
    t.last();
    assert_eq!(t.scroll_offset(0, 10), 90);
}

#[test]
fn apply_watch_events() {
    let mut t = pods();
    let obj = |n: &str| (*pod("ns", n, 10, "Running", 0, "web")).clone();
    t.apply(WatchEvent {
        event_type: EventType::Added,
        object: obj("a"),
    });
    t.apply(WatchEvent {
        event_type: EventType::Modified,
        object: obj("a"),
    });
    t.apply(WatchEvent {
        event_type: EventType::Added,
        object: obj("b"),
    });
    t.apply(WatchEvent {
        event_type: EventType::Deleted,
        object: obj("a"),
    });
    assert_eq!(names(&mut t), ["ns/b"]);
    assert!(t.get("ns/b").is_some());
}

#[test]
fn many_random_events_match_a_full_rebuild() {
    // The incremental list must equal what a rebuild from scratch gives.
    let mut t = pods();
    t.sort_by(SortColumn::Restarts);
    t.set_filter("!crash").unwrap();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for _ in 0..2000 {
        let n = format!("p{}", next() % 200);
        let ns = ["a", "b"][next() % 2];
        if next() % 4 == 0 {
            t.remove(&format!("{ns}/{n}"));
        } else {
            let phase = ["Running", "CrashLoopBackOff", "Pending"][next() % 3];
            t.upsert(pod(ns, &n, 10, phase, (next() % 5) as i64, "web"));
        }
    }
    let incremental = names(&mut t);
    t.dirty = true;
    assert_eq!(names(&mut t), incremental);
}

#[test]
fn batches_give_the_same_rows_as_single_events() {
    let events = |n: usize| -> Vec<WatchEvent> {
        (0..n)
            .map(|i| WatchEvent {
                event_type: if i % 5 == 4 {
                    EventType::Deleted
                } else {
                    EventType::Added
                },
                object: (*pod(
                    ["a", "b"][i % 2],
                    &format!("p{}", i % 150),
                    10,
                    "Running",
                    0,
                    "web",
                ))
                .clone(),
            })
            .collect()
    };
    let mut one = pods();
    let mut batch = pods();
    batch.down();
    for ev in events(300) {
        one.apply(ev);
    }
    batch.apply_batch(events(300));
    assert!(batch.dirty, "a large burst is sorted once");
    assert_eq!(names(&mut batch), names(&mut one));
    batch.apply_batch(events(3));
    one.apply_batch(events(3));
    assert!(!batch.dirty, "a small burst is applied in place");
    assert_eq!(names(&mut batch), names(&mut one));
}

// ---- compact entries -----------------------------------------------------------------

#[test]
fn objects_come_back_whole_from_the_compact_text() {
    let mut t = pods();
    let mut obj = (*pod("shop", "web", 60, "Running", 2, "web")).clone();
    // Key order, numbers, nulls and nesting survive the round trip.
    obj["spec"]["z"] = json!({"b": 1.5, "a": [null, true, -3, "x"]});
    obj["metadata"]["annotations"] = json!({"zz": "1", "aa": "2"});
    t.upsert(Arc::new(obj.clone()));
    assert_eq!(t.object("shop/web").as_deref(), Some(&obj));
    let text = |v: &Value| serde_json::to_string(v).unwrap();
    assert_eq!(
        text(&t.object("shop/web").unwrap()),
        text(&obj),
        "same key order"
    );
    assert_eq!(t.get("shop/web").map(|a| &**a), Some(&obj));
    assert_eq!(t.uid("shop/web"), Some("uid-shop-web"));
    assert_eq!(t.selected_object().as_deref(), Some(&obj));
    t.toggle_mark();
    assert_eq!(t.marked().len(), 1);
    assert_eq!(*t.marked()[0], obj);
    assert_eq!(t.targets().len(), 1);
    let rows = t.visible_rows(0, 5, now());
    assert_eq!(*rows[0].object, obj);
    // The rows on screen keep their parse until their object changes.
    assert!(Arc::ptr_eq(
        &t.visible_rows(0, 5, now())[0].object,
        &rows[0].object
    ));
    assert!(Arc::ptr_eq(&t.selected_object().unwrap(), &rows[0].object));
    obj["status"]["phase"] = json!("Failed");
    t.upsert(Arc::new(obj.clone()));
    assert_eq!(*t.visible_rows(0, 5, now())[0].object, obj);
    assert_eq!(t.visible_rows(0, 5, now())[0].cells[3], "Failed");
    assert_eq!(t.on_screen.len(), 1);
    t.remove("shop/web");
    assert!(t.on_screen.is_empty());
    t.upsert(Arc::new(obj.clone()));
    assert!(t.object("shop/nope").is_none() && t.uid("shop/nope").is_none());
    assert!(t.get("shop/nope").is_none());
}

#[test]
fn objects_lent_by_get_are_dropped_at_the_next_change() {
    let mut t = pods();
    for n in ["a", "b", "c"] {
        t.upsert(pod("ns", n, 10, "Running", 0, "web"));
    }
    assert!(t.get("ns/a").is_some() && t.get("ns/b").is_some());
    assert!(t.get("ns/a").is_some(), "a second get reuses the parse");
    assert_eq!(t.parsed.borrow().len(), 2);
    t.refresh();
    assert!(t.parsed.borrow().is_empty());
    let held = |t: &ResourceTable| {
        t.slots
            .iter()
            .flatten()
            .filter(|e| e.parsed.get().is_some())
            .count()
    };
    assert_eq!(held(&t), 0);
    // A replaced object is not served from the old parse.
    let _ = t.get("ns/a");
    t.upsert(pod("ns", "a", 10, "Pending", 0, "web"));
    assert_eq!(held(&t), 0);
    let phase = t.get("ns/a").unwrap()["status"]["phase"].clone();
    assert_eq!(phase, "Pending");
    t.set_metrics(HashMap::new());
    assert_eq!(held(&t), 0);
}

#[test]
fn label_selectors_read_the_kept_labels() {
    let mut t = pods();
    t.upsert(pod("shop", "a", 10, "Running", 0, "web"));
    let mut odd = (*pod("shop", "b", 10, "Running", 0, "web")).clone();
    // A label value that is not a string counts as absent, as `matches_object` has it.
    odd["metadata"]["labels"] = json!({"app": 5, "tier": "db", "a.b/c": "x"});
    t.upsert(Arc::new(odd));
    t.upsert(Arc::new(
        json!({"metadata": {"name": "c", "namespace": "shop"}}),
    ));
    t.set_label_selector(Some("app=web")).unwrap();
    assert_eq!(names(&mut t), ["shop/a"]);
    t.set_label_selector(Some("!app")).unwrap();
    assert_eq!(names(&mut t), ["shop/b", "shop/c"]);
    t.set_label_selector(Some("tier in (db),a.b/c=x")).unwrap();
    assert_eq!(names(&mut t), ["shop/b"]);
    t.set_label_selector(None).unwrap();
    t.set_filter("-l app!=web").unwrap();
    assert_eq!(names(&mut t), ["shop/b", "shop/c"]);
    assert_eq!(t.rows_built(), 0, "labels need no cells");
}

#[test]
fn sorting_and_filtering_build_no_rows_after_arrival() {
    let mut t = pods();
    for i in 0..20 {
        t.upsert(pod("ns", &format!("p{i:02}"), 10, "Running", 0, "web"));
    }
    t.set_filter("p1").unwrap();
    assert_eq!(t.len(), 10);
    t.set_filter("!p0").unwrap();
    assert_eq!(t.len(), 10);
    t.upsert(pod("ns", "p05", 10, "Pending", 0, "web"));
    t.set_filter("pending").unwrap();
    assert_eq!(names(&mut t), ["ns/p05"]);
    assert!(t.sort_by(SortColumn::from_header(t.kind(), "IP").unwrap()));
    t.set_filter("").unwrap();
    assert_eq!(t.len(), 20);
    assert_eq!(t.rows_built(), 0);
    // Cells with the separator, and integer columns, still sort right.
    let mut d = ResourceTable::new(lookup("deploy").unwrap());
    let ready = SortColumn::from_header(d.kind(), "READY").unwrap();
    assert!(d.sort_by(ready));
    for (n, r) in [("x", 3), ("y", 1), ("z\u{1f}", 2)] {
        d.upsert(Arc::new(json!({"metadata": {"name": n, "namespace": "d"},
            "spec": {"replicas": 3}, "status": {"readyReplicas": r}})));
    }
    assert_eq!(names(&mut d), ["d/y", "d/z\u{1f}", "d/x"]);
    let avail = SortColumn::from_header(d.kind(), "AVAILABLE").unwrap();
    d.set_sort(avail, true);
    for (n, a) in [("x", 10), ("y", 9)] {
        d.upsert(Arc::new(json!({"metadata": {"name": n, "namespace": "d"},
            "status": {"availableReplicas": a}})));
    }
    assert_eq!(names(&mut d), ["d/x", "d/y", "d/z\u{1f}"], "10 > 9 > 0");
    d.set_filter("3/3").unwrap();
    assert!(d.is_empty());
    d.set_filter("2/3").unwrap();
    assert_eq!(names(&mut d), ["d/z\u{1f}"]);
    assert_eq!(d.rows_built(), 0);
}
