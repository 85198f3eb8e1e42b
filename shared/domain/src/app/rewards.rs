//! Rewards: the issuer's handling of `referral.qualified`, and staff's reward list, moves and the
//! service-credit ledger.

use serde::Deserialize;

use super::run::Ran;
use super::{MAX_PAGE, Vouch, page_args};
use crate::decide::{Command, RewardAction};
use crate::model::reward::{LedgerEntry, Reward, RewardStatus, balance};
use crate::ports::Page;
use crate::values::error::{Error, Result};
use crate::values::ids::{BusinessId, CustomerId};

/// How long the bus has to deliver `referral.qualified` before the scheduler steps in.
pub const AWAIT_GRACE: chrono::Duration = chrono::Duration::minutes(10);

/// What the issuer needs from a `referral.qualified` event. Every field is parsed: an event
/// that does not read as one is refused before anything is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Qualified {
    pub event_id: String,
    pub business_id: BusinessId,
    pub referral_id: String,
    pub lead_customer_id: CustomerId,
    #[serde(default)]
    pub referrer_customer_id: Option<CustomerId>,
}

/// What the issuer did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    Done,
    /// The event was handled before (same `event_id`).
    Duplicate,
}

impl Vouch {
    /// The reward issuer: `referral.qualified` → the referrer's reward, once per referral and
    /// once per event. A store failure is `Unavailable` (worth retrying).
    pub async fn issue_reward(&self, event: &Qualified, link_base: &str) -> Result<Issued> {
        let business = self.existing_business(&event.business_id).await?;
        let command = Command::Reward {
            customer_id: event.lead_customer_id.clone(),
            action: RewardAction::Issue {
                referral_id: event.referral_id.clone(),
            },
            referrer: event.referrer_customer_id.clone(),
        };
        let delivery = format!("event:{}", event.event_id);
        match self
            .run(&business, &command, Some(&delivery), link_base)
            .await?
        {
            Ran::Duplicate => Ok(Issued::Duplicate),
            Ran::Done { .. } | Ran::Repeat { .. } => Ok(Issued::Done),
        }
    }

    pub async fn rewards(
        &self,
        business_id: &BusinessId,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Reward>> {
        let status = status
            .map(|raw| {
                RewardStatus::parse(raw).ok_or_else(|| {
                    Error::field(
                        "status",
                        "must be pending, approved, issued, redeemed, canceled or reversed",
                    )
                })
            })
            .transpose()?;
        let limit = page_args(limit, cursor)?;
        Ok(self
            .ports
            .rewards
            .rewards(business_id, status, limit, cursor)
            .await?)
    }

    pub async fn rewards_of(
        &self,
        business_id: &BusinessId,
        customer: &CustomerId,
    ) -> Result<Vec<Reward>> {
        Ok(self
            .ports
            .rewards
            .rewards_of(business_id, customer, MAX_PAGE)
            .await?)
    }

    /// A participant's service-credit ledger and its balance.
    pub async fn ledger(
        &self,
        business_id: &BusinessId,
        customer: &CustomerId,
    ) -> Result<(Vec<LedgerEntry>, i64)> {
        let entries = self.ports.rewards.ledger(business_id, customer).await?;
        let total = balance(&entries);
        Ok((entries, total))
    }

    /// `PATCH /api/admin/rewards/{id}`: staff move a reward (409 for a move the state machine
    /// forbids).
    pub async fn move_reward(
        &self,
        business_id: &BusinessId,
        reward_id: &str,
        to: &str,
        note: Option<String>,
        link_base: &str,
    ) -> Result<Reward> {
        let to = match RewardStatus::parse(to) {
            Some(status) if RewardStatus::SET_BY_STAFF.contains(&status) => status,
            _ => {
                return Err(Error::field(
                    "status",
                    "must be approved, issued, redeemed or canceled",
                ));
            }
        };
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(Error::field("note", "must be at most 500 characters"));
        }
        if ulid::Ulid::from_string(reward_id).is_err() {
            return Err(Error::NotFound("reward"));
        }
        let reward = self
            .ports
            .rewards
            .reward(business_id, reward_id)
            .await?
            .ok_or(Error::NotFound("reward"))?;
        let business = self.existing_business(business_id).await?;
        let command = Command::Reward {
            customer_id: reward.lead_customer_id.clone(),
            action: RewardAction::Move {
                reward_id: reward.reward_id.clone(),
                to,
                note,
                by: self.acting.to_string(),
            },
            referrer: (reward.recipient == crate::model::reward::Recipient::Referrer)
                .then(|| reward.customer_id.clone()),
        };
        self.run(&business, &command, None, link_base).await?;
        self.ports
            .rewards
            .reward(business_id, reward_id)
            .await?
            .ok_or(Error::NotFound("reward"))
    }
}
