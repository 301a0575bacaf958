//! The labels pane: the `key=value` pairs of the pods in the current namespace with their
//! counts. Picking pairs builds a label selector for the pods pane: one value of a key gives
//! `app=web`, several give `env in (prod,staging)`, keys are ANDed (`app=web,env in (prod)`),
//! so a pod shows when it has one of the picked values for every picked key.
//!
//! A picked pair that no pod carries any more (its last pod was deleted or relabelled) stays
//! picked and stays listed, dimmed with count 0: dropping it would silently widen the filter,
//! and during a rollout (old pods gone, new ones not yet created) the pods pane would flash
//! every pod of the namespace and lose the user's filter. Picking the row again un-picks it.
//!
//! The cursor follows its pair when rows are added or removed above it (a live list shifts
//! under the user; space must toggle what they see under the cursor), and stays at the same
//! index, clamped, when its pair disappears.

use crate::api::selector::LabelSelector;
use crate::tui::pods_index::LabelCount;
use crate::tui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Widget};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

/// A label pair.
pub type Pair = (String, String);

/// Page height used by page.up/page.down before the pane was first drawn.
const DEFAULT_PAGE: usize = 10;

#[derive(Debug)]
pub struct LabelsPane {
    /// Index of the cursor in the listing, used when `anchor` is not listed any more.
    cursor: usize,
    /// The pair under the cursor when it last moved.
    anchor: Option<Pair>,
    picked: BTreeSet<Pair>,
    /// First listed row on screen (drawing keeps the cursor visible).
    offset: Cell<usize>,
    /// Rows the pane showed when last drawn (the page of page.up/page.down).
    page: Cell<usize>,
}

impl Default for LabelsPane {
    fn default() -> Self {
        LabelsPane {
            cursor: 0,
            anchor: None,
            picked: BTreeSet::new(),
            offset: Cell::new(0),
            page: Cell::new(DEFAULT_PAGE),
        }
    }
}

/// One listed row: a pair pods carry, or a pick no pod carries any more.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Entry<'a> {
    Present(&'a LabelCount),
    Gone(&'a Pair),
}

impl<'a> Entry<'a> {
    fn pair(&self) -> (&'a str, &'a str) {
        match self {
            Entry::Present(r) => (&r.key, &r.value),
            Entry::Gone(p) => (&p.0, &p.1),
        }
    }
}

/// The rows (sorted by key then value, as `PodIndex::labels` returns them) merged with the
/// picks that are not among them, without copying the rows: the pane may list thousands of
/// pairs and only the visible ones are looked at.
struct Listing<'a> {
    rows: &'a [LabelCount],
    /// Picks missing from `rows`, in order, with their index in the listing.
    gone: Vec<(usize, &'a Pair)>,
}

fn row_pair(r: &LabelCount) -> (&str, &str) {
    (&r.key, &r.value)
}

impl<'a> Listing<'a> {
    fn new(rows: &'a [LabelCount], picked: &'a BTreeSet<Pair>) -> Listing<'a> {
        let mut gone = Vec::new();
        for p in picked {
            let want = (p.0.as_str(), p.1.as_str());
            let before = rows.partition_point(|r| row_pair(r) < want);
            if rows.get(before).map(row_pair) != Some(want) {
                gone.push((before + gone.len(), p));
            }
        }
        Listing { rows, gone }
    }

    fn len(&self) -> usize {
        self.rows.len() + self.gone.len()
    }

    fn get(&self, i: usize) -> Option<Entry<'a>> {
        let mut earlier = 0;
        for (pos, p) in &self.gone {
            if *pos == i {
                return Some(Entry::Gone(p));
            }
            if *pos > i {
                break;
            }
            earlier += 1;
        }
        self.rows.get(i - earlier).map(Entry::Present)
    }

    fn index_of(&self, pair: (&str, &str)) -> Option<usize> {
        let before = self.rows.partition_point(|r| row_pair(r) < pair);
        if self.rows.get(before).map(row_pair) == Some(pair) {
            let gone_before = self
                .gone
                .iter()
                .filter(|(_, g)| (g.0.as_str(), g.1.as_str()) < pair)
                .count();
            return Some(before + gone_before);
        }
        self.gone
            .iter()
            .find(|(_, g)| (g.0.as_str(), g.1.as_str()) == pair)
            .map(|(pos, _)| *pos)
    }
}

