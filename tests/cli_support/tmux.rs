//! A tmux server of a test's own (its own socket) running the console in one 160×48 pane,
//! polled with `capture-pane` (no fixed sleeps).

use super::Peapod;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    /// Starts the console on `p`'s state directory; the shell stays after it and prints
    /// `CONSOLE-EXITED <code>`.
    pub fn start(p: &Peapod, name: &str) -> Tmux {
        let t = Tmux {
            socket: format!("peapod-{name}-{}", std::process::id()),
        };
        let bin = env!("CARGO_BIN_EXE_peapod");
        let config = p.state().join("config");
        std::fs::create_dir_all(&config).unwrap();
        let script = format!(
            "env -u PEAPOD_HOME XDG_CONFIG_HOME={} PEAPOD_BRIDGE={} PEAPOD_POD_CIDR={} PEAPOD_SERVICE_PROXY_TABLE={} {bin} --state-dir {}; echo CONSOLE-EXITED $?; sleep 600",
            config.display(),
            p.bridge,
            p.pod_cidr,
            p.proxy_table,
            p.state().display()
        );
        let status = t
            .tmux()
            .args([
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "48",
                "-s",
                "console",
            ])
            .arg(script)
            .status()
            .expect("tmux is installed (scripts/test installs it)");
        assert!(status.success(), "tmux new-session failed");
        t
    }

    pub fn keys(&self, keys: &[&str]) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "console"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "console", "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "console"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A tmux format string expanded for the console's pane (`#{alternate_on}`).
    pub fn display(&self, format: &str) -> String {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "console", format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `ok` holds (20 s at most); returns that screen.
    pub fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}
