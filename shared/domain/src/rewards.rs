//! Reward use cases: the issuer's handling of `referral.qualified`, the scheduler's release of
//! held rewards, and staff's reward list, moves and overrides.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::flows::Ran;
use crate::ids::{BusinessId, CustomerId};
use crate::program::{Command, RewardAction};
use crate::reward::{LedgerEntry, Reward, RewardOverride, RewardStatus, balance};
use crate::services::{DEFAULT_PAGE, MAX_PAGE, Vouch};

/// What the issuer needs from a `referral.qualified` event's detail.
#[derive(Debug, Clone, Deserialize)]
struct Qualified {
    event_id: String,
    business_id: String,
    referral_id: String,
    lead_customer_id: String,
    #[serde(default)]
    referrer_customer_id: Option<String>,
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
    /// once per event. A malformed event is a validation error (not worth retrying); a store
    /// failure is `Unavailable` (retry).
    pub async fn issue_reward(&self, detail: &Value, link_base: &str) -> Result<Issued> {
        let event: Qualified = serde_json::from_value(detail.clone())
            .map_err(|err| Error::BadRequest(format!("not a referral.qualified detail: {err}")))?;
        let business_id = BusinessId::parse(&event.business_id)
            .map_err(|e| Error::field("business_id", e.reason()))?;
        let lead = CustomerId::parse(&event.lead_customer_id)
            .map_err(|e| Error::field("lead_customer_id", e.reason()))?;
        let referrer = event
            .referrer_customer_id
            .as_deref()
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| Error::field("referrer_customer_id", e.reason()))?;
        let business = self.existing_business(&business_id).await?;
        let command = Command::Reward {
            customer_id: lead,
            action: RewardAction::Issue {
                referral_id: event.referral_id,
            },
            referrer,
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

    /// Issues held rewards whose hold ended (the scheduler). Returns how many were looked at.
    pub(crate) async fn release_rewards(&self, link_base: &str) -> Result<u32> {
        let due = self.ports.rewards.due_rewards(self.now(), 100).await?;
        let mut released = 0;
        for (business_id, reward) in due {
            let Some(business) = self.business(&business_id).await? else {
                continue;
            };
            let command = Command::Reward {
                customer_id: reward.lead_customer_id.clone(),
                action: RewardAction::Release {
                    reward_id: reward.reward_id.clone(),
                },
                referrer: Some(reward.customer_id.clone()),
            };
            match self.run(&business, &command, None, link_base).await {
                Ok(_) => released += 1,
                Err(err) => {
                    tracing::warn!(reward_id = %reward.reward_id, error = %err, "releasing a reward failed; next sweep retries");
                }
            }
        }
        Ok(released)
    }

    pub async fn rewards(
        &self,
        business_id: &BusinessId,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Reward>, Option<String>)> {
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
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::field("limit", "must be between 1 and 100"));
        }
        if let Some(cursor) = cursor
            && ulid::Ulid::from_string(cursor).is_err()
        {
            return Err(Error::BadRequest(
                "cursor is not one this list returned".into(),
            ));
        }
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
            Some(
                status @ (RewardStatus::Approved
                | RewardStatus::Issued
                | RewardStatus::Redeemed
                | RewardStatus::Canceled),
            ) => status,
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
            },
            referrer: (reward.recipient == crate::reward::Recipient::Referrer)
                .then(|| reward.customer_id.clone()),
        };
        self.run(&business, &command, None, link_base).await?;
        self.ports
            .rewards
            .reward(business_id, reward_id)
            .await?
            .ok_or(Error::NotFound("reward"))
    }

    /// Sets or clears a participant's own reward.
    pub async fn set_reward_override(
        &self,
        business_id: &BusinessId,
        customer: &str,
        own: Option<RewardOverride>,
    ) -> Result<crate::participant::Participant> {
        if let Some(own) = &own {
            own.check().map_err(|(field, reason)| {
                Error::field(format!("reward_override.{field}"), reason)
            })?;
        }
        let id = CustomerId::parse(customer).map_err(|_| Error::NotFound("participant"))?;
        match self
            .ports
            .participants
            .set_reward_override(business_id, &id, own.as_ref())
            .await?
        {
            crate::ports::Written::Applied => self.participant(business_id, customer).await,
            crate::ports::Written::Refused => Err(Error::NotFound("participant")),
        }
    }
}

#[cfg(test)]
mod tests;
