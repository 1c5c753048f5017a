//! The error response of every route, `{"code": <status>, "message": "..."}`,
//! and the JSON responses built beside it. A leaf: imports nothing of ours.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A public error type that is a one-line message for people (a bad
/// configuration, a server that cannot start).
macro_rules! message_error {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub String);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::error::Error for $name {}
    };
}
pub(crate) use message_error;

/// An error response: `{"code": <status>, "message": "..."}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub www_authenticate: Option<&'static str>,
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }
    pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
    /// 401 with the `WWW-Authenticate` challenge of RFC 6750 section 3.1.
    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            www_authenticate: Some(r#"Bearer error="invalid_token""#),
            ..ApiError::new(StatusCode::UNAUTHORIZED, message)
        }
    }
    /// 500; the cause goes to the log, never to the caller.
    pub(crate) fn internal(what: &str, err: impl std::fmt::Display) -> ApiError {
        tracing::error!("{what}: {err}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: self.status.as_u16(),
            message: &self.message,
        })
        .unwrap_or_default();
        let mut resp = json_response(self.status, body);
        if let Some(v) = self.www_authenticate {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
        }
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A response with `Content-Type: application/json` and `body` as it is.
pub(crate) fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let json = HeaderValue::from_static("application/json");
    (status, [(header::CONTENT_TYPE, json)], body.into()).into_response()
}

/// `value` serialised, with `status`.
pub(crate) fn json_with(status: StatusCode, value: &impl Serialize) -> Result<Response, ApiError> {
    let body =
        serde_json::to_vec(value).map_err(|e| ApiError::internal("serialising the response", e))?;
    Ok(json_response(status, body))
}

/// 200 with `value` serialised.
pub(crate) fn json_ok(value: &impl Serialize) -> Result<Response, ApiError> {
    json_with(StatusCode::OK, value)
}

/// 204, no body.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The request body as a JSON object (at most `limit` bytes read).
pub(crate) async fn read_object(
    body: Body,
    limit: usize,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read request body: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

/// 404 for a path no route serves.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

/// 405 for a method a served path does not take.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed for this resource",
    )
}
