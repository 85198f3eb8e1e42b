//! The referrer's own page: found by a signed token (checked before anything is read), then the
//! participant and their friends: two reads, three with the business when it is not cached.

use std::sync::Arc;

use crate::decide::status_link;
use crate::model::business::Business;
use crate::model::participant::Participant;
use crate::rules::referrer_page::{Friend, NextReward, Totals, friends, next_reward, totals};
use crate::values::error::{Error, Result};
use crate::values::ids::{BusinessId, CustomerId};

use super::{MAX_PAGE, Vouch};

/// Everything a referrer's page shows.
#[derive(Debug, Clone)]
pub struct ReferrerPage {
    pub business: Arc<Business>,
    pub participant: Participant,
    /// The newest [`MAX_PAGE`] friends that still count, newest first.
    pub friends: Vec<Friend>,
    pub totals: Totals,
    pub next: NextReward,
    pub vip: bool,
    /// Friends whose job is done still needed for VIP (0 once VIP).
    pub vip_to_go: u32,
    /// The promotion running now, in words.
    pub promotion: Option<String>,
}

impl Vouch {
    /// The link to `customer`'s own page, signed for the business's current key version.
    pub fn status_url(
        &self,
        business: &Business,
        customer: &CustomerId,
        link_base: &str,
    ) -> String {
        status_link(
            link_base,
            &self.config.page_key,
            &business.id,
            customer,
            business.settings.status_link_version,
        )
    }

    /// The page `token` opens. A token this deployment did not sign is refused before anything
    /// is read; one signed for an older key version of its business (revoked) or naming no
    /// participant is not found either.
    pub async fn referrer_page(&self, token: &str) -> Result<ReferrerPage> {
        const NOT_FOUND: Error = Error::NotFound("page");
        let claim = self.config.page_key.open(token).ok_or(NOT_FOUND)?;
        let business_id = BusinessId::parse(&claim.business).map_err(|_| NOT_FOUND)?;
        let customer = CustomerId::parse(&claim.customer).map_err(|_| NOT_FOUND)?;
        let business = self.business(&business_id).await?.ok_or(NOT_FOUND)?;
        if claim.version != business.settings.status_link_version {
            return Err(NOT_FOUND);
        }
        let participant = self
            .ports
            .participants
            .get(&business_id, &customer)
            .await?
            .ok_or(NOT_FOUND)?;
        let referrals = self
            .ports
            .referrals
            .referrals_by(&business_id, &customer, MAX_PAGE)
            .await?;
        let settings = &business.settings;
        let closed = u32::try_from(participant.stats.closed).unwrap_or(u32::MAX);
        Ok(ReferrerPage {
            friends: friends(&referrals),
            totals: totals(&participant, &referrals),
            next: next_reward(settings, &participant),
            vip: participant.is_vip(settings.vip_after),
            vip_to_go: settings.vip_after.saturating_sub(closed),
            promotion: settings
                .promotion_at(self.now())
                .map(|p| p.text(&settings.currency)),
            participant,
            business,
        })
    }
}
