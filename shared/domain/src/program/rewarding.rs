//! Deciding rewards: creating the referrer's reward once a referral qualified, issuing it when
//! approved and out of its hold, staff's moves, and what a reversal does to it.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration};
use serde_json::json;

use super::{Context, Plan, Rejection, Snapshot, YearBump, add_stats, referrer_message};
use crate::events::{DomainEvent, REWARD_ISSUED, REWARD_REDEEMED, REWARD_REVERSED};
use crate::participant::Contact;
use crate::referral::{Referral, Status as RefStatus};
use crate::reward::{
    LedgerEntry, Recipient, Reward, RewardStatus, discount_code, initial_status, terms,
};
use crate::settings::RewardType;
use crate::sms::Purpose;

/// What moves a reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardAction {
    /// The issuer, on `referral.qualified`: create the referral's reward once.
    Issue { referral_id: String },
    /// The scheduler: the hold of this reward ended.
    Release { reward_id: String },
    /// Staff move a reward along its state machine.
    Move {
        reward_id: String,
        to: RewardStatus,
        note: Option<String>,
    },
}

/// Moves `reward` to `to`: totals, ledger, events and the hold's due item follow.
pub(super) fn move_reward(
    plan: &mut Plan,
    reward: &mut Reward,
    to: RewardStatus,
    by: &str,
    note: Option<String>,
    ctx: &Context<'_>,
) {
    let from = reward.status;
    reward.change(to, by, note, ctx.now);
    let cents = reward.cents();
    if reward.recipient == Recipient::Referrer {
        let earned = (i64::from(to.is_paid()) - i64::from(from.is_paid())) * cents;
        let pending = (i64::from(to.is_open()) - i64::from(from.is_open())) * cents;
        if earned != 0 || pending != 0 {
            add_stats(plan, &reward.customer_id, 0, 0, earned, pending);
        }
        if reward.kind == RewardType::ServiceCredit {
            let entry = |suffix: &str, amount: i64| LedgerEntry {
                entry_id: format!("{}#{suffix}", reward.reward_id),
                customer_id: reward.customer_id.clone(),
                reward_id: reward.reward_id.clone(),
                amount_cents: amount,
                at: ctx.now,
            };
            if to.is_paid() && !from.is_paid() {
                plan.ledger.push(entry("credit", cents));
            }
            if to == RewardStatus::Reversed && from.is_paid() {
                plan.ledger.push(entry("reversal", -cents));
            }
        }
    }
    let kind = match to {
        RewardStatus::Issued if !from.is_paid() => Some(REWARD_ISSUED),
        RewardStatus::Redeemed => Some(REWARD_REDEEMED),
        RewardStatus::Reversed if from.is_paid() => Some(REWARD_REVERSED),
        _ => None,
    };
    if let Some(kind) = kind {
        plan.events.push(DomainEvent::new(
            kind,
            ctx.business_id,
            ctx.now,
            json!({"reward_id": reward.reward_id, "referral_id": reward.referral_id,
                   "customer_id": reward.customer_id.as_str(), "recipient": reward.recipient,
                   "type": reward.kind, "amount_cents": reward.amount_cents.map(|m| m.cents()),
                   "percent": reward.percent, "code": reward.code, "description": reward.description,
                   "currency": ctx.settings.currency.as_str(), "ordinal": reward.ordinal}),
        ));
    }
    let held = to == RewardStatus::Approved && reward.release_at.is_some_and(|at| at > ctx.now);
    if held {
        plan.reward_due.push(reward.clone());
    } else if from == RewardStatus::Approved {
        plan.reward_done.push(reward.reward_id.clone());
    }
    plan.rewards.retain(|r| r.reward_id != reward.reward_id);
    plan.rewards.push(reward.clone());
}

/// Issues an approved referrer reward that is out of its hold and fulfils itself, thanking the
/// referrer; the referral becomes `rewarded`.
fn try_issue(
    plan: &mut Plan,
    referral: &mut Referral,
    referrer: Option<&Contact>,
    link: Option<String>,
    ctx: &Context<'_>,
) {
    let Some(mut reward) = referral.reward.take() else {
        return;
    };
    let ready = reward.status == RewardStatus::Approved
        && reward.release_at.is_none_or(|at| at <= ctx.now)
        && reward.fulfils_itself();
    if ready {
        move_reward(plan, &mut reward, RewardStatus::Issued, "rules", None, ctx);
        issued(plan, referral, &reward, referrer, link, ctx);
    }
    referral.reward = Some(reward);
}

