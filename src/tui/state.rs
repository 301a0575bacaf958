//! Console state: the objects the watches delivered and what the user selected. Pure data,
//! so it is tested without a terminal.

use crate::api::object::ObjectExt;
use crate::api::request::{EventType, WatchEvent};
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Namespaces,
    Pods,
    Logs,
}

/// The pod the logs pane follows: its namespace, name and uid (a new pod of the same name
/// is another source), and the restart count of its first container when the tail started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSource {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub restarts: i64,
}

pub struct App {
    pub endpoint: String,
    pub keymap: Keymap,
    pub theme: Theme,
    /// Keys typed so far of a multi-key binding (`g g`).
    pub keys: crate::tui::keymap::KeyState,
    /// Problems in the user's config, keymap or theme, shown until a key is pressed.
    pub warning: Option<String>,
    pub namespaces: BTreeMap<String, Value>,
    /// Keyed by (namespace, name) so the table is sorted like kubectl's.
    pub pods: BTreeMap<(String, String), Value>,
    /// 0 = all namespaces, i = the (i-1)th namespace by name.
    pub ns_index: usize,
    pub pod_index: usize,
    pub focus: Focus,
    /// The logs pane: what it follows, its lines and its view (follow, wrap, scroll).
    pub log_source: Option<LogSource>,
    pub logs: crate::tui::logs::LogBuffer,
    pub log_view: crate::tui::logs::LogView,
    /// How the last tail ended: `Ok` when the container stopped (a new tail starts when it
    /// restarts), `Err` when it could not start (retried as the pod changes).
    pub log_ended: Option<Result<(), String>>,
    /// Lines the logs pane showed in the last frame (for paging).
    pub log_height: usize,
}

impl App {
    #[cfg(test)]
    pub fn new(endpoint: String) -> App {
        Self::with_config(
            endpoint,
            Keymap::default_map(),
            Theme::default_theme(),
            None,
        )
    }

    /// A console with the user's keymap layers and theme (see `tui::config::load`); the
    /// problems found while loading them are shown as a warning line.
    pub fn with_config(
        endpoint: String,
        keymap: Keymap,
        theme: Theme,
        warning: Option<String>,
    ) -> App {
        App {
            endpoint,
            keymap,
            theme,
            keys: crate::tui::keymap::KeyState::new(),
            warning,
            namespaces: BTreeMap::new(),
            pods: BTreeMap::new(),
            ns_index: 0,
            pod_index: 0,
            focus: Focus::Pods,
            log_source: None,
            logs: crate::tui::logs::LogBuffer::new(crate::tui::logs::DEFAULT_CAPACITY),
            log_view: crate::tui::logs::LogView::default(),
            log_ended: None,
            log_height: 10,
        }
    }

    /// The pod the logs pane should follow now: the selected one.
    pub fn wanted_log_source(&self) -> Option<LogSource> {
        let pod = *self.visible_pods().get(self.pod_index)?;
        Some(LogSource {
            namespace: pod.namespace().unwrap_or("default").to_string(),
            pod: pod.name().to_string(),
            uid: pod.uid().to_string(),
            restarts: pod
                .pointer("/status/containerStatuses/0/restartCount")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        })
    }

    /// The selected namespace; None = all.
    pub fn namespace(&self) -> Option<&str> {
        if self.ns_index == 0 {
            None
        } else {
            self.namespaces
                .keys()
                .nth(self.ns_index - 1)
                .map(String::as_str)
        }
    }

