//! Errors at the domain boundary. The HTTP layer maps [`Error`] to a status in one place.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Why one value could not be parsed; shown to the caller as the field's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    reason: Cow<'static, str>,
}

impl ParseError {
    pub fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A reason per field, keyed by the field's dotted path (`reward.tiers[1].amount_cents`).
pub type FieldErrors = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be understood at all (malformed JSON, a bad cursor).
    #[error("{0}")]
    BadRequest(String),
    /// The request was understood but some fields are invalid.
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("a valid API key is required")]
    Unauthenticated,
    /// Understood and authenticated, but not allowed (a form posted from a foreign origin).
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or not the caller's: both look the same from outside.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too many requests; come back after this many seconds.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// Concurrent changes to the same records kept refusing the write for longer than the
    /// retry budget; come back after this many seconds.
    #[error("busy with concurrent changes")]
    Busy { retry_after_secs: u64 },
    /// A dependency (the store) failed; the caller may retry.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl Error {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.into(), reason.into())]))
    }
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Self::Unavailable(err)
    }
}

/// The same reasons, under `prefix.` (the fields of a nested object).
pub fn prefixed(prefix: &str, errors: FieldErrors) -> FieldErrors {
    errors
        .into_iter()
        .map(|(field, reason)| (format!("{prefix}.{field}"), reason))
        .collect()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
