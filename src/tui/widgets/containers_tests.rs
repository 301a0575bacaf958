use super::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

fn now() -> jiff::Timestamp {
    "2025-01-01T12:00:00Z".parse().unwrap()
}

/// A pod with an init container that completed, a native sidecar, a crashlooping container,
/// a healthy one and an ephemeral debug container.
fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-7d4b9", "namespace": "shop"},
        "spec": {
            "initContainers": [
                {"name": "migrate", "image": "shop/migrate:1.4"},
                {
                    "name": "proxy",
                    "image": "envoyproxy/envoy:v1.31",
                    "restartPolicy": "Always",
                    "readinessProbe": {"tcpSocket": {"port": 9901}},
                    "ports": [{"name": "admin", "containerPort": 9901}],
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}
                }
            ],
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "livenessProbe": {"httpGet": {"path": "/", "port": 80}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": 80}},
                    "startupProbe": {"httpGet": {"path": "/", "port": 80}},
                    "ports": [
                        {"name": "http", "containerPort": 80, "protocol": "TCP"},
                        {"containerPort": 53, "protocol": "UDP"}
                    ],
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "64Mi"},
                        "limits": {"cpu": "500m", "memory": "128Mi"}
                    }
                },
                {
                    "name": "worker",
                    "image": "shop/worker:2.0",
                    "resources": {"limits": {"cpu": 1}}
                }
            ],
            "ephemeralContainers": [
                {"name": "debugger", "image": "busybox:1.36"}
            ]
        },
        "status": {
            "phase": "Running",
            "initContainerStatuses": [
                {
                    "name": "migrate", "ready": true, "restartCount": 0,
                    "state": {"terminated": {
                        "exitCode": 0, "reason": "Completed",
                        "startedAt": "2025-01-01T11:00:00Z",
                        "finishedAt": "2025-01-01T11:00:05Z"
                    }}
                },
                {
                    "name": "proxy", "ready": true, "restartCount": 1,
                    "state": {"running": {"startedAt": "2025-01-01T11:00:06Z"}}
                }
            ],
            "containerStatuses": [
                {
                    "name": "web", "ready": false, "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": "back-off 5m0s restarting failed container"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}
                },
                {
                    "name": "worker", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": "2025-01-01T11:57:30Z"}}
                }
            ],
            "ephemeralContainerStatuses": [
                {
                    "name": "debugger", "ready": false, "restartCount": 0,
                    "state": {"terminated": {
                        "exitCode": 137, "reason": "Error",
                        "startedAt": "2025-01-01T11:59:00Z"
                    }}
                }
            ]
        }
    })
}

fn row<'a>(rows: &'a [ContainerRow], name: &str) -> &'a ContainerRow {
    rows.iter().find(|r| r.name == name).unwrap()
}

#[test]
fn rows_come_in_kubernetes_order() {
    let rows = container_rows(&pod());
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["migrate", "proxy", "web", "worker", "debugger"]);
    let init: Vec<&str> = rows.iter().map(ContainerRow::init).collect();
    assert_eq!(init, ["true", "sidecar", "false", "false", "false"]);
    assert_eq!(rows[1].kind, ContainerKind::Sidecar);
    assert_eq!(rows[4].kind, ContainerKind::Ephemeral);
}

