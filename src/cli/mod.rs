//! kubectl-style verbs and printers. Every verb reaches the cluster through the `Cluster` trait
//! from `daemon::connect`, prints what kubectl prints, and reports errors as one line:
//! `error: ...`, or `Error from server (Reason): ...` for API errors.

mod apply;
pub mod args;
pub mod check_config;
mod config;
mod create_job;
mod delete;
mod describe;
mod edit;
mod exec;
mod get;
pub mod image;
mod jsonpath;
mod label;
mod logs;
mod node;
pub mod output;
mod port_forward;
mod resources;
mod rollout;
mod scale;
mod set_image;
pub mod target;
mod top;

#[cfg(test)]
mod fake;

use crate::api::error::ApiError;
use crate::cluster::Cluster;
use args::{Cli, Command};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// Why a verb failed.
#[derive(Debug)]
pub enum CliError {
    /// An API error: printed as `Error from server (NotFound): pods "x" not found`.
    Server(ApiError),
    /// A client-side problem: printed as `error: <message>`.
    Msg(String),
    /// The problems were already printed; just exit 1.
    Reported,
    /// Exit with this code, nothing more to print (`exec` passes the command's code on).
    Exit(i32),
}

impl CliError {
    pub fn msg(m: impl Into<String>) -> CliError {
        CliError::Msg(m.into())
    }

    /// The line printed on stderr (without newline), or `None` when already reported.
    pub fn line(&self) -> Option<String> {
        match self {
            CliError::Server(e) => Some(server_error_line(e)),
            CliError::Msg(m) => Some(format!("error: {m}")),
            CliError::Reported | CliError::Exit(_) => None,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Server(e) => write!(f, "{}", e.message),
            CliError::Msg(m) => write!(f, "{m}"),
            CliError::Reported => write!(f, "failed"),
            CliError::Exit(code) => write!(f, "exit code {code}"),
        }
    }
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> CliError {
        CliError::Server(e)
    }
}

/// kubectl's rendering of an API error.
pub fn server_error_line(e: &ApiError) -> String {
    format!("Error from server ({}): {}", e.reason.as_str(), e.message)
}

/// What every verb knows besides its own arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub state: PathBuf,
    /// `-n`, else the saved namespace, else `default`.
    pub namespace: String,
    /// `-n` was given on the command line.
    pub namespace_explicit: bool,
    /// No `peapod serve`/console runs: this process holds the store (nothing runs pods).
    pub embedded: bool,
    /// A fixed clock for tests; `None` reads the system clock.
    pub clock: Option<jiff::Timestamp>,
}

impl Ctx {
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.unwrap_or_else(jiff::Timestamp::now)
    }
}

/// Where a verb writes.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl Io<'_> {
    /// A line on stdout; write errors (a closed pipe) are ignored like kubectl does.
    pub fn outln(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", line.as_ref());
        let _ = self.out.flush();
    }
    pub fn errln(&mut self, line: impl AsRef<str>) {
        let _ = writeln!(self.err, "{}", line.as_ref());
        let _ = self.err.flush();
    }
}

/// Parse arguments, run the verb, return the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Help and --version exit 0; usage errors exit 1 as kubectl's do.
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    // Unlocked handles: other threads (an embedded cluster's tasks) may print too.
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let mut io = Io {
        out: &mut out,
        err: &mut err,
    };
    run(cli, &mut io)
}

/// Run a parsed command line; returns the exit code.
pub fn run(cli: Cli, io: &mut Io<'_>) -> i32 {
    let state = crate::daemon::state_dir(cli.state_dir.clone());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            io.errln(format!("error: cannot start the async runtime: {e}"));
            return 1;
        }
    };
    let Some(command) = cli.command else {
        // No verb: the console.
        let opts = crate::tui::ConsoleOptions {
            state_dir: Some(state.clone()),
            readonly: cli.console.readonly,
            theme: cli.console.theme.clone(),
            config: cli.console.config.clone(),
            mouse: cli.console.mouse,
        };
        let result = rt.block_on(crate::daemon::console(&state, opts));
        rt.shutdown_background();
        return match result {
            Ok(()) => 0,
            Err(e) => {
                io.errln(format!("error: {e}"));
                1
            }
        };
    };
    let (namespace, explicit) = match cli.namespace.clone() {
        Some(n) => (n, true),
        None => (
            config::saved_namespace(&state, io).unwrap_or_else(|| "default".to_string()),
            false,
        ),
    };
    let mut ctx = Ctx {
        state,
        namespace,
        namespace_explicit: explicit,
        embedded: false,
        clock: None,
    };
    let result = rt.block_on(dispatch(command, &mut ctx, io));
    // Streams of a remote cluster may still hold tasks; do not wait for them.
    rt.shutdown_background();
    match result {
        Ok(()) => 0,
        Err(CliError::Exit(code)) => code,
        Err(e) => {
            if let Some(line) = e.line() {
                io.errln(line);
            }
            1
        }
    }
}

/// Reach the cluster. The connection is kept for the whole command: when this process holds
/// the store, it also runs the controllers until the connection is dropped.
async fn connect(ctx: &mut Ctx, long_running: bool) -> Result<crate::daemon::Connection, CliError> {
    let conn = crate::daemon::connect(&ctx.state, long_running)
        .await
        .map_err(CliError::Msg)?;
    ctx.embedded = conn.embedded;
    Ok(conn)
}

