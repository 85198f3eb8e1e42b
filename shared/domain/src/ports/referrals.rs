//! Referrals as staff list them, and the customer search.

use async_trait::async_trait;

use crate::model::referral::{Referral, Status as ReferralStatus};
use crate::model::search::SearchEntry;
use crate::model::search::SearchQuery;
use crate::values::ids::{BusinessId, CustomerId};

use super::Page;

#[async_trait]
pub trait Referrals: Send + Sync {
    async fn referral(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Referral>>;
    /// Newest first; `after` is the last referral id of the previous page.
    async fn referrals(
        &self,
        business: &BusinessId,
        status: Option<ReferralStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Referral>>;
    /// A referrer's referrals, newest first (at most `limit`).
    async fn referrals_by(
        &self,
        business: &BusinessId,
        referrer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Referral>>;
    /// Contacts found under a key the query matches.
    async fn search(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchEntry>>;
}
