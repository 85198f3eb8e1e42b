//! Deciding rewards: creating the referrer's reward once a referral qualified, issuing it when
//! approved and out of its hold, staff's moves, and what a reversal does to it.
//!
//! The ledger holds *available* service credit: a credit when a reward is issued, a debit when
//! it is redeemed (applied to an invoice), a reversal when an issued one is taken back. The
//! yearly cap counts rewards when they are issued, so voided ones never use it up.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration};
use serde_json::json;

use super::plan::{Context, IssueDue, Plan, Rejection, Snapshot, YearBump};
use super::referral::{add_stats, referrer_message};
use crate::model::contact::Contact;
use crate::model::events::{DomainEvent, REWARD_ISSUED, REWARD_REDEEMED, REWARD_REVERSED};
use crate::model::message::Purpose;
use crate::model::participant::Participant;
use crate::model::referral::{Referral, Status as RefStatus};
use crate::model::reward::{
    GiftCardOrder, LedgerEntry, OrderOutcome, OrderState, Recipient, Reward, RewardStatus,
    discount_code,
};
use crate::model::settings::RewardType;
use crate::rules::reward_terms::{initial_status, promoted, terms_for};

/// What moves a reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardAction {
    /// The issuer, on `referral.qualified`: create the referral's reward once.
    Issue { referral_id: String },
    /// The scheduler: the hold of this reward ended.
    Release { reward_id: String },
    /// The scheduler asked the gift-card provider about the reward's order: what it said.
    Order {
        reward_id: String,
        /// The order asked about (its idempotency key): an answer about an earlier order,
        /// applied late, changes nothing.
        external_id: String,
        outcome: OrderOutcome,
    },
    /// Staff move a reward along its state machine.
    Move {
        reward_id: String,
        to: RewardStatus,
        note: Option<String>,
        /// Who moved it, for the audit: "Olivia (owner)", "admin key".
        by: String,
    },
}

/// Who a reward concerns, as read.
struct Parties<'a> {
    referrer: Option<&'a Contact>,
    participant: Option<&'a Participant>,
    link: Option<String>,
}

