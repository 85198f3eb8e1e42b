//! Server-rendered pages: auto-escaping templates (askama, checked when compiled) with one
//! small stylesheet inlined, under a strict Content-Security-Policy that allows that stylesheet
//! by its hash and nothing else to run or load.

use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The pages' stylesheet, inlined in each page.
pub const STYLE: &str = include_str!("../templates/style.css");
/// The one script of the public pages (the referrer's page's copy button), inlined.
pub const SCRIPT: &str = include_str!("../templates/me.js");

/// The policy of the public pages: the inline stylesheet (by hash), images from here or inline,
/// forms posting here; no scripts, frames or other origins.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; style-src 'sha256-{}'; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            sha256_base64(STYLE)
        )
    })
}

/// The same policy with the one public script (the referrer's page's copy button) allowed by
/// its hash: nothing else runs.
pub fn content_security_policy_with_script() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; \
             img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            sha256_base64(STYLE),
            sha256_base64(SCRIPT)
        )
    })
}

fn sha256_base64(text: &str) -> String {
    STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// A rendered page with its security headers; `cache` is its `Cache-Control`.
pub fn html(status: StatusCode, body: String, cache: &'static str) -> Response {
    let mut response = (status, body).into_response();
    secure(&mut response, content_security_policy(), cache);
    response
}

/// A page that runs [`SCRIPT`], with its security headers.
pub fn html_with_script(status: StatusCode, body: String, cache: &'static str) -> Response {
    let mut response = (status, body).into_response();
    secure(&mut response, content_security_policy_with_script(), cache);
    response
}

fn secure(response: &mut Response, policy: &'static str, cache: &'static str) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

/// The dashboard's policy: its stylesheet (and, later, scripts) served from here, nothing
/// inline, no frames, forms posting here.
pub const DASHBOARD_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// A dashboard page: never cached, never framed, nothing inline.
pub fn dashboard_html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DASHBOARD_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page that could not be rendered (never expected: templates are checked when compiled).
pub fn render(template: &impl askama::Template) -> Result<String, crate::error::ApiError> {
    template.render().map_err(|err| {
        vouch_domain::Error::Unavailable(anyhow::anyhow!("rendering a page: {err}")).into()
    })
}

/// An amount for people: "$25", "$12.50" (never negative).
pub fn money(cents: i64, currency: &vouch_domain::values::money::Currency) -> String {
    vouch_domain::values::money::Money::from_cents(cents.max(0))
        .map_or_else(|_| cents.to_string(), |m| m.display(currency))
}

/// An SVG QR code of `text`, for inlining in a page or serving as an image.
pub fn qr_svg(text: &str) -> Result<String, crate::error::ApiError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|err| {
        crate::error::ApiError::from(vouch_domain::Error::Unavailable(anyhow::anyhow!(
            "QR encoding: {err}"
        )))
    })?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The same QR code as an `<svg>` element to put inside a page (no XML declaration).
pub fn inline_qr_svg(text: &str) -> Result<String, crate::error::ApiError> {
    let svg = qr_svg(text)?;
    Ok(svg
        .find("<svg")
        .map_or(svg.as_str(), |start| &svg[start..])
        .to_owned())
}

#[derive(askama::Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    style: &'a str,
}

/// The public pages' 404: the page isn't available (never cached: it may be soon).
pub fn not_found() -> Result<Response, crate::error::ApiError> {
    let body = render(&NotFoundPage { style: STYLE })?;
    Ok(html(StatusCode::NOT_FOUND, body, "no-store"))
}
