//! A line-based YAML highlighter for the YAML view: mapping keys, strings, numbers,
//! booleans/null and comments. It reads one line at a time (only visible lines are styled);
//! [`block_lines`] is the one pass over the whole text, marking the lines of block scalars
//! (`key: |`) whose text is a string even when it looks like `key: value`.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Indentation, `- `, `:` spacing, indicators, anchors, flow collections.
    Plain,
    /// A mapping key with its `:`.
    Key,
    String,
    Number,
    /// `true`/`false`/`null`/`~`.
    Bool,
    Comment,
}

/// The tokens of one line: byte ranges that cover the line in order.
pub fn tokens(line: &str) -> Vec<(Range<usize>, Token)> {
    let mut out = Vec::new();
    let mut i = skip_spaces(line, 0);
    push(&mut out, 0..i, Token::Plain);
    let rest = &line[i..];
    if rest.starts_with('#') {
        push(&mut out, i..line.len(), Token::Comment);
        return out;
    }
    if rest == "---" || rest.starts_with("--- ") || rest == "..." {
        push(&mut out, i..line.len(), Token::Plain);
        return out;
    }
    // Sequence markers, possibly nested on one line (`- - a`).
    loop {
        let rest = &line[i..];
        if rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t") {
            let end = skip_spaces(line, i + 1);
            push(&mut out, i..end, Token::Plain);
            i = end;
        } else {
            break;
        }
    }
    if let Some(colon) = key_end(&line[i..]) {
        push(&mut out, i..i + colon + 1, Token::Key);
        i += colon + 1;
    }
    scalar(line, i, &mut out);
    out
}

/// The same as [`tokens`] for a line inside a block scalar: all of it is string.
pub fn block_tokens(line: &str) -> Vec<(Range<usize>, Token)> {
    let i = skip_spaces(line, 0);
    let mut out = Vec::new();
    push(&mut out, 0..i, Token::Plain);
    push(&mut out, i..line.len(), Token::String);
    out
}

/// For each line, whether it is inside a block scalar (`key: |`, `- >-`).
pub fn block_lines<S: AsRef<str>>(lines: &[S]) -> Vec<bool> {
    let mut out = vec![false; lines.len()];
    // The indentation the block's lines must exceed.
    let mut parent: Option<usize> = None;
    for (n, line) in lines.iter().enumerate() {
        let line = line.as_ref();
        if let Some(p) = parent {
            if line.trim().is_empty() || skip_spaces(line, 0) > p {
                out[n] = true;
                continue;
            }
            parent = None;
        }
        let toks = tokens(line);
        let last = toks
            .iter()
            .rev()
            .filter(|(_, t)| *t != Token::Comment)
            .map(|(r, _)| line[r.clone()].trim())
            .find(|s| !s.is_empty());
        if last.is_some_and(is_block_indicator) {
            let key = toks.iter().find(|(_, t)| *t == Token::Key);
            parent = Some(key.map_or_else(|| skip_spaces(line, 0), |(r, _)| r.start));
        }
    }
    out
}

fn is_block_indicator(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| c == '-' || c == '+' || c.is_ascii_digit())
}

fn push(out: &mut Vec<(Range<usize>, Token)>, r: Range<usize>, t: Token) {
    if r.start < r.end {
        out.push((r, t));
    }
}

fn skip_spaces(line: &str, from: usize) -> usize {
    line[from..]
        .find(|c: char| c != ' ' && c != '\t')
        .map_or(line.len(), |n| from + n)
}

/// The byte index of the `:` that ends a mapping key at the start of `s`, if `s` is one.
fn key_end(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    let after_key = |colon: usize| {
        if !s[colon..].starts_with(':') {
            return None;
        }
        let next = s[colon + 1..].chars().next();
        matches!(next, None | Some(' ' | '\t')).then_some(colon)
    };
    match first {
        '"' | '\'' => after_key(quote_end(s, 0)?),
        '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`' | ',' | '?' => {
            None
        }
        _ => {
            let mut prev_space = false;
            for (i, c) in s.char_indices() {
                if c == '#' && prev_space {
                    return None;
                }
                if c == ':' && after_key(i).is_some() {
                    return Some(i);
                }
                prev_space = c == ' ' || c == '\t';
            }
            None
        }
    }
}

