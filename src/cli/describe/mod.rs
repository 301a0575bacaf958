//! `describe` verb: finds the objects and prints the client layer's descriptions.

use super::args::DescribeArgs;
use super::{CliError, Ctx, Io, server_error_line, target};
use crate::api::error::ApiError;
use crate::api::kinds::KindInfo;
use crate::api::object::ObjectExt;
use crate::api::request::ListOptions;
use crate::client::describe::describe_one;
use crate::cluster::Cluster;
use serde_json::Value;

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: DescribeArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let t = target::parse(&a.targets, "describe")?;
    if t.named && a.selector.is_some() {
        return Err(CliError::msg(
            "name cannot be provided when a selector is specified",
        ));
    }
    let mut objs: Vec<(&'static KindInfo, Value)> = Vec::new();
    let mut failed = false;
    for (kind, name) in &t.items {
        let ns = if !kind.namespaced || (a.all_namespaces && name.is_none()) {
            None
        } else {
            Some(ctx.namespace.as_str())
        };
        match name {
            Some(n) => match cluster.get(kind, ns, n).await {
                Ok(o) => objs.push((kind, o)),
                Err(e) if e.is_not_found() => {
                    // kubectl describes every object whose name starts with the given one.
                    let all = cluster.list(kind, ns, &ListOptions::default()).await?.items;
                    let matches: Vec<Value> = all
                        .into_iter()
                        .filter(|o| o.name().starts_with(n.as_str()))
                        .collect();
                    if matches.is_empty() {
                        io.errln(server_error_line(&ApiError::not_found(&kind.resource(), n)));
                        failed = true;
                    }
                    objs.extend(matches.into_iter().map(|o| (*kind, o)));
                }
                Err(e) => {
                    io.errln(server_error_line(&e));
                    failed = true;
                }
            },
            None => {
                let opts = ListOptions {
                    label_selector: a.selector.clone(),
                    ..Default::default()
                };
                objs.extend(
                    cluster
                        .list(kind, ns, &opts)
                        .await?
                        .items
                        .into_iter()
                        .map(|o| (*kind, o)),
                );
            }
        }
    }
    if objs.is_empty() && !failed {
        io.errln(super::get::no_resources(ctx, &t.kinds(), a.all_namespaces));
        return Ok(());
    }
    for (i, (kind, obj)) in objs.iter().enumerate() {
        let text = describe_one(cluster, kind, obj, a.show_events, ctx.now()).await;
        let text = if i == 0 { text } else { format!("\n\n{text}") };
        super::output::write_all(io.out, &text)?;
    }
    if failed {
        Err(CliError::Reported)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
