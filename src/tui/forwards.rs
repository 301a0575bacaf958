//! The console's port-forwards: Shift-F starts one (through `client::portforward`, the same
//! code as `peapod port-forward`), `:pf` lists them, ctrl-d there stops one. The forwards run
//! as tasks of the console process and end with it; this owns them by id and reports their
//! start, failure and connections to the UI loop as messages.

use crate::client::portforward::{self, Forward, ForwardEvent};
use crate::cluster::Cluster;
use crate::tui::Msg;
use crate::tui::app::{App, Target};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What a forward reports to the UI loop.
pub enum ForwardMsg {
    Started {
        id: u64,
        pod: String,
        forward: Forward,
    },
    Failed {
        id: u64,
        error: String,
    },
    Event {
        id: u64,
        event: ForwardEvent,
    },
}

/// The running forwards, by id.
#[derive(Default)]
pub struct Forwards {
    running: HashMap<u64, Forward>,
}

impl Forwards {
    /// Resolves the target and starts listening on localhost (127.0.0.1 and ::1), in a task.
    pub fn start(
        &self,
        cluster: Arc<dyn Cluster>,
        state_dir: Option<PathBuf>,
        tx: mpsc::Sender<Msg>,
        id: u64,
        target: Target,
        ports: Vec<String>,
    ) {
        tokio::spawn(async move {
            let Some(state_dir) = state_dir else {
                let error = "the console does not know its state directory".to_string();
                let _ = tx
                    .send(Msg::Forward(ForwardMsg::Failed { id, error }))
                    .await;
                return;
            };
            let short = if target.kind.kind == "Service" {
                "svc"
            } else {
                "pod"
            };
            let object = format!("{short}/{}", target.name);
            let ns = target.namespace.clone().unwrap_or_else(|| "default".into());
            let started = async {
                let addresses = portforward::parse_addresses(&[])?;
                let (events_tx, events) = mpsc::unbounded_channel();
                let (resolved, forward) = portforward::resolve_and_start(
                    &*cluster, &state_dir, &ns, &object, &ports, &addresses, events_tx,
                )
                .await?;
                Ok::<_, String>((resolved.pod, forward, events))
            };
            match started.await {
                Ok((pod, forward, mut events)) => {
                    let msg = ForwardMsg::Started { id, pod, forward };
                    if tx.send(Msg::Forward(msg)).await.is_err() {
                        return;
                    }
                    // Ends when the forward is stopped (its tasks hold the senders).
                    while let Some(event) = events.recv().await {
                        if tx
                            .send(Msg::Forward(ForwardMsg::Event { id, event }))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
                Err(error) => {
                    let _ = tx
                        .send(Msg::Forward(ForwardMsg::Failed { id, error }))
                        .await;
                }
            }
        });
    }

    /// Stops a forward: its listeners and connections close.
    pub fn stop(&mut self, id: u64) {
        if let Some(f) = self.running.remove(&id) {
            f.stop();
        }
    }

    /// Applies a report to the app (and keeps a started forward).
    pub fn on_msg(&mut self, app: &mut App, msg: ForwardMsg) {
        match msg {
            ForwardMsg::Started { id, pod, forward } => {
                // Stopped from the list while it was starting: it ends here.
                if app.forwards.iter().any(|r| r.id == id) {
                    app.forward_started(id, &pod, &forward.bound);
                    self.running.insert(id, forward);
                }
            }
            ForwardMsg::Failed { id, error } => app.forward_failed(id, &error),
            ForwardMsg::Event { id, event } => match event {
                ForwardEvent::Connection { .. } => app.forward_connection(id),
                ForwardEvent::Error { .. } => app.error(format!("port-forward: {}", event.line())),
                ForwardEvent::Listening { .. } => {}
            },
        }
    }
}
