//! Rate limits shared by every instance, in fixed windows.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::values::secrets::{IpHash, KeyHash};

/// The answer of a rate limit: allowed, or when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// What a rate limit counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// Unknown referral codes tried from one (hashed) address.
    UnknownCode(IpHash),
    /// Failed sign-ins from one (hashed) address.
    SignInAddress(IpHash),
    /// Failed sign-ins to one account (the hash of its email).
    SignInAccount(KeyHash),
}

#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Counts one hit of `key` in the fixed window of `window_secs` containing `now`; more than
    /// `limit` hits in a window are limited until it ends. Counts are shared by every instance.
    async fn hit(
        &self,
        key: &RateKey,
        window_secs: u64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Rate>;

    /// The hits of `key` so far in the window of `window_secs` containing `now`.
    async fn hits(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u32>;
}

/// The window `now` falls in: its start (epoch seconds) and the seconds left in it.
pub fn window(now: DateTime<Utc>, window_secs: u64) -> (i64, u64) {
    let length = i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX);
    let start = now.timestamp().div_euclid(length) * length;
    let left = u64::try_from(start + length - now.timestamp())
        .unwrap_or(1)
        .max(1);
    (start, left)
}
