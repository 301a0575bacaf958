//! Command and arguments by Kubernetes' rules (command/args versus Entrypoint/Cmd).

use crate::image::ImageConfig;
use serde_json::Value;
use std::collections::HashMap;

/// The argv to run: `container.command` replaces the image Entrypoint (and drops Cmd),
/// `container.args` replaces Cmd. `$(VAR)` references are expanded with `env`
/// ("NAME=value" entries, later ones win); `$$` escapes. Empty result means nothing to run
/// (the caller reports it as an error).
pub fn argv(container: &Value, image: &ImageConfig, env: &[String]) -> Vec<String> {
    let vars = env_map(env);
    let lookup = |name: &str| vars.get(name).map(|v| v.to_string());
    // The kubelet expands only the pod's own command and args (ExpandContainerCommandAndArgs);
    // the image's Entrypoint and Cmd are used verbatim.
    let expanded = |field: &str| -> Vec<String> {
        strings(&container[field])
            .iter()
            .map(|s| expand(s, &lookup))
            .collect()
    };
    let command = expanded("command");
    let args = expanded("args");
    // containerd's WithProcessArgs: a command replaces Entrypoint and Cmd; args alone replace
    // Cmd only. An Entrypoint of [""] is how an image resets it: no entrypoint.
    if !command.is_empty() {
        return command.into_iter().chain(args).collect();
    }
    let entrypoint: Vec<String> = if image.entrypoint.len() == 1 && image.entrypoint[0].is_empty() {
        Vec::new()
    } else {
        image.entrypoint.clone()
    };
    let args = if args.is_empty() {
        image.cmd.clone()
    } else {
        args
    };
    entrypoint.into_iter().chain(args).collect()
}

/// "NAME=value" entries as a map, later entries winning (an entry without `=` is a name with
/// an empty value, as Go's environment handling treats it).
pub fn env_map(env: &[String]) -> HashMap<&str, &str> {
    env.iter()
        .map(|e| e.split_once('=').unwrap_or((e.as_str(), "")))
        .collect()
}

/// The strings of a JSON array; anything else (absent, null, wrong type) is no strings.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Kubernetes' `$(VAR)` expansion (expansion.go): `$(NAME)` is replaced when `lookup` knows
/// NAME, kept verbatim otherwise; `$$` becomes `$`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let Some(next) = after.chars().next() else {
            // A trailing `$` is kept as written.
            out.push('$');
            rest = after;
            break;
        };
        match next {
            // `$$` is an escaped operator: one `$`, and the next character is not an opener.
            '$' => {
                out.push('$');
                rest = &after[1..];
            }
            '(' => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 1..];
                }
                // An unterminated reference is kept; scanning resumes after the `(`.
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            // A `$` that does not open a reference is kept with the character after it.
            other => {
                out.push('$');
                out.push(other);
                rest = &after[other.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(entrypoint: &[&str], cmd: &[&str]) -> ImageConfig {
        ImageConfig {
            entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            ..ImageConfig::default()
        }
    }

    fn env(pairs: &[&str]) -> Vec<String> {
        pairs.iter().map(|s| s.to_string()).collect()
    }

    fn x(input: &str) -> String {
        let vars = [("VAR", "value"), ("EMPTY", ""), ("A", "$(B)")];
        expand(input, &|n: &str| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn image_entrypoint_and_cmd_when_container_sets_neither() {
        let c = json!({"name": "c", "image": "i"});
        assert_eq!(
            argv(&c, &image(&["/entry", "-x"], &["serve", "--port=1"]), &[]),
            ["/entry", "-x", "serve", "--port=1"]
        );
        assert_eq!(argv(&c, &image(&[], &["sh"]), &[]), ["sh"]);
    }

    #[test]
    fn command_replaces_entrypoint_and_drops_image_cmd() {
        let c = json!({"command": ["/bin/sh", "-c"]});
        assert_eq!(
            argv(&c, &image(&["/entry"], &["serve"]), &[]),
            ["/bin/sh", "-c"]
        );
        let c = json!({"command": ["/bin/sh", "-c"], "args": ["echo hi"]});
        assert_eq!(
            argv(&c, &image(&["/entry"], &["serve"]), &[]),
            ["/bin/sh", "-c", "echo hi"]
        );
    }

    #[test]
    fn args_replace_cmd_and_keep_entrypoint() {
        let c = json!({"args": ["--verbose"]});
        assert_eq!(
            argv(&c, &image(&["/entry"], &["serve"]), &[]),
            ["/entry", "--verbose"]
        );
    }

    #[test]
    fn empty_lists_count_as_unset_and_nothing_to_run_is_empty() {
        let c = json!({"command": [], "args": []});
        assert_eq!(argv(&c, &image(&["/e"], &["c"]), &[]), ["/e", "c"]);
        assert!(argv(&json!({}), &image(&[], &[]), &[]).is_empty());
        // An Entrypoint of [""] means the image reset it.
        assert_eq!(argv(&json!({}), &image(&[""], &["sh"]), &[]), ["sh"]);
    }

    #[test]
    fn command_and_args_are_expanded_but_image_values_are_not() {
        let c =
            json!({"command": ["echo", "$(GREETING)"], "args": ["$(WHO)", "$(NOPE)", "$$(WHO)"]});
        let e = env(&["GREETING=hello", "WHO=first", "WHO=world"]);
        assert_eq!(
            argv(&c, &image(&[], &[]), &e),
            ["echo", "hello", "world", "$(NOPE)", "$(WHO)"]
        );
        let c = json!({});
        assert_eq!(
            argv(&c, &image(&["$(GREETING)"], &["$(WHO)"]), &e),
            ["$(GREETING)", "$(WHO)"]
        );
    }

    #[test]
    fn expansion_follows_kubernetes() {
        assert_eq!(x("$(VAR)"), "value");
        assert_eq!(x("a-$(VAR)-b"), "a-value-b");
        assert_eq!(x("$(VAR)$(VAR)"), "valuevalue");
        assert_eq!(x("$(EMPTY)x"), "x");
        assert_eq!(x("$(UNKNOWN)"), "$(UNKNOWN)");
        assert_eq!(x("$()"), "$()");
        // `$$` escapes: `$$(VAR)` is the literal `$(VAR)`.
        assert_eq!(x("$$(VAR)"), "$(VAR)");
        assert_eq!(x("$$$(VAR)"), "$value");
        assert_eq!(x("$$$$"), "$$");
        assert_eq!(x("$$"), "$");
        // Values are not expanded again.
        assert_eq!(x("$(A)"), "$(B)");
        // Unterminated references and lone operators stay as written.
        assert_eq!(x("$(VAR"), "$(VAR");
        assert_eq!(x("$(VAR $(VAR)"), "$(VAR $(VAR)");
        assert_eq!(x("$VAR"), "$VAR");
        assert_eq!(x("cost: 5$"), "cost: 5$");
        assert_eq!(x("$"), "$");
        assert_eq!(x("$é$(VAR)"), "$évalue");
        // The name ends at the first `)`.
        assert_eq!(x("$($(VAR))"), "$($(VAR))");
        assert_eq!(x("no refs"), "no refs");
    }
}
