//! A referral's moves: totals, events and the referrer's texts that follow each.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::contact::Contact;
use crate::model::events::{DomainEvent, LEAD_ATTRIBUTED, REFERRAL_QUALIFIED, REFERRAL_REVERSED};
use crate::model::message::{Draft, Message, Purpose};
use crate::model::referral::{Flag, Person, Referral, Status as RefStatus};
use crate::values::ids::CustomerId;
use crate::values::money::Money;

use super::plan::{Context, Plan, StatsDelta};

/// Moves `referral` to `to` for `reason`: totals, events and the acknowledgment follow.
pub(super) fn transition(
    plan: &mut Plan,
    referral: &mut Referral,
    to: RefStatus,
    reason: &str,
    referrer: Option<&Contact>,
    ctx: &Context<'_>,
) {
    let from = (referral.history.last().is_some()).then_some(referral.status);
    referral.decide(to, reason, ctx.now);
    let accepted = |s: Option<RefStatus>| i64::from(s.is_some_and(RefStatus::is_accepted));
    let closed = |s: Option<RefStatus>| i64::from(s.is_some_and(RefStatus::is_closed));
    if let Some(referrer_id) = referral.referrer_id().cloned() {
        let referrals = accepted(Some(to)) - accepted(from);
        let closed = closed(Some(to)) - closed(from);
        if referrals != 0 || closed != 0 {
            add_stats(plan, &referrer_id, referrals, closed, 0, 0);
        }
    }
    if to == RefStatus::Reversed {
        super::reward::reverse(plan, referral, reason, ctx);
    }
    let ids = json!({
        "referral_id": referral.referral_id,
        "lead_customer_id": referral.lead.customer_id.as_str(),
        "referrer_customer_id": referral.referrer_id().map(CustomerId::as_str),
        "source": referral.source.as_str(),
    });
    let event = |kind: &str, extra: serde_json::Value| {
        let mut data = ids.clone();
        if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            data.extend(extra.clone());
        }
        DomainEvent::new(kind, ctx.business_id, ctx.now, data)
    };
    let first_acceptance = to == RefStatus::Pending
        && !from.is_some_and(|f| f.is_accepted() || f == RefStatus::Reversed);
    if first_acceptance {
        plan.events.push(event(LEAD_ATTRIBUTED, json!({})));
        if let Some(referrer) = referrer.filter(|_| ctx.settings.sms.send_acknowledgment) {
            plan.messages.push(referrer_message(
                referrer,
                referral,
                Purpose::Acknowledgment,
                referral.referral_id.clone(),
                &BTreeMap::new(),
                ctx,
            ));
        }
    }
    if to == RefStatus::Qualified {
        plan.events.push(event(
            REFERRAL_QUALIFIED,
            json!({"job_id": referral.job_id,
                   "invoice_total_cents": referral.invoice_total_cents.map(Money::cents),
                   "qualified_at": referral.qualified_at}),
        ));
    }
    if to == RefStatus::Reversed && from.is_some_and(RefStatus::is_active) {
        plan.events.push(event(
            REFERRAL_REVERSED,
            json!({"reason": reason, "was": from.map(RefStatus::as_str)}),
        ));
    }
}

/// Adds to a participant's totals in the plan (one update per participant).
pub(super) fn add_stats(
    plan: &mut Plan,
    customer: &CustomerId,
    referrals: i64,
    closed: i64,
    earned_cents: i64,
    pending_cents: i64,
) {
    match plan.stats.iter_mut().find(|d| d.customer_id == *customer) {
        Some(delta) => {
            delta.referrals += referrals;
            delta.closed += closed;
            delta.earned_cents += earned_cents;
            delta.pending_cents += pending_cents;
        }
        None => plan.stats.push(StatsDelta {
            customer_id: customer.clone(),
            referrals,
            closed,
            closed_was: None,
            earned_cents,
            pending_cents,
            year: None,
            qualified_times: None,
            vip_since: None,
        }),
    }
}

/// A text to the referrer about their friend.
pub(super) fn referrer_message(
    referrer: &Contact,
    referral: &Referral,
    purpose: Purpose,
    subject: String,
    extra: &BTreeMap<&'static str, String>,
    ctx: &Context<'_>,
) -> Message {
    let friend = referral
        .lead
        .name
        .split_whitespace()
        .next()
        .unwrap_or("friend")
        .to_owned();
    let mut vars = BTreeMap::from([
        ("first_name", referrer.first_name.as_str().to_owned()),
        ("business_name", ctx.settings.name.clone()),
        ("friend_first_name", friend),
        ("status_link", ctx.status_link(&referrer.customer_id)),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    crate::rules::sending::compose(
        Draft {
            business_id: ctx.business_id.clone(),
            customer_id: Some(referrer.customer_id.clone()),
            to: referrer.phone.clone(),
            consent: referrer.sms_consent,
            purpose,
            subject,
            vars,
            segment: referrer.segment.clone(),
        },
        ctx.settings,
        ctx.now,
    )
}

pub(super) fn person(contact: &Contact) -> Person {
    Person {
        customer_id: contact.customer_id.clone(),
        name: contact.full_name(),
    }
}

/// Sets a lead's standing attribution aside for another one: moved to `to` for `reason`,
/// flagged as reattributed, and kept as its own record.
pub(super) fn set_aside(
    plan: &mut Plan,
    mut old: Referral,
    to: RefStatus,
    reason: &str,
    ctx: &Context<'_>,
) {
    transition(plan, &mut old, to, reason, None, ctx);
    old.flags.push(Flag::Reattributed);
    plan.referrals.push(old);
}
