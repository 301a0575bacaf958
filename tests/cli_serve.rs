//! The CLI against a running `peapod serve` (through its socket): `get -w` sees changes made
//! by other commands, and deletes wait for the objects to be gone.

mod cli_support;

use cli_support::{Peapod, SHOP};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

/// Lines of a child's stdout, read on a thread so the test can time out.
fn lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

#[track_caller]
fn next_line(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("a line from get -w within 20s")
}

#[test]
fn watch_prints_rows_for_changes_made_by_other_commands() {
    let p = Peapod::new();
    let _server = p.serve();
    p.run(&["create", "ns", "shop"]).ok();

    let mut watch = p.spawn(&["get", "po", "-n", "shop", "-w"]);
    let rx = lines(&mut watch);
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();

    // The header comes with the first row; then one row per event.
    let header = next_line(&rx);
    assert!(header.starts_with("NAME"), "{header}");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let row = next_line(&rx);
        seen.push(row.split_whitespace().next().unwrap_or("").to_string());
    }
    seen.sort();
    assert_eq!(seen, ["canary", "web"]);

    p.run(&["label", "po", "web", "seen=yes", "-n", "shop"])
        .ok();
    let row = next_line(&rx);
    assert!(row.starts_with("web "), "{row}");
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn watch_only_and_deletes_through_the_socket() {
    let p = Peapod::new();
    let _server = p.serve();
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();

    let mut watch = p.spawn(&["get", "cm", "-n", "shop", "--watch-only", "-o", "name"]);
    let rx = lines(&mut watch);
    // Give the watch time to start, then change the config map.
    std::thread::sleep(Duration::from_millis(500));
    p.run(&["annotate", "cm", "settings", "x=1", "-n", "shop"])
        .ok();
    assert_eq!(next_line(&rx), "configmap/settings");
    let _ = watch.kill();
    let _ = watch.wait();

    let out = p.run(&["delete", "po", "--all", "-n", "shop", "--timeout=30s"]);
    assert_eq!(out.ok(), "pod \"canary\" deleted\npod \"web\" deleted\n");
    assert_eq!(p.run(&["get", "po", "-n", "shop", "-o", "name"]).ok(), "");
    let out = p.run(&["delete", "ns", "shop", "--timeout=30s"]);
    assert_eq!(out.ok(), "namespace \"shop\" deleted\n");
    let out = p.run(&["get", "ns", "shop"]);
    assert_eq!(
        out.failed(),
        "Error from server (NotFound): namespaces \"shop\" not found\n"
    );
}

/// One process holds the store; a second `serve` names it; SIGTERM stops it cleanly.
#[test]
fn serve_is_exclusive_and_stops_cleanly_on_sigterm() {
    let p = Peapod::new();
    let server = p.serve();
    let out = p.run(&["serve"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!("peapod pid {}", server.pid())),
        "{}",
        out.stderr
    );
    // the node agent registers this machine shortly after start
    let mut registered = false;
    for _ in 0..100 {
        if p.run(&["get", "nodes", "-o", "name"])
            .stdout
            .starts_with("node/")
        {
            registered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(registered, "no Node object after 5 s");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(!p.state().join("peapod.sock").exists());
    assert!(!p.state().join("peapod.pid").exists());
    // the store opens again for the next command
    assert_eq!(p.run(&["get", "ns"]).code, 0);
}
