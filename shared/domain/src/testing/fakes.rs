//! Fakes of the world outside the store: a clock moved by hand, texts and events recorded.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::model::events::DomainEvent;
use crate::ports::Clock;
use crate::ports::{EventPublisher, SendError, SmsSender};
use crate::values::person::Phone;

/// A clock the test moves by hand. Pauses pass at once; their total is kept.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    paused: Mutex<std::time::Duration>,
}

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
            paused: Mutex::new(std::time::Duration::ZERO),
        }
    }

    /// How long the application paused in all (between attempts of contended writes).
    pub fn paused(&self) -> std::time::Duration {
        self.paused.lock().map(|p| *p).unwrap_or_default()
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut now) = self.now.lock() {
            *now = at;
        }
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
            .lock()
            .map(|now| *now)
            .unwrap_or_else(|_| Utc::now())
    }

    /// A pause passes at once and leaves the time as the test set it; it is recorded.
    async fn pause(&self, duration: std::time::Duration) {
        if let Ok(mut paused) = self.paused.lock() {
            *paused += duration;
        }
    }
}

/// Records texts instead of sending them; can be told to fail.
#[derive(Default)]
pub struct FakeSms {
    sent: Mutex<Vec<(Phone, String)>>,
    failures: Mutex<Vec<SendError>>,
}

impl FakeSms {
    pub fn sent(&self) -> Vec<(Phone, String)> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The next sends fail with these errors, in order.
    pub fn fail_next(&self, error: SendError) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(error);
        }
    }
}

#[async_trait]
impl SmsSender for FakeSms {
    async fn send(&self, to: &Phone, body: &str) -> Result<String, SendError> {
        if let Some(error) = self
            .failures
            .lock()
            .ok()
            .and_then(|mut f| (!f.is_empty()).then(|| f.remove(0)))
        {
            return Err(error);
        }
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| SendError::Transient(anyhow::anyhow!("poisoned")))?;
        sent.push((to.clone(), body.to_owned()));
        Ok(format!("fake-{}", sent.len()))
    }
}

/// Records published events; can be told to fail.
#[derive(Default)]
pub struct FakeEvents {
    published: Mutex<Vec<DomainEvent>>,
    failing: Mutex<bool>,
}

impl FakeEvents {
    pub fn published(&self) -> Vec<DomainEvent> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut f) = self.failing.lock() {
            *f = failing;
        }
    }
}

#[async_trait]
impl EventPublisher for FakeEvents {
    async fn publish(&self, events: &[DomainEvent]) -> anyhow::Result<()> {
        if self.failing.lock().map(|f| *f).unwrap_or(false) {
            anyhow::bail!("the bus is down");
        }
        self.published
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .extend_from_slice(events);
        Ok(())
    }
}
