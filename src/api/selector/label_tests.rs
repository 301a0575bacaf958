//! Tests of label selectors, written from Kubernetes' behaviour (apimachinery's selector tests
//! and kubectl examples).

use super::*;
use crate::api::error::Reason;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn err(s: &str) -> String {
    match LabelSelector::parse(s) {
        Ok(x) => panic!("{s:?} parsed as {x}"),
        Err(e) => {
            assert_eq!(e.reason, Reason::BadRequest);
            e.message
        }
    }
}

fn obj(pairs: &[(&str, &str)]) -> Value {
    json!({"metadata": {"name": "x", "labels": labels(pairs)}})
}

#[test]
fn kubectl_examples() {
    let prod = labels(&[("env", "prod")]);
    let dev = labels(&[("env", "dev")]);
    let qa = labels(&[("env", "qa")]);
    let none = labels(&[("app", "web")]);

    let s = sel("env in (prod,dev)");
    assert!(s.matches(&prod) && s.matches(&dev));
    assert!(!s.matches(&qa) && !s.matches(&none));

    let s = sel("!env");
    assert!(s.matches(&none) && !s.matches(&prod));

    // != and notin select objects without the key, as Kubernetes does.
    let s = sel("env!=prod");
    assert!(s.matches(&none) && s.matches(&dev) && !s.matches(&prod));
    let s = sel("env notin (prod,dev)");
    assert!(s.matches(&none) && s.matches(&qa) && !s.matches(&dev));

    let s = sel("env");
    assert!(s.matches(&prod) && !s.matches(&none));
    let s = sel("env=prod");
    assert!(s.matches(&prod) && !s.matches(&dev) && !s.matches(&none));
    assert_eq!(sel("env==prod"), s);
}

#[test]
fn comma_is_and_and_whitespace_is_tolerated() {
    let s = sel("  app = web ,  env in ( prod , dev ) , !x ");
    assert_eq!(s.to_string(), "app=web,env in (dev,prod),!x");
    assert!(s.matches(&labels(&[("app", "web"), ("env", "dev")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("env", "dev"), ("x", "")])));
    assert!(!s.matches(&labels(&[("app", "db"), ("env", "dev")])));
    assert!(!s.matches(&labels(&[("env", "dev")])));
    assert_eq!(sel("env\tin\n(prod)").to_string(), "env in (prod)");
}

#[test]
fn empty_string_selects_everything() {
    for s in ["", "   "] {
        let s = sel(s);
        assert!(s.is_everything());
        assert!(s.matches(&BTreeMap::new()));
        assert!(s.matches_object(&json!({})));
        assert_eq!(s.to_string(), "");
    }
    assert!(!sel("a").is_everything());
    assert_eq!(LabelSelector::everything(), sel(""));
}

#[test]
fn canonical_display_sorts_keys_and_values() {
    assert_eq!(
        sel("z,!y,b notin (q,p),a==1").to_string(),
        "a=1,b notin (p,q),!y,z"
    );
    assert_eq!(sel("x in (b,a,b)").to_string(), "x in (a,b)");
    assert_eq!(sel("x in (b,a)"), sel("x in (a,b)"));
    assert_eq!(sel("a=1,b=2"), sel("b=2,a=1"));
}

#[test]
fn empty_values() {
    // `a=` compares against the empty value; `()`, `(,)` and `(a,)` contain it.
    let s = sel("a=");
    assert!(s.matches(&labels(&[("a", "")])) && !s.matches(&labels(&[("a", "x")])));
    assert!(!s.matches(&BTreeMap::new()));
    assert_eq!(s.to_string(), "a=");
    assert_eq!(sel("a=,b").to_string(), "a=,b");
    assert_eq!(sel("a in ()").requirements()[0].values(), [""]);
    assert_eq!(sel("a in (,)").requirements()[0].values(), [""]);
    assert_eq!(sel("a in (x,)").requirements()[0].values(), ["", "x"]);
    assert_eq!(sel("a in (,x)").requirements()[0].values(), ["", "x"]);
    assert_eq!(
        sel("x in (foo,,baz),y,z notin ()").to_string(),
        "x in (,baz,foo),y,z notin ()"
    );
    // The canonical form parses back to the same selector.
    for s in ["a in ()", "a in (,x)", "a=", "a!="] {
        assert_eq!(sel(&sel(s).to_string()), sel(s), "{s}");
    }
}

