//! One router per function, and the local runner's single router that merges them all. Each
//! gets `/health` and the JSON fallbacks.

use axum::routing::get;
use axum::{Json, Router};

use crate::state::AppState;
use crate::{admin, common, dashboard, local, openapi, public, webhooks};

/// link-click: `/r/{code}`, its QR code, the referral card, the public leaderboard and the
/// referrers' own pages.
pub fn link_click(state: AppState) -> Router {
    let routes = public::links::routes()
        .merge(public::leaderboard::routes())
        .merge(public::me::routes());
    common::finish(routes).with_state(state)
}

/// lead-intake: `POST /api/leads`.
pub fn lead_intake(state: AppState) -> Router {
    common::finish(public::leads::routes(&state)).with_state(state)
}

/// job-webhook: signed deliveries from field-service software.
pub fn job_webhook(state: AppState) -> Router {
    common::finish(webhooks::routes()).with_state(state)
}

/// admin-api: the operator and staff API, the staff dashboard, and the OpenAPI document.
pub fn admin_api(state: AppState) -> Router {
    common::finish(admin::routes().merge(dashboard::routes()).merge(document())).with_state(state)
}

fn document() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(openapi::built()) }))
}

/// Every function's routes on one port, with the local stand-ins for what AWS triggers and any
/// `extra` routes of the local runner.
pub fn local(state: AppState, extra: Router<AppState>) -> Router {
    let routes = extra
        .merge(public::links::routes())
        .merge(public::leaderboard::routes())
        .merge(public::me::routes())
        .merge(public::leads::routes(&state))
        .merge(webhooks::routes())
        .merge(admin::routes())
        .merge(dashboard::routes())
        .merge(document())
        .merge(local::routes());
    common::finish(routes).with_state(state)
}