/// After a referrer reward is issued: the thanks and the referral's status.
fn issued(
    plan: &mut Plan,
    referral: &mut Referral,
    reward: &Reward,
    referrer: Option<&Contact>,
    link: Option<String>,
    ctx: &Context<'_>,
) {
    if referral.status == RefStatus::Qualified {
        referral.decide(RefStatus::Rewarded, "reward issued", ctx.now);
    }
    if let Some(referrer) = referrer {
        let mut vars = BTreeMap::from([("reward", reward.text(ctx.settings))]);
        if let Some(link) = link {
            vars.insert("link", link);
        }
        for purpose in [Purpose::Reward, Purpose::ThankYou] {
            plan.messages.push(referrer_message(
                referrer,
                referral,
                purpose,
                reward.reward_id.clone(),
                &vars,
                ctx,
            ));
        }
    }
}

/// What a reversed referral does to its reward: open ones are canceled, paid ones reversed
/// (a redeemed one is flagged for staff: the credit may already be spent).
pub(super) fn reverse(plan: &mut Plan, referral: &mut Referral, reason: &str, ctx: &Context<'_>) {
    let Some(mut reward) = referral.reward.take() else {
        return;
    };
    let note = Some(reason.to_owned());
    match reward.status {
        RewardStatus::Pending | RewardStatus::Approved => {
            move_reward(
                plan,
                &mut reward,
                RewardStatus::Canceled,
                "rules",
                note,
                ctx,
            );
        }
        RewardStatus::Issued => {
            move_reward(
                plan,
                &mut reward,
                RewardStatus::Reversed,
                "rules",
                note,
                ctx,
            );
        }
        RewardStatus::Redeemed => {
            reward.flags.push("redeemed_before_reversal".into());
            move_reward(
                plan,
                &mut reward,
                RewardStatus::Reversed,
                "rules",
                note,
                ctx,
            );
        }
        RewardStatus::Canceled | RewardStatus::Reversed => {}
    }
    referral.reward = Some(reward);
}

/// Decides a reward action on the contact's referral.
pub(super) fn act(
    plan: &mut Plan,
    contact: &mut Contact,
    action: &RewardAction,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    let Some(mut referral) = contact.referral.take() else {
        return Err(Rejection::Unchanged);
    };
    let result = act_on(plan, &mut referral, action, snapshot, ctx);
    contact.referral = Some(referral);
    result
}

