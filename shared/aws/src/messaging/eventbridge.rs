//! Domain events onto EventBridge.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use vouch_domain::model::events::DomainEvent;
use vouch_domain::ports::EventPublisher;

use crate::counter::RequestCounter;

/// Domain events onto the custom bus, `Source: "vouch"`.
#[derive(Clone)]
pub struct EventBridgePublisher {
    client: crate::lazy::Lazy<aws_sdk_eventbridge::Client>,
    bus: String,
}

pub const EVENT_SOURCE: &str = "vouch";

impl EventBridgePublisher {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        counter: &RequestCounter,
        bus: impl Into<String>,
    ) -> Self {
        let (sdk, counter) = (sdk.clone(), counter.clone());
        let client = crate::lazy::Lazy::new(move || {
            let config = aws_sdk_eventbridge::config::Builder::from(&sdk)
                .interceptor(counter.clone())
                .build();
            aws_sdk_eventbridge::Client::from_conf(config)
        });
        Self {
            client,
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
