//! The real clock: UTC now, and pauses on the async runtime's timer.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vouch_domain::ports::Clock;

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn pause(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
