//! `port-forward TYPE/NAME [LOCAL:]REMOTE... [--address A,B]`: kubectl's output
//! (`Forwarding from 127.0.0.1:8080 -> 80`, `Handling connection for 8080`) until Ctrl-C or
//! SIGTERM, which close the listeners and every connection. The pod is reached directly on
//! this machine through its network namespace (as `exec` reaches it through its shim), so it
//! works the same whether this process holds the store or attaches to `peapod serve`.

use super::args::PortForwardArgs;
use super::{CliError, Ctx, Io};
use crate::api::kinds;
use crate::api::object::ObjectExt;
use crate::api::request::{EventType, ListOptions};
use crate::client::portforward;
use crate::cluster::{Cluster, WatchStream};
use crate::net::portforward::{ForwardEvent, parse_addresses};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: PortForwardArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    // kubectl's default: wait up to a minute for a pod of a controller or service.
    let wait = match &a.pod_running_timeout {
        Some(t) => super::parse_duration(t)?,
        None => std::time::Duration::from_secs(60),
    };
    let addresses = parse_addresses(&a.address).map_err(CliError::Msg)?;
    let target = portforward::resolve(cluster, &ctx.namespace, &a.object, &a.ports, wait)
        .await
        .map_err(CliError::Msg)?;
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|e| CliError::msg(format!("cannot watch for Ctrl-C: {e}")))?;
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|e| CliError::msg(format!("cannot watch for SIGTERM: {e}")))?;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let forward = portforward::start(&ctx.state, &target, &addresses, tx)
        .await
        .map_err(CliError::Msg)?;
    // Like kubectl, the forward ends when its pod goes away.
    let mut pod_watch = watch_pod(cluster, &target).await;
    let mut lost = false;
    loop {
        tokio::select! {
            gone = pod_gone(&mut pod_watch, &target.uid) => {
                if gone {
                    lost = true;
                    break;
                }
            }
            ev = events.recv() => match ev {
                Some(ev @ ForwardEvent::Error { .. }) => io.errln(ev.line()),
                Some(ev) => io.outln(ev.line()),
                None => break,
            },
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    forward.stop();
    if lost {
        return Err(CliError::msg("lost connection to pod"));
    }
    Ok(())
}

async fn watch_pod(cluster: &dyn Cluster, target: &portforward::Target) -> Option<WatchStream> {
    let pods = kinds::lookup("pods")?;
    let opts = ListOptions {
        field_selector: Some(format!("metadata.name={}", target.pod)),
        ..Default::default()
    };
    cluster
        .watch(pods, Some(&target.namespace), &opts)
        .await
        .ok()
}

/// Resolves `true` when the watched pod was deleted or replaced by another of the same
/// name; never resolves once the watch has ended (the forward then just goes on).
async fn pod_gone(watch: &mut Option<WatchStream>, uid: &str) -> bool {
    let Some(stream) = watch else {
        return std::future::pending().await;
    };
    match stream.next().await {
        Some(Ok(ev)) => {
            ev.event_type == EventType::Deleted || (!uid.is_empty() && ev.object.uid() != uid)
        }
        _ => {
            *watch = None;
            false
        }
    }
}
