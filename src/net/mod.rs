//! The pod network: one Linux bridge (default `peapod0`, gateway 10.88.0.1/16) and one veth
//! pair per pod, its peer `eth0` in the pod's network namespace with an address from the
//! pod network's IPAM and a default route via the bridge. Pods reach each other over the
//! bridge, the host reaches them through the bridge's address; egress is masqueraded only
//! when enabled. Everything is configured over rtnetlink from this process (see `netlink`):
//! a pod's setup is a few syscalls, done on a blocking thread.
//!
//! State lives in `<state>/network/`: `ips/` (IPAM), `bridge` (the bridge peapod created,
//! for `--reset-network`). Host veth names are `ppv` + 12 hex digits of the pod uid.

pub mod cidr;
pub mod ipam;
mod masquerade;
pub mod netlink;

use cidr::Ipv4Cidr;
use ipam::Ipam;
use netlink::{Netlink, NlError};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const DEFAULT_BRIDGE: &str = "peapod0";
pub const DEFAULT_POD_CIDR: &str = "10.88.0.0/16";
/// The name of a pod's interface inside its namespace.
const POD_IFNAME: &str = "eth0";
const VETH_PREFIX: &str = "ppv";

/// How the pod network is set up (`peapod serve --bridge/--pod-cidr/--masquerade`, or
/// `PEAPOD_BRIDGE`, `PEAPOD_POD_CIDR`, `PEAPOD_MASQUERADE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkOptions {
    pub bridge: String,
    pub pod_cidr: Ipv4Cidr,
    /// Masquerade traffic from pods to the outside world (and enable ip_forward).
    pub masquerade: bool,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            bridge: DEFAULT_BRIDGE.to_string(),
            pod_cidr: Ipv4Cidr::DEFAULT_PODS,
            masquerade: false,
        }
    }
}

impl NetworkOptions {
    /// Options from the given values, each falling back to the environment, then the default.
    pub fn resolve(
        bridge: Option<String>,
        pod_cidr: Option<String>,
        masquerade: bool,
    ) -> Result<NetworkOptions, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let bridge = bridge
            .or_else(|| env("PEAPOD_BRIDGE"))
            .unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
        check_ifname(&bridge)?;
        let pod_cidr: Ipv4Cidr = pod_cidr
            .or_else(|| env("PEAPOD_POD_CIDR"))
            .unwrap_or_else(|| DEFAULT_POD_CIDR.to_string())
            .parse()?;
        let masquerade = masquerade
            || env("PEAPOD_MASQUERADE").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"));
        Ok(NetworkOptions {
            bridge,
            pod_cidr,
            masquerade,
        })
    }
}

