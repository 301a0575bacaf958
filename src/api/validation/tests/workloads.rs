use super::*;

fn job_template(restart: Option<&str>) -> Value {
    let mut t = template(json!({"app": "j"}));
    if let Some(r) = restart {
        t["spec"]["restartPolicy"] = json!(r);
    }
    t
}

fn cron_job(schedule: &str) -> Value {
    json!({"metadata": {"name": "c"}, "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": job_template(Some("OnFailure"))}}}})
}

#[test]
fn selectors_are_required_and_must_match_the_template() {
    let mut d = deployment();
    d["spec"]["selector"] = json!({"matchLabels": {"app": "db"}});
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        ],
    );
    let mut d = deployment();
    d["spec"].as_object_mut().unwrap().remove("selector");
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        ],
    );
    let mut d = deployment();
    d["spec"]["selector"] = json!({});
    assert_errs(
        "Deployment",
        d,
        &["spec.selector: Invalid value: {}: empty selector is invalid for deployment"],
    );
    let mut d = deployment();
    d["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]});
    assert_valid("Deployment", d);
    for kind in ["ReplicaSet", "DaemonSet", "StatefulSet"] {
        let obj =
            json!({"metadata": {"name": "x"}, "spec": {"template": template(json!({"app": "x"}))}});
        assert_has(&create(kind, obj), "spec.selector: Required value");
    }
}

#[test]
fn long_running_templates_must_restart_always() {
    let mut d = deployment();
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    d["spec"]["template"]["spec"]["activeDeadlineSeconds"] = json!(30);
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
        ],
    );
    let mut d = deployment();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    assert_errs(
        "Deployment",
        d,
        &["spec.template.spec.containers[0].image: Required value"],
    );
}

#[test]
fn deployment_numbers_and_strategy() {
    let mut d = deployment();
    d["spec"]["replicas"] = json!(-1);
    d["spec"]["revisionHistoryLimit"] = json!(-2);
    d["spec"]["minReadySeconds"] = json!(700);
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
            "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
        ],
    );
    let mut d = deployment();
    d["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ],
    );
    let mut d = deployment();
    d["spec"]["strategy"] = json!({"rollingUpdate": {"maxSurge": "ten", "maxUnavailable": "150%"}});
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.strategy.rollingUpdate.maxSurge: Invalid value: ten: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 150%: must not be greater than 100%",
        ],
    );
    let mut d = deployment();
    d["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}});
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
        ],
    );
    let mut d = deployment();
    d["spec"]["strategy"] = json!({"type": "BlueGreen"});
    assert_errs(
        "Deployment",
        d,
        &[
            "spec.strategy.type: Unsupported value: \"BlueGreen\": supported values: \"Recreate\", \"RollingUpdate\"",
        ],
    );
}

#[test]
fn daemon_set_update_strategy() {
    let ds = |ru: Value| {
        json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": template(json!({"app": "d"})),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": ru}}})
    };
    assert_valid(
        "DaemonSet",
        ds(json!({"maxUnavailable": 0, "maxSurge": "10%"})),
    );
    assert_errs(
        "DaemonSet",
        ds(json!({"maxUnavailable": 1, "maxSurge": 1})),
        &[
            "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero",
        ],
    );
    assert_errs(
        "DaemonSet",
        ds(json!({"maxUnavailable": 0, "maxSurge": 0})),
        &[
            "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
        ],
    );
}

#[test]
fn stateful_sets() {
    let sts = json!({"metadata": {"name": "db"}, "spec": {"selector": {"matchLabels": {"app": "db"}}, "serviceName": "db",
        "podManagementPolicy": "Sometimes", "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "pg",
            "volumeMounts": [{"name": "data", "mountPath": "/var/lib/pg"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
    // Mounts may name claim templates.
    assert_errs(
        "StatefulSet",
        sts,
        &[
            "spec.podManagementPolicy: Invalid value: \"Sometimes\": must be 'OrderedReady' or 'Parallel'",
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\"",
        ],
    );
}

#[test]
fn replication_controllers() {
    let rc = json!({"metadata": {"name": "r"}, "spec": {"selector": {"app": "other"}, "template": template(json!({"app": "r"}))}});
    assert_errs(
        "ReplicationController",
        rc,
        &[
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"r\"}: `selector` does not match template `labels`",
        ],
    );
    assert_errs(
        "ReplicationController",
        json!({"metadata": {"name": "r"}, "spec": {}}),
        &[
            "spec.selector: Required value",
            "spec.template: Required value",
        ],
    );
}

#[test]
fn job_templates_must_not_restart_always() {
    let job = |t: Value| json!({"metadata": {"name": "j"}, "spec": {"template": t}});
    assert_valid("Job", job(job_template(Some("OnFailure"))));
    assert_errs(
        "Job",
        job(job_template(Some("Always"))),
        &[
            "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
        ],
    );
    assert_errs(
        "Job",
        job(job_template(None)),
        &[
            "spec.template.spec.restartPolicy: Required value: supported values: \"OnFailure\", \"Never\"",
        ],
    );
}

#[test]
fn job_numbers_modes_and_selector() {
    let j = json!({"metadata": {"name": "j"}, "spec": {"parallelism": -1, "backoffLimit": -1, "completionMode": "Sometimes",
        "selector": {"matchLabels": {"app": "other"}}, "template": job_template(Some("Never"))}});
    assert_errs(
        "Job",
        j,
        &[
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"j\"}: `selector` does not match template `labels`",
            "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
            "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
            "spec.completionMode: Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\"",
        ],
    );
    let j = json!({"metadata": {"name": "j"}, "spec": {"parallelism": 2, "completionMode": "Indexed", "template": job_template(Some("Never"))}});
    assert_errs(
        "Job",
        j,
        &["spec.completions: Required value: when completion mode is Indexed"],
    );
}

#[test]
fn cron_job_schedules() {
    assert_valid("CronJob", cron_job("@hourly"));
    assert_valid("CronJob", cron_job("0 3 * * MON-FRI"));
    assert_errs("CronJob", cron_job(""), &["spec.schedule: Required value"]);
    assert_errs(
        "CronJob",
        cron_job("61 * * * *"),
        &["spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"],
    );
    assert_errs(
        "CronJob",
        cron_job("* * *"),
        &["spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"],
    );
    assert_errs(
        "CronJob",
        cron_job("TZ=UTC 0 * * * *"),
        &[
            "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ],
    );
}

#[test]
fn cron_job_policies_names_and_templates() {
    let mut c = cron_job("* * * * *");
    c["metadata"]["name"] = json!("c".repeat(53));
    c["spec"]["concurrencyPolicy"] = json!("Sometimes");
    c["spec"]["successfulJobsHistoryLimit"] = json!(-1);
    c["spec"]["timeZone"] = json!("Local");
    c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    let errs = create("CronJob", c);
    assert_has(
        &errs,
        &format!(
            "metadata.name: Invalid value: \"{}\": must be no more than 52 characters",
            "c".repeat(53)
        ),
    );
    assert_has(
        &errs,
        "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
    );
    assert_has(
        &errs,
        "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
    );
    assert_has(
        &errs,
        "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
    );
    assert_has(
        &errs,
        "spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"",
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
    let mut c = cron_job("* * * * *");
    c["spec"]["timeZone"] = json!("Europe/Berlin");
    assert_valid("CronJob", c);
}
