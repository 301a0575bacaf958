//! `peapod check-config`: load the console's config, keymap layers and theme exactly as the
//! console does, print every problem on one line (stdout), and exit 1 when any is an error.

use super::{CliError, Io};
use crate::tui::config::{LoadOptions, Loaded, load};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Default)]
pub struct CheckConfigArgs {
    /// The config file (default: $XDG_CONFIG_HOME/peapod/config.toml, else
    /// ~/.config/peapod/config.toml, when it exists).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Check this theme (a shipped name or a file) instead of the config's.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
}

pub fn run(args: &CheckConfigArgs, io: &mut Io<'_>) -> Result<(), CliError> {
    let opts = LoadOptions::from_env(args.config.clone(), args.theme.clone());
    report(&load(&opts), io)
}

/// Print the problems (warnings first-class but not failing), then the summary.
pub fn report(loaded: &Loaded, io: &mut Io<'_>) -> Result<(), CliError> {
    for p in &loaded.problems {
        io.outln(p.to_string());
    }
    let errors = loaded.problems.iter().filter(|p| p.is_error()).count();
    if errors > 0 {
        return Err(CliError::msg(format!(
            "{errors} problem{} in the console configuration",
            if errors == 1 { "" } else { "s" }
        )));
    }
    let warnings = loaded.problems.len();
    let note = match warnings {
        0 => String::new(),
        1 => " (1 warning)".to_string(),
        n => format!(" ({n} warnings)"),
    };
    io.outln(format!(
        "ok{note}: {}; theme {}",
        loaded.files.join(", "),
        loaded.theme.name
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    fn check(opts: &LoadOptions) -> (Result<(), CliError>, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut io = Io {
            out: &mut out,
            err: &mut err,
        };
        let r = report(&load(opts), &mut io);
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn parses_flags() {
        let cli = Cli::try_parse_from(["peapod", "check-config", "--config", "/x/c.toml"]).unwrap();
        match cli.command {
            Some(Command::CheckConfig(a)) => {
                assert_eq!(a.config, Some(PathBuf::from("/x/c.toml")));
                assert_eq!(a.theme, None);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["peapod", "check-config", "--theme", "light"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::CheckConfig(a)) if a.theme.as_deref() == Some("light"))
        );
        assert!(Cli::try_parse_from(["peapod", "check-config", "extra"]).is_err());
    }

    #[test]
    fn ok_summary_without_files() {
        let dir = tempfile::tempdir().unwrap();
        let (r, out) = check(&LoadOptions {
            config_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        });
        assert!(r.is_ok());
        assert_eq!(out, "ok: keymaps/default.toml; theme dark\n");
    }

    #[test]
    fn each_problem_on_one_line_and_exit_1() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("config.toml"), "theme = \"sky\"\nmouse = 1\n").unwrap();
        std::fs::write(
            d.join("keymap.toml"),
            "[table]\n\"g g\" = \"row.first\"\n\"x\" = \"nope\"\n",
        )
        .unwrap();
        let (r, out) = check(&LoadOptions {
            config_dir: Some(d.to_path_buf()),
            ..Default::default()
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].ends_with("config.toml:2: mouse = 1: must be true or false"),
            "{out}"
        );
        assert!(
            lines[1].ends_with("keymap.toml:3: [table] \"x\" = \"nope\": unknown action"),
            "{out}"
        );
        assert!(lines[2].contains("keymap.toml:2: [table] \"g g\""), "{out}");
        assert!(lines[3].contains("sky: cannot read theme"), "{out}");
        let e = r.unwrap_err();
        assert_eq!(
            e.line().unwrap(),
            "error: 4 problems in the console configuration"
        );
    }

    #[test]
    fn warnings_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("keymap.toml"),
            "[table.pods]\n\"ctrl-d\" = \"page.down\"\n",
        )
        .unwrap();
        let (r, out) = check(&LoadOptions {
            config_dir: Some(d.to_path_buf()),
            theme: Some("high-contrast".into()),
            ..Default::default()
        });
        assert!(r.is_ok(), "{out}");
        assert!(out.starts_with("warning: "), "{out}");
        assert!(
            out.contains("ok (1 warning): keymaps/default.toml, "),
            "{out}"
        );
        assert!(out.ends_with("; theme high-contrast\n"), "{out}");
    }
}
