//! The staff dashboard under `/admin` (admin-api): server-rendered pages for the people who
//! run the program, signed in with their own accounts. A session is a cookie holding a random
//! secret (HttpOnly, SameSite=Lax, Secure outside loopback); every form that changes anything
//! carries the session's CSRF token, and a missing or wrong one is a 403 that changes nothing.

pub mod attribute;
pub mod home;
pub mod jobber;
pub mod participants;
pub mod reports;
pub mod review;
pub mod rewards;
pub mod settings;
pub mod sign_in;
pub mod staff;
pub mod texts;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use vouch_domain::Error;
use vouch_domain::model::staff::Actor;

use crate::extract::read_body;
use crate::pages::{dashboard_html, render};
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "vouch_session";
/// Forms are small.
const FORM_LIMIT: usize = 16 * 1024;
/// The dashboard's stylesheet, served from `/admin/assets/admin.css`.
pub const STYLESHEET: &str = include_str!("../../templates/admin/admin.css");
/// The dashboard's one script (an enhancement), served from `/admin/assets/dashboard.js`.
pub const SCRIPT: &str = include_str!("../../assets/dashboard.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home::page))
        .route("/admin/login", get(sign_in::form).post(sign_in::submit))
        .route("/admin/logout", post(sign_in::sign_out))
        .route(
            "/admin/invite/{token}",
            get(sign_in::invite_form).post(sign_in::accept_invite),
        )
        .route(
            "/admin/participants",
            get(participants::list).post(participants::enrol),
        )
        .route(
            "/admin/participants/{customer_id}",
            get(participants::detail),
        )
        .route(
            "/admin/participants/{customer_id}/reward",
            post(participants::set_reward),
        )
        .route(
            "/admin/attribute",
            get(attribute::page).post(attribute::attribute),
        )
        .route("/admin/review", get(review::page))
        .route("/admin/review/{id}/approve", post(review::approve))
        .route("/admin/review/{id}/reject", post(review::reject))
        .route("/admin/rewards", get(rewards::page))
        .route("/admin/rewards/{id}", post(rewards::update))
        .route("/admin/texts", get(texts::page))
        .route("/admin/leaderboard", get(reports::leaderboard))
        .route("/admin/reports", get(reports::reports))
        .route("/admin/reports.csv", get(reports::reports_csv))
        .route("/admin/settings", get(settings::page).post(settings::save))
        .route("/admin/staff", get(staff::page).post(staff::add))
        .route("/admin/staff/{id}/remove", post(staff::remove))
        .route("/admin/settings/segments", get(settings::segments))
        .route("/integrations/jobber/connect", get(jobber::connect))
        .route("/integrations/jobber/callback", get(jobber::callback))
        .route("/admin/assets/admin.css", get(stylesheet))
        .route("/admin/assets/dashboard.js", get(script))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The session cookie's value, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// Whether the request came to a loopback host (local development over plain http).
fn loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]")
}

/// `Set-Cookie` for a new session (or, with `None`, one that ends it).
pub fn session_set_cookie(headers: &HeaderMap, value: Option<&str>) -> HeaderValue {
    let secure = if loopback(headers) { "" } else { "; Secure" };
    let cookie = match value {
        Some(value) => format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in staff member behind a page request; signed out, the page is the sign-in.
pub struct Staffer(pub Actor);

impl FromRequestParts<AppState> for Staffer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(Redirect::to("/admin/login").into_response());
        };
        match state.vouch.actor(cookie).await {
            Ok(Some(actor)) => Ok(Staffer(actor)),
            Ok(None) => Err(Redirect::to("/admin/login").into_response()),
            Err(err) => Err(problem(err)),
        }
    }
}

/// A form posted by a signed-in staff member, its CSRF token checked: a missing or wrong
/// token is a 403 page and nothing changes.
pub struct Posted {
    pub actor: Actor,
    pub fields: HashMap<String, String>,
}

