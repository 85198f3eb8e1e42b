//! The event functions' handlers: `referral.qualified` for the reward issuer, inbound texts from
//! SNS, the scheduled sweep, and Jobber read-backs. They take the application alone (no web state) and say whether
//! a failure is worth retrying.

pub mod inbound;
pub mod issuer;
pub mod jobber;
pub mod sweep;

use lambda_runtime::Diagnostic;

/// Why an event was not handled.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Retrying cannot help (the event does not read as one): acknowledged and logged.
    #[error("refused: {0}")]
    NonRetryable(String),
    /// A dependency failed: the invocation fails, so Lambda retries it and, past its retries,
    /// hands it to the dead-letter queue.
    #[error("failed, worth retrying: {0}")]
    Retryable(String),
}

impl EventError {
    /// A store or provider failure (or contention) is retried; anything else is the event's own
    /// fault.
    pub fn of(err: vouch_domain::Error) -> Self {
        match err {
            vouch_domain::Error::Unavailable(source) => Self::Retryable(format!("{source:#}")),
            vouch_domain::Error::RateLimited { .. } | vouch_domain::Error::Busy { .. } => {
                Self::Retryable(err.to_string())
            }
            other => Self::NonRetryable(other.to_string()),
        }
    }
}

impl From<EventError> for Diagnostic {
    fn from(err: EventError) -> Self {
        let error_type = match &err {
            EventError::NonRetryable(_) => "NonRetryable",
            EventError::Retryable(_) => "Retryable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// What a function answers Lambda: a non-retryable failure is acknowledged (retrying cannot
/// fix it; it is logged for staff), a retryable one fails the invocation.
pub fn answer<T>(result: Result<T, EventError>) -> Result<(), Diagnostic> {
    match result {
        Ok(_) => Ok(()),
        Err(EventError::NonRetryable(reason)) => {
            tracing::warn!(%reason, "event refused; not retried");
            Ok(())
        }
        Err(err) => {
            tracing::warn!(error = %err, "event failed; Lambda retries it");
            Err(err.into())
        }
    }
}
