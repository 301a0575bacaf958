//! The console's settings: `config.toml` (theme, keymap layer, log buffer, refresh rate,
//! favourite namespaces, readonly, mouse), found in `$XDG_CONFIG_HOME/peapod` or
//! `~/.config/peapod`, and the loading of everything the console is configured with (config,
//! keymap layers, theme) so that `peapod check-config` and the console see the same problems.

use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// How bad a problem is: errors make `check-config` fail, warnings are only shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a configuration file, shown on one line:
/// `~/.config/peapod/config.toml:3: refresh_rate_ms = 5: must be between 16 and 10000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// The file as the user knows it (a path, or `keymaps/default.toml` for shipped files).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn error(file: &str, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }

    pub fn warning(file: &str, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, line, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parse a TOML document keeping spans, so problems can name their line. A syntax error
/// becomes one problem.
pub fn parse_doc<'a>(text: &'a str, file: &str) -> Result<DeTable<'a>, Problem> {
    match DeTable::parse(text) {
        Ok(doc) => Ok(doc.into_inner()),
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = e.message().trim().replace('\n', " ");
            Err(Problem::error(file, line, format!("not valid TOML: {msg}")))
        }
    }
}

/// Short TOML rendering of a value for messages (`"sky"`, `5`, `[...]`).
pub fn show_value(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("{:?}", s.as_ref()),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(x) => x.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) => "[...]".to_string(),
        DeValue::Table(_) => "{...}".to_string(),
    }
}

pub const LOG_BUFFER_MIN: usize = 1_000;
pub const LOG_BUFFER_MAX: usize = 10_000_000;
pub const REFRESH_MIN_MS: u64 = 16;
pub const REFRESH_MAX_MS: u64 = 10_000;
pub const MAX_FAVOURITES: usize = 9;

/// The settings in `config.toml`; every field is optional in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// A shipped theme name (`dark`, `light`, `high-contrast`) or a theme file path.
    pub theme: Option<String>,
    /// An extra keymap layer: a shipped name (`vim`) or a file path (relative to the config
    /// file's directory).
    pub keymap: Option<String>,
    /// Lines kept per logs pane before the oldest are dropped.
    pub log_buffer_lines: usize,
    /// Shortest time between two redraws.
    pub refresh_rate_ms: u64,
    /// Namespaces on keys 1..9, in order.
    pub favourite_namespaces: Vec<String>,
    /// Remove every mutating action.
    pub readonly: bool,
    /// Capture the mouse (off by default so terminal text selection works).
    pub mouse: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            theme: None,
            keymap: None,
            log_buffer_lines: 100_000,
            refresh_rate_ms: 33,
            favourite_namespaces: Vec::new(),
            readonly: false,
            mouse: false,
        }
    }
}

const KEYS: &[&str] = &[
    "theme",
    "keymap",
    "log_buffer_lines",
    "refresh_rate_ms",
    "favourite_namespaces",
    "readonly",
    "mouse",
];

impl Config {
    /// Parse `config.toml`; every problem is reported with its line.
    pub fn parse(text: &str, file: &str) -> Result<Config, Vec<Problem>> {
        let (c, problems) = Config::parse_lenient(text, file);
        if problems.is_empty() {
            Ok(c)
        } else {
            Err(problems)
        }
    }

