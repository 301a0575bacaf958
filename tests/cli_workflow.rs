//! The kubectl workflow of the CLI issue, run with the built binary against a fresh state
//! directory (no `peapod serve`: each command opens the store itself).

mod cli_support;

use cli_support::{Peapod, SHOP, names};

#[test]
fn apply_multi_document_file_then_reapply_is_unchanged() {
    let p = Peapod::new();
    let f = p.file("shop.yaml", SHOP);
    let f = f.to_str().unwrap();
    let out = p.run(&["apply", "-f", f]);
    assert_eq!(
        out.ok(),
        "namespace/shop created\npod/web created\npod/canary created\nconfigmap/settings created\n"
    );
    let out = p.run(&["apply", "-f", f]);
    assert_eq!(
        out.ok(),
        "namespace/shop unchanged\npod/web unchanged\npod/canary unchanged\nconfigmap/settings unchanged\n"
    );
    // A change is reported as configured, the rest unchanged.
    let changed = SHOP.replace("mode: fast", "mode: slow");
    let f2 = p.file("shop2.yaml", &changed);
    let out = p.run(&["apply", "-f", f2.to_str().unwrap()]);
    assert!(
        out.ok().contains("configmap/settings configured\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("pod/web unchanged\n"));
    // From stdin too.
    let out = p.run_stdin(&["apply", "-f", "-"], SHOP);
    assert!(
        out.ok().contains("configmap/settings configured\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn get_with_labels_and_selectors() {
    let p = Peapod::new();
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();

    let out = p.run(&["get", "po", "-n", "shop", "--show-labels"]);
    let text = out.ok();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "LABELS"]
    );
    assert!(header.starts_with("NAME     READY   STATUS"), "{text}");
    assert_eq!(names(text), ["canary", "web"]);
    assert!(text.contains("app=web,env=dev,rel=canary"), "{text}");
    assert!(text.contains("app=web,env=prod,rel=stable"), "{text}");

    let out = p.run(&["get", "po", "-n", "shop", "-L", "env"]);
    let text = out.ok();
    assert!(
        text.lines().next().unwrap().ends_with("AGE   ENV"),
        "{text}"
    );
    assert!(text.lines().nth(1).unwrap().ends_with("dev"), "{text}");
    assert!(text.lines().nth(2).unwrap().ends_with("prod"), "{text}");

    let out = p.run(&[
        "get",
        "po",
        "-n",
        "shop",
        "-l",
        "env in (prod,dev)",
        "-o",
        "name",
    ]);
    assert_eq!(out.ok(), "pod/canary\npod/web\n");
    let out = p.run(&["get", "po", "-n", "shop", "-l", "env=prod", "-o", "name"]);
    assert_eq!(out.ok(), "pod/web\n");
    let out = p.run(&["get", "po", "-n", "shop", "-l", "!env"]);
    assert_eq!(out.ok(), "");
    assert_eq!(out.stderr, "No resources found in shop namespace.\n");

    // -A puts NAMESPACE first; several kinds are prefixed with the kind.
    let out = p.run(&["get", "po,cm", "-A"]);
    let text = out.ok();
    assert!(text.starts_with("NAMESPACE   NAME"), "{text}");
    assert!(text.contains("shop        pod/web"), "{text}");
    assert!(text.contains("configmap/settings"), "{text}");

    // One object by name prints bare; a list is a v1 List.
    let out = p.run(&["get", "po", "web", "-n", "shop", "-o", "yaml"]);
    assert!(
        out.ok()
            .starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"),
        "{}",
        out.stdout
    );
    let out = p.run(&["get", "po", "-n", "shop", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert!(
        out.stdout
            .starts_with("{\n    \"apiVersion\": \"v1\",\n    \"items\": ["),
        "{}",
        out.stdout
    );
    let out = p.run(&[
        "get",
        "po",
        "-n",
        "shop",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]);
    assert_eq!(out.ok(), "canary web");
}

#[test]
fn label_annotate_and_overwrite() {
    let p = Peapod::new();
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();

    let out = p.run(&["label", "po", "web", "env=debug", "-n", "shop"]);
    assert_eq!(
        out.failed(),
        "error: 'env' already has a value (prod), and --overwrite is false\n"
    );
    let out = p.run(&[
        "label",
        "po",
        "web",
        "env=debug",
        "--overwrite",
        "-n",
        "shop",
    ]);
    assert_eq!(out.ok(), "pod/web labeled\n");
    let out = p.run(&[
        "get",
        "po",
        "web",
        "-n",
        "shop",
        "-o",
        "jsonpath={.metadata.labels.env}",
    ]);
    assert_eq!(out.ok(), "debug");
    let out = p.run(&["label", "pod/web", "env=debug", "-n", "shop"]);
    assert_eq!(out.ok(), "pod/web not labeled\n");
    let out = p.run(&["label", "po", "web", "rel-", "-n", "shop"]);
    assert_eq!(out.ok(), "pod/web labeled\n");
    let out = p.run(&["get", "po", "-n", "shop", "-l", "!rel", "-o", "name"]);
    assert_eq!(out.ok(), "pod/web\n");

    let out = p.run(&["annotate", "po", "web", "owner=team-a", "-n", "shop"]);
    assert_eq!(out.ok(), "pod/web annotated\n");
    let out = p.run(&[
        "get",
        "po",
        "web",
        "-n",
        "shop",
        "-o",
        "jsonpath={.metadata.annotations.owner}",
    ]);
    assert_eq!(out.ok(), "team-a");
    let out = p.run(&["annotate", "po", "web", "owner=team-b", "-n", "shop"]);
    assert!(
        out.failed()
            .contains("'owner' already has a value (team-a)"),
        "{}",
        out.stderr
    );

    let out = p.run(&["label", "po", "web", "bad key=x", "-n", "shop"]);
    assert!(
        out.failed()
            .starts_with("error: invalid label spec: bad key=x"),
        "{}",
        out.stderr
    );
}

#[test]
fn delete_by_selector_and_namespace() {
    let p = Peapod::new();
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();

    let out = p.run(&["delete", "po", "-l", "rel=canary", "-n", "shop"]);
    assert_eq!(out.ok(), "pod \"canary\" deleted\n");
    let out = p.run(&["get", "po", "-n", "shop", "-o", "name"]);
    assert_eq!(out.ok(), "pod/web\n");

    let out = p.run(&["delete", "po", "nope", "web", "-n", "shop"]);
    assert_eq!(
        out.stdout, "pod \"web\" deleted\n",
        "other names are still processed"
    );
    assert_eq!(
        out.failed(),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    let out = p.run(&["delete", "po", "nope", "-n", "shop", "--ignore-not-found"]);
    assert_eq!(out.ok(), "");

    let out = p.run(&["delete", "ns", "shop"]);
    assert_eq!(out.ok(), "namespace \"shop\" deleted\n");
    let out = p.run(&["get", "ns", "-o", "name"]);
    assert!(!out.ok().contains("namespace/shop"), "{}", out.stdout);
    let out = p.run(&["get", "cm", "-n", "shop"]);
    assert_eq!(out.ok(), "");
    assert_eq!(out.stderr, "No resources found in shop namespace.\n");
}

/// A pod with a misspelt field and a missing image, after a valid config map: both problems
/// are reported with their lines, and nothing at all is written.
#[test]
fn typo_pod_reports_every_problem_and_writes_nothing() {
    let p = Peapod::new();
    let text = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
data:
  a: b
---
apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  containers:
  - name: app
    imagee: busybox
";
    let f = p.file("typo.yaml", text);
    let f = f.to_str().unwrap();
    let out = p.run(&["apply", "-f", f]);
    let err = out.failed().to_string();
    assert_eq!(out.stdout, "");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "error: {f}:15:5: Pod \"typo\": unknown field \"spec.containers[0].imagee\", did you mean \"image\"?"
        )),
        "{err}"
    );
    assert!(lines[1].starts_with(&format!("error: {f}:14:")), "{err}");
    assert!(
        lines[1].contains("Pod \"typo\": spec.containers[0].image: Required value"),
        "{err}"
    );

    let out = p.run(&["get", "po,cm", "-A"]);
    assert_eq!(out.ok(), "");
    assert_eq!(out.stderr, "No resources found\n");

    // --validate=warn turns the unknown field into a warning; the missing image still fails.
    let out = p.run(&["apply", "-f", f, "--validate=warn"]);
    let err = out.failed();
    assert!(err.starts_with("Warning: "), "{err}");
    assert!(err.contains("Required value"), "{err}");
}

#[test]
fn create_reports_existing_objects() {
    let p = Peapod::new();
    let out = p.run(&["create", "ns", "dev"]);
    assert_eq!(out.ok(), "namespace/dev created\n");
    let out = p.run(&["create", "namespace", "dev"]);
    assert_eq!(
        out.failed(),
        "Error from server (AlreadyExists): namespaces \"dev\" already exists\n"
    );
    let f = p.file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: dev\n",
    );
    let f = f.to_str().unwrap();
    assert_eq!(p.run(&["create", "-f", f]).ok(), "configmap/c created\n");
    let out = p.run(&["create", "-f", f]);
    assert_eq!(
        out.failed(),
        format!(
            "Error from server (AlreadyExists): error when creating \"{f}\": configmaps \"c\" already exists\n"
        )
    );
}

#[test]
fn saved_namespace_and_describe() {
    let p = Peapod::new();
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
    assert_eq!(
        p.run(&["config", "set-namespace", "shop"]).ok(),
        "Context \"peapod\" modified.\n"
    );
    assert_eq!(p.run(&["config", "current-namespace"]).ok(), "shop\n");
    let out = p.run(&["get", "po", "-o", "name"]);
    assert_eq!(out.ok(), "pod/canary\npod/web\n");
    assert_eq!(
        p.run(&["get", "po", "-n", "default", "-o", "name"]).ok(),
        ""
    );

    let out = p.run(&["describe", "po", "web"]);
    let text = out.ok();
    assert!(
        text.starts_with("Name:             web\nNamespace:        shop\n"),
        "{text}"
    );
    assert!(text.contains("    Image:          nginx:1.25\n"), "{text}");
    assert!(text.contains("\nEvents:"), "{text}");
    let out = p.run(&["describe", "cm", "settings"]);
    assert!(
        out.ok().contains("Data\n====\nmode:\n----\nfast\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn edit_with_an_editor_command() {
    let p = Peapod::new();
    let f = p.file("shop.yaml", SHOP);
    p.run(&["apply", "-f", f.to_str().unwrap()]).ok();
    let edit = |editor: &str| {
        p.run_env(
            &["edit", "cm", "settings", "-n", "shop"],
            &[("KUBE_EDITOR", editor)],
        )
    };

    assert_eq!(edit("true").ok(), "Edit cancelled, no changes made.\n");
    assert_eq!(
        edit("sed -i s/fast/slow/").ok(),
        "configmap/settings edited\n"
    );
    let out = p.run(&[
        "get",
        "cm",
        "settings",
        "-n",
        "shop",
        "-o",
        "jsonpath={.data.mode}",
    ]);
    assert_eq!(out.ok(), "slow");

    // Renaming is refused and the edits are kept for the user.
    let out = edit("sed -i s/name:\\ settings/name:\\ other/");
    let err = out.failed();
    assert!(err.contains("cannot be changed by edit"), "{err}");
    let kept = err
        .split("(your edits are in ")
        .nth(1)
        .and_then(|s| s.strip_suffix(")\n"))
        .unwrap();
    assert!(
        std::fs::read_to_string(kept)
            .unwrap()
            .contains("name: other")
    );
    let _ = std::fs::remove_file(kept);
}

#[test]
fn exit_codes_and_messages() {
    let p = Peapod::new();
    let out = p.run(&["get", "pdos"]);
    assert_eq!(
        out.failed(),
        "error: the server doesn't have a resource type \"pdos\"; did you mean \"pods\"?\n"
    );
    let out = p.run(&["get", "po", "nope"]);
    assert_eq!(
        out.failed(),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    assert_eq!(p.run(&["get", "po"]).code, 0);
    assert_eq!(p.run(&["get", "--bogus-flag"]).code, 1);
    assert_eq!(p.run(&["--help"]).code, 0);
    let out = p.run(&[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("the console needs a terminal"),
        "{}",
        out.stderr
    );
    let out = p.run(&["api-resources", "-o", "name"]);
    assert!(out.ok().starts_with("configmaps\n"), "{}", out.stdout);
    assert!(
        p.run(&["version", "--client"])
            .ok()
            .starts_with("Client Version: v")
    );
}

/// The issue's typo pod: `spec.container` and no `metadata.name`; both problems with their
/// lines in one run, exit 1, nothing stored.
#[test]
fn issue_typo_pod_reports_both_problems() {
    let p = Peapod::new();
    let f = p.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    app: web\nspec:\n  container:\n  - name: web\n    image: busybox\n",
    );
    let f = f.to_str().unwrap();
    let out = p.run(&["apply", "-f", f]);
    let err = out.failed().to_string();
    assert!(
        err.contains(&format!(
            "error: {f}:7:3: Pod (no name): unknown field \"spec.container\", did you mean \"containers\"?"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "error: {f}:3:1: Pod (no name): metadata.name: Required value: name or generateName is required"
        )),
        "{err}"
    );
    let out = p.run(&["get", "po", "-A"]);
    assert_eq!(out.stdout, "");
}