impl LabelsPane {
    pub fn new() -> LabelsPane {
        LabelsPane::default()
    }

    /// Forget picks and cursor (the namespace changed: its labels are another list).
    pub fn clear(&mut self) {
        *self = LabelsPane::default();
    }

    pub fn picked(&self) -> &BTreeSet<Pair> {
        &self.picked
    }

    pub fn is_picked(&self, key: &str, value: &str) -> bool {
        self.picked.contains(&(key.to_string(), value.to_string()))
    }

    /// Pick or un-pick a pair (the keyboard does this through `on_action`).
    pub fn toggle(&mut self, key: &str, value: &str) {
        let pair = (key.to_string(), value.to_string());
        if !self.picked.remove(&pair) {
            self.picked.insert(pair);
        }
    }

    /// Index of the cursor among the listed rows (rows plus picks no pod carries).
    pub fn cursor(&self, rows: &[LabelCount]) -> usize {
        self.position(&Listing::new(rows, &self.picked))
    }

    /// The pair under the cursor.
    pub fn current(&self, rows: &[LabelCount]) -> Option<Pair> {
        let l = Listing::new(rows, &self.picked);
        Self::pair_at(&l, self.position(&l))
    }

    fn position(&self, l: &Listing) -> usize {
        let len = l.len();
        if len == 0 {
            return 0;
        }
        self.anchor
            .as_ref()
            .and_then(|(k, v)| l.index_of((k, v)))
            .unwrap_or(self.cursor.min(len - 1))
    }

    /// The pair at listing index `i`, owned.
    fn pair_at(l: &Listing, i: usize) -> Option<Pair> {
        l.get(i).map(|e| {
            let (k, v) = e.pair();
            (k.to_string(), v.to_string())
        })
    }

    /// Handle a keymap action with `rows` the current label list. Returns true when the picks
    /// changed, so the caller re-filters the pods pane. Actions that do not apply here are
    /// ignored.
    pub fn on_action(&mut self, action: &str, rows: &[LabelCount]) -> bool {
        let l = Listing::new(rows, &self.picked);
        let len = l.len();
        let pos = self.position(&l);
        let last = len.saturating_sub(1);
        let page = self.page.get().max(1);
        let to = match action {
            "row.up" => pos.saturating_sub(1),
            "row.down" => (pos + 1).min(last),
            "row.first" => 0,
            "row.last" => last,
            "page.up" => pos.saturating_sub(page),
            "page.down" => (pos + page).min(last),
            "mark.toggle" | "row.open" => {
                let Some(pair) = Self::pair_at(&l, pos) else {
                    return false;
                };
                self.cursor = pos;
                self.anchor = Some(pair.clone());
                if !self.picked.remove(&pair) {
                    self.picked.insert(pair);
                }
                return true;
            }
            "mark.clear" => {
                let changed = !self.picked.is_empty();
                // Keep the cursor on its pair (it may have been a pick no pod carries, which
                // leaves the listing with the pick).
                self.cursor = pos;
                self.picked.clear();
                return changed;
            }
            _ => return false,
        };
        let anchor = Self::pair_at(&l, to);
        self.cursor = to;
        self.anchor = anchor;
        false
    }

    /// The picks as a kubectl label selector (`app=web,env in (prod,staging)`), None when
    /// nothing is picked. Keys are sorted, values within a key sorted.
    pub fn selector(&self) -> Option<String> {
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.picked {
            by_key.entry(k).or_default().push(v);
        }
        if by_key.is_empty() {
            return None;
        }
        let parts: Vec<String> = by_key
            .iter()
            .map(|(k, vs)| match vs.as_slice() {
                [v] => format!("{k}={v}"),
                _ => format!("{k} in ({})", vs.join(",")),
            })
            .collect();
        Some(parts.join(","))
    }

    /// [`Self::selector`] parsed, for filtering pods with `matches_object`. None when nothing is
    /// picked, or (cannot happen for labels the API accepted) when a pick is not valid label
    /// syntax.
    pub fn label_selector(&self) -> Option<LabelSelector> {
        LabelSelector::parse(&self.selector()?).ok()
    }