impl Posted {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// A field the form posted, if it posted it at all.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Staffer(actor) = Staffer::from_request_parts(&mut parts, state).await?;
        let fields = form_fields(body).await?;
        let presented = fields.get("csrf").map_or("", String::as_str);
        if !tokens_match(&actor.csrf, presented) {
            return Err(message(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Nothing was changed. Go back, reload the page and try again.",
            ));
        }
        Ok(Posted { actor, fields })
    }
}

/// Whether a presented CSRF token is the session's (in constant time).
pub fn tokens_match(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// The fields of a form post (`application/x-www-form-urlencoded`); the last of a repeated
/// name wins.
pub async fn form_fields(body: axum::body::Body) -> Result<HashMap<String, String>, Response> {
    let bytes = read_body(body, FORM_LIMIT).await.map_err(|_| {
        message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "That form was too large",
            "Nothing was changed.",
        )
    })?;
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .map(|pairs| pairs.into_iter().collect())
        .map_err(|_| {
            message(
                StatusCode::BAD_REQUEST,
                "That form could not be read",
                "Nothing was changed. Go back and try again.",
            )
        })
}

/// What every signed-in page shows around its content: who is signed in, the sections, the
/// sign-out form with its token.
pub struct Shell {
    pub name: String,
    pub role: &'static str,
    pub owner: bool,
    pub csrf: String,
    pub current: &'static str,
}

impl Shell {
    pub fn of(actor: &Actor, current: &'static str) -> Self {
        Self {
            name: actor.name.as_str().to_owned(),
            role: actor.role.as_str(),
            owner: actor.is_owner(),
            csrf: actor.csrf.clone(),
            current,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
}

/// A page that only says something (an error, a refusal), with a way back.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    match render(&MessagePage { title, text }) {
        Ok(body) => dashboard_html(status, body),
        Err(err) => err.into_response(),
    }
}

/// A domain error as a page.
pub fn problem(err: Error) -> Response {
    match err {
        Error::NotFound(what) => message(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("That {what} does not exist, or is no longer here."),
        ),
        Error::Forbidden(text) => message(StatusCode::FORBIDDEN, "Not allowed", &text),
        Error::Conflict { message: text, .. } => {
            message(StatusCode::CONFLICT, "That could not be done", &text)
        }
        Error::RateLimited { retry_after_secs } | Error::Busy { retry_after_secs } => {
            let mut response = message(
                StatusCode::TOO_MANY_REQUESTS,
                "Please wait a moment",
                &format!(
                    "Too many attempts. Try again in {} minute(s).",
                    retry_after_secs.div_ceil(60)
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Error::Unauthenticated => Redirect::to("/admin/login").into_response(),
        Error::Validation(_) | Error::BadRequest(_) => message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check the form",
            "Some fields were not valid. Go back and try again.",
        ),
        Error::Unavailable(err) => {
            tracing::error!(error = ?err, "a dashboard page failed");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Something went wrong",
                "Nothing was lost. Please try again in a minute.",
            )
        }
    }
}

/// A rendered dashboard page with its headers (a template that fails to render is a 503).
pub fn show(template: &impl Template, status: StatusCode) -> Response {
    match render(template) {
        Ok(body) => dashboard_html(status, body),
        Err(err) => err.into_response(),
    }
}

/// One tab of a page's filter (status, period).
pub struct Tab {
    pub key: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub use crate::pages::money;

/// A reward's value as staff read it: its amount, its percent, or "Custom".
pub fn reward_value(
    reward: &vouch_domain::model::reward::Reward,
    currency: &vouch_domain::values::money::Currency,
) -> String {
    match (reward.amount_cents, reward.percent) {
        (Some(amount), _) => amount.display(currency),
        (None, Some(percent)) => format!("{percent}% off"),
        (None, None) => "Custom".into(),
    }
}

/// Only owners manage staff and settings: the refusal page for anyone else.
pub fn unless_owner(actor: &Actor) -> Option<Response> {
    if actor.is_owner() {
        None
    } else {
        Some(message(
            StatusCode::FORBIDDEN,
            "Owners only",
            "Only an owner of the business can do this. Ask an owner.",
        ))
    }
}
