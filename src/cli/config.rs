//! `config`: the command line's own settings in `<state-dir>/cli-config.json` (the default
//! namespace), with kubectl's `set-context --current --namespace=NAME` as an alias.

use super::args::ConfigCommand;
use super::output::to_yaml;
use super::{CliError, Ctx, Io};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The one context peapod has.
pub const CONTEXT: &str = "peapod";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

pub fn path(state: &Path) -> PathBuf {
    state.join("cli-config.json")
}

/// The saved settings; a missing file is the default.
pub fn load(state: &Path) -> Result<CliConfig, String> {
    let p = path(state);
    match std::fs::read_to_string(&p) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not valid peapod CLI settings ({e}); fix or delete it",
                p.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CliConfig::default()),
        Err(e) => Err(format!("cannot read {}: {e}", p.display())),
    }
}

/// The saved namespace, warning (not failing) when the file cannot be read.
pub fn saved_namespace(state: &Path, io: &mut Io<'_>) -> Option<String> {
    match load(state) {
        Ok(c) => c.namespace.filter(|n| !n.is_empty()),
        Err(e) => {
            io.errln(format!("Warning: {e}; using namespace \"default\""));
            None
        }
    }
}

pub fn save(state: &Path, cfg: &CliConfig) -> Result<(), CliError> {
    let p = path(state);
    std::fs::create_dir_all(state).map_err(|e| {
        CliError::msg(format!(
            "cannot create the state directory {}: {e}",
            state.display()
        ))
    })?;
    let text = serde_json::to_string_pretty(cfg).map_err(|e| CliError::msg(e.to_string()))? + "\n";
    // Write then rename so a crash never leaves half a file.
    let tmp = p.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &p))
        .map_err(|e| CliError::msg(format!("cannot write {}: {e}", p.display())))
}

/// A namespace name must be an RFC 1123 label.
pub fn validate_namespace(name: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(CliError::msg(format!(
            "invalid namespace {name:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters"
        )))
    }
}

fn set_namespace(ctx: &Ctx, name: &str, io: &mut Io<'_>) -> Result<(), CliError> {
    validate_namespace(name)?;
    let mut cfg = load(&ctx.state).unwrap_or_default();
    cfg.namespace = Some(name.to_string());
    save(&ctx.state, &cfg)?;
    io.outln(format!("Context {CONTEXT:?} modified."));
    Ok(())
}

pub fn run(cmd: ConfigCommand, ctx: &Ctx, io: &mut Io<'_>) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::SetNamespace { name } => set_namespace(ctx, &name, io),
        ConfigCommand::SetContext { name, current } => {
            if !current && name.as_deref() != Some(CONTEXT) {
                return Err(CliError::msg(format!(
                    "peapod has one context, {CONTEXT:?}: use `config set-context --current --namespace=NAME`"
                )));
            }
            if !ctx.namespace_explicit {
                return Err(CliError::msg("nothing to set: add --namespace=NAME"));
            }
            set_namespace(ctx, &ctx.namespace, io)
        }
        ConfigCommand::View => {
            let cfg = load(&ctx.state).map_err(CliError::Msg)?;
            let ns = cfg.namespace.unwrap_or_else(|| "default".into());
            let view = json!({
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": CONTEXT,
                "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "namespace": ns}}],
                "clusters": [{"name": CONTEXT, "cluster": {
                    "server": format!("unix://{}", ctx.state.join("peapod.sock").display())
                }}],
            });
            io.out
                .write_all(to_yaml(&view).as_bytes())
                .map_err(|e| CliError::msg(e.to_string()))
        }
        ConfigCommand::CurrentNamespace => {
            io.outln(&ctx.namespace);
            Ok(())
        }
        ConfigCommand::CurrentContext => {
            io.outln(CONTEXT);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{ctx, parse, run_verb};

    fn with_state(dir: &Path) -> Ctx {
        Ctx {
            state: dir.to_path_buf(),
            ..ctx()
        }
    }

    fn config(c: &Ctx, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["config"];
        all.extend_from_slice(args);
        let Command::Config(cmd) = parse(&all) else {
            panic!()
        };
        run_verb!(|io| async { run(cmd, c, io) })
    }

    #[test]
    fn set_and_read_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let c = with_state(dir.path());
        assert_eq!(load(dir.path()).unwrap(), CliConfig::default());
        let (code, out, _) = config(&c, &["set-namespace", "dev"]);
        assert_eq!((code, out.as_str()), (0, "Context \"peapod\" modified.\n"));
        assert_eq!(load(dir.path()).unwrap().namespace.as_deref(), Some("dev"));
        let (code, _, err) = config(&c, &["set-namespace", "Bad_Name"]);
        assert_eq!(code, 1);
        assert!(
            err.starts_with("error: invalid namespace \"Bad_Name\""),
            "{err}"
        );
        let (_, out, _) = config(&c, &["view"]);
        assert!(out.contains("namespace: dev"), "{out}");
        let (code, _, err) = config(&c, &["set-context", "--current"]);
        assert_eq!(
            (code, err.as_str()),
            (1, "error: nothing to set: add --namespace=NAME\n")
        );
        let c2 = Ctx {
            namespace: "prod".into(),
            namespace_explicit: true,
            ..c.clone()
        };
        let (code, _, _) = config(&c2, &["set-context", "--current"]);
        assert_eq!(code, 0);
        assert_eq!(load(dir.path()).unwrap().namespace.as_deref(), Some("prod"));
    }

    #[test]
    fn broken_file_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), "{not json").unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(e.contains("fix or delete it"), "{e}");
        let (mut o, mut er) = (Vec::new(), Vec::new());
        let ns = saved_namespace(
            dir.path(),
            &mut Io {
                out: &mut o,
                err: &mut er,
            },
        );
        assert_eq!(ns, None);
        assert!(String::from_utf8(er).unwrap().starts_with("Warning: "));
    }
}
