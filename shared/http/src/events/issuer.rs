//! The reward-issuer function's handler: `referral.qualified` events from the bus (through an
//! EventBridge rule in AWS; through a rule feeding a queue and a poller locally).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::Value;
use vouch_domain::app::{Issued, Qualified, Vouch};
use vouch_domain::model::events::REFERRAL_QUALIFIED;

use super::EventError;

/// Handles one event, idempotently on its `event_id` (and one reward per referral holds
/// whatever the events). A detail that does not read as `referral.qualified` is refused as not
/// worth retrying; a store failure is retried.
pub async fn handle(
    vouch: &Vouch,
    link_base: &str,
    event: EventBridgeEvent<Value>,
) -> Result<Issued, EventError> {
    if event.detail_type != REFERRAL_QUALIFIED {
        tracing::info!(detail_type = %event.detail_type, "not for the issuer; ignored");
        return Ok(Issued::Duplicate);
    }
    let qualified: Qualified = serde_json::from_value(event.detail).map_err(|err| {
        EventError::NonRetryable(format!("not a referral.qualified detail: {err}"))
    })?;
    let issued = vouch
        .issue_reward(&qualified, link_base)
        .await
        .map_err(EventError::of)?;
    tracing::info!(?issued, referral_id = %qualified.referral_id, "referral.qualified handled");
    Ok(issued)
}
