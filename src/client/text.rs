//! Text layouts shared by the CLI and the console: Go's tabwriter (kubectl's tables and
//! describe) and kubectl's YAML.

use crate::api::kinds::KindInfo;
use serde_json::Value;

/// `pod`, `deployment.apps`: how kubectl names a kind before `/name` and in messages.
pub fn kind_name(kind: &KindInfo) -> String {
    if kind.group.is_empty() {
        kind.singular.to_string()
    } else {
        format!("{}.{}", kind.singular, kind.group)
    }
}

/// `pod/web`, `deployment.apps/web`.
pub fn object_ref(kind: &KindInfo, name: &str) -> String {
    format!("{}/{}", kind_name(kind), name)
}

/// YAML as `kubectl get -o yaml` prints it.
pub fn to_yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap_or_else(|e| format!("# cannot print as YAML: {e}\n"))
}

/// Go's `text/tabwriter` with `flags == 0` and a space pad character: cells are terminated by
/// `\t`; the text after a line's last tab is not part of any column. A column's width is the
/// widest cell of a block of consecutive lines that have that column, plus `padding`, but at
/// least `minwidth`.
pub fn tabwrite(text: &str, minwidth: usize, padding: usize) -> String {
    let body = text.strip_suffix('\n');
    let lines: Vec<Vec<&str>> = match body {
        Some(b) => b.split('\n').map(|l| l.split('\t').collect()).collect(),
        None if text.is_empty() => Vec::new(),
        None => text.split('\n').map(|l| l.split('\t').collect()).collect(),
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut widths: Vec<usize> = Vec::new();
    format_block(
        &lines,
        0,
        lines.len(),
        &mut widths,
        minwidth,
        padding,
        &mut out,
    );
    if body.is_none() && !out.is_empty() {
        out.pop(); // no trailing newline was given
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn format_block(
    lines: &[Vec<&str>],
    line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    minwidth: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut start = line0;
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, start, this, widths, out);
        start = this;
        let mut w = minwidth;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(w);
        format_block(lines, start, this, widths, minwidth, padding, out);
        widths.pop();
        start = this;
    }
    write_lines(lines, start, line1, widths, out);
}

fn write_lines(lines: &[Vec<&str>], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for line in &lines[from..to] {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() && j + 1 < line.len() {
                for _ in width(cell)..widths[j] {
                    out.push(' ');
                }
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_matches_go() {
        // minwidth 6, padding 3: kubectl's table writer.
        let t = tabwrite(
            "NAME\tREADY\tSTATUS\tRESTARTS\tAGE\nweb\t0/1\tPending\t0\t5s\n",
            6,
            3,
        );
        assert_eq!(
            t,
            "NAME   READY   STATUS    RESTARTS   AGE\nweb    0/1     Pending   0          5s\n"
        );
        // Blocks end at lines without the column (describe layout).
        let t = tabwrite(
            "Name:\tweb\nContainers:\n  a:\n    Image:\tnginx\n    Restart Count:\t0\n",
            0,
            2,
        );
        assert_eq!(
            t,
            "Name:  web\nContainers:\n  a:\n    Image:          nginx\n    Restart Count:  0\n"
        );
        assert_eq!(tabwrite("", 6, 3), "");
        assert_eq!(tabwrite("a\tb", 0, 1), "a b");
    }
}
