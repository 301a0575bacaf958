//! Building responses: JSON objects, `Status` errors, and streamed bodies (watch, logs).

use crate::api::error::{ApiError, Reason};
use crate::cluster::WatchStream;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

pub type BodyError = Box<dyn std::error::Error + Send + Sync>;
/// Responses are either whole (JSON) or streamed (watch, logs); streams are `Send` but not
/// `Sync`, hence the unsync box.
pub type ResBody = UnsyncBoxBody<Bytes, BodyError>;
pub type Res = Response<ResBody>;

pub const JSON: &str = "application/json";

fn whole(bytes: impl Into<Bytes>) -> ResBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn with_type(code: StatusCode, content_type: &'static str, body: ResBody) -> Res {
    let mut res = Response::new(body);
    *res.status_mut() = code;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

pub fn json(code: StatusCode, v: &Value) -> Res {
    // Serializing a Value cannot fail (keys are strings); an empty body would still be valid HTTP.
    let body = serde_json::to_vec(v).unwrap_or_default();
    with_type(code, JSON, whole(body))
}

pub fn ok(v: &Value) -> Res {
    json(StatusCode::OK, v)
}

pub fn text(code: StatusCode, s: &'static str) -> Res {
    with_type(code, "text/plain; charset=utf-8", whole(s))
}

/// An error as the Kubernetes `Status` object with the HTTP code of its reason.
pub fn error(e: &ApiError) -> Res {
    let code = StatusCode::from_u16(e.reason.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(code, &e.to_status())
}

/// A body sent chunk by chunk as the stream yields; an `Err` aborts the response so the client
/// sees a broken transfer rather than a silently short one.
pub fn stream<S>(content_type: &'static str, s: S) -> Res
where
    S: Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
{
    let body = StreamBody::new(s.map(|r| r.map(Frame::data)));
    with_type(StatusCode::OK, content_type, BodyExt::boxed_unsync(body))
}

/// Watch events as JSON lines. An `Err` from the cluster becomes an `ERROR` event carrying its
/// `Status`, and ends the stream, as the API server does (e.g. 410 Expired).
pub fn watch_lines(
    events: WatchStream,
    fix: impl Fn(Value) -> Value + Send + 'static,
) -> impl Stream<Item = Result<Bytes, BodyError>> + Send {
    futures::stream::unfold(Some((events, fix)), |state| async move {
        let (mut events, fix) = state?;
        match events.next().await {
            None => None,
            Some(Ok(ev)) => {
                let line = json!({"type": ev.event_type.as_str(), "object": fix(ev.object)});
                Some((Ok(json_line(&line)), Some((events, fix))))
            }
            Some(Err(e)) => {
                let line = json!({"type": "ERROR", "object": e.to_status()});
                Some((Ok(json_line(&line)), None))
            }
        }
    })
}

fn json_line(v: &Value) -> Bytes {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

/// The Status of a path nothing is served at.
pub fn not_found_path() -> ApiError {
    ApiError::new(
        Reason::NotFound,
        "the server could not find the requested resource",
    )
}

pub fn method_not_allowed() -> ApiError {
    ApiError::new(
        Reason::MethodNotAllowed,
        "the server does not allow this method on the requested resource",
    )
}
