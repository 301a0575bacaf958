//! HTTP/1.1 over the unix socket: connections, a small pool of idle keep-alive connections, and
//! turning non-2xx answers back into `ApiError`s.

use crate::api::error::{ApiError, ApiResult, Reason};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderMap, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::UnixStream;

type Sender = SendRequest<Full<Bytes>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_IDLE: usize = 4;

/// One request: method, path with query, and an optional body with its content type.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<(&'static str, Vec<u8>)>,
}

impl Call {
    pub fn get(path: String) -> Call {
        Call {
            method: Method::GET,
            path,
            body: None,
        }
    }
    pub fn with_json(method: Method, path: String, body: &Value) -> Call {
        Call::with_body(method, path, "application/json", body)
    }
    pub fn with_body(
        method: Method,
        path: String,
        content_type: &'static str,
        body: &Value,
    ) -> Call {
        // Serializing a Value cannot fail.
        Call {
            method,
            path,
            body: Some((content_type, serde_json::to_vec(body).unwrap_or_default())),
        }
    }
}

pub struct Transport {
    socket: PathBuf,
    idle: Mutex<Vec<Sender>>,
}

impl Transport {
    pub fn new(socket: PathBuf) -> Transport {
        Transport {
            socket,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Idle pooled connections (for tests of connection reuse).
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Send a call and read the whole answer as JSON; errors come back as `ApiError`s.
    pub async fn json(&self, call: Call) -> ApiResult<(HeaderMap, Value)> {
        let (res, sender) = self.exchange(call, true).await?;
        let (parts, body) = res.into_parts();
        let bytes = body
            .collect()
            .await
            .map_err(|e| self.broken(&e))?
            .to_bytes();
        // The answer is fully read, so the connection can carry the next request.
        self.put_idle(sender);
        if !parts.status.is_success() {
            return Err(self.error_from(parts.status, &bytes));
        }
        let v = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::internal(format!(
                "peapod at {} sent a reply that is not JSON: {e}",
                self.socket.display()
            ))
        })?;
        Ok((parts.headers, v))
    }

    /// Send a call whose answer is streamed (watch, logs) on a connection of its own. The
    /// returned sender must live as long as the body is read.
    pub async fn stream(&self, call: Call) -> ApiResult<(Incoming, Sender)> {
        let (res, sender) = self.exchange(call, false).await?;
        let (parts, body) = res.into_parts();
        if !parts.status.is_success() {
            let bytes = body
                .collect()
                .await
                .map_err(|e| self.broken(&e))?
                .to_bytes();
            return Err(self.error_from(parts.status, &bytes));
        }
        Ok((body, sender))
    }

    async fn exchange(&self, call: Call, pooled: bool) -> ApiResult<(Response<Incoming>, Sender)> {
        let mut req = self.request(call)?;
        let idle = if pooled { self.take_idle().await } else { None };
        if let Some(mut sender) = idle {
            match sender.try_send_request(req).await {
                Ok(res) => return Ok((res, sender)),
                Err(mut e) => match e.take_message() {
                    // The idle connection died before the request left: use a fresh one.
                    Some(back) => req = back,
                    None => return Err(self.broken(e.error())),
                },
            }
        }
        let mut sender = self.connect().await?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| self.broken(&e))?;
        Ok((res, sender))
    }

    fn request(&self, call: Call) -> ApiResult<Request<Full<Bytes>>> {
        let mut b = Request::builder()
            .method(call.method)
            .uri(&call.path)
            .header(HOST, "localhost")
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("peapod/", env!("CARGO_PKG_VERSION")));
        let body = match call.body {
            Some((content_type, bytes)) => {
                b = b.header(CONTENT_TYPE, content_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::new(Bytes::new()),
        };
        b.body(body).map_err(|e| {
            ApiError::bad_request(format!("cannot build request for {}: {e}", call.path))
        })
    }

    async fn connect(&self) -> ApiResult<Sender> {
        let stream =
            match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(&self.socket)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(self.unreachable(&e)),
                Err(_) => {
                    return Err(self.unreachable(&io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection timed out",
                    )));
                }
            };
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.broken(&e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("peapod api connection: {e}");
            }
        });
        Ok(sender)
    }

    async fn take_idle(&self) -> Option<Sender> {
        loop {
            let mut sender = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
            if sender.is_closed() {
                continue;
            }
            // Ready once the connection has seen the end of the previous answer.
            if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(1), sender.ready()).await {
                return Some(sender);
            }
        }
    }

    fn put_idle(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    }

    fn unreachable(&self, e: &io::Error) -> ApiError {
        let why = match e.kind() {
            io::ErrorKind::NotFound => "no such socket".to_string(),
            io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
            _ => e.to_string(),
        };
        ApiError::unavailable(format!(
            "cannot reach peapod at {}: {why} (is `peapod serve` or the console running?)",
            self.socket.display()
        ))
    }

    pub fn broken(&self, e: &dyn std::fmt::Display) -> ApiError {
        ApiError::unavailable(format!(
            "connection to peapod at {} failed: {e}",
            self.socket.display()
        ))
    }

    /// A non-2xx answer: the `Status` it carries, else its code and text.
    fn error_from(&self, status: StatusCode, body: &[u8]) -> ApiError {
        if let Ok(v) = serde_json::from_slice::<Value>(body)
            && (v.get("kind").and_then(Value::as_str) == Some("Status")
                || v.get("reason").is_some())
        {
            return ApiError::from_status(&v);
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let shown = if text.is_empty() {
            status.canonical_reason().unwrap_or("no details")
        } else {
            text
        };
        ApiError::new(
            reason_for(status),
            format!(
                "peapod at {} answered {}: {shown}",
                self.socket.display(),
                status.as_u16()
            ),
        )
    }
}

/// The reason an HTTP code stands for when the body does not say.
fn reason_for(status: StatusCode) -> Reason {
    match status.as_u16() {
        400 => Reason::BadRequest,
        403 => Reason::Forbidden,
        404 => Reason::NotFound,
        405 => Reason::MethodNotAllowed,
        409 => Reason::Conflict,
        410 => Reason::Expired,
        415 => Reason::UnsupportedMediaType,
        422 => Reason::Invalid,
        503 => Reason::ServiceUnavailable,
        504 => Reason::Timeout,
        _ => Reason::InternalError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_api_errors() {
        let t = Transport::new(PathBuf::from("/run/x.sock"));
        let status = ApiError::not_found("pods", "web").to_status();
        let e = t.error_from(StatusCode::NOT_FOUND, &serde_json::to_vec(&status).unwrap());
        assert_eq!(e, ApiError::not_found("pods", "web"));

        let e = t.error_from(StatusCode::CONFLICT, b"busy\n");
        assert_eq!(e.reason, Reason::Conflict);
        assert_eq!(e.message, "peapod at /run/x.sock answered 409: busy");
        let e = t.error_from(StatusCode::BAD_GATEWAY, b"");
        assert_eq!(e.reason, Reason::InternalError);
        assert_eq!(e.message, "peapod at /run/x.sock answered 502: Bad Gateway");
    }
}
