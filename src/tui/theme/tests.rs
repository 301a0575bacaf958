use super::*;
use crate::tui::config::Problem;

fn all_roles(t: &Theme) -> Vec<(&'static str, Style)> {
    let u = &t.ui;
    let tb = &t.table;
    let s = &t.status_roles;
    let l = &t.logs;
    let y = &t.yaml;
    vec![
        ("ui.header", u.header),
        ("ui.footer", u.footer),
        ("ui.border", u.border),
        ("ui.border_focused", u.border_focused),
        ("ui.title", u.title),
        ("ui.selection", u.selection),
        ("ui.dialog", u.dialog),
        ("table.header", tb.header),
        ("table.row", tb.row),
        ("table.row_alt", tb.row_alt),
        ("table.marked", tb.marked),
        ("status.running", s.running),
        ("status.pending", s.pending),
        ("status.succeeded", s.succeeded),
        ("status.failed", s.failed),
        ("status.terminating", s.terminating),
        ("status.crashloop", s.crashloop),
        ("status.unknown", s.unknown),
        ("logs.timestamp", l.timestamp),
        ("logs.stderr", l.stderr),
        ("logs.search_match", l.search_match),
        ("logs.restart_marker", l.restart_marker),
        ("yaml.key", y.key),
        ("yaml.string", y.string),
        ("yaml.number", y.number),
        ("yaml.bool", y.bool),
        ("yaml.comment", y.comment),
    ]
}

#[test]
fn every_shipped_theme_parses_and_sets_every_role() {
    for (name, _, _) in BUILTIN {
        let t = Theme::builtin(name).unwrap_or_else(|| panic!("{name} does not parse"));
        for (role, style) in all_roles(&t) {
            assert_ne!(style, Style::default(), "{name}: {role} is not set");
        }
        assert!(t.logs.containers.len() >= 6, "{name}: container palette");
    }
    assert_eq!(Theme::default(), Theme::builtin("dark").unwrap());
    assert_eq!(Theme::builtin("default").unwrap().ui, Theme::default().ui);
}

#[test]
fn high_contrast_avoids_red_and_green() {
    let t = Theme::builtin("high-contrast").unwrap();
    let reds_greens = [Color::Red, Color::Green, Color::LightRed, Color::LightGreen];
    for (role, st) in all_roles(&t) {
        for c in [st.fg, st.bg].into_iter().flatten() {
            assert!(!reds_greens.contains(&c), "{role} uses {c:?}");
        }
    }
    // Healthy and broken differ in more than hue.
    assert_ne!(
        t.status_roles.running.add_modifier,
        t.status_roles.failed.add_modifier
    );
    assert_ne!(
        t.status_roles.failed.add_modifier,
        t.status_roles.crashloop.add_modifier
    );
}

#[test]
fn statuses_map_to_roles_and_the_old_api_still_works() {
    let t = Theme::default();
    assert_eq!(t.status("Running"), Color::Green);
    assert_eq!(t.status("CrashLoopBackOff"), Color::LightRed);
    assert_eq!(t.status("Error"), Color::Red);
    assert_eq!(t.status("Init:0/1"), Color::Yellow);
    assert_eq!(t.status_style("Terminating"), t.status_roles.terminating);
    assert_eq!(t.status_style("Unknown"), t.status_roles.unknown);
    assert_eq!(t.status_style("Completed"), t.status_roles.succeeded);
    assert_eq!((t.focused, t.unfocused), (Color::Cyan, Color::DarkGray));
    assert_eq!((t.header_fg, t.header_bg), (Color::Black, Color::Cyan));
    assert_eq!(t.container_style(6), t.container_style(0));
}

#[test]
fn default_colour_keeps_the_terminal_background() {
    let t = Theme::parse(
        "[ui]\nheader = { fg = \"white\", bg = \"default\" }\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(t.ui.header.bg, Some(Color::Reset));
    assert_eq!(t.header_bg, Color::Reset);
    // Partial themes keep dark's other roles.
    assert_eq!(t.ui.border, Theme::default().ui.border);
}

#[test]
fn no_color_is_modifiers_only() {
    let t = Theme::monochrome();
    for (role, st) in all_roles(&t) {
        assert_eq!((st.fg, st.bg), (None, None), "{role}");
    }
    assert!(
        t.logs
            .containers
            .iter()
            .all(|s| s.fg.is_none() && s.bg.is_none())
    );
    assert_ne!(
        t.ui.selection,
        Style::default(),
        "selection must stay visible"
    );
    assert_eq!(t.status("Running"), Color::Reset);
}

#[test]
fn bad_themes_report_each_problem_with_line() {
    let text = "[ui]\nheader = \"sky\"\nborder = { fg = \"cyan\", blink = true }\nborders = \"red\"\n\
                [logs]\ncontainers = []\n[colours]\nx = \"red\"\n";
    let e: Vec<String> = Theme::parse(text, "t.toml")
        .unwrap_err()
        .iter()
        .map(Problem::to_string)
        .collect();
    assert_eq!(e.len(), 5, "{e:#?}");
    assert!(
        e[0].starts_with("t.toml:2: [ui] header: \"sky\" is not a colour"),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.toml:3: [ui] border: blink = true"))
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.toml:4: [ui] borders: unknown role"))
    );
    assert!(
        e.iter()
            .any(|l| l.contains("containers: must be a non-empty list"))
    );
    assert!(
        e.iter()
            .any(|l| l.starts_with("t.toml:7: [colours]: unknown section"))
    );
}

#[test]
fn load_by_name_or_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "[status]\nrunning = \"#00ff00\"\n",
    )
    .unwrap();
    let (t, file) = Theme::load("mine.toml", dir.path()).unwrap();
    assert_eq!(t.status_roles.running.fg, Some(Color::Rgb(0, 255, 0)));
    assert!(file.ends_with("mine.toml"));
    let (t, file) = Theme::load("light", dir.path()).unwrap();
    assert_eq!(
        (t.name.as_str(), file.as_str()),
        ("light", "themes/light.toml")
    );
    let e = Theme::load("solarized", dir.path()).unwrap_err();
    assert!(
        e[0].to_string()
            .contains("shipped themes: dark, default, light, high-contrast")
    );
}
