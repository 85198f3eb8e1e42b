//! Staff decisions about a lead's referral: attribute, approve, reject, delete.

use crate::model::contact::Contact;
use crate::model::referral::{Flag, LeadSide, Referral, Source, Status as RefStatus};
use crate::values::ids::CustomerId;

use super::command::StaffAction;
use super::plan::{Context, Plan, Rejection, Snapshot};
use super::referral::{person, set_aside, transition};
use crate::rules::attribution::is_self;

/// A staff decision about the contact's referral.
pub(super) fn staff(
    plan: &mut Plan,
    contact: &mut Contact,
    action: &StaffAction,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    let current = |id: &str| match &contact.referral {
        Some(referral) if referral.referral_id == id => Ok(referral.clone()),
        _ => Err(Rejection::Conflict(
            "not_current",
            "the referral is no longer the lead's attribution".into(),
        )),
    };
    let chosen = |id: &CustomerId| {
        let referrer =
            snapshot
                .referrer
                .as_ref()
                .filter(|r| r.enrolled)
                .ok_or(Rejection::Invalid(
                    "referrer_customer_id",
                    "is not enrolled in the program",
                ))?;
        if is_self(referrer, contact, None)
            || referrer.customer_id == *id && *id == contact.customer_id
        {
            return Err(Rejection::Invalid(
                "referrer_customer_id",
                "is the referred customer",
            ));
        }
        Ok(referrer)
    };
    match action {
        StaffAction::Attribute {
            referrer,
            replace,
            referral_id,
        } => {
            let referrer = chosen(referrer)?;
            if let Some(old) = contact.referral.clone().filter(|r| r.status.is_active()) {
                if !replace || old.referrer_id() == Some(&referrer.customer_id) {
                    return Err(Rejection::Conflict(
                        "already_attributed",
                        "the lead is already attributed; send override to replace it".into(),
                    ));
                }
                set_aside(plan, old, RefStatus::Reversed, "reattributed", ctx);
            }
            let side = LeadSide {
                customer_id: contact.customer_id.clone(),
                name: contact.full_name(),
                phone: contact.phone.clone(),
                email: contact.email.clone(),
            };
            let mut referral = Referral::new(referral_id.clone(), side, Source::Manual, ctx.now);
            referral.referrer = Some(person(referrer));
            transition(
                plan,
                &mut referral,
                RefStatus::Pending,
                "attributed by staff",
                Some(referrer),
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
        StaffAction::Approve {
            referral_id,
            referrer,
        } => {
            let mut referral = current(referral_id)?;
            if referral.status != RefStatus::NeedsReview {
                return Err(Rejection::Conflict(
                    "invalid_transition",
                    format!("a {} referral cannot be approved", referral.status.as_str()),
                ));
            }
            let referrer = match referrer {
                Some(id) => chosen(id)?,
                None => match (&referral.referrer, snapshot.referrer.as_ref()) {
                    (Some(_), Some(contact)) if contact.enrolled => contact,
                    _ => {
                        return Err(Rejection::Invalid(
                            "referrer_customer_id",
                            "is required: name the participant who referred this lead",
                        ));
                    }
                },
            };
            if let Some(old) = referral
                .referrer_id()
                .filter(|old| **old != referrer.customer_id)
            {
                plan.stale_refby
                    .push((old.clone(), referral.referral_id.clone()));
            }
            referral.referrer = Some(person(referrer));
            referral.flags.push(Flag::ApprovedByStaff);
            transition(
                plan,
                &mut referral,
                RefStatus::Pending,
                "approved by staff",
                Some(referrer),
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
        StaffAction::Reject { referral_id } => {
            let mut referral = current(referral_id)?;
            if referral.status != RefStatus::NeedsReview {
                return Err(Rejection::Conflict(
                    "invalid_transition",
                    format!("a {} referral cannot be rejected", referral.status.as_str()),
                ));
            }
            referral.flags.push(Flag::RejectedByStaff);
            transition(
                plan,
                &mut referral,
                RefStatus::Rejected,
                "rejected by staff",
                None,
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
        StaffAction::Delete { referral_id } => {
            let mut referral = current(referral_id)?;
            match referral.status {
                // Deleting again changes nothing.
                RefStatus::Reversed => return Ok(()),
                RefStatus::Rejected => {
                    return Err(Rejection::Conflict(
                        "invalid_transition",
                        "a rejected referral has no attribution to delete".into(),
                    ));
                }
                _ => {}
            }
            referral.flags.push(Flag::Deleted);
            transition(
                plan,
                &mut referral,
                RefStatus::Reversed,
                "deleted by staff",
                None,
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
    }
    Ok(())
}
