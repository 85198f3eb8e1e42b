//! Connecting Jobber: `GET /integrations/jobber/connect` sends a signed-in owner to Jobber's
//! authorize page with a `state` bound to their session; `GET /integrations/jobber/callback`
//! comes back with a code, exchanged for the account's tokens (kept server-side, never shown).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Staffer, message, problem, unless_owner};
use crate::state::AppState;

/// Where Jobber sends the owner back: register this as the app's callback URL.
pub fn callback_url(state: &AppState, headers: &HeaderMap) -> String {
    format!("{}/integrations/jobber/callback", state.link_base(headers))
}

/// `GET /integrations/jobber/connect`.
pub async fn connect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Staffer(actor): Staffer,
) -> Response {
    if let Some(refused) = unless_owner(&actor) {
        return refused;
    }
    let redirect_uri = callback_url(&state, &headers);
    match state
        .vouch
        .jobber_authorize_url(&actor.business_id, &actor.csrf, &redirect_uri)
        .await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(err) => problem(err),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /integrations/jobber/callback?code=…&state=…` (or `?error=access_denied`).
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Staffer(actor): Staffer,
    Query(back): Query<Callback>,
) -> Response {
    if let Some(refused) = unless_owner(&actor) {
        return refused;
    }
    if back.error.is_some() {
        return message(
            StatusCode::OK,
            "Jobber was not connected",
            "Jobber said the connection was not allowed. Nothing changed; connect again from the settings when ready.",
        );
    }
    let (Some(code), Some(oauth_state)) = (back.code, back.state) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Jobber was not connected",
            "Jobber's answer was missing its code. Nothing changed; connect again from the settings.",
        );
    };
    let redirect_uri = callback_url(&state, &headers);
    let vouch = state.vouch.acting_as(&actor.label());
    match vouch
        .connect_jobber(
            &actor.business_id,
            &actor.csrf,
            &oauth_state,
            &code,
            &redirect_uri,
        )
        .await
    {
        Ok(_) => Redirect::to("/admin/settings?jobber=connected#jobber").into_response(),
        Err(err) => problem(err),
    }
}
