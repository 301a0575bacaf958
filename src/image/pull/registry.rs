//! One repository on a registry (distribution API v2): GETs under `/v2/<name>/`, answering
//! auth challenges once, following redirects, and turning error responses into one line.

use super::PullOptions;
use super::auth::{self, Challenge};
use super::http;
use crate::image::Reference;
use hyper::body::Incoming;
use hyper::{Response, StatusCode, Uri};

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// The most of an error response read for its message.
const MAX_ERROR_BODY: u64 = 64 << 10;

pub struct Registry {
    /// `http://127.0.0.1:5000` or `https://registry-1.docker.io`.
    base: String,
    /// `127.0.0.1:5000`: what error messages name.
    pub authority: String,
    /// `library/busybox`.
    repository: String,
    credentials: Option<auth::Credentials>,
    /// The `Authorization` value once a challenge was answered.
    authorization: Option<String>,
    tls: http::Tls,
    /// Whether a plain-HTTP candidate was checked for TLS yet.
    probed: bool,
}

impl Registry {
    pub fn new(r: &Reference, opts: &PullOptions) -> Result<Registry, String> {
        // Docker Hub's API is not served at docker.io itself.
        let authority = if r.domain == "docker.io" {
            "registry-1.docker.io".to_string()
        } else {
            r.domain.clone()
        };
        let scheme = if plain_http(&authority, &opts.insecure_registries) {
            "http"
        } else {
            "https"
        };
        Ok(Registry {
            base: format!("{scheme}://{authority}"),
            authority,
            repository: r.path.clone(),
            credentials: opts.credentials.clone(),
            authorization: None,
            tls: http::tls_config(&opts.ca_certificates)?,
            probed: false,
        })
    }

    /// GET `/v2/<repository>/<rest>` with a successful answer (2xx), authenticating and
    /// following redirects as needed; other answers become the registry's reason.
    pub async fn get(
        &mut self,
        rest: &str,
        accept: Option<&str>,
    ) -> Result<Response<Incoming>, String> {
        self.probe().await?;
        let url = format!("{}/v2/{}/{rest}", self.base, self.repository);
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("bad registry URL {url:?}: {e}"))?;
        let mut resp = self.follow(&uri, accept).await?;
        if resp.status() == StatusCode::UNAUTHORIZED && self.authorization.is_none() {
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .and_then(auth::parse_challenge);
            if let Some(c) = challenge {
                self.authenticate(c).await?;
                resp = self.follow(&uri, accept).await?;
            }
        }
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_of(resp, &self.authority).await)
        }
    }

    /// A loopback or insecure registry may still serve HTTPS (docker tries HTTPS first for
    /// them too): use it when it does and its certificate is trusted.
    async fn probe(&mut self) -> Result<(), String> {
        if self.probed || !self.base.starts_with("http://") {
            return Ok(());
        }
        self.probed = true;
        match http::probe_tls(&self.authority, &self.tls).await {
            http::Probe::Tls => self.base = format!("https://{}", self.authority),
            http::Probe::Plain => {}
            http::Probe::Untrusted(why) => {
                return Err(format!(
                    "cannot reach {}: TLS handshake: {why} (trust its CA with --cert-dir)",
                    self.authority
                ));
            }
        }
        Ok(())
    }

    /// One request, through redirects. Credentials go only to the registry itself, never
    /// to a storage backend it redirects to.
    async fn follow(&self, uri: &Uri, accept: Option<&str>) -> Result<Response<Incoming>, String> {
        let origin = http::Target::of(uri)?;
        let mut uri = uri.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut headers = Vec::new();
            if let Some(a) = accept {
                headers.push(("Accept", a.to_string()));
            }
            if let Some(a) = &self.authorization
                && http::Target::of(&uri)? == origin
            {
                headers.push(("Authorization", a.clone()));
            }
            let resp = http::get(&uri, &headers, &self.tls).await?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            let location = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    format!(
                        "{} from {} without a Location header",
                        resp.status(),
                        origin.authority
                    )
                })?;
            uri = http::resolve_location(&uri, location)?;
        }
        Err(format!(
            "more than {MAX_REDIRECTS} redirects from {}",
            origin.authority
        ))
    }

    /// Answer a challenge: Basic sends the credentials; Bearer fetches a token (with the
    /// credentials when there are some, anonymously otherwise).
    async fn authenticate(&mut self, challenge: Challenge) -> Result<(), String> {
        match challenge {
            Challenge::Basic => {
                let c = self.credentials.as_ref().ok_or_else(|| {
                    format!(
                        "unauthorized: {} asks for a user name and password",
                        self.authority
                    )
                })?;
                self.authorization = Some(c.basic_header());
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repository));
                let mut url = realm.clone();
                url.push(if realm.contains('?') { '&' } else { '?' });
                if let Some(s) = &service {
                    url.push_str(&format!("service={}&", auth::query_escape(s)));
                }
                url.push_str(&format!("scope={}", auth::query_escape(&scope)));
                let uri: Uri = url.parse().map_err(|e| {
                    format!("bad token realm {realm:?} from {}: {e}", self.authority)
                })?;
                let token_host = http::Target::of(&uri)?.authority;
                let mut headers = Vec::new();
                if let Some(c) = &self.credentials {
                    headers.push(("Authorization", c.basic_header()));
                }
                let mut resp = follow_plain(&uri, &headers, &self.tls).await?;
                if !resp.status().is_success() {
                    return Err(error_of(resp, &token_host).await);
                }
                let body =
                    http::read_body(resp.body_mut(), MAX_ERROR_BODY, "the token response").await?;
                let token = auth::token_from_response(&body)
                    .ok_or_else(|| format!("the token response from {token_host} has no token"))?;
                self.authorization = Some(format!("Bearer {token}"));
            }
        }
        Ok(())
    }
}

