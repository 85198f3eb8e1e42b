//! Ports: what the domain needs from the outside world, split by capability. The DynamoDB, SNS
//! and EventBridge adapters implement them for real; `testing` has in-memory fakes that pass the
//! same contract tests.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::values::ids::CustomerId;

mod businesses;
mod jobber;
mod limits;
mod messaging;
mod outbox;
mod participants;
mod program;
mod referrals;
mod reports;
mod rewards;
mod staff;

pub use businesses::Businesses;
pub use jobber::{
    JobberApi, JobberFailure, JobberLinks, NoJobber, NoReadBacks, ReadBacks, TokenGrant,
};
pub use limits::{Rate, RateKey, RateLimits, window};
pub use messaging::{EventPublisher, SendError, SmsSender};
pub use outbox::{MessageFilter, Outbox, Recipient, Recipients};
pub use participants::{Clicks, Participants};
pub use program::{Finish, ProgramStore, SendOutcome, SendResult};
pub use referrals::Referrals;
pub use reports::Reports;
pub use rewards::{GiftCardRequest, GiftCards, NoGiftCards, Rewards};
pub use staff::Staff;

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Applied,
    /// The condition did not hold (the item exists, or changed since it was read).
    Refused,
}

/// Where a page of a list ends: the sort key of the last item and its customer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub sort_key: String,
    pub customer_id: CustomerId,
}

/// One page of a list: its items and where the next page starts (the last item's id, or a
/// [`Position`] for the participant lists); `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, After = String> {
    pub items: Vec<T>,
    pub next: Option<After>,
}

impl<T, After> Page<T, After> {
    /// A page from up to `limit + 1` items read: the extra one only says there is more, and
    /// the next page starts after the last item kept.
    pub fn of(mut items: Vec<T>, limit: u32, after: impl Fn(&T) -> After) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().map(after) } else { None };
        Self { items, next }
    }
}

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Waits this long (between attempts of a contended write).
    async fn pause(&self, duration: Duration);
}

/// A clock stopped at one moment: the application as of that time. It pauses as `real` does.
#[derive(Clone)]
pub struct FixedClock {
    pub at: DateTime<Utc>,
    pub real: Arc<dyn Clock>,
}

#[async_trait]
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.at
    }

    async fn pause(&self, duration: Duration) {
        self.real.pause(duration).await;
    }
}
