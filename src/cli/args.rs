//! Command-line arguments (clap derive), kubectl's verbs and flag names.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "peapod",
    version,
    about = "A one-machine Kubernetes with a kubectl-style command line",
    disable_help_subcommand = true
)]
pub struct Cli {
    /// State directory (default: $PEAPOD_HOME, else /var/lib/peapod as root, else the XDG data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Namespace of the request (default: the one saved by `config set-namespace`, else `default`).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    #[command(flatten)]
    pub console: ConsoleArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags of the console (`peapod` with no verb).
#[derive(Debug, Args, Default)]
pub struct ConsoleArgs {
    /// Console: remove every action that changes the cluster (delete, kill, scale, edit...).
    #[arg(long)]
    pub readonly: bool,
    /// Console: theme name (dark, light, high-contrast, default) or a theme file.
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Console: config file instead of ~/.config/peapod/config.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Console: capture the mouse (off by default so terminal text selection works).
    #[arg(long)]
    pub mouse: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update objects from manifests.
    Apply(ApplyArgs),
    /// Create objects from manifests, `create namespace NAME` or `create job NAME --from=cronjob/X`.
    Create(CreateArgs),
    /// Display one or many objects.
    Get(GetArgs),
    /// Show details of objects, with their events.
    Describe(DescribeArgs),
    /// Delete objects by name, selector, or manifest.
    Delete(DeleteArgs),
    /// Add, change or remove labels.
    Label(LabelArgs),
    /// Add, change or remove annotations.
    Annotate(LabelArgs),
    /// Edit an object in $KUBE_EDITOR / $EDITOR.
    Edit(EditArgs),
    /// Settings of this command line (current namespace).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List the resource types peapod serves.
    ApiResources(ApiResourcesArgs),
    /// Print client and server versions.
    Version(VersionArgs),
    /// Print the logs of a container in a pod.
    Logs(LogsArgs),
    /// Run a command in a container of a running pod.
    Exec(ExecArgs),
    /// Forward local ports to a pod: `port-forward pod/NAME|svc/NAME|deploy/NAME [LOCAL:]REMOTE...`.
    PortForward(PortForwardArgs),
    /// Show CPU and memory usage of pods (`top pod`).
    #[command(subcommand)]
    Top(super::top::TopCommand),
    /// Run headless: hold the store, run controllers and serve the API socket.
    Serve(ServeArgs),
    /// Measure the store and API on a private temporary instance (see the README).
    Bench(BenchArgs),
    /// Manage local images: import, pull, ls, rm, inspect (no cluster needed).
    #[command(subcommand)]
    Image(super::image::ImageCommand),
    /// Check the console's config, keymaps and theme; print each problem on one line.
    CheckConfig(super::check_config::CheckConfigArgs),
    /// Manage a Deployment's rollout: status, history, undo, pause, resume, restart.
    #[command(subcommand)]
    Rollout(super::rollout::RolloutCommand),
    /// Set fields of objects: `set image deploy/NAME CONTAINER=IMAGE`.
    #[command(subcommand)]
    Set(super::set_image::SetCommand),
    /// Mark a node unschedulable.
    Cordon(NodeArgs),
    /// Mark a node schedulable again.
    Uncordon(NodeArgs),
    /// Cordon a node and evict its pods.
    Drain(DrainArgs),
    /// Add or remove node taints: `taint nodes NODE key=value:NoSchedule`, `key:NoSchedule-`.
    Taint(TaintArgs),
    /// Set the number of replicas of deployments, replicasets, replicationcontrollers, statefulsets.
    Scale(ScaleArgs),
}

#[derive(Debug, Args, Default)]
pub struct NodeArgs {
    /// NODE or node/NODE.
    #[arg(value_name = "NODE")]
    pub node: String,
    /// none, client or server.
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// NODE or node/NODE.
    #[arg(value_name = "NODE")]
    pub node: String,
    /// Also evict pods that no controller manages (they are not recreated).
    #[arg(long)]
    pub force: bool,
    /// Leave DaemonSet-managed pods (their controller would put them back).
    #[arg(long)]
    pub ignore_daemonsets: bool,
    /// Also evict pods with emptyDir volumes (their data is lost).
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Seconds each pod gets to stop (-1: the pod's own grace period).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Give up after this long (0: wait forever).
    #[arg(long, default_value = "0s")]
    pub timeout: String,
}

impl Default for DrainArgs {
    fn default() -> Self {
        DrainArgs {
            node: String::new(),
            force: false,
            ignore_daemonsets: false,
            delete_emptydir_data: false,
            grace_period: -1,
            timeout: "0s".into(),
        }
    }
}

#[derive(Debug, Args, Default)]
pub struct TaintArgs {
    /// `nodes NODE key=value:Effect...` or `node/NODE key:Effect-...`.
    #[arg(value_name = "ARGS", required = true)]
    pub args: Vec<String>,
    /// Replace a taint with the same key and effect.
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Pods created in batches.
    #[arg(long, default_value_t = 10_000)]
    pub pods: usize,
    /// Pods per batch request.
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Pods created with one request (one durable transaction) each.
    #[arg(long, default_value_t = 2_000)]
    pub single: usize,
    /// Concurrent clients for the single creates.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Watchers of pods during the run.
    #[arg(long, default_value_t = 20)]
    pub watchers: usize,
    /// `pods`: the pod runtime benchmark instead of the store one.
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
}

/// Flags of `peapod serve`: the pod network.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Pod network: the Linux bridge pods attach to (created when the node agent starts; the
    /// cluster DNS listens on its address).
    #[arg(
        long,
        value_name = "NAME",
        env = "PEAPOD_BRIDGE",
        default_value = "peapod0"
    )]
    pub bridge: Option<String>,
    /// Pod network: the pods' IPv4 network; the bridge gets its first address.
    #[arg(
        long,
        value_name = "CIDR",
        env = "PEAPOD_POD_CIDR",
        default_value = "10.88.0.0/16"
    )]
    pub pod_cidr: Option<String>,
    /// Pod network: masquerade pods' traffic to the outside world (nftables table
    /// `peapod_net_<bridge>`) and enable IPv4 forwarding. Off by default.
    #[arg(long, env = "PEAPOD_MASQUERADE", value_parser = clap::builder::BoolishValueParser::new())]
    pub masquerade: bool,
    /// Remove everything peapod created for the pod network of this state directory (the
    /// bridge, leftover pod veths, the address allocations, peapod's nftables tables for
    /// masquerading and Services), then exit. peapod must not be serving this state directory.
    #[arg(long)]
    pub reset_network: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Run real busybox pods (root): create→Running, many at once, memory, delete→gone.
    Pods {
        /// Sequential single-pod runs.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Pods created at once.
        #[arg(long, default_value_t = 200)]
        count: usize,
    },
    /// The console without a cluster: frame and key→frame times with 10,000 pods, memory,
    /// and 1,000,000 log lines through the logs pane.
    Console {
        /// Pods in the console.
        #[arg(long, default_value_t = 10_000)]
        pods: usize,
        /// Timed frames per measurement.
        #[arg(long, default_value_t = 2_000)]
        frames: usize,
        /// Lines through the logs pane.
        #[arg(long, default_value_t = 1_000_000)]
        log_lines: usize,
        /// Only print where the pods' memory goes (the benchmark runs this in a new process).
        #[arg(long, hide = true)]
        memory_split: bool,
    },
    /// A Deployment scaled 0 → N → 0 with real pods (root): time to all Running, to all
    /// gone, peapod's CPU and peak memory.
    Deploy {
        /// Replicas to scale to.
        #[arg(long, default_value_t = 500)]
        replicas: usize,
    },
}

