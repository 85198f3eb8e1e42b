//! A new lead: admitted or not, recorded, and attributed by the rules of attribution.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::model::contact::Contact;
use crate::model::events::{DomainEvent, LEAD_CREATED};
use crate::model::lead::{LEAD_REPEAT_WINDOW, Lead, LeadChannel};
use crate::model::referral::{LeadSide, Person, Referral, Source, Status as RefStatus};
use crate::rules::attribution::{self, Facts, is_disposable, is_self};

use super::command::{Named, NewLead, lead_keys};
use super::plan::{Context, CounterBump, Plan, Rejection, Snapshot};
use super::referral::{person, set_aside, transition};

/// Checks a website lead against repeats and rate limits before anything is decided.
pub(super) fn admit(
    lead: &NewLead,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Result<(), Rejection> {
    let Some(web) = &lead.web else {
        return Ok(());
    };
    if let Some((lead_id, expires)) = &snapshot.recent_lead
        && *expires > now
    {
        return Err(Rejection::RepeatLead(lead_id.clone()));
    }
    for window in [&web.ip_window, &web.code_window].into_iter().flatten() {
        if snapshot.counters.get(&window.key).copied().unwrap_or(0) >= window.limit {
            return Err(Rejection::RateLimited {
                retry_after_secs: window.retry_after_secs,
            });
        }
    }
    Ok(())
}

/// Records a new lead and decides its attribution.
pub(super) fn take_lead(
    plan: &mut Plan,
    contact: &mut Contact,
    lead: &NewLead,
    (is_customer, known): (bool, bool),
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let web = lead.web.as_ref();
    if let Some(hash) = web.and_then(|w| w.ip_hash.as_ref()) {
        if !contact.ip_hashes.iter().any(|h| h == hash.as_str()) {
            contact.ip_hashes.push(hash.as_str().to_owned());
        }
        let excess = contact.ip_hashes.len().saturating_sub(5);
        contact.ip_hashes.drain(..excess);
    }
    let referrer = snapshot.referrer.as_ref().filter(|r| r.enrolled);
    let mut facts = Facts::default();
    let (source, named, chosen, candidates) = match &lead.named {
        Named::Nobody | Named::Code { referrer: None, .. } => (None, None, None, Vec::new()),
        Named::Code { code, click, .. } => {
            let from_link = snapshot.click.as_ref().is_some_and(|c| {
                Some(c.id) == *click && c.code == *code && c.business_id == *ctx.business_id
            });
            let source = match (web, from_link) {
                (None, _) => Source::Dispatcher,
                (Some(_), true) => Source::Link,
                (Some(_), false) => Source::Code,
            };
            // A code whose holder has no contact record to pay: staff decide.
            facts.not_participant = referrer.is_none();
            (Some(source), Some(code.to_string()), referrer, Vec::new())
        }
        Named::Customer(id) => {
            facts.not_participant = referrer.is_none();
            let candidates = snapshot.referrer.iter().map(person).collect();
            (
                Some(Source::Dispatcher),
                Some(id.to_string()),
                referrer,
                candidates,
            )
        }
        Named::Mention(text) => {
            facts.mention = true;
            let candidates = snapshot
                .candidates
                .iter()
                .filter(|c| c.enrolled && c.customer_id != contact.customer_id)
                .map(|c| Person {
                    customer_id: c.customer_id.clone(),
                    name: c.name.clone(),
                })
                .collect();
            (Some(Source::Mention), Some(text.clone()), None, candidates)
        }
    };

    let mut referral_id = None;
    if let Some(source) = source {
        // A mention still waiting for staff gives way to a lead that names its referrer: the
        // first *valid* attribution wins.
        let held_mention = contact
            .referral
            .as_ref()
            .is_some_and(|r| r.status == RefStatus::NeedsReview && r.source == Source::Mention);
        let replaces_mention = held_mention && source != Source::Mention && chosen.is_some();
        facts.self_referral = chosen.is_some_and(|r| is_self(r, contact, Some(&lead.customer)));
        facts.existing_customer = is_customer;
        facts.already_attributed = !replaces_mention
            && (known
                || contact
                    .referral
                    .as_ref()
                    .is_some_and(|r| r.status.is_active()));
        if let (Some(web), Some(referrer)) = (web, chosen) {
            facts.leads_for_code_today = web
                .code_window
                .as_ref()
                .map(|w| snapshot.counters.get(&w.key).copied().unwrap_or(0) + 1);
            facts.shared_ip = web
                .ip_hash
                .as_ref()
                .is_some_and(|h| referrer.ip_hashes.iter().any(|own| own == h.as_str()));
        }
        facts.disposable_email = lead.customer.email.as_ref().is_some_and(is_disposable);
        let flags = attribution::flags(&facts, &ctx.settings.limits);
        let status = attribution::status(&flags);
        if replaces_mention
            && status != RefStatus::Rejected
            && let Some(old) = contact.referral.take()
        {
            set_aside(
                plan,
                old,
                RefStatus::Rejected,
                "replaced by a lead naming its referrer",
                ctx,
            );
        }
        // A lead has at most one referral: its id is the lead's, stable across retries (a
        // refused commit is decided again, and what it learnt is keyed by this id).
        let side = LeadSide {
            customer_id: contact.customer_id.clone(),
            name: contact.full_name(),
            phone: contact.phone.clone().or(lead.customer.phone.clone()),
            email: contact.email.clone().or(lead.customer.email.clone()),
        };
        let mut referral = Referral::new(lead.lead_id.clone(), side, source, ctx.now);
        referral.lead_id = Some(lead.lead_id.clone());
        if source == Source::Link {
            referral.channel = snapshot.click.as_ref().map(|c| c.channel);
        }
        referral.referrer = chosen.map(person);
        referral.candidates = candidates;
        referral.status = status;
        referral.flags = flags.clone();
        referral.named = named;
        let reason = if flags.is_empty() {
            "attributed".to_owned()
        } else {
            flags
                .iter()
                .map(|f| {
                    serde_json::to_value(f)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        transition(plan, &mut referral, status, &reason, chosen, ctx);
        referral_id = Some(referral.referral_id.clone());
        plan.referrals.push(referral.clone());
        if status.is_active() {
            contact.referral = Some(referral);
        }
    }

    let record = Lead {
        lead_id: lead.lead_id.clone(),
        business_id: ctx.business_id.clone(),
        customer_id: contact.customer_id.clone(),
        channel: if web.is_some() {
            LeadChannel::Website
        } else {
            LeadChannel::Dispatcher
        },
        referral_code: match &lead.named {
            Named::Code { code, .. } => Some(code.clone()),
            _ => None,
        },
        referrer_customer_id: match &lead.named {
            Named::Customer(id) => Some(id.clone()),
            Named::Code { referrer, .. } => referrer.clone(),
            _ => None,
        },
        referred_by: match &lead.named {
            Named::Mention(text) => Some(text.clone()),
            _ => None,
        },
        message: web.and_then(|w| w.message.clone()),
        ip_hash: web.and_then(|w| w.ip_hash.as_ref().map(|h| h.as_str().to_owned())),
        sms_consent: web.is_some_and(|w| w.sms_consent),
        referral_id,
        created_at: ctx.now,
    };
    plan.events.push(DomainEvent::new(
        LEAD_CREATED,
        ctx.business_id,
        ctx.now,
        json!({"lead_id": record.lead_id, "customer_id": record.customer_id.as_str(),
               "channel": record.channel}),
    ));
    if let Some(web) = web {
        let until = ctx.now + LEAD_REPEAT_WINDOW;
        for key in lead_keys(&lead.customer) {
            plan.lead_keys.push((key, record.lead_id.clone(), until));
        }
        for window in [&web.ip_window, &web.code_window].into_iter().flatten() {
            plan.counters.push(CounterBump {
                key: window.key.clone(),
                seen: snapshot.counters.get(&window.key).copied().unwrap_or(0),
                limit: window.limit,
                retry_after_secs: window.retry_after_secs,
                expires_at: window.expires_at,
            });
        }
    }
    plan.lead = Some(record);
}
