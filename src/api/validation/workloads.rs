//! Workload validation: ReplicationController, ReplicaSet, Deployment, DaemonSet, StatefulSet
//! (apps/v1 and core/v1 ValidateXxxSpec) and Job, CronJob (batch/v1).

use super::cron;
use super::meta::{
    selector_is_empty, selector_matches, validate_label_selector, validate_labels,
    validate_template_meta,
};
use super::names;
use super::pod::{SpecOpts, validate_pod_template};
use super::{Errs, Path, at, get, go_string_map, int_at, items, string};
use serde_json::Value;

const JOB_RESTART_DETAIL: &str = "supported values: \"OnFailure\", \"Never\"";

fn template_labels(spec: &Value) -> Option<&Value> {
    at(spec, "template")
        .get("metadata")
        .and_then(|m| m.get("labels"))
}

/// `spec.template.metadata.labels: Invalid value: map[string]string{...}: ...`
fn selector_mismatch(spec: &Value, spec_path: &Path, errs: &mut Errs) {
    errs.invalid_shown(
        &spec_path
            .child("template")
            .child("metadata")
            .child("labels"),
        &go_string_map(template_labels(spec)),
        "`selector` does not match template `labels`",
    );
}

/// IntOrString values print unquoted in the API server's messages.
fn int_or_string_shown(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// apps/v1 selector: required, valid, non-empty. Returns the selector when it can be matched.
fn required_selector<'a>(
    spec: &'a Value,
    path: &Path,
    owner: &str,
    errs: &mut Errs,
) -> Option<&'a Value> {
    let sp = path.child("selector");
    match get(spec, "selector") {
        None => {
            errs.required(&sp, "");
            None
        }
        Some(sel) => {
            validate_label_selector(sel, &sp, errs);
            if selector_is_empty(sel) {
                errs.invalid(&sp, sel, format!("empty selector is invalid for {owner}"));
            }
            Some(sel)
        }
    }
}

/// Template checks shared by everything that keeps pods running (restartPolicy Always).
fn long_running_template(
    spec: &Value,
    path: &Path,
    selector: Option<&Value>,
    owner: &str,
    errs: &mut Errs,
) {
    // An empty selector matches everything and is reported on its own; a missing one matches
    // nothing, so the template cannot match it either.
    let check = selector.is_none_or(|s| !selector_is_empty(s));
    if check && selector_matches(selector, template_labels(spec)) == Some(false) {
        selector_mismatch(spec, path, errs);
    }
    let tp = path.child("template");
    validate_pod_template(Some(at(spec, "template")), &tp, &SpecOpts::default(), errs);
    let tspec = at(at(spec, "template"), "spec");
    let restart = string(tspec, "restartPolicy");
    if !restart.is_empty() && restart != "Always" {
        errs.not_supported(
            &tp.child("spec").child("restartPolicy"),
            &Value::from(restart),
            &["Always"],
        );
    }
    if let Some(ads) = get(tspec, "activeDeadlineSeconds") {
        let p = tp.child("spec").child("activeDeadlineSeconds");
        let msg = format!("activeDeadlineSeconds in {owner} is not Supported");
        if owner == "DaemonSet" {
            errs.invalid(&p, ads, msg)
        } else {
            errs.forbidden(&p, &msg)
        }
    }
}

pub(super) fn replication_controller(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    errs.non_negative(
        &path.child("minReadySeconds"),
        int_at(spec, "minReadySeconds"),
    );
    let selector = spec
        .get("selector")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty());
    if selector.is_none() {
        errs.required(&path.child("selector"), "");
    }
    validate_labels(spec.get("selector"), &path.child("selector"), errs);
    errs.non_negative(&path.child("replicas"), int_at(spec, "replicas"));
    let Some(template) = get(spec, "template") else {
        errs.required(&path.child("template"), "");
        return;
    };
    if let Some(sel) = selector {
        let labels = template.get("metadata").and_then(|m| m.get("labels"));
        let matches = sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            selector_mismatch(spec, &path, errs);
        }
    }
    long_running_template(
        spec,
        &path,
        Some(&Value::Object(Default::default())),
        "ReplicationController",
        errs,
    );
}

pub(super) fn replica_set(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    errs.non_negative(&path.child("replicas"), int_at(spec, "replicas"));
    errs.non_negative(
        &path.child("minReadySeconds"),
        int_at(spec, "minReadySeconds"),
    );
    // The API server's message really says "deployment" here.
    let selector = required_selector(spec, &path, "deployment", errs);
    long_running_template(spec, &path, selector, "ReplicaSet", errs);
}

