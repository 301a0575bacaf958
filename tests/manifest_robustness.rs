//! Mutation fuzzing of the manifest reader and the field schema check: thousands of broken
//! variants of realistic manifests must never panic, never hang, and every reported position
//! must point into the text.
//!
//! Deterministic: a fixed seed and a tiny local RNG, no external tools.

use peapod::api::kinds;
use peapod::api::manifest::{Document, ManifestError, parse_str};
use peapod::api::schema::check_fields;
use serde_json::Value;
use std::time::{Duration, Instant};

const VARIANTS: usize = 12_000;

const POD: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels:
    app.kubernetes.io/name: web
    tier: "front"
  annotations:
    note: |
      multi-line
      text
spec:
  restartPolicy: Always
  containers:
  - name: web
    image: nginx:1.25
    args: ["--port", "8080"]
    ports:
    - containerPort: 8080
      name: http
    resources:
      limits: {cpu: 500m, memory: 128Mi}
      requests:
        cpu: 0.25
    env:
    - name: MODE
      value: 'production'
    livenessProbe:
      httpGet: {path: /healthz, port: http}
  volumes:
  - name: config
    configMap:
      name: web-config
      defaultMode: 0644
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: &labels
    app: api
spec:
  replicas: 3
  selector:
    matchLabels: *labels
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 1
  template:
    metadata:
      labels:
        <<: *labels
        version: v2
    spec:
      containers:
      - &container
        name: api
        image: example/api:2
        command: [/bin/api, --listen, ":80"]
      - <<: *container
        name: sidecar
"#;

const MULTI: &str = r#"# configuration
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
  b: >
    folded
    text
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: web
  spec:
    selector: {app: web}
    ports:
    - port: 80
      targetPort: http
- apiVersion: v1
  kind: Secret
  metadata: {name: creds}
  data:
    password: aHVudGVyMg==
...
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: busybox, command: [sh, -c, "echo hi"]}]
"#;

const JSON: &str = r#"{
  "apiVersion": "apps/v1",
  "kind": "StatefulSet",
  "metadata": {"name": "db", "labels": {"app": "db"}},
  "spec": {
    "serviceName": "db",
    "replicas": 1,
    "selector": {"matchLabels": {"app": "db"}},
    "template": {
      "metadata": {"labels": {"app": "db"}},
      "spec": {
	"containers": [
	  {"name": "db", "image": "postgres:16", "ports": [{"containerPort": 5432}]}
	]
      }
    }
  }
}
"#;

const SEEDS: &[&str] = &[POD, DEPLOYMENT, MULTI, JSON];

/// Tokens that stress YAML's structure when inserted anywhere.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "&a",
    "* ",
    "'",
    "\"",
    "|",
    ">",
    "#",
    "? ",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!foo ",
    "<<: *a",
    "\t",
    "\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\\",
    "~",
    ".inf",
    ".nan",
    "0x",
    "0o7",
    "1e999",
    "é",
    "😀",
    "\u{feff}",
    "\r",
    "\0",
    "%",
    "@",
    "`",
    "items:",
    "kind: List\n",
    "&b [*a, *a, *a]",
    "{a: *a}",
];

/// splitmix64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let len = chars.len();
        match rng.below(9) {
            // Replace one character.
            0 if len > 0 => {
                let i = rng.below(len);
                let token: Vec<char> = rng.pick(TOKENS).chars().collect();
                chars[i] = token[0];
            }
            // Delete a short range.
            1 if len > 0 => {
                let i = rng.below(len);
                let end = (i + 1 + rng.below(12)).min(len);
                chars.drain(i..end);
            }
            // Insert a token.
            2 => {
                let i = rng.below(len + 1);
                let token = rng.pick(TOKENS);
                chars.splice(i..i, token.chars());
            }
            // Truncate.
            3 => chars.truncate(rng.below(len + 1)),
            // Line operations.
            _ => {
                let mut lines: Vec<String> = chars
                    .iter()
                    .collect::<String>()
                    .split('\n')
                    .map(str::to_string)
                    .collect();
                let n = lines.len();
                let i = rng.below(n);
                match rng.below(5) {
                    0 => {
                        let copy = lines[i].clone();
                        lines.insert(i, copy);
                    }
                    1 => {
                        lines.remove(i);
                    }
                    2 => {
                        let indent = " ".repeat(1 + rng.below(4));
                        lines[i].insert_str(0, &indent);
                    }
                    3 => {
                        let trimmed = lines[i].trim_start_matches(' ').to_string();
                        let keep = rng.below(lines[i].len() - trimmed.len() + 1);
                        lines[i] = format!("{}{}", " ".repeat(keep), trimmed);
                    }
                    _ => {
                        let j = rng.below(n);
                        lines.swap(i, j);
                    }
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

/// Bounds every reported position must respect.
struct Bounds {
    lines: usize,
    widest: usize,
}

impl Bounds {
    fn of(text: &str) -> Self {
        // Line breaks as YAML counts them.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        Bounds {
            lines: text.split('\n').count(),
            widest: text
                .split('\n')
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0),
        }
    }
    fn check(&self, (line, col): (usize, usize), what: &str, text: &str) {
        assert!(
            line >= 1 && line <= self.lines + 1 && col >= 1 && col <= self.widest + 2,
            "{what}: position {line}:{col} outside the text ({} lines, widest {})\n---\n{text}",
            self.lines,
            self.widest
        );
    }
}

/// Every path of a value, with mapping keys written both ways.
fn paths(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let dotted = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(format!("{prefix}[{k}]"));
                out.push(dotted.clone());
                paths(v, dotted, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}[{i}]");
                out.push(p.clone());
                paths(v, p, out);
            }
        }
        _ => {}
    }
}

