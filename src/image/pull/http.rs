//! A small HTTP/1.1 client for registries: one connection per request (a pull makes a
//! handful), TLS with rustls (the Mozilla roots of webpki-roots, plus CA certificates the
//! user gives), timeouts on connecting and on every read, and errors that name the host.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, Uri};
use hyper_util::rt::TokioIo;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// How long connecting (and the HTTP handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a response (headers, or the next piece of a body) may keep us waiting.
pub const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a URL points: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// Without brackets for IPv6 (`::1`), for connecting.
    pub host: String,
    pub port: u16,
    /// `host:port` as written in the URL (`[::1]:5000`, `registry-1.docker.io`), for the
    /// Host header and messages.
    pub authority: String,
}

impl Target {
    pub fn of(uri: &Uri) -> Result<Target, String> {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(format!(
                    "unsupported URL {uri}: expected http:// or https://"
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("URL {uri} has no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Target {
            https,
            host,
            port,
            authority: authority.as_str().to_string(),
        })
    }
}

/// The TLS settings of a pull.
pub type Tls = Arc<ClientConfig>;

/// Trust webpki-roots' CAs and the certificates in `ca_files` (PEM, as podman's
/// `certs.d/<host>/ca.crt`). HTTP/1.1 only.
pub fn tls_config(ca_files: &[std::path::PathBuf]) -> Result<Tls, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for f in ca_files {
        let shown = f.display();
        let mut n = 0;
        for cert in CertificateDer::pem_file_iter(f)
            .map_err(|e| format!("reading CA certificates from {shown}: {e}"))?
        {
            let cert = cert.map_err(|e| format!("reading CA certificates from {shown}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate in {shown}: {e}"))?;
            n += 1;
        }
        if n == 0 {
            return Err(format!("{shown} holds no PEM certificate"));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("setting up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The `*.crt` files of a directory (podman's `--cert-dir`), sorted.
pub fn certs_in(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "reading certificates in {}: {}",
            dir.display(),
            io_reason(&e)
        )
    })?;
    let mut out: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    out.sort();
    Ok(out)
}

/// GET `uri` with `headers`; the response's body is left to the caller.
pub async fn get(
    uri: &Uri,
    headers: &[(&str, String)],
    tls: &Tls,
) -> Result<Response<Incoming>, String> {
    let target = Target::of(uri)?;
    let reach = |why: String| format!("cannot reach {}: {why}", target.authority);
    let tcp = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| reach("timed out connecting".into()))?
    .map_err(|e| reach(io_reason(&e)))?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header("Host", &target.authority)
        .header("User-Agent", concat!("peapod/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("building a request for {uri}: {e}"))?;
    if !target.https {
        return send(TokioIo::new(tcp), req).await.map_err(reach);
    }
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|e| reach(format!("invalid TLS server name: {e}")))?;
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp),
    )
    .await
    .map_err(|_| reach("timed out in the TLS handshake".into()))?
    .map_err(|e| reach(format!("TLS handshake: {}", io_reason(&e))))?;
    send(TokioIo::new(stream), req).await.map_err(reach)
}

/// What a TLS handshake with a registry said.
#[derive(Debug, PartialEq)]
pub enum Probe {
    /// It speaks TLS with a certificate we trust.
    Tls,
    /// It does not speak TLS (or cannot be reached: plain HTTP will say why).
    Plain,
    /// It speaks TLS, but its certificate is not trusted: the reason.
    Untrusted(String),
}

/// Whether `host:port` speaks TLS, as docker checks an insecure registry before falling
/// back to plain HTTP.
pub async fn probe_tls(authority: &str, tls: &Tls) -> Probe {
    let Ok(uri) = format!("https://{authority}/").parse::<Uri>() else {
        return Probe::Plain;
    };
    let Ok(target) = Target::of(&uri) else {
        return Probe::Plain;
    };
    let Ok(Ok(tcp)) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    else {
        return Probe::Plain;
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(target.host.clone()) else {
        return Probe::Plain;
    };
    let connect = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp);
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(_)) => Probe::Tls,
        Ok(Err(e)) => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(c)) => {
                Probe::Untrusted(format!("invalid peer certificate: {c:?}"))
            }
            _ => Probe::Plain,
        },
        Err(_) => Probe::Plain,
    }
}

