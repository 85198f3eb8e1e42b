//! The one place where domain errors become HTTP statuses and JSON error bodies.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vouch_domain::Error;

/// `{"error": {"code", "message", "fields"?}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// A response-ready error: a domain error, or one the HTTP layer finds itself.
#[derive(Debug)]
pub enum ApiError {
    Domain(Error),
    PayloadTooLarge { limit: usize },
    MethodNotAllowed,
    NoRoute,
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        Self::Domain(err)
    }
}

fn body(
    status: StatusCode,
    code: &str,
    message: String,
    fields: Option<BTreeMap<String, String>>,
) -> Response {
    let mut response = (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                fields,
            },
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Domain(err) => match err {
                Error::BadRequest(message) => {
                    body(StatusCode::BAD_REQUEST, "bad_request", message, None)
                }
                Error::Validation(fields) => body(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "some fields are invalid; see fields".into(),
                    Some(fields),
                ),
                Error::Unauthenticated => {
                    let mut response = body(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "a valid API key is required".into(),
                        None,
                    );
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    response
                }
                Error::Forbidden(message) => {
                    body(StatusCode::FORBIDDEN, "forbidden", message, None)
                }
                Error::NotFound(what) => body(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("{what} not found"),
                    None,
                ),
                Error::Conflict { code, message } => {
                    body(StatusCode::CONFLICT, code, message, None)
                }
                Error::RateLimited { retry_after_secs } => {
                    let mut response = body(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        format!("too many requests; retry after {retry_after_secs} seconds"),
                        None,
                    );
                    if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    response
                }
                Error::Busy { retry_after_secs } => {
                    let mut response = body(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "busy with concurrent changes to the same records; retry shortly".into(),
                        None,
                    );
                    if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        response.headers_mut().insert(header::RETRY_AFTER, value);
                    }
                    response
                }
                Error::Unavailable(source) => {
                    // The cause goes to the log, never to the caller.
                    tracing::error!(error = ?source, "dependency failure");
                    let mut response = body(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "temporarily unavailable; retry shortly".into(),
                        None,
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    response
                }
            },
            ApiError::PayloadTooLarge { limit } => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body must be at most {limit} bytes"),
                None,
            ),
            ApiError::MethodNotAllowed => body(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here".into(),
                None,
            ),
            ApiError::NoRoute => body(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route".into(),
                None,
            ),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