/// Paths in bracket notation for mapping keys, with the key each ends in (`None` for items).
fn keyed_paths(value: &Value, prefix: &str, out: &mut Vec<(String, Option<String>)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{prefix}[{k}]");
                out.push((p.clone(), Some(k.clone())));
                keyed_paths(v, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}[{i}]");
                out.push((p.clone(), None));
                keyed_paths(v, &p, out);
            }
        }
        _ => {}
    }
}

fn kind_of(doc: &Document) -> Option<&'static kinds::KindInfo> {
    let api_version = doc
        .value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("v1");
    let kind = doc.value.get("kind").and_then(Value::as_str)?;
    kinds::by_api_version(api_version, kind).or_else(|| kinds::lookup(kind))
}

/// Parse, check and locate everything in one input; returns whether it parsed.
fn exercise(text: &str) -> bool {
    let bounds = Bounds::of(text);
    match parse_str(text, "fuzz.yaml") {
        Ok(docs) => {
            for doc in &docs {
                bounds.check((doc.line, 1), "document line", text);
                if let Some(kind) = kind_of(doc) {
                    for e in check_fields(kind, &doc.value) {
                        assert!(!e.message.is_empty());
                        bounds.check(doc.position(&e.path), &e.path, text);
                    }
                }
                let mut all = Vec::new();
                paths(&doc.value, String::new(), &mut all);
                all.extend(
                    [
                        "",
                        ".",
                        "[",
                        "]",
                        "[0",
                        "a[",
                        "metadata.name",
                        "x[99999999999999999999]",
                    ]
                    .map(String::from),
                );
                for p in &all {
                    bounds.check(doc.position(p), p, text);
                }
            }
            true
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for ManifestError {
                source,
                line,
                column,
                message,
            } in &errors
            {
                assert_eq!(source, "fuzz.yaml");
                assert!(!message.is_empty());
                bounds.check((*line, *column), message, text);
            }
            false
        }
    }
}

#[test]
fn seeds_are_valid_manifests() {
    for seed in SEEDS {
        let docs = parse_str(seed, "seed.yaml").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!docs.is_empty());
        for doc in &docs {
            let kind = kind_of(doc).expect("seed kinds are served");
            assert_eq!(check_fields(kind, &doc.value), Vec::new(), "{}", doc.value);
        }
    }
    // The List in MULTI expands: ConfigMap, Service, Secret, Job.
    assert_eq!(parse_str(MULTI, "m").unwrap().len(), 4);
}

/// Every key of the seeds is located at its own text (or at the alias / merge that produced
/// it), every list item at its first character.
#[test]
fn seed_positions_point_at_what_was_written() {
    for seed in SEEDS {
        let lines: Vec<&str> = seed.split('\n').collect();
        for doc in parse_str(seed, "seed.yaml").unwrap() {
            let mut all = Vec::new();
            keyed_paths(&doc.value, "", &mut all);
            for (path, key) in all {
                let (line, col) = doc.position(&path);
                let at: String = lines[line - 1].chars().skip(col - 1).collect();
                let ok = match &key {
                    Some(key) => {
                        at.starts_with(key.as_str())
                            || at.starts_with(&format!("\"{key}\""))
                            // Inside an alias or merge: the key that holds it.
                            || at.contains("<<")
                            || at.contains('*')
                    }
                    None => !at.is_empty() && !at.starts_with(' '),
                };
                assert!(ok, "{path} at {line}:{col} is {at:?}");
            }
        }
    }
}

#[test]
fn mutated_manifests_never_panic_or_hang() {
    // Fixed by default; `PEAPOD_FUZZ_SEED=n PEAPOD_FUZZ_VARIANTS=m` explores further.
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut rng = Rng(env("PEAPOD_FUZZ_SEED").unwrap_or(0x5EED_F00D));
    let variants = env("PEAPOD_FUZZ_VARIANTS").map_or(VARIANTS, |n| n as usize);
    let start = Instant::now();
    let (mut parsed, mut rejected) = (0, 0);
    for n in 0..variants {
        let seed = SEEDS[n % SEEDS.len()];
        let text = mutate(seed, &mut rng);
        let one = Instant::now();
        if exercise(&text) {
            parsed += 1;
        } else {
            rejected += 1;
        }
        assert!(
            one.elapsed() < Duration::from_secs(2),
            "slow input:\n{text}"
        );
    }
    // Both outcomes must be common, or the mutations are not exercising anything.
    assert!(
        parsed > variants / 10 && rejected > variants / 10,
        "parsed {parsed}, rejected {rejected}"
    );
    println!(
        "{variants} variants: {parsed} parsed, {rejected} rejected, {:?}",
        start.elapsed()
    );
    // The default run must stay quick; longer explorations are not timed as a whole.
    assert!(
        start.elapsed() < Duration::from_secs(30) || variants > VARIANTS,
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn adversarial_inputs_are_bounded() {
    let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in ('a'..'l').zip('b'..='l') {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    let mut many_keys = String::from("kind: ConfigMap\ndata:\n");
    for i in 0..20_000 {
        many_keys.push_str(&format!("  k{i}: v\n"));
    }
    let inputs = [
        laughs,
        format!("a: {}", "[".repeat(100_000)),
        format!("a: {}", "{a: ".repeat(50_000)),
        "- ".repeat(50_000),
        format!(
            "a: &x {}\nb: [{}]\n",
            "y".repeat(100_000),
            vec!["*x"; 1000].join(",")
        ),
        "---\n".repeat(20_000),
        "\"".repeat(10_000),
        many_keys,
    ];
    for text in &inputs {
        let start = Instant::now();
        exercise(text);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "slow: {:?}",
            &text[..text.len().min(80)]
        );
    }
}
