//! Routes standing in locally for what AWS triggers (`make dev` and tests; never deployed):
//! an inbound text as SNS would deliver it, and a scheduler run.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use vouch_domain::app::Sweep;

use crate::error::ApiResult;
use crate::events::inbound::InboundSms;
use crate::extract::JsonBody;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_local/sms/inbound", post(inbound))
        .route("/_local/scheduler/run", post(sweep))
}

async fn inbound(
    State(state): State<AppState>,
    JsonBody(sms): JsonBody<InboundSms>,
) -> ApiResult<Json<Value>> {
    let keyword = state.vouch.inbound_text(&sms.into()).await?;
    Ok(Json(
        json!({"keyword": keyword.map(|k| format!("{k:?}").to_lowercase())}),
    ))
}

async fn sweep(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Sweep>> {
    let link_base = state.link_base(&headers);
    Ok(Json(state.vouch.sweep(&link_base).await?))
}
