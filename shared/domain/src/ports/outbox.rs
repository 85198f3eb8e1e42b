//! The text outbox and the numbers' standing (opted out or not).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::decide::Refusal;
use crate::model::events::DomainEvent;
use crate::model::message::{Message, Status};
use crate::rules::sending::SendGuard;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::Phone;

use super::Page;

/// Which messages staff want to see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub customer_id: Option<CustomerId>,
    pub status: Option<Status>,
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Pending messages (queued too long, or deferred) due by `now`, across businesses.
    async fn due_messages(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Message>>;
    /// Takes a due message for sending: it must still be due as read, the number must not have
    /// opted out and the caps must allow it. On success the message is queued until `until`.
    async fn claim(
        &self,
        message: &Message,
        guard: Option<&SendGuard>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Result<(), Refusal>>;
    /// Replaces a pending message's status (deferred again, or closed), if still as read.
    async fn reschedule(&self, read: &Message, updated: &Message) -> anyhow::Result<()>;
    /// Outbox events written before `before` and still unpublished.
    async fn pending_events(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DomainEvent>>;
    /// The business's messages, newest first; `after` is the last message id of the previous page.
    async fn messages(
        &self,
        business: &BusinessId,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Message>>;
}

/// A phone number's standing with us, across businesses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipient {
    pub opted_out: bool,
    /// The business that last texted the number (HELP answers name it).
    pub last_business_id: Option<BusinessId>,
}

#[async_trait]
pub trait Recipients: Send + Sync {
    async fn recipient(&self, phone: &Phone) -> anyhow::Result<Recipient>;
    async fn set_opted_out(
        &self,
        phone: &Phone,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()>;
}
