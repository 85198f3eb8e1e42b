//! The sms-inbound function's handler: inbound texts as SNS delivers them.

use serde::Deserialize;
use vouch_domain::app::{InboundText, Vouch};

use super::EventError;

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

/// The sms-inbound function: each SNS record's message is an inbound-SMS notification. A record
/// that is not one is logged and skipped (retrying cannot fix it); a store failure fails the
/// invocation so SNS retries it.
pub async fn handle_sns(
    vouch: &Vouch,
    event: aws_lambda_events::event::sns::SnsEvent,
) -> Result<(), EventError> {
    for record in event.records {
        let sms: InboundSms = match serde_json::from_str(&record.sns.message) {
            Ok(sms) => sms,
            Err(err) => {
                tracing::warn!(error = %err, message_id = %record.sns.message_id, "not an inbound-SMS notification");
                continue;
            }
        };
        match vouch.inbound_text(&sms.into()).await {
            Ok(_) | Err(vouch_domain::Error::Validation(_)) => {}
            Err(err) => return Err(EventError::of(err)),
        }
    }
    Ok(())
}
