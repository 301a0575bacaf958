//! The service proxy: kube-proxy's job in the kernel with nftables. Every ClusterIP:port
//! (and node port) with ready endpoints is DNATed to one of them, chosen per connection by
//! `numgen random` (or kept by ClientIP affinity); conntrack then carries the connection, so
//! the proxy costs nothing per packet after the first. Services without ready endpoints are
//! rejected. Only the proxy's own table is ever written (`ip peapod-svc` by default).
//!
//! The rules are applied with `nft -f -`: a sync is one atomic transaction and happens on
//! Service/Endpoints changes only, never per pod start, so the process spawn (~2 ms) does
//! not matter and the text form is what the tests and the README show.

pub mod model;
pub mod render;

pub use model::{Endpoint, Protocol, ServicePort, service_ports};

use std::io::Write;
use std::process::{Command, Stdio};

/// The table the node's proxy owns.
pub const DEFAULT_TABLE: &str = "peapod-svc";

const NFT: &str = "nft";

/// A proxy programming one nftables table.
#[derive(Debug, Clone)]
pub struct Proxy {
    table: String,
}

fn run_nft(args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new(NFT)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft ({e}); the service proxy needs nftables (install the nftables package)"))?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write rules to nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("nft did not finish: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

impl Proxy {
    /// A proxy writing only `table` (family `ip`); tests pass their own name.
    pub fn new(table: impl Into<String>) -> Proxy {
        Proxy {
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Chains and sets the table has now (empty when it does not exist).
    fn existing(&self) -> render::Existing {
        match run_nft(&["-t", "list", "table", "ip", &self.table], None) {
            Ok(listing) => render::Existing::parse(&listing),
            Err(_) => render::Existing::default(),
        }
    }

    /// Make the table hold exactly the rules for `ports`, in one transaction.
    pub fn sync(&self, ports: &[ServicePort]) -> Result<(), String> {
        let script = render::render(&self.table, &self.existing(), ports);
        run_nft(&["-f", "-"], Some(&script))
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "programming service rules in nftables table ip {} failed: {e}",
                    self.table
                )
            })
    }

    /// Remove the table and every rule in it; returns whether it existed.
    pub fn remove(&self) -> Result<bool, String> {
        remove_table(&self.table)
    }
}

fn remove_table(table: &str) -> Result<bool, String> {
    match run_nft(&["delete", "table", "ip", table], None) {
        Ok(_) => Ok(true),
        Err(e) if e.contains("No such file or directory") => Ok(false),
        Err(e) => Err(format!("cannot remove nftables table ip {table}: {e}")),
    }
}

#[cfg(test)]
mod tests;

fn write_knob(path: &str, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot set {path} to {value}: {e}"))
}

/// Settings of the pod bridge the proxy relies on, all scoped to that bridge (nothing
/// host-wide): IPv4 forwarding on it (pod → ClusterIP → pod is routed by the host; the input
/// device decides), `route_localnet` (a NodePort reached on 127.0.0.1 is DNATed to a pod and
/// must leave the host with its loopback source until masqueraded), and `nf_call_iptables`
/// (a reply from a pod to a pod on the same bridge is bridged, and must still pass the IP
/// hooks to be un-DNATed; needs br_netfilter).
pub fn prepare_bridge(bridge: &str) -> Result<(), String> {
    write_knob(&format!("/proc/sys/net/ipv4/conf/{bridge}/forwarding"), "1")?;
    write_knob(
        &format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet"),
        "1",
    )?;
    write_knob(
        &format!("/sys/class/net/{bridge}/bridge/nf_call_iptables"),
        "1",
    )
    .map_err(|e| format!("{e} (is the br_netfilter module loaded?)"))
}

/// Hairpin mode on a pod's bridge port: a pod reaching itself through its Service gets the
/// frame back out the port it came in on.
pub fn prepare_port(host_veth: &str) -> Result<(), String> {
    write_knob(
        &format!("/sys/class/net/{host_veth}/brport/hairpin_mode"),
        "1",
    )
}
