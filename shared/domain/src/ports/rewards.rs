//! Rewards, the service-credit ledger, the scheduler's lists, and gift-card fulfilment.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::reward::{LedgerEntry, Reward, RewardStatus};
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

/// Fulfils gift cards. The default is manual: staff buy the card and mark the reward issued.
#[async_trait]
pub trait GiftCards: Send + Sync {
    /// Whether cards are issued by a provider without staff.
    fn automatic(&self) -> bool;
    /// Issues a card for the reward; returns the provider's reference.
    async fn issue(&self, reward: &Reward) -> anyhow::Result<String>;
}

/// No provider configured: every gift card waits for staff.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManualGiftCards;

#[async_trait]
impl GiftCards for ManualGiftCards {
    fn automatic(&self) -> bool {
        false
    }

    async fn issue(&self, _reward: &Reward) -> anyhow::Result<String> {
        anyhow::bail!("gift cards are fulfilled by staff: no provider is configured")
    }
}