pub(super) fn deployment(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    errs.non_negative(&path.child("replicas"), int_at(spec, "replicas"));
    let selector = required_selector(spec, &path, "deployment", errs);
    long_running_template(spec, &path, selector, "ReplicaSet", errs);
    validate_deployment_strategy(at(spec, "strategy"), &path.child("strategy"), errs);
    let min_ready = int_at(spec, "minReadySeconds");
    errs.non_negative(&path.child("minReadySeconds"), min_ready);
    errs.non_negative(
        &path.child("revisionHistoryLimit"),
        int_at(spec, "revisionHistoryLimit"),
    );
    if let Some(pds) = int_at(spec, "progressDeadlineSeconds") {
        let p = path.child("progressDeadlineSeconds");
        errs.non_negative(&p, Some(pds));
        if pds <= min_ready.unwrap_or(0) {
            errs.invalid(
                &p,
                &Value::from(pds),
                "must be greater than minReadySeconds",
            );
        }
    }
}

fn validate_deployment_strategy(strategy: &Value, path: &Path, errs: &mut Errs) {
    let ru = get(strategy, "rollingUpdate");
    match string(strategy, "type") {
        "Recreate" => {
            if ru.is_some() {
                errs.forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        "RollingUpdate" => match ru {
            None => errs.required(
                &path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            ),
            Some(ru) => {
                let rp = path.child("rollingUpdate");
                let (mu, ms) = (at(ru, "maxUnavailable"), at(ru, "maxSurge"));
                validate_int_or_percent(mu, &rp.child("maxUnavailable"), errs);
                validate_int_or_percent(ms, &rp.child("maxSurge"), errs);
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.invalid_shown(
                        &rp.child("maxUnavailable"),
                        &int_or_string_shown(mu),
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
                not_more_than_100_percent(mu, &rp.child("maxUnavailable"), errs);
            }
        },
        other => errs.not_supported(
            &path.child("type"),
            &Value::from(other),
            &["Recreate", "RollingUpdate"],
        ),
    }
}

/// ValidatePositiveIntOrPercent: a non-negative integer or a `N%` string.
fn validate_int_or_percent(v: &Value, path: &Path, errs: &mut Errs) {
    match v {
        Value::String(s) => {
            for m in names::is_valid_percent(s) {
                errs.invalid_shown(path, s, m);
            }
        }
        Value::Number(_) => errs.non_negative(path, v.as_i64()),
        _ => {}
    }
}

/// getIntOrPercentValue: the number of an int, or of a valid percent; 0 otherwise.
fn int_or_percent_value(v: &Value) -> i64 {
    match v {
        Value::String(s) => s
            .strip_suffix('%')
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        other => other.as_i64().unwrap_or(0),
    }
}

fn not_more_than_100_percent(v: &Value, path: &Path, errs: &mut Errs) {
    if let Some(s) = v.as_str()
        && names::is_valid_percent(s).is_empty()
        && int_or_percent_value(v) > 100
    {
        errs.invalid_shown(path, s, "must not be greater than 100%");
    }
}

pub(super) fn daemon_set(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    let selector = required_selector(spec, &path, "daemonset", errs);
    long_running_template(spec, &path, selector, "DaemonSet", errs);
    errs.non_negative(
        &path.child("minReadySeconds"),
        int_at(spec, "minReadySeconds"),
    );
    errs.non_negative(
        &path.child("templateGeneration"),
        int_at(spec, "templateGeneration"),
    );
    let strategy = at(spec, "updateStrategy");
    let sp = path.child("updateStrategy");
    match string(strategy, "type") {
        "OnDelete" => {}
        "RollingUpdate" => match get(strategy, "rollingUpdate") {
            None => errs.required(&sp.child("rollingUpdate"), ""),
            Some(ru) => {
                let rp = sp.child("rollingUpdate");
                let (mu, ms) = (at(ru, "maxUnavailable"), at(ru, "maxSurge"));
                validate_int_or_percent(mu, &rp.child("maxUnavailable"), errs);
                validate_int_or_percent(ms, &rp.child("maxSurge"), errs);
                not_more_than_100_percent(mu, &rp.child("maxUnavailable"), errs);
                not_more_than_100_percent(ms, &rp.child("maxSurge"), errs);
                match (int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0) {
                    (true, true) => errs.invalid_shown(
                        &rp.child("maxSurge"),
                        &int_or_string_shown(ms),
                        "may not be set when maxUnavailable is non-zero",
                    ),
                    (false, false) => errs.required(
                        &rp.child("maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    ),
                    _ => {}
                }
            }
        },
        other => errs.not_supported(
            &sp.child("type"),
            &Value::from(other),
            &["RollingUpdate", "OnDelete"],
        ),
    }
    errs.non_negative(
        &path.child("revisionHistoryLimit"),
        int_at(spec, "revisionHistoryLimit"),
    );
}

pub(super) fn stateful_set(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    match string(spec, "podManagementPolicy") {
        "OrderedReady" | "Parallel" => {}
        "" => errs.required(&path.child("podManagementPolicy"), ""),
        other => errs.invalid_str(
            &path.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        ),
    }
    let strategy = at(spec, "updateStrategy");
    let sp = path.child("updateStrategy");
    match string(strategy, "type") {
        "" => errs.required(&sp, ""),
        "OnDelete" => {
            if let Some(ru) = get(strategy, "rollingUpdate") {
                errs.invalid(
                    &sp.child("rollingUpdate"),
                    ru,
                    "only allowed for updateStrategy 'RollingUpdate'",
                );
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = get(strategy, "rollingUpdate") {
                let rp = sp.child("rollingUpdate");
                errs.non_negative(&rp.child("partition"), int_at(ru, "partition"));
                if let Some(mu) = get(ru, "maxUnavailable") {
                    validate_int_or_percent(mu, &rp.child("maxUnavailable"), errs);
                    if int_or_percent_value(mu) == 0 {
                        errs.invalid_shown(
                            &rp.child("maxUnavailable"),
                            &int_or_string_shown(mu),
                            "cannot be 0",
                        );
                    }
                    not_more_than_100_percent(mu, &rp.child("maxUnavailable"), errs);
                }
            }
        }
        _ => errs.invalid(&sp, strategy, "must be 'RollingUpdate' or 'OnDelete'"),
    }
    let policy = at(spec, "persistentVolumeClaimRetentionPolicy");
    for field in ["whenDeleted", "whenScaled"] {
        let v = string(policy, field);
        if !matches!(v, "Retain" | "Delete") {
            let p = path
                .child("persistentVolumeClaimRetentionPolicy")
                .child(field);
            errs.not_supported(&p, &Value::from(v), &["Retain", "Delete"]);
        }
    }
    errs.non_negative(&path.child("replicas"), int_at(spec, "replicas"));
    errs.non_negative(
        &path.child("ordinals.start"),
        at(spec, "ordinals").get("start").and_then(Value::as_i64),
    );
    errs.non_negative(
        &path.child("minReadySeconds"),
        int_at(spec, "minReadySeconds"),
    );
    errs.non_negative(
        &path.child("revisionHistoryLimit"),
        int_at(spec, "revisionHistoryLimit"),
    );
    let selector = required_selector(spec, &path, "statefulset", errs);
    let check = selector.is_none_or(|s| !selector_is_empty(s));
    if check && selector_matches(selector, template_labels(spec)) == Some(false) {
        selector_mismatch(spec, &path, errs);
    }
    // Kubernetes leaves the pod spec of a StatefulSet unchecked because mounts may name claim
    // templates; peapod checks it with those names counted as volumes.
    let mut claims = Vec::new();
    for (i, claim) in items(spec, "volumeClaimTemplates").iter().enumerate() {
        let name = string(at(claim, "metadata"), "name");
        if name.is_empty() {
            errs.required(
                &path
                    .child("volumeClaimTemplates")
                    .index(i)
                    .child("metadata")
                    .child("name"),
                "",
            );
        } else {
            claims.push(name.to_string());
        }
    }
    let opts = SpecOpts {
        extra_volumes: claims,
        ..SpecOpts::default()
    };
    let tp = path.child("template");
    validate_pod_template(Some(at(spec, "template")), &tp, &opts, errs);
    let tspec = at(at(spec, "template"), "spec");
    let restart = string(tspec, "restartPolicy");
    if !restart.is_empty() && restart != "Always" {
        errs.not_supported(
            &tp.child("spec").child("restartPolicy"),
            &Value::from(restart),
            &["Always"],
        );
    }
    if get(tspec, "activeDeadlineSeconds").is_some() {
        errs.forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        );
    }
}

pub(super) fn job(obj: &Value, errs: &mut Errs) {
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    // The selector is generated by the store when absent (it needs the Job's uid), so only a
    // given one is checked.
    if let Some(sel) = get(spec, "selector") {
        validate_label_selector(sel, &path.child("selector"), errs);
        if selector_matches(Some(sel), template_labels(spec)) == Some(false) {
            selector_mismatch(spec, &path, errs);
        }
    }
    validate_job_spec(spec, &path, errs);
}

fn validate_job_spec(spec: &Value, path: &Path, errs: &mut Errs) {
    for field in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        errs.non_negative(&path.child(field), int_at(spec, field));
    }
    if let Some(mode) = get(spec, "completionMode") {
        let m = mode.as_str().unwrap_or("");
        if !matches!(m, "NonIndexed" | "Indexed") {
            errs.not_supported(
                &path.child("completionMode"),
                mode,
                &["NonIndexed", "Indexed"],
            );
        }
        if m == "Indexed" {
            if get(spec, "completions").is_none() {
                errs.required(
                    &path.child("completions"),
                    "when completion mode is Indexed",
                );
            }
            if let Some(p) = int_at(spec, "parallelism").filter(|p| *p > 100_000) {
                errs.invalid(
                    &path.child("parallelism"),
                    &Value::from(p),
                    "must be less than or equal to 100000 when completion mode is Indexed",
                );
            }
        }
    }
    if let Some(policy) = get(spec, "podReplacementPolicy")
        && !matches!(policy.as_str(), Some("TerminatingOrFailed" | "Failed"))
    {
        errs.not_supported(
            &path.child("podReplacementPolicy"),
            policy,
            &["TerminatingOrFailed", "Failed"],
        );
    }
    let tp = path.child("template");
    let opts = SpecOpts {
        restart_required_detail: JOB_RESTART_DETAIL,
        ..SpecOpts::default()
    };
    validate_pod_template(Some(at(spec, "template")), &tp, &opts, errs);
    let restart = string(at(at(spec, "template"), "spec"), "restartPolicy");
    if !restart.is_empty() && !matches!(restart, "OnFailure" | "Never") {
        errs.not_supported(
            &tp.child("spec").child("restartPolicy"),
            &Value::from(restart),
            &["OnFailure", "Never"],
        );
    }
}

pub(super) fn cron_job(obj: &Value, errs: &mut Errs) {
    let name = string(at(obj, "metadata"), "name");
    // Job names get an 11-character suffix and must stay DNS-1035 labels.
    if name.len() > 52 {
        errs.invalid_str(
            &Path::root("metadata").child("name"),
            name,
            "must be no more than 52 characters",
        );
    }
    let spec = at(obj, "spec");
    let path = Path::root("spec");
    let schedule = string(spec, "schedule");
    let sp = path.child("schedule");
    if schedule.is_empty() {
        errs.required(&sp, "");
    } else {
        let has_tz = schedule.starts_with("TZ=") || schedule.starts_with("CRON_TZ=");
        let plain = if has_tz {
            schedule.split_once(' ').map_or("", |(_, rest)| rest.trim())
        } else {
            schedule
        };
        if let Err(e) = cron::parse_schedule(plain) {
            errs.invalid_str(&sp, schedule, e);
        }
        if schedule.contains("TZ") {
            let msg = if get(spec, "timeZone").is_some() {
                "cannot use both timeZone field and TZ or CRON_TZ in schedule"
            } else {
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
            };
            errs.invalid_str(&sp, schedule, msg);
        }
    }
    errs.non_negative(
        &path.child("startingDeadlineSeconds"),
        int_at(spec, "startingDeadlineSeconds"),
    );
    if let Some(tz) = get(spec, "timeZone") {
        validate_time_zone(tz, &path.child("timeZone"), errs);
    }
    match string(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.required(&path.child("concurrencyPolicy"), ""),
        other => errs.not_supported(
            &path.child("concurrencyPolicy"),
            &Value::from(other),
            &["Allow", "Forbid", "Replace"],
        ),
    }
    let jt = at(spec, "jobTemplate");
    let jp = path.child("jobTemplate");
    validate_template_meta(at(jt, "metadata"), &jp.child("metadata"), errs);
    let job_spec = at(jt, "spec");
    validate_job_spec(job_spec, &jp.child("spec"), errs);
    if let Some(sel) = get(job_spec, "selector") {
        errs.invalid(
            &jp.child("spec").child("selector"),
            sel,
            "`selector` will be auto-generated",
        );
    }
    if job_spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        errs.not_supported(
            &jp.child("spec").child("manualSelector"),
            &Value::Bool(true),
            &["nil", "false"],
        );
    }
    for field in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        errs.non_negative(&path.child(field), int_at(spec, field));
    }
}

/// An IANA zone name such as `Europe/Berlin` (checked for syntax; the zone database is not
/// consulted so results do not depend on the machine).
fn validate_time_zone(tz: &Value, path: &Path, errs: &mut Errs) {
    let s = tz.as_str().unwrap_or("");
    if s.is_empty() {
        errs.invalid(path, tz, "timeZone must be nil or non-empty string");
        return;
    }
    let part_ok = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".-_+".contains(&c))
    };
    if !s.split('/').all(part_ok) {
        errs.invalid(path, tz, format!("unknown time zone {s}"));
    } else if s.eq_ignore_ascii_case("Local") {
        errs.invalid(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        );
    }
}
