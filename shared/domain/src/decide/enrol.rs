//! Enrolment: a satisfied customer (a finished job and a review at or above the threshold)
//! becomes a participant with a permanent code and is invited once; staff may enrol anyone.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::contact::Contact;
use crate::model::events::{DomainEvent, PARTICIPANT_ENROLLED};
use crate::model::message::{Draft, Purpose};
use crate::model::participant::{Participant, ReengageDue};
use crate::model::settings::Settings;
use crate::rules::reward_terms::terms;
use crate::rules::sending;
use crate::values::code::ReferralCode;

use super::plan::{Context, Plan, Snapshot};

/// How the command asks for enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    /// Only if the customer is satisfied.
    IfSatisfied,
    /// Staff enrol them whatever the satisfaction rule says.
    Staff { send_invitation: bool },
}

/// Whether the customer had a job done and reviewed it at or above the business's threshold
/// (score and job may arrive in either order).
pub fn satisfied(contact: &Contact, settings: &Settings) -> bool {
    contact.job_done_at.is_some()
        && contact
            .review_score
            .is_some_and(|score| score >= settings.satisfaction_threshold)
}

/// Enrols the contact once when asked or satisfied, with the invitation text.
pub(super) fn enrol(
    plan: &mut Plan,
    contact: &mut Contact,
    ask: Ask,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let by_staff = matches!(ask, Ask::Staff { .. });
    let due = by_staff || (satisfied(contact, ctx.settings) && contact.details_known);
    if contact.enrolled || snapshot.participant.is_some() || !due {
        return;
    }
    let participant =
        Participant::enrol(contact, ReferralCode::generate(&mut rand::rng()), ctx.now);
    contact.enrolled = true;
    plan.events.push(DomainEvent::new(
        PARTICIPANT_ENROLLED,
        ctx.business_id,
        ctx.now,
        json!({"customer_id": participant.customer_id.as_str(), "code": participant.code.as_str(),
               "source": if by_staff { "manual" } else { "satisfaction" }}),
    ));
    if !matches!(
        ask,
        Ask::Staff {
            send_invitation: false
        }
    ) {
        let link = format!("{}/r/{}", ctx.link_base, participant.code);
        let vars = BTreeMap::from([
            ("first_name", contact.first_name.as_str().to_owned()),
            ("business_name", ctx.settings.name.clone()),
            ("link", link),
            ("status_link", ctx.status_link(&participant.customer_id)),
            ("code", participant.code.to_string()),
            (
                "reward",
                terms(ctx.settings, 1, None).text(&ctx.settings.currency),
            ),
        ]);
        plan.messages.push(sending::compose(
            Draft {
                business_id: ctx.business_id.clone(),
                customer_id: Some(contact.customer_id.clone()),
                to: contact.phone.clone(),
                consent: contact.sms_consent,
                purpose: Purpose::Invitation,
                subject: contact.customer_id.to_string(),
                vars,
                segment: contact.segment.clone(),
            },
            ctx.settings,
            ctx.now,
        ));
    }
    plan.reengage.push(ReengageDue::after(
        participant.customer_id.clone(),
        ctx.now,
        ctx.settings,
    ));
    plan.participant = Some(participant);
}
