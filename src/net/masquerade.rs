//! Egress masquerade for the pod network, only when the user enables it: one nftables table
//! owned by peapod (`table ip peapod_net_<bridge>`), programmed with `nft -f -` (once at
//! start, never per pod), plus net.ipv4.ip_forward. No other table or chain is touched; the
//! previous ip_forward value is kept in the state directory and restored by
//! `serve --reset-network`.

use super::cidr::Ipv4Cidr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// Where the ip_forward value before peapod changed it is kept.
const FORWARD_BEFORE: &str = "ip_forward.before";
/// Present while peapod's table may exist (so that a start without masquerade only runs
/// `nft` when a previous run had it on).
const MARKER: &str = "masquerade";

/// The name of peapod's table for bridge `bridge`.
pub fn table(bridge: &str) -> String {
    let safe: String = bridge
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("peapod_net_{safe}")
}

fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("pod network masquerade: run nft (install nftables): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| format!("pod network masquerade: write to nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("pod network masquerade: wait for nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pod network masquerade: nft failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Masquerades traffic from the pod network leaving through another interface, and turns
/// on IPv4 forwarding (remembering its previous value in `state`).
pub fn enable(bridge: &str, cidr: Ipv4Cidr, state: &Path) -> Result<(), String> {
    let t = table(bridge);
    // Creating the table first makes the delete valid on a first run; the whole script is
    // one transaction, so the table is replaced atomically.
    let script = format!(
        "table ip {t} {{}}\ndelete table ip {t}\ntable ip {t} {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    ip saddr {cidr} ip daddr != {cidr} oifname != \"{bridge}\" masquerade\n  }}\n}}\n"
    );
    let _ = std::fs::write(state.join(MARKER), table(bridge));
    nft(&script)?;
    let before = std::fs::read_to_string(IP_FORWARD).unwrap_or_default();
    let keep = state.join(FORWARD_BEFORE);
    if before.trim() != "1" && !keep.exists() {
        let _ = std::fs::write(&keep, before.trim());
    }
    std::fs::write(IP_FORWARD, "1")
        .map_err(|e| format!("pod network masquerade: enable {IP_FORWARD}: {e}"))
}

/// Whether peapod's table for `bridge` exists.
pub fn present(bridge: &str) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", &table(bridge)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `disable`, when a previous run of this state directory enabled masquerade.
pub fn disable_if_enabled_before(bridge: &str, state: &Path) -> Result<(), String> {
    if state.join(MARKER).exists() || state.join(FORWARD_BEFORE).exists() {
        disable(bridge, state)?;
    }
    Ok(())
}

/// Removes peapod's table for `bridge` (if any) and restores ip_forward if peapod set it.
pub fn disable(bridge: &str, state: &Path) -> Result<(), String> {
    if present(bridge) {
        nft(&format!("delete table ip {}\n", table(bridge)))?;
    }
    let _ = std::fs::remove_file(state.join(MARKER));
    let keep = state.join(FORWARD_BEFORE);
    if let Ok(before) = std::fs::read_to_string(&keep) {
        std::fs::write(IP_FORWARD, before.trim())
            .map_err(|e| format!("pod network: restore {IP_FORWARD}: {e}"))?;
        let _ = std::fs::remove_file(keep);
    }
    Ok(())
}
