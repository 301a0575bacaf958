//! `:` command mode: switch the main table to a kind (`:deploy`, `:po`, `:pods app=web`,
//! `:po kube-system`), switch namespace (`:ns NAME`), `:apply PATH`, `:q`. Kinds resolve
//! through the kinds registry, so every short, singular and plural name works.

use crate::api::kinds::{self, KINDS, KindInfo};
use crate::api::selector::LabelSelector;
use crate::api::text::did_you_mean;
use std::path::PathBuf;

/// Commands that are not kind names.
pub const COMMANDS: &[&str] = &[
    "q",
    "q!",
    "quit",
    "apply",
    "create",
    "label",
    "annotate",
    "pf",
    "portforward",
    "portforwards",
];

/// A namespace argument: `all` means every namespace (as in k9s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceArg {
    All,
    Name(String),
}

impl NamespaceArg {
    fn parse(s: &str) -> NamespaceArg {
        if s == "all" || s == "-A" {
            NamespaceArg::All
        } else {
            NamespaceArg::Name(s.to_string())
        }
    }

    /// `None` for all namespaces, as `ResourceTable::set_namespace` takes it.
    pub fn into_option(self) -> Option<String> {
        match self {
            NamespaceArg::All => None,
            NamespaceArg::Name(n) => Some(n),
        }
    }
}

/// What a `:` line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Show a kind. `namespace` switches scope when given; `filter` is a `/` filter to set
    /// (`-l app=web` from `:pods app=web`).
    View {
        kind: &'static KindInfo,
        namespace: Option<NamespaceArg>,
        filter: Option<String>,
    },
    /// `:ns NAME`: stay on the current kind, switch namespace.
    Namespace(NamespaceArg),
    Apply(PathBuf),
    /// `:create ns NAME`.
    CreateNamespace(String),
    /// `:label k=v k-` (labels) or `:annotate k=v k-` on the selected or marked objects:
    /// the keys to set and the keys to remove.
    Metadata {
        annotations: bool,
        set: Vec<(String, String)>,
        remove: Vec<String>,
    },
    /// `:pf`: the console's active port-forwards.
    PortForwards,
    Quit,
}

/// Every word a command line can start with: commands and each kind's names.
fn words() -> Vec<&'static str> {
    let mut w: Vec<&'static str> = COMMANDS.to_vec();
    for k in KINDS {
        w.push(k.plural);
        w.push(k.singular);
        w.extend(k.short_names.iter().copied());
    }
    w.sort_unstable();
    w.dedup();
    w
}

/// An argument of a kind command is a label selector when it has selector syntax.
fn looks_like_selector(arg: &str) -> bool {
    arg.contains('=') || arg.starts_with('!') || arg.contains(" in ") || arg.contains(" notin ")
}

