//! Render snapshots of the follower's pane (insta, on ratatui's TestBackend) at a small and a
//! large size. The snapshots hold the text; colours are asserted cell by cell here.

use super::fake::two;
use super::*;
use crate::cluster::Cluster;
use crate::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use std::sync::Arc;

const SIZES: [(u16, u16); 2] = [(80, 12), (160, 20)];

/// A follower on pod `web` whose tails deliver nothing by themselves: the test feeds them.
fn follower(capacity: usize, all: bool) -> LogFollower {
    let cluster: Arc<dyn Cluster> = Arc::new(super::fake::cluster());
    let sink = LogSink::callback(|_, _| {});
    let mut f = LogFollower::new(capacity);
    f.follow(Some(&two()), &cluster, &sink);
    if all {
        f.on_action("logs.all_containers", None);
    }
    f
}

/// Feed `lines` (`<ts> <text>`) to tail number `i`, as its task would parse them.
fn feed(f: &mut LogFollower, i: usize, container: Option<&str>, lines: &[String]) {
    let c = container.map(Arc::from);
    let batch = Batch {
        lines: lines
            .iter()
            .map(|l| parse_line(l, true, c.as_ref()))
            .collect(),
        ..Batch::default()
    };
    assert!(f.on_batch(f.generations()[i], batch));
}

fn ts(i: usize) -> String {
    format!("2024-05-01T10:{:02}:{:02}Z", i / 60 % 60, i % 60)
}

fn draw(f: &LogFollower, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|fr| {
        let area = fr.area();
        f.render(area, fr.buffer_mut(), &Theme::default(), true)
    })
    .unwrap();
    t
}

/// Cell (x, y) of the row's first occurrence of `needle`.
fn find(t: &Terminal<TestBackend>, needle: &str) -> (u16, u16) {
    let buf = t.backend().buffer();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = row.find(needle) {
            return (row[..i].chars().count() as u16, y);
        }
    }
    panic!("{needle:?} not on screen:\n{}", t.backend());
}

#[tokio::test]
async fn following_with_ansi_colours() {
    let mut f = follower(1000, false);
    let lines: Vec<String> = (0..30)
        .map(|i| match i % 3 {
            0 => format!("{} \x1b[32mINFO\x1b[0m request {i} served", ts(i)),
            1 => format!("{} \x1b[1;31mERROR\x1b[0m upstream {i} timed out", ts(i)),
            _ => format!("{} GET /api/items/{i} 200 \x1b[33m3ms\x1b[0m", ts(i)),
        })
        .collect();
    feed(&mut f, 0, None, &lines);
    f.on_action("logs.timestamps", None);
    for size in SIZES {
        let t = draw(&f, size);
        insta::assert_snapshot!(format!("following_ansi_{}x{}", size.0, size.1), t.backend());
        let (x, y) = find(&t, "ERROR");
        let cell = &t.backend().buffer()[(x, y)];
        assert_eq!(cell.fg, Color::Red);
        assert!(cell.modifier.contains(ratatui::style::Modifier::BOLD));
        let (x, y) = find(&t, "INFO");
        assert_eq!(t.backend().buffer()[(x, y)].fg, Color::Green);
        let (x, y) = find(&t, "2024-05-01");
        assert_eq!(
            t.backend().buffer()[(x, y)].fg,
            Color::DarkGray,
            "timestamp role"
        );
    }
}

#[tokio::test]
async fn paused_with_dropped_lines() {
    let mut f = follower(40, false);
    let lines: Vec<String> = (0..100).map(|i| format!("{} line {i}", ts(i))).collect();
    feed(&mut f, 0, None, &lines);
    f.on_action("logs.wrap", None);
    f.on_action("logs.since.5m", None);
    // The new range starts a new tail on a clean pane.
    feed(&mut f, 0, None, &lines);
    f.on_action("page.up", None);
    assert_eq!(f.buffer().dropped(), 60);
    for size in SIZES {
        f.set_height(size.1 as usize - 2);
        let t = draw(&f, size);
        insta::assert_snapshot!(format!("paused_dropped_{}x{}", size.0, size.1), t.backend());
        let (x, y) = find(&t, "dropped 60");
        assert_eq!(t.backend().buffer()[(x, y)].fg, Color::LightRed);
    }
}

