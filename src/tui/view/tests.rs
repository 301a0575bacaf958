//! Whole-screen snapshots at 80×24 and 160×48 on a seeded fixture with a fixed clock: each
//! pane focused, the overlays, and a table of every kind `:` can show.

use super::*;
use crate::api::request::{EventType, WatchEvent};
use crate::tui::app::tests::{added, fixture, key};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use serde_json::json;

/// A logs pane with two fixed lines (the real pane has its own snapshots).
struct FixedLogs;

impl LogsView for FixedLogs {
    fn render(&self, area: Rect, buf: &mut Buffer, app: &App, focused: bool) {
        let style = if focused {
            app.theme.ui.border_focused
        } else {
            app.theme.ui.border
        };
        Paragraph::new("listening on :8080\nGET / 200")
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(style)
                    .title(" Logs default/db-0 [follow] "),
            )
            .render(area, buf);
    }
}

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        draw(f, app, &FixedLogs);
    })
    .unwrap();
    format!("{}", t.backend())
}

fn both(name: &str, app: &mut App) {
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(app, w, h));
    }
}

fn press(app: &mut App, keys: &[&str]) {
    for k in keys {
        app.on_key(key(k), false);
    }
}

#[test]
fn pods_with_each_pane_focused() {
    let mut app = fixture();
    both("pods_table", &mut app);
    app.focus = Focus::Namespaces;
    both("namespaces_focused", &mut app);
    app.focus = Focus::Labels;
    press(&mut app, &["down", "down", "space"]);
    both("labels_picked", &mut app);
    app.focus = Focus::Logs;
    both("logs_focused", &mut app);
    app.zoomed = true;
    both("logs_zoomed", &mut app);
}

#[test]
fn overlays() {
    let mut app = fixture();
    press(&mut app, &["ctrl-d"]);
    both("delete_dialog", &mut app);
    press(&mut app, &["esc", "ctrl-k"]);
    both("kill_dialog", &mut app);
    press(&mut app, &["esc", "y"]);
    both("yaml_view", &mut app);
    press(&mut app, &["q", "?"]);
    both("help", &mut app);
    press(&mut app, &["esc", ":"]);
    for c in "dep".chars() {
        app.on_key(key(&c.to_string()), false);
    }
    press(&mut app, &["tab"]);
    both("command_line", &mut app);
    press(&mut app, &["esc", "e"]);
    both("editor", &mut app);
    press(&mut app, &["esc", "enter"]);
    both("containers", &mut app);
    press(&mut app, &["esc"]);
    let samples =
        |cpu, mem| std::collections::HashMap::from([("default/db-0".to_string(), (cpu, mem))]);
    for (cpu, mem) in [(5, 20 << 20), (40, 24 << 20), (12, 23 << 20)] {
        app.set_metrics(samples(cpu, mem));
    }
    app.show_text(
        "describe pod/db-0",
        "Name:         db-0\nNamespace:    default\nStatus:       Running\n",
        Some("default/db-0".into()),
    );
    both("describe_with_usage", &mut app);
}

#[test]
fn readonly_footer_hides_mutating_keys() {
    let mut app = fixture();
    app.session.readonly = true;
    let s = screen(&mut app, 160, 48);
    assert!(!s.contains("delete"), "{s}");
    assert!(s.contains("READ-ONLY"), "{s}");
}

/// One object per kind, enough for each kind's columns.
fn sample(kind: &str) -> serde_json::Value {
    let meta = |name: &str| {
        json!({"name": name, "namespace": "default", "uid": format!("u-{name}"),
            "creationTimestamp": "2026-11-22T09:00:00Z"})
    };
    match kind {
        "deployments" => {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}})
        }
        "replicasets" => {
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("web-5d4f8"),
            "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 3}})
        }
        "replicationcontrollers" => json!({"apiVersion": "v1", "kind": "ReplicationController",
            "metadata": meta("legacy"), "spec": {"replicas": 1}, "status": {"replicas": 1}}),
        "statefulsets" => {
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("db"),
            "spec": {"replicas": 2}, "status": {"readyReplicas": 2}})
        }
        "daemonsets" => {
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("agent"),
            "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1}})
        }
        "jobs" => json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("backup"),
            "spec": {"completions": 5}, "status": {"succeeded": 5}}),
        "cronjobs" => {
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("nightly"),
            "spec": {"schedule": "0 3 * * *"}})
        }
        "services" => json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web"),
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                "ports": [{"port": 80, "protocol": "TCP"}]}}),
        "endpoints" => json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("web"),
            "subsets": [{"addresses": [{"ip": "10.88.0.5"}], "ports": [{"port": 8080}]}]}),
        "configmaps" => {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("settings"),
            "data": {"a": "1", "b": "2"}})
        }
        "secrets" => json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta("token"),
            "type": "Opaque", "data": {"t": "eA=="}}),
        "persistentvolumeclaims" => json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": meta("data"), "spec": {"accessModes": ["ReadWriteOnce"]},
            "status": {"phase": "Bound"}}),
        "events" => json!({"apiVersion": "v1", "kind": "Event", "metadata": meta("web.1"),
            "type": "Normal", "reason": "Started", "message": "Started container main",
            "involvedObject": {"kind": "Pod", "name": "web-1"},
            "lastTimestamp": "2026-11-22T10:04:00Z"}),
        "nodes" => json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-1", "creationTimestamp": "2026-11-22T08:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {"kubeletVersion": "v1.32.0-peapod"}}}),
        "namespaces" => json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "shop", "creationTimestamp": "2026-11-22T08:00:00Z"},
            "status": {"phase": "Active"}}),
        "persistentvolumes" => json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "pv-1", "creationTimestamp": "2026-11-22T08:00:00Z"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]},
            "status": {"phase": "Available"}}),
        other => panic!("no sample for {other}"),
    }
}

#[test]
fn every_kind_table() {
    for (command, plural) in [
        ("deploy", "deployments"),
        ("rs", "replicasets"),
        ("rc", "replicationcontrollers"),
        ("sts", "statefulsets"),
        ("ds", "daemonsets"),
        ("job", "jobs"),
        ("cj", "cronjobs"),
        ("svc", "services"),
        ("ep", "endpoints"),
        ("cm", "configmaps"),
        ("secret", "secrets"),
        ("ns", "namespaces"),
        ("node", "nodes"),
        ("events", "events"),
        ("pvc", "persistentvolumeclaims"),
        ("pv", "persistentvolumes"),
    ] {
        let mut app = fixture();
        press(&mut app, &[":"]);
        for c in command.chars() {
            app.on_key(key(&c.to_string()), false);
        }
        press(&mut app, &["enter"]);
        assert_eq!(app.kind().plural, plural, ":{command}");
        let g = app.table_generation;
        app.apply_main(g, vec![added(sample(plural))]);
        both(&format!("kind_{plural}"), &mut app);
    }
}

#[test]
fn a_frame_builds_only_the_visible_rows() {
    let mut app = fixture();
    let events: Vec<WatchEvent> = (0..10_000)
        .map(|i| WatchEvent {
            event_type: EventType::Added,
            object: crate::tui::app::tests::pod("bulk", &format!("p-{i:05}"), json!({"i": "x"})),
        })
        .collect();
    app.apply_pods(events);
    let before = app.table.rows_built();
    screen(&mut app, 160, 48);
    let built = app.table.rows_built() - before;
    assert!(built <= 48, "built {built} rows for one frame");
    // Tiny terminals do not panic.
    for (w, h) in [(1, 1), (10, 3), (20, 6), (80, 5)] {
        screen(&mut app, w, h);
    }
}
