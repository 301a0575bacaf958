//! The console end to end, in a real terminal (tmux, 160×48), as root so its pods really
//! run: start `peapod` on a temp state dir, apply a manifest from a second shell, see the
//! pods appear, move with keys, filter by a label in the labels pane, watch lines the
//! container writes after the logs pane opened, delete with confirmation (Enter on the
//! default button cancels), and quit with the terminal restored. The screen is polled with
//! `capture-pane`; there are no fixed sleeps.

mod cli_support;

use cli_support::tmux::Tmux;
use cli_support::{Cleanup, Peapod, import_busybox, remove_all_pods};

const MANIFEST: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, env: prod}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:test
    command: [sh, -c, 'i=0; while [ $i -lt 2000 ]; do echo tick $i; i=$((i+1)); sleep 0.2; done']
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  labels: {app: db, env: prod}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:test
    command: [sh, -c, 'echo db ready; sleep 600']
";

fn row<'a>(screen: &'a str, pod: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == pod) && l.contains("default"))
}

/// The highest `tick N` on screen.
fn last_tick(screen: &str) -> Option<u64> {
    screen
        .lines()
        .filter_map(|l| {
            let at = l.find("tick ")?;
            l[at + 5..].split_whitespace().next()?.parse().ok()
        })
        .max()
}

#[test]
fn console_end_to_end_in_tmux_as_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs pods: run it as root (CI does)"
    );
    let p = Peapod::new();
    import_busybox(&p);
    let manifest = p.file("pods.yaml", MANIFEST);
    let tmux = Tmux::start(&p, "console");
    let cleanup = Cleanup(&p);

    // The console is up and empty.
    tmux.wait_for("pods(all)[0/0]");

    // A second shell applies a manifest: both pods appear and run.
    let out = p.run(&["apply", "-f", manifest.to_str().unwrap()]);
    assert!(out.ok().contains("pod/web created"), "{out:?}");
    tmux.wait("both pods Running", |s| {
        row(s, "web").is_some_and(|l| l.contains("Running"))
            && row(s, "db").is_some_and(|l| l.contains("Running"))
    });

    // Rows are sorted by name: g selects the first (db), j moves to web, and the logs pane
    // follows the selection. (Which row was selected before depends on which pod arrived
    // first: the selection stays on its object as others are inserted.)
    tmux.keys(&["g"]);
    tmux.wait_for("logs db/main");
    tmux.keys(&["j"]);
    tmux.wait_for("logs web/main");

    // Labels pane (Tab): app=db, app=web, env=prod. Picking app=web filters the pods.
    tmux.keys(&["Tab", "j", "Space"]);
    let s = tmux.wait_for("sel: app=web");
    assert!(s.contains("pods(all)[1/2]"), "{s}");
    assert!(row(&s, "db").is_none(), "db is filtered out:\n{s}");

    // The logs pane shows lines written after it opened.
    tmux.keys(&["l"]);
    let s = tmux.wait("ticks in the logs pane", |s| last_tick(s).is_some());
    let first = last_tick(&s).unwrap_or(0);
    tmux.wait("a newer tick", |s| {
        last_tick(s).is_some_and(|t| t > first + 2)
    });

    // Back to the table (logs → labels → table); ctrl-d asks, Enter on Cancel keeps the pod.
    tmux.keys(&["BTab", "BTab", "C-d"]);
    tmux.wait_for("Delete pod/web?");
    tmux.keys(&["Enter"]);
    let s = tmux.wait("the dialog to close", |s| !s.contains("Delete pod/web?"));
    assert!(row(&s, "web").is_some(), "Cancel kept the pod:\n{s}");
    // Tab to the Delete button, Enter: the pod goes.
    tmux.keys(&["C-d"]);
    tmux.wait_for("Delete pod/web?");
    tmux.keys(&["Tab", "Enter"]);
    tmux.wait_for("pod/web deleted");
    tmux.wait("web to disappear", |s| {
        row(s, "web").is_none() && s.contains("pods(all)[0/1]")
    });
    let out = p.run(&["get", "pods", "-o", "name"]);
    assert_eq!(out.ok().trim(), "pod/db");

    // Quit: the console exits 0 and the terminal is back to normal (no alternate screen,
    // cursor visible). The pods go first, while the console still runs them.
    remove_all_pods(&p);
    drop(cleanup);
    tmux.keys(&["q"]);
    tmux.wait_for("CONSOLE-EXITED 0");
    assert_eq!(tmux.display("#{alternate_on}"), "0");
    assert_eq!(tmux.display("#{cursor_flag}"), "1");
}