fn check_ifname(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "pod network bridge {name:?}: use 1 to 15 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// The host end of pod `uid`'s veth pair (15 bytes at most, as the kernel requires).
pub fn host_veth_name(uid: &str) -> String {
    let hex: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    format!("{VETH_PREFIX}{hex}")
}

/// `<state>/network`.
pub fn state_dir(state: &Path) -> PathBuf {
    state.join("network")
}

fn nl_err(e: NlError) -> String {
    format!("pod network: {e}")
}

/// Durations of per-pod network setups in this process, for `peapod bench pods`.
static SETUP_TIMES: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

/// Takes the per-pod setup durations recorded so far.
pub fn take_setup_times() -> Vec<Duration> {
    std::mem::take(&mut *SETUP_TIMES.lock().unwrap_or_else(|p| p.into_inner()))
}

fn record_setup_time(d: Duration) {
    let mut v = SETUP_TIMES.lock().unwrap_or_else(|p| p.into_inner());
    if v.len() < 100_000 {
        v.push(d);
    }
}

/// The pod network of one node agent.
#[derive(Debug)]
pub struct PodNetwork {
    opts: NetworkOptions,
    dir: PathBuf,
    ipam: Ipam,
    /// The bridge's interface index once it exists (created with the first pod).
    bridge: Mutex<Option<i32>>,
}

impl PodNetwork {
    /// Opens the IPAM state under `<state>/network` and applies the masquerade setting
    /// (this runs `nft` when masquerade is on, or when a previous run had it on: never on
    /// a pod's path).
    pub fn open(opts: NetworkOptions, state: &Path) -> Result<PodNetwork, String> {
        let dir = state_dir(state);
        let ipam = Ipam::open(&dir.join("ips"), opts.pod_cidr)?;
        let _ = std::fs::write(dir.join("bridge"), &opts.bridge);
        if opts.masquerade {
            masquerade::enable(&opts.bridge, opts.pod_cidr, &dir)?;
        } else {
            masquerade::disable_if_enabled_before(&opts.bridge, &dir)?;
        }
        Ok(PodNetwork {
            opts,
            dir,
            ipam,
            bridge: Mutex::new(None),
        })
    }

    pub fn options(&self) -> &NetworkOptions {
        &self.opts
    }

    /// The address of pod `uid` (its existing one after a restart).
    pub fn allocate(&self, uid: &str) -> Result<Ipv4Addr, String> {
        self.ipam.allocate(uid)
    }

    pub fn ip_of(&self, uid: &str) -> Option<Ipv4Addr> {
        self.ipam.get(uid)
    }

    /// Uids of the pods that hold an address.
    pub fn pods_with_addresses(&self) -> Vec<String> {
        self.ipam
            .allocations()
            .into_iter()
            .map(|(u, _)| u)
            .collect()
    }

    /// The bridge's index, creating it (up, with the gateway address) when missing.
    fn ensure_bridge(&self, nl: &mut Netlink) -> Result<i32, String> {
        let mut cached = self.bridge.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = *cached {
            return Ok(i);
        }
        let name = &self.opts.bridge;
        match nl.create_bridge(name) {
            Ok(()) => {}
            Err(e) if e.exists() => {}
            Err(e) => return Err(nl_err(e)),
        }
        let link = nl
            .link(name)
            .map_err(nl_err)?
            .ok_or_else(|| format!("pod network: bridge {name} vanished after its creation"))?;
        if link.kind != "bridge" {
            return Err(format!(
                "pod network: the link {name} exists and is not a bridge ({}); choose another name with --bridge",
                if link.kind.is_empty() {
                    "a device"
                } else {
                    &link.kind
                }
            ));
        }
        nl.set_up(link.index).map_err(nl_err)?;
        let cidr = self.opts.pod_cidr;
        match nl.add_address(link.index, cidr.gateway(), cidr.prefix(), cidr.broadcast()) {
            Ok(()) => {}
            Err(e) if e.exists() => {}
            Err(e) => return Err(nl_err(e)),
        }
        *cached = Some(link.index);
        Ok(link.index)
    }

    /// Connects pod `uid`'s sandbox (holder pid `sandbox_pid`) to the bridge with its
    /// address. Blocking (a few netlink round trips and one short thread): call it from a
    /// blocking task. A pod whose host veth exists is already connected (a re-adopted pod)
    /// and is left as it is; a failed setup removes its veth again, so a retry starts clean.
    pub fn attach(&self, uid: &str, sandbox_pid: i32) -> Result<Ipv4Addr, String> {
        let started = Instant::now();
        let ip = self.ipam.allocate(uid)?;
        let host = host_veth_name(uid);
        let mut nl = Netlink::open().map_err(nl_err)?;
        if nl.link(&host).map_err(nl_err)?.is_some() {
            return Ok(ip);
        }
        let netns = open_pod_netns(sandbox_pid)?;
        let bridge = self.ensure_bridge(&mut nl)?;
        if let Err(e) = nl.create_veth(&host, bridge, POD_IFNAME, netns.as_raw_fd()) {
            // The bridge may have been deleted behind our back: look it up again next time.
            *self.bridge.lock().unwrap_or_else(|p| p.into_inner()) = None;
            return Err(nl_err(e));
        }
        let cidr = self.opts.pod_cidr;
        let inside = std::thread::scope(|s| {
            s.spawn(|| configure_inside(&netns, ip, cidr))
                .join()
                .unwrap_or_else(|_| Err("pod network: the setup thread panicked".into()))
        });
        if let Err(e) = inside {
            let _ = nl.delete_link(&host);
            return Err(e);
        }
        record_setup_time(started.elapsed());
        Ok(ip)
    }

    /// Removes pod `uid`'s veth pair (if any) and frees its address.
    pub fn detach(&self, uid: &str) -> Result<(), String> {
        let host = host_veth_name(uid);
        let mut nl = Netlink::open().map_err(nl_err)?;
        match nl.delete_link(&host) {
            Ok(()) => {}
            Err(e) if e.no_device() => {}
            Err(e) => return Err(nl_err(e)),
        }
        self.ipam.release(uid).map(|_| ())
    }

    pub fn state_dir(&self) -> &Path {
        &self.dir
    }
}

/// The network namespace of the sandbox holder `pid`, refusing the host's own.
fn open_pod_netns(pid: i32) -> Result<OwnedFd, String> {
    let path = format!("/proc/{pid}/ns/net");
    let file = std::fs::File::open(&path)
        .map_err(|e| format!("pod network: open the pod's network namespace {path}: {e}"))?;
    let theirs = file.metadata().map(|m| (m.dev(), m.ino()));
    let ours = std::fs::metadata("/proc/thread-self/ns/net").map(|m| (m.dev(), m.ino()));
    if let (Ok(a), Ok(b)) = (&theirs, &ours)
        && a == b
    {
        return Err(format!(
            "pod network: sandbox pid {pid} shares the host's network namespace"
        ));
    }
    Ok(OwnedFd::from(file))
}

/// Inside the pod's namespace (on a thread of its own that enters it and then ends):
/// eth0 up, address `ip` on it and the default route via the gateway.
fn configure_inside(netns: &OwnedFd, ip: Ipv4Addr, cidr: Ipv4Cidr) -> Result<(), String> {
    // SAFETY: setns on a namespace fd we hold; it changes only this (short-lived) thread.
    if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!(
            "pod network: enter the pod's network namespace: {}",
            std::io::Error::last_os_error()
        ));
    }
    let mut nl = Netlink::open().map_err(nl_err)?;
    let eth0 = nl
        .link(POD_IFNAME)
        .map_err(nl_err)?
        .ok_or("pod network: eth0 is missing in the pod's namespace after its creation")?;
    nl.set_up(eth0.index).map_err(nl_err)?;
    match nl.add_address(eth0.index, ip, cidr.prefix(), cidr.broadcast()) {
        Ok(()) => {}
        Err(e) if e.exists() => {}
        Err(e) => return Err(nl_err(e)),
    }
    match nl.add_default_route(eth0.index, cidr.gateway()) {
        Ok(()) => Ok(()),
        Err(e) if e.exists() => Ok(()),
        Err(e) => Err(nl_err(e)),
    }
}

