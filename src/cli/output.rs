//! Printing: `-o yaml|json|name|jsonpath`, kubectl's object names (`deployment.apps/web`), the
//! `v1 List` wrapper, and Go's text/tabwriter alignment that kubectl tables and describe use.

use super::CliError;
use super::jsonpath::JsonPath;
use crate::api::kinds::KindInfo;
use serde_json::{Map, Value, json};
use std::io::Write;

/// What `-o` asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    Table,
    Wide,
    Yaml,
    Json,
    Name,
    JsonPath(JsonPath),
}

impl OutputFormat {
    /// Parse `-o`; `allowed` lists what the verb accepts besides the default table.
    pub fn parse(o: Option<&str>, allowed: &[&str]) -> Result<OutputFormat, CliError> {
        let Some(o) = o.filter(|o| !o.is_empty()) else {
            return Ok(OutputFormat::Table);
        };
        let (name, arg) = match o.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (o, None),
        };
        let fmt = match (name, arg) {
            ("wide", None) => Some(OutputFormat::Wide),
            ("yaml", None) => Some(OutputFormat::Yaml),
            ("json", None) => Some(OutputFormat::Json),
            ("name", None) => Some(OutputFormat::Name),
            ("jsonpath", Some(t)) => {
                Some(OutputFormat::JsonPath(JsonPath::parse(t).map_err(|e| {
                    CliError::msg(format!("error parsing jsonpath {t}, {e}"))
                })?))
            }
            _ => None,
        };
        match fmt {
            Some(f) if allowed.contains(&name) => Ok(f),
            _ => Err(CliError::msg(format!(
                "unable to match a printer suitable for the output format {o:?}, allowed formats are: {}",
                allowed.join(",")
            ))),
        }
    }

    pub fn is_table(&self) -> bool {
        matches!(self, OutputFormat::Table | OutputFormat::Wide)
    }
}

/// The object with `apiVersion` and `kind` first, as kubectl prints list items (servers drop
/// them from list items).
pub fn with_type_meta(kind: &KindInfo, obj: &Value) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    if map.contains_key("apiVersion") && map.contains_key("kind") {
        return obj.clone();
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(kind.api_version()));
    out.insert("kind".into(), json!(kind.kind));
    for (k, v) in map {
        if k != "apiVersion" && k != "kind" {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// kubectl's `v1 List` wrapper for several objects.
pub fn list_of(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// JSON with kubectl's four-space indent.
pub fn to_json(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if serde::Serialize::serialize(v, &mut ser).is_err() {
        return v.to_string();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// Print objects in a non-table format. `single`: one object was asked for by name, so it is
/// printed bare; otherwise yaml/json wrap the objects in a List.
pub fn print_objects(
    fmt: &OutputFormat,
    objs: &[(&KindInfo, Value)],
    single: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let typed = || {
        objs.iter()
            .map(|(k, o)| with_type_meta(k, o))
            .collect::<Vec<_>>()
    };
    let doc = || {
        let mut items = typed();
        if single && items.len() == 1 {
            items.remove(0)
        } else {
            list_of(items)
        }
    };
    let text = match fmt {
        OutputFormat::Yaml => to_yaml(&doc()),
        OutputFormat::Json => format!("{}\n", to_json(&doc())),
        OutputFormat::Name => objs
            .iter()
            .map(|(k, o)| {
                format!(
                    "{}\n",
                    object_ref(
                        k,
                        o.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    )
                )
            })
            .collect(),
        OutputFormat::JsonPath(p) => p.render(&doc()).map_err(CliError::msg)?,
        OutputFormat::Table | OutputFormat::Wide => {
            return Err(CliError::msg(
                "internal: table format passed to print_objects",
            ));
        }
    };
    write_all(out, &text)
}

pub fn write_all(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| CliError::msg(format!("writing output: {e}")))
}

pub use crate::client::text::{kind_name, object_ref, tabwrite, to_yaml};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kinds::lookup;

    #[test]
    fn names_and_formats() {
        let d = lookup("deploy").unwrap();
        assert_eq!(object_ref(d, "web"), "deployment.apps/web");
        assert_eq!(object_ref(lookup("po").unwrap(), "web"), "pod/web");
        assert_eq!(
            OutputFormat::parse(Some("yaml"), &["yaml"]).unwrap(),
            OutputFormat::Yaml
        );
        let e = OutputFormat::parse(Some("yml"), &["json", "yaml"]).unwrap_err();
        assert!(
            e.to_string().contains("allowed formats are: json,yaml"),
            "{e}"
        );
        assert!(OutputFormat::parse(Some("wide"), &["name"]).is_err());
    }

    #[test]
    fn json_uses_four_spaces_and_lists_wrap() {
        assert_eq!(
            to_json(&json!({"a": [1]})),
            "{\n    \"a\": [\n        1\n    ]\n}"
        );
        let po = lookup("po").unwrap();
        let objs = vec![
            (po, json!({"metadata": {"name": "a"}})),
            (po, json!({"metadata": {"name": "b"}})),
        ];
        let mut out = Vec::new();
        print_objects(&OutputFormat::Yaml, &objs, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("kind: List\nmetadata:\n  resourceVersion: ''\n"),
            "{text}"
        );
        let mut out = Vec::new();
        print_objects(&OutputFormat::Name, &objs, false, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "pod/a\npod/b\n");
    }
}
