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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vouch_domain::testing::{LINKS, World};

    use super::*;
    use crate::events::answer;

    fn event(detail: Value) -> EventBridgeEvent<Value> {
        let mut event = EventBridgeEvent::default();
        event.detail_type = REFERRAL_QUALIFIED.into();
        event.detail = detail;
        event
    }

    #[tokio::test]
    async fn a_malformed_event_is_refused_once_and_acknowledged() {
        let w = World::new().await;
        for detail in [
            json!({"nope": 1}),
            json!({"event_id": "e1", "business_id": "Not A Slug", "referral_id": "r",
                   "lead_customer_id": "cus_1"}),
            json!({"event_id": "e1", "business_id": "acme", "referral_id": "r",
                   "lead_customer_id": "has space"}),
        ] {
            let result = handle(&w.vouch, LINKS, event(detail.clone())).await;
            assert!(
                matches!(result, Err(EventError::NonRetryable(_))),
                "{detail}: {result:?}"
            );
            // Not worth retrying: the invocation succeeds, so Lambda does not retry it.
            assert!(answer(result).is_ok());
        }
    }

    #[tokio::test]
    async fn a_well_formed_event_for_an_unknown_referral_changes_nothing() {
        let w = World::new().await;
        let detail = json!({"event_id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "business_id": "acme",
                            "referral_id": "01JAAAAAAAAAAAAAAAAAAAAAAB", "lead_customer_id": "cus_9"});
        let issued = handle(&w.vouch, LINKS, event(detail)).await.unwrap();
        assert_eq!(issued, Issued::Done);
        assert!(w.store.all_rewards().is_empty());
    }

    #[test]
    fn a_retryable_failure_fails_the_invocation() {
        let result: Result<(), EventError> = Err(EventError::Retryable("store down".into()));
        let diagnostic = answer(result).unwrap_err();
        assert_eq!(diagnostic.error_type, "Retryable");
    }
}
