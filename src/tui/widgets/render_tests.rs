//! Render snapshots of the widgets at 80×24 and 160×48 (ratatui's TestBackend, insta), with
//! the default theme. Popups are drawn over a pods table so the snapshots show them cleared
//! and centred.

use super::*;
use crate::api::kinds;
use crate::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use serde_json::json;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// Some table rows behind the popups.
fn background(area: Rect, buf: &mut Buffer) {
    let header = "NAMESPACE   NAME                      READY   STATUS      RESTARTS   AGE";
    buf.set_stringn(
        area.x,
        area.y,
        header,
        area.width as usize,
        ratatui::style::Style::default(),
    );
    for row in 1..area.height {
        let line = format!(
            "default     web-{row:<22}1/1     Running     0          {}m",
            row * 3
        );
        buf.set_stringn(
            area.x,
            area.y + row,
            line,
            area.width as usize,
            ratatui::style::Style::default(),
        );
    }
}

fn draw(
    w: u16,
    h: u16,
    popup: bool,
    f: impl Fn(Rect, &mut Buffer, &Theme),
) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::default_theme();
    t.draw(|frame| {
        let area = frame.area();
        if popup {
            background(area, frame.buffer_mut());
        }
        f(area, frame.buffer_mut(), &theme);
    })
    .unwrap();
    t
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn delete_dialog() {
    let d = ConfirmDialog::delete(
        "pod",
        "pods",
        &["default/web-1".into()],
        Some("Grace period: 30s (default)".into()),
    );
    for (w, h) in SIZES {
        let t = draw(w, h, true, |a, b, th| d.render(a, b, th));
        insta::assert_snapshot!(format!("delete_dialog_{w}x{h}"), t.backend());
    }
    // Cancel is selected (selection style), Delete is drawn in the failed colour.
    let t = draw(80, 24, true, |a, b, th| d.render(a, b, th));
    let theme = Theme::default_theme();
    let buf = t.backend().buffer();
    let row = 13;
    let cancel = (0..80).find(|&x| buf[(x, row)].symbol() == "C").unwrap();
    let delete = (0..80).find(|&x| buf[(x, row)].symbol() == "D").unwrap();
    assert_eq!(buf[(cancel, row)].bg, theme.ui.selection.bg.unwrap());
    assert_eq!(buf[(delete, row)].fg, theme.status_roles.failed.fg.unwrap());
}

#[test]
fn delete_many_dialog() {
    let names: Vec<String> = (1..=14).map(|i| format!("default/web-{i}")).collect();
    let mut d = ConfirmDialog::delete("pod", "pods", &names, None);
    d.on_action("dialog.next");
    for (w, h) in SIZES {
        let t = draw(w, h, true, |a, b, th| d.render(a, b, th));
        insta::assert_snapshot!(format!("delete_many_dialog_{w}x{h}"), t.backend());
    }
}

#[test]
fn scale_prompt_with_an_error() {
    let mut p = PromptDialog::new("Scale deployment.apps/web", "Replicas", "3");
    p.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    p.on_key(key('-'));
    p.on_key(key('2'));
    let Outcome::Submitted(v) = p.on_action("command.submit") else {
        panic!()
    };
    p.set_error(parse_replicas(&v).unwrap_err());
    for (w, h) in SIZES {
        let t = draw(w, h, true, |a, b, th| p.render(a, b, th));
        insta::assert_snapshot!(format!("scale_prompt_error_{w}x{h}"), t.backend());
    }
}

fn deployment() -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7",
                        "uid": "4b1f0c2e-8d1a-4f7e-9a53-2c6e1b7d9f00", "generation": 3,
                        "creationTimestamp": "2024-05-01T10:00:00Z",
                        "labels": {"app": "web", "tier": "frontend"},
                        "annotations": {"note": "serves the shop # not a comment"}},
           "spec": {"replicas": 3, "paused": false,
                    "selector": {"matchLabels": {"app": "web"}},
                    "strategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                   "args": ["--port", "8080"],
                                   "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                   "command": ["sh", "-c", "echo started\nexec nginx -g 'daemon off;'"],
                                   "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}],
                                   "terminationGracePeriodSeconds": 30}}},
           "status": {"replicas": 3, "readyReplicas": 3, "observedGeneration": 3}})
}

#[test]
fn yaml_view_with_a_search() {
    let text = crate::client::text::to_yaml(&deployment());
    let mut v = TextView::new("yaml deployment.apps/web", &text, Highlight::Yaml);
    v.on_action("logs.search");
    for c in "web".chars() {
        v.on_key(key(c));
    }
    v.on_action("command.submit");
    v.on_action("logs.next");
    for (w, h) in SIZES {
        let t = draw(w, h, false, |a, b, th| v.render(a, b, th));
        insta::assert_snapshot!(format!("yaml_search_{w}x{h}"), t.backend());
    }
    // The styles reach the screen: the key colour, the match highlight (row 4 is
    // `  name: web`, the first match; the current one is the second).
    let t = draw(80, 24, false, |a, b, th| v.render(a, b, th));
    let theme = Theme::default_theme();
    let buf = t.backend().buffer();
    assert_eq!(buf[(3, 4)].symbol(), "n");
    assert_eq!(buf[(3, 4)].fg, theme.yaml.key.fg.unwrap());
    assert_eq!(buf[(9, 4)].symbol(), "w");
    assert_eq!(buf[(9, 4)].bg, theme.logs.search_match.bg.unwrap());
    assert!(
        !buf[(9, 4)]
            .modifier
            .contains(ratatui::style::Modifier::UNDERLINED)
    );
    assert_eq!(buf[(10, 11)].symbol(), "w");
    assert!(
        buf[(10, 11)]
            .modifier
            .contains(ratatui::style::Modifier::UNDERLINED)
    );
    // While typing, the query is shown on the last row.
    v.start_search();
    v.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    let t = draw(80, 24, false, |a, b, th| v.render(a, b, th));
    insta::assert_snapshot!("yaml_search_typing_80x24", t.backend());
}

