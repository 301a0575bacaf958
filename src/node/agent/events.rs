//! Events from the pod workers, recorded by one background task so that a worker never
//! waits for an event write (recording lists and aggregates; it must not slow pod starts).

use crate::cluster::Cluster;
use crate::cluster::events::{EventKind, Source, record};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

struct Pending {
    pod: Value,
    kind: EventKind,
    reason: String,
    message: String,
}

#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<Pending>,
}

impl EventSink {
    pub fn start(cluster: Arc<dyn Cluster>, node: &str) -> EventSink {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pending>();
        let source = Source {
            component: "kubelet".into(),
            host: node.to_string(),
        };
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                if let Err(e) = record(
                    cluster.as_ref(),
                    &source,
                    &p.pod,
                    p.kind,
                    &p.reason,
                    &p.message,
                )
                .await
                {
                    tracing::debug!("event {} not recorded: {e}", p.reason);
                }
            }
        });
        EventSink { tx }
    }

    pub fn normal(&self, pod: &Value, reason: &str, message: impl Into<String>) {
        self.send(pod, EventKind::Normal, reason, message.into());
    }

    pub fn warning(&self, pod: &Value, reason: &str, message: impl Into<String>) {
        self.send(pod, EventKind::Warning, reason, message.into());
    }

    fn send(&self, pod: &Value, kind: EventKind, reason: &str, message: String) {
        // Only what the event needs: the recorder reads identity fields.
        let meta = &pod["metadata"];
        let slim = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
            }
        });
        let _ = self.tx.send(Pending {
            pod: slim,
            kind,
            reason: reason.to_string(),
            message,
        });
    }
}
