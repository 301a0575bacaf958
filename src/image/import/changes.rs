//! `--change` instructions of `podman import` (Dockerfile syntax) applied to an image config:
//! CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR.

use crate::image::spec::RunConfig;
use crate::image::{ImageError, Result};
use std::collections::BTreeMap;
use std::str::FromStr;

const KNOWN: &str = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR";

/// Apply each change in order; the first bad one is reported with its text.
pub fn apply_changes(config: &mut RunConfig, changes: &[String]) -> Result<()> {
    for change in changes {
        apply(config, change)
            .map_err(|why| ImageError::Invalid(format!("invalid --change {:?}: {why}", change)))?;
    }
    Ok(())
}

fn apply(c: &mut RunConfig, change: &str) -> std::result::Result<(), String> {
    let change = change.trim();
    // `CMD ["sh"]` and podman's `CMD=["sh"]` alike.
    let split = change
        .find(|ch: char| ch.is_whitespace() || ch == '=')
        .unwrap_or(change.len());
    let (instruction, rest) = change.split_at(split);
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    let needs_value = || {
        if rest.is_empty() {
            Err(format!("{} needs a value", instruction.to_uppercase()))
        } else {
            Ok(())
        }
    };
    match instruction.to_uppercase().as_str() {
        "CMD" => c.cmd = Some(command(rest)?),
        "ENTRYPOINT" => c.entrypoint = Some(command(rest)?),
        "ENV" => {
            needs_value()?;
            let env = c.env.get_or_insert_with(Vec::new);
            for (k, v) in pairs(rest, true)? {
                let prefix = format!("{k}=");
                env.retain(|e| !e.starts_with(&prefix) && e != &k);
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            needs_value()?;
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in pairs(rest, false)? {
                labels.insert(k, v);
            }
        }
        "WORKDIR" => {
            needs_value()?;
            // A relative WORKDIR is relative to the previous one, as in a Dockerfile.
            let base = c.working_dir.clone().unwrap_or_else(|| "/".into());
            c.working_dir = Some(if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("{}/{rest}", base.trim_end_matches('/'))
            });
        }
        "USER" => {
            needs_value()?;
            c.user = Some(rest.to_string());
        }
        "STOPSIGNAL" => {
            needs_value()?;
            check_signal(rest)?;
            c.stop_signal = Some(rest.to_string());
        }
        "EXPOSE" => {
            needs_value()?;
            let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                let proto = proto.to_lowercase();
                if num.parse::<u16>().map_or(true, |n| n == 0)
                    || !["tcp", "udp", "sctp"].contains(&proto.as_str())
                {
                    return Err(format!("invalid port {p:?}: use PORT or PORT/tcp|udp|sctp"));
                }
                ports.insert(format!("{num}/{proto}"), serde_json::json!({}));
            }
        }
        "VOLUME" => {
            needs_value()?;
            let paths = if rest.starts_with('[') {
                json_array(rest)?
            } else {
                rest.split_whitespace().map(String::from).collect()
            };
            let volumes = c.volumes.get_or_insert_with(BTreeMap::new);
            for p in paths {
                if !p.starts_with('/') {
                    return Err(format!("volume {p:?} must be an absolute path"));
                }
                volumes.insert(p, serde_json::json!({}));
            }
        }
        "" => return Err(format!("empty change: use {KNOWN}")),
        other => {
            return Err(format!("unknown instruction {other}: use {KNOWN}"));
        }
    }
    Ok(())
}

/// Exec form (a JSON array of strings) or shell form (`/bin/sh -c TEXT`).
fn command(rest: &str) -> std::result::Result<Vec<String>, String> {
    if rest.starts_with('[') {
        json_array(rest)
    } else if rest.is_empty() {
        Ok(Vec::new())
    } else {
        Ok(vec!["/bin/sh".into(), "-c".into(), rest.into()])
    }
}

fn json_array(s: &str) -> std::result::Result<Vec<String>, String> {
    serde_json::from_str(s).map_err(|e| format!("not a JSON array of strings ({e})"))
}

/// `K=V K2="v 2"` (or, for ENV only, the legacy `K value with spaces`).
fn pairs(rest: &str, legacy_ok: bool) -> std::result::Result<Vec<(String, String)>, String> {
    let words = shell_words(rest)?;
    let first_has_eq = words.first().is_some_and(|w| w.contains('='));
    if !first_has_eq {
        if legacy_ok {
            let (k, v) = rest
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("{rest:?} needs KEY=VALUE"))?;
            return Ok(vec![(k.to_string(), v.trim().to_string())]);
        }
        return Err(format!("{rest:?} needs KEY=VALUE"));
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(format!("{w:?} needs KEY=VALUE")),
        })
        .collect()
}

