//! Networking that peapod runs on the host: the pod network (this module), the service proxy
//! (`proxy`), port-forward into pod network namespaces (`portforward`) and the cluster DNS
//! server (`dns`). Knows `api` and `runtime` only.
//!
//! The pod network: one Linux bridge (default `peapod0`, gateway 10.88.0.1/16) and one veth
//! pair per pod, its peer `eth0` in the pod's network namespace with an address from the
//! pod network's IPAM and a default route via the bridge. Pods reach each other over the
//! bridge, the host reaches them through the bridge's address; egress is masqueraded only
//! when enabled. Everything is configured over rtnetlink from this process (see `netlink`):
//! a pod's setup is a few syscalls, done on a blocking thread.
//!
//! State lives in `<state>/network/`: `ips/` (IPAM), `attached/<uid>` (pods whose setup
//! finished), `bridge` (the bridge peapod created, for `--reset-network`). Host veth names are `ppv` + 12 hex digits of the pod uid.

pub mod cidr;
pub mod dns;
pub mod ipam;
mod masquerade;
pub mod netlink;
pub mod portforward;
pub mod proxy;

use cidr::Ipv4Cidr;
use ipam::Ipam;
use netlink::{Netlink, NlError};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
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

/// Per-pod network setups in this process, for `peapod bench pods`: (the setup's own work,
/// the time the pod waited for it including the hand-over to the network thread).
static SETUP_TIMES: Mutex<Vec<(Duration, Duration)>> = Mutex::new(Vec::new());

/// Takes the per-pod setup durations recorded so far: (work, waited) each.
pub fn take_setup_times() -> Vec<(Duration, Duration)> {
    std::mem::take(&mut *SETUP_TIMES.lock().unwrap_or_else(|p| p.into_inner()))
}

