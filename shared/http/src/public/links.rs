//! The link-click function's routes: `/r/{code}`, its QR code, and the public referral card.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tower_http::cors::{Any, CorsLayer};
use utoipa::ToSchema;
use vouch_domain::app::{ClickOutcome, Visit};

use crate::error::ApiResult;
use crate::extract::{client_ip, user_agent};
use crate::state::AppState;

/// The link-click function's routes.
pub fn routes() -> Router<AppState> {
    let open_cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET]);
    Router::new()
        .route("/r/{code}", get(click))
        .route("/r/{code}/qr.svg", get(qr))
        .route(
            "/api/public/referrals/{code}",
            get(referral_card).layer(open_cors),
        )
}

/// The `{code}` segment; one that cannot be decoded resolves to no code (a 404).
fn code_from(path: Result<Path<String>, PathRejection>) -> String {
    path.map(|Path(code)| code).unwrap_or_default()
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

const UNKNOWN_CODE_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Link not found</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem\">\
<h1>This referral link isn't valid</h1><p>Check the link or code you were given, \
or contact the business directly.</p></body></html>";

const TOO_MANY_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Slow down</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem\">\
<h1>Too many tries</h1><p>Please wait a few minutes and try your referral link again.</p></body></html>";

/// Redirects a visitor to the business's landing page; counts the click when a person made it.
#[utoipa::path(
    get, path = "/r/{code}", tag = "public",
    params(("code" = String, Path, description = "Referral code, case-insensitive"),
           ("ch" = Option<String>, Query, description = "Channel: sms, qr, social, email or print")),
    responses(
        (status = 302, description = "To the landing page with ref, vclid and utm parameters (also for HEAD, uncounted)"),
        (status = 404, description = "Unknown code and no fallback URL: an HTML page", content_type = "text/html"),
        (status = 429, description = "Too many unknown codes from this address: an HTML page with Retry-After", content_type = "text/html"),
    )
)]
pub async fn click(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> ApiResult<Response> {
    let (parts, _) = request.into_parts();
    let code = code_from(code);
    let channel = parts
        .uri
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "ch"))
        .map(|(_, v)| v.into_owned());
    let outcome = state
        .vouch
        .click(Visit {
            code: &code,
            channel: channel.as_deref(),
            user_agent: user_agent(&parts),
            ip: client_ip(&parts),
            countable: parts.method == Method::GET,
        })
        .await;
    // People follow these links in browsers: a page, not JSON, when they must wait.
    let outcome = match outcome {
        Err(vouch_domain::Error::RateLimited { retry_after_secs }) => {
            let retry = HeaderValue::from_str(&retry_after_secs.to_string())
                .unwrap_or(HeaderValue::from_static("60"));
            let page = (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry)],
                Html(TOO_MANY_PAGE),
            );
            return Ok(no_store(page.into_response()));
        }
        other => other?,
    };
    Ok(no_store(match outcome {
        ClickOutcome::Redirect { location, .. } => found(location),
        ClickOutcome::UnknownCode => unknown_code(&state),
    }))
}

/// `302 Found`, the redirect API.md promises (axum's `Redirect` offers 303/307/308 only). The
/// location becomes the header as it is, without a copy.
fn found(location: String) -> Response {
    match HeaderValue::try_from(location) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn unknown_code(state: &AppState) -> Response {
    match &state.web.fallback_url {
        Some(url) => found(url.to_string()),
        None => (StatusCode::NOT_FOUND, Html(UNKNOWN_CODE_PAGE)).into_response(),
    }
}

/// A QR code of the referral link, tagged `ch=qr`, for technicians to show.
#[utoipa::path(
    get, path = "/r/{code}/qr.svg", tag = "public",
    params(("code" = String, Path, description = "Referral code")),
    responses(
        (status = 200, description = "SVG image", content_type = "image/svg+xml"),
        (status = 404, description = "Unknown code", body = crate::error::ErrorBody),
        (status = 429, description = "Too many unknown codes from this address; see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn qr(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> ApiResult<Response> {
    let (parts, _) = request.into_parts();
    let code = code_from(code);
    let card = state.vouch.referral_card(&code, client_ip(&parts)).await?;
    let link = format!("{}?ch=qr", state.link(&parts.headers, &card.referrer.code));
    let image = crate::pages::qr_svg(&link)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        image,
    )
        .into_response())
}

/// Who referred a visitor, for the landing page to greet them ("Maria G. sent you").
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralCardView {
    pub code: String,
    pub business_id: String,
    pub business_name: String,
    pub referrer_display_name: String,
    pub offer_text: String,
}

#[utoipa::path(
    get, path = "/api/public/referrals/{code}", tag = "public",
    params(("code" = String, Path, description = "Referral code")),
    responses(
        (status = 200, body = ReferralCardView, description = "CORS open to any origin, without credentials"),
        (status = 404, body = crate::error::ErrorBody),
        (status = 429, description = "Too many unknown codes from this address; see Retry-After", body = crate::error::ErrorBody),
    )
)]
pub async fn referral_card(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    request: Request,
) -> ApiResult<Response> {
    let code = code_from(code);
    let (parts, _) = request.into_parts();
    let card = state.vouch.referral_card(&code, client_ip(&parts)).await?;
    Ok(Json(ReferralCardView {
        code: card.referrer.code.to_string(),
        business_id: card.referrer.business_id.to_string(),
        business_name: card.business_name,
        referrer_display_name: card.referrer.display_name,
        offer_text: card.offer_text,
    })
    .into_response())
}
