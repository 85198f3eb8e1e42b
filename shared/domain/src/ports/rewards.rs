//! Rewards, the service-credit ledger, the scheduler's lists, and gift-card fulfilment.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::reward::{LedgerEntry, OrderOutcome, Reward, RewardStatus};
use crate::model::settings::GiftCardProvider;
use crate::values::ids::{BusinessId, CustomerId};

use super::Page;

#[async_trait]
pub trait Rewards: Send + Sync {
    async fn reward(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Reward>>;
    /// Newest first; `after` is the last reward id of the previous page.
    async fn rewards(
        &self,
        business: &BusinessId,
        status: Option<RewardStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Reward>>;
    /// A customer's rewards, newest first.
    async fn rewards_of(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Reward>>;
    /// A participant's service-credit ledger, oldest first.
    async fn ledger(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Vec<LedgerEntry>>;
    /// Qualified referrals still without a reward since before `before`, across businesses.
    async fn awaiting_rewards(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, crate::decide::IssueDue)>>;
    /// Takes a referral off that list.
    async fn forget_awaiting(&self, business: &BusinessId, referral_id: &str)
    -> anyhow::Result<()>;
    /// Held rewards whose hold ended by `now`, across businesses.
    async fn due_rewards(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Reward)>>;
}

/// What a gift card is ordered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCardRequest {
    /// The idempotency key: asking again with it returns the same order.
    pub external_id: String,
    pub amount_cents: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub recipient_name: String,
    pub recipient_email: Option<String>,
    /// E.164; used to deliver by text when there is no email address.
    pub recipient_phone: Option<String>,
}

/// Orders gift cards from the business's provider, with its account.
#[async_trait]
pub trait GiftCards: Send + Sync {
    /// Places the order, or — the same `external_id` again — reads the order placed before.
    /// `Err` is a failure to get an answer (the order may or may not exist).
    async fn order(
        &self,
        account: &GiftCardProvider,
        request: &GiftCardRequest,
    ) -> anyhow::Result<OrderOutcome>;
    /// Where an order placed before stands.
    async fn status(
        &self,
        account: &GiftCardProvider,
        order_id: &str,
    ) -> anyhow::Result<OrderOutcome>;
}

/// No provider wired into this process: every order fails with a reason staff can read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGiftCards;

#[async_trait]
impl GiftCards for NoGiftCards {
    async fn order(
        &self,
        _account: &GiftCardProvider,
        _request: &GiftCardRequest,
    ) -> anyhow::Result<OrderOutcome> {
        anyhow::bail!("this process cannot reach a gift-card provider")
    }

    async fn status(
        &self,
        _account: &GiftCardProvider,
        _order_id: &str,
    ) -> anyhow::Result<OrderOutcome> {
        anyhow::bail!("this process cannot reach a gift-card provider")
    }
}