#[tokio::test]
async fn search_highlighting() {
    let mut f = follower(1000, false);
    let lines: Vec<String> = (0..20)
        .map(|i| match i % 4 {
            0 => format!("{} connection error on shard {i}", ts(i)),
            1 => format!("{} retrying shard {i}", ts(i)),
            2 => format!("{} Error budget {i}% left, no errors since", ts(i)),
            _ => format!("{} ok {i}", ts(i)),
        })
        .collect();
    feed(&mut f, 0, None, &lines);
    f.on_action("logs.search", None);
    for c in "error".chars() {
        f.on_key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char(c),
        ));
    }
    let typing = draw(&f, SIZES[0]);
    insta::assert_snapshot!("search_typing_80x12", typing.backend());
    f.on_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    ));
    // Following, Enter went to the newest match: line 18, the 10th of 10.
    assert_eq!(f.status().matches, Some((Some(10), 10)));
    for size in SIZES {
        let t = draw(&f, size);
        insta::assert_snapshot!(format!("search_{}x{}", size.0, size.1), t.backend());
        let buf = t.backend().buffer();
        let (x, y) = find(&t, "Error budget 18");
        assert_eq!(
            buf[(x, y)].bg,
            Color::Black,
            "current match: the search colours swapped"
        );
        assert_eq!(buf[(x, y)].fg, Color::Yellow);
        let (x, y) = find(&t, "Error budget 14");
        assert_eq!(buf[(x, y)].bg, Color::Yellow, "other matches");
        assert_eq!(buf[(x + 5, y)].bg, Color::Reset);
    }
}

#[tokio::test]
async fn all_containers_prefixes() {
    let mut f = follower(1000, true);
    // Tails in the pod's order: init, app, side.
    let names = ["init", "app", "side"];
    for round in 0..3 {
        for (i, c) in names.iter().enumerate() {
            if *c == "init" && round > 0 {
                continue;
            }
            let line = format!("{} {c} says hello #{round}", ts(round * 3 + i));
            feed(&mut f, i, Some(c), &[line]);
        }
    }
    // `side` stops and comes back: a marker in its colour, and its new run continues.
    let side = f.generations()[2];
    f.on_batch(
        side,
        Batch {
            end: Some(Ok(())),
            ..Batch::default()
        },
    );
    let restarted = super::fake::pod(
        "u1",
        &[("init", 0, "terminated"), ("later", 0, "waiting")],
        &[("app", 0, "running"), ("side", 1, "running")],
    );
    let cluster: Arc<dyn Cluster> = Arc::new(super::fake::cluster());
    assert!(f.follow(Some(&restarted), &cluster, &LogSink::callback(|_, _| {})));
    feed(
        &mut f,
        2,
        Some("side"),
        &[format!("{} side is back", ts(40))],
    );
    for size in SIZES {
        let t = draw(&f, size);
        insta::assert_snapshot!(format!("all_containers_{}x{}", size.0, size.1), t.backend());
        let buf = t.backend().buffer();
        let theme = Theme::default();
        let colour = |n: usize| theme.container_style(n).fg.unwrap();
        // Colours go by the order containers first appeared: init, app, side.
        for (n, c) in names.iter().enumerate() {
            let (x, y) = find(&t, &format!("[{c}]"));
            assert_eq!(buf[(x, y)].fg, colour(n), "{c}");
        }
        let (x, y) = find(&t, "── container side restarted");
        assert_eq!(buf[(x - 2, y)].fg, colour(2), "the marker's prefix");
        assert_eq!(buf[(x, y)].fg, theme.logs.restart_marker.fg.unwrap());
    }
}
