//! Closing the loop locally: a rule on the emulator's bus feeds `referral.qualified` events into
//! a queue, and a poller hands each one to the same handler the reward-issuer Lambda runs, as
//! EventBridge would invoke it in AWS. A failed event stays in the queue and comes back.

use std::time::Duration;

use anyhow::Context;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::{Value, json};
use vouch_domain::app::Vouch;
use vouch_http::events::{answer, issuer};

/// Creates a queue on the emulator whose messages come back `visibility_secs` after being
/// received and not deleted; returns a client and its URL.
pub async fn create_queue(
    endpoint: &str,
    name: &str,
    visibility_secs: u32,
) -> anyhow::Result<(aws_sdk_sqs::Client, String)> {
    let sdk = vouch_aws::config::sdk_config(Some(endpoint)).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            visibility_secs.to_string(),
        )
        .send()
        .await
        .with_context(|| format!("creating the queue {name}"))?
        .queue_url
        .context("the queue has no URL")?;
    Ok((sqs, url))
}

/// Creates the queue and the rule; returns the queue's URL.
pub async fn route_to_issuer(
    events: &vouch_aws::messaging::EventBridgePublisher,
    endpoint: &str,
    bus: &str,
    name: &str,
) -> anyhow::Result<(aws_sdk_sqs::Client, String)> {
    let (sqs, url) = create_queue(endpoint, name, 5).await?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading the queue's ARN")?
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .context("the queue has no ARN")?;
    let events = events.client();
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(
            json!({"source": ["vouch"], "detail-type": ["referral.qualified"]}).to_string(),
        )
        .send()
        .await
        .context("creating the issuer's rule")?;
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("issuer")
                .arn(arn)
                .build()
                .context("the rule's target")?,
        )
        .send()
        .await
        .context("pointing the rule at the queue")?;
    Ok((sqs, url))
}

/// Handles what is in the queue now; returns how many events were handled.
pub async fn drain_once(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    vouch: &Vouch,
    link_base: &str,
) -> anyhow::Result<usize> {
    let output = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .context("receiving from the issuer's queue")?;
    let mut handled = 0;
    for message in output.messages.unwrap_or_default() {
        let event: Result<EventBridgeEvent<Value>, _> =
            serde_json::from_str(message.body().unwrap_or_default());
        let done = match event {
            // A refused event is done with; one worth retrying stays for the next poll.
            Ok(event) => answer(issuer::handle(vouch, link_base, event).await).is_ok(),
            Err(err) => {
                tracing::warn!(error = %err, "not an EventBridge event; dropped");
                true
            }
        };
        if done {
            handled += 1;
            if let Some(receipt) = message.receipt_handle() {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .context("deleting a handled event")?;
            }
        }
    }
    Ok(handled)
}

/// Polls the queue until the process ends.
pub fn spawn_poller(sqs: aws_sdk_sqs::Client, url: String, vouch: Vouch, link_base: String) {
    tokio::spawn(async move {
        loop {
            match drain_once(&sqs, &url, &vouch, &link_base).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(300)).await,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "issuer poller");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}
