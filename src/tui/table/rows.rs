//! The cells on screen. Only the rows in the window are built, each with kubectl's row
//! function (`api::table::row`) on the object parsed from its text, so a frame costs `height`
//! rows whatever the table holds.

use super::ResourceTable;
use crate::api::table::{self, columns};
use serde_json::Value;
use std::sync::Arc;

/// CPU in millicores and memory in bytes of one pod, as `peapod top pod` measures them.
pub type PodMetrics = (u64, u64);

/// One row ready to draw.
#[derive(Debug, Clone)]
pub struct Row {
    pub key: String,
    pub cells: Vec<String>,
    pub selected: bool,
    pub marked: bool,
    pub object: Arc<Value>,
}

/// Pods show k9s' columns: kubectl's with CPU and MEM before AGE, and IP and NODE, which
/// kubectl keeps for `-o wide`. Indices into `api::table::columns` of pods.
const POD_NAME: usize = 0;
const POD_READY: usize = 1;
const POD_STATUS: usize = 2;
const POD_RESTARTS: usize = 3;
const POD_AGE: usize = 4;
const POD_IP: usize = 5;
const POD_NODE: usize = 6;

fn cpu_cell(m: Option<PodMetrics>) -> String {
    m.map_or_else(|| "n/a".into(), |(cpu, _)| format!("{cpu}m"))
}

fn mem_cell(m: Option<PodMetrics>) -> String {
    m.map_or_else(
        || "n/a".into(),
        // A sleeping busybox uses a few hundred KiB: 0Mi would read as "not measured".
        |(_, mem)| match mem {
            0 => "0".into(),
            m if m < 1024 * 1024 => format!("{}Ki", m.div_ceil(1024)),
            m => format!("{}Mi", m / (1024 * 1024)),
        },
    )
}

impl ResourceTable {
    fn is_pods(&self) -> bool {
        self.kind.kind == "Pod"
    }

    /// Column headers in display order, NAMESPACE first in all-namespaces mode.
    pub fn headers(&self) -> Vec<String> {
        let mut h: Vec<String> = Vec::new();
        if self.all_namespaces() {
            h.push("NAMESPACE".into());
        }
        if self.is_pods() {
            h.extend(
                [
                    "NAME", "READY", "STATUS", "RESTARTS", "CPU", "MEM", "AGE", "IP", "NODE",
                ]
                .map(String::from),
            );
        } else {
            h.extend(
                columns(self.kind)
                    .iter()
                    .filter(|c| !c.wide_only)
                    .map(|c| c.header()),
            );
        }
        h
    }

    /// The rows `offset..offset + height` of the table, cells built against `now` (AGE).
    pub fn visible_rows(&mut self, offset: usize, height: usize, now: jiff::Timestamp) -> Vec<Row> {
        self.refresh();
        let end = offset.saturating_add(height).min(self.view.len());
        let start = offset.min(end);
        let cols = columns(self.kind);
        let all_ns = self.all_namespaces();
        let mut rows = Vec::with_capacity(end - start);
        let mut previous = std::mem::take(&mut self.on_screen);
        for pos in start..end {
            let slot = self.view[pos];
            let object = match previous.remove(&slot) {
                Some(o) => o,
                None => match self.entry(slot) {
                    Some(e) => e.object_arc(),
                    None => continue,
                },
            };
            self.on_screen.insert(slot, object.clone());
            let Some(e) = self.entry(slot) else {
                continue;
            };
            self.rows_built.set(self.rows_built.get() + 1);
            let mut full = table::row(self.kind, &object, now);
            let mut cells = Vec::with_capacity(full.len() + 3);
            if all_ns {
                cells.push(e.namespace.to_string());
            }
            if self.is_pods() && full.len() > POD_NODE {
                let m = self.metrics.get(e.uid.as_ref()).copied();
                for i in [POD_NAME, POD_READY, POD_STATUS, POD_RESTARTS] {
                    cells.push(std::mem::take(&mut full[i]));
                }
                cells.push(cpu_cell(m));
                cells.push(mem_cell(m));
                for i in [POD_AGE, POD_IP, POD_NODE] {
                    cells.push(std::mem::take(&mut full[i]));
                }
            } else {
                cells.extend(
                    cols.iter()
                        .zip(full)
                        .filter(|(c, _)| !c.wide_only)
                        .map(|(_, v)| v),
                );
            }
            rows.push(Row {
                key: e.key.to_string(),
                cells,
                selected: pos == self.sel_pos,
                marked: self.marks.contains(e.key.as_ref()),
                object,
            });
        }
        rows
    }
}