const DESCRIBE: &str = "\
Name:             web-1
Namespace:        default
Priority:         0
Service Account:  default
Node:             peapod/10.0.0.1
Start Time:       Wed, 01 May 2024 10:00:00 +0000
Labels:           app=web
                  pod-template-hash=7d4b9c
Annotations:      <none>
Status:           Running
IP:               10.88.0.12
IPs:
  IP:           10.88.0.12
Controlled By:  ReplicaSet/web-7d4b9c
Containers:
  web:
    Container ID:   peapod://3f2a9c
    Image:          nginx:1.27
    Image ID:       sha256:0b2e4c
    Port:           8080/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Wed, 01 May 2024 10:00:02 +0000
    Ready:          True
    Restart Count:  0
    Limits:
      cpu:     500m
      memory:  128Mi
    Environment:    <none>
    Mounts:         <none>
Conditions:
  Type              Status
  Initialized       True
  Ready             True
  ContainersReady   True
  PodScheduled      True
Volumes:            <none>
QoS Class:          Burstable
Node-Selectors:     <none>
Tolerations:        <none>
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  5m    default-scheduler  Successfully assigned default/web-1 to peapod
  Normal  Pulled     5m    kubelet            Container image \"nginx:1.27\" already present on machine and this line is long enough to be cut at eighty columns
  Normal  Created    5m    kubelet            Created container web
  Normal  Started    5m    kubelet            Started container web
";

#[test]
fn describe_view() {
    let mut v = TextView::new("describe pod/default/web-1", DESCRIBE, Highlight::Describe);
    for (w, h) in SIZES {
        let t = draw(w, h, false, |a, b, th| v.render(a, b, th));
        insta::assert_snapshot!(format!("describe_{w}x{h}"), t.backend());
    }
    // Scrolled to the end (the page size is the one last drawn: 22 rows at 80x24).
    let _ = draw(80, 24, false, |a, b, th| v.render(a, b, th));
    v.on_action("row.last");
    let t = draw(80, 24, false, |a, b, th| v.render(a, b, th));
    insta::assert_snapshot!("describe_end_80x24", t.backend());
}

#[test]
fn editor_with_an_error() {
    let kind = kinds::lookup("deployments").unwrap();
    let theme = Theme::default_theme();
    let mut e = Editor::new(
        kind,
        deployment(),
        &crate::tui::keymap::Keymap::default_map(),
        &theme,
    );
    // Down to `replicas: 3` (line 23 of the YAML) and make it negative.
    let row = e
        .text()
        .lines()
        .position(|l| l.trim() == "replicas: 3")
        .unwrap();
    for _ in 0..row {
        e.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    }
    e.on_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
    e.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    e.on_key(key('-'));
    e.on_key(key('1'));
    assert_eq!(e.on_action("editor.save"), Outcome::Consumed);
    assert!(!e.errors().is_empty());
    for (w, h) in SIZES {
        let t = draw(w, h, false, |a, b, th| e.render(a, b, th));
        insta::assert_snapshot!(format!("editor_error_{w}x{h}"), t.backend());
    }
}

/// Every widget on tiny and odd areas: nothing panics.
#[test]
fn tiny_areas_do_not_panic() {
    let theme = Theme::default_theme();
    let kind = kinds::lookup("deployments").unwrap();
    let km = crate::tui::keymap::Keymap::default_map();
    let confirm = ConfirmDialog::delete("pod", "pods", &["a".into(), "b".into()], None);
    let mut prompt = PromptDialog::new("Create namespace", "Name", "a-very-long-namespace-name");
    prompt
        .set_error("a lowercase RFC 1123 label must consist of lower case alphanumeric characters");
    let view = TextView::new("t", "a: 1\nb: |\n  x\n", Highlight::Yaml);
    let editor = Editor::new(kind, deployment(), &km, &theme);
    for (w, h) in [
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 1),
        (1, 3),
        (5, 5),
        (12, 4),
        (30, 6),
        (200, 3),
    ] {
        for offset in [0, 3] {
            let area = Rect::new(offset, offset, w, h);
            let mut buf = Buffer::empty(Rect::new(0, 0, w + offset, h + offset));
            confirm.render(area, &mut buf, &theme);
            prompt.render(area, &mut buf, &theme);
            view.render(area, &mut buf, &theme);
            editor.render(area, &mut buf, &theme);
        }
    }
}