async fn dispatch(command: Command, ctx: &mut Ctx, io: &mut Io<'_>) -> Result<(), CliError> {
    // Verbs that do not need the cluster.
    match command {
        Command::Serve(a) => {
            let network = crate::net::NetworkOptions::resolve(a.bridge, a.pod_cidr, a.masquerade)
                .map_err(CliError::Msg)?;
            if a.reset_network {
                let removed = crate::daemon::reset_network(&ctx.state, &network)
                    .await
                    .map_err(CliError::Msg)?;
                if removed.is_empty() {
                    io.outln("pod network: nothing to remove");
                }
                for line in removed {
                    io.outln(format!("pod network: {line}"));
                }
                return Ok(());
            }
            let opts = crate::daemon::ServeOptions { network };
            return crate::daemon::serve(&ctx.state, opts)
                .await
                .map_err(CliError::Msg);
        }
        Command::Config(c) => return config::run(c, ctx, io),
        Command::Image(c) => return image::run(c, ctx, io),
        Command::CheckConfig(c) => return check_config::run(&c, io),
        Command::Bench(b) => {
            if let Some(args::BenchTarget::Deploy { replicas }) = b.target {
                let opts = crate::bench::deploy::DeployBenchOptions { replicas };
                return crate::bench::deploy::run(opts).await.map_err(CliError::Msg);
            }
            if let Some(args::BenchTarget::Pods { runs, count }) = b.target {
                let opts = crate::bench::pods::PodBenchOptions { runs, count };
                return crate::bench::pods::run(opts).await.map_err(CliError::Msg);
            }
            if let Some(args::BenchTarget::Console {
                pods,
                frames,
                log_lines,
                memory_split,
            }) = b.target
            {
                let opts = crate::bench::console::ConsoleBenchOptions {
                    pods,
                    frames,
                    log_lines,
                };
                return crate::bench::console::run(opts, memory_split)
                    .await
                    .map_err(CliError::Msg);
            }
            let opts = crate::bench::BenchOptions {
                pods: b.pods,
                batch: b.batch,
                single: b.single,
                concurrency: b.concurrency,
                watchers: b.watchers,
                ..Default::default()
            };
            return crate::bench::run(opts).await.map_err(CliError::Msg);
        }
        Command::Version(v) if v.client => return resources::version(None, &v, io).await,
        Command::ApiResources(a) => return resources::api_resources(&a, io),
        _ => {}
    }
    // A command that runs until interrupted serves the socket when it holds the store, so
    // other commands (an `apply` in another terminal) still reach the cluster.
    let long_running = match &command {
        Command::Get(g) => g.watch || g.watch_only,
        Command::Logs(l) => l.follow,
        // An interactive session may last long; others must still reach the cluster.
        Command::Exec(_) => true,
        Command::PortForward(_) => true,
        // `rollout status` waits for controllers: they must run while it waits.
        Command::Rollout(rollout::RolloutCommand::Status(s)) => s.watch,
        _ => false,
    };
    let conn = connect(ctx, long_running).await?;
    let cluster: &dyn Cluster = &*conn.cluster;
    let ctx: &Ctx = ctx;
    match command {
        Command::Apply(a) => apply::run_apply(cluster, ctx, a, io).await,
        Command::Create(a) => apply::run_create(cluster, ctx, a, io).await,
        Command::Get(a) => get::run(cluster, ctx, a, io).await,
        Command::Describe(a) => describe::run(cluster, ctx, a, io).await,
        Command::Delete(a) => delete::run(cluster, ctx, a, io).await,
        Command::Label(a) => label::run(cluster, ctx, a, label::Field::Labels, io).await,
        Command::Annotate(a) => label::run(cluster, ctx, a, label::Field::Annotations, io).await,
        Command::Edit(a) => edit::run(cluster, ctx, a, io).await,
        Command::Logs(a) => logs::run(cluster, ctx, a, io).await,
        Command::Exec(a) => exec::run(cluster, ctx, a, io).await,
        Command::PortForward(a) => port_forward::run(cluster, ctx, a, io).await,
        Command::Top(a) => top::run(cluster, ctx, a, io).await,
        Command::Scale(a) => scale::run(cluster, ctx, a, io).await,
        Command::Version(v) => resources::version(Some(cluster), &v, io).await,
        Command::Rollout(a) => rollout::run(cluster, ctx, a, io).await,
        Command::Set(a) => set_image::run(cluster, ctx, a, io).await,
        Command::Cordon(a) => node::cordon(cluster, a, true, io).await,
        Command::Uncordon(a) => node::cordon(cluster, a, false, io).await,
        Command::Drain(a) => node::drain(cluster, a, io).await,
        Command::Taint(a) => node::taint(cluster, a, io).await,
        Command::Serve(_)
        | Command::Config(_)
        | Command::ApiResources(_)
        | Command::Bench(_)
        | Command::Image(_)
        | Command::CheckConfig(_) => Ok(()),
    }
}

/// Parse `5s`, `2m`, `1h30m`, `250ms`, or a bare number of seconds (Go's time.ParseDuration
/// subset kubectl flags use).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, CliError> {
    let bad = || {
        CliError::msg(format!(
            "invalid duration {s:?}: use a number with a unit, e.g. 30s, 5m, 1h"
        ))
    };
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(n));
    }
    let mut total = std::time::Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let secs = match unit {
            "ns" => value / 1e9,
            "us" | "µs" => value / 1e6,
            "ms" => value / 1e3,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(bad()),
        };
        total += std::time::Duration::from_secs_f64(secs);
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ApiError;

    #[test]
    fn error_lines() {
        let e = CliError::from(ApiError::not_found("pods", "x"));
        assert_eq!(
            e.line().unwrap(),
            "Error from server (NotFound): pods \"x\" not found"
        );
        assert_eq!(CliError::msg("boom").line().unwrap(), "error: boom");
        assert!(CliError::Reported.line().is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap().as_secs(), 5);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
    }
}
