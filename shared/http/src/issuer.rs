//! The reward-issuer function's handler: `referral.qualified` events from the bus (through an
//! EventBridge rule in AWS; through a rule feeding a queue and a poller locally).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::Value;
use vouch_domain::model::events::REFERRAL_QUALIFIED;
use vouch_domain::rewards::Issued;

use crate::state::AppState;

/// Handles one event. Any error fails the invocation: EventBridge and Lambda retry it, and
/// after the last retry it lands in the dead-letter queue. Handling is idempotent on the
/// event's `event_id`, and one reward per referral holds whatever the events.
pub async fn handle(state: &AppState, event: EventBridgeEvent<Value>) -> Result<Issued, String> {
    if event.detail_type != REFERRAL_QUALIFIED {
        tracing::info!(detail_type = %event.detail_type, "not for the issuer; ignored");
        return Ok(Issued::Duplicate);
    }
    let link_base = state.web.public_base_url.clone().unwrap_or_default();
    match state.vouch.issue_reward(&event.detail, &link_base).await {
        Ok(issued) => {
            tracing::info!(?issued, "referral.qualified handled");
            Ok(issued)
        }
        Err(err) => {
            tracing::warn!(error = %err, "issuing failed");
            Err(err.to_string())
        }
    }
}
