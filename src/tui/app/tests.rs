use super::*;
use crate::api::request::EventType;
use crate::tui::app::keys::LogsInput;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

pub fn key(s: &str) -> KeyEvent {
    let (mods, rest) = match s.strip_prefix("ctrl-") {
        Some(r) => (KeyModifiers::CONTROL, r),
        None => (KeyModifiers::NONE, s),
    };
    let code = match rest {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "down" => KeyCode::Down,
        "up" => KeyCode::Up,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        c => KeyCode::Char(c.chars().next().unwrap()),
    };
    let mods = if matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
        mods | KeyModifiers::SHIFT
    } else {
        mods
    };
    KeyEvent::new(code, mods)
}

pub fn pod(ns: &str, name: &str, labels: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{ns}-{name}"),
            "labels": labels, "creationTimestamp": "2026-11-22T10:00:00Z"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "busybox"}]},
        "status": {"phase": "Running", "podIP": "10.88.0.5",
            "containerStatuses": [{"name": "main", "ready": true, "restartCount": 0,
                "state": {"running": {"startedAt": "2026-11-22T10:00:01Z"}}}]}})
}

pub fn added(obj: serde_json::Value) -> WatchEvent {
    WatchEvent {
        event_type: EventType::Added,
        object: obj,
    }
}

/// A console with three namespaces and a few labelled pods, on a fixed clock.
pub fn fixture() -> App {
    let mut app = App::new(
        Session {
            endpoint: "embedded /tmp/state".into(),
            version: "v1.33.0-peapod.0.1.0".into(),
            readonly: false,
        },
        crate::tui::config::Config {
            favourite_namespaces: vec!["shop".into()],
            ..Default::default()
        },
        Keymap::default_map(),
        Theme::default_theme(),
    );
    app.clock = Some("2026-11-22T10:05:00Z".parse().unwrap());
    for ns in ["default", "kube-system", "shop"] {
        app.apply_namespace(added(
            json!({"kind": "Namespace", "metadata": {"name": ns}}),
        ));
    }
    app.apply_pods(vec![
        added(pod(
            "default",
            "web-1",
            json!({"app": "web", "env": "prod"}),
        )),
        added(pod(
            "default",
            "web-2",
            json!({"app": "web", "env": "staging"}),
        )),
        added(pod("default", "db-0", json!({"app": "db", "env": "prod"}))),
        added(pod("shop", "cart-1", json!({"app": "cart"}))),
    ]);
    app
}

pub fn press(app: &mut App, keys: &[&str]) -> Vec<Effect> {
    let mut effects = Vec::new();
    for k in keys {
        effects.extend(app.on_key(key(k), false).effects);
    }
    effects
}

pub fn type_line(app: &mut App, text: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in text.chars() {
        effects.extend(app.on_key(key(&c.to_string()), false).effects);
    }
    effects
}

#[test]
fn command_mode_switches_kinds_and_back_to_the_same_pods_table() {
    let mut app = fixture();
    press(&mut app, &[":"]);
    type_line(&mut app, "deploy");
    let effects = press(&mut app, &["enter"]);
    assert_eq!(app.kind().kind, "Deployment");
    assert!(
        matches!(effects.as_slice(), [Effect::WatchMain { kind, generation: 1 }] if kind.kind == "Deployment")
    );
    // The logs pane's pod still comes from the kept pods table.
    assert!(app.log_pod().is_some());
    press(&mut app, &[":"]);
    type_line(&mut app, "po");
    let effects = press(&mut app, &["enter"]);
    assert!(effects.is_empty(), "pods need no new watch");
    assert_eq!(app.table.len(), 4);
    // Unknown commands explain themselves and change nothing.
    press(&mut app, &[":"]);
    type_line(&mut app, "deplyo");
    press(&mut app, &["enter"]);
    assert!(app.flash.as_ref().unwrap().text.contains("did you mean"));
    assert_eq!(app.kind().kind, "Pod");
}

#[test]
fn tab_completes_commands_and_up_recalls_history() {
    let mut app = fixture();
    press(&mut app, &[":"]);
    type_line(&mut app, "stat");
    press(&mut app, &["tab"]);
    let Mode::Command(input) = &app.mode else {
        panic!("not in command mode")
    };
    assert_eq!(input.text(), "statefulset");
    press(&mut app, &["esc", ":"]);
    type_line(&mut app, "svc");
    press(&mut app, &["enter", ":", "up"]);
    let Mode::Command(input) = &app.mode else {
        panic!("not in command mode")
    };
    assert_eq!(input.text(), "svc");
}

