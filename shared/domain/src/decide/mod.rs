//! Deciding: every command about a customer (details, jobs, reviews, leads, staff actions,
//! rewards, manual enrolment) is decided from a snapshot into a [`Plan`] that the store commits
//! in one transaction, conditional on what the snapshot saw. Enrolment, attribution,
//! qualification and rewards therefore happen exactly once whatever the order or repetition of
//! deliveries.

mod command;
mod contact;
mod enrol;
mod job;
mod lead;
mod plan;
mod referral;
mod reward;
mod staff;
mod tally;
mod vip;

pub use command::{Command, LoadKeys, Named, NewLead, RateWindow, StaffAction, WebVisit};
pub use plan::{
    Context, CounterBump, DEDUPE_DAYS, IndexEntry, IssueDue, Overrides, Plan, Refusal, Rejection,
    SearchUpdate, Snapshot, StatsDelta, YearBump, status_link,
};
pub use reward::{FOLLOW_ORDER, RewardAction, follow_after, order_retry};

use chrono::Duration;

use crate::model::message::Reason;
use crate::model::participant::ReengageDue;
use crate::rules::sending::{self, SendGuard};

pub use enrol::satisfied;

use self::contact::{identify, is_website, search_update};
use self::enrol::{Ask, enrol};
use self::job::{job_changed, settle};
use self::lead::{admit, take_lead};
use self::staff::staff;

/// Decides a command. Pure: the same snapshot, command and context give the same plan (up to
/// fresh ids and codes).
pub fn decide(
    command: &Command,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<Plan, Rejection> {
    if let Command::Lead(lead) = command {
        admit(lead, snapshot, ctx.now)?;
    }
    let mut plan = Plan {
        delivery: ctx
            .delivery_id
            .map(|id| (id.to_owned(), ctx.now + Duration::days(DEDUPE_DAYS))),
        ..Plan::default()
    };
    let found = identify(command, snapshot, &mut plan, ctx)?;
    let referral_before = found.contact.referral.clone();
    let mut contact = found.contact;
    let mut ask = Ask::IfSatisfied;
    match command {
        Command::UpsertCustomer(_) => {}
        Command::Job { .. } => job_changed(&mut plan, &mut contact, command, snapshot, ctx),
        Command::Review { score, at, .. } => {
            if contact.review_at.is_none_or(|seen| *at >= seen) {
                contact.review_score = Some(*score);
                contact.review_at = Some(*at);
            }
        }
        Command::Lead(lead) => {
            let website = is_website(command);
            let is_customer = found.existed
                && (contact.job_done_at.is_some()
                    || contact.enrolled
                    || (website && contact.origin == crate::model::contact::Origin::Software));
            // From the website, someone the business already had as a lead is not new either.
            let known = website && found.existed;
            take_lead(
                &mut plan,
                &mut contact,
                lead,
                (is_customer, known),
                snapshot,
                ctx,
            );
        }
        Command::Staff { action, by, .. } => {
            let before = contact
                .referral
                .as_ref()
                .map(|r| (r.referral_id.clone(), r.history.len()));
            staff(&mut plan, &mut contact, action, snapshot, ctx)?;
            // The decisions this action made carry who made them.
            let made_here = |referral: &mut crate::model::referral::Referral| {
                let known = match &before {
                    Some((id, len)) if *id == referral.referral_id => *len,
                    _ => 0,
                };
                for decision in referral.history.iter_mut().skip(known) {
                    decision.by.get_or_insert_with(|| by.clone());
                }
            };
            plan.referrals.iter_mut().for_each(made_here);
            contact.referral.as_mut().map(made_here);
        }
        Command::Reward { action, .. } => {
            reward::act(&mut plan, &mut contact, action, snapshot, ctx)?;
        }
        Command::Enrol {
            send_invitation, ..
        } => {
            ask = Ask::Staff {
                send_invitation: *send_invitation,
            };
        }
    }
    settle(&mut plan, &mut contact, snapshot, ctx);
    enrol(&mut plan, &mut contact, ask, snapshot, ctx);
    plan.search = search_update(found.before, &contact);
    for delta in &mut plan.stats {
        let read = snapshot.participants.get(&delta.customer_id);
        delta.closed_was = read.map(|p| p.stats.closed);
        if let (Some(bump), Some(read)) = (&mut delta.year, read) {
            bump.was = (read.stats.rewarded_year, read.stats.rewarded_in_year);
        }
    }
    vip::crossings(&mut plan, snapshot, ctx);
    // A friend attributed to a referrer is activity: their next re-engagement moves on.
    for delta in plan.stats.iter().filter(|d| d.referrals > 0) {
        if !plan
            .reengage
            .iter()
            .any(|r| r.customer_id == delta.customer_id)
        {
            let due = ReengageDue::after(delta.customer_id.clone(), ctx.now, ctx.settings);
            plan.reengage.push(due);
        }
    }
    plan.tally = tally::figures(&plan, referral_before.as_ref(), ctx.settings.time_zone);
    tally::board(&mut plan, referral_before.as_ref(), snapshot, ctx);
    contact.version += 1;
    contact.updated_at = ctx.now;
    plan.contact = Some((contact, found.version));
    finish_messages(&mut plan, ctx);
    Ok(plan)
}

/// Applies what earlier refusals taught and adds the cap/opt-out guards of messages going now.
fn finish_messages(plan: &mut Plan, ctx: &Context<'_>) {
    let overrides = ctx.overrides;
    plan.messages.retain(|m| {
        !overrides
            .drop_messages
            .contains(&(m.purpose, m.subject.clone()))
    });
    for message in &mut plan.messages {
        let key = (message.purpose, message.subject.clone());
        if overrides.opted_out.contains(&key) {
            *message = message.clone().suppressed(Reason::OptedOut);
        } else if let Some(reason) = overrides.capped.get(&key) {
            *message = sending::capped(message.clone(), *reason, ctx.settings, ctx.now);
        }
        if let (true, Some(phone)) = (sending::counts_against_caps(message), &message.to) {
            plan.sends
                .push(SendGuard::new(message, phone, ctx.settings, ctx.now, true));
        }
    }
}
