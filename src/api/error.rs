//! API errors modelled on Kubernetes' `Status` object, so that the embedded cluster, the HTTP
//! server and the remote client all speak the same error language and kubectl-style messages
//! survive a round trip over the socket.

use serde_json::{Value, json};
use std::fmt;

/// Why a request failed; mirrors `metav1.StatusReason` and fixes the HTTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NotFound,
    AlreadyExists,
    Conflict,
    Invalid,
    BadRequest,
    Forbidden,
    Expired,
    MethodNotAllowed,
    UnsupportedMediaType,
    Timeout,
    ServiceUnavailable,
    InternalError,
}

impl Reason {
    pub fn code(self) -> u16 {
        match self {
            Reason::NotFound => 404,
            Reason::AlreadyExists | Reason::Conflict => 409,
            Reason::Invalid => 422,
            Reason::BadRequest => 400,
            Reason::Forbidden => 403,
            Reason::Expired => 410,
            Reason::MethodNotAllowed => 405,
            Reason::UnsupportedMediaType => 415,
            Reason::Timeout => 504,
            Reason::ServiceUnavailable => 503,
            Reason::InternalError => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotFound => "NotFound",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Invalid => "Invalid",
            Reason::BadRequest => "BadRequest",
            Reason::Forbidden => "Forbidden",
            Reason::Expired => "Expired",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::Timeout => "Timeout",
            Reason::ServiceUnavailable => "ServiceUnavailable",
            Reason::InternalError => "InternalError",
        }
    }

    pub fn parse(s: &str) -> Reason {
        match s {
            "NotFound" => Reason::NotFound,
            "AlreadyExists" => Reason::AlreadyExists,
            "Conflict" => Reason::Conflict,
            "Invalid" => Reason::Invalid,
            "BadRequest" => Reason::BadRequest,
            "Forbidden" => Reason::Forbidden,
            "Expired" | "Gone" => Reason::Expired,
            "MethodNotAllowed" => Reason::MethodNotAllowed,
            "UnsupportedMediaType" => Reason::UnsupportedMediaType,
            "Timeout" => Reason::Timeout,
            "ServiceUnavailable" => Reason::ServiceUnavailable,
            _ => Reason::InternalError,
        }
    }
}

/// The kind of a single field problem, as in `field.ErrorType` of apimachinery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    Required,
    Invalid,
    NotSupported,
    Duplicate,
    Forbidden,
    TooLong,
    /// A reference to something that does not exist (a volumeMount naming no volume).
    NotFound,
    /// A field the schema does not know (strict field validation).
    Unknown,
    /// Wrong JSON type (string where an integer is expected, ...).
    TypeMismatch,
}

impl FieldErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldErrorType::Required => "FieldValueRequired",
            FieldErrorType::Invalid => "FieldValueInvalid",
            FieldErrorType::NotSupported => "FieldValueNotSupported",
            FieldErrorType::Duplicate => "FieldValueDuplicate",
            FieldErrorType::Forbidden => "FieldValueForbidden",
            FieldErrorType::TooLong => "FieldValueTooLong",
            FieldErrorType::NotFound => "FieldValueNotFound",
            FieldErrorType::Unknown => "FieldValueUnknown",
            FieldErrorType::TypeMismatch => "FieldValueTypeInvalid",
        }
    }

    pub fn parse(s: &str) -> FieldErrorType {
        match s {
            "FieldValueRequired" => FieldErrorType::Required,
            "FieldValueNotSupported" => FieldErrorType::NotSupported,
            "FieldValueDuplicate" => FieldErrorType::Duplicate,
            "FieldValueForbidden" => FieldErrorType::Forbidden,
            "FieldValueTooLong" => FieldErrorType::TooLong,
            "FieldValueNotFound" => FieldErrorType::NotFound,
            "FieldValueUnknown" => FieldErrorType::Unknown,
            "FieldValueTypeInvalid" => FieldErrorType::TypeMismatch,
            _ => FieldErrorType::Invalid,
        }
    }
}

/// One problem with one field: `spec.containers[0].image: Required value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub kind: FieldErrorType,
    /// JSON path in Kubernetes notation: `spec.containers[0].ports[1].containerPort`.
    pub path: String,
    /// Human text without the path: `Required value`, `unknown field "container", did you mean "containers"?`.
    pub message: String,
}

