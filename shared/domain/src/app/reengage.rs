//! Re-engagement: the scheduler texts participants who have had no referral activity for
//! `reengage_after_days` — since the later of their enrolment, the last friend attributed to
//! them and their last re-engagement — once per such period, at most `reengage_per_day` a day
//! per business (the rest wait for the next day's window), never to a number that opted out or
//! never consented (the text is kept, suppressed, with its reason). Due participants come from a
//! due-date index, never a scan.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::Vouch;
use crate::decide::{CounterBump, LoadKeys, Plan, Refusal};
use crate::model::business::Business;
use crate::model::lead::CounterKey;
use crate::model::message::{Draft, Purpose, Reason, Status};
use crate::model::participant::ReengageDue;
use crate::ports::SendResult;
use crate::rules::reward_terms::terms_for;
use crate::rules::sending::{self, QuietHours, SendGuard};
use crate::values::error::Result;
use crate::values::ids::BusinessId;
use crate::values::local_day;

/// How many due participants one scheduler run looks at.
const BATCH: u32 = 100;

/// What the scheduler did with one due participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reengaged {
    /// Texted (or the text queued for the end of quiet hours).
    Texted,
    /// Not texted, with the reason kept on the message (opted out, no consent, no phone,
    /// texts off); the next period starts anyway.
    Suppressed,
    /// Not due after all (the setting changed): moved to when it is.
    Moved,
    /// The business's day is full: moved to the next day's window.
    Tomorrow,
    /// Something changed meanwhile, or the participant is gone: left for the next run.
    Skipped,
}

