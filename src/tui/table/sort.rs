//! Sort columns and the row order. The order is total: every column falls back to namespace
//! then name (ascending whatever the direction), and keys are unique, so binary searches in
//! the row list find exactly one row.

use super::ResourceTable;
use super::entry::Entry;
use crate::api::kinds::KindInfo;
use crate::api::table::{Column, columns};
use std::cmp::Ordering;

/// What the table is sorted by. `Status`, `Restarts`, `Cpu` and `Mem` are the k9s keys;
/// `Column(i)` is any other column of the kind (an index into `api::table::columns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    /// Namespace, then name: kubectl's order, the default.
    #[default]
    Namespace,
    Name,
    /// Ascending = youngest first, as the AGE column reads.
    Age,
    Status,
    Restarts,
    Cpu,
    Mem,
    Column(usize),
}

impl SortColumn {
    /// The column for a header as shown (`NAME`, `AGE`, `READY`...), if the kind has it.
    pub fn from_header(kind: &KindInfo, header: &str) -> Option<SortColumn> {
        let h = header.to_ascii_uppercase();
        let c = match h.as_str() {
            "NAMESPACE" => SortColumn::Namespace,
            "NAME" => SortColumn::Name,
            "AGE" => SortColumn::Age,
            "STATUS" => SortColumn::Status,
            "RESTARTS" => SortColumn::Restarts,
            "CPU" => SortColumn::Cpu,
            "MEM" => SortColumn::Mem,
            _ => SortColumn::Column(columns(kind).iter().position(|c| c.header() == h)?),
        };
        c.resolve(kind)
    }

    /// k9s' sort keys: shift-N name, shift-A age, shift-S status, shift-T restarts, shift-C
    /// CPU, shift-M memory (crossterm reports shift+letter as the upper-case char).
    pub fn for_key(c: char) -> Option<SortColumn> {
        Some(match c {
            'N' => SortColumn::Name,
            'A' => SortColumn::Age,
            'S' => SortColumn::Status,
            'T' => SortColumn::Restarts,
            'C' => SortColumn::Cpu,
            'M' => SortColumn::Mem,
            _ => return None,
        })
    }

    /// The column as this kind can sort by it; `None` when the kind lacks it.
    pub(super) fn resolve(self, kind: &KindInfo) -> Option<SortColumn> {
        let pod = kind.kind == "Pod";
        let cols = columns(kind);
        match self {
            SortColumn::Namespace if !kind.namespaced => Some(SortColumn::Name),
            SortColumn::Namespace | SortColumn::Name | SortColumn::Age => Some(self),
            SortColumn::Status if pod => Some(self),
            SortColumn::Status => cols
                .iter()
                .position(|c| c.name == "Status")
                .map(SortColumn::Column),
            SortColumn::Restarts | SortColumn::Cpu | SortColumn::Mem => pod.then_some(self),
            SortColumn::Column(i) => match cols.get(i)?.name {
                "Name" => Some(SortColumn::Name),
                "Age" => Some(SortColumn::Age),
                _ => Some(self),
            },
        }
    }
}

/// Integer columns compare by their leading number (`5 (3m ago)` restarts, `3` data keys).
fn leading_int(s: &str) -> Option<i64> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn cmp_cells(col: Option<&Column>, a: &str, b: &str) -> Ordering {
    if col.is_some_and(|c| c.ty == "integer") {
        leading_int(a).cmp(&leading_int(b))
    } else {
        a.cmp(b)
    }
}

impl ResourceTable {
    pub(super) fn cmp_slots(&self, a: usize, b: usize) -> Ordering {
        match (self.entry(a), self.entry(b)) {
            (Some(a), Some(b)) => self.cmp_entries(a, b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        }
    }

    fn cmp_entries(&self, a: &Entry, b: &Entry) -> Ordering {
        let metric = |e: &Entry, mem: bool| {
            self.metrics
                .get(e.uid.as_ref())
                .map(|&(cpu, m)| if mem { m } else { cpu })
        };
        let primary = match self.sort {
            SortColumn::Namespace => Ordering::Equal,
            SortColumn::Name => a.name.cmp(&b.name),
            // Younger first: later creation time first, unknown times last.
            SortColumn::Age => b.created.cmp(&a.created),
            SortColumn::Status => status(a).cmp(status(b)),
            SortColumn::Restarts => restarts(a).cmp(&restarts(b)),
            SortColumn::Cpu => metric(a, false).cmp(&metric(b, false)),
            SortColumn::Mem => metric(a, true).cmp(&metric(b, true)),
            SortColumn::Column(i) => {
                let col = columns(self.kind).get(i);
                cmp_cells(col, a.cell(i), b.cell(i))
            }
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        primary
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    }
}

fn status(e: &Entry) -> &str {
    e.pod_status.as_ref().map(|(s, _)| s.as_ref()).unwrap_or("")
}

fn restarts(e: &Entry) -> i64 {
    e.pod_status.as_ref().map(|&(_, r)| r).unwrap_or(0)
}
