//! The controller runtime. A controller is a `Reconciler`: it names the kinds it watches,
//! maps each change to the keys it must look at, and reconciles one key at a time —
//! level-triggered and idempotent, reading what is and writing what should be. The runtime
//! provides the watches, the de-duplicating queue, per-key exponential retry and a periodic
//! resync (every watch restarts with a full snapshot).

use crate::api::error::ApiResult;
use crate::api::kinds::{self, KindInfo};
use crate::api::object::{ObjectExt, ObjectKey};
use crate::api::request::{ListOptions, SharedWatchEvent};
use crate::cluster::Cluster;
use crate::controllers::queue::WorkQueue;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// What to do with a key after reconciling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Done,
    /// Look again after this delay (waiting for something that produces no event).
    RequeueAfter(Duration),
}

#[async_trait::async_trait]
pub trait Reconciler: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Kinds whose changes this controller reacts to.
    fn watches(&self) -> Vec<&'static KindInfo>;

    /// Keys to reconcile for one change (default: the changed object itself).
    fn keys_for(&self, kind: &'static KindInfo, event: &SharedWatchEvent) -> Vec<ObjectKey> {
        vec![ObjectKey::new(
            kind,
            event.object.namespace(),
            event.object.name(),
        )]
    }

    async fn reconcile(&self, cluster: &dyn Cluster, key: &ObjectKey) -> ApiResult<Action>;

    /// How often every watched object is looked at again even without changes.
    fn resync_period(&self) -> Duration {
        Duration::from_secs(300)
    }
}

/// The kinds with these resource names, for `Reconciler::watches`.
pub fn kinds_named(names: &[&str]) -> Vec<&'static KindInfo> {
    names.iter().filter_map(|k| kinds::lookup(k)).collect()
}

/// `keys_for` of a controller that also watches what it owns: a change of one of its own
/// objects is that object's key; a change of an object of `owned_kind` is the key of its
/// controller of `owner_kind`, if it has one.
pub fn owner_keys(
    kind: &'static KindInfo,
    event: &SharedWatchEvent,
    owned_kind: &str,
    owner_kind: &str,
) -> Vec<ObjectKey> {
    let obj = &event.object;
    if kind.kind != owned_kind {
        return vec![ObjectKey::new(kind, obj.namespace(), obj.name())];
    }
    crate::controllers::podcontrol::controller_key(obj, owner_kind)
        .into_iter()
        .collect()
}

/// The kind of a store key (`deployments.apps` → Deployment).
pub fn kind_of_key(key: &ObjectKey) -> Option<&'static KindInfo> {
    kinds::lookup(&key.resource)
}

/// The namespace argument for cluster calls about `key`.
pub fn namespace_of(key: &ObjectKey) -> Option<&str> {
    if key.namespace.is_empty() {
        None
    } else {
        Some(&key.namespace)
    }
}

/// Start one watch task per watched kind and one worker; returns their handles (abort them
/// to stop the controller).
pub fn spawn(cluster: Arc<dyn Cluster>, reconciler: Arc<dyn Reconciler>) -> Vec<JoinHandle<()>> {
    let queue: Arc<WorkQueue<ObjectKey>> =
        WorkQueue::new(Duration::from_millis(5), Duration::from_secs(30));
    let mut handles = Vec::new();
    for kind in reconciler.watches() {
        let (c, r, q) = (cluster.clone(), reconciler.clone(), queue.clone());
        handles.push(tokio::spawn(async move { watch_loop(c, r, q, kind).await }));
    }
    let (c, r, q) = (cluster, reconciler, queue);
    handles.push(tokio::spawn(async move { worker(c, r, q).await }));
    handles
}

async fn watch_loop(
    cluster: Arc<dyn Cluster>,
    reconciler: Arc<dyn Reconciler>,
    queue: Arc<WorkQueue<ObjectKey>>,
    kind: &'static KindInfo,
) {
    loop {
        let mut stream = match cluster
            .watch_shared(kind, None, &ListOptions::default())
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(
                    controller = reconciler.name(),
                    kind = kind.kind,
                    "watch failed: {e}"
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let resync = tokio::time::sleep(reconciler.resync_period());
        tokio::pin!(resync);
        loop {
            tokio::select! {
                ev = stream.next() => match ev {
                    Some(Ok(ev)) => {
                        for k in reconciler.keys_for(kind, &ev) {
                            queue.add(k);
                        }
                    }
                    // Expired or ended: start again from a fresh snapshot.
                    Some(Err(_)) | None => break,
                },
                _ = &mut resync => break,
            }
        }
    }
}

async fn worker(
    cluster: Arc<dyn Cluster>,
    reconciler: Arc<dyn Reconciler>,
    queue: Arc<WorkQueue<ObjectKey>>,
) {
    loop {
        let key = queue.next().await;
        match reconciler.reconcile(cluster.as_ref(), &key).await {
            Ok(Action::Done) => queue.forget(&key),
            Ok(Action::RequeueAfter(d)) => {
                queue.forget(&key);
                queue.add_after(key.clone(), d);
            }
            Err(e) => {
                tracing::debug!(controller = reconciler.name(), %key, "reconcile failed: {e}");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}
