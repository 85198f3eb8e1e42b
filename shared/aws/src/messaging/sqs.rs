//! Jobber read-backs onto SQS: the webhook sends each item to read back to the queue and
//! answers at once; the jobber-sync function (locally a poller) reads them back from Jobber. A
//! read-back that fails for a reason worth retrying comes back later and later
//! ([`backoff`]); past the queue's receive limit it goes to the dead-letter queue.

use anyhow::Context;
use async_trait::async_trait;

use vouch_domain::model::jobber::ReadBack;
use vouch_domain::ports::ReadBacks;

use crate::counter::RequestCounter;
use crate::lazy::Lazy;

#[derive(Clone)]
pub struct SqsReadBacks {
    client: Lazy<aws_sdk_sqs::Client>,
    queue_url: String,
}

impl SqsReadBacks {
    pub fn new(sdk: &aws_config::SdkConfig, counter: &RequestCounter, queue_url: String) -> Self {
        let (sdk, counter) = (sdk.clone(), counter.clone());
        let client = Lazy::new(move || {
            let config = aws_sdk_sqs::config::Builder::from(&sdk)
                .interceptor(counter.clone())
                .build();
            aws_sdk_sqs::Client::from_conf(config)
        });
        Self { client, queue_url }
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Hides a message that failed for `seconds` before it is received again.
    pub async fn retry_later(&self, receipt_handle: &str, seconds: i32) -> anyhow::Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .context("ChangeMessageVisibility")?;
        Ok(())
    }
}

/// How long a read-back that failed `receives` times waits before the next try: 30 s doubling
/// to 15 minutes.
pub fn backoff(receives: u32) -> i32 {
    let doublings = receives.saturating_sub(1).min(5);
    (30_i32 << doublings).min(900)
}

#[async_trait]
impl ReadBacks for SqsReadBacks {
    async fn enqueue(&self, read_back: &ReadBack) -> anyhow::Result<()> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(serde_json::to_string(read_back)?)
            .send()
            .await
            .context("SendMessage (jobber read-back)")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_fifteen_minutes() {
        let waits: Vec<i32> = (1..=8).map(backoff).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 900, 900, 900]);
    }
}
