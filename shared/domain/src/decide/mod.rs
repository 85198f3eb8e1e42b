//! Deciding: every command about a customer (details, jobs, reviews, leads, staff actions,
//! rewards, manual enrolment) is decided from a snapshot into a [`Plan`] that the store commits
//! in one transaction, conditional on what the snapshot saw. Enrolment, attribution,
//! qualification and rewards therefore happen exactly once whatever the order or repetition of
//! deliveries.

mod command;
mod job;
mod lead;
mod plan;
mod referral;
mod reward;
mod staff;

pub use command::{Command, LoadKeys, Named, NewLead, RateWindow, StaffAction, WebVisit};
pub use plan::{
    Context, CounterBump, DEDUPE_DAYS, IndexEntry, IssueDue, Overrides, Plan, Refusal, Rejection,
    SearchUpdate, SendGuard, Snapshot, StatsDelta, YearBump,
};
pub use reward::RewardAction;

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::json;

use crate::model::contact::{Contact, CustomerDetails, Origin};
use crate::model::events::{DomainEvent, PARTICIPANT_ENROLLED};
use crate::model::job::Job;
use crate::model::message::{Draft, Message, Purpose, Reason};
use crate::model::participant::Participant;
use crate::model::search::SearchEntry;
use crate::rules::reward_terms::terms;
use crate::values::code::ReferralCode;
use crate::values::local_day;
use crate::values::person::PersonName;

use self::job::{job_moved, settle};
use self::lead::{admit, take_lead};
use self::staff::staff;

fn apply_details(contact: &mut Contact, details: &CustomerDetails) {
    contact.first_name = details.first_name.clone();
    if details.last_name.is_some() {
        contact.last_name = details.last_name.clone();
    }
    if details.phone.is_some() {
        contact.phone = details.phone.clone();
    }
    if details.email.is_some() {
        contact.email = details.email.clone();
    }
    if let Some(consent) = details.sms_consent {
        contact.sms_consent = consent;
    }
    contact.details_known = true;
}

/// Finds the stored contact for the command: directly, through an alias, or by matching the
/// payload's phone and then email. Returns the contact (if any) and whether the incoming id must
/// become an alias of it. A website lead matches anyone with its phone or email; the software's
/// customers match only contacts Vouch made itself.
fn resolve(
    snapshot: &Snapshot,
    details: Option<&CustomerDetails>,
    website: bool,
) -> (Option<Contact>, bool) {
    if let Some(contact) = &snapshot.contact {
        return (Some(contact.clone()), false);
    }
    let Some(details) = details else {
        return (None, false);
    };
    let matchable = |owner: &&Contact| website || owner.origin == Origin::Vouch;
    let by_phone = snapshot
        .phone_owner
        .as_ref()
        .filter(matchable)
        .filter(|owner| owner.phone.is_some() && owner.phone == details.phone);
    let by_email = snapshot
        .email_owner
        .as_ref()
        .filter(matchable)
        .filter(|owner| owner.email.is_some() && owner.email == details.email);
    match by_phone.or(by_email) {
        Some(owner) => (Some(owner.clone()), !website),
        None => (None, false),
    }
}

fn search_entry(contact: &Contact) -> Option<(SearchEntry, Vec<String>)> {
    if !contact.details_known {
        return None;
    }
    let entry = SearchEntry {
        customer_id: contact.customer_id.clone(),
        name: contact.full_name(),
        phone: contact.phone.clone(),
        enrolled: contact.enrolled,
    };
    let keys = entry.keys(
        contact.first_name.as_str(),
        contact.last_name.as_ref().map(PersonName::as_str),
    );
    Some((entry, keys))
}

