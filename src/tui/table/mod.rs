//! The model of the console's main table for one kind: the objects the watch delivered, the
//! namespace scope, the `/` filter, the sort column and the selection, kept as a sorted list
//! of row indices. Watch events update that list in place (a binary search and one insert or
//! remove); a change of filter, sort or scope only marks it dirty and it is rebuilt once, on
//! the next read. Cells are built only for the rows on screen (`visible_rows`), so a frame
//! costs the same with 40 objects or 10,000. Objects are kept as compact JSON text and parsed
//! when one is needed whole (see `entry`), so 10,000 pods take about 20 MB, not 150.

mod command;
#[cfg(test)]
mod command_tests;
mod entry;
mod filter;
mod history;
mod rows;
mod sort;
#[cfg(test)]
mod tests;

pub use command::{COMMANDS, Command, NamespaceArg, complete, complete_in, parse_command};
pub use entry::key_of;
pub use filter::Filter;
pub use history::{History, View};
pub use rows::{PodMetrics, Row};
pub use sort::SortColumn;

use crate::api::kinds::KindInfo;
use crate::api::request::{EventType, WatchEvent};
use entry::Entry;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The main table for one kind. See the module documentation.
pub struct ResourceTable {
    kind: &'static KindInfo,
    /// `None` = all namespaces.
    namespace: Option<String>,
    filter: Filter,
    /// The labels pane's picks: rows must match this too.
    labels: Option<crate::api::selector::LabelSelector>,
    labels_source: Option<String>,
    sort: SortColumn,
    descending: bool,
    /// Entries by slot; slots of removed objects are reused.
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    by_key: HashMap<String, usize>,
    /// Slots of the rows that pass scope and filter, in display order. Valid unless `dirty`.
    view: Vec<usize>,
    dirty: bool,
    selected: Option<String>,
    /// Row of the selection at the last read: where the cursor stays when its row goes away.
    sel_pos: usize,
    marks: HashSet<String>,
    metrics: HashMap<String, PodMetrics>,
    /// How many rows' cells were built for the screen (`visible_rows`); for tests and
    /// profiling. (Each object's cells for sorting and filtering are built once more, when it
    /// arrives, from the object at hand.)
    rows_built: Cell<u64>,
    /// Slots whose entry holds a parsed object lent by `get`; dropped at the next change.
    parsed: RefCell<Vec<usize>>,
    /// The parsed objects of the rows on screen at the last frame, by slot, so a steady
    /// frame parses only the rows that changed or scrolled in (about 50 objects: < 1 MB).
    on_screen: HashMap<usize, Arc<Value>>,
}

impl ResourceTable {
    pub fn new(kind: &'static KindInfo) -> ResourceTable {
        ResourceTable {
            kind,
            namespace: None,
            filter: Filter::default(),
            labels: None,
            labels_source: None,
            sort: SortColumn::default(),
            descending: false,
            slots: Vec::new(),
            free: Vec::new(),
            by_key: HashMap::new(),
            view: Vec::new(),
            dirty: false,
            selected: None,
            sel_pos: 0,
            marks: HashSet::new(),
            metrics: HashMap::new(),
            rows_built: Cell::new(0),
            parsed: RefCell::new(Vec::new()),
            on_screen: HashMap::new(),
        }
    }

