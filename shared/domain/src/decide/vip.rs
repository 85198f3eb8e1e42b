//! VIP: a referrer who reaches `vip_after` closed referrals for the first time is thanked once
//! (the `vip` text), announced once (`participant.vip`, for the job software to flag them), and
//! marked with when it happened. Being VIP afterwards is simply having `vip_after` or more
//! closed referrals; what it pays is decided when a reward is made (`rules::reward_terms`).

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::events::{DomainEvent, PARTICIPANT_VIP};
use crate::model::message::{Draft, Purpose};
use crate::rules::sending;

use super::{Context, Plan, Snapshot};

/// Marks the referrers this plan takes to `vip_after` closed referrals for the first time, with
/// their text and event. The closed count is written conditionally on the count read, so a
/// crossing happens in one commit only.
pub(super) fn crossings(plan: &mut Plan, snapshot: &Snapshot, ctx: &Context<'_>) {
    let threshold = u64::from(ctx.settings.vip_after);
    let mut crossed = Vec::new();
    for delta in &mut plan.stats {
        let Some(read) = snapshot.participants.get(&delta.customer_id) else {
            continue;
        };
        let before = read.stats.closed;
        let after = before.saturating_add_signed(delta.closed);
        if read.stats.vip_since.is_none() && before < threshold && after >= threshold {
            delta.vip_since = Some(ctx.now);
            crossed.push((read.clone(), after));
        }
    }
    for (participant, closed) in crossed {
        plan.events.push(DomainEvent::new(
            PARTICIPANT_VIP,
            ctx.business_id,
            ctx.now,
            json!({"customer_id": participant.customer_id.as_str(), "closed": closed,
                   "vip_after": ctx.settings.vip_after}),
        ));
        let contact = snapshot
            .referrer
            .as_ref()
            .filter(|c| c.customer_id == participant.customer_id);
        let vars = BTreeMap::from([
            ("first_name", participant.first_name.as_str().to_owned()),
            ("business_name", ctx.settings.name.clone()),
            ("link", format!("{}/r/{}", ctx.link_base, participant.code)),
            ("code", participant.code.to_string()),
            ("status_link", ctx.status_link(&participant.customer_id)),
        ]);
        plan.messages.push(sending::compose(
            Draft {
                business_id: ctx.business_id.clone(),
                customer_id: Some(participant.customer_id.clone()),
                to: contact.and_then(|c| c.phone.clone()),
                consent: contact.is_some_and(|c| c.sms_consent),
                purpose: Purpose::Vip,
                subject: participant.customer_id.to_string(),
                vars,
                segment: contact.and_then(|c| c.segment.clone()),
            },
            ctx.settings,
            ctx.now,
        ));
    }
}
