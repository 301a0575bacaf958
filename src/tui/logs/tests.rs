//! Rendering tests on ratatui's TestBackend.

use super::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

fn filled(cap: usize, n: usize) -> LogBuffer {
    let mut b = LogBuffer::new(cap);
    b.push_batch((0..n).map(|i| LogLine::new(&format!("line {i}"))).collect());
    b
}

fn draw(b: &LogBuffer, v: &LogView, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(LogsPane::new(b, v, "web/app"), f.area()))
        .unwrap();
    t.backend().buffer().clone()
}

fn row(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol())
        .collect::<String>()
}

/// The text inside the border on row `y`, trailing blanks trimmed.
fn inner(buf: &Buffer, y: u16) -> String {
    let r = row(buf, y);
    let chars: Vec<char> = r.chars().collect();
    chars[1..chars.len() - 1]
        .iter()
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Column of `needle` in row `y` (in cells; the rows here are single-width).
fn col(buf: &Buffer, y: u16, needle: &str) -> u16 {
    let r = row(buf, y);
    r[..r.find(needle).unwrap()].chars().count() as u16
}

#[test]
fn following_shows_the_newest_lines_and_the_title() {
    let b = filled(100, 100);
    let v = LogView::default();
    let buf = draw(&b, &v, 80, 24);
    let title = row(&buf, 0);
    assert!(title.contains("logs web/app"), "{title}");
    assert!(title.contains("following"), "{title}");
    assert!(title.contains("tail 100"), "{title}");
    assert!(!title.contains("dropped"), "{title}");
    // 22 rows inside the border: lines 78..=99.
    assert_eq!(inner(&buf, 1), "line 78");
    assert_eq!(inner(&buf, 22), "line 99");
    assert!(row(&buf, 23).starts_with('└'));
}

#[test]
fn paused_view_shows_the_offset_and_says_so() {
    let mut b = filled(1000, 100);
    let mut v = LogView::default();
    v.scroll_up(&b, 22, 50);
    b.push_batch(vec![LogLine::new("newer")]);
    let buf = draw(&b, &v, 80, 24);
    assert!(row(&buf, 0).contains("paused"));
    assert_eq!(inner(&buf, 1), "line 28");
    assert_eq!(inner(&buf, 22), "line 49");
}

#[test]
fn dropped_lines_are_counted_in_the_title() {
    let b = filled(10, 25);
    let buf = draw(&b, &LogView::default(), 80, 24);
    assert!(row(&buf, 0).contains("dropped 15"), "{}", row(&buf, 0));
    // A short buffer fills from the top.
    assert_eq!(inner(&buf, 1), "line 15");
    assert_eq!(inner(&buf, 10), "line 24");
    assert_eq!(inner(&buf, 11), "");
}

#[test]
fn search_matches_are_highlighted_and_the_current_one_stands_out() {
    let mut b = LogBuffer::new(10);
    b.push_batch(
        ["ok", "an ERROR here", "fine", "error again"]
            .iter()
            .map(|t| LogLine::new(t))
            .collect(),
    );
    let mut v = LogView::default();
    v.set_search("error");
    let buf = draw(&b, &v, 80, 24);
    assert!(row(&buf, 0).contains("/error"));
    let x = col(&buf, 2, "ERROR");
    for dx in 0..5 {
        assert_eq!(buf[(x + dx, 2)].bg, Color::Yellow);
    }
    assert_eq!(buf[(x + 5, 2)].bg, Color::Reset);
    assert_eq!(buf[(x - 1, 2)].bg, Color::Reset);
    assert_eq!(buf[(1, 1)].bg, Color::Reset);
    assert_eq!(v.search_next(&b, 22), Some(1));
    let buf = draw(&b, &v, 80, 24);
    assert_eq!(buf[(x, 2)].bg, Color::LightRed, "current match");
    assert_eq!(buf[(1, 4)].bg, Color::Yellow, "other match");
}

#[test]
fn ansi_colours_are_rendered_and_escapes_hidden() {
    let mut b = LogBuffer::new(10);
    b.push(LogLine::new("\x1b[1;31mred\x1b[0m plain\x1b[2K"));
    let buf = draw(&b, &LogView::default(), 80, 24);
    assert_eq!(inner(&buf, 1), "red plain");
    assert_eq!(buf[(1, 1)].fg, Color::Red);
    assert!(
        buf[(1, 1)]
            .modifier
            .contains(ratatui::style::Modifier::BOLD)
    );
    assert_eq!(buf[(5, 1)].fg, Color::Reset);
}

#[test]
fn wrap_splits_long_lines_and_follow_shows_their_end() {
    let mut b = LogBuffer::new(10);
    b.push(LogLine::new("first"));
    b.push(LogLine::new(&format!(
        "{}{}{}",
        "a".repeat(78),
        "b".repeat(78),
        "c".repeat(10)
    )));
    let mut v = LogView::default();
    let buf = draw(&b, &v, 80, 24);
    assert_eq!(inner(&buf, 2), "a".repeat(78), "cut without wrap");
    assert_eq!(inner(&buf, 3), "");
    v.toggle_wrap();
    let buf = draw(&b, &v, 80, 24);
    assert_eq!(inner(&buf, 1), "first");
    assert_eq!(inner(&buf, 3), "b".repeat(78));
    assert_eq!(inner(&buf, 4), "c".repeat(10));
    // A pane shorter than the line shows its last rows while following.
    let buf = draw(&b, &v, 80, 4);
    assert_eq!(inner(&buf, 1), "b".repeat(78));
    assert_eq!(inner(&buf, 2), "c".repeat(10));
}

#[test]
fn timestamps_containers_markers_and_tabs() {
    let mut b = LogBuffer::new(10);
    let (app, side): (std::sync::Arc<str>, std::sync::Arc<str>) = ("app".into(), "side".into());
    b.push(
        LogLine::new("hello")
            .with_ts("2024-05-01T10:00:00Z")
            .with_container(app.clone()),
    );
    b.push(LogLine::new("x\ty").with_container(side));
    b.mark_restart(Some("app"));
    let mut v = LogView::default();
    let buf = draw(&b, &v, 80, 24);
    assert_eq!(inner(&buf, 1), "[app] hello");
    assert_eq!(inner(&buf, 2), "[side] x        y");
    assert_eq!(inner(&buf, 3), "[app] ── container app restarted ──");
    assert_eq!(buf[(1, 1)].fg, Color::Cyan);
    assert_eq!(buf[(1, 2)].fg, Color::Green);
    assert_eq!(buf[(7, 3)].fg, Color::Yellow, "marker style");
    v.toggle_timestamps();
    let buf = draw(&b, &v, 80, 24);
    assert_eq!(inner(&buf, 1), "2024-05-01T10:00:00Z [app] hello");
    assert_eq!(
        inner(&buf, 2),
        "[side] x        y",
        "no timestamp, no prefix"
    );
    assert!(row(&buf, 0).contains("timestamps"));
}

#[test]
fn wide_characters_are_not_split() {
    let mut b = LogBuffer::new(10);
    b.push(LogLine::new(&format!("{}日本", "a".repeat(77))));
    let mut v = LogView::default();
    v.toggle_wrap();
    let buf = draw(&b, &v, 80, 24);
    assert_eq!(inner(&buf, 1), "a".repeat(77));
    assert_eq!(inner(&buf, 2).replace(' ', ""), "日本");
}

#[test]
fn frame_cost_does_not_depend_on_buffer_size() {
    let area = Rect::new(0, 0, 80, 24);
    let count = |b: &LogBuffer, v: &LogView| {
        let mut buf = Buffer::empty(area);
        LogsPane::new(b, v, "p/c").render_counted(area, &mut buf)
    };
    let small = filled(1_000_000, 10);
    let big = filled(1_000_000, 1_000_000);
    let mut v = LogView::default();
    assert_eq!(count(&small, &v), 10);
    assert_eq!(count(&big, &v), 22);
    v.toggle_wrap();
    assert_eq!(count(&big, &v), 22);
    let mut paused = LogView::default();
    paused.scroll_up(&big, 22, 500_000);
    assert_eq!(count(&big, &paused), 22);
    // With wrap, long lines fill the screen with fewer buffer lines.
    let mut long = LogBuffer::new(1_000_000);
    long.push_batch((0..1000).map(|_| LogLine::new(&"x".repeat(400))).collect());
    assert!(count(&long, &v) <= 5);
}

#[test]
fn tiny_areas_do_not_panic() {
    let b = filled(10, 10);
    for (w, h) in [(0, 0), (1, 1), (2, 2), (3, 3), (10, 2)] {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        let mut v = LogView::default();
        LogsPane::new(&b, &v, "p/c").render_counted(area, &mut buf);
        v.toggle_wrap();
        LogsPane::new(&b, &v, "p/c").render_counted(area, &mut buf);
    }
}
