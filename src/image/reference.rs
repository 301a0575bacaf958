//! Image references `name[:tag][@sha256:digest]`, normalized the way docker and podman do:
//! `busybox` → `docker.io/library/busybox:latest`, `localhost/bbox` and `registry:5000/x/y:t`
//! keep their registry, untagged names get `:latest` unless a digest is given.

use super::ImageError;
use super::digest::Digest;
use std::fmt;

/// A fully qualified reference: registry domain, repository path, and a tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// `docker.io`, `localhost`, `registry:5000`, ...
    pub domain: String,
    /// `library/busybox`, `x/y`, ...
    pub path: String,
    /// `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

const MAX_NAME: usize = 255;

impl Reference {
    /// Parse and normalize; the error names the reference and what is wrong with it.
    pub fn parse(s: &str) -> Result<Reference, ImageError> {
        let bad = |reason: String| ImageError::Reference {
            reference: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(bad("the reference is empty".into()));
        }
        if s.len() == 64 && Digest::from_hex(s).is_some() {
            return Err(bad(
                "a 64-digit hexadecimal string is an image id, not a repository name".into(),
            ));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(Digest::parse(d).map_err(|e| bad(e.to_string()))?)),
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/' (a ':' before is a port).
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(bad)?;
        }
        let (domain, path) = split_domain(name);
        if path.is_empty() {
            return Err(bad("the repository name is empty".into()));
        }
        check_domain(domain).map_err(bad)?;
        if path.to_lowercase() != path {
            return Err(bad(format!("repository name {path:?} must be lowercase")));
        }
        for component in path.split('/') {
            check_component(component).map_err(bad)?;
        }
        let domain = if domain == "index.docker.io" {
            "docker.io"
        } else {
            domain
        };
        let path = if domain == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if domain.len() + 1 + path.len() > MAX_NAME {
            return Err(bad(format!(
                "the repository name is longer than {MAX_NAME} characters"
            )));
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some("latest".to_string()),
        };
        Ok(Reference {
            domain: domain.to_string(),
            path,
            tag,
            digest,
        })
    }

    /// `docker.io/library/busybox` (no tag or digest).
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The same repository under another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// For an unqualified `bbox`, `docker.io/library/bbox`; else `None`. podman also looks
    /// such names up under `localhost/`, where `podman import` puts them.
    pub fn localhost_alternative(&self, original: &str) -> Option<Reference> {
        let unqualified = !original.contains('/') && self.domain == "docker.io";
        unqualified.then(|| Reference {
            domain: "localhost".to_string(),
            path: self.path.trim_start_matches("library/").to_string(),
            ..self.clone()
        })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// docker's splitDockerDomain: the first component is a registry when it has a `.` or `:`,
/// is `localhost`, or has uppercase letters; otherwise the name is on docker.io.
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first, rest)
        }
        _ => ("docker.io", name),
    }
}

fn check_tag(t: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok =
        t.len() <= 128 && t.starts_with(word) && t.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {t:?}: use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        ))
    }
}

fn check_domain(d: &str) -> Result<(), String> {
    let bad = || format!("invalid registry {d:?}: expected host[:port]");
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        // [IPv6]:port
        let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(bad());
        }
        match after {
            "" => return Ok(()),
            p => (None, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    if let Some(h) = host {
        let component_ok = |c: &str| {
            !c.is_empty()
                && !c.starts_with('-')
                && !c.ends_with('-')
                && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        };
        if !h.split('.').all(component_ok) {
            return Err(bad());
        }
    }
    Ok(())
}

/// A path component: lowercase alphanumerics separated by `.`, `_`, `__` or runs of `-`.
fn check_component(c: &str) -> Result<(), String> {
    let bad = || {
        format!(
            "invalid repository name component {c:?}: use lowercase letters and digits separated by '.', '_', '__' or '-'"
        )
    };
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(bad());
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    fn err(s: &str) -> String {
        Reference::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn docker_hub_names_are_qualified() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(norm("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            norm("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            norm("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn registries_keep_their_names() {
        assert_eq!(norm("localhost/bbox"), "localhost/bbox:latest");
        assert_eq!(norm("registry:5000/x/y:t"), "registry:5000/x/y:t");
        assert_eq!(norm("quay.io/a/b/c"), "quay.io/a/b/c:latest");
        assert_eq!(norm("[::1]:5000/x:v1"), "[::1]:5000/x:v1");
        assert_eq!(norm("127.0.0.1:5000/x"), "127.0.0.1:5000/x:latest");
        let r = Reference::parse("registry:5000/x/y:t").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.path.as_str()),
            ("registry:5000", "x/y")
        );
        assert_eq!(r.name(), "registry:5000/x/y");
    }

    #[test]
    fn digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("busybox@{d}")).unwrap();
        assert_eq!(r.tag, None, "a digest reference gets no :latest");
        assert_eq!(r.digest.as_ref().unwrap().to_string(), d);
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{d}"));
        let r = Reference::parse(&format!("busybox:1.36@{d}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1.36"));
        assert!(err("busybox@sha256:abc").contains("invalid digest"));
    }

    #[test]
    fn errors_name_the_reference_and_the_problem() {
        let e = err("Busybox");
        assert!(
            e.contains("\"Busybox\"") && e.contains("must be lowercase"),
            "{e}"
        );
        assert!(err("busybox:").contains("invalid tag"));
        assert!(err("busybox:-x").contains("invalid tag"));
        assert!(err(&format!("busybox:{}", "a".repeat(129))).contains("invalid tag"));
        assert!(err("").contains("empty"));
        assert!(err("a//b").contains("component"));
        assert!(err("a/b_-c").contains("component"));
        assert!(err("-a").contains("component"));
        assert!(err(&"ab".repeat(32)).contains("image id"));
        assert!(
            err("bad_host:x/y").contains("registry"),
            "{}",
            err("bad_host:x/y")
        );
        assert!(err(&format!("x/{}", "a".repeat(300))).contains("longer"));
    }

    #[test]
    fn separators() {
        for ok in ["a.b", "a_b", "a__b", "a---b", "a1/b-2/c.3"] {
            Reference::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["a..b", "a___b", "a.", "_a", "a-.b"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn localhost_alternative_only_for_short_names() {
        let r = Reference::parse("bbox").unwrap();
        assert_eq!(
            r.localhost_alternative("bbox").unwrap().to_string(),
            "localhost/bbox:latest"
        );
        let r = Reference::parse("docker.io/bbox").unwrap();
        assert!(r.localhost_alternative("docker.io/bbox").is_none());
    }
}
