//! Building responses: JSON objects, `Status` errors, and streamed bodies (watch, logs).

use crate::api::error::{ApiError, Reason};
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

/// A `{Kind}List` whose items are already encoded.
pub fn encoded_list(kind: &crate::api::kinds::KindInfo, list: crate::cluster::EncodedList) -> Res {
    let head = json!({
        "kind": format!("{}List", kind.kind),
        "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": list.resource_version.to_string()},
    });
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    out.pop(); // the closing brace; items follow
    let size: usize = list.items.iter().map(|i| i.len() + 1).sum();
    out.reserve(size + 16);
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"]}");
    with_type(StatusCode::OK, JSON, whole(out))
}

/// Encoded watch events as JSON lines; an `Err` becomes an `ERROR` event and ends the stream.
pub fn encoded_watch_lines(
    events: crate::cluster::EncodedWatchStream,
) -> impl Stream<Item = Result<Bytes, BodyError>> + Send {
    futures::stream::unfold(Some(events), |state| async move {
        let mut events = state?;
        match events.next().await {
            None => None,
            Some(Ok(ev)) => {
                let mut line = Vec::with_capacity(ev.len() + 1);
                line.extend_from_slice(&ev);
                line.push(b'\n');
                Some((Ok(Bytes::from(line)), Some(events)))
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
