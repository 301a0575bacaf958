//! Feeds the cluster DNS server: watches Services, Endpoints and Pods through the `Cluster`
//! trait, keeps the objects DNS needs, and replaces the server's zone whenever they change
//! (changes arriving together are coalesced into one rebuild). Every record of a deleted
//! service, endpoint or pod is gone with the next zone.

use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::{EventType, ListOptions};
use crate::cluster::Cluster;
use crate::net::dns::objects::{HostnamedPods, hostnamed_pod, service_entry};
use crate::net::dns::{DnsServer, Resolver, SharedZone, Upstream, Zone};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long changes are gathered before the zone is rebuilt.
const COALESCE: Duration = Duration::from_millis(20);

/// The running cluster DNS: the server and the task feeding its zone. Dropping it stops both.
#[derive(Debug)]
pub struct ClusterDns {
    pub server: DnsServer,
    pub zone: Arc<SharedZone>,
    feeder: JoinHandle<()>,
}

impl Drop for ClusterDns {
    fn drop(&mut self) {
        self.feeder.abort();
    }
}

/// Starts the cluster DNS on `addr` (production: the pod network's gateway, port 53; the
/// node agent starts it) with names outside the cluster domain sent to `upstream`
/// (`Upstream::from_host()`).
pub async fn start(
    cluster: Arc<dyn Cluster>,
    addr: SocketAddr,
    upstream: Upstream,
) -> std::io::Result<ClusterDns> {
    let zone = Arc::new(SharedZone::new(Zone::new(
        crate::net::dns::CLUSTER_DOMAIN,
        &[],
    )));
    let server = crate::net::dns::serve(
        addr,
        Resolver {
            zone: zone.clone(),
            upstream,
        },
    )
    .await?;
    let feeder = tokio::spawn(feed(cluster, zone.clone()));
    Ok(ClusterDns {
        server,
        zone,
        feeder,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Service,
    Endpoints,
    Pod,
}

enum Change {
    /// The complete current set of a kind (after a (re)list).
    Reset(Kind, Vec<Value>),
    Upsert(Kind, Value),
    Delete(Kind, Value),
}

fn key(obj: &Value) -> (String, String) {
    (
        obj.namespace().unwrap_or("default").to_string(),
        obj.name().to_string(),
    )
}

/// What DNS keeps of the cluster.
#[derive(Default)]
struct Objects {
    services: HashMap<(String, String), Value>,
    endpoints: HashMap<(String, String), Value>,
    pods: HostnamedPods,
}

impl Objects {
    fn apply(&mut self, change: Change) {
        match change {
            Change::Reset(kind, items) => {
                match kind {
                    Kind::Service => self.services.clear(),
                    Kind::Endpoints => self.endpoints.clear(),
                    Kind::Pod => self.pods.clear(),
                }
                for item in items {
                    self.apply(Change::Upsert(kind, item));
                }
            }
            Change::Upsert(Kind::Service, o) => {
                self.services.insert(key(&o), o);
            }
            Change::Upsert(Kind::Endpoints, o) => {
                self.endpoints.insert(key(&o), o);
            }
            Change::Upsert(Kind::Pod, o) => match hostnamed_pod(&o) {
                Some((k, v)) => {
                    self.pods.insert(k, v);
                }
                None => {
                    self.pods.remove(&key(&o));
                }
            },
            Change::Delete(Kind::Service, o) => {
                self.services.remove(&key(&o));
            }
            Change::Delete(Kind::Endpoints, o) => {
                self.endpoints.remove(&key(&o));
            }
            Change::Delete(Kind::Pod, o) => {
                self.pods.remove(&key(&o));
            }
        }
    }

    fn zone(&self) -> Zone {
        let entries: Vec<_> = self
            .services
            .iter()
            .map(|(k, svc)| service_entry(svc, self.endpoints.get(k), &self.pods))
            .collect();
        Zone::new(crate::net::dns::CLUSTER_DOMAIN, &entries)
    }
}

/// Keeps `zone` equal to what the cluster's Services, Endpoints and Pods say; runs until
/// aborted.
pub async fn feed(cluster: Arc<dyn Cluster>, zone: Arc<SharedZone>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let mut watchers = Vec::new();
    for (kind, resource) in [
        (Kind::Service, "services"),
        (Kind::Endpoints, "endpoints"),
        (Kind::Pod, "pods"),
    ] {
        watchers.push(tokio::spawn(watch_kind(
            cluster.clone(),
            kind,
            resource,
            tx.clone(),
        )));
    }
    drop(tx);
    let _abort = AbortOnDrop(watchers);
    let mut objects = Objects::default();
    while let Some(change) = rx.recv().await {
        objects.apply(change);
        // Gather what arrives meanwhile, then rebuild once.
        let deadline = tokio::time::Instant::now() + COALESCE;
        while let Ok(Some(more)) = tokio::time::timeout_at(deadline, rx.recv()).await {
            objects.apply(more);
        }
        zone.set(objects.zone());
    }
}

struct AbortOnDrop(Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// List, then watch from the list's revision; on any error list again after a pause.
async fn watch_kind(
    cluster: Arc<dyn Cluster>,
    kind: Kind,
    resource: &'static str,
    tx: mpsc::Sender<Change>,
) {
    let Some(info) = kinds::lookup(resource) else {
        tracing::warn!("cluster DNS: {resource} are not served");
        return;
    };
    loop {
        let list = match cluster.list(info, None, &ListOptions::default()).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cluster DNS: listing {resource} failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let items = match kind {
            Kind::Pod => list
                .items
                .into_iter()
                .filter(|p| hostnamed_pod(p).is_some())
                .collect(),
            _ => list.items,
        };
        if tx.send(Change::Reset(kind, items)).await.is_err() {
            return;
        }
        let opts = ListOptions {
            resource_version: Some(list.resource_version.to_string()),
            ..Default::default()
        };
        let mut stream = match cluster.watch(info, None, &opts).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cluster DNS: watching {resource} failed: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(Ok(ev)) = stream.next().await {
            // Only pods with hostname and subdomain (immutable fields) matter to DNS: the
            // status churn of every other pod must not rebuild the zone.
            if kind == Kind::Pod
                && ev.event_type != EventType::Error
                && hostnamed_pod(&ev.object).is_none()
            {
                continue;
            }
            let change = match ev.event_type {
                EventType::Deleted => Change::Delete(kind, ev.object),
                EventType::Added | EventType::Modified => Change::Upsert(kind, ev.object),
                EventType::Error => break,
            };
            if tx.send(change).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests;