/// `peapod serve --reset-network`: removes what peapod created for the pod network of
/// `state` — the bridge (`opts.bridge` and the one recorded in the state), the veths on it
/// and those of pods in its IPAM state, peapod's nftables table, the IPAM state — and
/// nothing else. Returns one line per thing removed.
pub fn reset(opts: &NetworkOptions, state: &Path) -> Result<Vec<String>, String> {
    let dir = state_dir(state);
    let mut bridges = vec![opts.bridge.clone()];
    if let Ok(recorded) = std::fs::read_to_string(dir.join("bridge")) {
        let recorded = recorded.trim().to_string();
        if check_ifname(&recorded).is_ok() && !bridges.contains(&recorded) {
            bridges.push(recorded);
        }
    }
    let ips = dir.join("ips");
    let pod_veths: Vec<String> = (if ips.exists() {
        Ipam::open(&ips, opts.pod_cidr)
    } else {
        Err(String::new())
    })
    .map(|i| {
        i.allocations()
            .into_iter()
            .map(|(u, _)| host_veth_name(&u))
            .collect()
    })
    .unwrap_or_default();
    let mut done = Vec::new();
    let mut nl = Netlink::open().map_err(nl_err)?;
    let links = nl.links().map_err(nl_err)?;
    let ours: Vec<i32> = links
        .iter()
        .filter(|l| l.kind == "bridge" && bridges.contains(&l.name))
        .map(|l| l.index)
        .collect();
    for l in &links {
        let on_bridge = l.master.is_some_and(|m| ours.contains(&m));
        if l.kind == "veth" && (on_bridge || pod_veths.contains(&l.name)) {
            match nl.delete_link(&l.name) {
                Ok(()) => done.push(format!("removed veth {}", l.name)),
                Err(e) if e.no_device() => {}
                Err(e) => return Err(nl_err(e)),
            }
        }
    }
    for l in links.iter().filter(|l| ours.contains(&l.index)) {
        match nl.delete_link(&l.name) {
            Ok(()) => done.push(format!("removed bridge {}", l.name)),
            Err(e) if e.no_device() => {}
            Err(e) => return Err(nl_err(e)),
        }
    }
    for b in &bridges {
        if masquerade::present(b) {
            done.push(format!(
                "removed nftables table ip {}",
                masquerade::table(b)
            ));
        }
        masquerade::disable(b, &dir)?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("pod network: remove {}: {e}", dir.display()))?;
        done.push(format!("removed {}", dir.display()));
    }
    Ok(done)
}

/// Whether link `name` exists in this network namespace (for tests and diagnostics).
pub fn link_exists(name: &str) -> Result<bool, String> {
    Netlink::open()
        .and_then(|mut nl| nl.link(name))
        .map(|l| l.is_some())
        .map_err(nl_err)
}

#[cfg(test)]
mod tests;
