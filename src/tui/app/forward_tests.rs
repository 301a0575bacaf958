//! Shift-F on a pod or service, the ports prompt, and the `:pf` list of forwards.

use super::tests::{added, fixture, press, type_line};
use super::*;
use crate::tui::widgets::ForwardRow;
use serde_json::json;

fn show_service(app: &mut App) {
    press(app, &[":"]);
    type_line(app, "svc");
    press(app, &["enter"]);
    app.apply_main(
        app.table_generation,
        vec![added(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}))],
    );
}

fn prompt_value(app: &App) -> String {
    match &app.mode {
        Mode::Prompt(d, PromptFor::PortForward(_)) => d.value().to_string(),
        _ => panic!("no port-forward prompt"),
    }
}

#[test]
fn shift_f_on_a_service_prompts_with_its_first_port_and_starts_a_forward() {
    let mut app = fixture();
    show_service(&mut app);
    assert!(press(&mut app, &["F"]).is_empty());
    assert_eq!(prompt_value(&app), "80");
    // A bad spec keeps the prompt open.
    type_line(&mut app, ":x:");
    assert!(press(&mut app, &["enter"]).is_empty());
    assert!(matches!(app.mode, Mode::Prompt(..)));
    for _ in 0..5 {
        press(&mut app, &["backspace"]);
    }
    type_line(&mut app, "8080:80 :http");
    let effects = press(&mut app, &["enter"]);
    match effects.as_slice() {
        [Effect::PortForward { id, target, ports }] => {
            assert_eq!(*id, 1);
            assert_eq!(target.reference(), "service/web");
            assert_eq!(ports, &["8080:80".to_string(), ":http".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.forwards.len(), 1);
    assert_eq!(app.forwards[0].object, "svc/web");
    assert_eq!(app.forwards[0].addresses, "starting");
}

#[test]
fn shift_f_on_a_pod_offers_its_first_container_port() {
    let mut app = fixture();
    app.apply_pods(vec![added(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-0", "namespace": "default", "uid": "u-api",
                     "creationTimestamp": "2026-11-22T10:00:00Z"},
        "spec": {"containers": [
            {"name": "side", "image": "busybox"},
            {"name": "main", "image": "busybox", "ports": [{"containerPort": 9090}]}]},
        "status": {"phase": "Running"}}))]);
    press(&mut app, &["/"]);
    type_line(&mut app, "api-0");
    press(&mut app, &["enter"]);
    press(&mut app, &["F"]);
    assert_eq!(prompt_value(&app), "9090");
    match press(&mut app, &["enter"]).as_slice() {
        [Effect::PortForward { target, ports, .. }] => {
            assert_eq!(target.reference(), "pod/api-0");
            assert_eq!(ports, &["9090".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn shift_f_does_nothing_on_other_kinds_and_is_refused_read_only() {
    let mut app = fixture();
    press(&mut app, &[":"]);
    type_line(&mut app, "deploy");
    press(&mut app, &["enter"]);
    app.apply_main(
        app.table_generation,
        vec![added(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 1}}))],
    );
    press(&mut app, &["F"]);
    assert!(matches!(app.mode, Mode::Normal));

    let mut ro = fixture();
    ro.session.readonly = true;
    show_service(&mut ro);
    press(&mut ro, &["F"]);
    assert!(matches!(ro.mode, Mode::Normal));
    assert!(ro.flash.as_ref().is_some_and(|f| f.error));
}

fn started(app: &mut App) -> u64 {
    show_service(app);
    press(app, &["F", "enter"]);
    let id = app.forwards.last().unwrap().id;
    let bound = [
        ("127.0.0.1:8080".parse().unwrap(), 8080),
        ("[::1]:8080".parse().unwrap(), 8080),
    ];
    app.forward_started(id, "web-1", &bound);
    id
}

#[test]
fn the_forwards_list_shows_rows_and_ctrl_d_stops_one() {
    let mut app = fixture();
    let first = started(&mut app);
    let second = started(&mut app);
    assert_ne!(first, second);
    app.forward_connection(first);
    app.forward_connection(first);
    let row: &ForwardRow = &app.forwards[0];
    assert_eq!(
        (
            row.pod.as_str(),
            row.ports.as_str(),
            row.addresses.as_str(),
            row.connections
        ),
        ("web-1", "8080:8080", "127.0.0.1, ::1", 2)
    );

    press(&mut app, &[":"]);
    type_line(&mut app, "pf");
    press(&mut app, &["enter"]);
    assert!(matches!(app.mode, Mode::Forwards(_)));
    assert_eq!(app.context(), "table.portforwards");
    press(&mut app, &["j"]);
    let effects = press(&mut app, &["ctrl-d"]);
    assert_eq!(effects, vec![Effect::StopForward(second)]);
    assert_eq!(app.forwards.len(), 1);
    assert!(matches!(app.mode, Mode::Forwards(_)), "the list stays open");
    let effects = press(&mut app, &["ctrl-d"]);
    assert_eq!(effects, vec![Effect::StopForward(first)]);
    assert!(app.forwards.is_empty());
    assert!(
        press(&mut app, &["ctrl-d"]).is_empty(),
        "nothing left to stop"
    );
    press(&mut app, &["esc"]);
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_forward_that_fails_to_start_leaves_the_list_with_its_reason() {
    let mut app = fixture();
    show_service(&mut app);
    press(&mut app, &["F", "enter"]);
    let id = app.forwards[0].id;
    app.forward_failed(
        id,
        "unable to forward port because pod web-1 is not running",
    );
    assert!(app.forwards.is_empty());
    let flash = app.flash.clone().unwrap();
    assert!(flash.error);
    assert_eq!(
        flash.text,
        "port-forward svc/web: unable to forward port because pod web-1 is not running"
    );
    // A start reported after the row is gone (stopped meanwhile) changes nothing.
    app.forward_started(id, "web-1", &[]);
    assert!(app.forwards.is_empty());
}

#[test]
fn the_forwards_view_draws_its_rows() {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    let mut app = fixture();
    started(&mut app);
    app.forward_connection(1);
    let view = crate::tui::widgets::ForwardsView::default();
    let area = Rect::new(0, 0, 90, 5);
    let mut buf = Buffer::empty(area);
    view.render(&app.forwards, app.now(), area, &mut buf, &app.theme);
    let text: Vec<String> = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect();
    assert!(text[0].contains("portforwards[1]"), "{text:#?}");
    assert!(
        text[1].contains("NAMESPACE") && text[1].contains("CONNS"),
        "{text:#?}"
    );
    for cell in [
        "default",
        "svc/web",
        "web-1",
        "8080:8080",
        "127.0.0.1, ::1",
        " 1 ",
    ] {
        assert!(text[2].contains(cell), "{cell}: {text:#?}");
    }
    let mut empty = Buffer::empty(area);
    view.render(&[], app.now(), area, &mut empty, &app.theme);
    let line: String = (0..area.width)
        .map(|x| empty[(x, 1)].symbol().to_string())
        .collect();
    assert!(line.contains("shift-f on a pod or service"), "{line}");
}

#[test]
fn deleting_the_pod_ends_its_forwards() {
    let mut app = fixture();
    let id = started(&mut app);
    app.apply_pods(vec![WatchEvent {
        event_type: EventType::Deleted,
        object: super::tests::pod("default", "web-1", json!({"app": "web"})),
    }]);
    assert!(app.forwards.is_empty());
    assert_eq!(app.lost_forwards, vec![id]);
    let flash = app.flash.clone().unwrap();
    assert_eq!(
        flash.text,
        "port-forward svc/web 8080:8080 stopped: lost connection to pod web-1"
    );
}