#[test]
fn slash_filters_as_typed_and_esc_restores() {
    let mut app = fixture();
    press(&mut app, &["/"]);
    type_line(&mut app, "web");
    assert_eq!(app.table.len(), 2);
    press(&mut app, &["esc"]);
    assert_eq!(app.table.len(), 4);
    press(&mut app, &["/"]);
    type_line(&mut app, "!web");
    press(&mut app, &["enter"]);
    assert_eq!(app.table.len(), 2);
    // Esc in the table clears the filter.
    press(&mut app, &["esc"]);
    assert_eq!(app.table.len(), 4);
    press(&mut app, &["/"]);
    type_line(&mut app, "-l env=prod");
    press(&mut app, &["enter"]);
    assert_eq!(app.table.keys(), vec!["default/db-0", "default/web-1"]);
}

#[test]
fn delete_asks_first_and_enter_on_the_default_cancels() {
    let mut app = fixture();
    let effects = press(&mut app, &["ctrl-d"]);
    assert!(effects.is_empty());
    assert!(matches!(app.mode, Mode::Confirm(..)));
    let effects = press(&mut app, &["enter"]);
    assert!(effects.is_empty(), "Cancel is the default");
    assert!(matches!(app.mode, Mode::Normal));
    press(&mut app, &["ctrl-d", "tab"]);
    let effects = press(&mut app, &["enter"]);
    match effects.as_slice() {
        [
            Effect::Delete {
                targets,
                force: false,
                ..
            },
        ] => {
            assert_eq!(targets.len(), 1);
            assert_eq!(targets[0].reference(), "pod/db-0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn marks_make_actions_apply_to_many_and_kill_is_confirmed() {
    let mut app = fixture();
    press(&mut app, &["space", "space"]);
    press(&mut app, &["ctrl-k", "tab"]);
    let effects = press(&mut app, &["enter"]);
    match effects.as_slice() {
        [
            Effect::Delete {
                targets,
                grace: Some(0),
                force: true,
            },
        ] => {
            let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["db-0", "web-1"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn readonly_refuses_every_mutating_action() {
    let mut app = fixture();
    app.session.readonly = true;
    for k in ["ctrl-d", "ctrl-k", "e", "s"] {
        let effects = press(&mut app, &[k]);
        assert!(effects.is_empty(), "{k}");
        assert!(matches!(app.mode, Mode::Normal), "{k}");
        assert!(
            app.flash.as_ref().unwrap().text.contains("read-only"),
            "{k}"
        );
    }
    press(&mut app, &[":"]);
    type_line(&mut app, "apply /tmp/x.yaml");
    assert!(press(&mut app, &["enter"]).is_empty());
    // Looking is still allowed.
    press(&mut app, &["y"]);
    assert!(matches!(app.mode, Mode::Text(_)));
}

#[test]
fn namespaces_pane_scopes_tables_and_favourites_jump() {
    let mut app = fixture();
    press(&mut app, &["backtab"]);
    assert_eq!(app.focus, Focus::Namespaces);
    press(&mut app, &["down"]);
    assert_eq!(app.namespace(), Some("default"));
    assert_eq!(app.table.len(), 3);
    press(&mut app, &["1"]);
    assert_eq!(app.namespace(), Some("shop"));
    assert_eq!(app.table.len(), 1);
    press(&mut app, &["0"]);
    assert_eq!(app.namespace(), None);
    assert_eq!(app.table.len(), 4);
    press(&mut app, &["2"]);
    assert!(app.flash.as_ref().unwrap().text.contains("favourite"));
}

#[test]
fn label_picks_filter_the_pods_table() {
    let mut app = fixture();
    app.focus = Focus::Labels;
    let rows = app.pods.labels(None);
    let at = rows
        .iter()
        .position(|r| r.key == "env" && r.value == "prod")
        .unwrap();
    for _ in 0..at {
        press(&mut app, &["down"]);
    }
    press(&mut app, &["space"]);
    assert_eq!(app.table.label_selector(), Some("env=prod"));
    assert_eq!(app.table.len(), 2);
    press(&mut app, &["down", "space"]);
    assert_eq!(app.table.label_selector(), Some("env in (prod,staging)"));
    assert_eq!(app.table.len(), 3);
}

#[test]
fn enter_on_a_deployment_shows_its_pods_and_history_goes_back() {
    let mut app = fixture();
    press(&mut app, &[":"]);
    type_line(&mut app, "deploy");
    press(&mut app, &["enter"]);
    app.apply_main(
        app.table_generation,
        vec![added(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}}))],
    );
    press(&mut app, &["enter"]);
    assert_eq!(app.kind().kind, "Pod");
    assert_eq!(app.table.len(), 2);
    let effects = press(&mut app, &["["]);
    assert_eq!(app.kind().kind, "Deployment");
    assert!(matches!(effects.as_slice(), [Effect::WatchMain { .. }]));
    press(&mut app, &["]"]);
    assert_eq!(app.kind().kind, "Pod");
    assert_eq!(app.table.filter().source(), "-l app=web");
}

#[test]
fn scale_prompts_and_checks_the_number() {
    let mut app = fixture();
    press(&mut app, &[":"]);
    type_line(&mut app, "deploy");
    press(&mut app, &["enter"]);
    app.apply_main(
        app.table_generation,
        vec![added(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 2}}))],
    );
    press(&mut app, &["s"]);
    assert!(matches!(app.mode, Mode::Prompt(..)));
    press(&mut app, &["backspace"]);
    type_line(&mut app, "x");
    assert!(press(&mut app, &["enter"]).is_empty());
    assert!(
        matches!(app.mode, Mode::Prompt(..)),
        "a bad number keeps the prompt"
    );
    press(&mut app, &["backspace"]);
    type_line(&mut app, "5");
    match press(&mut app, &["enter"]).as_slice() {
        [
            Effect::Scale {
                target,
                replicas: 5,
            },
        ] => {
            assert_eq!(target.reference(), "deployment.apps/web")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn logs_keys_go_to_the_logs_pane_and_q_in_a_text_view_closes_it() {
    let mut app = fixture();
    press(&mut app, &["l"]);
    assert_eq!(app.focus, Focus::Logs);
    let r = app.on_key(key("f"), false);
    assert_eq!(r.logs, vec![LogsInput::Action("logs.follow".into())]);
    let r = app.on_key(key("x"), true);
    assert_eq!(r.logs, vec![LogsInput::Key(key("x"))]);
    app.focus = Focus::Table;
    press(&mut app, &["y"]);
    assert!(matches!(app.mode, Mode::Text(_)));
    press(&mut app, &["q"]);
    assert!(matches!(app.mode, Mode::Normal));
    assert!(!app.quit);
    press(&mut app, &["q"]);
    assert!(app.quit);
}

#[test]
fn label_command_patches_the_selected_objects() {
    let mut app = fixture();
    press(&mut app, &[":"]);
    type_line(&mut app, "label tier=front old-");
    match press(&mut app, &["enter"]).as_slice() {
        [Effect::Patch { targets, patch, .. }] => {
            assert_eq!(targets[0].name, "db-0");
            assert_eq!(
                patch,
                &json!({"metadata": {"labels": {"tier": "front", "old": null}}})
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deleted_pods_leave_counts_and_selection_consistent() {
    let mut app = fixture();
    press(&mut app, &["down"]);
    let before = app.table.selected_key().map(str::to_string);
    assert_eq!(before.as_deref(), Some("default/web-1"));
    app.apply_pods(vec![WatchEvent {
        event_type: EventType::Deleted,
        object: pod("default", "web-1", json!({})),
    }]);
    assert_eq!(app.pods.count_in("default"), 2);
    assert_eq!(app.table.selected_key(), Some("default/web-2"));
}

#[test]
fn mouse_clicks_focus_panes_and_select_rows() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = fixture();
    app.areas = crate::tui::view::Areas {
        namespaces: Some(ratatui::layout::Rect::new(0, 1, 20, 10)),
        labels: None,
        table: Some(ratatui::layout::Rect::new(20, 1, 100, 30)),
        logs: None,
    };
    let click = |column, row, kind| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.focus = Focus::Namespaces;
    // Border and header are rows 1 and 2; the third row of data is at y = 5.
    app.on_mouse(click(40, 5, MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(app.focus, Focus::Table);
    assert_eq!(app.table.selected_key(), Some("default/web-2"));
    app.on_mouse(click(40, 5, MouseEventKind::ScrollUp));
    assert_eq!(app.table.selected_key(), Some("default/db-0"));
    // Outside every pane: nothing happens.
    app.on_mouse(click(150, 40, MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(app.focus, Focus::Table);
}

#[test]
fn enter_on_a_pod_lists_its_containers_and_l_tails_one() {
    let mut app = fixture();
    press(&mut app, &["enter"]);
    let Mode::Containers(view) = &app.mode else {
        panic!("Enter on a pod opens its containers")
    };
    assert_eq!(view.pod_name(), "db-0");
    let r = app.on_key(key("l"), false);
    match r.logs.as_slice() {
        [
            LogsInput::Container {
                pod,
                name,
                previous: false,
            },
        ] => {
            assert_eq!(name, "main");
            assert_eq!(pod["metadata"]["name"], "db-0");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(app.focus, Focus::Logs);
    assert!(matches!(app.mode, Mode::Normal));
    // s opens a shell in the chosen container; esc goes back.
    app.focus = Focus::Table;
    press(&mut app, &["enter"]);
    match press(&mut app, &["s"]).as_slice() {
        [
            Effect::Shell {
                container: Some(c),
                pod,
                ..
            },
        ] => {
            assert_eq!((c.as_str(), pod.as_str()), ("main", "db-0"))
        }
        other => panic!("{other:?}"),
    }
    press(&mut app, &["esc"]);
    assert!(matches!(app.mode, Mode::Normal));
}
