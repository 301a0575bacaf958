use super::*;
use crossterm::event::{KeyCode, KeyEventKind, KeyEventState, KeyModifiers};

fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
    KeyEvent {
        code,
        modifiers: m,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

fn ch(c: char) -> KeyEvent {
    ev(KeyCode::Char(c), KeyModifiers::NONE)
}

fn layered(user: &str) -> (Keymap, Vec<Problem>) {
    let mut km = Keymap::default_map();
    let mut problems = km.layer(user, "user.toml");
    problems.extend(km.validate());
    (km, problems)
}

#[test]
fn shipped_keymaps_have_no_problems() {
    let km = Keymap::parse(DEFAULT, DEFAULT_NAME).unwrap();
    assert_eq!(km.validate(), vec![], "default keymap");
    for (name, file, text) in BUILTIN {
        let mut km = Keymap::default_map();
        let mut p = km.layer(text, file);
        p.extend(km.validate());
        assert_eq!(p, vec![], "{name} over the default");
    }
}

#[test]
fn default_resolves_by_context_with_fallback() {
    let km = Keymap::default_map();
    assert_eq!(km.action("table", &ch('j')), Some("row.down"));
    assert_eq!(km.action("table", &ch('q')), Some("app.quit"));
    assert_eq!(
        km.action("table", &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some("app.quit")
    );
    assert_eq!(
        km.action("table", &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some("row.last")
    );
    assert_eq!(
        km.action("table", &ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some("focus.prev")
    );
    // ctrl-a is tmux's prefix: never bound.
    for ctx in [
        "global",
        "table",
        "table.pods",
        "logs",
        "editor",
        "dialog",
        "command",
    ] {
        assert_eq!(
            km.action(ctx, &ev(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            None,
            "{ctx}"
        );
    }
    assert_eq!(
        km.key_for("table", "row.down").map(|k| k.to_string()),
        Some("j".into())
    );
}

#[test]
fn k9s_keys_and_kind_specific_s() {
    let km = Keymap::default_map();
    let ctrl = |c| ev(KeyCode::Char(c), KeyModifiers::CONTROL);
    assert_eq!(km.action("table.pods", &ctrl('d')), Some("resource.delete"));
    assert_eq!(km.action("table.pods", &ctrl('k')), Some("pod.kill"));
    assert_eq!(km.action("table.deployments", &ctrl('k')), None);
    assert_eq!(km.action("table.pods", &ch('d')), Some("resource.describe"));
    assert_eq!(km.action("table.pods", &ch('y')), Some("resource.yaml"));
    assert_eq!(km.action("table.pods", &ch('e')), Some("resource.edit"));
    assert_eq!(km.action("table.pods", &ch('l')), Some("pod.logs"));
    assert_eq!(km.action("table.pods", &ch('p')), Some("pod.logs.previous"));
    assert_eq!(km.action("table.pods", &ch('s')), Some("pod.shell"));
    assert_eq!(
        km.action("table.deployments", &ch('s')),
        Some("resource.scale")
    );
    assert_eq!(km.action("table.configmaps", &ch('s')), None);
    assert_eq!(
        km.action("table.pods", &ev(KeyCode::Char('F'), KeyModifiers::SHIFT)),
        Some("port.forward")
    );
    assert_eq!(km.action("table", &ch('/')), Some("filter.start"));
    assert_eq!(km.action("table", &ch(':')), Some("command.start"));
    assert_eq!(km.action("table", &ch('?')), Some("help.show"));
    assert_eq!(
        km.action("table", &ev(KeyCode::Esc, KeyModifiers::NONE)),
        Some("view.back")
    );
    assert_eq!(km.action("table", &ch('3')), Some("namespace.favourite.3"));
    // Text contexts do not fall back to global: q is typed, not quit.
    assert_eq!(km.action("editor", &ch('q')), None);
    assert_eq!(km.action("command", &ch('q')), None);
    assert_eq!(km.action("logs", &ch('q')), Some("app.quit"));
}

#[test]
fn every_action_is_known_and_labelled() {
    let km = Keymap::default_map();
    for ctx in km.context_names() {
        for b in km.context(ctx).unwrap().values() {
            assert!(is_action(&b.action), "{ctx}: {}", b.action);
        }
    }
    for fav in 1..=9 {
        assert!(is_action(&format!("namespace.favourite.{fav}")));
    }
    assert_eq!(action_label("resource.delete"), "delete");
    assert!(is_destructive("pod.kill") && is_mutating("pod.shell") && !is_mutating("pod.logs"));
}

#[test]
fn noop_unbinds_and_blocks_the_fallback() {
    let (km, p) = layered("[table]\n\"d\" = \"noop\"\n[global]\n\"q\" = \"noop\"\n");
    assert_eq!(p, vec![]);
    assert_eq!(km.action("table", &ch('d')), None);
    assert_eq!(km.action("table", &ch('q')), None);
    assert_eq!(km.action("logs", &ch('q')), None);
    // A noop in a context hides a global key only there.
    let (km, _) = layered("[logs]\n\"q\" = \"noop\"\n");
    assert_eq!(km.action("logs", &ch('q')), None);
    assert_eq!(km.action("table", &ch('q')), Some("app.quit"));
    // The footer follows: describe is gone.
    let (km, _) = layered("[table]\n\"d\" = \"noop\"\n");
    assert!(!km.footer("table").iter().any(|(_, a)| a == "describe"));
}

#[test]
fn user_layer_replaces_keys_and_keeps_the_rest() {
    let (km, p) = layered("[table]\n\"x\" = \"resource.delete\"\n\"ctrl-d\" = \"noop\"\n");
    assert_eq!(p, vec![]);
    assert_eq!(km.action("table", &ch('x')), Some("resource.delete"));
    assert_eq!(
        km.action("table", &ev(KeyCode::Char('d'), KeyModifiers::CONTROL)),
        None
    );
    assert_eq!(km.action("table", &ch('j')), Some("row.down"));
    let b = km
        .context("table")
        .unwrap()
        .get(&parse_seq("x").unwrap())
        .unwrap();
    assert_eq!((b.file.as_str(), b.line), ("user.toml", Some(2)));
}

#[test]
fn sequences_pending_matched_nomatch() {
    let (km, p) = layered(VIM);
    assert_eq!(p, vec![]);
    let mut st = KeyState::new();
    assert_eq!(st.feed(&km, "table", &ch('g')), KeyMatch::Pending);
    assert_eq!(st.pending().len(), 1);
    assert_eq!(
        st.feed(&km, "table", &ch('g')),
        KeyMatch::Matched("row.first".into())
    );
    assert!(st.pending().is_empty());
    // g then j: no `g j`, so j counts alone.
    assert_eq!(st.feed(&km, "table", &ch('g')), KeyMatch::Pending);
    assert_eq!(
        st.feed(&km, "table", &ch('j')),
        KeyMatch::Matched("row.down".into())
    );
    // g then x: nothing.
    st.feed(&km, "table", &ch('g'));
    assert_eq!(st.feed(&km, "table", &ch('x')), KeyMatch::NoMatch);
    // Esc abandons a sequence without going back.
    st.feed(&km, "table", &ch('g'));
    assert_eq!(
        st.feed(&km, "table", &ev(KeyCode::Esc, KeyModifiers::NONE)),
        KeyMatch::NoMatch
    );
    assert_eq!(
        st.feed(&km, "table", &ev(KeyCode::Esc, KeyModifiers::NONE)),
        KeyMatch::Matched("view.back".into())
    );
    // d d deletes, D describes, a single d waits.
    assert_eq!(st.feed(&km, "table.pods", &ch('d')), KeyMatch::Pending);
    assert_eq!(
        st.feed(&km, "table.pods", &ch('d')),
        KeyMatch::Matched("resource.delete".into())
    );
    assert_eq!(
        st.feed(&km, "table", &ev(KeyCode::Char('D'), KeyModifiers::SHIFT)),
        KeyMatch::Matched("resource.describe".into())
    );
    // Global sequences work from a context: ctrl-w l.
    let ctrl_w = ev(KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(st.feed(&km, "logs", &ctrl_w), KeyMatch::Pending);
    assert_eq!(
        st.feed(&km, "logs", &ch('l')),
        KeyMatch::Matched("focus.right".into())
    );
    // vim drops q; ctrl-c still quits.
    assert_eq!(km.action("table", &ch('q')), None);
    assert_eq!(
        km.sequence_action("table", "ctrl-c").as_deref(),
        Some("app.quit")
    );
    // An unbound key in the editor is text.
    assert_eq!(st.feed(&km, "editor", &ch('g')), KeyMatch::NoMatch);
}

#[test]
fn prefix_bound_alone_is_a_conflict() {
    // The default binds `g` alone in [table]; adding `g g` without unbinding it conflicts.
    let (_, p) = layered("[table]\n\"g g\" = \"row.first\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    let line = p[0].to_string();
    assert!(line.starts_with("user.toml:2: [table] \"g g\""), "{line}");
    assert!(line.contains("conflicts with \"g\""), "{line}");
    assert!(p[0].is_error());
    // Across contexts: a global `z` (pane.zoom) and `z z` in logs.
    let (_, p) = layered("[logs]\n\"z z\" = \"logs.wrap\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].to_string().contains("in [global]"), "{}", p[0]);
    // Reported once even though table.pods inherits [table].
    let (_, p) = layered("[table]\n\"e e\" = \"row.last\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    // With the prefix unbound, no conflict.
    let (_, p) = layered("[table]\n\"g\" = \"noop\"\n\"g g\" = \"row.first\"\n");
    assert_eq!(p, vec![]);
}

#[test]
fn shadowing_a_destructive_key_warns() {
    let (_, p) = layered("[table.pods]\n\"ctrl-d\" = \"page.down\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(!p[0].is_error());
    assert!(
        p[0].to_string()
            .starts_with("warning: user.toml:2: [table.pods] \"ctrl-d\"")
    );
    let (_, p) = layered(
        "[logs]\n\"ctrl-c\" = \"logs.clear\"\n[global]\n\"x\" = \"pod.kill\"\n[table]\n\"x\" = \"row.down\"\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].to_string()
            .contains("shadows \"x\" = \"pod.kill\" in [global]")
    );
}

#[test]
fn bad_entries_are_all_reported_with_file_and_line() {
    let text = "[table]\n\"ctrl-\" = \"row.up\"\n\"x\" = \"row.sideways\"\n\"y\" = \"resource.descibe\"\n\
                \"z\" = 3\n[tabel]\n\"a\" = \"row.up\"\n[table.deploy]\n\"s\" = \"resource.scale\"\n\
                [table.pods]\n\"k\" = \"row.up\"\n";
    let mut km = Keymap::default_map();
    let p = km.layer(text, "k.toml");
    let lines: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let has = |s: &str| lines.iter().any(|l| l.contains(s));
    assert!(has("k.toml:2: [table] unknown key \"ctrl-\""));
    assert!(has(
        "k.toml:3: [table] \"x\" = \"row.sideways\": unknown action"
    ));
    assert!(has("did you mean \"resource.describe\"?"));
    assert!(has("k.toml:5: [table] \"z\" = 3: must be an action name"));
    assert!(has(
        "k.toml:6: [tabel]: unknown context; did you mean [table]?"
    ));
    assert!(has(
        "[table.deploy]: use the plural resource name: [table.deployments]"
    ));
    // The good entry of the same file still applies.
    assert_eq!(km.action("table.pods", &ch('k')), Some("row.up"));
    let p = km.layer("[table\n", "k.toml");
    assert!(
        p[0].to_string().starts_with("k.toml:1: not valid TOML"),
        "{p:?}"
    );
}

#[test]
fn two_spellings_of_one_key_must_agree() {
    let mut km = Keymap::default();
    let p = km.layer(
        "[table]\n\"G\" = \"row.last\"\n\"shift-g\" = \"row.first\"\n",
        "k.toml",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].to_string().contains("the same key as line"),
        "{}",
        p[0]
    );
    // Same action twice is harmless (the default has shift-tab and backtab).
    let p = km.layer(
        "[table]\n\"G\" = \"row.last\"\n\"shift-g\" = \"row.last\"\n",
        "j.toml",
    );
    assert_eq!(p, vec![]);
}

#[test]
fn footer_shows_the_keys_that_work() {
    let km = Keymap::default_map();
    let f = km.footer("table.pods");
    let get = |label: &str| f.iter().find(|(_, l)| l == label).map(|(k, _)| k.as_str());
    assert_eq!(get("logs"), Some("l"));
    assert_eq!(get("shell"), Some("s"));
    assert_eq!(get("delete"), Some("ctrl-d"));
    assert_eq!(get("kill"), Some("ctrl-k"));
    assert_eq!(get("scale"), None);
    let f = km.footer("table.deployments");
    assert!(f.iter().any(|(k, l)| k == "s" && l == "scale"));
    let (vim, _) = layered(VIM);
    let f = vim.footer("table.pods");
    assert!(f.iter().any(|(k, l)| k == "d d" && l == "delete"), "{f:?}");
    assert!(f.iter().any(|(k, l)| k == "ctrl-c" && l == "quit"), "{f:?}");
    assert!(!km.footer("logs").is_empty());
    assert!(!km.footer("dialog").is_empty());
}

#[test]
fn key_parsing_round_trips() {
    for s in [
        "q", "ctrl-c", "G", "f5", "pagedown", "space", "alt-x", "ctrl-\\", "backtab",
    ] {
        let k = Key::parse(s).unwrap();
        assert_eq!(Key::parse(&k.to_string()).unwrap(), k, "{s}");
    }
    assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
    assert!(parse_seq("").is_err());
    assert!(parse_seq("g nope").is_err());
    assert_eq!(parse_seq("g  g").unwrap().len(), 2);
}

#[test]
fn ctrl_backslash_from_a_terminal_is_ctrl_backslash() {
    // crossterm reports the byte 0x1c as ctrl-4.
    let ev = KeyEvent::new(KeyCode::Char('4'), KeyModifiers::CONTROL);
    assert_eq!(
        Keymap::default_map().action("table", &ev),
        Some("mark.clear")
    );
}
