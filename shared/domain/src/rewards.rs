//! Reward use cases: the issuer's handling of `referral.qualified`, the scheduler's release of
//! held rewards, and staff's reward list, moves and overrides.

use serde::Deserialize;
use serde_json::Value;

use crate::decide::{Command, RewardAction};
use crate::flows::Ran;
use crate::model::reward::{LedgerEntry, Reward, RewardOverride, RewardStatus, balance};
use crate::services::{MAX_PAGE, Vouch, page_args};
use crate::values::error::{Error, Result};
use crate::values::ids::{BusinessId, CustomerId};

/// How long the bus has to deliver `referral.qualified` before the scheduler steps in.
pub const AWAIT_GRACE: chrono::Duration = chrono::Duration::minutes(10);

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

    /// The scheduler's part in rewards: issues held rewards whose hold ended, and hands the
    /// issuer any qualified referral still without a reward after [`AWAIT_GRACE`] (an event the
    /// bus never delivered, or one that failed past its retries). Failures are logged and left
    /// for the next run. Returns how many were looked at.
    pub(crate) async fn settle_rewards(&self, link_base: &str) -> u32 {
        let now = self.now();
        let mut looked_at = 0;
        match self.ports.rewards.due_rewards(now, 100).await {
            Ok(due) => {
                for (business_id, reward) in due {
                    let command = Command::Reward {
                        customer_id: reward.lead_customer_id.clone(),
                        action: RewardAction::Release {
                            reward_id: reward.reward_id.clone(),
                        },
                        referrer: Some(reward.customer_id.clone()),
                    };
                    looked_at += 1;
                    if let Err(err) = self.run_for(&business_id, &command, link_base).await {
                        tracing::warn!(reward_id = %reward.reward_id, error = %err, "releasing a reward failed; the next run retries");
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "reading held rewards failed"),
        }
        match self
            .ports
            .rewards
            .awaiting_rewards(now - AWAIT_GRACE, 100)
            .await
        {
            Ok(awaiting) => {
                for (business_id, due) in awaiting {
                    let command = Command::Reward {
                        customer_id: due.lead_customer_id.clone(),
                        action: RewardAction::Issue {
                            referral_id: due.referral_id.clone(),
                        },
                        referrer: due.referrer_customer_id.clone(),
                    };
                    looked_at += 1;
                    match self.run_for(&business_id, &command, link_base).await {
                        Ok(()) => {
                            if let Err(err) = self
                                .ports
                                .rewards
                                .forget_awaiting(&business_id, &due.referral_id)
                                .await
                            {
                                tracing::warn!(error = %err, "clearing an awaited reward failed");
                            }
                        }
                        Err(err) => {
                            tracing::warn!(referral_id = %due.referral_id, error = %err, "issuing a missed reward failed; the next run retries");
                        }
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "reading referrals awaiting rewards failed"),
        }
        looked_at
    }

    /// Runs a command for a business the scheduler found; a business that is gone is skipped.
    async fn run_for(
        &self,
        business_id: &BusinessId,
        command: &Command,
        link_base: &str,
    ) -> Result<()> {
        let Some(business) = self.business(business_id).await? else {
            tracing::warn!(%business_id, "a reward of a business that no longer exists");
            return Ok(());
        };
        self.run(&business, command, None, link_base).await?;
        Ok(())
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

    /// Sets or clears a participant's own reward.
    pub async fn set_reward_override(
        &self,
        business_id: &BusinessId,
        customer: &str,
        own: Option<RewardOverride>,
    ) -> Result<crate::model::participant::Participant> {
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
