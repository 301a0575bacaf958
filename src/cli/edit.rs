//! `edit KIND NAME`: the object as YAML in `$KUBE_EDITOR`, `$EDITOR` or `vi`; the result is
//! checked like a manifest (positions in the temp file) and sent as an update.

use super::args::EditArgs;
use super::output::{object_ref, to_yaml};
use super::{CliError, Ctx, Io, target};
use crate::api::request::{FieldValidation, WriteOptions};
use crate::client::edit::{EditResult, check_edit};
use crate::cluster::Cluster;
use std::path::{Path, PathBuf};

const HEADER: &str = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n\
# and an empty file will abort the edit. If an error occurs while saving, your edits stay\n\
# in this file and its path is printed.\n#\n";

/// The editor command line: `$KUBE_EDITOR`, else `$EDITOR`, else `vi`.
pub fn editor_command(kube_editor: Option<String>, editor: Option<String>) -> String {
    kube_editor
        .filter(|e| !e.trim().is_empty())
        .or(editor.filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_string())
}

/// Quote a path for `sh -c`.
fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

fn temp_path(name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    std::env::temp_dir().join(format!(
        "peapod-edit-{safe}-{}.yaml",
        uuid::Uuid::new_v4().simple()
    ))
}

/// Run the editor on `path`, attached to the terminal.
async fn run_editor(editor: String, path: PathBuf) -> Result<(), CliError> {
    let cmd = format!("{editor} {}", shell_quote(&path));
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .status()
    })
    .await
    .map_err(|e| CliError::msg(format!("editor task failed: {e}")))?
    .map_err(|e| CliError::msg(format!("cannot run the editor ({editor}): {e}")))?;
    if !status.success() {
        return Err(CliError::msg(format!(
            "the editor exited with {status}; set KUBE_EDITOR or EDITOR to your editor"
        )));
    }
    Ok(())
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: EditArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let validation = FieldValidation::parse(&a.validate).map_err(|e| CliError::msg(e.message))?;
    let t = target::parse(&a.targets, "edit")?;
    let [(kind, Some(name))] = t.items.as_slice() else {
        return Err(CliError::msg(
            "edit takes one object: KIND NAME or KIND/NAME",
        ));
    };
    let ns = kind.namespaced.then_some(ctx.namespace.as_str());
    let original = cluster.get(kind, ns, name).await?;
    let original_text = format!("{HEADER}{}", to_yaml(&original));
    let path = temp_path(name);
    std::fs::write(&path, &original_text)
        .map_err(|e| CliError::msg(format!("cannot write {}: {e}", path.display())))?;

    let editor = editor_command(
        std::env::var("KUBE_EDITOR").ok(),
        std::env::var("EDITOR").ok(),
    );
    let kept = |msg: String| CliError::msg(format!("{msg} (your edits are in {})", path.display()));
    run_editor(editor, path.clone())
        .await
        .map_err(|e| kept(e.to_string()))?;
    let edited = std::fs::read_to_string(&path)
        .map_err(|e| kept(format!("cannot read the edited file: {e}")))?;

    let source = path.display().to_string();
    let object = match check_edit(kind, &original, &edited, &source, validation) {
        Ok(EditResult::Unchanged) => {
            let _ = std::fs::remove_file(&path);
            io.outln("Edit cancelled, no changes made.");
            return Ok(());
        }
        Ok(EditResult::Changed { object, warnings }) => {
            for w in &warnings {
                io.errln(format!("Warning: {w}"));
            }
            object
        }
        Err(e) => {
            for w in &e.warnings {
                io.errln(format!("Warning: {w}"));
            }
            for line in &e.errors {
                io.errln(format!("error: {line}"));
            }
            return Err(kept(e.summary));
        }
    };
    let opts = WriteOptions {
        dry_run: false,
        field_validation: validation,
    };
    match cluster.update(object, &opts).await {
        Ok(_) => {
            let _ = std::fs::remove_file(&path);
            io.outln(format!("{} edited", object_ref(kind, name)));
            Ok(())
        }
        Err(e) => {
            io.errln(super::server_error_line(&e));
            Err(kept(format!("{} was not saved", object_ref(kind, name))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_choice() {
        assert_eq!(
            editor_command(Some("nano".into()), Some("vim".into())),
            "nano"
        );
        assert_eq!(
            editor_command(Some(" ".into()), Some("code --wait".into())),
            "code --wait"
        );
        assert_eq!(editor_command(None, None), "vi");
    }

    #[test]
    fn quoting_and_meaningful_text() {
        assert_eq!(
            shell_quote(Path::new("/tmp/a'b.yaml")),
            "'/tmp/a'\\''b.yaml'"
        );
        assert_eq!(
            crate::client::edit::meaningful("# c\n\na: 1\n  # x\n"),
            "a: 1"
        );
        assert!(
            temp_path("we/b")
                .to_string_lossy()
                .contains("peapod-edit-we-b-")
        );
    }

    #[test]
    fn unchanged_edit_is_cancelled() {
        use crate::cli::args::Command;
        use crate::cli::fake::{FakeCluster, ctx, parse, run_verb};
        let c = FakeCluster::default();
        c.insert(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}}));
        // SAFETY of the environment: only this test sets KUBE_EDITOR in this process.
        unsafe { std::env::set_var("KUBE_EDITOR", "true") };
        let Command::Edit(a) = parse(&["edit", "cm", "cm"]) else {
            panic!()
        };
        let (code, out, _) = run_verb!(|io| run(&c, &ctx(), a, io));
        assert_eq!(
            (code, out.as_str()),
            (0, "Edit cancelled, no changes made.\n")
        );
        let Command::Edit(a) = parse(&["edit", "cm", "nope"]) else {
            panic!()
        };
        assert_eq!(run_verb!(|io| run(&c, &ctx(), a, io)).0, 1);
    }
}
