//! Reading `-f` arguments as kubectl does: files, directories, `-` for stdin.

use super::{Document, ManifestError, parse_str};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Extensions read from directories (a file named explicitly is read whatever its name).
const EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Read `-f` arguments: files, directories (recursively with `recursive`), `-` for stdin.
///
/// Directory entries are visited in name order, subdirectories (only with `recursive`, as
/// kubectl `-R`) at their place in that order. Problems in every file are collected; documents
/// are returned only when there is none. An empty result is not an error here.
pub fn read_paths(paths: &[String], recursive: bool) -> Result<Vec<Document>, Vec<ManifestError>> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path == "-" {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => add(parse_str(&text, "STDIN"), &mut docs, &mut errors),
                Err(e) => errors.push(whole("STDIN", format!("cannot read standard input: {e}"))),
            }
            continue;
        }
        let p = Path::new(path);
        match std::fs::metadata(p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                errors.push(whole("", format!("the path {path:?} does not exist")));
            }
            Err(e) => errors.push(whole(path, format!("cannot read: {e}"))),
            Ok(meta) if meta.is_dir() => read_dir(p, recursive, &mut docs, &mut errors),
            Ok(_) => read_file(p, &mut docs, &mut errors),
        }
    }
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(errors)
    }
}

fn read_dir(
    dir: &Path,
    recursive: bool,
    docs: &mut Vec<Document>,
    errors: &mut Vec<ManifestError>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(whole(
                &dir.display().to_string(),
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        // Symlinked directories are not followed (as filepath.Walk): no loops.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if recursive {
                read_dir(&path, recursive, docs, errors);
            }
            continue;
        }
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e));
        if wanted && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            read_file(&path, docs, errors);
        }
    }
}

fn read_file(path: &Path, docs: &mut Vec<Document>, errors: &mut Vec<ManifestError>) {
    let source = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => add(parse_str(&text, &source), docs, errors),
            Err(e) => {
                let (line, column) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
                errors.push(ManifestError {
                    source,
                    line,
                    column,
                    message: "not valid UTF-8 text".into(),
                });
            }
        },
        Err(e) => errors.push(whole(&source, format!("cannot read: {e}"))),
    }
}

fn add(
    result: Result<Vec<Document>, Vec<ManifestError>>,
    docs: &mut Vec<Document>,
    errors: &mut Vec<ManifestError>,
) {
    match result {
        Ok(d) => docs.extend(d),
        Err(e) => errors.extend(e),
    }
}

fn whole(source: &str, message: String) -> ManifestError {
    ManifestError {
        source: source.to_string(),
        line: 0,
        column: 0,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }

    fn cm(name: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n")
    }

    fn names(docs: &[Document]) -> Vec<String> {
        docs.iter()
            .map(|d| d.value["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn directories_sorted_and_recursive_only_with_r() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "b.yaml", &cm("b"));
        write(d, "a.yml", &cm("a"));
        write(
            d,
            "c.json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        );
        write(d, "notes.txt", "not a manifest: [");
        write(d, "ab/x.yaml", &cm("sub"));
        let dir = d.display().to_string();
        assert_eq!(
            names(&read_paths(std::slice::from_ref(&dir), false).unwrap()),
            ["a", "b", "c"]
        );
        assert_eq!(
            names(&read_paths(&[dir], true).unwrap()),
            ["a", "sub", "b", "c"]
        );
    }

    #[test]
    fn explicit_file_any_extension_and_sources() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "pod.txt", &cm("x"));
        let f = tmp.path().join("pod.txt").display().to_string();
        let docs = read_paths(std::slice::from_ref(&f), false).unwrap();
        assert_eq!(docs[0].source, f);
        assert_eq!(docs[0].line, 1);
    }

    #[test]
    fn errors_are_collected_across_files() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "a.yaml", "a: [\n");
        write(tmp.path(), "b.yaml", "- 1\n");
        write(tmp.path(), "c.yaml", &cm("fine"));
        let dir = tmp.path().display().to_string();
        let errs = read_paths(&[dir, "/no/such/file.yaml".into()], false).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].source.ends_with("a.yaml"));
        assert!(errs[1].source.ends_with("b.yaml"));
        assert_eq!((errs[1].line, errs[1].column), (1, 1));
        assert_eq!(
            errs[2].to_string(),
            "the path \"/no/such/file.yaml\" does not exist"
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("bad.yaml");
        std::fs::write(&p, b"a: 1\nb: \xff\n").unwrap();
        let errs = read_paths(&[p.display().to_string()], false).unwrap_err();
        assert_eq!((errs[0].line, errs[0].column), (2, 4));
        assert!(
            errs[0]
                .to_string()
                .ends_with("bad.yaml:2:4: not valid UTF-8 text")
        );
    }

    #[test]
    fn empty_directory_gives_no_documents() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(
            read_paths(&[tmp.path().display().to_string()], true)
                .unwrap()
                .is_empty()
        );
    }
}