fn act_on(
    plan: &mut Plan,
    referral: &mut Referral,
    action: &RewardAction,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    let referrer_id = referral.referrer_id().cloned();
    let participant = referrer_id
        .as_ref()
        .and_then(|id| snapshot.participants.get(id));
    let referrer = snapshot
        .referrer
        .as_ref()
        .filter(|c| Some(&c.customer_id) == referrer_id.as_ref());
    let link = participant.map(|p| format!("{}/r/{}", ctx.link_base, p.code));
    match action {
        RewardAction::Issue { referral_id } => {
            if referral.referral_id != *referral_id
                || referral.status != RefStatus::Qualified
                || referral.reward.is_some()
            {
                return Err(Rejection::Unchanged);
            }
            let (Some(referrer_id), Some(participant)) = (referrer_id, participant) else {
                tracing::warn!(
                    referral_id,
                    "a qualified referral without a participant to pay"
                );
                return Err(Rejection::Unchanged);
            };
            let ordinal = referral
                .ordinal
                .unwrap_or_else(|| u32::try_from(participant.stats.closed.max(1)).unwrap_or(1));
            let own = participant.reward_override.as_ref();
            let offer = terms(ctx.settings, ordinal, own);
            let year = ctx.now.with_timezone(&ctx.settings.time_zone.tz()).year();
            let bump = YearBump {
                year,
                was: (
                    participant.stats.rewarded_year,
                    participant.stats.rewarded_in_year,
                ),
            };
            let capped = ctx
                .settings
                .max_rewards_per_year
                .is_some_and(|max| bump.count() > max);
            let hold = i64::from(ctx.settings.hold_days);
            let mut reward = Reward {
                reward_id: referral.referral_id.clone(),
                referral_id: referral.referral_id.clone(),
                customer_id: referrer_id.clone(),
                lead_customer_id: referral.lead.customer_id.clone(),
                recipient: Recipient::Referrer,
                kind: offer.kind,
                amount_cents: offer.amount_cents,
                percent: offer.percent,
                code: (offer.kind == RewardType::Discount).then(|| discount_code(&mut rand::rng())),
                description: offer.description,
                ordinal,
                // Created as nothing (neither open nor paid), then moved to where it starts.
                status: RewardStatus::Canceled,
                created_at: ctx.now,
                issued_at: None,
                release_at: (hold > 0)
                    .then(|| referral.qualified_at.unwrap_or(ctx.now) + Duration::days(hold)),
                flags: if offer.overridden {
                    vec!["override".into()]
                } else {
                    Vec::new()
                },
                audit: Vec::new(),
            };
            if capped {
                reward.flags.push("yearly_cap".into());
                let note = Some("max_rewards_per_year reached".to_owned());
                move_reward(
                    plan,
                    &mut reward,
                    RewardStatus::Canceled,
                    "rules",
                    note,
                    ctx,
                );
            } else {
                let start = initial_status(ctx.settings);
                move_reward(plan, &mut reward, start, "rules", None, ctx);
                if let Some(delta) = plan.stats.iter_mut().find(|d| d.customer_id == referrer_id) {
                    delta.year = Some(bump);
                } else {
                    add_stats(plan, &referrer_id, 0, 0, 0, 0);
                    if let Some(delta) = plan.stats.last_mut() {
                        delta.year = Some(bump);
                    }
                }
            }
            if let Some(code) = &reward.code {
                plan.discount_codes.push(code.clone());
            }
            referral.reward = Some(reward);
            if !capped {
                referee_reward(plan, referral, ctx);
            }
            try_issue(plan, referral, referrer, link, ctx);
        }
        RewardAction::Release { reward_id } => {
            let due = referral.reward.as_ref().is_some_and(|r| {
                r.reward_id == *reward_id
                    && r.status == RewardStatus::Approved
                    && r.release_at.is_none_or(|at| at <= ctx.now)
            });
            if !due {
                // Canceled or issued meanwhile: the due item is done with.
                plan.reward_done.push(reward_id.clone());
                return Ok(());
            }
            try_issue(plan, referral, referrer, link, ctx);
            if referral
                .reward
                .as_ref()
                .is_some_and(|r| r.status == RewardStatus::Approved)
            {
                // Waits for staff (gift card, custom): off the scheduler's list.
                plan.reward_done.push(reward_id.clone());
            }
        }
        RewardAction::Move {
            reward_id,
            to,
            note,
        } => {
            let referee = referral
                .referee_reward
                .as_ref()
                .is_some_and(|r| r.reward_id == *reward_id);
            let slot = if referee {
                &mut referral.referee_reward
            } else {
                &mut referral.reward
            };
            let Some(mut reward) = slot.take().filter(|r| r.reward_id == *reward_id) else {
                return Err(Rejection::Conflict(
                    "not_current",
                    "the reward no longer belongs to the referral".into(),
                ));
            };
            if !reward.status.staff_may_move_to(*to) {
                let message = format!(
                    "a {} reward cannot become {}",
                    reward.status.as_str(),
                    to.as_str()
                );
                *slot = Some(reward);
                return Err(Rejection::Conflict("invalid_transition", message));
            }
            move_reward(plan, &mut reward, *to, "staff", note.clone(), ctx);
            let staff_issued = *to == RewardStatus::Issued && !referee;
            if referee {
                referral.referee_reward = Some(reward);
            } else if staff_issued {
                issued(plan, referral, &reward, referrer, link, ctx);
                referral.reward = Some(reward);
            } else {
                referral.reward = Some(reward);
                if *to == RewardStatus::Approved {
                    try_issue(plan, referral, referrer, link, ctx);
                }
            }
        }
    }
    plan.referrals
        .retain(|r| r.referral_id != referral.referral_id);
    plan.referrals.push(referral.clone());
    Ok(())
}

/// The friend's own reward in a dual-sided program: issued at once, for billing to apply.
fn referee_reward(plan: &mut Plan, referral: &mut Referral, ctx: &Context<'_>) {
    let (Some(offer), None) = (&ctx.settings.referee_reward, &referral.referee_reward) else {
        return;
    };
    let mut reward = Reward {
        reward_id: ulid::Ulid::new().to_string(),
        referral_id: referral.referral_id.clone(),
        customer_id: referral.lead.customer_id.clone(),
        lead_customer_id: referral.lead.customer_id.clone(),
        recipient: Recipient::Referee,
        kind: offer.kind,
        amount_cents: offer.amount_cents,
        percent: offer.percent,
        code: (offer.kind == RewardType::Discount).then(|| discount_code(&mut rand::rng())),
        description: offer.description.clone(),
        ordinal: 0,
        status: RewardStatus::Canceled,
        created_at: ctx.now,
        issued_at: None,
        release_at: None,
        flags: Vec::new(),
        audit: Vec::new(),
    };
    move_reward(plan, &mut reward, RewardStatus::Issued, "rules", None, ctx);
    if let Some(code) = &reward.code {
        plan.discount_codes.push(code.clone());
    }
    referral.referee_reward = Some(reward);
}