    pub fn visible_pods(&self) -> Vec<&Value> {
        let ns = self.namespace();
        self.pods
            .iter()
            .filter(|((pns, _), _)| ns.is_none_or(|n| n == pns))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn pod_count(&self, ns: &str) -> usize {
        self.pods.keys().filter(|(pns, _)| pns == ns).count()
    }

    pub fn apply_namespace(&mut self, ev: WatchEvent) {
        let name = ev.object.name().to_string();
        let selected = self.namespace().map(str::to_string);
        match ev.event_type {
            EventType::Deleted => {
                self.namespaces.remove(&name);
            }
            EventType::Added | EventType::Modified => {
                self.namespaces.insert(name, ev.object);
            }
            EventType::Error => {}
        }
        // Keep the same namespace selected when others come and go.
        self.ns_index = match selected {
            Some(s) => self
                .namespaces
                .keys()
                .position(|k| *k == s)
                .map(|i| i + 1)
                .unwrap_or(0),
            None => 0,
        };
    }

    pub fn apply_pod(&mut self, ev: WatchEvent) {
        let key = (
            ev.object.namespace().unwrap_or("").to_string(),
            ev.object.name().to_string(),
        );
        match ev.event_type {
            EventType::Deleted => {
                self.pods.remove(&key);
            }
            EventType::Added | EventType::Modified => {
                self.pods.insert(key, ev.object);
            }
            EventType::Error => {}
        }
        self.clamp();
    }

    pub fn reset(&mut self, plural: &str) {
        if plural == "pods" {
            self.pods.clear();
        } else {
            self.namespaces.clear();
        }
        self.clamp();
    }

    /// Tab order: namespaces → pods → logs → namespaces.
    pub fn focus_next(&mut self) {
        self.focus = match self.focus {
            Focus::Namespaces => Focus::Pods,
            Focus::Pods => Focus::Logs,
            Focus::Logs => Focus::Namespaces,
        };
    }

    pub fn focus_prev(&mut self) {
        self.focus = match self.focus {
            Focus::Namespaces => Focus::Logs,
            Focus::Pods => Focus::Namespaces,
            Focus::Logs => Focus::Pods,
        };
    }

    pub fn select_all_namespaces(&mut self) {
        self.ns_index = 0;
        self.clamp();
    }

    pub fn move_selection(&mut self, delta: i64) {
        let step = |i: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (i as i64 + delta).clamp(0, len as i64 - 1) as usize
        };
        match self.focus {
            Focus::Namespaces => {
                self.ns_index = step(self.ns_index, self.namespaces.len() + 1);
                self.pod_index = 0;
            }
            Focus::Pods => self.pod_index = step(self.pod_index, self.visible_pods().len()),
            Focus::Logs => {
                let h = self.log_height.max(1);
                let n = delta.unsigned_abs().min(usize::MAX as u64) as usize;
                if delta < 0 {
                    self.log_view.scroll_up(&self.logs, h, n);
                } else {
                    self.log_view.scroll_down(&self.logs, h, n);
                }
            }
        }
    }

    fn clamp(&mut self) {
        self.ns_index = self.ns_index.min(self.namespaces.len());
        let n = self.visible_pods().len();
        self.pod_index = self.pod_index.min(n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(t: EventType, kind: &str, ns: &str, name: &str) -> WatchEvent {
        WatchEvent {
            event_type: t,
            object: json!({"kind": kind, "metadata": {"name": name, "namespace": ns}}),
        }
    }

    #[test]
    fn namespace_selection_filters_pods_and_survives_changes() {
        let mut app = App::new("test".into());
        for n in ["default", "shop"] {
            app.apply_namespace(ev(EventType::Added, "Namespace", "", n));
        }
        app.apply_pod(ev(EventType::Added, "Pod", "default", "a"));
        app.apply_pod(ev(EventType::Added, "Pod", "shop", "b"));
        assert_eq!(app.visible_pods().len(), 2);
        app.focus = Focus::Namespaces;
        app.move_selection(2);
        assert_eq!(app.namespace(), Some("shop"));
        assert_eq!(app.visible_pods().len(), 1);
        app.apply_namespace(ev(EventType::Added, "Namespace", "", "alpha"));
        assert_eq!(app.namespace(), Some("shop"));
        app.apply_pod(ev(EventType::Deleted, "Pod", "shop", "b"));
        assert_eq!(app.visible_pods().len(), 0);
        assert_eq!(app.pod_count("default"), 1);
        app.select_all_namespaces();
        assert_eq!(app.namespace(), None);
    }
}