/// Split on whitespace, honouring "double" and 'single' quotes and backslash escapes.
fn shell_words(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '"' | '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err(format!("unterminated quote in {s:?}")),
                        Some(c) if c == ch => break,
                        Some('\\') if ch == '"' => cur.push(
                            chars
                                .next()
                                .ok_or_else(|| format!("dangling \\ in {s:?}"))?,
                        ),
                        Some(c) => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(
                    chars
                        .next()
                        .ok_or_else(|| format!("dangling \\ in {s:?}"))?,
                );
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `SIGTERM`, `TERM` or a signal number.
fn check_signal(s: &str) -> std::result::Result<(), String> {
    let ok = match s.parse::<i32>() {
        Ok(n) => nix::sys::signal::Signal::try_from(n).is_ok(),
        Err(_) => {
            let upper = s.to_uppercase();
            let name = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            nix::sys::signal::Signal::from_str(&name).is_ok()
                || name.starts_with("SIGRTMIN")
                || name.starts_with("SIGRTMAX")
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "unknown signal {s:?}: use a name like SIGTERM or a number"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(changes: &[&str]) -> RunConfig {
        let mut c = RunConfig::default();
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply_changes(&mut c, &changes).unwrap();
        c
    }

    fn err(change: &str) -> String {
        let mut c = RunConfig::default();
        apply_changes(&mut c, &[change.to_string()])
            .unwrap_err()
            .to_string()
    }

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn cmd_and_entrypoint_exec_and_shell_forms() {
        let c = changed(&[r#"CMD ["sh", "-c", "echo hi"]"#, "ENTRYPOINT /bin/init --x"]);
        assert_eq!(c.cmd, v(&["sh", "-c", "echo hi"]));
        assert_eq!(c.entrypoint, v(&["/bin/sh", "-c", "/bin/init --x"]));
        let c = changed(&[r#"cmd=["top"]"#, "ENTRYPOINT []"]);
        assert_eq!(c.cmd, v(&["top"]));
        assert_eq!(c.entrypoint, v(&[]));
        assert!(err("CMD [\"a\", 1]").contains("not a JSON array of strings"));
    }

    #[test]
    fn env_forms_and_replacement() {
        let c = changed(&[
            "ENV A=1 B=\"two words\" C=x\\ y",
            "ENV LEGACY some value",
            "ENV A=3",
        ]);
        assert_eq!(
            c.env,
            v(&["B=two words", "C=x y", "LEGACY=some value", "A=3"])
        );
        assert!(err("ENV").contains("needs a value"));
        assert!(err("ENV =x").contains("needs KEY=VALUE"));
        assert!(err("ENV A=\"x").contains("unterminated quote"));
    }

    #[test]
    fn label_workdir_user_stopsignal() {
        let c = changed(&[
            "LABEL a=b \"c d\"=e",
            "WORKDIR /srv",
            "WORKDIR app",
            "USER 1000:1000",
            "STOPSIGNAL SIGINT",
        ]);
        let labels = c.labels.unwrap();
        assert_eq!(labels["a"], "b");
        assert_eq!(labels["c d"], "e");
        assert_eq!(c.working_dir.as_deref(), Some("/srv/app"));
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        for ok in ["STOPSIGNAL TERM", "STOPSIGNAL 9", "STOPSIGNAL SIGRTMIN+3"] {
            changed(&[ok]);
        }
        assert!(err("STOPSIGNAL SIGNOPE").contains("unknown signal"));
        assert!(err("LABEL justakey").contains("KEY=VALUE"));
    }

    #[test]
    fn expose_and_volume() {
        let c = changed(&["EXPOSE 80 53/udp", r#"VOLUME ["/data"]"#, "VOLUME /logs"]);
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        let vols: Vec<_> = c.volumes.unwrap().into_keys().collect();
        assert_eq!(vols, ["/data", "/logs"]);
        assert!(err("EXPOSE 0").contains("invalid port"));
        assert!(err("EXPOSE 80/icmp").contains("invalid port"));
        assert!(err("VOLUME data").contains("absolute"));
    }

    #[test]
    fn unknown_instruction_lists_the_known_ones() {
        let e = err("RUN make");
        assert!(
            e.contains("\"RUN make\"") && e.contains("unknown instruction RUN"),
            "{e}"
        );
        assert!(e.contains("ENTRYPOINT"), "{e}");
        assert!(err("  ").contains("empty change"));
    }
}
