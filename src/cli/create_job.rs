//! `create job NAME --from=cronjob/X`, as kubectl: the CronJob's job template becomes a Job
//! annotated `cronjob.kubernetes.io/instantiate: manual` and controlled by the CronJob.

use super::apply::DryRun;
use super::args::CreateArgs;
use super::output::{self, OutputFormat, object_ref};
use super::{CliError, Ctx, Io};
use crate::api::kinds;
use crate::api::request::{FieldValidation, WriteOptions};
use crate::cluster::Cluster;
use crate::controllers::cronjob::manual_job;

pub async fn run(
    cluster: &dyn Cluster,
    ctx: &Ctx,
    a: &CreateArgs,
    io: &mut Io<'_>,
) -> Result<(), CliError> {
    let dry = DryRun::parse(&a.dry_run)?;
    let fmt = OutputFormat::parse(a.output.as_deref(), &["name", "yaml", "json"])?;
    let [_, name] = a.what.as_slice() else {
        return Err(CliError::msg(
            "exactly one NAME is required, e.g. `peapod create job backup-now --from=cronjob/backup`",
        ));
    };
    let Some(from) = a.from.as_deref() else {
        return Err(CliError::msg(
            "--from=cronjob/NAME is required: peapod creates Jobs from a CronJob's template",
        ));
    };
    let Some((resource, source)) = from.split_once('/').filter(|(_, n)| !n.is_empty()) else {
        return Err(CliError::msg(format!(
            "--from={from:?} must be cronjob/NAME"
        )));
    };
    let cronjobs =
        kinds::lookup("cronjobs").ok_or_else(|| CliError::msg("cronjobs are not served"))?;
    match kinds::lookup(resource) {
        Some(k) if k.kind == "CronJob" => {}
        Some(k) => return Err(CliError::msg(format!("unknown object type {}", k.kind))),
        None => {
            return Err(CliError::msg(format!(
                "the server doesn't have a resource type \"{resource}\""
            )));
        }
    }
    let cronjob = cluster.get(cronjobs, Some(&ctx.namespace), source).await?;
    let job = manual_job(&cronjob, name);
    let jobs = kinds::lookup("jobs").ok_or_else(|| CliError::msg("jobs are not served"))?;
    let opts = WriteOptions {
        dry_run: dry.active(),
        field_validation: FieldValidation::Strict,
    };
    let created = if dry == DryRun::Client {
        job
    } else {
        cluster.create(job, &opts).await?
    };
    if fmt.is_table() {
        io.outln(format!(
            "{} created{}",
            object_ref(jobs, name),
            dry.suffix()
        ));
        Ok(())
    } else {
        output::print_objects(&fmt, &[(jobs, created)], true, io.out)
    }
}