/// Moves `reward` to `to`: totals, ledger, the yearly count, events and the hold's due item
/// follow.
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
        if to == RewardStatus::Issued
            && !from.is_paid()
            && ctx.settings.max_rewards_per_year.is_some()
        {
            let year = ctx.now.with_timezone(&ctx.settings.time_zone.tz()).year();
            add_stats(plan, &reward.customer_id, 0, 0, 0, 0);
            if let Some(delta) = plan
                .stats
                .iter_mut()
                .find(|d| d.customer_id == reward.customer_id)
            {
                // `was` is filled from what was read when the plan is finished.
                delta.year = Some(YearBump {
                    year,
                    was: (None, 0),
                });
            }
        }
        if reward.kind == RewardType::ServiceCredit {
            let entry = |suffix: &str, amount: i64| LedgerEntry {
                entry_id: format!("{}#{suffix}", reward.reward_id),
                customer_id: reward.customer_id.clone(),
                reward_id: reward.reward_id.clone(),
                amount_cents: amount,
                at: ctx.now,
            };
            match (from, to) {
                (f, RewardStatus::Issued) if !f.is_paid() => {
                    plan.ledger.push(entry("credit", cents))
                }
                (RewardStatus::Issued, RewardStatus::Redeemed) => {
                    plan.ledger.push(entry("redeemed", -cents));
                }
                (RewardStatus::Issued, RewardStatus::Reversed) => {
                    plan.ledger.push(entry("reversal", -cents));
                }
                // A redeemed credit was already used: nothing left to take back (flagged).
                _ => {}
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

/// Whether the referrer already had `max_rewards_per_year` rewards issued this year.
fn capped(participant: Option<&Participant>, ctx: &Context<'_>) -> bool {
    let Some(max) = ctx.settings.max_rewards_per_year else {
        return false;
    };
    let year = ctx.now.with_timezone(&ctx.settings.time_zone.tz()).year();
    let this_year = participant.map_or(0, |p| match p.stats.rewarded_year {
        Some(y) if y == year => p.stats.rewarded_in_year,
        _ => 0,
    });
    this_year >= max
}

/// Issues an approved referrer reward that is out of its hold and fulfils itself.
fn try_issue(
    plan: &mut Plan,
    referral: &mut Referral,
    parties: &Parties<'_>,
    referee_given: &mut bool,
    ctx: &Context<'_>,
) {
    let Some(reward) = referral.reward.as_ref() else {
        return;
    };
    if reward.status != RewardStatus::Approved || reward.release_at.is_some_and(|at| at > ctx.now) {
        return;
    }
    let ordered = reward.kind == RewardType::GiftCard
        && reward.recipient == Recipient::Referrer
        && ctx.settings.integrations.gift_cards.is_some();
    if reward.fulfils_itself() || (ordered && capped(parties.participant, ctx)) {
        // (A capped gift card is canceled, never ordered.)
        issue(plan, referral, parties, referee_given, "rules", None, ctx);
    } else if ordered && reward.order.is_none() {
        // The scheduler orders it from the provider (the reward stays approved until the
        // provider delivers it).
        if let Some(mut reward) = referral.reward.take() {
            reward.order = Some(GiftCardOrder::new(ctx.now));
            keep_order(plan, &reward);
            referral.reward = Some(reward);
        }
    }
}

/// Writes a reward whose gift-card order changed, and keeps it on the scheduler's list.
fn keep_order(plan: &mut Plan, reward: &Reward) {
    plan.reward_due.retain(|r| r.reward_id != reward.reward_id);
    plan.reward_due.push(reward.clone());
    plan.rewards.retain(|r| r.reward_id != reward.reward_id);
    plan.rewards.push(reward.clone());
}

/// How long the scheduler first waits before asking again about an order not delivered yet.
pub const FOLLOW_ORDER: Duration = Duration::minutes(2);

/// How long it waits after `follows` answers in a row that the order is on its way: 2 minutes,
/// doubling, at most an hour (an order waiting for approval in the account may wait days).
pub fn follow_after(follows: u32) -> Duration {
    let minutes = 2_i64.saturating_mul(1 << follows.saturating_sub(1).min(6));
    Duration::minutes(minutes.min(60))
}

/// How long the scheduler waits after `failures` failed attempts in a row: 5 minutes, doubling,
/// at most 6 hours.
pub fn order_retry(failures: u32) -> Duration {
    let minutes = 5_i64.saturating_mul(1 << failures.saturating_sub(1).min(7));
    Duration::minutes(minutes.min(6 * 60))
}

/// Applies what the provider said about a reward's order.
fn follow_order(
    plan: &mut Plan,
    referral: &mut Referral,
    parties: &Parties<'_>,
    referee_given: &mut bool,
    outcome: &OrderOutcome,
    ctx: &Context<'_>,
) {
    let Some(mut reward) = referral.reward.take() else {
        return;
    };
    let Some(order) = reward.order.as_mut() else {
        referral.reward = Some(reward);
        return;
    };
    order.at = ctx.now;
    match outcome {
        OrderOutcome::Delivered { order_id } => {
            order.state = OrderState::Delivered;
            order.order_id = Some(order_id.clone());
            order.reason = None;
            let note = Some(format!("gift card order {order_id} delivered"));
            let by = ctx
                .settings
                .integrations
                .gift_cards
                .as_ref()
                .map_or("provider", |p| p.provider.as_str());
            referral.reward = Some(reward);
            // Delivered is paid for: the yearly cap was checked before ordering.
            deliver(plan, referral, parties, referee_given, by, note, ctx);
            return;
        }
        OrderOutcome::Ordered { order_id } => {
            order.state = OrderState::Ordered;
            order.order_id = Some(order_id.clone());
            order.reason = None;
            order.failures = 0;
            order.follows = order.follows.saturating_add(1);
            order.next_at = ctx.now + follow_after(order.follows);
        }
        OrderOutcome::Failed {
            order_id,
            reason,
            final_order,
        } => {
            order.state = OrderState::Failed;
            order.reason = Some(reason.chars().take(300).collect());
            order.failures = order.failures.saturating_add(1);
            order.follows = 0;
            if *final_order {
                order.failed_orders = order.failed_orders.saturating_add(1);
                order.order_id = None;
            } else if order_id.is_some() {
                order.order_id.clone_from(order_id);
            }
            order.next_at = ctx.now + order_retry(order.failures);
        }
    }
    keep_order(plan, &reward);
    referral.reward = Some(reward);
}

/// Issues the referral's reward now — unless the yearly cap is reached (then it is canceled) —
/// thanks the referrer, marks the referral rewarded and gives the friend their reward.
fn issue(
    plan: &mut Plan,
    referral: &mut Referral,
    parties: &Parties<'_>,
    referee_given: &mut bool,
    by: &str,
    note: Option<String>,
    ctx: &Context<'_>,
) {
    if !capped(parties.participant, ctx) {
        deliver(plan, referral, parties, referee_given, by, note, ctx);
        return;
    }
    let Some(mut reward) = referral.reward.take() else {
        return;
    };
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
    referral.reward = Some(reward);
}

/// Issues the referral's reward now, thanks the referrer, marks the referral rewarded and
/// gives the friend their reward.
fn deliver(
    plan: &mut Plan,
    referral: &mut Referral,
    parties: &Parties<'_>,
    referee_given: &mut bool,
    by: &str,
    note: Option<String>,
    ctx: &Context<'_>,
) {
    let Some(mut reward) = referral.reward.take() else {
        return;
    };
    move_reward(plan, &mut reward, RewardStatus::Issued, by, note, ctx);
    if referral.status == RefStatus::Qualified {
        referral.decide(RefStatus::Rewarded, "reward issued", ctx.now);
    }
    if let Some(referrer) = parties.referrer {
        let mut vars = BTreeMap::from([("reward", reward.text(&ctx.settings.currency))]);
        if let Some(link) = &parties.link {
            vars.insert("link", link.clone());
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
    referral.reward = Some(reward);
    referee_reward(plan, referral, referee_given, ctx);
}

/// What a reversed referral does to its rewards (the referrer's and the friend's): open ones
/// are canceled, issued ones reversed, redeemed ones reversed and flagged for staff (the credit
/// may already be spent).
pub(super) fn reverse(plan: &mut Plan, referral: &mut Referral, reason: &str, ctx: &Context<'_>) {
    for slot in [&mut referral.reward, &mut referral.referee_reward] {
        let Some(mut reward) = slot.take() else {
            continue;
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
        *slot = Some(reward);
    }
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
    let mut referee_given = contact.referee_rewarded;
    let result = act_on(
        plan,
        &mut referral,
        action,
        snapshot,
        &mut referee_given,
        ctx,
    );
    contact.referee_rewarded = referee_given;
    contact.referral = Some(referral);
    result
}

fn act_on(
    plan: &mut Plan,
    referral: &mut Referral,
    action: &RewardAction,
    snapshot: &Snapshot,
    referee_given: &mut bool,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    let referrer_id = referral.referrer_id().cloned();
    let participant = referrer_id
        .as_ref()
        .and_then(|id| snapshot.participants.get(id));
    let parties = Parties {
        referrer: snapshot
            .referrer
            .as_ref()
            .filter(|c| Some(&c.customer_id) == referrer_id.as_ref()),
        participant,
        link: participant.map(|p| format!("{}/r/{}", ctx.link_base, p.code)),
    };
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
            let offer = promoted(
                terms_for(
                    ctx.settings,
                    ordinal,
                    participant.reward_override.as_ref(),
                    participant.stats.closed,
                ),
                ctx.settings,
                ctx.now,
            );
            let hold = i64::from(ctx.settings.hold_days);
            let mut reward = Reward {
                reward_id: referral.referral_id.clone(),
                referral_id: referral.referral_id.clone(),
                customer_id: referrer_id,
                lead_customer_id: referral.lead.customer_id.clone(),
                recipient: Recipient::Referrer,
                kind: offer.kind,
                amount_cents: offer.amount_cents,
                percent: offer.percent,
                code: (offer.kind == RewardType::Discount).then(|| discount_code(&mut rand::rng())),
                description: offer.description,
                ordinal,
                tier: offer.tier,
                // Created as nothing (neither open nor paid), then moved to where it starts.
                status: RewardStatus::Canceled,
                created_at: ctx.now,
                issued_at: None,
                release_at: (hold > 0)
                    .then(|| referral.qualified_at.unwrap_or(ctx.now) + Duration::days(hold)),
                flags: [
                    offer.overridden.then_some("override"),
                    offer.vip_extra.map(|_| "vip"),
                    offer.promotion.as_ref().map(|_| "promotion"),
                ]
                .into_iter()
                .flatten()
                .map(str::to_owned)
                .collect(),
                audit: Vec::new(),
                order: None,
            };
            move_reward(
                plan,
                &mut reward,
                initial_status(ctx.settings),
                "rules",
                None,
                ctx,
            );
            if let Some(code) = &reward.code {
                plan.discount_codes.push(code.clone());
            }
            referral.reward = Some(reward);
            plan.issue_done.push(referral.referral_id.clone());
            try_issue(plan, referral, &parties, referee_given, ctx);
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
            try_issue(plan, referral, &parties, referee_given, ctx);
            if referral
                .reward
                .as_ref()
                .is_some_and(|r| r.status == RewardStatus::Approved && r.order.is_none())
            {
                // Waits for staff (gift card, custom): off the scheduler's list.
                plan.reward_done.push(reward_id.clone());
            }
        }
        RewardAction::Order {
            reward_id,
            external_id,
            outcome,
        } => {
            let current = referral
                .reward
                .as_ref()
                .filter(|r| r.reward_id == *reward_id);
            let open = current.is_some_and(|r| {
                r.status == RewardStatus::Approved
                    && r.order
                        .as_ref()
                        .is_some_and(|o| o.state != OrderState::Delivered)
            });
            if !open {
                // Canceled or issued by staff meanwhile: off the scheduler's list.
                plan.reward_done.push(reward_id.clone());
                return Ok(());
            }
            let same_order = current
                .and_then(|r| r.order.as_ref())
                .is_some_and(|o| o.external_id(reward_id) == *external_id);
            if !same_order {
                return Err(Rejection::Unchanged);
            }
            follow_order(plan, referral, &parties, referee_given, outcome, ctx);
        }
        RewardAction::Move {
            reward_id,
            to,
            note,
            by,
        } => {
            let referee = referral
                .referee_reward
                .as_ref()
                .is_some_and(|r| r.reward_id == *reward_id);
            let current = if referee {
                referral.referee_reward.as_ref()
            } else {
                referral.reward.as_ref()
            };
            let Some(from) = current
                .filter(|r| r.reward_id == *reward_id)
                .map(|r| r.status)
            else {
                return Err(Rejection::Conflict(
                    "not_current",
                    "the reward no longer belongs to the referral".into(),
                ));
            };
            if !from.staff_may_move_to(*to) {
                return Err(Rejection::Conflict(
                    "invalid_transition",
                    format!("a {} reward cannot become {}", from.as_str(), to.as_str()),
                ));
            }
            if referee {
                if let Some(mut reward) = referral.referee_reward.take() {
                    move_reward(plan, &mut reward, *to, by, note.clone(), ctx);
                    referral.referee_reward = Some(reward);
                }
            } else if *to == RewardStatus::Issued {
                // Staff fulfilled it (a gift card bought, a custom reward given).
                issue(
                    plan,
                    referral,
                    &parties,
                    referee_given,
                    by,
                    note.clone(),
                    ctx,
                );
            } else if let Some(mut reward) = referral.reward.take() {
                move_reward(plan, &mut reward, *to, by, note.clone(), ctx);
                referral.reward = Some(reward);
                if *to == RewardStatus::Approved {
                    try_issue(plan, referral, &parties, referee_given, ctx);
                }
            }
        }
    }
    plan.referrals
        .retain(|r| r.referral_id != referral.referral_id);
    plan.referrals.push(referral.clone());
    Ok(())
}

/// The friend's own reward in a dual-sided program, issued with the referrer's for billing to
/// apply; at most once per person, whatever later happens to their attribution.
fn referee_reward(
    plan: &mut Plan,
    referral: &mut Referral,
    referee_given: &mut bool,
    ctx: &Context<'_>,
) {
    let (Some(offer), false) = (&ctx.settings.referee_reward, *referee_given) else {
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
        tier: None,
        status: RewardStatus::Canceled,
        created_at: ctx.now,
        issued_at: None,
        release_at: None,
        flags: Vec::new(),
        audit: Vec::new(),
        order: None,
    };
    move_reward(plan, &mut reward, RewardStatus::Issued, "rules", None, ctx);
    if let Some(code) = &reward.code {
        plan.discount_codes.push(code.clone());
    }
    referral.referee_reward = Some(reward);
    *referee_given = true;
}

/// The safety net for the issuer: a qualified referral waits here until its reward exists.
pub(super) fn awaiting_reward(plan: &mut Plan, referral: &Referral, ctx: &Context<'_>) {
    plan.issue_due.push(IssueDue {
        referral_id: referral.referral_id.clone(),
        lead_customer_id: referral.lead.customer_id.clone(),
        referrer_customer_id: referral.referrer_id().cloned(),
        at: ctx.now,
    });
}