/// A request to a token server, through redirects (headers kept on the same host only).
async fn follow_plain(
    uri: &Uri,
    headers: &[(&str, String)],
    tls: &http::Tls,
) -> Result<Response<Incoming>, String> {
    let origin = http::Target::of(uri)?;
    let mut uri = uri.clone();
    for _ in 0..=MAX_REDIRECTS {
        let same = http::Target::of(&uri)? == origin;
        let resp = http::get(&uri, if same { headers } else { &[] }, tls).await?;
        let location = resp.headers().get("location").and_then(|l| l.to_str().ok());
        match location {
            Some(l) if resp.status().is_redirection() => uri = http::resolve_location(&uri, l)?,
            _ => return Ok(resp),
        }
    }
    Err(format!(
        "more than {MAX_REDIRECTS} redirects from {}",
        origin.authority
    ))
}

/// Registries on loopback are reached over plain HTTP, as docker and podman do, and so are
/// the ones named insecure.
pub fn plain_http(authority: &str, insecure: &[String]) -> bool {
    if insecure.iter().any(|i| i == authority) {
        return true;
    }
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host == "localhost" {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// `manifest unknown (404 from 127.0.0.1:5000)`: the first error of the registry's JSON
/// error body (`code: message` when the message does not just repeat the code), or the
/// HTTP status.
pub async fn error_of(mut resp: Response<Incoming>, host: &str) -> String {
    let status = resp.status();
    let body = http::read_body(resp.body_mut(), MAX_ERROR_BODY, "the error response")
        .await
        .unwrap_or_default();
    let reason = registry_reason(&body).unwrap_or_else(|| match status.canonical_reason() {
        Some(r) => r.to_lowercase(),
        None => "error".to_string(),
    });
    format!("{reason} ({} from {host})", status.as_u16())
}

/// The reason in a registry error body: `{"errors":[{"code":"...","message":"..."}]}`, or
/// an OAuth2 token server's `{"error":"...","error_description":"..."}`.
pub fn registry_reason(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(|m| m.as_str())
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
    };
    let (code, message) = match v.get("errors").and_then(|e| e.get(0)) {
        Some(e) => (text(e.get("code")), text(e.get("message"))),
        None => (text(v.get("error")), text(v.get("error_description"))),
    };
    let code = code.map(|c| c.to_lowercase().replace('_', " "));
    match (code, message) {
        (Some(c), Some(m)) if m.to_lowercase() == c => Some(m),
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => m.or(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_insecure_registries_use_plain_http() {
        for a in [
            "127.0.0.1:5000",
            "127.1.2.3",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
        ] {
            assert!(plain_http(a, &[]), "{a}");
        }
        for a in [
            "registry-1.docker.io",
            "quay.io",
            "10.0.0.1:5000",
            "localhost.example:5000",
        ] {
            assert!(!plain_http(a, &[]), "{a}");
        }
        assert!(plain_http("10.0.0.1:5000", &["10.0.0.1:5000".into()]));
        assert!(!plain_http("10.0.0.1:5001", &["10.0.0.1:5000".into()]));
    }

    #[test]
    fn docker_hub_is_reached_at_registry_1() {
        let r = Reference::parse("busybox").unwrap();
        let reg = Registry::new(&r, &PullOptions::default()).unwrap();
        assert_eq!(reg.base, "https://registry-1.docker.io");
        assert_eq!(reg.repository, "library/busybox");
        let r = Reference::parse("127.0.0.1:5000/test/busybox:1").unwrap();
        let reg = Registry::new(&r, &PullOptions::default()).unwrap();
        assert_eq!(reg.base, "http://127.0.0.1:5000");
    }

    #[test]
    fn registry_reasons() {
        let b = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(registry_reason(b).as_deref(), Some("manifest unknown"));
        let b = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        assert_eq!(
            registry_reason(b).as_deref(),
            Some("unauthorized: authentication required")
        );
        let b = br#"{"errors":[{"code":"DENIED"}]}"#;
        assert_eq!(registry_reason(b).as_deref(), Some("denied"));
        let b = br#"{"error":"invalid_grant","error_description":"bad password"}"#;
        assert_eq!(
            registry_reason(b).as_deref(),
            Some("invalid grant: bad password")
        );
        assert_eq!(registry_reason(b"<html>"), None);
        assert_eq!(registry_reason(br#"{"errors":[]}"#), None);
    }
}
