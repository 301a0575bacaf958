//! Process model: where state lives, who holds the store, and how a command reaches the
//! cluster. The first peapod process (console or `peapod serve`) opens the store — redb holds
//! an exclusive lock — runs the controllers and serves the API on `<state>/peapod.sock`.
//! A CLI verb uses that socket when it answers, and otherwise opens the store itself for the
//! length of the command (running the controllers meanwhile, so cascades still happen).

use crate::cluster::Cluster;
use crate::cluster::embedded::EmbeddedCluster;
use crate::cluster::remote::RemoteCluster;
use crate::store::{OpenError, Store, StoreOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub const STORE_FILE: &str = "store.redb";
pub const SOCKET_FILE: &str = "peapod.sock";
pub const PID_FILE: &str = "peapod.pid";

/// `--state-dir`, else `PEAPOD_HOME`, else /var/lib/peapod as root, else the XDG data dir.
pub fn state_dir(flag: Option<PathBuf>) -> PathBuf {
    if let Some(p) = flag {
        return p;
    }
    if let Some(p) = std::env::var_os("PEAPOD_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/peapod");
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("peapod");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/peapod")
}

pub fn socket_path(state: &Path) -> PathBuf {
    state.join(SOCKET_FILE)
}

/// A connection to the cluster for one command.
pub struct Connection {
    pub cluster: Arc<dyn Cluster>,
    /// True when no `peapod serve`/console runs and this process opened the store itself.
    pub embedded: bool,
    controllers: Vec<JoinHandle<()>>,
    /// Stops the socket server this connection runs (long-running embedded commands).
    server: Option<(tokio::sync::oneshot::Sender<()>, PathBuf)>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        for h in &self.controllers {
            h.abort();
        }
        if let Some((stop, socket)) = self.server.take() {
            let _ = stop.send(());
            // The runtime may end before the server task cleans up; we still hold the store,
            // so the socket is ours to remove.
            let _ = std::fs::remove_file(socket);
        }
    }
}

fn ensure_dir(state: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state)
        .map_err(|e| format!("cannot create state directory {}: {e}", state.display()))
}

/// Who holds the store, for the lock message.
fn holder(state: &Path) -> String {
    match std::fs::read_to_string(state.join(PID_FILE)) {
        Ok(pid) if !pid.trim().is_empty() => format!("peapod pid {}", pid.trim()),
        _ => "another peapod process".to_string(),
    }
}

fn write_pid(state: &Path) {
    let _ = std::fs::write(state.join(PID_FILE), format!("{}\n", std::process::id()));
}

/// Open the store of `state`, writing our pid next to it.
pub fn open_store(state: &Path) -> Result<Arc<Store>, OpenFailure> {
    ensure_dir(state).map_err(OpenFailure::Other)?;
    let path = state.join(STORE_FILE);
    match Store::open(&path, StoreOptions::default()) {
        Ok(s) => {
            write_pid(state);
            Ok(Arc::new(s))
        }
        Err(OpenError::Locked) => Err(OpenFailure::Locked(format!(
            "the store {} is in use by {}; stop it or use its socket {}",
            path.display(),
            holder(state),
            socket_path(state).display()
        ))),
        Err(OpenError::Other(m)) => Err(OpenFailure::Other(m)),
    }
}

#[derive(Debug)]
pub enum OpenFailure {
    Locked(String),
    Other(String),
}

impl OpenFailure {
    pub fn message(self) -> String {
        match self {
            OpenFailure::Locked(m) | OpenFailure::Other(m) => m,
        }
    }
}

fn embedded_cluster(state: &Path, store: Arc<Store>) -> Arc<EmbeddedCluster> {
    // Pod metrics read the node agent's cgroups.
    let c = EmbeddedCluster::new(store, state.join("logs"));
    Arc::new(c.with_cgroup_parent(crate::node::agent::cgroup_parent()))
}

