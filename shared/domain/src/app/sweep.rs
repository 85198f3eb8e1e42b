//! The scheduled sweep: texts whose window opened or that got stuck, events the bus did not
//! take, held rewards whose hold ended and qualified referrals the bus never delivered.

use chrono::{DateTime, Duration, Utc};

use super::Vouch;
use super::rewards::AWAIT_GRACE;
use crate::decide::{Command, Plan, Refusal, RewardAction};
use crate::model::message::{Message, Purpose, Reason, STUCK_AFTER, Status};
use crate::ports::{Finish, SendResult};
use crate::rules::sending::{QuietHours, SendGuard};
use crate::values::error::Result;
use crate::values::ids::BusinessId;
use crate::values::local_day;

/// Most gift-card orders placed or followed in one run, and the time they may take together
/// (each may wait for the provider; the run has other work after them).
const GIFT_CARDS_PER_SWEEP: u32 = 20;
const GIFT_CARD_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Outbox events younger than this are left to the request that wrote them.
const EVENT_GRACE: Duration = Duration::minutes(1);

/// What the scheduled sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sweep {
    pub sent: u32,
    pub deferred: u32,
    pub suppressed: u32,
    pub failed: u32,
    pub events_published: u32,
    /// Held rewards whose hold ended, and qualified referrals the bus missed, looked at.
    pub rewards_released: u32,
    /// Monthly reports written.
    pub reports_written: u32,
    /// Participants texted to re-engage them.
    pub reengaged: u32,
}

impl Vouch {
    /// Sends what is due (deferred messages whose window opened, queued ones stuck) and
    /// publishes outbox events left behind.
    pub async fn sweep(&self, link_base: &str) -> Result<Sweep> {
        let now = self.now();
        let mut sweep = Sweep::default();
        for message in self.ports.outbox.due_messages(now, 100).await? {
            self.sweep_message(message, now, &mut sweep).await?;
        }
        let events = self
            .ports
            .outbox
            .pending_events(now - EVENT_GRACE, 100)
            .await?;
        if !events.is_empty() && self.ports.events.publish(&events).await.is_ok() {
            let mut by_business: std::collections::BTreeMap<BusinessId, Vec<String>> =
                Default::default();
            for event in &events {
                by_business
                    .entry(event.business_id.clone())
                    .or_default()
                    .push(event.event_id.clone());
            }
            for (business_id, published) in by_business {
                self.ports
                    .program
                    .finish(
                        &business_id,
                        &Finish {
                            published,
                            ..Finish::default()
                        },
                    )
                    .await?;
            }
            sweep.events_published = u32::try_from(events.len()).unwrap_or(u32::MAX);
        }
        // Last, so a reward problem never holds up texts and events.
        sweep.rewards_released = self.settle_rewards(link_base).await;
        sweep.reports_written = match self.write_due_reports().await {
            Ok(written) => written,
            Err(err) => {
                tracing::warn!(error = ?err, "writing monthly reports failed; the next run retries");
                0
            }
        };
        sweep.reengaged = match self.reengage(link_base).await {
            Ok(texted) => texted,
            Err(err) => {
                tracing::warn!(error = ?err, "re-engagement failed; the next run retries");
                0
            }
        };
        Ok(sweep)
    }

    async fn sweep_message(
        &self,
        message: Message,
        now: DateTime<Utc>,
        sweep: &mut Sweep,
    ) -> Result<()> {
        let Some(business) = self.business(&message.business_id).await? else {
            return Ok(());
        };
        let settings = &business.settings;
        let Some(phone) = message.to.clone() else {
            self.ports
                .outbox
                .reschedule(&message, &message.clone().suppressed(Reason::NoPhone))
                .await?;
            sweep.suppressed += 1;
            return Ok(());
        };
        if !settings.sms.enabled {
            self.ports
                .outbox
                .reschedule(&message, &message.clone().suppressed(Reason::SmsDisabled))
                .await?;
            sweep.suppressed += 1;
            return Ok(());
        }
        let quiet = QuietHours::of(settings);
        if message.purpose != Purpose::Help && quiet.is_quiet(now) {
            let mut later = message.clone();
            later.status = Status::Deferred;
            later.reason = Some(Reason::QuietHours);
            later.due_at = Some(quiet.next_open(now));
            self.ports.outbox.reschedule(&message, &later).await?;
            sweep.deferred += 1;
            return Ok(());
        }
        let guard = (message.purpose != Purpose::Help).then(|| SendGuard {
            message_id: message.message_id.clone(),
            phone: phone.clone(),
            day: local_day(settings.time_zone, now),
            per_number: settings.sms.daily_cap_per_number,
            per_business: settings.sms.daily_cap_per_business,
            // A stuck queued text was counted when it was queued; a deferred one was not.
            counts: message.status != Status::Queued,
        });
        match self
            .ports
            .outbox
            .claim(&message, guard.as_ref(), now + STUCK_AFTER)
            .await?
        {
            Ok(()) => {}
            Err(Refusal::OptedOut { .. }) => {
                self.ports
                    .outbox
                    .reschedule(&message, &message.clone().suppressed(Reason::OptedOut))
                    .await?;
                sweep.suppressed += 1;
                return Ok(());
            }
            Err(Refusal::Capped { reason, .. }) => {
                self.ports
                    .outbox
                    .reschedule(
                        &message,
                        &crate::rules::sending::capped(message.clone(), reason, settings, now),
                    )
                    .await?;
                sweep.deferred += 1;
                return Ok(());
            }
            // Someone else took it, or it changed: leave it.
            Err(_) => return Ok(()),
        }
        let mut claimed = message.clone();
        claimed.status = Status::Queued;
        let plan = Plan {
            messages: vec![claimed],
            ..Plan::default()
        };
        match self
            .dispatch(&business, &plan)
            .await
            .first()
            .map(|o| &o.result)
        {
            Some(SendResult::Sent { .. }) => sweep.sent += 1,
            Some(SendResult::Closed {
                status: Status::Suppressed,
                ..
            }) => sweep.suppressed += 1,
            Some(SendResult::Closed { .. }) => sweep.failed += 1,
            None => sweep.failed += 1,
        }
        Ok(())
    }

    /// The scheduler's part in rewards: issues held rewards whose hold ended, and hands the
    /// issuer any qualified referral still without a reward after [`AWAIT_GRACE`] (an event the
    /// bus never delivered, or one that failed past its retries). Failures are logged and left
    /// for the next run. Returns how many were looked at.
    async fn settle_rewards(&self, link_base: &str) -> u32 {
        let now = self.now();
        let mut looked_at = 0;
        match self.ports.rewards.due_rewards(now, 100).await {
            Ok(due) => {
                let mut orders = 0;
                let started = std::time::Instant::now();
                for (business_id, reward) in due {
                    looked_at += 1;
                    if reward.order.is_some() {
                        // Each is a call to the provider (up to its timeout): a few a run, the
                        // rest stay due for the next.
                        orders += 1;
                        if orders > GIFT_CARDS_PER_SWEEP || started.elapsed() > GIFT_CARD_BUDGET {
                            continue;
                        }
                        if let Err(err) = self
                            .follow_gift_card(&business_id, &reward.reward_id, link_base)
                            .await
                        {
                            tracing::warn!(reward_id = %reward.reward_id, error = %err, "following a gift card order failed; the next run retries");
                        }
                        continue;
                    }
                    let command = Command::Reward {
                        customer_id: reward.lead_customer_id.clone(),
                        action: RewardAction::Release {
                            reward_id: reward.reward_id.clone(),
                        },
                        referrer: Some(reward.customer_id.clone()),
                    };
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
}
