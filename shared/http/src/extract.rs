//! Extractors that turn bad input into the API's JSON errors instead of axum's plain-text ones.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use vouch_domain::Error;

use crate::error::ApiError;

/// Admin and operator bodies are small documents.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A JSON body of at most [`JSON_LIMIT`] bytes, deserialised with the failing field's path in
/// the error: 400 for malformed JSON, 422 for the wrong shape, 413 when too large.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req.into_body(), JSON_LIMIT).await?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|err| Error::BadRequest(format!("the body is not valid JSON: {err}")))?;
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|err| {
                let path = err.path().to_string();
                let field = if path == "." { String::new() } else { path };
                ApiError::from(Error::field(field, err.inner().to_string()))
            })
    }
}

pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit })
}

/// The query string, deserialised; a bad value is a 400 naming it.
pub struct QueryOf<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryOf<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(QueryOf)
            .map_err(|err| Error::BadRequest(format!("bad query string: {err}")).into())
    }
}

/// The bearer token of `Authorization`, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The client's address: API Gateway's `sourceIp` in Lambda, the socket's peer locally.
/// Forwarding headers are never trusted.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    use lambda_http::request::RequestContext;
    match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.as_deref()?.parse().ok()
        }
        _ => parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip()),
    }
}

/// The user agent, when it is readable text.
pub fn user_agent(parts: &Parts) -> Option<&str> {
    parts.headers.get(header::USER_AGENT)?.to_str().ok()
}

/// `https://host` of the request, for building links when no public base URL is configured.
/// Plain http only for loopback hosts (local development).
pub fn request_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.is_empty()
        || host.len() > 255
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return None;
    }
    let local =
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    Some(format!("{}://{host}", if local { "http" } else { "https" }))
}