/// HTTP/1.1 over an established connection.
async fn send<IO>(io: IO, req: Request<Empty<Bytes>>) -> Result<Response<Incoming>, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io),
    )
    .await
    .map_err(|_| "timed out in the HTTP handshake".to_string())?
    .map_err(|e| e.to_string())?;
    // The connection task ends when the response body is read or dropped.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    tokio::time::timeout(READ_TIMEOUT, sender.send_request(req))
        .await
        .map_err(|_| "no response in time".to_string())?
        .map_err(|e| e.to_string())
}

/// Read a whole (small) body, refusing more than `limit` bytes.
pub async fn read_body(body: &mut Incoming, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(data) = next_chunk(body, what).await? {
        if out.len() as u64 + data.len() as u64 > limit {
            return Err(format!("{what} is larger than {limit} bytes"));
        }
        out.extend_from_slice(&data);
    }
    Ok(out)
}

/// The next data chunk of a body (trailers skipped); `None` at its end.
pub async fn next_chunk(body: &mut Incoming, what: &str) -> Result<Option<Bytes>, String> {
    loop {
        let frame = tokio::time::timeout(READ_TIMEOUT, body.frame())
            .await
            .map_err(|_| format!("reading {what}: timed out"))?;
        match frame {
            None => return Ok(None),
            Some(Err(e)) => return Err(format!("reading {what}: {e}")),
            Some(Ok(f)) => {
                if let Ok(data) = f.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// `connection refused` rather than `Connection refused (os error 111)`.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => format!("{:?}", e.kind()),
    }
}

/// Resolve a `Location` header against the URL it answered.
pub fn resolve_location(base: &Uri, location: &str) -> Result<Uri, String> {
    let bad = |e: String| format!("bad redirect to {location:?}: {e}");
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse::<Uri>().map_err(|e| bad(e.to_string()));
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let path = if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}")
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()));
    } else if location.starts_with('/') {
        location.to_string()
    } else {
        // Relative to the base path's directory.
        let dir = base.path().rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("{dir}/{location}")
    };
    format!("{scheme}://{authority}{path}")
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = Target::of(&"http://[::1]:5000/v2/".parse().unwrap()).unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.authority.as_str()),
            (false, "::1", 5000, "[::1]:5000")
        );
        let t = Target::of(&"https://registry-1.docker.io/v2/".parse().unwrap()).unwrap();
        assert_eq!((t.https, t.port), (true, 443));
        assert!(Target::of(&"ftp://x/".parse().unwrap()).is_err());
    }

    #[test]
    fn locations() {
        let base: Uri = "http://127.0.0.1:5000/v2/a/blobs/sha256:1".parse().unwrap();
        let r = |l: &str| resolve_location(&base, l).unwrap().to_string();
        assert_eq!(
            r("https://cdn.example/x?sig=1"),
            "https://cdn.example/x?sig=1"
        );
        assert_eq!(r("/other/path"), "http://127.0.0.1:5000/other/path");
        assert_eq!(r("//cdn.example/y"), "http://cdn.example/y");
        assert_eq!(r("sha256:2"), "http://127.0.0.1:5000/v2/a/blobs/sha256:2");
    }

    #[test]
    fn io_reasons_read_like_sentences() {
        let e = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(io_reason(&e), "connection refused");
    }

    #[tokio::test]
    async fn refused_connections_name_the_host() {
        // A port just released by a listener: nothing listens there.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let uri: Uri = format!("http://{addr}/v2/").parse().unwrap();
        let e = get(&uri, &[], &tls_config(&[]).unwrap()).await.unwrap_err();
        assert_eq!(e, format!("cannot reach {addr}: connection refused"));
    }
}