impl Vouch {
    /// Texts the participants due a re-engagement now; returns how many were texted.
    pub(super) async fn reengage(&self, link_base: &str) -> Result<u32> {
        let now = self.now();
        let mut texted = 0;
        for (business_id, due) in self
            .ports
            .participants
            .due_reengagements(now, BATCH)
            .await?
        {
            match self.reengage_one(&business_id, &due, now, link_base).await {
                Ok(Reengaged::Texted) => texted += 1,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(%business_id, customer_id = %due.customer_id, error = %err,
                        "a re-engagement failed; the next run retries");
                }
            }
        }
        Ok(texted)
    }

    async fn reengage_one(
        &self,
        business_id: &BusinessId,
        due: &ReengageDue,
        now: DateTime<Utc>,
        link_base: &str,
    ) -> Result<Reengaged> {
        let Some(business) = self.business(business_id).await? else {
            return Ok(Reengaged::Skipped);
        };
        let settings = &business.settings;
        let moved = |due_at| Plan {
            reengage: vec![ReengageDue {
                due_at,
                ..due.clone()
            }],
            ..Plan::default()
        };
        // The setting may have changed since the date was set: go by today's.
        let expected = ReengageDue::after(due.customer_id.clone(), due.since, settings);
        if expected.due_at > now {
            self.commit_quietly(business_id, &moved(expected.due_at))
                .await?;
            return Ok(Reengaged::Moved);
        }
        let day = local_day(settings.time_zone, now);
        let counter = CounterKey::Reengagements { day };
        let snapshot = self
            .ports
            .program
            .load(
                business_id,
                &LoadKeys {
                    participant: true,
                    counters: vec![counter.clone()],
                    ..LoadKeys::contact(due.customer_id.clone())
                },
            )
            .await?;
        let (Some(participant), Some(contact)) = (snapshot.participant, snapshot.contact) else {
            return Ok(Reengaged::Skipped);
        };
        let sent_today = snapshot.counters.get(&counter).copied().unwrap_or(0);
        let tomorrow = QuietHours::of(settings).next_day_open(now);
        if sent_today >= settings.reengage_per_day {
            self.commit_quietly(business_id, &moved(tomorrow)).await?;
            return Ok(Reengaged::Tomorrow);
        }
        let closed = participant.stats.closed.saturating_add(1);
        let next = terms_for(
            settings,
            u32::try_from(closed).unwrap_or(u32::MAX),
            participant.reward_override.as_ref(),
            closed,
        );
        let vars = BTreeMap::from([
            ("first_name", participant.first_name.as_str().to_owned()),
            ("business_name", settings.name.clone()),
            ("reward", next.text(&settings.currency)),
            ("link", format!("{link_base}/r/{}", participant.code)),
            ("code", participant.code.to_string()),
            (
                "status_link",
                self.status_url(&business, &participant.customer_id, link_base),
            ),
            (
                "promotion",
                settings
                    .promotion_at(now)
                    .map(|p| format!(" {}", p.text(&settings.currency)))
                    .unwrap_or_default(),
            ),
        ]);
        let message = sending::compose(
            Draft {
                business_id: business_id.clone(),
                customer_id: Some(participant.customer_id.clone()),
                to: contact.phone.clone().or(participant.phone.clone()),
                consent: contact.sms_consent,
                purpose: Purpose::Reengagement,
                // One per period: the period is named by when it started.
                subject: format!("{}#{}", participant.customer_id, due.since.to_rfc3339()),
                vars,
                segment: contact.segment.clone(),
            },
            settings,
            now,
        );
        let mut plan = Plan {
            messages: vec![message],
            reengage: vec![ReengageDue::after(
                participant.customer_id.clone(),
                now,
                settings,
            )],
            ..Plan::default()
        };
        // A text that will go counts against the day; one suppressed does not.
        for _ in 0..3 {
            self.guard(&business, &mut plan, &counter, sent_today, now);
            match self.ports.program.commit(business_id, &plan).await? {
                Ok(()) => {
                    return Ok(self.dispatched(&business, &plan).await);
                }
                Err(Refusal::OptedOut { .. }) => {
                    plan.messages[0] = plan.messages[0].clone().suppressed(Reason::OptedOut);
                }
                Err(Refusal::Capped { reason, .. }) => {
                    plan.messages[0] =
                        sending::capped(plan.messages[0].clone(), reason, settings, now);
                }
                Err(Refusal::RateLimited { .. }) => {
                    self.commit_quietly(business_id, &moved(tomorrow)).await?;
                    return Ok(Reengaged::Tomorrow);
                }
                // Already texted for this period, or something moved: the next run looks again.
                Err(_) => return Ok(Reengaged::Skipped),
            }
        }
        Ok(Reengaged::Skipped)
    }

    /// The caps and opt-out guard of `plan`'s text, and its place in the day's count, as the
    /// text now stands.
    fn guard(
        &self,
        business: &Business,
        plan: &mut Plan,
        counter: &CounterKey,
        sent_today: u32,
        now: DateTime<Utc>,
    ) {
        let settings = &business.settings;
        let message = &plan.messages[0];
        plan.sends.clear();
        plan.counters.clear();
        if let (true, Some(phone)) = (sending::counts_against_caps(message), &message.to) {
            plan.sends
                .push(SendGuard::new(message, phone, settings, now, true));
        }
        if matches!(message.status, Status::Queued | Status::Deferred) {
            plan.counters.push(CounterBump {
                key: counter.clone(),
                seen: sent_today,
                limit: settings.reengage_per_day,
                retry_after_secs: 0,
                expires_at: now + Duration::days(2),
            });
        }
    }

    /// Sends `plan`'s text if it is to go now; what became of the participant.
    async fn dispatched(&self, business: &Business, plan: &Plan) -> Reengaged {
        match plan.messages[0].status {
            Status::Suppressed => Reengaged::Suppressed,
            Status::Queued => {
                let sent = self.dispatch(business, plan).await;
                match sent.first().map(|o| &o.result) {
                    Some(SendResult::Closed {
                        status: Status::Suppressed,
                        ..
                    }) => Reengaged::Suppressed,
                    _ => Reengaged::Texted,
                }
            }
            _ => Reengaged::Texted,
        }
    }

    /// Commits a plan that only moves due dates; a refusal leaves it for the next run.
    async fn commit_quietly(&self, business_id: &BusinessId, plan: &Plan) -> Result<()> {
        if let Err(refusal) = self.ports.program.commit(business_id, plan).await? {
            tracing::debug!(?refusal, "moving a re-engagement date was refused");
        }
        Ok(())
    }
}