/// The byte index just after the quoted string starting at `start` (`'` doubles to escape,
/// `"` uses backslashes), or None when it does not close on this line.
fn quote_end(s: &str, start: usize) -> Option<usize> {
    let quote = s[start..].chars().next()?;
    let mut chars = s[start + 1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                chars.next();
            }
            c if c == quote => {
                if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    continue;
                }
                return Some(start + 1 + i + 1);
            }
            _ => {}
        }
    }
    None
}

/// The value part of a line from `i`: a scalar, then maybe a comment.
fn scalar(line: &str, mut i: usize, out: &mut Vec<(Range<usize>, Token)>) {
    let start = skip_spaces(line, i);
    push(out, i..start, Token::Plain);
    i = start;
    // Anchors, aliases and tags come before the value.
    while matches!(line[i..].chars().next(), Some('&' | '*' | '!')) {
        let end = line[i..].find([' ', '\t']).map_or(line.len(), |n| i + n);
        let next = skip_spaces(line, end);
        push(out, i..next, Token::Plain);
        i = next;
    }
    let rest = &line[i..];
    let Some(first) = rest.chars().next() else {
        return;
    };
    if first == '#' {
        push(out, i..line.len(), Token::Comment);
        return;
    }
    if first == '"' || first == '\'' {
        let end = quote_end(line, i).unwrap_or(line.len());
        push(out, i..end, Token::String);
        trailing(line, end, out);
        return;
    }
    let comment = comment_start(line, i);
    let value_end = line[..comment].trim_end().len().max(i);
    let value = &line[i..value_end];
    let token = match first {
        '|' | '>' | '[' | '{' => Token::Plain,
        _ => classify(value),
    };
    push(out, i..value_end, token);
    push(out, value_end..comment, Token::Plain);
    push(out, comment..line.len(), Token::Comment);
}

/// After a quoted value: spaces, then a comment or anything else plain.
fn trailing(line: &str, from: usize, out: &mut Vec<(Range<usize>, Token)>) {
    let c = comment_start(line, from);
    push(out, from..c, Token::Plain);
    push(out, c..line.len(), Token::Comment);
}

/// Where a comment starts from `from`: a `#` at `from` or after a space or tab.
fn comment_start(line: &str, from: usize) -> usize {
    let bytes = line.as_bytes();
    (from..bytes.len())
        .find(|&j| bytes[j] == b'#' && (j == from || matches!(bytes[j - 1], b' ' | b'\t')))
        .unwrap_or(line.len())
}

