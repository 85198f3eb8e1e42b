//! Domain events, published on EventBridge with `Source: "vouch"`. Each carries an `event_id`
//! (ULID) so consumers can be idempotent.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use ulid::Ulid;

use crate::values::ids::BusinessId;

/// One event: its `DetailType` and its `Detail`, which always holds `event_id`, `business_id`
/// and `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub event_id: String,
    pub detail_type: String,
    pub business_id: BusinessId,
    pub occurred_at: DateTime<Utc>,
    /// The ids and amounts a consumer needs.
    pub data: Map<String, Value>,
}

impl DomainEvent {
    pub fn new(
        detail_type: &str,
        business_id: &BusinessId,
        occurred_at: DateTime<Utc>,
        data: Value,
    ) -> Self {
        Self {
            event_id: Ulid::new().to_string(),
            detail_type: detail_type.to_owned(),
            business_id: business_id.clone(),
            occurred_at,
            data: match data {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    /// The EventBridge `Detail` document.
    pub fn detail(&self) -> Value {
        let mut detail = self.data.clone();
        detail.insert("event_id".into(), json!(self.event_id));
        detail.insert("business_id".into(), json!(self.business_id.as_str()));
        detail.insert(
            "occurred_at".into(),
            json!(self.occurred_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        );
        Value::Object(detail)
    }
}

pub const PARTICIPANT_ENROLLED: &str = "participant.enrolled";
/// A participant reached `vip_after` closed referrals for the first time: the job software can
/// flag the customer for priority scheduling.
pub const PARTICIPANT_VIP: &str = "participant.vip";
pub const INVITATION_SENT: &str = "invitation.sent";
pub const LEAD_CREATED: &str = "lead.created";
pub const LEAD_ATTRIBUTED: &str = "lead.attributed";
pub const REFERRAL_QUALIFIED: &str = "referral.qualified";
pub const REFERRAL_REVERSED: &str = "referral.reversed";
pub const REWARD_ISSUED: &str = "reward.issued";
pub const REWARD_REDEEMED: &str = "reward.redeemed";
pub const REWARD_REVERSED: &str = "reward.reversed";
pub const REPORT_GENERATED: &str = "report.generated";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_carries_the_envelope_fields() {
        let business = BusinessId::parse("acme").unwrap();
        let event = DomainEvent::new(
            PARTICIPANT_ENROLLED,
            &business,
            Utc::now(),
            json!({"customer_id": "cus_1"}),
        );
        let detail = event.detail();
        assert_eq!(detail["business_id"], "acme");
        assert_eq!(detail["customer_id"], "cus_1");
        assert_eq!(detail["event_id"].as_str().unwrap().len(), 26);
        assert!(detail["occurred_at"].as_str().unwrap().ends_with('Z'));
    }
}