#[derive(Debug, Args, Default)]
pub struct ApplyArgs {
    /// Files, directories or `-` for stdin.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub filenames: Vec<String>,
    /// Process directories recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// strict (or true), warn, ignore (or false).
    #[arg(long, default_value = "strict", num_args = 0..=1, default_missing_value = "strict")]
    pub validate: String,
    /// none, client or server.
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
    /// name, yaml or json.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct CreateArgs {
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    #[arg(long, default_value = "strict", num_args = 0..=1, default_missing_value = "strict")]
    pub validate: String,
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// `namespace NAME` (or `ns NAME`), or `job NAME --from=cronjob/X`.
    #[arg(value_name = "WHAT NAME")]
    pub what: Vec<String>,
    /// With `create job`: the CronJob to copy the job template from (`cronjob/NAME`).
    #[arg(long)]
    pub from: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct GetArgs {
    /// `KIND [NAME...]`, `KIND1,KIND2`, `KIND/NAME...` or `all`.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub field_selector: Option<String>,
    /// wide, yaml, json, name, jsonpath=TEMPLATE.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    #[arg(long)]
    pub show_labels: bool,
    /// Label keys shown as columns (repeat or comma-separate).
    #[arg(short = 'L', long = "label-columns", value_delimiter = ',')]
    pub label_columns: Vec<String>,
    #[arg(long)]
    pub no_headers: bool,
    /// After listing, watch for changes.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Watch for changes without listing first.
    #[arg(long)]
    pub watch_only: bool,
    /// Sort by a JSONPath expression, e.g. `.metadata.name`.
    #[arg(long)]
    pub sort_by: Option<String>,
    /// Do not fail when the named objects do not exist.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// With `get events`: only the events about this object (`KIND/NAME`, as kubectl events
    /// --for).
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct DescribeArgs {
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Show events (default true).
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub show_events: bool,
}

#[derive(Debug, Args, Default)]
pub struct DeleteArgs {
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub filenames: Vec<String>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub field_selector: Option<String>,
    /// Delete every object of the kind in the namespace.
    #[arg(long)]
    pub all: bool,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Seconds given to the object to stop; negative means the object's default.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// With --grace-period=0, remove immediately without waiting for the pod to stop.
    #[arg(long)]
    pub force: bool,
    /// Delete immediately with a one-second grace period.
    #[arg(long)]
    pub now: bool,
    /// background, foreground or orphan (true = background, false = orphan).
    #[arg(long, default_value = "background", num_args = 0..=1, default_missing_value = "background")]
    pub cascade: String,
    /// Wait until the objects are gone (default true).
    #[arg(long, default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// How long to wait, e.g. 60s, 2m (0 waits forever).
    #[arg(long, default_value = "60s")]
    pub timeout: String,
    #[arg(long)]
    pub ignore_not_found: bool,
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
    /// `-o name` prints `pod/x` per deleted object.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct LabelArgs {
    /// `KIND NAME... key=value key2-` or `KIND/NAME ... key=value`.
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
    #[arg(long)]
    pub overwrite: bool,
    /// Print the current labels (annotations) instead of changing them.
    #[arg(long)]
    pub list: bool,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub field_selector: Option<String>,
    #[arg(long)]
    pub all: bool,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only update if the object is still at this resourceVersion.
    #[arg(long)]
    pub resource_version: Option<String>,
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct EditArgs {
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,
    #[arg(long, default_value = "strict", num_args = 0..=1, default_missing_value = "strict")]
    pub validate: String,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Save the default namespace of later commands.
    SetNamespace { name: String },
    /// kubectl alias: `config set-context --current --namespace=NAME` (the global
    /// `--namespace` flag carries the value).
    SetContext {
        /// Context name; only the current (`peapod`) exists.
        name: Option<String>,
        #[arg(long)]
        current: bool,
    },
    /// Show the settings.
    View,
    /// Print the default namespace.
    CurrentNamespace,
    /// Print the current context name.
    CurrentContext,
}

#[derive(Debug, Args, Default)]
pub struct ApiResourcesArgs {
    /// Only namespaced (true) or cluster-scoped (false) resources.
    #[arg(long)]
    pub namespaced: Option<bool>,
    /// `name` prints `pods`, `deployments.apps`, ...; `wide` adds verbs and categories.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    #[arg(long)]
    pub no_headers: bool,
    #[arg(long)]
    pub api_group: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct VersionArgs {
    /// Only the client version (do not contact the cluster).
    #[arg(long)]
    pub client: bool,
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct LogsArgs {
    /// `POD`, `TYPE/NAME` (pod, deploy, rs, sts, ds, job, svc), optionally followed by the
    /// container.
    #[arg(value_name = "POD")]
    pub targets: Vec<String>,
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Every container of the pod(s): init containers, containers, ephemeral containers.
    #[arg(long)]
    pub all_containers: bool,
    /// Start each line with `[pod/NAME/CONTAINER] `.
    #[arg(long)]
    pub prefix: bool,
    /// Pods with these labels (`app=web`); shows the last 10 lines unless --tail is given.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// How many logs may be followed at once with -l or --all-containers.
    #[arg(long, default_value_t = 5)]
    pub max_log_requests: usize,
    /// Keep going when one of several logs fails.
    #[arg(long)]
    pub ignore_errors: bool,
    #[arg(short = 'f', long)]
    pub follow: bool,
    #[arg(short = 'p', long)]
    pub previous: bool,
    #[arg(long)]
    pub timestamps: bool,
    /// Lines from the end; -1 shows all (10 with a selector).
    #[arg(long, allow_negative_numbers = true)]
    pub tail: Option<i64>,
    /// Only newer lines, e.g. 5s, 2m, 3h.
    #[arg(long)]
    pub since: Option<String>,
    /// Only lines at or after this RFC3339 time.
    #[arg(long)]
    pub since_time: Option<String>,
    /// Stop after this many bytes of log (0: no limit).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub limit_bytes: i64,
}

#[derive(Debug, Args, Default)]
pub struct ExecArgs {
    /// `POD` or `pod/POD`.
    #[arg(value_name = "POD")]
    pub pod: String,
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a terminal for the command.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The command and its arguments (after `--`).
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PortForwardArgs {
    /// `pod/NAME`, `svc/NAME`, `deploy/NAME` (or another controller), or a pod name.
    #[arg(value_name = "TYPE/NAME")]
    pub object: String,
    /// `[LOCAL:]REMOTE`: `8080:80`, `80`, `:80` (a random local port); REMOTE may be a port name.
    #[arg(value_name = "[LOCAL:]REMOTE", required = true)]
    pub ports: Vec<String>,
    /// Addresses to listen on (comma list): IPs or `localhost` (127.0.0.1 and ::1).
    #[arg(
        long = "address",
        value_name = "ADDRESSES",
        default_value = "localhost"
    )]
    pub address: Vec<String>,
    /// How long to wait for a pod of a controller or service to exist (default 1m).
    #[arg(long = "pod-running-timeout", value_name = "DURATION")]
    pub pod_running_timeout: Option<String>,
}

#[derive(Debug, Args, Default)]
pub struct ScaleArgs {
    /// `KIND NAME...` or `KIND/NAME...` (deploy, rs, rc, sts).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// The new desired number of replicas.
    #[arg(long, allow_hyphen_values = true)]
    pub replicas: Option<i64>,
    /// Only scale when the current number of replicas is this.
    #[arg(long, allow_hyphen_values = true)]
    pub current_replicas: Option<i64>,
    /// Only scale when the object is still at this resourceVersion.
    #[arg(long)]
    pub resource_version: Option<String>,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Every object of the given kinds in the namespace.
    #[arg(long)]
    pub all: bool,
    #[arg(long, default_value = "none", num_args = 0..=1, default_missing_value = "client")]
    pub dry_run: String,
    /// `-o name` prints `deployment.apps/web`.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("peapod").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn port_forward_args() {
        let c = parse(&["port-forward", "svc/web", "8080:80", ":443", "-n", "shop"]);
        assert_eq!(c.namespace.as_deref(), Some("shop"));
        let Some(Command::PortForward(a)) = c.command else {
            panic!("not port-forward");
        };
        assert_eq!(a.object, "svc/web");
        assert_eq!(a.ports, ["8080:80", ":443"]);
        assert_eq!(a.address, ["localhost"]);
        let c = parse(&[
            "port-forward",
            "deploy/api",
            "9000",
            "--address",
            "0.0.0.0,::1",
            "--address=127.0.0.2",
        ]);
        let Some(Command::PortForward(a)) = c.command else {
            panic!("not port-forward");
        };
        assert_eq!(a.address, ["0.0.0.0,::1", "127.0.0.2"]);
        // A port is required.
        assert!(Cli::try_parse_from(["peapod", "port-forward", "pod/web"]).is_err());
    }

    #[test]
    fn global_flags_anywhere() {
        let c = parse(&["get", "po", "-n", "dev", "--state-dir", "/tmp/x"]);
        assert_eq!(c.namespace.as_deref(), Some("dev"));
        assert_eq!(c.state_dir, Some(PathBuf::from("/tmp/x")));
        let c = parse(&["--namespace=kube-system", "get", "po"]);
        assert_eq!(c.namespace.as_deref(), Some("kube-system"));
        assert!(parse(&[]).command.is_none());
    }

    #[test]
    fn get_flags() {
        let c = parse(&[
            "get",
            "po,svc",
            "web",
            "-A",
            "-l",
            "env in (prod,dev)",
            "-L",
            "env,tier",
            "-L",
            "app",
            "--show-labels",
            "-o",
            "wide",
            "-w",
            "--no-headers",
        ]);
        let Some(Command::Get(g)) = c.command else {
            panic!()
        };
        assert_eq!(g.targets, ["po,svc", "web"]);
        assert!(g.all_namespaces && g.show_labels && g.watch && g.no_headers);
        assert_eq!(g.selector.as_deref(), Some("env in (prod,dev)"));
        assert_eq!(g.label_columns, ["env", "tier", "app"]);
        assert_eq!(g.output.as_deref(), Some("wide"));
        let c = parse(&["get", "po", "-o=jsonpath={.items[*].metadata.name}"]);
        let Some(Command::Get(g)) = c.command else {
            panic!()
        };
        assert_eq!(
            g.output.as_deref(),
            Some("jsonpath={.items[*].metadata.name}")
        );
    }

    #[test]
    fn apply_flags() {
        let c = parse(&[
            "apply",
            "-f",
            "a.yaml",
            "-f",
            "dir",
            "-R",
            "--validate=false",
            "--dry-run=server",
            "-o",
            "name",
        ]);
        let Some(Command::Apply(a)) = c.command else {
            panic!()
        };
        assert_eq!(a.filenames, ["a.yaml", "dir"]);
        assert!(a.recursive);
        assert_eq!(
            (a.validate.as_str(), a.dry_run.as_str()),
            ("false", "server")
        );
        let c = parse(&["apply", "-f", "-"]);
        let Some(Command::Apply(a)) = c.command else {
            panic!()
        };
        assert_eq!(
            (a.validate.as_str(), a.dry_run.as_str()),
            ("strict", "none")
        );
        assert!(
            Cli::try_parse_from(["peapod", "apply"]).is_err(),
            "-f is required"
        );
    }

    #[test]
    fn delete_flags() {
        let c = parse(&[
            "delete",
            "po",
            "x",
            "--grace-period=0",
            "--force",
            "--cascade=orphan",
            "--wait=false",
        ]);
        let Some(Command::Delete(d)) = c.command else {
            panic!()
        };
        assert_eq!(
            (d.grace_period, d.force, d.cascade.as_str(), d.wait),
            (0, true, "orphan", false)
        );
        let c = parse(&["delete", "po", "--all", "--timeout", "5s"]);
        let Some(Command::Delete(d)) = c.command else {
            panic!()
        };
        assert!(d.all && d.wait);
        assert_eq!((d.grace_period, d.timeout.as_str()), (-1, "5s"));
    }

    #[test]
    fn label_args_keep_removals() {
        let c = parse(&["label", "po", "x", "env=prod", "tier-", "--overwrite"]);
        let Some(Command::Label(l)) = c.command else {
            panic!()
        };
        assert_eq!(l.args, ["po", "x", "env=prod", "tier-"]);
        assert!(l.overwrite);
    }

    #[test]
    fn config_and_logs() {
        let c = parse(&["config", "set-context", "--current", "--namespace=dev"]);
        let Some(Command::Config(ConfigCommand::SetContext { current, .. })) = c.command else {
            panic!()
        };
        assert!(current);
        assert_eq!(c.namespace.as_deref(), Some("dev"));
        let c = parse(&[
            "logs", "web", "-c", "app", "-f", "--tail", "10", "--since", "5m",
        ]);
        let Some(Command::Logs(l)) = c.command else {
            panic!()
        };
        assert_eq!(
            (l.container.as_deref(), l.follow, l.tail, l.since.as_deref()),
            (Some("app"), true, Some(10), Some("5m"))
        );
    }
}