/// A plain scalar's type under YAML 1.2's core schema.
fn classify(v: &str) -> Token {
    match v {
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "null" | "Null" | "NULL" | "~" => {
            return Token::Bool;
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | "+.Inf" | "-.Inf" | ".nan" | ".NaN"
        | ".NAN" => return Token::Number,
        _ => {}
    }
    let digits = |s: &str, radix: u32| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(h) = v.strip_prefix("0x") {
        return if digits(h, 16) {
            Token::Number
        } else {
            Token::String
        };
    }
    if let Some(o) = v.strip_prefix("0o") {
        return if digits(o, 8) {
            Token::Number
        } else {
            Token::String
        };
    }
    let numeric_chars = v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if numeric_chars && v.chars().any(|c| c.is_ascii_digit()) && v.parse::<f64>().is_ok() {
        Token::Number
    } else {
        Token::String
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Token::*;

    /// The line's tokens as (text, token), for readable expectations.
    fn toks(line: &str) -> Vec<(&str, Token)> {
        let t = tokens(line);
        // The ranges cover the line exactly, in order.
        let mut at = 0;
        for (r, _) in &t {
            assert_eq!(r.start, at, "{line:?}: {t:?}");
            at = r.end;
        }
        assert_eq!(at, line.len(), "{line:?}: {t:?}");
        t.into_iter().map(|(r, k)| (&line[r], k)).collect()
    }

    #[test]
    fn keys_and_typed_values() {
        assert_eq!(
            toks("  name: web"),
            vec![("  ", Plain), ("name:", Key), (" ", Plain), ("web", String)]
        );
        assert_eq!(
            toks("replicas: 3"),
            vec![("replicas:", Key), (" ", Plain), ("3", Number)]
        );
        assert_eq!(toks("cpu: 0.5")[2], ("0.5", Number));
        assert_eq!(toks("n: -1e3")[2], ("-1e3", Number));
        assert_eq!(toks("n: 0x1F")[2], ("0x1F", Number));
        assert_eq!(toks("ready: true")[2], ("true", Bool));
        assert_eq!(toks("x: null")[2], ("null", Bool));
        assert_eq!(toks("x: ~")[2], ("~", Bool));
        // Quoted numbers and words that merely start like numbers are strings.
        assert_eq!(toks("a: '3'")[2], ("'3'", String));
        assert_eq!(toks("v: 1.2.3")[2], ("1.2.3", String));
        assert_eq!(toks("v: e")[2], ("e", String));
        assert_eq!(toks("v: inf")[2], ("inf", String));
        assert_eq!(toks("metadata:"), vec![("metadata:", Key)]);
    }

    #[test]
    fn sequence_items() {
        assert_eq!(
            toks("- name: a"),
            vec![("- ", Plain), ("name:", Key), (" ", Plain), ("a", String)]
        );
        assert_eq!(
            toks("  - 80"),
            vec![("  ", Plain), ("- ", Plain), ("80", Number)]
        );
        assert_eq!(
            toks("- - x"),
            vec![("- ", Plain), ("- ", Plain), ("x", String)]
        );
        assert_eq!(toks("-"), vec![("-", Plain)]);
        // A URL is no key: its colon is not followed by a space.
        assert_eq!(
            toks("- http://example.com:80/x"),
            vec![("- ", Plain), ("http://example.com:80/x", String)]
        );
    }

    #[test]
    fn comments_only_outside_quotes_and_after_space() {
        assert_eq!(toks("# top"), vec![("# top", Comment)]);
        assert_eq!(
            toks("  # indented"),
            vec![("  ", Plain), ("# indented", Comment)]
        );
        assert_eq!(
            toks("a: b # why"),
            vec![
                ("a:", Key),
                (" ", Plain),
                ("b", String),
                (" ", Plain),
                ("# why", Comment)
            ]
        );
        assert_eq!(toks("a: x#y")[2], ("x#y", String));
        assert_eq!(
            toks(r#"msg: "a # not" # yes"#),
            vec![
                ("msg:", Key),
                (" ", Plain),
                (r#""a # not""#, String),
                (" ", Plain),
                ("# yes", Comment)
            ]
        );
        assert_eq!(toks("n: 3 # c")[2], ("3", Number));
    }

    #[test]
    fn quoted_keys_escapes_and_indicators() {
        assert_eq!(
            toks(r#""app.kubernetes.io/name": web"#)[0],
            (r#""app.kubernetes.io/name":"#, Key)
        );
        assert_eq!(toks(r#"s: "a \" b""#)[2], (r#""a \" b""#, String));
        assert_eq!(toks("s: 'it''s'")[2], ("'it''s'", String));
        // Unclosed quotes run to the end of the line (a folded long string).
        assert_eq!(toks(r#"s: "abc"#)[2], (r#""abc"#, String));
        assert_eq!(toks("data: |-")[2], ("|-", Plain));
        assert_eq!(toks("args: [a, b]")[2], ("[a, b]", Plain));
        assert_eq!(
            toks("base: &b x"),
            vec![("base:", Key), (" ", Plain), ("&b ", Plain), ("x", String)]
        );
        assert_eq!(toks("a: b: c")[0], ("a:", Key));
        assert_eq!(toks("---"), vec![("---", Plain)]);
        assert_eq!(toks(""), vec![]);
        // Not keys.
        assert_eq!(toks("[a: b]")[0].1, Plain);
        assert_eq!(toks("just text")[0], ("just text", String));
    }

    #[test]
    fn block_scalars_are_strings_until_the_indent_returns() {
        let lines = [
            "data:",
            "  script: |",
            "    echo: not a key",
            "",
            "    # not a comment",
            "  other: 1",
            "items:",
            "- |-",
            "  text: here",
            "- x",
        ];
        assert_eq!(
            block_lines(&lines),
            vec![
                false, false, true, true, true, false, false, false, true, false
            ]
        );
        assert_eq!(
            block_tokens("    echo: x"),
            vec![(0..4, Plain), (4..11, String)]
        );
        let none: [&str; 0] = [];
        assert!(block_lines(&none).is_empty());
    }
}