    pub fn kind(&self) -> &'static KindInfo {
        self.kind
    }

    // ---- watch events ------------------------------------------------------------------

    /// Apply one watch event (ADDED and MODIFIED upsert, DELETED removes, ERROR is ignored).
    pub fn apply(&mut self, ev: WatchEvent) {
        match ev.event_type {
            EventType::Added | EventType::Modified => self.upsert_value(&ev.object),
            EventType::Deleted => {
                self.remove(&key_of(&ev.object));
            }
            EventType::Error => {}
        }
    }

    /// Apply a burst of watch events (the initial list, or what queued up between frames).
    /// A large burst skips the per-event inserts into the row list (each moves up to the
    /// whole list) and sorts once on the next read instead.
    pub fn apply_batch(&mut self, events: Vec<WatchEvent>) {
        if events.len() > 64 && events.len() > self.view.len() / 16 {
            self.dirty = true;
        }
        for ev in events {
            self.apply(ev);
        }
    }

    /// Insert or replace an object. The row moves to its new place in the sorted list.
    pub fn upsert(&mut self, obj: Arc<Value>) {
        self.upsert_value(&obj)
    }

    /// [`ResourceTable::upsert`] without the `Arc`: the table keeps its own compact copy.
    pub fn upsert_value(&mut self, obj: &Value) {
        self.drop_parsed();
        let entry = Entry::new(self.kind, obj);
        let slot = match self.by_key.get(entry.key.as_ref()) {
            Some(&slot) => {
                self.on_screen.remove(&slot);
                // Take the old row out with the old sort key, before it is replaced.
                if !self.dirty
                    && let Some(pos) = self.position(slot)
                {
                    self.view.remove(pos);
                }
                self.slots[slot] = Some(entry);
                slot
            }
            None => {
                let key = entry.key.to_string();
                let slot = match self.free.pop() {
                    Some(s) => {
                        self.slots[s] = Some(entry);
                        s
                    }
                    None => {
                        self.slots.push(Some(entry));
                        self.slots.len() - 1
                    }
                };
                self.by_key.insert(key, slot);
                slot
            }
        };
        if !self.dirty && self.passes(slot) {
            let pos = self
                .view
                .binary_search_by(|&s| self.cmp_slots(s, slot))
                .unwrap_or_else(|p| p);
            self.view.insert(pos, slot);
        }
    }

    /// Remove an object by key; returns whether it was there. Its mark goes with it.
    pub fn remove(&mut self, key: &str) -> bool {
        let Some(&slot) = self.by_key.get(key) else {
            return false;
        };
        self.drop_parsed();
        if !self.dirty
            && let Some(pos) = self.position(slot)
        {
            self.view.remove(pos);
        }
        self.by_key.remove(key);
        self.on_screen.remove(&slot);
        self.slots[slot] = None;
        self.free.push(slot);
        self.marks.remove(key);
        true
    }

    /// Forget every object (the watch restarts and will deliver them again). Selection and
    /// marks are kept by key, so they come back with their objects.
    pub fn reset(&mut self) {
        self.parsed.get_mut().clear();
        self.on_screen.clear();
        self.slots.clear();
        self.free.clear();
        self.by_key.clear();
        self.view.clear();
        self.dirty = false;
    }

    /// CPU and memory of pods by uid (`peapod top pod`'s numbers). When the table is sorted
    /// by CPU or MEM the order depends on them, so it is rebuilt.
    pub fn set_metrics(&mut self, metrics: HashMap<String, PodMetrics>) {
        self.drop_parsed();
        self.metrics = metrics;
        if matches!(self.sort, SortColumn::Cpu | SortColumn::Mem) {
            self.dirty = true;
        }
    }

    // ---- scope, filter, sort -------------------------------------------------------------

    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// `None` shows every namespace (and adds the NAMESPACE column).
    pub fn set_namespace(&mut self, namespace: Option<String>) {
        if self.namespace != namespace {
            self.namespace = namespace;
            self.dirty = true;
        }
    }

    /// Whether the table spans all namespaces of a namespaced kind.
    pub fn all_namespaces(&self) -> bool {
        self.kind.namespaced && self.namespace.is_none()
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Parse and apply what the user typed after `/` (see [`Filter::parse`]).
    pub fn set_filter(&mut self, input: &str) -> Result<(), String> {
        let f = Filter::parse(input)?;
        if f.source() != self.filter.source() {
            self.filter = f;
            self.dirty = true;
        }
        Ok(())
    }

    /// The labels pane's selector (kubectl syntax), applied on top of the `/` filter;
    /// `None` removes it. A bad selector is an error and changes nothing.
    pub fn set_label_selector(&mut self, selector: Option<&str>) -> Result<(), String> {
        if selector == self.labels_source.as_deref() {
            return Ok(());
        }
        self.labels = match selector {
            Some(s) => Some(
                crate::api::selector::LabelSelector::parse(s)
                    .map_err(|e| format!("bad label selector {s:?}: {e}"))?,
            ),
            None => None,
        };
        self.labels_source = selector.map(str::to_string);
        self.dirty = true;
        Ok(())
    }

    /// The labels pane's selector as given.
    pub fn label_selector(&self) -> Option<&str> {
        self.labels_source.as_deref()
    }

    pub fn sort(&self) -> (SortColumn, bool) {
        (self.sort, self.descending)
    }

    /// Sort by a column; the same column again flips the direction (k9s' shift-N, shift-A,
    /// shift-S, shift-T). False, and nothing changes, when the kind has no such column.
    pub fn sort_by(&mut self, column: SortColumn) -> bool {
        let Some(column) = column.resolve(self.kind) else {
            return false;
        };
        if column == self.sort {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = false;
        }
        self.dirty = true;
        true
    }

    /// Sort by a column with an explicit direction (restoring a saved view).
    pub fn set_sort(&mut self, column: SortColumn, descending: bool) -> bool {
        let Some(column) = column.resolve(self.kind) else {
            return false;
        };
        if (column, descending) != (self.sort, self.descending) {
            self.sort = column;
            self.descending = descending;
            self.dirty = true;
        }
        true
    }

    // ---- reading -------------------------------------------------------------------------

    /// Objects held, whether shown or not.
    pub fn total(&self) -> usize {
        self.by_key.len()
    }

    /// Rows that pass scope and filter.
    pub fn len(&mut self) -> usize {
        self.refresh();
        self.view.len()
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// An object by key, parsed for the caller (the table keeps JSON text): a fresh `Arc`
    /// each call, about 10 µs for a pod.
    pub fn object(&self, key: &str) -> Option<Arc<Value>> {
        self.entry_by_key(key).map(Entry::object_arc)
    }

    /// The uid of an object by key, without parsing it.
    pub fn uid(&self, key: &str) -> Option<&str> {
        self.entry_by_key(key).map(|e| e.uid.as_ref())
    }

    /// An object by key, lent: it is parsed on the first call and kept until the table next
    /// changes (an upsert, a remove, new metrics, the next frame's `refresh`). Prefer
    /// [`ResourceTable::object`] or [`ResourceTable::uid`]: calling this for every object
    /// holds every object parsed at once, which is the memory the compact entries save.
    pub fn get(&self, key: &str) -> Option<&Arc<Value>> {
        let slot = *self.by_key.get(key)?;
        let e = self.entry(slot)?;
        Some(e.parsed.get_or_init(|| {
            self.parsed.borrow_mut().push(slot);
            e.object_arc()
        }))
    }

    /// Keys of the shown rows in display order (for tests and drill-downs; allocates).
    pub fn keys(&mut self) -> Vec<String> {
        self.refresh();
        self.view
            .iter()
            .filter_map(|&s| self.entry(s))
            .map(|e| e.key.to_string())
            .collect()
    }

    /// How many rows' kubectl cells were built for the screen so far.
    pub fn rows_built(&self) -> u64 {
        self.rows_built.get()
    }

    /// Bring the row list up to date: a full rebuild only if scope, filter or sort changed
    /// since the last read. Call once per frame; every reader calls it too.
    pub fn refresh(&mut self) {
        self.drop_parsed();
        if self.dirty {
            let mut view: Vec<usize> = (0..self.slots.len()).filter(|&s| self.passes(s)).collect();
            // Keys are unique, so the order is total and an unstable sort is deterministic.
            view.sort_unstable_by(|&a, &b| self.cmp_slots(a, b));
            self.view = view;
            self.dirty = false;
        }
        self.fix_selection();
    }

    // ---- selection and marks -------------------------------------------------------------

    pub fn selected_key(&mut self) -> Option<&str> {
        self.refresh();
        if self.view.is_empty() {
            return None;
        }
        self.selected.as_deref()
    }

    /// Row index of the selection.
    pub fn selected_index(&mut self) -> Option<usize> {
        self.refresh();
        (!self.view.is_empty()).then_some(self.sel_pos)
    }

    /// The selected object, parsed (a fresh `Arc` each call).
    pub fn selected_object(&mut self) -> Option<Arc<Value>> {
        self.refresh();
        let slot = *self.view.get(self.sel_pos)?;
        if let Some(obj) = self.on_screen.get(&slot) {
            return Some(obj.clone());
        }
        self.entry(slot).map(Entry::object_arc)
    }

    /// Select an object by key; false when it is not shown.
    pub fn select(&mut self, key: &str) -> bool {
        self.refresh();
        let Some(pos) = self.by_key.get(key).and_then(|&s| self.position(s)) else {
            return false;
        };
        self.select_row(pos);
        true
    }

    /// Move the cursor by `delta` rows, clamped to the table.
    pub fn move_by(&mut self, delta: i64) {
        self.refresh();
        if self.view.is_empty() {
            return;
        }
        let last = self.view.len() as i64 - 1;
        let pos = (self.sel_pos as i64).saturating_add(delta).clamp(0, last);
        self.select_row(pos as usize);
    }

    pub fn up(&mut self) {
        self.move_by(-1)
    }
    pub fn down(&mut self) {
        self.move_by(1)
    }
    pub fn page_up(&mut self, height: usize) {
        self.move_by(-(height.max(1) as i64))
    }
    pub fn page_down(&mut self, height: usize) {
        self.move_by(height.max(1) as i64)
    }
    pub fn first(&mut self) {
        self.move_by(i64::MIN)
    }
    pub fn last(&mut self) {
        self.move_by(i64::MAX)
    }

    /// The first row to draw so the selection stays on screen, moving as little as possible
    /// from the previous offset.
    pub fn scroll_offset(&mut self, previous: usize, height: usize) -> usize {
        self.refresh();
        let len = self.view.len();
        let height = height.max(1);
        let max_offset = len.saturating_sub(height);
        let mut off = previous.min(max_offset);
        if self.sel_pos < off {
            off = self.sel_pos;
        } else if self.sel_pos >= off + height {
            off = self.sel_pos + 1 - height;
        }
        off
    }

    /// Space: mark or unmark the selected row (for actions on many rows).
    pub fn toggle_mark(&mut self) {
        let Some(key) = self.selected_key().map(str::to_string) else {
            return;
        };
        if !self.marks.remove(&key) {
            self.marks.insert(key);
        }
    }

    pub fn is_marked(&self, key: &str) -> bool {
        self.marks.contains(key)
    }

    pub fn clear_marks(&mut self) {
        self.marks.clear();
    }

    /// Marked objects that still exist, sorted by key (parsed, fresh `Arc`s).
    pub fn marked(&self) -> Vec<Arc<Value>> {
        let mut keys: Vec<&String> = self
            .marks
            .iter()
            .filter(|k| self.by_key.contains_key(*k))
            .collect();
        keys.sort();
        keys.into_iter().filter_map(|k| self.object(k)).collect()
    }

    /// What an action applies to: the marked objects, or else the selected one.
    pub fn targets(&mut self) -> Vec<Arc<Value>> {
        let marked = self.marked();
        if !marked.is_empty() {
            return marked;
        }
        self.selected_object().into_iter().collect()
    }

    // ---- internals -----------------------------------------------------------------------

    fn entry(&self, slot: usize) -> Option<&Entry> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    fn entry_by_key(&self, key: &str) -> Option<&Entry> {
        self.by_key.get(key).and_then(|&s| self.entry(s))
    }

    /// Drop the parsed objects `get` lent out: no borrow of them can outlive `&self`.
    fn drop_parsed(&mut self) {
        for slot in std::mem::take(self.parsed.get_mut()) {
            if let Some(Some(e)) = self.slots.get_mut(slot) {
                e.parsed.take();
            }
        }
    }

    /// Row index of a slot in the (valid) view: a binary search, since the order is total.
    fn position(&self, slot: usize) -> Option<usize> {
        self.entry(slot)?;
        self.view
            .binary_search_by(|&s| self.cmp_slots(s, slot))
            .ok()
    }

    fn passes(&self, slot: usize) -> bool {
        let Some(e) = self.entry(slot) else {
            return false;
        };
        if self.kind.namespaced
            && let Some(ns) = &self.namespace
            && **ns != *e.namespace
        {
            return false;
        }
        if let Some(sel) = &self.labels
            && !e.matches_labels(sel)
        {
            return false;
        }
        self.filter.matches_entry(e, || &e.haystack)
    }

    fn select_row(&mut self, pos: usize) {
        self.sel_pos = pos;
        self.selected = self
            .view
            .get(pos)
            .and_then(|&s| self.entry(s))
            .map(|e| e.key.to_string());
    }

    /// Follow the selected key to its new row; if it is gone, the row now at the cursor's
    /// place takes over (as in k9s after a delete).
    fn fix_selection(&mut self) {
        if self.view.is_empty() {
            self.sel_pos = 0;
            return;
        }
        let found = self
            .selected
            .as_ref()
            .and_then(|k| self.by_key.get(k))
            .and_then(|&s| self.position(s));
        match found {
            Some(p) => self.sel_pos = p,
            None => self.select_row(self.sel_pos.min(self.view.len() - 1)),
        }
    }
}
