//! Command mode: parsing `:` commands, their errors and completion, and the view history.

use super::*;
use crate::api::kinds::lookup;

fn view(kind: &str) -> Command {
    Command::View {
        kind: lookup(kind).unwrap(),
        namespace: None,
        filter: None,
    }
}

#[test]
fn commands_switch_kinds_by_any_name() {
    for (line, kind) in [
        (":deploy", "deployments"),
        (":rs", "replicasets"),
        (":rc", "replicationcontrollers"),
        (":sts", "statefulsets"),
        (":ds", "daemonsets"),
        (":job", "jobs"),
        (":cj", "cronjobs"),
        (":svc", "services"),
        (":ep", "endpoints"),
        (":cm", "configmaps"),
        (":secret", "secrets"),
        (":ns", "namespaces"),
        (":node", "nodes"),
        (":events", "events"),
        (":ev", "events"),
        (":pvc", "persistentvolumeclaims"),
        (":pv", "persistentvolumes"),
        (":po", "pods"),
        (":pods", "pods"),
        ("pod", "pods"),
        (" :Deployments ", "deployments"),
        (":deployments.apps", "deployments"),
    ] {
        assert_eq!(parse_command(line), Ok(view(kind)), "{line}");
    }
}

#[test]
fn command_arguments() {
    let po = lookup("po").unwrap();
    assert_eq!(
        parse_command(":pods app=web"),
        Ok(Command::View {
            kind: po,
            namespace: None,
            filter: Some("-l app=web".into())
        })
    );
    assert_eq!(
        parse_command(":po env in (prod, dev)"),
        Ok(Command::View {
            kind: po,
            namespace: None,
            filter: Some("-l env in (prod, dev)".into())
        })
    );
    assert_eq!(
        parse_command(":po kube-system"),
        Ok(Command::View {
            kind: po,
            namespace: Some(NamespaceArg::Name("kube-system".into())),
            filter: None
        })
    );
    assert_eq!(
        parse_command(":po /web"),
        Ok(Command::View {
            kind: po,
            namespace: None,
            filter: Some("web".into())
        })
    );
    assert_eq!(
        parse_command(":ns shop"),
        Ok(Command::Namespace(NamespaceArg::Name("shop".into())))
    );
    assert_eq!(
        parse_command(":ns all"),
        Ok(Command::Namespace(NamespaceArg::All))
    );
    assert_eq!(NamespaceArg::All.into_option(), None);
    assert_eq!(parse_command(":q"), Ok(Command::Quit));
    assert_eq!(parse_command(":quit"), Ok(Command::Quit));
    assert_eq!(
        parse_command(":apply ./my app.yaml"),
        Ok(Command::Apply("./my app.yaml".into()))
    );
}

#[test]
fn command_errors_are_one_line_with_suggestions() {
    let err = parse_command(":pdos").unwrap_err();
    assert!(err.contains("did you mean :pods?"), "{err}");
    let err = parse_command(":deplyo").unwrap_err();
    assert!(err.contains("did you mean :deploy"), "{err}");
    let err = parse_command(":qiut").unwrap_err();
    assert!(err.contains("did you mean :quit?"), "{err}");
    let err = parse_command(":zzzzzz").unwrap_err();
    assert!(
        err.contains("unknown command or resource \"zzzzzz\""),
        "{err}"
    );
    assert!(parse_command(":apply").unwrap_err().contains(":apply PATH"));
    assert!(parse_command(":").is_err());
    assert!(parse_command(":q now").is_err());
    assert!(
        parse_command(":pods app in (")
            .unwrap_err()
            .starts_with("bad label selector")
    );
    assert!(
        parse_command(":node worker")
            .unwrap_err()
            .contains("not namespaced")
    );
    assert!(parse_command(":ns a b").is_err());
    assert!(parse_command(":po a b").is_err());
    for line in [":pdos", ":", ":apply", ":node x", ":pods app in ("] {
        assert!(!parse_command(line).unwrap_err().contains('\n'), "{line}");
    }
}

#[test]
fn completion() {
    assert_eq!(complete("dep"), ["deploy", "deployment", "deployments"]);
    assert_eq!(complete(":pv"), ["pv", "pvc"]);
    assert!(complete("p").contains(&"pods".to_string()));
    assert!(complete("q").contains(&"quit".to_string()));
    assert!(complete("zz").is_empty());
    assert_eq!(
        complete_in("ns k", &["kube-system", "default", "kube-public"]),
        ["ns kube-public", "ns kube-system"]
    );
    assert_eq!(complete_in("po a", &["apps"]), ["po all", "po apps"]);
    assert!(complete_in("node d", &["default"]).is_empty());
    assert!(complete_in("nope d", &["default"]).is_empty());
    // Every completion parses.
    for w in complete("") {
        if !["apply", "create", "label", "annotate"].contains(&w.as_str()) {
            assert!(parse_command(&w).is_ok(), "{w}");
        }
    }
}

#[test]
fn history_back_and_forward() {
    let v = |k: &str, ns: Option<&str>, f: &str| View {
        kind: lookup(k).unwrap(),
        namespace: ns.map(String::from),
        filter: f.into(),
    };
    let mut h = History::new(3);
    assert!(h.back().is_none());
    h.push(v("po", None, ""));
    h.push(v("po", None, ""));
    assert_eq!(h.len(), 1, "same view twice is one visit");
    h.push(v("deploy", Some("shop"), ""));
    h.push(v("svc", None, "-l app=web"));
    assert_eq!(h.back(), Some(&v("deploy", Some("shop"), "")));
    assert_eq!(h.back(), Some(&v("po", None, "")));
    assert!(h.back().is_none());
    assert_eq!(h.current(), Some(&v("po", None, "")));
    assert_eq!(h.forward(), Some(&v("deploy", Some("shop"), "")));
    assert!(h.can_go_forward());
    // A new visit drops the forward views.
    h.push(v("cm", None, ""));
    assert!(!h.can_go_forward());
    assert!(h.forward().is_none());
    assert_eq!(h.len(), 3);
    // The cap drops the oldest.
    h.push(v("ns", None, ""));
    assert_eq!(h.len(), 3);
    assert_eq!(h.back(), Some(&v("cm", None, "")));
    assert_eq!(h.back(), Some(&v("deploy", Some("shop"), "")));
    assert!(h.back().is_none());
}
