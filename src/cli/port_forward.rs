//! `port-forward TYPE/NAME [LOCAL:]REMOTE... [--address A,B]`: kubectl's output
//! (`Forwarding from 127.0.0.1:8080 -> 80`, `Handling connection for 8080`) until Ctrl-C or
//! SIGTERM, which close the listeners and every connection. The pod is reached directly on
//! this machine through its network namespace (as `exec` reaches it through its shim), so it
//! works the same whether this process holds the store or attaches to `peapod serve`.

use super::args::PortForwardArgs;
use super::{CliError, Ctx, Io};
use crate::client::portforward;
use crate::cluster::Cluster;
use crate::net::portforward::{ForwardEvent, parse_addresses};
use tokio::signal::unix::{SignalKind, signal};

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: PortForwardArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    if let Some(t) = &a.pod_running_timeout {
        super::parse_duration(t)?;
    }
    let addresses = parse_addresses(&a.address).map_err(CliError::Msg)?;
    if ctx.embedded {
        io.errln("note: no console or `peapod serve` runs; pods keep running only while one does");
    }
    let target = portforward::resolve(cluster, &ctx.namespace, &a.object, &a.ports)
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
    loop {
        tokio::select! {
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
    Ok(())
}
