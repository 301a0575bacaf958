//! `top pod`: CPU and memory of running pods (or their containers), from the cluster's
//! `metrics.k8s.io` PodMetrics, printed as kubectl top prints them.

use super::{CliError, Ctx, Io};
use crate::api::error::ApiError;
use crate::api::kinds;
use crate::api::object::{ObjectExt, parse_time};
use crate::api::quantity::Quantity;
use crate::api::request::ListOptions;
use crate::cluster::Cluster;
use crate::cluster::metrics::{RESOURCE, go_duration, is_unavailable};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::time::Duration;

/// kubectl waits this long after a pod's creation before calling missing metrics an error.
const METRICS_CREATION_DELAY: Duration = Duration::from_secs(120);

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// CPU (cores) and memory (bytes) of running pods, or of their containers.
    #[command(visible_aliases = ["pods", "po"])]
    Pod(TopPodArgs),
}

#[derive(Debug, Args, Default)]
pub struct TopPodArgs {
    /// Only this pod.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector, e.g. `app=web`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub field_selector: Option<String>,
    /// One line per container.
    #[arg(long)]
    pub containers: bool,
    /// cpu or memory (largest first).
    #[arg(long)]
    pub sort_by: Option<String>,
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Name,
    Cpu,
    Memory,
}

impl SortBy {
    fn parse(s: Option<&str>) -> Result<SortBy, CliError> {
        match s {
            None | Some("") => Ok(SortBy::Name),
            Some("cpu") => Ok(SortBy::Cpu),
            Some("memory") => Ok(SortBy::Memory),
            Some(_) => Err(CliError::msg("--sort-by accepts only cpu or memory")),
        }
    }
}

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    cmd: TopCommand,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let TopCommand::Pod(args) = cmd;
    let sort = SortBy::parse(args.sort_by.as_deref())?;
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let (labels, fields) = (non_empty(&args.selector), non_empty(&args.field_selector));
    if args.name.is_some() && (labels.is_some() || fields.is_some()) {
        return Err(CliError::msg(
            "only one of NAME or selector can be provided",
        ));
    }
    let ns = (!args.all_namespaces).then_some(ctx.namespace.as_str());
    let opts = ListOptions {
        label_selector: labels,
        field_selector: match &args.name {
            Some(name) => Some(format!("metadata.name={name}")),
            None => fields,
        },
        resource_version: None,
    };
    let metrics = cluster.pod_metrics(ns, &opts).await.map_err(|e| {
        if is_unavailable(&e) {
            CliError::Msg(e.message)
        } else {
            CliError::Server(e)
        }
    })?;
    report(cluster, ctx, &args, sort, &opts, metrics, io).await
}

/// Prints `metrics`, or explains why there are none as kubectl does.
async fn report(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    args: &TopPodArgs,
    sort: SortBy,
    opts: &ListOptions,
    metrics: Vec<Value>,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    if metrics.is_empty() {
        if let Some(name) = &args.name {
            // kubectl asks metrics-server for the pod by name, which answers NotFound.
            let what = format!("{}/{name}", ctx.namespace);
            return Err(CliError::Server(ApiError::not_found(RESOURCE, &what)));
        }
        let pods_kind = kinds::lookup("pods").ok_or_else(|| CliError::msg("pods kind missing"))?;
        let ns = (!args.all_namespaces).then_some(ctx.namespace.as_str());
        let pods = cluster.list(pods_kind, ns, opts).await?;
        if pods.items.is_empty() {
            io.errln(if args.all_namespaces {
                "No resources found".to_string()
            } else {
                format!("No resources found in {} namespace.", ctx.namespace)
            });
            return Ok(());
        }
        for pod in &pods.items {
            let created = pod.creation_timestamp().and_then(parse_time);
            let age = created
                .and_then(|c| ctx.now().duration_since(c).try_into().ok())
                .unwrap_or(Duration::ZERO);
            if age > METRICS_CREATION_DELAY {
                return Err(CliError::msg(format!(
                    "Metrics not available for pod {}/{}, age: {}",
                    pod.namespace().unwrap_or_default(),
                    pod.name(),
                    go_duration(age)
                )));
            }
        }
        return Err(CliError::msg("metrics not available yet"));
    }
    let pods = metrics
        .iter()
        .map(PodUsage::from_metrics)
        .collect::<Result<Vec<_>, _>>()?;
    let text = render(
        pods,
        args.containers,
        args.all_namespaces,
        args.no_headers,
        sort,
    );
    super::output::write_all(io.out, &text)
}