/// Decides a command. Pure: the same snapshot, command and context give the same plan (up to
/// fresh ids and codes).
pub fn decide(
    command: &Command,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<Plan, Rejection> {
    let website = matches!(command, Command::Lead(NewLead { web: Some(_), .. }));
    if let Command::Lead(lead) = command {
        admit(lead, snapshot, ctx.now)?;
    }
    let mut plan = Plan {
        delivery: ctx
            .delivery_id
            .map(|id| (id.to_owned(), ctx.now + Duration::days(DEDUPE_DAYS))),
        ..Plan::default()
    };
    let details = command.details();
    let (found, make_alias) = resolve(snapshot, details, website);
    let expected_version = found.as_ref().map(|c| c.version);
    let before = found.as_ref().and_then(search_entry);
    let existed = found.is_some();
    let mut contact = match (found, details) {
        (Some(contact), _) => contact,
        (None, Some(details)) => {
            let mut contact = Contact::new(
                ctx.business_id.clone(),
                details.customer_id.clone(),
                details.first_name.clone(),
                ctx.now,
            );
            if website {
                contact.origin = Origin::Vouch;
            }
            contact
        }
        (None, None) => match command {
            Command::Enrol { .. } | Command::Staff { .. } => {
                return Err(Rejection::UnknownCustomer);
            }
            _ => {
                // A job or review before the customer's details: keep the facts on a placeholder.
                let placeholder =
                    PersonName::parse("Customer").map_err(|_| Rejection::UnknownCustomer)?;
                let mut stub = Contact::new(
                    ctx.business_id.clone(),
                    command.customer_id().clone(),
                    placeholder,
                    ctx.now,
                );
                stub.details_known = false;
                stub
            }
        },
    };
    // A website form never changes what the business knows about someone.
    if let Some(details) = details.filter(|_| !(website && existed)) {
        apply_details(&mut contact, details);
    }
    if make_alias {
        // The software's customer claims the contact: it is matched no more.
        contact.origin = Origin::Software;
        plan.alias = Some(command.customer_id().clone());
    }
    // Index a phone or email the payload brought that nobody holds yet (the snapshot read them).
    if !(website && existed) {
        if let (Some(phone), None) = (
            details.and_then(|d| d.phone.as_ref()),
            &snapshot.phone_owner,
        ) {
            plan.index.push(IndexEntry::Phone(
                phone.clone(),
                contact.customer_id.clone(),
            ));
        }
        if let (Some(email), None) = (
            details.and_then(|d| d.email.as_ref()),
            &snapshot.email_owner,
        ) {
            plan.index.push(IndexEntry::Email(
                email.clone(),
                contact.customer_id.clone(),
            ));
        }
    }

    let mut force_enrol = false;
    let mut send_invitation = true;
    match command {
        Command::UpsertCustomer(_) => {}
        Command::Job {
            job_id,
            status,
            invoice_total_cents,
            service_type,
            at,
            ..
        } => {
            let newer = snapshot
                .job
                .as_ref()
                .is_none_or(|job| (*at, status.rank()) > job.stamp());
            if newer {
                let job = Job {
                    business_id: ctx.business_id.clone(),
                    job_id: job_id.clone(),
                    customer_id: contact.customer_id.clone(),
                    status: *status,
                    status_at: *at,
                    invoice_total_cents: invoice_total_cents
                        .or(snapshot.job.as_ref().and_then(|j| j.invoice_total_cents)),
                    service_type: service_type
                        .clone()
                        .or(snapshot.job.as_ref().and_then(|j| j.service_type.clone())),
                };
                if status.is_done() {
                    contact.job_done_at =
                        Some(contact.job_done_at.map_or(*at, |done| done.min(*at)));
                }
                job_moved(&mut plan, &mut contact, &job, snapshot, ctx);
                plan.job = Some((job, snapshot.job.as_ref().map(Job::stamp)));
            }
        }
        Command::Review { score, at, .. } => {
            if contact.review_at.is_none_or(|seen| *at >= seen) {
                contact.review_score = Some(*score);
                contact.review_at = Some(*at);
            }
        }
        Command::Lead(lead) => {
            let is_customer = existed
                && (contact.job_done_at.is_some()
                    || contact.enrolled
                    || (website && contact.origin == Origin::Software));
            // From the website, someone the business already had as a lead is not new either.
            let known = website && existed;
            take_lead(
                &mut plan,
                &mut contact,
                lead,
                (is_customer, known),
                snapshot,
                ctx,
            );
        }
        Command::Staff { action, .. } => staff(&mut plan, &mut contact, action, snapshot, ctx)?,
        Command::Reward { action, .. } => {
            reward::act(&mut plan, &mut contact, action, snapshot, ctx)?;
        }
        Command::Enrol {
            send_invitation: send,
            ..
        } => {
            force_enrol = true;
            send_invitation = *send;
        }
    }
    settle(&mut plan, &mut contact, snapshot, ctx);

    let satisfied = contact.job_done_at.is_some()
        && contact
            .review_score
            .is_some_and(|score| score >= ctx.settings.satisfaction_threshold);
    let enrol = !contact.enrolled
        && snapshot.participant.is_none()
        && (force_enrol || (satisfied && contact.details_known));
    if enrol {
        let participant =
            Participant::enrol(&contact, ReferralCode::generate(&mut rand::rng()), ctx.now);
        contact.enrolled = true;
        plan.events.push(DomainEvent::new(
            PARTICIPANT_ENROLLED,
            ctx.business_id,
            ctx.now,
            json!({"customer_id": participant.customer_id.as_str(), "code": participant.code.as_str(),
                   "source": if force_enrol { "manual" } else { "satisfaction" }}),
        ));
        if send_invitation {
            let link = format!("{}/r/{}", ctx.link_base, participant.code);
            let vars = BTreeMap::from([
                ("first_name", contact.first_name.as_str().to_owned()),
                ("business_name", ctx.settings.name.clone()),
                ("link", link),
                ("code", participant.code.to_string()),
                (
                    "reward",
                    terms(ctx.settings, 1, None).text(&ctx.settings.currency),
                ),
            ]);
            plan.messages.push(Message::compose(
                Draft {
                    business_id: ctx.business_id.clone(),
                    customer_id: Some(contact.customer_id.clone()),
                    to: contact.phone.clone(),
                    consent: contact.sms_consent,
                    purpose: Purpose::Invitation,
                    subject: contact.customer_id.to_string(),
                    vars,
                },
                ctx.settings,
                ctx.now,
            ));
        }
        plan.participant = Some(participant);
    }

    let after = search_entry(&contact);
    if after != before {
        let old: Vec<String> = before.map(|(_, keys)| keys).unwrap_or_default();
        let (remove, update) = match after {
            Some((entry, keys)) => (
                old.into_iter().filter(|k| !keys.contains(k)).collect(),
                Some((entry, keys)),
            ),
            None => (old, None),
        };
        plan.search = update.map(|(entry, put)| SearchUpdate { remove, put, entry });
    }
    for delta in &mut plan.stats {
        let read = snapshot.participants.get(&delta.customer_id);
        delta.closed_was = read.map(|p| p.stats.closed);
        if let (Some(bump), Some(read)) = (&mut delta.year, read) {
            bump.was = (read.stats.rewarded_year, read.stats.rewarded_in_year);
        }
    }
    contact.version += 1;
    contact.updated_at = ctx.now;
    plan.contact = Some((contact, expected_version));
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
    let day = local_day(ctx.settings.time_zone, ctx.now);
    for message in &mut plan.messages {
        let key = (message.purpose, message.subject.clone());
        if overrides.opted_out.contains(&key) {
            *message = message.clone().suppressed(Reason::OptedOut);
        } else if let Some(reason) = overrides.capped.get(&key) {
            *message = message.clone().capped(*reason, ctx.settings, ctx.now);
        }
        if let (true, Some(phone)) = (message.counts_against_caps(), &message.to) {
            plan.sends.push(SendGuard {
                message_id: message.message_id.clone(),
                phone: phone.clone(),
                day,
                per_number: ctx.settings.sms.daily_cap_per_number,
                per_business: ctx.settings.sms.daily_cap_per_business,
                counts: true,
            });
        }
    }
}
