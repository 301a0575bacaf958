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
        }
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

    pub fn toggle_focus(&mut self) {
        self.focus = if self.focus == Focus::Pods {
            Focus::Namespaces
        } else {
            Focus::Pods
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
