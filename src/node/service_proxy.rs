//! The node's service proxy loop (kube-proxy's control loop): watch Services and Endpoints,
//! and after each burst of changes program the whole rule set through `net::proxy`. A sync
//! rewrites the table atomically, so it is level-triggered: a missed event costs nothing
//! but the time to the next change or resync.

use crate::api::error::{ApiError, ApiResult};
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::ListOptions;
use crate::cluster::Cluster;
use crate::net::proxy::{Proxy, ServicePort, service_ports};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Events closer together than this are programmed in one sync.
const COALESCE: Duration = Duration::from_millis(10);
/// The longest a change waits for the burst it belongs to.
const MAX_DELAY: Duration = Duration::from_millis(200);
/// A full sync even without events, and the retry delay after a failed one.
const RESYNC: Duration = Duration::from_secs(60);
const RETRY: Duration = Duration::from_secs(2);

/// Every service port the proxy should program, from the current Services and Endpoints.
pub async fn desired_ports(cluster: &dyn Cluster) -> ApiResult<Vec<ServicePort>> {
    let kind =
        |r: &str| kinds::lookup(r).ok_or_else(|| ApiError::internal(format!("{r} kind missing")));
    let opts = ListOptions::default();
    let services = cluster
        .list_shared(kind("services")?, None, &opts)
        .await?
        .items;
    let endpoints = cluster
        .list_shared(kind("endpoints")?, None, &opts)
        .await?
        .items;
    let by_name: HashMap<(&str, &str), &Value> = endpoints
        .iter()
        .map(|e| ((e.namespace().unwrap_or(""), e.name()), e.as_ref()))
        .collect();
    Ok(services
        .iter()
        .flat_map(|s| {
            let eps = by_name
                .get(&(s.namespace().unwrap_or(""), s.name()))
                .copied();
            service_ports(s, eps)
        })
        .collect())
}

async fn sync_once(cluster: &dyn Cluster, proxy: &Proxy) -> Result<usize, String> {
    let ports = desired_ports(cluster).await.map_err(|e| e.message)?;
    let n = ports.len();
    let proxy = proxy.clone();
    tokio::task::spawn_blocking(move || proxy.sync(&ports))
        .await
        .map_err(|e| format!("proxy sync task: {e}"))??;
    Ok(n)
}

/// Run until aborted: program `proxy` from the cluster's Services and Endpoints.
pub async fn run(cluster: Arc<dyn Cluster>, proxy: Proxy) {
    let (Some(svc_kind), Some(ep_kind)) = (kinds::lookup("services"), kinds::lookup("endpoints"))
    else {
        return;
    };
    let mut last_error = String::new();
    loop {
        let opts = ListOptions::default();
        let (svcs, eps) = match (
            cluster.watch_shared(svc_kind, None, &opts).await,
            cluster.watch_shared(ep_kind, None, &opts).await,
        ) {
            (Ok(s), Ok(e)) => (s, e),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("service proxy: watch failed: {e}");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let mut events = futures::stream::select(svcs, eps);
        loop {
            // Let a burst (the watch's initial snapshot, a rollout) settle first, but never
            // wait longer than MAX_DELAY behind a steady stream of changes.
            let deadline = tokio::time::Instant::now() + MAX_DELAY;
            while tokio::time::Instant::now() < deadline {
                match tokio::time::timeout(COALESCE, events.next()).await {
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            match sync_once(cluster.as_ref(), &proxy).await {
                Ok(n) => {
                    tracing::debug!(ports = n, "service proxy synced");
                    last_error.clear();
                }
                Err(e) => {
                    if e != last_error {
                        tracing::warn!("service proxy: {e}");
                        eprintln!("peapod: service proxy: {e}");
                        last_error = e;
                    }
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
            match tokio::time::timeout(RESYNC, events.next()).await {
                Ok(Some(Ok(_))) | Err(_) => {}
                // Expired or ended: watch again from a fresh snapshot.
                Ok(Some(Err(_))) | Ok(None) => break,
            }
        }
    }
}