#[test]
fn in_and_notin_are_words_outside_operator_position() {
    let s = sel("in in (in,notin),notin=in");
    assert_eq!(s.to_string(), "in in (in,notin),notin=in");
    assert!(s.matches(&labels(&[("in", "notin"), ("notin", "in")])));
    assert_eq!(sel("!in").to_string(), "!in");
    assert_eq!(sel("notin").to_string(), "notin");
}

#[test]
fn prefixed_keys() {
    let s = sel("app.kubernetes.io/name=web,!example.com/skip");
    assert!(s.matches(&labels(&[("app.kubernetes.io/name", "web")])));
    assert!(!s.matches(&labels(&[
        ("app.kubernetes.io/name", "web"),
        ("example.com/skip", "1")
    ])));
}

#[test]
fn syntax_errors_name_the_bad_token() {
    assert_eq!(
        err("a b"),
        "unable to parse requirement: found 'b', expected: in, notin, =, ==, !="
    );
    assert_eq!(err("a,"), "found '', expected: identifier after ','");
    assert_eq!(err("a,,b"), "found ',', expected: identifier after ','");
    assert_eq!(
        err(",a"),
        "found ',', expected: !, identifier, or 'end of string'"
    );
    assert_eq!(
        err("=a"),
        "found '=', expected: !, identifier, or 'end of string'"
    );
    assert_eq!(
        err("!"),
        "unable to parse requirement: found '', expected: identifier"
    );
    assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
    assert_eq!(
        err("a in b"),
        "unable to parse requirement: found 'b' expected: '('"
    );
    assert_eq!(
        err("a in (b"),
        "unable to parse requirement: found '', expected: ',' or ')'"
    );
    assert_eq!(
        err("a in (b c)"),
        "unable to parse requirement: found 'c', expected: ',' or ')'"
    );
    assert_eq!(
        err("a in (="),
        "unable to parse requirement: found '=', expected: ',', ')' or identifier"
    );
    assert_eq!(
        err("a in (b,=)"),
        "unable to parse requirement: found '=', expected: ',', or identifier"
    );
    assert_eq!(
        err("a=(b)"),
        "unable to parse requirement: found '(', expected: identifier"
    );
    assert_eq!(err("a=b c"), "found 'c', expected: ',' or 'end of string'");
    assert_eq!(
        err("a>1"),
        "unable to parse requirement: found '>', expected: in, notin, =, ==, !="
    );
    assert_eq!(
        err("a in (x) b"),
        "found 'b', expected: ',' or 'end of string'"
    );
}

#[test]
fn invalid_keys_and_values_use_apimachinery_messages() {
    let e = err("a$=b");
    assert!(
        e.starts_with("unable to parse requirement: key: Invalid value: \"a$\": name part must consist of alphanumeric characters"),
        "{e}"
    );
    let e = err("app=foo$");
    assert!(
        e.starts_with("unable to parse requirement: values[0][app]: Invalid value: \"foo$\": a valid label must be an empty string"),
        "{e}"
    );
    let e = err(&format!("a={}", "x".repeat(64)));
    assert!(e.ends_with("must be no more than 63 characters"), "{e}");
    let e = err("a in (ok,b@d)");
    assert!(e.contains("values[0][a]: Invalid value: \"b@d\""), "{e}");
    let e = err("Bad.Prefix/x");
    assert!(
        e.contains("prefix part a lowercase RFC 1123 subdomain"),
        "{e}"
    );
}

