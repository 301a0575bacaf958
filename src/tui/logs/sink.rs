//! Where a follower's batches go: the console's event channel, whatever its message type.

use super::tail::Batch;
use futures::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::mpsc;

type SendFn = dyn Fn(u64, Batch) -> BoxFuture<'static, bool> + Send + Sync;

/// Delivers `(generation, batch)` to the UI. The future resolves to false once the UI is gone
/// (the tail then stops). A bounded channel keeps back-pressure: while the UI is behind, the
/// tail coalesces and drops its oldest lines instead of queueing without limit.
#[derive(Clone)]
pub struct LogSink(Arc<SendFn>);

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogSink")
    }
}

impl LogSink {
    /// Send into a bounded channel of the UI's own messages: `LogSink::channel(tx, Msg::Logs)`.
    pub fn channel<T: Send + 'static>(tx: mpsc::Sender<T>, wrap: fn(u64, Batch) -> T) -> LogSink {
        LogSink(Arc::new(move |generation, batch| {
            let tx = tx.clone();
            Box::pin(async move { tx.send(wrap(generation, batch)).await.is_ok() })
        }))
    }

    /// Send into an unbounded channel (no back-pressure: the UI must keep up).
    pub fn unbounded<T: Send + 'static>(
        tx: mpsc::UnboundedSender<T>,
        wrap: fn(u64, Batch) -> T,
    ) -> LogSink {
        LogSink(Arc::new(move |generation, batch| {
            let ok = tx.send(wrap(generation, batch)).is_ok();
            Box::pin(async move { ok })
        }))
    }

    /// Call `f` for every batch (it must not block: it runs on the tail's task).
    pub fn callback(f: impl Fn(u64, Batch) + Send + Sync + 'static) -> LogSink {
        LogSink(Arc::new(move |generation, batch| {
            f(generation, batch);
            Box::pin(async { true })
        }))
    }

    pub(crate) async fn send(&self, generation: u64, batch: Batch) -> bool {
        (self.0)(generation, batch).await
    }
}