/// One container's usage: CPU in nanocores, memory in bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerUsage {
    pub name: String,
    pub cpu_nanos: i128,
    pub memory_bytes: i128,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodUsage {
    pub namespace: String,
    pub name: String,
    pub containers: Vec<ContainerUsage>,
}

impl PodUsage {
    /// Reads a PodMetrics object; a malformed quantity is an error naming the pod.
    pub fn from_metrics(m: &Value) -> Result<PodUsage, CliError> {
        let (namespace, name) = (m.namespace().unwrap_or_default(), m.name());
        let mut containers = Vec::new();
        for c in m["containers"].as_array().into_iter().flatten() {
            let cname = c["name"].as_str().unwrap_or_default();
            let quantity = |res: &str| {
                Quantity::from_json(&c["usage"][res]).map_err(|e| {
                    CliError::msg(format!(
                        "metrics of pod {namespace}/{name} container {cname}: {res}: {e}"
                    ))
                })
            };
            containers.push(ContainerUsage {
                name: cname.to_string(),
                cpu_nanos: quantity("cpu")?.nano_value(),
                memory_bytes: quantity("memory")?.value(),
            });
        }
        Ok(PodUsage {
            namespace: namespace.to_string(),
            name: name.to_string(),
            containers,
        })
    }

    fn cpu_nanos(&self) -> i128 {
        self.containers.iter().map(|c| c.cpu_nanos).sum()
    }

    fn memory_bytes(&self) -> i128 {
        self.containers.iter().map(|c| c.memory_bytes).sum()
    }
}

/// Millicores rounded up, as kubectl's `MilliValue`.
fn millis(nanos: i128) -> i128 {
    (nanos + 999_999).div_euclid(1_000_000)
}

/// `12m`: kubectl prints CPU in millicores.
pub fn cpu_cell(nanos: i128) -> String {
    format!("{}m", millis(nanos))
}

/// `34Mi`: kubectl prints memory in whole mebibytes, rounded down.
pub fn memory_cell(bytes: i128) -> String {
    format!("{}Mi", bytes / (1024 * 1024))
}

