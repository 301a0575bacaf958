//! URL building: percent-encoded path segments and query strings.

use crate::api::kinds::KindInfo;

/// Percent-encode everything but RFC 3986 unreserved characters, so selectors such as
/// `app in (a, b),tier!=x` survive the trip.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn collection_path(kind: &KindInfo, namespace: Option<&str>) -> String {
    kind.collection_path(namespace.map(encode).as_deref())
}

pub fn object_path(kind: &KindInfo, namespace: Option<&str>, name: &str) -> String {
    kind.object_path(namespace.map(encode).as_deref(), &encode(name))
}

/// A path with query parameters appended as they are added.
pub struct Url(String, bool);

impl Url {
    pub fn new(path: String) -> Url {
        Url(path, false)
    }

    pub fn param(mut self, key: &str, value: &str) -> Url {
        self.0.push(if self.1 { '&' } else { '?' });
        self.1 = true;
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(&encode(value));
        self
    }

    pub fn opt(self, key: &str, value: Option<&str>) -> Url {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }

    pub fn flag(self, key: &str, on: bool) -> Url {
        if on { self.param(key, "true") } else { self }
    }

    pub fn build(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kinds::lookup;

    #[test]
    fn urls_encode_what_they_carry() {
        assert_eq!(
            encode("app in (a, b),x!=y"),
            "app%20in%20%28a%2C%20b%29%2Cx%21%3Dy"
        );
        assert_eq!(encode("web-1.x_y~"), "web-1.x_y~");
        let u = Url::new("/api/v1/pods".into())
            .opt("labelSelector", Some("a=b"))
            .opt("fieldSelector", None)
            .flag("watch", true)
            .flag("follow", false)
            .build();
        assert_eq!(u, "/api/v1/pods?labelSelector=a%3Db&watch=true");
        let pods = lookup("pods").unwrap();
        assert_eq!(
            object_path(pods, Some("a b"), "x/y"),
            "/api/v1/namespaces/a%20b/pods/x%2Fy"
        );
        assert_eq!(
            collection_path(lookup("nodes").unwrap(), Some("a")),
            "/api/v1/nodes"
        );
    }
}