    /// Draw the pane. Only the rows on screen are laid out; drawing changes nothing but the
    /// remembered scroll offset and page height.
    pub fn render(
        &self,
        rows: &[LabelCount],
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        focused: bool,
    ) {
        let title = match self.picked.len() {
            0 => " Labels ".to_string(),
            n => format!(" Labels [{n} picked] "),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if focused {
                theme.ui.border_focused
            } else {
                theme.ui.border
            })
            .title(Span::styled(title, theme.ui.title));
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.width == 0 || inner.height == 0 {
            return;
        }
        let height = inner.height as usize;
        let width = inner.width as usize;
        self.page.set(height);
        let l = Listing::new(rows, &self.picked);
        let len = l.len();
        if len == 0 {
            let style = theme.table.row.add_modifier(Modifier::DIM);
            buf.set_stringn(inner.x, inner.y, "no labels", width, style);
            return;
        }
        let pos = self.position(&l);
        let mut offset = self.offset.get().min(len.saturating_sub(height));
        if pos < offset {
            offset = pos;
        } else if pos >= offset + height {
            offset = pos + 1 - height;
        }
        self.offset.set(offset);
        for (y, i) in (offset..len.min(offset + height)).enumerate() {
            let Some(entry) = l.get(i) else { break };
            let (key, value) = entry.pair();
            let (count, picked, gone) = match entry {
                Entry::Present(r) => (r.count, self.is_picked(key, value), false),
                Entry::Gone(_) => (0, true, true),
            };
            let mut style = theme.table.row;
            if picked {
                style = style.patch(theme.table.marked);
            }
            if gone {
                style = style.add_modifier(Modifier::DIM);
            }
            if focused && i == pos {
                style = style.patch(theme.ui.selection);
            }
            let text = row_text(key, value, count, picked, width);
            let line = Rect::new(inner.x, inner.y + y as u16, inner.width, 1);
            buf.set_style(line, style);
            buf.set_stringn(line.x, line.y, &text, width, style);
        }
    }
}

/// `✓ key=value    count` in exactly `width` columns (label keys and values are ASCII, so one
/// char is one column; the marker is one column too).
fn row_text(key: &str, value: &str, count: usize, picked: bool, width: usize) -> String {
    let marker = if picked { "✓ " } else { "  " };
    let count = count.to_string();
    let room = width.saturating_sub(2 + 1 + count.len());
    if room < 3 {
        // Too narrow for a count column: the pair alone.
        let pair = format!("{key}={value}");
        return format!("{marker}{}", fit_end(&pair, width.saturating_sub(2)));
    }
    let label = fit_pair(key, value, room);
    let pad = room - label.chars().count();
    format!("{marker}{label}{} {count}", " ".repeat(pad))
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` in at most `n` columns, its end replaced by `…` when cut.
fn fit_end(s: &str, n: usize) -> String {
    if chars(s) <= n {
        return s.to_string();
    }
    match n {
        0 => String::new(),
        _ => s.chars().take(n - 1).chain(std::iter::once('…')).collect(),
    }
}

/// `s` in at most `n` columns, its start replaced by `…` when cut.
fn fit_start(s: &str, n: usize) -> String {
    let len = chars(s);
    if len <= n {
        return s.to_string();
    }
    match n {
        0 => String::new(),
        _ => std::iter::once('…')
            .chain(s.chars().skip(len - (n - 1)))
            .collect(),
    }
}

/// A label key in `n` columns. For a prefixed key (`app.kubernetes.io/name`) the name after
/// the `/` tells keys apart, so the prefix is cut first: `app.kub…/name`.
fn fit_key(key: &str, n: usize) -> String {
    if chars(key) <= n {
        return key.to_string();
    }
    if let Some((prefix, name)) = key.rsplit_once('/') {
        let prefix_room = n.saturating_sub(chars(name) + 1);
        if prefix_room >= 2 {
            return format!("{}/{name}", fit_end(prefix, prefix_room));
        }
    }
    fit_start(key, n)
}

/// `key=value` in at most `n` columns: the value keeps as much as it can while the key keeps
/// at least half the room (or all it needs).
fn fit_pair(key: &str, value: &str, n: usize) -> String {
    let (k, v) = (chars(key), chars(value));
    if k + 1 + v <= n {
        return format!("{key}={value}");
    }
    if n < 3 {
        return fit_end(&format!("{key}={value}"), n);
    }
    let room = n - 1;
    let key_min = k.min(room / 2);
    let value_room = v.min(room - key_min);
    let key_room = room - value_room;
    format!("{}={}", fit_key(key, key_room), fit_end(value, value_room))
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;
