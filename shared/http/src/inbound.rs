//! Inbound texts and the scheduled sweep, shared by their Lambda functions and the local
//! stand-in routes (`/_local/...`, never deployed).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_domain::flows::{InboundText, Sweep};

use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::state::AppState;

/// The SNS inbound-SMS notification (the JSON inside the SNS message).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundSms {
    pub origination_number: String,
    #[serde(default)]
    pub destination_number: String,
    #[serde(default)]
    pub message_body: String,
}

impl From<InboundSms> for InboundText {
    fn from(sms: InboundSms) -> Self {
        InboundText {
            from: sms.origination_number,
            to: sms.destination_number,
            body: sms.message_body,
        }
    }
}

/// Routes standing in locally for what AWS triggers.
pub fn local_routes() -> Router<AppState> {
    Router::new()
        .route("/_local/sms/inbound", post(local_inbound))
        .route("/_local/scheduler/run", post(local_sweep))
}

async fn local_inbound(
    State(state): State<AppState>,
    JsonBody(sms): JsonBody<InboundSms>,
) -> ApiResult<Json<Value>> {
    let keyword = state.vouch.inbound_text(&sms.into()).await?;
    Ok(Json(
        json!({"keyword": keyword.map(|k| format!("{k:?}").to_lowercase())}),
    ))
}

async fn local_sweep(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Json<Sweep>> {
    let link_base = state.link_base(&headers);
    Ok(Json(state.vouch.sweep(&link_base).await?))
}

/// The sms-inbound function: each SNS record's message is an inbound-SMS notification. A record
/// that is not one is logged and skipped (retrying cannot fix it); a store failure fails the
/// invocation so SNS retries it.
pub async fn handle_sns(
    state: &AppState,
    event: aws_lambda_events::event::sns::SnsEvent,
) -> anyhow::Result<()> {
    for record in event.records {
        let sms: InboundSms = match serde_json::from_str(&record.sns.message) {
            Ok(sms) => sms,
            Err(err) => {
                tracing::warn!(error = %err, message_id = %record.sns.message_id, "not an inbound-SMS notification");
                continue;
            }
        };
        match state.vouch.inbound_text(&sms.into()).await {
            Ok(_) | Err(vouch_domain::Error::Validation(_)) => {}
            Err(err) => return Err(anyhow::anyhow!("inbound text: {err}")),
        }
    }
    Ok(())
}
