//! Signing in and out, and the invite link that sets a password. A sign-in or invite form
//! posted from another site (its `Origin` not this one) is refused.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use vouch_domain::Error;
use vouch_domain::app::SignedIn;

use super::{Posted, form_fields, message, problem, session_cookie, session_set_cookie};
use crate::extract::{client_ip, request_origin};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/invite.html")]
struct InvitePage {
    name: String,
    email: String,
    role: &'static str,
    business_name: String,
    password_error: Option<String>,
    confirm_error: Option<String>,
}

fn page(status: StatusCode, template: &impl Template) -> Response {
    super::show(template, status)
}

/// Whether a form post came from this site: no `Origin` (older browsers) or this origin.
fn same_origin(headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .ok()
            .zip(request_origin(headers))
            .is_some_and(|(origin, ours)| origin == ours),
    }
}

fn foreign() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Sign in from the dashboard itself",
        "This form was sent from another site, so it was ignored.",
    )
}

/// Signed in: the session cookie set, on to the dashboard.
fn signed_in(headers: &HeaderMap, signed: &SignedIn) -> Response {
    let mut response = Redirect::to("/admin").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_set_cookie(headers, Some(&signed.cookie.value())),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /admin/login`: the form (or, already signed in, the dashboard).
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(cookie) = session_cookie(&headers)
        && let Ok(Some(_)) = state.vouch.actor(cookie).await
    {
        return Redirect::to("/admin").into_response();
    }
    page(
        StatusCode::OK,
        &LoginPage {
            email: String::new(),
            error: None,
        },
    )
}

/// `POST /admin/login`: email and password.
pub async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts.headers) {
        return foreign();
    }
    let fields = match form_fields(body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let field = |name: &str| fields.get(name).map_or("", String::as_str);
    let again = |status, error: String| {
        page(
            status,
            &LoginPage {
                email: field("email").trim().to_owned(),
                error: Some(error),
            },
        )
    };
    match state
        .vouch
        .sign_in(field("email"), field("password"), client_ip(&parts))
        .await
    {
        Ok(signed) => signed_in(&parts.headers, &signed),
        Err(Error::Unauthenticated) => again(
            StatusCode::UNAUTHORIZED,
            "That email and password don't match. Check them and try again.".into(),
        ),
        Err(Error::RateLimited { retry_after_secs }) => {
            let mut response = again(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed attempts. Try again in {} minute(s).",
                    retry_after_secs.div_ceil(60)
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(err) => problem(err),
    }
}

/// `POST /admin/logout`: ends this session.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    _posted: Posted,
) -> Response {
    if let Some(cookie) = session_cookie(&headers)
        && let Err(err) = state.vouch.sign_out(cookie).await
    {
        return problem(err);
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_set_cookie(&headers, None));
    response
}

async fn invite_page(
    state: &AppState,
    token: &str,
    password_error: Option<String>,
    confirm_error: Option<String>,
) -> Response {
    let member = match state.vouch.invitation(token).await {
        Ok(member) => member,
        Err(Error::NotFound(_)) => return expired(),
        Err(err) => return problem(err),
    };
    let business_name = match state.vouch.business(&member.business_id).await {
        Ok(Some(business)) => business.settings.name.clone(),
        Ok(None) => return expired(),
        Err(err) => return problem(err),
    };
    let status = if password_error.is_some() || confirm_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        &InvitePage {
            name: member.name.as_str().to_owned(),
            email: member.email.as_str().to_owned(),
            role: member.role.as_str(),
            business_name,
            password_error,
            confirm_error,
        },
    )
}

fn expired() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "This invite link can't be used",
        "It was used already or is more than 72 hours old. Ask an owner for a new one.",
    )
}

/// `GET /admin/invite/{token}`: the form that sets the password.
pub async fn invite_form(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    invite_page(&state, &token, None, None).await
}

/// `POST /admin/invite/{token}`: the password, twice; signed in once it is set.
pub async fn accept_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts.headers) {
        return foreign();
    }
    let fields = match form_fields(body).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let field = |name: &str| fields.get(name).map_or("", String::as_str);
    if field("password") != field("confirm") {
        let reason = "doesn't match the first password".to_owned();
        return invite_page(&state, &token, None, Some(reason)).await;
    }
    match state.vouch.accept_invite(&token, field("password")).await {
        Ok(signed) => signed_in(&parts.headers, &signed),
        Err(Error::Validation(mut fields)) => {
            let reason = fields.remove("password");
            invite_page(&state, &token, reason, None).await
        }
        Err(Error::NotFound(_)) => expired(),
        Err(err) => problem(err),
    }
}
