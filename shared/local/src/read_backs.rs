//! Jobber read-backs locally: the same SQS queue the SAM template declares, on the emulator,
//! and a poller handing each message to the handler the jobber-sync function runs. A read-back
//! worth retrying is hidden for a while (as the function does) and comes back.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use vouch_domain::app::Vouch;
use vouch_domain::model::jobber::ReadBack;
use vouch_http::events::jobber::{Synced, handle};
use vouch_http::events::{EventError, answer};

/// Creates the queue on the emulator, hiding a received message for 6 minutes as the deployed
/// queue does; returns its client and URL.
pub async fn create_queue(
    endpoint: &str,
    name: &str,
) -> anyhow::Result<(aws_sdk_sqs::Client, String)> {
    crate::bus::create_queue(endpoint, name, 360).await
}

/// What one drain did: read-backs handled for good, and those put off to retry.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    pub done: Vec<Result<Synced, String>>,
    pub retrying: usize,
}

/// Handles what is in the queue now. `retry_in(receives)` is how many seconds a read-back worth
/// retrying stays hidden (the deployed function's backoff, or less in tests).
pub async fn drain_once(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    vouch: &Vouch,
    link_base: &str,
    retry_in: impl Fn(u32) -> i32,
) -> anyhow::Result<Drained> {
    let output = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .context("receiving from the Jobber read-back queue")?;
    let mut drained = Drained::default();
    for message in output.messages.unwrap_or_default() {
        let receipt = message.receipt_handle().unwrap_or_default().to_owned();
        let result = match serde_json::from_str::<ReadBack>(message.body().unwrap_or_default()) {
            Ok(read_back) => handle(vouch, link_base, &read_back).await,
            Err(err) => Err(EventError::NonRetryable(format!("not a read-back: {err}"))),
        };
        let shown = result
            .as_ref()
            .map(Clone::clone)
            .map_err(ToString::to_string);
        // As Lambda would: a refusal is logged and done with, a failure worth retrying fails.
        if answer(result).is_err() {
            let receives = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            sqs.change_message_visibility()
                .queue_url(url)
                .receipt_handle(&receipt)
                .visibility_timeout(retry_in(receives))
                .send()
                .await
                .context("putting a read-back off")?;
            drained.retrying += 1;
            continue;
        }
        sqs.delete_message()
            .queue_url(url)
            .receipt_handle(&receipt)
            .send()
            .await
            .context("deleting a handled read-back")?;
        drained.done.push(shown);
    }
    Ok(drained)
}

/// Polls the queue until the process ends, with the deployed function's backoff.
pub fn spawn_poller(sqs: aws_sdk_sqs::Client, url: String, vouch: Vouch, link_base: String) {
    tokio::spawn(async move {
        loop {
            match drain_once(
                &sqs,
                &url,
                &vouch,
                &link_base,
                vouch_aws::messaging::backoff,
            )
            .await
            {
                Ok(drained) if drained.done.is_empty() && drained.retrying == 0 => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "jobber read-back poller");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}
