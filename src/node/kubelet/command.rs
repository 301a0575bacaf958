//! Command and arguments by Kubernetes' rules (command/args versus Entrypoint/Cmd).

use crate::image::ImageConfig;
use serde_json::Value;

/// The argv to run: `container.command` replaces the image Entrypoint (and drops Cmd),
/// `container.args` replaces Cmd. `$(VAR)` references are expanded with `env`
/// ("NAME=value" entries, later ones win); `$$` escapes. Empty result means nothing to run
/// (the caller reports it as an error).
pub fn argv(container: &Value, image: &ImageConfig, env: &[String]) -> Vec<String> {
    let _ = (container, image, env);
    todo!()
}

/// Kubernetes' `$(VAR)` expansion (expansion.go): `$(NAME)` is replaced when `lookup` knows
/// NAME, kept verbatim otherwise; `$$` becomes `$`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let _ = (input, lookup);
    todo!()
}