#[test]
fn matches_object_reads_metadata_labels() {
    let s = sel("app=web,env notin (prod),!canary");
    assert!(s.matches_object(&obj(&[("app", "web"), ("env", "dev")])));
    assert!(s.matches_object(&obj(&[("app", "web")])));
    assert!(!s.matches_object(&obj(&[("app", "web"), ("env", "prod")])));
    assert!(!s.matches_object(&obj(&[("app", "web"), ("canary", "true")])));
    assert!(!s.matches_object(&json!({"metadata": {"name": "x"}})));
    // No labels at all: only "absent-friendly" requirements hold.
    let absent = sel("env!=prod,!x,y notin (a)");
    assert!(absent.matches_object(&json!({"metadata": {}})));
    assert!(absent.matches_object(&json!({})));
    assert!(absent.matches_object(&json!({"metadata": {"labels": null}})));
    // matches and matches_object agree.
    let l = labels(&[("app", "web"), ("env", "dev")]);
    assert_eq!(
        s.matches(&l),
        s.matches_object(&obj(&[("app", "web"), ("env", "dev")]))
    );
}

#[test]
fn from_json_metav1_label_selector() {
    assert_eq!(LabelSelector::from_json(&Value::Null).unwrap(), None);
    assert_eq!(
        LabelSelector::from_json(&json!({})).unwrap(),
        Some(LabelSelector::everything())
    );
    assert_eq!(
        LabelSelector::from_json(&json!({"matchLabels": {}, "matchExpressions": []})).unwrap(),
        Some(LabelSelector::everything())
    );
    let s = LabelSelector::from_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "tier", "operator": "NotIn", "values": ["cache"]},
            {"key": "x", "operator": "DoesNotExist"},
            {"key": "y", "operator": "Exists", "values": []},
        ]
    }))
    .unwrap()
    .unwrap();
    assert_eq!(
        s.to_string(),
        "app=web,env in (dev,prod),tier notin (cache),!x,y"
    );
    assert!(s.matches(&labels(&[("app", "web"), ("env", "dev"), ("y", "")])));
    assert!(!s.matches(&labels(&[
        ("app", "web"),
        ("env", "dev"),
        ("y", ""),
        ("tier", "cache")
    ])));
}