    /// Parse keeping the good settings when others are bad (the console still starts, and
    /// `check-config` still checks the theme and keymap a bad file names).
    pub fn parse_lenient(text: &str, file: &str) -> (Config, Vec<Problem>) {
        let doc = match parse_doc(text, file) {
            Ok(d) => d,
            Err(p) => return (Config::default(), vec![p]),
        };
        let mut c = Config::default();
        let mut problems = Vec::new();
        for (k, v) in doc.iter() {
            let key = k.get_ref().as_ref();
            let line = Some(line_of(text, k.span().start));
            let bad = |what: &str| {
                Problem::error(
                    file,
                    line,
                    format!("{key} = {}: {what}", show_value(v.get_ref())),
                )
            };
            match (key, v.get_ref()) {
                ("theme", DeValue::String(s)) if !s.trim().is_empty() => {
                    c.theme = Some(s.to_string())
                }
                ("theme", _) => problems.push(bad(
                    "must be a theme name (dark, light, high-contrast) or a file path",
                )),
                ("keymap", DeValue::String(s)) if !s.trim().is_empty() => {
                    c.keymap = Some(s.to_string())
                }
                ("keymap", _) => problems.push(bad("must be a keymap name (vim) or a file path")),
                ("log_buffer_lines", DeValue::Integer(i)) => {
                    match int_u64(i).and_then(|n| usize::try_from(n).ok()) {
                        Some(n) if (LOG_BUFFER_MIN..=LOG_BUFFER_MAX).contains(&n) => {
                            c.log_buffer_lines = n
                        }
                        _ => problems.push(bad(&format!(
                            "must be between {LOG_BUFFER_MIN} and {LOG_BUFFER_MAX}"
                        ))),
                    }
                }
                ("refresh_rate_ms", DeValue::Integer(i)) => match int_u64(i) {
                    Some(n) if (REFRESH_MIN_MS..=REFRESH_MAX_MS).contains(&n) => {
                        c.refresh_rate_ms = n
                    }
                    _ => problems.push(bad(&format!(
                        "must be between {REFRESH_MIN_MS} and {REFRESH_MAX_MS} (milliseconds)"
                    ))),
                },
                ("log_buffer_lines" | "refresh_rate_ms", _) => {
                    problems.push(bad("must be a whole number"))
                }
                ("favourite_namespaces", DeValue::Array(items)) => {
                    if items.len() > MAX_FAVOURITES {
                        problems.push(bad(&format!(
                            "has {} namespaces; keys 1-9 take at most {MAX_FAVOURITES}",
                            items.len()
                        )));
                    }
                    for item in items.iter() {
                        let line = Some(line_of(text, item.span().start));
                        match item.get_ref() {
                            DeValue::String(s) if is_dns_label(s) => {
                                c.favourite_namespaces.push(s.to_string())
                            }
                            other => problems.push(Problem::error(
                                file,
                                line,
                                format!(
                                    "favourite_namespaces: {} is not a namespace name \
                                     (lower case letters, digits and '-', at most 63)",
                                    show_value(other)
                                ),
                            )),
                        }
                    }
                    c.favourite_namespaces.truncate(MAX_FAVOURITES);
                }
                ("favourite_namespaces", _) => {
                    problems.push(bad("must be a list of namespace names"))
                }
                ("readonly", DeValue::Boolean(b)) => c.readonly = *b,
                ("mouse", DeValue::Boolean(b)) => c.mouse = *b,
                ("readonly" | "mouse", _) => problems.push(bad("must be true or false")),
                _ => {
                    let hint = crate::api::text::did_you_mean(key, KEYS.iter().copied())
                        .map(|s| format!("; did you mean {s:?}?"))
                        .unwrap_or_default();
                    problems.push(Problem::error(
                        file,
                        line,
                        format!(
                            "unknown setting {key:?}{hint} (settings: {})",
                            KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
        // The document is read in key order; report in file order.
        problems.sort_by_key(|p| p.line);
        (c, problems)
    }
}

fn int_u64(i: &toml::de::DeInteger<'_>) -> Option<u64> {
    u64::from_str_radix(i.as_str(), i.radix()).ok()
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// `$XDG_CONFIG_HOME/peapod`, else `$HOME/.config/peapod`; `None` without either.
pub fn config_dir_from(xdg: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    match (
        xdg.filter(|s| !s.is_empty()),
        home.filter(|s| !s.is_empty()),
    ) {
        (Some(x), _) => Some(Path::new(x).join("peapod")),
        (None, Some(h)) => Some(Path::new(h).join(".config").join("peapod")),
        (None, None) => None,
    }
}

/// The config directory of this user, from the environment.
pub fn config_dir() -> Option<PathBuf> {
    let xdg = std::env::var("XDG_CONFIG_HOME").ok();
    let home = std::env::var("HOME").ok();
    config_dir_from(xdg.as_deref(), home.as_deref())
}

/// `NO_COLOR` is honoured when set to anything non-empty (no-color.org).
pub fn no_color_from(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// What to load; the console and `check-config` fill this from flags and the environment.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`: must exist. Without it, `<config dir>/config.toml` if it exists.
    pub config: Option<PathBuf>,
    /// `--theme NAME|PATH`, over the config file's.
    pub theme: Option<String>,
    /// The config directory (`config_dir()`); holds `config.toml` and `keymap.toml`.
    pub config_dir: Option<PathBuf>,
    /// `NO_COLOR` is set.
    pub no_color: bool,
}

impl LoadOptions {
    /// From the process environment.
    pub fn from_env(config: Option<PathBuf>, theme: Option<String>) -> LoadOptions {
        LoadOptions {
            config,
            theme,
            config_dir: config_dir(),
            no_color: no_color_from(std::env::var_os("NO_COLOR").as_deref()),
        }
    }
}

/// Everything the console is configured with, and every problem found on the way. Loading
/// never fails: a bad file is reported and the defaults are used for what it got wrong.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub keymap: Keymap,
    pub theme: Theme,
    /// The files read, in order (for the `ok` summary).
    pub files: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(Problem::error(
                &path.display().to_string(),
                None,
                format!("cannot read: {e}"),
            ));
            None
        }
    }
}

/// Load config, keymap layers (shipped default, `<config dir>/keymap.toml`, the config's
/// `keymap`) and theme (`--theme`, else the config's, else dark; monochrome under NO_COLOR).
pub fn load(opts: &LoadOptions) -> Loaded {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    let config_path = opts.config.clone().or_else(|| {
        let p = opts.config_dir.as_ref()?.join("config.toml");
        p.exists().then_some(p)
    });
    let mut config = Config::default();
    if let Some(path) = &config_path {
        let file = path.display().to_string();
        if let Some(text) = read(path, &mut problems) {
            files.push(file.clone());
            let (c, ps) = Config::parse_lenient(&text, &file);
            config = c;
            problems.extend(ps);
        }
    }
    // Relative paths in config.toml are relative to its directory.
    let base = config_path
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .or_else(|| opts.config_dir.clone())
        .unwrap_or_default();

    let mut keymap = Keymap::default_map();
    files.push(crate::tui::keymap::DEFAULT_NAME.to_string());
    if let Some(user) = opts.config_dir.as_ref().map(|d| d.join("keymap.toml"))
        && user.exists()
    {
        let file = user.display().to_string();
        if let Some(text) = read(&user, &mut problems) {
            files.push(file.clone());
            problems.extend(keymap.layer(&text, &file));
        }
    }
    if let Some(spec) = &config.keymap {
        if let Some((name, text)) = crate::tui::keymap::builtin(spec) {
            files.push(name.to_string());
            problems.extend(keymap.layer(text, name));
        } else {
            let path = base.join(spec);
            let file = path.display().to_string();
            if let Some(text) = read(&path, &mut problems) {
                files.push(file.clone());
                problems.extend(keymap.layer(&text, &file));
            }
        }
    }
    problems.extend(keymap.validate());

    let spec = opts.theme.clone().or_else(|| config.theme.clone());
    let mut theme = Theme::default_theme();
    if let Some(spec) = spec {
        match Theme::load(&spec, &base) {
            Ok((t, file)) => {
                theme = t;
                files.push(file);
            }
            Err(ps) => problems.extend(ps),
        }
    }
    if opts.no_color {
        theme = Theme::monochrome();
    }
    Loaded {
        config,
        keymap,
        theme,
        files,
        problems,
    }
}

/// For tests and callers holding a span: the line of a spanned item.
pub fn span_line<T>(text: &str, s: &Spanned<T>) -> usize {
    line_of(text, s.span().start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_full_config() {
        let c = Config::parse("", "c.toml").unwrap();
        assert_eq!(c, Config::default());
        assert!(!c.mouse, "mouse is off by default so text can be selected");
        let c = Config::parse(
            "theme = \"light\"\nkeymap = \"vim\"\nlog_buffer_lines = 5000\n\
             refresh_rate_ms = 50\nfavourite_namespaces = [\"default\", \"kube-system\"]\n\
             readonly = true\nmouse = true\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(c.theme.as_deref(), Some("light"));
        assert_eq!(c.keymap.as_deref(), Some("vim"));
        assert_eq!(c.log_buffer_lines, 5000);
        assert_eq!(c.refresh_rate_ms, 50);
        assert_eq!(c.favourite_namespaces, ["default", "kube-system"]);
        assert!(c.readonly && c.mouse);
    }

    #[test]
    fn bad_values_are_one_line_each_with_file_and_line() {
        let text = "theme = \"dark\"\nrefresh_rate_ms = 5\nreadonly = \"yes\"\n\
                    themes = \"x\"\nfavourite_namespaces = [\"Prod\", \"ok\"]\n\
                    log_buffer_lines = -1\n";
        let e = Config::parse(text, "/home/u/.config/peapod/config.toml").unwrap_err();
        let lines: Vec<String> = e.iter().map(|p| p.to_string()).collect();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines.iter().all(|l| !l.contains('\n')));
        let has = |s: &str| lines.iter().any(|l| l.contains(s));
        assert!(has(
            "config.toml:2: refresh_rate_ms = 5: must be between 16 and 10000"
        ));
        assert!(has(
            "config.toml:3: readonly = \"yes\": must be true or false"
        ));
        assert!(has(
            "config.toml:4: unknown setting \"themes\"; did you mean \"theme\"?"
        ));
        assert!(has("config.toml:5: favourite_namespaces: \"Prod\" is not"));
        assert!(has("config.toml:6: log_buffer_lines = -1: must be between"));
    }

    #[test]
    fn too_many_favourites_and_syntax_errors() {
        let list: Vec<String> = (0..10).map(|i| format!("\"ns{i}\"")).collect();
        let text = format!("favourite_namespaces = [{}]\n", list.join(", "));
        let e = Config::parse(&text, "c.toml").unwrap_err();
        assert!(e[0].to_string().contains("at most 9"), "{e:?}");
        let e = Config::parse("a = \n[x\n", "c.toml").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].to_string().starts_with("c.toml:2: not valid TOML"),
            "{e:?}"
        );
    }

    #[test]
    fn config_dir_follows_xdg_then_home() {
        assert_eq!(
            config_dir_from(Some("/x"), Some("/h")),
            Some(PathBuf::from("/x/peapod"))
        );
        assert_eq!(
            config_dir_from(Some(""), Some("/h")),
            Some(PathBuf::from("/h/.config/peapod"))
        );
        assert_eq!(config_dir_from(None, None), None);
    }

    #[test]
    fn no_color_needs_a_non_empty_value() {
        use std::ffi::OsStr;
        assert!(no_color_from(Some(OsStr::new("1"))));
        assert!(!no_color_from(Some(OsStr::new(""))));
        assert!(!no_color_from(None));
    }

    #[test]
    fn load_layers_user_files_and_reports_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("config.toml"),
            "theme = \"high-contrast\"\nkeymap = \"vim\"\n",
        )
        .unwrap();
        std::fs::write(
            d.join("keymap.toml"),
            "[table]\n\"x\" = \"resource.delete\"\n",
        )
        .unwrap();
        let opts = LoadOptions {
            config_dir: Some(d.to_path_buf()),
            ..Default::default()
        };
        let l = load(&opts);
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        assert_eq!(l.files.len(), 5, "{:?}", l.files);
        assert_eq!(l.theme.name, "high-contrast");
        assert_eq!(
            l.keymap.sequence_action("table", "x").as_deref(),
            Some("resource.delete")
        );
        assert_eq!(
            l.keymap.sequence_action("table", "g g").as_deref(),
            Some("row.first")
        );
        // NO_COLOR wins over the configured theme.
        let l = load(&LoadOptions {
            no_color: true,
            ..opts.clone()
        });
        assert_eq!(l.theme, Theme::monochrome());
        // A missing --config file and a bad keymap path are problems, not failures.
        std::fs::write(d.join("config.toml"), "keymap = \"nope.toml\"\n").unwrap();
        let l = load(&opts);
        assert!(l.has_errors());
        assert!(l.problems[0].to_string().contains("nope.toml: cannot read"));
        let l = load(&LoadOptions {
            config: Some(d.join("missing.toml")),
            ..Default::default()
        });
        assert!(l.has_errors());
    }
}
