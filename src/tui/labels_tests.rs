//! Tests of the labels pane: selector building (checked against `LabelSelector`), cursor and
//! picks, and rendering on ratatui's TestBackend.

use super::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn lc(key: &str, value: &str, count: usize) -> LabelCount {
    LabelCount {
        key: key.into(),
        value: value.into(),
        count,
    }
}

/// A namespace's label list, sorted as `PodIndex::labels` returns it.
fn sample() -> Vec<LabelCount> {
    vec![
        lc("app", "db", 1),
        lc("app", "web", 3),
        lc("env", "prod", 2),
        lc("env", "staging", 2),
        lc("tier", "backend", 1),
        lc("tier", "frontend", 3),
    ]
}

fn picked(pairs: &[(&str, &str)]) -> LabelsPane {
    let mut p = LabelsPane::new();
    for (k, v) in pairs {
        p.toggle(k, v);
    }
    p
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---- selector ----

#[test]
fn selector_syntax() {
    assert_eq!(LabelsPane::new().selector(), None);
    assert_eq!(picked(&[("app", "web")]).selector().unwrap(), "app=web");
    assert_eq!(
        picked(&[("env", "staging"), ("env", "prod")])
            .selector()
            .unwrap(),
        "env in (prod,staging)"
    );
    assert_eq!(
        picked(&[("env", "staging"), ("app", "web"), ("env", "prod")])
            .selector()
            .unwrap(),
        "app=web,env in (prod,staging)"
    );
    assert_eq!(
        picked(&[("app.kubernetes.io/name", "web"), ("env", "")])
            .selector()
            .unwrap(),
        "app.kubernetes.io/name=web,env="
    );
    // The selector parses and prints back the same (it is already canonical).
    for p in [
        picked(&[("env", "staging"), ("app", "web"), ("env", "prod")]),
        picked(&[("env", ""), ("env", "prod")]),
        picked(&[("a", "1"), ("b", "2"), ("c", "3")]),
    ] {
        let s = p.selector().unwrap();
        let parsed = LabelSelector::parse(&s).unwrap();
        assert_eq!(parsed.to_string(), s);
        assert_eq!(p.label_selector(), Some(parsed));
    }
    assert_eq!(LabelsPane::new().label_selector(), None);
}

/// Every subset of six picks against every label map over three keys (each key absent or one
/// of three values): the parsed selector matches exactly the maps that carry one of the picked
/// values for every picked key.
#[test]
fn selector_selects_pods_with_a_picked_value_for_every_picked_key() {
    let universe = [
        ("app", "web"),
        ("app", "db"),
        ("env", "prod"),
        ("env", "staging"),
        ("env", ""),
        ("tier", "front"),
    ];
    let choices: [&[&str]; 3] = [
        &["web", "db", "api"],
        &["prod", "staging", ""],
        &["front", "back", "x"],
    ];
    let keys = ["app", "env", "tier"];
    let mut maps = Vec::new();
    for a in 0..4 {
        for e in 0..4 {
            for t in 0..4 {
                let mut m = BTreeMap::new();
                for (i, pick) in [a, e, t].into_iter().enumerate() {
                    if pick < 3 {
                        m.insert(keys[i].to_string(), choices[i][pick].to_string());
                    }
                }
                maps.push(m);
            }
        }
    }
    let mut checked = 0;
    for subset in 1u32..(1 << universe.len()) {
        let picks: Vec<(&str, &str)> = (0..universe.len())
            .filter(|i| subset & (1 << i) != 0)
            .map(|i| universe[i])
            .collect();
        let pane = picked(&picks);
        let sel = LabelSelector::parse(&pane.selector().unwrap()).unwrap();
        for m in &maps {
            let want = picks.iter().all(|(k, _)| {
                m.get(*k)
                    .is_some_and(|have| picks.iter().any(|(pk, pv)| pk == k && pv == have))
            });
            assert_eq!(
                sel.matches(m),
                want,
                "{} on {m:?}",
                pane.selector().unwrap()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 63 * 64);
    // And one readable case.
    let sel = picked(&[("app", "web"), ("env", "prod"), ("env", "staging")])
        .label_selector()
        .unwrap();
    assert!(sel.matches(&labels(&[("app", "web"), ("env", "prod"), ("x", "y")])));
    assert!(sel.matches(&labels(&[("app", "web"), ("env", "staging")])));
    assert!(!sel.matches(&labels(&[("app", "web")])));
    assert!(!sel.matches(&labels(&[("app", "db"), ("env", "prod")])));
}

// ---- picks ----

#[test]
fn toggle_clear_and_what_reports_a_change() {
    let rows = sample();
    let mut p = LabelsPane::new();
    assert!(!p.on_action("row.down", &rows), "moving is not a change");
    assert!(p.on_action("mark.toggle", &rows));
    assert!(p.is_picked("app", "web"));
    assert!(p.on_action("row.open", &rows), "enter toggles too");
    assert!(!p.is_picked("app", "web"));
    assert!(p.on_action("row.open", &rows));
    p.on_action("row.down", &rows);
    p.on_action("mark.toggle", &rows);
    assert_eq!(p.selector().unwrap(), "app=web,env=prod");
    assert!(!p.on_action("resource.delete", &rows), "not for this pane");
    assert!(!p.on_action("nonsense", &rows));
    assert!(p.on_action("mark.clear", &rows));
    assert_eq!(p.selector(), None);
    assert!(!p.on_action("mark.clear", &rows), "nothing left to clear");
    assert_eq!(p.current(&rows).unwrap(), ("env".into(), "prod".into()));
    // Nothing to toggle in an empty list.
    assert!(!p.on_action("mark.toggle", &[]));
    assert!(p.picked().is_empty());
}

#[test]
fn picks_no_pod_carries_stay_listed_until_unpicked() {
    let mut rows = sample();
    let mut p = LabelsPane::new();
    p.on_action("mark.toggle", &rows); // app=db
    p.on_action("row.last", &rows);
    p.on_action("mark.toggle", &rows); // tier=frontend
    // The only app=db pod and the tier=frontend pods go away.
    rows.retain(|r| r.value != "db" && r.value != "frontend");
    assert_eq!(
        p.selector().unwrap(),
        "app=db,tier=frontend",
        "the filter still applies"
    );
    let l = Listing::new(&rows, &p.picked);
    let listed: Vec<(&str, &str)> = (0..l.len()).map(|i| l.get(i).unwrap().pair()).collect();
    assert_eq!(
        listed,
        [
            ("app", "db"),
            ("app", "web"),
            ("env", "prod"),
            ("env", "staging"),
            ("tier", "backend"),
            ("tier", "frontend")
        ]
    );
    assert!(matches!(l.get(0), Some(Entry::Gone(_))));
    assert!(matches!(l.get(1), Some(Entry::Present(_))));
    assert!(matches!(l.get(5), Some(Entry::Gone(_))));
    assert_eq!(l.get(6), None);
    // The cursor stayed on tier=frontend (now a gone pick); picking it again un-picks it and it
    // leaves the list, the cursor clamps to the last row.
    assert_eq!(p.cursor(&rows), 5);
    assert!(p.on_action("mark.toggle", &rows));
    assert_eq!(p.selector().unwrap(), "app=db");
    assert_eq!(p.cursor(&rows), 4);
    // A pod with the pair comes back: the pick is an ordinary picked row again.
    rows.insert(0, lc("app", "db", 1));
    let l = Listing::new(&rows, &p.picked);
    assert_eq!(l.len(), rows.len());
    assert!(l.gone.is_empty());
}

#[test]
fn clear_forgets_picks_and_cursor() {
    let rows = sample();
    let mut p = LabelsPane::new();
    p.on_action("row.last", &rows);
    p.on_action("mark.toggle", &rows);
    p.clear();
    assert!(p.picked().is_empty());
    assert_eq!(p.cursor(&rows), 0);
    assert_eq!(p.selector(), None);
}

// ---- cursor ----

#[test]
fn cursor_moves_and_stops_at_the_ends() {
    let rows = sample();
    let mut p = LabelsPane::new();
    p.on_action("row.up", &rows);
    assert_eq!(p.cursor(&rows), 0);
    p.on_action("row.down", &rows);
    p.on_action("row.down", &rows);
    assert_eq!(p.cursor(&rows), 2);
    p.on_action("row.last", &rows);
    assert_eq!(p.cursor(&rows), 5);
    p.on_action("row.down", &rows);
    assert_eq!(p.cursor(&rows), 5);
    p.on_action("row.first", &rows);
    assert_eq!(p.cursor(&rows), 0);
    // Before the first draw a page is 10 rows: clamped at both ends.
    p.on_action("page.down", &rows);
    assert_eq!(p.cursor(&rows), 5);
    p.on_action("page.up", &rows);
    assert_eq!(p.cursor(&rows), 0);
    // After a draw a page is the pane's inner height.
    let many: Vec<LabelCount> = (0..30).map(|i| lc("k", &format!("v{i:02}"), 1)).collect();
    let mut buf = Buffer::empty(Rect::new(0, 0, 28, 7));
    p.render(&many, buf.area, &mut buf, &Theme::default(), true);
    p.on_action("page.down", &many);
    assert_eq!(p.cursor(&many), 5);
    p.on_action("page.down", &many);
    assert_eq!(p.cursor(&many), 10);
    p.on_action("page.up", &many);
    assert_eq!(p.cursor(&many), 5);
    // Nothing to move over: no panic, cursor 0.
    for a in [
        "row.up",
        "row.down",
        "row.first",
        "row.last",
        "page.up",
        "page.down",
    ] {
        p.on_action(a, &[]);
        assert_eq!(p.cursor(&[]), 0, "{a}");
        assert_eq!(p.current(&[]), None);
    }
}

#[test]
fn cursor_follows_its_pair_and_clamps_when_rows_shrink() {
    let mut rows = sample();
    let mut p = LabelsPane::new();
    p.on_action("row.down", &rows);
    p.on_action("row.down", &rows);
    assert_eq!(p.current(&rows).unwrap(), ("env".into(), "prod".into()));
    // A pair appears above the cursor: the cursor stays on env=prod.
    rows.insert(0, lc("a", "new", 1));
    assert_eq!(p.cursor(&rows), 3);
    assert!(p.on_action("mark.toggle", &rows));
    assert!(
        p.is_picked("env", "prod"),
        "space picks what is under the cursor"
    );
    p.on_action("mark.toggle", &rows);
    // The cursor's pair disappears: the cursor keeps its index.
    rows.retain(|r| r.value != "prod");
    assert_eq!(p.cursor(&rows), 3);
    assert_eq!(p.current(&rows).unwrap(), ("env".into(), "staging".into()));
    // The list shrinks below the cursor: clamped to the last row.
    rows.truncate(2);
    assert_eq!(p.cursor(&rows), 1);
    p.on_action("row.up", &rows);
    assert_eq!(p.cursor(&rows), 0);
    rows.clear();
    assert_eq!(p.cursor(&rows), 0);
    assert!(!p.on_action("row.open", &rows));
}

// ---- text fitting ----

#[test]
fn long_keys_and_values_are_cut_with_an_ellipsis() {
    assert_eq!(fit_pair("app", "web", 10), "app=web");
    assert_eq!(fit_pair("app", "web", 7), "app=web");
    // The prefix of a prefixed key goes first, the name after `/` stays.
    assert_eq!(
        fit_pair("app.kubernetes.io/name", "web", 20),
        "app.kubern…/name=web"
    );
    // A long value keeps the room the key does not need.
    assert_eq!(
        fit_pair("app", "a-very-long-value-here", 14),
        "app=a-very-lo…"
    );
    // Both long: the key keeps half.
    assert_eq!(
        fit_pair("pod-template-hash", "6d4cf56db6xyz", 14),
        "…-hash=6d4cf5…"
    );
    assert_eq!(fit_pair("abcdef", "x", 2), "a…");
    for n in 0..30 {
        let s = fit_pair("app.kubernetes.io/instance", "peapod-web-frontend", n);
        assert!(s.chars().count() <= n, "{n}: {s}");
    }
    assert_eq!(fit_end("abc", 0), "");
    assert_eq!(fit_start("abc", 1), "…");
    assert_eq!(row_text("app", "web", 3, true, 14), "✓ app=web    3");
    assert_eq!(row_text("app", "web", 3, false, 14), "  app=web    3");
    assert_eq!(row_text("app", "web", 1234, false, 8), "  app=w…");
}

// ---- rendering ----

fn draw(
    p: &LabelsPane,
    rows: &[LabelCount],
    w: u16,
    h: u16,
    focused: bool,
) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::default();
    t.draw(|f| {
        let area = f.area();
        p.render(rows, area, f.buffer_mut(), &theme, focused)
    })
    .unwrap();
    t
}

/// Labels of a small shop namespace, with a long prefixed key and a long value.
fn shop() -> Vec<LabelCount> {
    vec![
        lc("app", "db", 1),
        lc("app", "web", 3),
        lc("app.kubernetes.io/instance", "shop-frontend-canary", 2),
        lc("app.kubernetes.io/name", "web", 3),
        lc("env", "prod", 4),
        lc("pod-template-hash", "7d9f8c6b5", 3),
        lc("tier", "frontend", 12),
    ]
}

/// The pane with `app=web` picked and the cursor on `env=prod`.
fn shop_pane(rows: &[LabelCount]) -> LabelsPane {
    let mut p = LabelsPane::new();
    p.on_action("row.down", rows);
    p.on_action("mark.toggle", rows);
    for _ in 0..3 {
        p.on_action("row.down", rows);
    }
    p
}

#[test]
fn render_narrow() {
    let rows = shop();
    let t = draw(&shop_pane(&rows), &rows, 28, 20, true);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn render_wide() {
    let rows = shop();
    let t = draw(&shop_pane(&rows), &rows, 40, 40, true);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn render_styles_follow_focus_picks_and_cursor() {
    let rows = shop();
    let p = shop_pane(&rows);
    let theme = Theme::default();
    let t = draw(&p, &rows, 28, 20, true);
    let buf = t.backend().buffer();
    // Border by focus.
    assert_eq!(buf[(0, 0)].fg, theme.ui.border_focused.fg.unwrap());
    // app=web (row 2 of the screen) is picked: marked style over the whole row.
    assert_eq!(buf[(3, 2)].fg, theme.table.marked.fg.unwrap());
    assert_eq!(buf[(20, 2)].fg, theme.table.marked.fg.unwrap());
    // env=prod (row 5) has the cursor: selection style across the pane.
    assert_eq!(buf[(3, 5)].bg, theme.ui.selection.bg.unwrap());
    assert_eq!(buf[(26, 5)].bg, theme.ui.selection.bg.unwrap());
    assert_ne!(buf[(3, 4)].bg, theme.ui.selection.bg.unwrap());
    // Unfocused: dim border, no cursor shown, picks still marked.
    let t = draw(&p, &rows, 28, 20, false);
    let buf = t.backend().buffer();
    assert_eq!(buf[(0, 0)].fg, theme.ui.border.fg.unwrap());
    assert_ne!(buf[(3, 5)].bg, theme.ui.selection.bg.unwrap());
    assert_eq!(buf[(3, 2)].fg, theme.table.marked.fg.unwrap());
}

fn line(t: &Terminal<TestBackend>, y: u16) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

#[test]
fn render_gone_pick_dimmed_with_zero_count() {
    let mut rows = sample();
    let p = picked(&[("app", "db")]);
    rows.remove(0);
    let t = draw(&p, &rows, 24, 6, false);
    assert_eq!(line(&t, 0), "┌ Labels [1 picked] ───┐");
    assert_eq!(line(&t, 1), "│✓ app=db             0│");
    assert_eq!(line(&t, 2), "│  app=web            3│");
    let buf = t.backend().buffer();
    assert!(buf[(3, 1)].modifier.contains(Modifier::DIM));
    assert!(!buf[(3, 2)].modifier.contains(Modifier::DIM));
}

#[test]
fn render_scrolls_to_keep_the_cursor_visible() {
    let rows: Vec<LabelCount> = (0..30).map(|i| lc("k", &format!("v{i:02}"), i)).collect();
    let mut p = LabelsPane::new();
    p.on_action("row.last", &rows);
    let t = draw(&p, &rows, 20, 6, true);
    assert_eq!(line(&t, 4), "│  k=v29         29│");
    assert_eq!(line(&t, 1), "│  k=v26         26│");
    // Moving up within the page does not scroll.
    p.on_action("row.up", &rows);
    let t = draw(&p, &rows, 20, 6, true);
    assert_eq!(line(&t, 1), "│  k=v26         26│");
    // The list shrinks under the offset: the last rows fill the pane, no blank tail.
    let few = &rows[..8];
    let t = draw(&p, few, 20, 6, true);
    assert_eq!(line(&t, 4), "│  k=v07          7│");
    assert_eq!(line(&t, 1), "│  k=v04          4│");
    let buf = t.backend().buffer();
    assert_eq!(buf[(2, 4)].bg, Theme::default().ui.selection.bg.unwrap());
}

#[test]
fn render_empty_and_tiny_panes() {
    let p = LabelsPane::new();
    let t = draw(&p, &[], 20, 4, true);
    assert_eq!(line(&t, 0), "┌ Labels ──────────┐");
    assert_eq!(line(&t, 1), "│no labels         │");
    // Too small to hold anything: no panic.
    for (w, h) in [(1, 1), (2, 2), (3, 3), (5, 3), (8, 3)] {
        draw(&shop_pane(&shop()), &shop(), w, h, true);
    }
}
