//! Back and forward over the views the user visited (k9s' `[` and `]`).

use crate::api::kinds::KindInfo;

/// One view of the main table: which kind, in which namespace (`None` = all), with which
/// `/` filter (as typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub kind: &'static KindInfo,
    pub namespace: Option<String>,
    pub filter: String,
}

/// Visited views, oldest first, with a cursor. Visiting a new view drops the forward ones,
/// as a browser does.
#[derive(Debug, Clone)]
pub struct History {
    views: Vec<View>,
    pos: usize,
    cap: usize,
}

impl Default for History {
    fn default() -> Self {
        History::new(100)
    }
}

impl History {
    /// A history that keeps at most `cap` views (at least one).
    pub fn new(cap: usize) -> History {
        History {
            views: Vec::new(),
            pos: 0,
            cap: cap.max(1),
        }
    }

    /// Record a visit. Visiting the current view again records nothing.
    pub fn push(&mut self, view: View) {
        if self.current() == Some(&view) {
            return;
        }
        if !self.views.is_empty() {
            self.views.truncate(self.pos + 1);
        }
        self.views.push(view);
        if self.views.len() > self.cap {
            self.views.remove(0);
        }
        self.pos = self.views.len() - 1;
    }

    pub fn current(&self) -> Option<&View> {
        self.views.get(self.pos)
    }

    /// Step back; `None` (and no move) at the oldest view.
    pub fn back(&mut self) -> Option<&View> {
        if self.pos == 0 || self.views.is_empty() {
            return None;
        }
        self.pos -= 1;
        self.views.get(self.pos)
    }

    /// Step forward; `None` (and no move) at the newest view.
    pub fn forward(&mut self) -> Option<&View> {
        if self.pos + 1 >= self.views.len() {
            return None;
        }
        self.pos += 1;
        self.views.get(self.pos)
    }

    pub fn can_go_back(&self) -> bool {
        self.pos > 0
    }

    pub fn can_go_forward(&self) -> bool {
        self.pos + 1 < self.views.len()
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }
}