#[test]
fn states_and_their_colours() {
    let rows = container_rows(&pod());
    let state = |n: &str| {
        let r = row(&rows, n);
        (r.state.as_str(), r.state_role)
    };
    assert_eq!(
        state("migrate"),
        ("Terminated: Completed (exit 0)", StateRole::Succeeded)
    );
    assert_eq!(state("proxy"), ("Running", StateRole::Running));
    assert_eq!(
        state("web"),
        ("Waiting: CrashLoopBackOff", StateRole::CrashLoop)
    );
    assert_eq!(
        state("debugger"),
        ("Terminated: Error (exit 137)", StateRole::Failed)
    );
    // Other waiting reasons are pending; no status yet is waiting too.
    let spec = json!({"name": "c", "image": "x"});
    let st = json!({"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}});
    let r = ContainerRow::new(&spec, ContainerKind::Regular, Some(&st));
    assert_eq!(
        (r.state.as_str(), r.state_role),
        ("Waiting: ContainerCreating", StateRole::Pending)
    );
    let r = ContainerRow::new(&spec, ContainerKind::Regular, None);
    assert_eq!(
        (r.state.as_str(), r.state_role),
        ("Waiting", StateRole::Pending)
    );
    assert!(!r.ready);
    assert_eq!(r.restarts, 0);
    assert_eq!(r.age(now()), "n/a");
    // A terminated state without a reason still shows the exit code.
    let st = json!({"name": "c", "state": {"terminated": {"exitCode": 2}}});
    let r = ContainerRow::new(&spec, ContainerKind::Regular, Some(&st));
    assert_eq!(
        (r.state.as_str(), r.state_role),
        ("Terminated (exit 2)", StateRole::Failed)
    );
    // Theme roles.
    let theme = Theme::default_theme();
    assert_eq!(
        StateRole::CrashLoop.style(&theme),
        theme.status_roles.crashloop
    );
    assert_eq!(
        StateRole::Succeeded.style(&theme),
        theme.status_roles.succeeded
    );
}

#[test]
fn ready_restarts_and_age() {
    let rows = container_rows(&pod());
    let web = row(&rows, "web");
    assert!(!web.ready);
    assert_eq!(web.restarts, 7);
    assert_eq!(web.age(now()), "n/a");
    let proxy = row(&rows, "proxy");
    assert!(proxy.ready);
    assert_eq!(proxy.restarts, 1);
    assert_eq!(proxy.age(now()), "59m");
    assert_eq!(row(&rows, "worker").age(now()), "2m30s");
    // A terminated container's age is from when that run started.
    assert_eq!(row(&rows, "migrate").age(now()), "60m");
    assert_eq!(row(&rows, "debugger").age(now()), "60s");
}

#[test]
fn probes_resources_and_ports() {
    let rows = container_rows(&pod());
    let web = row(&rows, "web");
    assert_eq!(web.probes, "L:on R:on S:on");
    assert_eq!(web.cpu, "100m:500m");
    assert_eq!(web.mem, "64Mi:128Mi");
    assert_eq!(web.ports, "http:80/TCP,53/UDP");
    let proxy = row(&rows, "proxy");
    assert_eq!(proxy.probes, "L:off R:on S:off");
    assert_eq!(proxy.cpu, "50m:n/a");
    assert_eq!(proxy.ports, "admin:9901/TCP");
    // A limit written as a JSON number; no memory at all.
    let worker = row(&rows, "worker");
    assert_eq!(worker.cpu, "n/a:1");
    assert_eq!(worker.mem, "n/a");
    assert_eq!(worker.probes, "L:off R:off S:off");
    assert_eq!(worker.ports, "");
    let cells = web.cells(now());
    assert_eq!(cells.len(), HEADERS.len());
    assert_eq!(
        cells,
        [
            "web",
            "nginx:1.27",
            "false",
            "Waiting: CrashLoopBackOff",
            "false",
            "7",
            "L:on R:on S:on",
            "100m:500m",
            "64Mi:128Mi",
            "http:80/TCP,53/UDP",
            "n/a"
        ]
    );
}

#[test]
fn odd_pods_do_not_panic() {
    for v in [json!({}), json!(null), json!({"spec": {"containers": "x"}})] {
        let mut view = ContainersView::new(&v, now());
        assert!(view.rows().is_empty());
        assert_eq!(view.on_action("row.down"), ContainerAction::None);
        assert_eq!(view.on_action("row.last"), ContainerAction::None);
        assert_eq!(view.on_action("pod.logs"), ContainerAction::None);
        assert_eq!(view.selected_index(), 0);
        let mut t = Terminal::new(TestBackend::new(20, 3)).unwrap();
        t.draw(|f| view.render(f.area(), f.buffer_mut(), &Theme::default_theme()))
            .unwrap();
    }
}

#[test]
fn actions_move_and_name_the_container() {
    let mut v = ContainersView::new(&pod(), now());
    assert_eq!(v.context(), "table.containers");
    assert_eq!((v.namespace(), v.pod_name()), ("shop", "web-7d4b9"));
    assert_eq!(v.selected_name(), Some("migrate"));
    assert_eq!(v.on_action("row.up"), ContainerAction::None);
    assert_eq!(v.selected_index(), 0);
    v.on_action("row.down");
    v.on_action("row.down");
    assert_eq!(v.on_action("row.open"), ContainerAction::Logs("web".into()));
    assert_eq!(v.on_action("pod.logs"), ContainerAction::Logs("web".into()));
    assert_eq!(
        v.on_action("pod.shell"),
        ContainerAction::Shell("web".into())
    );
    assert_eq!(
        v.on_action("pod.logs.previous"),
        ContainerAction::PreviousLogs("web".into())
    );
    assert_eq!(v.on_action("view.back"), ContainerAction::Back);
    assert_eq!(v.on_action("resource.delete"), ContainerAction::None);
    assert_eq!(v.selected_name(), Some("web"));
    v.on_action("row.last");
    assert_eq!(v.selected_name(), Some("debugger"));
    v.on_action("row.down");
    assert_eq!(v.selected_name(), Some("debugger"));
    v.on_action("row.first");
    assert_eq!(v.selected_name(), Some("migrate"));
    // A page is what the last render showed: 2 rows in a 5-line area (border, header).
    let mut t = Terminal::new(TestBackend::new(80, 5)).unwrap();
    t.draw(|f| v.render(f.area(), f.buffer_mut(), &Theme::default_theme()))
        .unwrap();
    v.on_action("page.down");
    assert_eq!(v.selected_index(), 2);
    v.on_action("page.down");
    v.on_action("page.down");
    assert_eq!(v.selected_index(), 4);
    v.on_action("page.up");
    assert_eq!(v.selected_index(), 2);
    v.on_action("page.up");
    v.on_action("page.up");
    assert_eq!(v.selected_index(), 0);
}

#[test]
fn the_default_keymap_reaches_the_actions() {
    let km = crate::tui::keymap::Keymap::default_map();
    let action = |seq: &str| km.sequence_action(CONTEXT, seq);
    // From [table] and [global].
    assert_eq!(action("enter").as_deref(), Some("row.open"));
    assert_eq!(action("l").as_deref(), Some("pod.logs"));
    assert_eq!(action("j").as_deref(), Some("row.down"));
    assert_eq!(action("esc").as_deref(), Some("view.back"));
}

#[test]
fn refresh_keeps_the_cursor_on_the_same_container() {
    let mut v = ContainersView::new(&pod(), now());
    v.on_action("row.down");
    v.on_action("row.down");
    v.on_action("row.down");
    assert_eq!(v.selected_name(), Some("worker"));
    // The sidecar went away and web started running: the cursor stays on worker.
    let mut newer = pod();
    newer["spec"]["initContainers"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    newer["status"]["containerStatuses"][0]["state"] =
        json!({"running": {"startedAt": "2025-01-01T11:59:50Z"}});
    v.set_pod(&newer);
    assert_eq!(v.selected_name(), Some("worker"));
    assert_eq!(v.selected_index(), 2);
    assert_eq!(v.rows()[1].state, "Running");
    // The selected container itself is gone: the same position, clamped to the rows.
    v.on_action("row.last");
    let mut fewer = newer.clone();
    fewer["spec"]["ephemeralContainers"] = json!([]);
    v.set_pod(&fewer);
    assert_eq!(v.selected_name(), Some("worker"));
    v.set_pod(&json!({}));
    assert_eq!((v.selected_index(), v.selected_name()), (0, None));
}

#[test]
fn narrow_panes_keep_name_ready_and_state() {
    let mut widths: Vec<usize> = HEADERS.iter().map(|h| h.len()).collect();
    widths[IMAGE] = 40;
    // Everything fits: nothing cut.
    let all = widths.iter().sum::<usize>() + SPACING * (widths.len() - 1);
    let mut w = widths.clone();
    assert_eq!(fit(&mut w, all), (0..11).collect::<Vec<_>>());
    assert_eq!(w[IMAGE], 40);
    // A little short: only IMAGE is cut.
    let mut w = widths.clone();
    assert_eq!(fit(&mut w, all - 10).len(), 11);
    assert_eq!(w[IMAGE], 30);
    // Too narrow for IMAGE at its usual least: it gets the room left after the other
    // columns were dropped.
    let mut w = widths.clone();
    let five = [0, 2, 3, 4, 5]
        .iter()
        .map(|&i| widths[i] + SPACING)
        .sum::<usize>();
    assert_eq!(fit(&mut w, five + 10), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(w[IMAGE], 10);
    let mut w = widths.clone();
    assert_eq!(fit(&mut w, five + 5), vec![0, 2, 3, 4, 5]);
    // Far too narrow: the essential three remain.
    let mut w = widths.clone();
    assert_eq!(fit(&mut w, 10), vec![0, 2, 3]);
    assert_eq!(cut("envoyproxy/envoy:v1.31", 8), "envoypr…");
    assert_eq!(cut("abc", 3), "abc");
    assert_eq!(cut("abc", 0), "");
}

fn draw(v: &ContainersView, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| v.render(f.area(), f.buffer_mut(), &Theme::default_theme()))
        .unwrap();
    t
}

/// The column where `pat` starts in a rendered line (symbols like `│` are several bytes).
fn column(line: &str, pat: &str) -> u16 {
    line[..line.find(pat).unwrap()].chars().count() as u16
}

#[test]
fn snapshots() {
    let mut v = ContainersView::new(&pod(), now());
    v.on_action("row.last");
    v.on_action("row.up");
    assert_eq!(v.selected_name(), Some("worker"));
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(&v, w, h);
        insta::assert_snapshot!(format!("containers_{w}x{h}"), t.backend());
    }
    // STATE cells in the status roles' colours, the cursor row (worker) in the selection
    // style, the title names the pod.
    let theme = Theme::default_theme();
    let roles = &theme.status_roles;
    let t = draw(&v, 160, 48);
    let buf = t.backend().buffer();
    let line = |y: u16| -> String { (0..160).map(|x| buf[(x, y)].symbol()).collect() };
    assert!(line(0).contains(" containers(shop/web-7d4b9)[5] "));
    let y_of = |name: &str| {
        (0..48)
            .find(|&y| line(y).starts_with(&format!("│{name} ")))
            .unwrap()
    };
    let state_fg = |name: &str, state: &str| {
        let y = y_of(name);
        buf[(column(&line(y), state), y)].fg
    };
    assert_eq!(y_of("migrate"), 2, "the header is on row 1");
    assert_eq!(Some(state_fg("web", "Waiting")), roles.crashloop.fg);
    assert_eq!(Some(state_fg("proxy", "Running")), roles.running.fg);
    assert_eq!(Some(state_fg("migrate", "Terminated")), roles.succeeded.fg);
    assert_eq!(Some(state_fg("debugger", "Terminated")), roles.failed.fg);
    let worker = y_of("worker");
    assert_eq!(worker, 5);
    assert_eq!(Some(buf[(1, worker)].bg), theme.ui.selection.bg);
    assert_eq!(Some(buf[(1, worker)].fg), theme.ui.selection.fg);
    assert_ne!(Some(buf[(1, 4)].bg), theme.ui.selection.bg);
}