/// Use the socket of a running peapod if there is one, else open the store directly. A store
/// held by another short-lived command is waited for (up to 10 s). With `serve_socket`, an
/// embedded connection also serves the API socket while it lives.
pub async fn connect(state: &Path, serve_socket: bool) -> Result<Connection, String> {
    let socket = socket_path(state);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if socket.exists() {
            let remote = RemoteCluster::new(socket.clone());
            if remote.ping().await.is_ok() {
                return Ok(Connection {
                    cluster: Arc::new(remote),
                    embedded: false,
                    controllers: Vec::new(),
                    server: None,
                });
            }
        }
        match open_store(state) {
            Ok(store) => {
                let cluster: Arc<dyn Cluster> = embedded_cluster(state, store);
                let controllers = crate::controllers::start_all(cluster.clone());
                let server = serve_socket.then(|| {
                    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                    let (c, s) = (cluster.clone(), socket.clone());
                    tokio::spawn(async move {
                        let _ = crate::server::serve(c, &s, async move {
                            let _ = stopped.await;
                        })
                        .await;
                    });
                    (stop, socket.clone())
                });
                return Ok(Connection {
                    cluster,
                    embedded: true,
                    controllers,
                    server,
                });
            }
            Err(OpenFailure::Locked(msg)) => {
                if Instant::now() > deadline {
                    return Err(msg);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(OpenFailure::Other(msg)) => return Err(msg),
        }
    }
}

/// The nftables table the service proxy owns: `PEAPOD_SERVICE_PROXY_TABLE` (tests use their
/// own), else `peapod-svc`.
fn proxy_table() -> String {
    std::env::var("PEAPOD_SERVICE_PROXY_TABLE")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| crate::net::proxy::DEFAULT_TABLE.to_string())
}

/// The node agent runs only in the long-lived process (console or `peapod serve`): it
/// registers this machine as a Node and runs the pods bound to it. The scheduler runs with
/// it: binding pods is only useful where a node agent will run them (and a bound pod waits
/// for its node agent to confirm its deletion).
fn start_node_agent(
    cluster: Arc<dyn Cluster>,
    state: &Path,
    network: Option<crate::net::NetworkOptions>,
) -> Vec<JoinHandle<()>> {
    let name = crate::node::info::hostname();
    let opts = crate::node::NodeOptions {
        name: name.clone(),
        max_pods: 110,
        state_dir: state.to_path_buf(),
    };
    let mut handles = vec![tokio::spawn(crate::node::run(cluster.clone(), opts))];
    // The local provisioner binds claims to directories on this machine.
    handles.push(crate::controllers::pv::spawn_provisioner(
        cluster.clone(),
        state.join("volumes"),
    ));
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "peapod: pods will not run: running pods needs root (namespaces, cgroups, mounts)"
        );
        return handles;
    }
    match crate::node::agent::AgentOptions::new(name, state.to_path_buf()) {
        Ok(mut opts) => {
            if let Some(network) = network {
                opts.network = network;
            }
            handles.extend(crate::controllers::runtime::spawn(
                cluster.clone(),
                Arc::new(crate::controllers::scheduler::Scheduler::default()),
            ));
            handles.push(tokio::spawn(crate::node::service_proxy::run(
                cluster.clone(),
                crate::net::proxy::Proxy::new(proxy_table()),
            )));
            handles.push(tokio::spawn(crate::node::agent::run(cluster, opts)));
        }
        Err(e) => eprintln!("peapod: pods will not run: {e}"),
    }
    handles
}

/// Options of `peapod serve`.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub network: crate::net::NetworkOptions,
}

/// `peapod serve --reset-network`: removes the pod network peapod created for `state`
/// (refused while peapod serves it: its pods would lose their network). Returns what was
/// removed, one line each.
pub async fn reset_network(
    state: &Path,
    network: &crate::net::NetworkOptions,
) -> Result<Vec<String>, String> {
    let socket = socket_path(state);
    if socket.exists() && RemoteCluster::new(socket.clone()).ping().await.is_ok() {
        return Err(format!(
            "peapod is serving {} ({}); stop it before --reset-network",
            state.display(),
            holder(state)
        ));
    }
    let (network, state) = (network.clone(), state.to_path_buf());
    tokio::task::spawn_blocking(move || {
        let mut done = crate::net::reset(&network, &state)?;
        let proxy = crate::net::proxy::Proxy::new(proxy_table());
        if proxy.remove()? {
            done.push(format!("removed nftables table ip {}", proxy.table()));
        }
        Ok(done)
    })
    .await
    .map_err(|e| format!("pod network: {e}"))?
}

