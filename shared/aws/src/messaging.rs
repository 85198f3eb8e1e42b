//! SNS for texts and EventBridge for domain events.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sns::types::MessageAttributeValue;

use vouch_domain::model::events::DomainEvent;
use vouch_domain::ports::{EventPublisher, SendError, SmsSender};
use vouch_domain::values::person::Phone;

use crate::counter::RequestCounter;

/// Texts through SNS as transactional SMS, from the configured origination number or sender id.
#[derive(Clone)]
pub struct SnsSms {
    client: aws_sdk_sns::Client,
    origination_number: Option<String>,
    sender_id: Option<String>,
}

impl SnsSms {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        counter: &RequestCounter,
        origination_number: Option<String>,
        sender_id: Option<String>,
    ) -> Self {
        let config = aws_sdk_sns::config::Builder::from(sdk)
            .interceptor(counter.clone())
            .build();
        Self {
            client: aws_sdk_sns::Client::from_conf(config),
            origination_number,
            sender_id,
        }
    }

    fn attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|err| SendError::Transient(err.into()))
    }
}

#[async_trait]
impl SmsSender for SnsSms {
    async fn send(&self, to: &Phone, body: &str) -> Result<String, SendError> {
        let opted_out = self
            .client
            .check_if_phone_number_is_opted_out()
            .phone_number(to.as_e164())
            .send()
            .await
            .map_err(|err| {
                SendError::Transient(
                    anyhow::Error::new(err).context("CheckIfPhoneNumberIsOptedOut"),
                )
            })?;
        if opted_out.is_opted_out() {
            return Err(SendError::OptedOut);
        }
        let mut request = self
            .client
            .publish()
            .phone_number(to.as_e164())
            .message(body)
            .message_attributes("AWS.SNS.SMS.SMSType", Self::attribute("Transactional")?);
        if let Some(number) = &self.origination_number {
            request = request
                .message_attributes("AWS.MM.SMS.OriginationNumber", Self::attribute(number)?);
        }
        if let Some(sender) = &self.sender_id {
            request = request.message_attributes("AWS.SNS.SMS.SenderID", Self::attribute(sender)?);
        }
        match request.send().await {
            Ok(output) => Ok(output.message_id.unwrap_or_default()),
            Err(err) => match err.as_service_error() {
                Some(service)
                    if service.is_invalid_parameter_exception()
                        || service.is_invalid_parameter_value_exception() =>
                {
                    Err(SendError::Invalid(service.to_string()))
                }
                _ => Err(SendError::Transient(
                    anyhow::Error::new(err).context("Publish"),
                )),
            },
        }
    }
}

/// Domain events onto the custom bus, `Source: "vouch"`.
#[derive(Clone)]
pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

pub const EVENT_SOURCE: &str = "vouch";

impl EventBridgePublisher {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        counter: &RequestCounter,
        bus: impl Into<String>,
    ) -> Self {
        let config = aws_sdk_eventbridge::config::Builder::from(sdk)
            .interceptor(counter.clone())
            .build();
        Self {
            client: aws_sdk_eventbridge::Client::from_conf(config),
            bus: bus.into(),
        }
    }

    pub fn client(&self) -> &aws_sdk_eventbridge::Client {
        &self.client
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[DomainEvent]) -> anyhow::Result<()> {
        // PutEvents takes at most ten entries.
        for chunk in events.chunks(10) {
            let entries = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(EVENT_SOURCE)
                        .detail_type(&event.detail_type)
                        .detail(event.detail().to_string())
                        .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(
                            event.occurred_at.timestamp(),
                        ))
                        .build()
                })
                .collect();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|err| anyhow::Error::new(err).context("PutEvents"))?;
            if output.failed_entry_count() > 0 {
                anyhow::bail!(
                    "PutEvents refused {} of {} entries",
                    output.failed_entry_count(),
                    chunk.len()
                );
            }
        }
        Ok(())
    }
}