fn record_setup_time(work: Duration, waited: Duration) {
    let mut v = SETUP_TIMES.lock().unwrap_or_else(|p| p.into_inner());
    if v.len() < 100_000 {
        v.push((work, waited));
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
    thread: NetThread,
}

impl PodNetwork {
    /// Opens the IPAM state under `<state>/network` and applies the masquerade setting
    /// (this runs `nft` when masquerade is on, or when a previous run had it on: never on
    /// a pod's path).
    pub fn open(opts: NetworkOptions, state: &Path) -> Result<PodNetwork, String> {
        let dir = state_dir(state);
        let ipam = Ipam::open(&dir.join("ips"), opts.pod_cidr)?;
        let attached = dir.join("attached");
        std::fs::create_dir_all(&attached)
            .map_err(|e| format!("pod network: create {}: {e}", attached.display()))?;
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
            thread: NetThread::default(),
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
        // What Services need of the bridge; pods still reach each other without it.
        if let Err(e) = proxy::prepare_bridge(name) {
            tracing::warn!("pod network: Services may not reach pods: {e}");
        }
        *cached = Some(link.index);
        Ok(link.index)
    }

    /// Create the bridge now (normally it comes with the first pod): the cluster DNS listens
    /// on its gateway address. Returns that address.
    pub fn ensure_bridge_now(&self) -> Result<Ipv4Addr, String> {
        let mut nl = Netlink::open().map_err(nl_err)?;
        self.ensure_bridge(&mut nl)?;
        Ok(self.opts.pod_cidr.gateway())
    }

    /// `attach` on the pod network's own thread.
    pub async fn attach_pod(
        self: &Arc<Self>,
        uid: &str,
        sandbox_pid: i32,
    ) -> Result<Ipv4Addr, String> {
        let started = Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (me, uid) = (self.clone(), uid.to_string());
        self.thread.run(Box::new(move || {
            let _ = tx.send(me.attach(&uid, sandbox_pid));
        }))?;
        let (ip, work) = rx
            .await
            .map_err(|_| "pod network: its thread ended during the setup".to_string())??;
        if let Some(work) = work {
            record_setup_time(work, started.elapsed());
        }
        Ok(ip)
    }

    /// Connects pod `uid`'s sandbox (holder pid `sandbox_pid`) to the bridge with its
    /// address. Blocking (a few netlink round trips; the calling thread enters the pod's
    /// network namespace for some of them and returns): the agent calls it through
    /// `attach_pod`. A pod whose setup finished (its veth exists and
    /// `<state>/network/attached/<uid>` too) is a re-adopted pod and is left as it is; a
    /// failed setup removes its veth again, so a retry starts clean.
    /// Returns the address and, when it did the setup, how long that took.
    pub fn attach(
        &self,
        uid: &str,
        sandbox_pid: i32,
    ) -> Result<(Ipv4Addr, Option<Duration>), String> {
        let started = Instant::now();
        let ip = self.ipam.allocate(uid)?;
        let host = host_veth_name(uid);
        let mut nl = Netlink::open().map_err(nl_err)?;
        let marker = self.dir.join("attached").join(uid);
        if nl.link(&host).map_err(nl_err)?.is_some() {
            if marker.exists() {
                return Ok((ip, None));
            }
            // Left by a setup that never finished (peapod died in it): start over.
            match nl.delete_link(&host) {
                Ok(()) => {}
                Err(e) if e.no_device() => {}
                Err(e) => return Err(nl_err(e)),
            }
        }
        let netns = open_pod_netns(sandbox_pid)?;
        let bridge = self.ensure_bridge(&mut nl)?;
        if let Err(e) = nl.create_veth(&host, bridge, POD_IFNAME, netns.as_raw_fd()) {
            // The bridge may have been deleted behind our back: look it up again next time.
            *self.bridge.lock().unwrap_or_else(|p| p.into_inner()) = None;
            return Err(nl_err(e));
        }
        // Hairpin: a pod reaching itself through its Service gets its packets back.
        if let Err(e) = proxy::prepare_port(&host) {
            tracing::warn!("pod network: pod {uid} may not reach itself through a Service: {e}");
        }
        let cidr = self.opts.pod_cidr;
        let done = in_netns(&netns, || configure_inside(ip, cidr)).and_then(|()| {
            std::fs::write(&marker, b"")
                .map_err(|e| format!("pod network: write {}: {e}", marker.display()))
        });
        if let Err(e) = done {
            let _ = nl.delete_link(&host);
            return Err(e);
        }
        Ok((ip, Some(started.elapsed())))
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
        let _ = std::fs::remove_file(self.dir.join("attached").join(uid));
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

thread_local! {
    /// This thread's netns fd from before it entered a pod's, and whether returning to it
    /// failed (the thread must then do no more network work: see `NetThread`).
    static HOME_NETNS: std::cell::RefCell<Option<OwnedFd>> = const { std::cell::RefCell::new(None) };
    static STRANDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread inside `netns`, then returns the thread to its own namespace.
/// Entering on the calling thread (instead of a fresh thread per pod) matters: on a busy
/// machine a new thread waits milliseconds to be scheduled, the netlink work ~0.2 ms.
fn in_netns<T>(netns: &OwnedFd, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    if STRANDED.get() {
        return Err("pod network: this thread is stuck in a pod's network namespace".into());
    }
    let home = HOME_NETNS.with_borrow_mut(|home| -> Result<RawFd, String> {
        if home.is_none() {
            let file = std::fs::File::open("/proc/thread-self/ns/net")
                .map_err(|e| format!("pod network: open this thread's network namespace: {e}"))?;
            *home = Some(OwnedFd::from(file));
        }
        Ok(home.as_ref().map_or(-1, |fd| fd.as_raw_fd()))
    })?;
    // SAFETY: setns on namespace fds we hold; it changes only the calling thread.
    if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!(
            "pod network: enter the pod's network namespace: {}",
            std::io::Error::last_os_error()
        ));
    }
    let result = f();
    // SAFETY: as above, back to the namespace this thread started in.
    if unsafe { libc::setns(home, libc::CLONE_NEWNET) } != 0 {
        STRANDED.set(true);
        return Err(format!(
            "pod network: return from the pod's network namespace: {}",
            std::io::Error::last_os_error()
        ));
    }
    result
}

/// Inside the pod's namespace: eth0 up, address `ip` on it and the default route.
fn configure_inside(ip: Ipv4Addr, cidr: Ipv4Cidr) -> Result<(), String> {
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

type Job = Box<dyn FnOnce() + Send>;

/// The thread that sets up pods' networks: one long-lived thread (woken per pod) instead of a
/// blocking task plus a thread per pod. It enters pods' namespaces and returns; should a
/// return ever fail, it ends and the next pod gets a new thread.
#[derive(Debug, Default)]
struct NetThread {
    tx: Mutex<Option<std::sync::mpsc::Sender<Job>>>,
}

impl NetThread {
    fn run(&self, job: Job) -> Result<(), String> {
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let job = match tx.as_ref() {
            Some(t) => match t.send(job) {
                Ok(()) => return Ok(()),
                // The thread ended (see `STRANDED`): start another.
                Err(std::sync::mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (new_tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("peapod-net".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                    if STRANDED.get() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("pod network: start its thread: {e}"))?;
        new_tx
            .send(job)
            .map_err(|_| "pod network: its thread ended at once".to_string())?;
        *tx = Some(new_tx);
        Ok(())
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