/// Resolves on SIGINT or SIGTERM.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut i), Ok(mut t)) => {
            tokio::select! {
                _ = i.recv() => {}
                _ = t.recv() => {}
            }
        }
        // Without signal handlers there is nothing to wait for but the default disposition.
        _ => std::future::pending::<()>().await,
    }
}

/// Open the store for a long-running process. A short CLI command may hold it for a moment
/// (it opened the store because nothing served yet): wait for it. A serving peapod is an error.
async fn open_store_for_serve(state: &Path) -> Result<Arc<Store>, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match open_store(state) {
            Ok(s) => return Ok(s),
            Err(OpenFailure::Other(m)) => return Err(m),
            Err(OpenFailure::Locked(msg)) => {
                let socket = socket_path(state);
                if socket.exists() && RemoteCluster::new(socket.clone()).ping().await.is_ok() {
                    return Err(format!(
                        "peapod is already running for {} ({}); its socket is {}",
                        state.display(),
                        holder(state),
                        socket.display()
                    ));
                }
                if Instant::now() > deadline {
                    return Err(msg);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Run headless: hold the store, run the controllers, serve the socket until SIGINT/SIGTERM.
pub async fn serve(state: &Path, opts: ServeOptions) -> Result<(), String> {
    init_logging(LogTarget::Stderr, state);
    let store = open_store_for_serve(state).await?;
    let cluster: Arc<dyn Cluster> = embedded_cluster(state, store);
    let mut controllers = crate::controllers::start_all(cluster.clone());
    controllers.extend(start_node_agent(cluster.clone(), state, Some(opts.network)));
    let socket = socket_path(state);
    eprintln!("peapod serving {} on {}", state.display(), socket.display());
    let result = crate::server::serve(cluster, &socket, termination()).await;
    for h in controllers {
        h.abort();
    }
    crate::node::agent::remove_cgroup_parent_if_empty();
    let _ = std::fs::remove_file(state.join(PID_FILE));
    result.map_err(|e| format!("cannot serve on {}: {e}", socket.display()))
}

/// The console. It attaches to a running peapod when one serves this state directory;
/// otherwise it becomes the server itself (store, controllers, socket) for as long as it runs.
pub async fn console(state: &Path, opts: crate::tui::ConsoleOptions) -> Result<(), String> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err("the console needs a terminal; for scripts use verbs such as `peapod get pods` or run `peapod serve`".into());
    }
    let socket = socket_path(state);
    if socket.exists() {
        let remote = RemoteCluster::new(socket.clone());
        if remote.ping().await.is_ok() {
            return crate::tui::run(Arc::new(remote), opts).await;
        }
    }
    let store = open_store_for_serve(state).await?;
    // The screen belongs to the console: its log lines go to a file.
    init_logging(LogTarget::File, state);
    let cluster: Arc<dyn Cluster> = embedded_cluster(state, store);
    let mut controllers = crate::controllers::start_all(cluster.clone());
    controllers.extend(start_node_agent(cluster.clone(), state, None));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let (c, s) = (cluster.clone(), socket.clone());
        tokio::spawn(async move {
            crate::server::serve(c, &s, async move {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    let result = crate::tui::run(cluster, opts).await;
    let _ = stop_tx.send(());
    let _ = server.await;
    for h in controllers {
        h.abort();
    }
    crate::node::agent::remove_cgroup_parent_if_empty();
    let _ = std::fs::remove_file(state.join(PID_FILE));
    result
}

/// Where the long-running process writes its log lines.
enum LogTarget {
    Stderr,
    /// `<state>/peapod.log`, appended.
    File,
}

/// Log lines of the controllers and the node agent: warnings by default, `PEAPOD_LOG`
/// (a tracing filter such as `info` or `peapod::node=debug`) for more.
fn init_logging(target: LogTarget, state: &Path) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PEAPOD_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match target {
        LogTarget::Stderr => builder.with_writer(std::io::stderr).try_init(),
        LogTarget::File => {
            let path = state.join("peapod.log");
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(file) => builder
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .try_init(),
                Err(_) => return,
            }
        }
    };
}
