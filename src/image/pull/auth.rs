//! Registry authentication: `WWW-Authenticate` challenges (RFC 7235 as registries write
//! them) and the `Authorization` header that answers one.

use std::collections::BTreeMap;

/// What a 401 response asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."`:
    /// fetch a token from the realm, then send `Authorization: Bearer <token>`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
    /// `Basic realm="..."`: send the credentials with every request.
    Basic,
}

/// A user name and password (or token) for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a password into a log.
        write!(f, "Credentials({:?}, ***)", self.username)
    }
}

impl Credentials {
    /// `Basic <base64(user:password)>`.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            base64(format!("{}:{}", self.username, self.password).as_bytes())
        )
    }
}

/// Parse a `WWW-Authenticate` value. Only the first challenge is read (registries send
/// one); `None` when the scheme is neither Bearer nor Basic or a Bearer has no realm.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = match header.split_once(char::is_whitespace) {
        Some((s, r)) => (s, r),
        None => (header, ""),
    };
    let params = parse_params(rest);
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let realm = params.get("realm").filter(|r| !r.is_empty())?.clone();
    Some(Challenge::Bearer {
        realm,
        service: params.get("service").cloned(),
        scope: params.get("scope").cloned(),
    })
}

/// `key=value` or `key="quoted, value"` pairs separated by commas; keys lowercased.
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim().to_string();
            }
        }
        let key = key.trim().to_ascii_lowercase();
        if !key.is_empty() {
            out.entry(key).or_insert(value);
        }
        if chars.peek().is_none() {
            return out;
        }
    }
}

/// The token endpoint's answer: `token` (docker) or `access_token` (OAuth2).
pub fn token_from_response(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .filter_map(|k| v.get(k).and_then(|t| t.as_str()))
        .find(|t| !t.is_empty())
        .map(str::to_string)
}

/// Percent-encode a query value (RFC 3986 unreserved characters stay).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (for Basic credentials).
fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Challenge {
        Challenge::Bearer {
            realm: realm.into(),
            service: service.map(Into::into),
            scope: scope.map(Into::into),
        }
    }

    #[test]
    fn docker_hub_challenge() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#;
        assert_eq!(
            parse_challenge(h),
            Some(bearer(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                Some("repository:library/busybox:pull")
            ))
        );
    }

    #[test]
    fn challenge_variants() {
        // Scheme case, spaces after commas, unquoted values, unknown parameters.
        let h =
            r#"bearer  realm=https://r.example/token, service="reg", error="insufficient_scope""#;
        assert_eq!(
            parse_challenge(h),
            Some(bearer("https://r.example/token", Some("reg"), None))
        );
        // Commas and escaped quotes inside quoted values stay in the value.
        let h = r#"Bearer realm="https://r/t",scope="repository:a/b:pull,push repository:c:pull",service="s\"x""#;
        assert_eq!(
            parse_challenge(h),
            Some(bearer(
                "https://r/t",
                Some("s\"x"),
                Some("repository:a/b:pull,push repository:c:pull")
            ))
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Basic"), Some(Challenge::Basic));
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None, "no realm");
        assert_eq!(parse_challenge(r#"Negotiate abc"#), None);
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn tokens_and_encodings() {
        assert_eq!(
            token_from_response(br#"{"token":"abc","expires_in":300}"#).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token_from_response(br#"{"access_token":"xyz"}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(token_from_response(br#"{"token":""}"#), None);
        assert_eq!(token_from_response(b"not json"), None);
        assert_eq!(
            query_escape("repository:library/busybox:pull"),
            "repository%3Alibrary%2Fbusybox%3Apull"
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        let c = Credentials {
            username: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(c.basic_header(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(!format!("{c:?}").contains("sesame"));
    }
}