#[test]
fn from_json_rejects_bad_selectors() {
    let e = |v: Value| LabelSelector::from_json(&v).unwrap_err().message;
    let m = e(json!({"matchExpressions": [{"key": "env", "operator": "In", "values": []}]}));
    assert_eq!(
        m,
        "invalid label selector: matchExpressions[0].values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"
    );
    let m = e(json!({"matchExpressions": [{"key": "env", "operator": "NotIn"}]}));
    assert!(m.contains("values set can't be empty"), "{m}");
    let m = e(json!({"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["a"]}]}));
    assert_eq!(
        m,
        "invalid label selector: matchExpressions[0].values: Invalid value: [\"a\"]: values set must be empty for exists and does not exist"
    );
    let m = e(
        json!({"matchExpressions": [{"key": "env", "operator": "DoesNotExist", "values": ["a"]}]}),
    );
    assert!(m.contains("values set must be empty"), "{m}");
    let m = e(json!({"matchExpressions": [{"key": "env", "operator": "Gt", "values": ["1"]}]}));
    assert!(
        m.contains("matchExpressions[0].operator: \"Gt\" is not a valid label selector operator"),
        "{m}"
    );
    let m = e(json!({"matchExpressions": [{"operator": "Exists"}]}));
    assert_eq!(
        m,
        "invalid label selector: matchExpressions[0].key: Required value"
    );
    let m = e(json!({"matchExpressions": [{"key": "a b", "operator": "Exists"}]}));
    assert!(
        m.contains("matchExpressions[0].key: Invalid value: \"a b\""),
        "{m}"
    );
    let m = e(json!({"matchLabels": {"app": "we b"}}));
    assert!(
        m.starts_with("invalid label selector: matchLabels[app]: Invalid value: \"we b\""),
        "{m}"
    );
    let m = e(json!({"matchLabels": {"app": 3}}));
    assert!(
        m.contains("matchLabels[app]: label values must be strings"),
        "{m}"
    );
    let m = e(json!({"matchLabels": {"-x": "a"}}));
    assert!(m.contains("matchLabels: Invalid value: \"-x\""), "{m}");
    let m = e(json!("app=web"));
    assert!(m.contains("must be an object"), "{m}");
    let m = e(json!({"matchExpressions": {"key": "a"}}));
    assert!(m.contains("matchExpressions: must be a list"), "{m}");
}

#[test]
fn to_json_round_trips_through_from_json() {
    for s in [
        "app=web,env in (dev,prod),!x,y",
        "a!=b",
        "a notin (,b)",
        "",
        "a=1,a=2",
        "k=,z",
    ] {
        let s = sel(s);
        let back = LabelSelector::from_json(&s.to_json()).unwrap().unwrap();
        for l in [
            labels(&[]),
            labels(&[("a", "b")]),
            labels(&[("a", "1")]),
            labels(&[("app", "web"), ("env", "dev"), ("y", "1")]),
            labels(&[("k", ""), ("z", "")]),
        ] {
            assert_eq!(s.matches(&l), back.matches(&l), "{s} on {l:?}");
        }
    }
    assert_eq!(
        sel("app=web,env in (dev,prod),!x,tier!=db").to_json(),
        json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["dev", "prod"]},
                {"key": "tier", "operator": "NotIn", "values": ["db"]},
                {"key": "x", "operator": "DoesNotExist"},
            ]
        })
    );
    assert_eq!(LabelSelector::everything().to_json(), json!({}));
    // Two equalities on one key cannot both live in matchLabels; the second becomes In.
    let j = sel("a=1,a=2").to_json();
    assert_eq!(j["matchLabels"], json!({"a": "1"}));
    assert_eq!(
        j["matchExpressions"][0],
        json!({"key": "a", "operator": "In", "values": ["2"]})
    );
}

#[test]
fn from_labels_and_helpers() {
    let s = LabelSelector::from_labels(&labels(&[("b", "2"), ("a", "1")]));
    assert_eq!(s.to_string(), "a=1,b=2");
    assert!(LabelSelector::from_labels(&BTreeMap::new()).is_everything());
    assert_eq!(s.requires_exact_match("a"), Some("1"));
    assert_eq!(sel("a in (x)").requires_exact_match("a"), Some("x"));
    assert_eq!(sel("a in (x,y)").requires_exact_match("a"), None);
    assert_eq!(sel("a!=x").requires_exact_match("a"), None);
    assert_eq!(sel("b=x").requires_exact_match("a"), None);
    let r = Requirement::new("tier", Operator::NotIn, vec!["db".into()]).unwrap();
    let s = s.with(r);
    assert_eq!(s.to_string(), "a=1,b=2,tier notin (db)");
    assert!(Requirement::new("tier", Operator::In, vec![]).is_err());
    assert!(Requirement::new("tier", Operator::Equals, vec!["a".into(), "b".into()]).is_err());
    assert!(Requirement::new("ti er", Operator::Exists, vec![]).is_err());
    let e = Requirement::new("ti er", Operator::In, vec![]).unwrap_err();
    assert!(
        e.message.starts_with("[key: Invalid value: \"ti er\""),
        "{}",
        e.message
    );
    assert_eq!("a=b".parse::<LabelSelector>().unwrap(), sel("a=b"));
}

#[test]
fn non_string_label_values_count_as_absent() {
    let o = json!({"metadata": {"labels": {"a": 1}}});
    assert!(!sel("a").matches_object(&o));
    assert!(sel("a!=1").matches_object(&o));
}