/// Parse a command line (with or without the leading `:`). Errors are one line for the
/// console's message bar.
pub fn parse_command(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let line = line.strip_prefix(':').unwrap_or(line).trim();
    if line.is_empty() {
        return Err("empty command: type a kind such as :pods, or :q to quit".into());
    }
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (line, ""),
    };
    match word {
        "q" | "q!" | "quit" => {
            return if rest.is_empty() {
                Ok(Command::Quit)
            } else {
                Err(format!(":{word} takes no argument"))
            };
        }
        "apply" => {
            return if rest.is_empty() {
                Err(":apply needs a file or directory: :apply PATH".into())
            } else {
                Ok(Command::Apply(PathBuf::from(rest)))
            };
        }
        "create" => {
            let args: Vec<&str> = rest.split_whitespace().collect();
            return match args.as_slice() {
                [k, name] if kinds::lookup(k).is_some_and(|k| k.kind == "Namespace") => {
                    Ok(Command::CreateNamespace(name.to_string()))
                }
                _ => Err(":create takes `ns NAME`: :create ns staging".into()),
            };
        }
        "label" | "annotate" => return parse_metadata(word == "annotate", rest),
        "pf" | "portforward" | "portforwards" => {
            return if rest.is_empty() {
                Ok(Command::PortForwards)
            } else {
                Err(format!(":{word} takes no argument"))
            };
        }
        _ => {}
    }
    let Some(kind) = kinds::lookup(word) else {
        let all = words();
        return Err(match did_you_mean(word, all.iter().copied()) {
            Some(s) => format!("unknown command or resource {word:?}: did you mean :{s}?"),
            None => format!(
                "unknown command or resource {word:?}: type a kind (:pods, :deploy, :svc...) \
                 or :q"
            ),
        });
    };
    if kind.kind == "Namespace" && !rest.is_empty() {
        if rest.contains(char::is_whitespace) {
            return Err(format!(":{word} takes one namespace name, got {rest:?}"));
        }
        return Ok(Command::Namespace(NamespaceArg::parse(rest)));
    }
    if rest.is_empty() {
        return Ok(Command::View {
            kind,
            namespace: None,
            filter: None,
        });
    }
    if let Some(text) = rest.strip_prefix('/') {
        return Ok(Command::View {
            kind,
            namespace: None,
            filter: Some(text.trim().to_string()),
        });
    }
    if looks_like_selector(rest) {
        LabelSelector::parse(rest).map_err(|e| format!("bad label selector {rest:?}: {e}"))?;
        return Ok(Command::View {
            kind,
            namespace: None,
            filter: Some(format!("-l {rest}")),
        });
    }
    if rest.contains(char::is_whitespace) {
        return Err(format!(
            ":{word} takes a namespace or a label selector (:{word} app=web), got {rest:?}"
        ));
    }
    if !kind.namespaced {
        return Err(format!(
            "{} are not namespaced: use :{word} alone or with a label selector",
            kind.plural
        ));
    }
    Ok(Command::View {
        kind,
        namespace: Some(NamespaceArg::parse(rest)),
        filter: None,
    })
}

/// `k=v` sets, `k-` removes; keys must be valid label keys, label values valid values.
fn parse_metadata(annotations: bool, rest: &str) -> Result<Command, String> {
    use crate::api::selector::{validate_label_key, validate_label_value};
    let verb = if annotations { "annotate" } else { "label" };
    if rest.is_empty() {
        return Err(format!(":{verb} needs changes: :{verb} app=web tier-"));
    }
    let (mut set, mut remove) = (Vec::new(), Vec::new());
    for p in rest.split_whitespace() {
        if let Some((k, v)) = p.split_once('=') {
            validate_label_key(k).map_err(|e| format!("invalid key in {p:?}: {e}"))?;
            if !annotations {
                validate_label_value(v)
                    .map_err(|e| format!("invalid label value in {p:?}: {e}"))?;
            }
            set.push((k.to_string(), v.to_string()));
        } else if let Some(k) = p.strip_suffix('-') {
            validate_label_key(k).map_err(|e| format!("invalid key in {p:?}: {e}"))?;
            remove.push(k.to_string());
        } else {
            return Err(format!("{p:?}: write key=value to set or key- to remove"));
        }
    }
    Ok(Command::Metadata {
        annotations,
        set,
        remove,
    })
}

/// Tab completion without namespace names. See [`complete_in`].
pub fn complete(prefix: &str) -> Vec<String> {
    complete_in(prefix, &[])
}

/// Completions of a command line: whole lines that start with `prefix`, sorted. The first
/// word completes to commands and kind names; the argument of `:ns` and of a namespaced
/// kind completes to the given namespace names.
pub fn complete_in(prefix: &str, namespaces: &[&str]) -> Vec<String> {
    let prefix = prefix.strip_prefix(':').unwrap_or(prefix).trim_start();
    let lower = prefix.to_ascii_lowercase();
    match lower.split_once(' ') {
        None => words()
            .into_iter()
            .filter(|w| w.starts_with(lower.as_str()))
            .map(String::from)
            .collect(),
        Some((word, arg)) => {
            let Some(kind) = kinds::lookup(word) else {
                return Vec::new();
            };
            if !(kind.namespaced || kind.kind == "Namespace") || arg.contains(' ') {
                return Vec::new();
            }
            let mut out: Vec<String> = std::iter::once("all")
                .chain(namespaces.iter().copied())
                .filter(|n| n.starts_with(arg))
                .map(|n| format!("{word} {n}"))
                .collect();
            out.sort();
            out.dedup();
            out
        }
    }
}
