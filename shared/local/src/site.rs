//! A stand-in for a business's own website, served only by the local runner: the landing page
//! referral links lead to, with a plain HTML contact form (no JavaScript) posting to
//! `/api/leads`, and a thank-you page. It lets the whole loop be driven from a browser.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query};
use axum::response::Html;
use axum::routing::get;
use vouch_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_local/site/{business_id}", get(landing))
        .route("/_local/site/{business_id}/thanks", get(thanks))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The landing page: `ref` and `vclid` from the referral link ride along as hidden fields.
async fn landing(
    Path(business_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    let hidden = |name: &str| {
        query.get(name).map_or(String::new(), |value| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(value)
            )
        })
    };
    let greeting = match query.get("ref") {
        Some(code) => format!(
            "<p>You were referred with code <strong>{}</strong>.</p>",
            escape(code)
        ),
        None => String::new(),
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Request service</title>
<h1>Request service</h1>
{greeting}
<form method="post" action="/api/leads">
  <input type="hidden" name="business_id" value="{business}">
  {code}{click}
  <p><label>Name <input name="name" required></label></p>
  <p><label>Phone <input name="phone" type="tel"></label></p>
  <p><label>Email <input name="email" type="email"></label></p>
  <p><label>How can we help? <textarea name="message"></textarea></label></p>
  <p><label>Who referred you? <input name="referred_by"></label></p>
  <p><label><input type="checkbox" name="sms_consent" value="on"> Text me about my request</label></p>
  <p style="display:none"><label>Website <input name="website" tabindex="-1" autocomplete="off"></label></p>
  <p><button type="submit">Send</button></p>
</form>
</html>"#,
        business = escape(&business_id),
        code = hidden("ref"),
        click = hidden("vclid"),
    ))
}

async fn thanks() -> Html<&'static str> {
    Html(
        "<!doctype html><meta charset=utf-8><title>Thanks</title>\
         <h1>Thanks! We'll be in touch.</h1>",
    )
}