impl FieldError {
    pub fn new(kind: FieldErrorType, path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }
    pub fn required(path: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, path, "Required value")
    }
    pub fn invalid(path: impl Into<String>, value: &Value, detail: impl fmt::Display) -> Self {
        let shown = match value {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        Self::new(
            FieldErrorType::Invalid,
            path,
            format!("Invalid value: {shown}: {detail}"),
        )
    }
    pub fn not_supported(path: impl Into<String>, value: &Value, allowed: &[&str]) -> Self {
        let list: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        Self::new(
            FieldErrorType::NotSupported,
            path,
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        )
    }
    pub fn duplicate(path: impl Into<String>, value: &Value) -> Self {
        Self::new(
            FieldErrorType::Duplicate,
            path,
            format!("Duplicate value: {value}"),
        )
    }
    pub fn forbidden(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            FieldErrorType::Forbidden,
            path,
            format!("Forbidden: {}", detail.into()),
        )
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// An API error: reason, one-line message, and for `Invalid` the field causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub reason: Reason,
    pub message: String,
    /// Resource (plural, e.g. `pods`) and name the error is about, when known.
    pub kind: Option<String>,
    pub name: Option<String>,
    pub causes: Vec<FieldError>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl std::error::Error for ApiError {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ApiError {
            reason,
            message: message.into(),
            kind: None,
            name: None,
            causes: Vec::new(),
        }
    }
    fn about(mut self, resource: &str, name: &str) -> Self {
        self.kind = Some(resource.to_string());
        self.name = Some(name.to_string());
        self
    }
    /// `pods "web" not found` (resource is the plural, optionally `deployments.apps`).
    pub fn not_found(resource: &str, name: &str) -> Self {
        Self::new(Reason::NotFound, format!("{resource} {name:?} not found")).about(resource, name)
    }
    pub fn already_exists(resource: &str, name: &str) -> Self {
        Self::new(
            Reason::AlreadyExists,
            format!("{resource} {name:?} already exists"),
        )
        .about(resource, name)
    }
    /// Optimistic concurrency failure, worded as the API server does.
    pub fn conflict(resource: &str, name: &str, detail: &str) -> Self {
        Self::new(
            Reason::Conflict,
            format!("Operation cannot be fulfilled on {resource} {name:?}: {detail}"),
        )
        .about(resource, name)
    }
    /// `Pod "x" is invalid: [spec.containers: Required value, ...]`.
    pub fn invalid(kind: &str, name: &str, causes: Vec<FieldError>) -> Self {
        let body = if causes.len() == 1 {
            causes[0].to_string()
        } else {
            let all: Vec<String> = causes.iter().map(|c| c.to_string()).collect();
            format!("[{}]", all.join(", "))
        };
        let mut e = Self::new(
            Reason::Invalid,
            format!("{kind} {name:?} is invalid: {body}"),
        )
        .about(kind, name);
        e.causes = causes;
        e
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Reason::BadRequest, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Reason::Forbidden, message)
    }
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(Reason::Expired, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Reason::InternalError, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Reason::ServiceUnavailable, message)
    }

    pub fn is_not_found(&self) -> bool {
        self.reason == Reason::NotFound
    }
    pub fn is_conflict(&self) -> bool {
        self.reason == Reason::Conflict
    }

    /// The Kubernetes `Status` object for this error (what the server sends).
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.as_str(),
            "code": self.reason.code(),
        });
        if self.kind.is_some() || !self.causes.is_empty() {
            let causes: Vec<Value> = self
                .causes
                .iter()
                .map(|c| json!({"reason": c.kind.as_str(), "message": c.message, "field": c.path}))
                .collect();
            let mut details = json!({});
            if let Some(n) = &self.name {
                details["name"] = json!(n);
            }
            if let Some(k) = &self.kind {
                details["kind"] = json!(k);
            }
            if !causes.is_empty() {
                details["causes"] = Value::Array(causes);
            }
            status["details"] = details;
        }
        status
    }

    /// Rebuild an error from a `Status` object (what the remote client receives).
    pub fn from_status(status: &Value) -> Self {
        let reason = Reason::parse(status["reason"].as_str().unwrap_or(""));
        let message = status["message"]
            .as_str()
            .unwrap_or("unknown error")
            .to_string();
        let details = &status["details"];
        let causes = details["causes"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| FieldError {
                        kind: FieldErrorType::parse(c["reason"].as_str().unwrap_or("")),
                        path: c["field"].as_str().unwrap_or("").to_string(),
                        message: c["message"].as_str().unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ApiError {
            reason,
            message,
            kind: details["kind"].as_str().map(str::to_string),
            name: details["name"].as_str().map(str::to_string),
            causes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip_keeps_causes() {
        let e = ApiError::invalid(
            "Pod",
            "web",
            vec![
                FieldError::required("spec.containers"),
                FieldError::required("metadata.name"),
            ],
        );
        assert_eq!(
            e.message,
            "Pod \"web\" is invalid: [spec.containers: Required value, metadata.name: Required value]"
        );
        let back = ApiError::from_status(&e.to_status());
        assert_eq!(back, e);
        assert_eq!(e.reason.code(), 422);
    }
}