/// The table kubectl top prints: pods by namespace and name (or largest first), containers
/// by name (or largest first). Every cell ends with a tab, as kubectl writes them, so the
/// last column is padded too.
pub fn render(
    mut pods: Vec<PodUsage>,
    containers: bool,
    with_namespace: bool,
    no_headers: bool,
    sort: SortBy,
) -> String {
    pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    match sort {
        SortBy::Name => {}
        SortBy::Cpu => pods.sort_by_key(|p| std::cmp::Reverse(millis(p.cpu_nanos()))),
        SortBy::Memory => pods.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes())),
    }
    let mut text = String::new();
    let mut row = |cells: &[&str]| {
        for c in cells {
            text.push_str(c);
            text.push('\t');
        }
        text.push('\n');
    };
    if !no_headers {
        let mut head = Vec::new();
        if with_namespace {
            head.push("NAMESPACE");
        }
        if containers {
            head.push("POD");
        }
        head.extend(["NAME", "CPU(cores)", "MEMORY(bytes)"]);
        row(&head);
    }
    for p in &mut pods {
        let ns: &[&str] = if with_namespace { &[&p.namespace] } else { &[] };
        if !containers {
            let (cpu, mem) = (cpu_cell(p.cpu_nanos()), memory_cell(p.memory_bytes()));
            row(&[ns, &[&p.name, &cpu, &mem]].concat());
            continue;
        }
        p.containers.sort_by(|a, b| a.name.cmp(&b.name));
        match sort {
            SortBy::Name => {}
            SortBy::Cpu => p
                .containers
                .sort_by_key(|c| std::cmp::Reverse(millis(c.cpu_nanos))),
            SortBy::Memory => p
                .containers
                .sort_by_key(|c| std::cmp::Reverse(c.memory_bytes)),
        }
        for c in &p.containers {
            let (cpu, mem) = (cpu_cell(c.cpu_nanos), memory_cell(c.memory_bytes));
            row(&[ns, &[&p.name, &c.name, &cpu, &mem]].concat());
        }
    }
    super::output::tabwrite(&text, 6, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{self, FakeCluster, run_verb};
    use serde_json::json;

    fn metrics(ns: &str, name: &str, containers: &[(&str, &str, &str)]) -> Value {
        let cs: Vec<Value> = containers
            .iter()
            .map(|(n, cpu, mem)| json!({"name": n, "usage": {"cpu": cpu, "memory": mem}}))
            .collect();
        json!({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": name, "namespace": ns},
            "timestamp": "2024-05-01T12:00:00Z", "window": "10.5s", "containers": cs})
    }

    fn usages(items: &[Value]) -> Vec<PodUsage> {
        items
            .iter()
            .map(|m| PodUsage::from_metrics(m).unwrap())
            .collect()
    }

    fn args(cmdline: &[&str]) -> TopPodArgs {
        match fake::parse(cmdline) {
            Command::Top(TopCommand::Pod(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cells_are_millicores_rounded_up_and_whole_mebibytes() {
        assert_eq!(cpu_cell(0), "0m");
        assert_eq!(cpu_cell(1), "1m");
        assert_eq!(cpu_cell(12_000_000), "12m");
        assert_eq!(cpu_cell(12_000_001), "13m");
        assert_eq!(cpu_cell(2_500_000_000), "2500m");
        assert_eq!(memory_cell(0), "0Mi");
        assert_eq!(memory_cell(1024 * 1024 - 1), "0Mi");
        assert_eq!(memory_cell(34 * 1024 * 1024 + 5), "34Mi");
    }

    #[test]
    fn pods_are_summed_and_sorted_like_kubectl() {
        let items = [
            metrics(
                "default",
                "web",
                &[("app", "1234567n", "10Mi"), ("log", "5m", "2048Ki")],
            ),
            metrics("default", "db", &[("pg", "250m", "300Mi")]),
            metrics("default", "cache", &[("redis", "0", "1Gi")]),
        ];
        let t = render(usages(&items), false, false, false, SortBy::Name);
        assert_eq!(
            t,
            "NAME    CPU(cores)   MEMORY(bytes)   \n\
             cache   0m           1024Mi          \n\
             db      250m         300Mi           \n\
             web     7m           12Mi            \n"
        );
        let names = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split_whitespace().next().unwrap().to_string())
                .collect()
        };
        let t = render(usages(&items), false, false, true, SortBy::Cpu);
        assert_eq!(names(&t), ["db", "web", "cache"]);
        let t = render(usages(&items), false, false, true, SortBy::Memory);
        assert_eq!(names(&t), ["cache", "db", "web"]);
    }

    #[test]
    fn containers_and_namespaces_add_columns() {
        let items = [
            metrics(
                "team",
                "web",
                &[("sidecar", "1m", "1Mi"), ("app", "3m", "4Mi")],
            ),
            metrics("default", "db", &[("pg", "2m", "8Mi")]),
        ];
        let t = render(usages(&items), true, true, false, SortBy::Name);
        assert_eq!(
            t,
            "NAMESPACE   POD   NAME      CPU(cores)   MEMORY(bytes)   \n\
             default     db    pg        2m           8Mi             \n\
             team        web   app       3m           4Mi             \n\
             team        web   sidecar   1m           1Mi             \n"
        );
        let t = render(usages(&items), true, false, true, SortBy::Cpu);
        let rows: Vec<Vec<&str>> = t.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(
            rows,
            [
                ["web", "app", "3m", "4Mi"],
                ["web", "sidecar", "1m", "1Mi"],
                ["db", "pg", "2m", "8Mi"]
            ]
        );
    }

    #[test]
    fn a_bad_quantity_names_the_pod() {
        let m = metrics("default", "web", &[("app", "lots", "1Mi")]);
        let e = PodUsage::from_metrics(&m).unwrap_err().to_string();
        assert!(
            e.contains("default/web") && e.contains("app") && e.contains("cpu"),
            "{e}"
        );
    }

    #[test]
    fn flags_are_checked_before_asking_the_cluster() {
        let c = FakeCluster::default();
        let ctx = fake::ctx();
        let (code, _, err) = run_verb!(|io| run(
            &c,
            &ctx,
            TopCommand::Pod(args(&["top", "pod", "--sort-by=name"])),
            io
        ));
        assert_eq!(
            (code, err.as_str()),
            (1, "error: --sort-by accepts only cpu or memory\n")
        );
        let (code, _, err) = run_verb!(|io| run(
            &c,
            &ctx,
            TopCommand::Pod(args(&["top", "po", "web", "-l", "app=web"])),
            io
        ));
        assert_eq!(
            (code, err.as_str()),
            (1, "error: only one of NAME or selector can be provided\n")
        );
        // A cluster without the metrics API.
        let (code, _, err) =
            run_verb!(|io| run(&c, &ctx, TopCommand::Pod(args(&["top", "pods"])), io));
        assert_eq!(code, 1);
        assert!(err.starts_with("error: Metrics API not available"), "{err}");
    }

    #[test]
    fn no_metrics_is_explained_like_kubectl() {
        let c = FakeCluster::default();
        let mut ctx = fake::ctx();
        let a = args(&["top", "pod"]);
        let opts = ListOptions::default();
        let explain = |ctx: &Ctx, a: &TopPodArgs| {
            let (ctx, a, opts, c) = (ctx.clone(), a, opts.clone(), &c);
            run_verb!(|io| report(c, &ctx, a, SortBy::Name, &opts, Vec::new(), io))
        };
        assert_eq!(
            explain(&ctx, &a),
            (
                0,
                String::new(),
                "No resources found in default namespace.\n".into()
            )
        );
        assert_eq!(
            explain(&ctx, &args(&["top", "pod", "-A"])).2,
            "No resources found\n"
        );
        // The fake's pods were created a minute before its clock: too young to complain.
        c.insert(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}));
        assert_eq!(
            explain(&ctx, &a),
            (
                1,
                String::new(),
                "error: metrics not available yet\n".into()
            )
        );
        ctx.clock = Some("2024-05-01T12:05:30.5Z".parse().unwrap());
        assert_eq!(
            explain(&ctx, &a).2,
            "error: Metrics not available for pod default/web, age: 6m30.5s\n"
        );
        let named = args(&["top", "pod", "web"]);
        assert_eq!(
            explain(&ctx, &named).2,
            "Error from server (NotFound): podmetrics.metrics.k8s.io \"default/web\" not found\n"
        );
        // Metrics print without any lookup of pods.
        let m = vec![metrics("default", "web", &[("app", "3m", "4Mi")])];
        let (ctx2, opts2) = (ctx.clone(), opts.clone());
        let (code, out, _) = run_verb!(|io| report(&c, &ctx2, &a, SortBy::Name, &opts2, m, io));
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "NAME   CPU(cores)   MEMORY(bytes)   \nweb    3m           4Mi             \n"
        );
    }
}
