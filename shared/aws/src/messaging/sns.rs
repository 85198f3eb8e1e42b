//! Texts through SNS.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use vouch_domain::ports::{SendError, SmsSender};
use vouch_domain::values::person::Phone;

use crate::counter::RequestCounter;

/// Texts through SNS as transactional SMS, from the configured origination number or sender id.
#[derive(Clone)]
pub struct SnsSms {
    client: crate::lazy::Lazy<aws_sdk_sns::Client>,
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
        let (sdk, counter) = (sdk.clone(), counter.clone());
        let client = crate::lazy::Lazy::new(move || {
            let config = aws_sdk_sns::config::Builder::from(&sdk)
                .interceptor(counter.clone())
                .build();
            aws_sdk_sns::Client::from_conf(config)
        });
        Self {
            client,
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
