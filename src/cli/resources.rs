//! `api-resources` and `version`.

use super::args::{ApiResourcesArgs, VersionArgs};
use super::get::RowPrinter;
use super::output::{self, to_json, to_yaml};
use super::{CliError, Io};
use crate::api::kinds::{KINDS, KindInfo};
use crate::cluster::Cluster;
use serde_json::json;

/// Short names as discovery lists them: peapod's registry also accepts the singular of some
/// kinds (`secret`, `job`) as a short name, which kubectl does not show.
fn short_names(k: &KindInfo) -> Vec<&'static str> {
    k.short_names
        .iter()
        .copied()
        .filter(|s| *s != k.singular)
        .collect()
}

pub fn api_resources(a: &ApiResourcesArgs, io: &mut Io<'_>) -> Result<(), CliError> {
    let mut kinds: Vec<&KindInfo> = KINDS
        .iter()
        .filter(|k| a.namespaced.is_none_or(|n| k.namespaced == n))
        .filter(|k| a.api_group.as_deref().is_none_or(|g| k.group == g))
        .collect();
    // kubectl sorts by group (core first), keeping discovery's order inside a group.
    kinds.sort_by(|x, y| x.group.cmp(y.group).then(x.plural.cmp(y.plural)));
    let wide = match a.output.as_deref() {
        Some("name") => {
            for k in kinds {
                io.outln(k.resource());
            }
            return Ok(());
        }
        Some("wide") => true,
        None | Some("") => false,
        Some(o) => {
            return Err(CliError::msg(format!(
                "--output {o:?} is not available in api-resources: use name or wide"
            )));
        }
    };
    let mut rows = Vec::new();
    if !a.no_headers {
        let mut h: Vec<String> = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
            .map(String::from)
            .into();
        if wide {
            h.extend(["VERBS".to_string(), "CATEGORIES".to_string()]);
        }
        rows.push(h);
    }
    for k in kinds {
        let mut r = vec![
            k.plural.to_string(),
            short_names(k).join(","),
            k.api_version(),
            k.namespaced.to_string(),
            k.kind.to_string(),
        ];
        if wide {
            r.push("create,delete,deletecollection,get,list,patch,update,watch".to_string());
            r.push(k.categories.join(","));
        }
        rows.push(r);
    }
    output::write_all(io.out, &RowPrinter::default().table(&rows))
}

pub fn client_version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// `version`: the client, and unless `--client` the cluster this command reaches. The
/// cluster runs this same program (embedded, or a `peapod serve` of this build).
pub async fn version(
    cluster: Option<&dyn Cluster>,
    a: &VersionArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let client = client_version();
    let server = match cluster {
        Some(c) => Some((c.server_version().await?, c.endpoint())),
        None => None,
    };
    match a.output.as_deref() {
        None | Some("") => {
            io.outln(format!("Client Version: {client}"));
            if let Some((v, endpoint)) = server {
                io.outln(format!("Server Version: {v} ({endpoint})"));
            }
            Ok(())
        }
        Some(o @ ("yaml" | "json")) => {
            let mut doc = json!({"clientVersion": {"gitVersion": client}});
            if let Some((v, endpoint)) = server {
                doc["serverVersion"] = json!({"gitVersion": v, "endpoint": endpoint});
            }
            let text = if o == "yaml" {
                to_yaml(&doc)
            } else {
                to_json(&doc) + "\n"
            };
            output::write_all(io.out, &text)
        }
        Some(o) => Err(CliError::msg(format!(
            "--output must be 'yaml' or 'json', not {o:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Command;
    use crate::cli::fake::{FakeCluster, parse, run_verb};

    fn resources(args: &[&str]) -> String {
        let mut all = vec!["api-resources"];
        all.extend_from_slice(args);
        let Command::ApiResources(a) = parse(&all) else {
            panic!()
        };
        run_verb!(|io| async { api_resources(&a, io) }).1
    }

    #[test]
    fn table_and_filters() {
        let out = resources(&[]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "NAME                     SHORTNAMES   APIVERSION            NAMESPACED   KIND"
        );
        assert_eq!(
            lines[1],
            "configmaps               cm           v1                    true         ConfigMap"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("secrets                               v1")),
            "{out}"
        );
        assert!(
            lines.last().unwrap().starts_with("endpointslices "),
            "discovery.k8s.io last, sorted by name: {out}"
        );
        let names = resources(&["-o", "name", "--namespaced=false"]);
        assert_eq!(names, "namespaces\nnodes\npersistentvolumes\n");
        assert!(resources(&["-o", "name"]).contains("deployments.apps\n"));
    }

    #[test]
    fn versions() {
        let Command::Version(a) = parse(&["version"]) else {
            panic!()
        };
        let c = FakeCluster::default();
        let (_, out, _) = run_verb!(|io| async { version(Some(&c), &a, io).await });
        assert_eq!(
            out,
            format!(
                "Client Version: {}\nServer Version: {} (fake)\n",
                client_version(),
                crate::api::server_version()
            )
        );
        let Command::Version(a) = parse(&["version", "--client", "-o", "json"]) else {
            panic!()
        };
        let (_, out, _) = run_verb!(|io| async { version(None, &a, io).await });
        assert!(out.starts_with("{\n    \"clientVersion\""), "{out}");
    }
}
