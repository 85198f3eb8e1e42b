//! Texting and the event bus.

use async_trait::async_trait;

use crate::model::events::DomainEvent;
use crate::values::person::Phone;

/// Why a text did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The carrier or provider says the number opted out.
    #[error("the number opted out")]
    OptedOut,
    /// The number cannot receive texts.
    #[error("invalid destination: {0}")]
    Invalid(String),
    /// Try again later.
    #[error("transient failure")]
    Transient(#[source] anyhow::Error),
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one text; returns the provider's message id.
    async fn send(&self, to: &Phone, body: &str) -> Result<String, SendError>;
}

#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes all or fails as a whole (the outbox keeps them for a retry).
    async fn publish(&self, events: &[DomainEvent]) -> anyhow::Result<()>;
}
