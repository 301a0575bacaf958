//! Port-forward keys: the Shift-F prompt's answer and the `:pf` list (ctrl-d stops one).

use super::keys::KeyResult;
use super::{App, Effect, Mode, Target};
use serde_json::Value;

impl App {
    pub(super) fn forwards_key(
        &mut self,
        mut view: Box<crate::tui::widgets::ForwardsView>,
        action: Option<&str>,
        out: &mut KeyResult,
    ) -> Mode {
        use crate::tui::widgets::ForwardsAction;
        let Some(action) = action else {
            return Mode::Forwards(view);
        };
        if action == "app.quit" {
            self.quit = true;
            return Mode::Normal;
        }
        match view.on_action(action, &self.forwards) {
            ForwardsAction::Back => Mode::Normal,
            ForwardsAction::Stop(id) => {
                if let Some(at) = self.forwards.iter().position(|r| r.id == id) {
                    let row = self.forwards.remove(at);
                    self.info(format!("port-forward {} {} stopped", row.object, row.ports));
                }
                out.effects.push(Effect::StopForward(id));
                view.clamp(self.forwards.len());
                Mode::Forwards(view)
            }
            ForwardsAction::None => Mode::Forwards(view),
        }
    }

    /// The Shift-F prompt's answer: one or more `[LOCAL:]REMOTE`, checked before anything is
    /// resolved; the row shows as "starting" until the forward listens.
    pub(super) fn port_forward_prompt_done(
        &mut self,
        target: &Target,
        text: &str,
    ) -> Result<Effect, String> {
        let ports: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        if ports.is_empty() {
            return Err("type the ports: [LOCAL:]REMOTE, e.g. 8080:80".into());
        }
        for p in &ports {
            crate::client::portforward::check_port_spec(p)?;
        }
        let id = self.next_forward_id;
        self.next_forward_id += 1;
        let short = match target.kind.kind {
            "Service" => "svc",
            _ => "pod",
        };
        self.forwards.push(crate::tui::widgets::ForwardRow {
            id,
            namespace: target.namespace.clone().unwrap_or_default(),
            object: format!("{short}/{}", target.name),
            pod: String::new(),
            ports: ports.join(","),
            addresses: "starting".into(),
            connections: 0,
            started: self.now(),
        });
        Ok(Effect::PortForward {
            id,
            target: target.clone(),
            ports,
        })
    }
}

/// The port the Shift-F prompt offers: a pod's first container port, a service's first
/// port; empty when there is none.
pub(super) fn default_forward_port(kind: &str, obj: &Value) -> String {
    let first = |list: Option<&Value>, field: &str| {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|p| p.get(field).and_then(Value::as_u64))
    };
    let port = match kind {
        "Service" => first(obj.pointer("/spec/ports"), "port"),
        _ => obj
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|c| first(c.get("ports"), "containerPort")),
    };
    port.map(|p| p.to_string()).unwrap_or_default()
}
