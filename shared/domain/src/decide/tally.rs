//! What a plan does to the reports: the daily figures it moves and the leaderboard rows it
//! changes, written in the same transaction as the plan (see [`crate::rules::figures`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::participant::Participant;
use crate::model::referral::Referral;
use crate::model::report::{BoardMove, Figure, Period, Tally};
use crate::rules::figures;
use crate::values::ids::CustomerId;
use crate::values::time::TimeZone;

use super::plan::{Context, Plan, Snapshot};

/// The figures `plan` moves: its referrals after less before (`before` is the lead's referral
/// as read), its new lead and its enrolment.
pub(super) fn figures(plan: &Plan, before: Option<&Referral>, zone: TimeZone) -> Tally {
    let mut tally = Tally::default();
    for after in &plan.referrals {
        let was = before.filter(|b| b.referral_id == after.referral_id);
        tally.merge(&figures::moved(was, after, zone), 1);
    }
    if let Some(lead) = &plan.lead
        && let Some(referral) = lead
            .referral_id
            .as_ref()
            .and_then(|id| plan.referrals.iter().find(|r| r.referral_id == *id))
    {
        tally.merge(&figures::of_lead(referral, lead.created_at, zone), 1);
    }
    if let Some(participant) = &plan.participant {
        tally.merge(
            &figures::one(Figure::Enrolled, participant.enrolled_at, zone),
            1,
        );
    }
    tally
}

/// Who a referral counts as closed for, and since when.
fn closed_for(referral: Option<&Referral>) -> Option<(CustomerId, DateTime<Utc>)> {
    let referral = referral.filter(|r| r.status.is_closed())?;
    Some((referral.referrer_id()?.clone(), referral.qualified_at?))
}

/// The leaderboard rows `plan` changes: a referrer whose closed referrals moved gets their
/// qualifying times (kept on the participant) and the rows of the periods those times fall in;
/// reward value earned now is added to the current periods' rows.
pub(super) fn board(
    plan: &mut Plan,
    before: Option<&Referral>,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let zone = ctx.settings.time_zone;
    let mut added: BTreeMap<CustomerId, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut removed: BTreeMap<CustomerId, Vec<DateTime<Utc>>> = BTreeMap::new();
    for after in &plan.referrals {
        let was = closed_for(before.filter(|b| b.referral_id == after.referral_id));
        let now = closed_for(Some(after));
        if was != now {
            if let Some((referrer, at)) = was {
                removed.entry(referrer).or_default().push(at);
            }
            if let Some((referrer, at)) = now {
                added.entry(referrer).or_default().push(at);
            }
        }
    }
    let mut moves = Vec::new();
    for delta in &mut plan.stats {
        let Some(participant) = snapshot.participants.get(&delta.customer_id) else {
            continue;
        };
        let (plus, minus) = (
            added.remove(&delta.customer_id).unwrap_or_default(),
            removed.remove(&delta.customer_id).unwrap_or_default(),
        );
        let mut times = participant.stats.qualified_times.clone();
        for at in &minus {
            if let Some(i) = times.iter().position(|t| t == at) {
                times.remove(i);
            }
        }
        times.extend(plus.iter().copied());
        times.sort();
        let all_time = u32::try_from(times.len()).unwrap_or(u32::MAX);
        let mut periods: BTreeMap<Period, BoardMove> = BTreeMap::new();
        for at in plus.iter().chain(&minus) {
            for period in Period::containing(zone, *at) {
                let row = standing(&times, period, zone);
                periods
                    .entry(period)
                    .or_insert_with(|| board_move(participant, period, all_time))
                    .qualified = Some(row);
            }
        }
        if delta.earned_cents != 0 {
            for period in Period::containing(zone, ctx.now) {
                periods
                    .entry(period)
                    .or_insert_with(|| board_move(participant, period, all_time))
                    .earned_cents += delta.earned_cents;
            }
        }
        if !plus.is_empty() || !minus.is_empty() {
            delta.qualified_times = Some(times);
        }
        moves.extend(periods.into_values());
    }
    for customer in added.keys().chain(removed.keys()) {
        tracing::warn!(customer_id = %customer, "closed referrals moved for a referrer not read; leaderboard unchanged");
    }
    plan.board = moves;
}

fn board_move(participant: &Participant, period: Period, all_time: u32) -> BoardMove {
    BoardMove {
        customer_id: participant.customer_id.clone(),
        period,
        first_name: participant.first_name.clone(),
        last_name: participant.last_name.clone(),
        qualified: None,
        earned_cents: 0,
        qualified_all_time: all_time,
    }
}

/// A participant's count in `period` and when they reached it, from their qualifying times.
fn standing(times: &[DateTime<Utc>], period: Period, zone: TimeZone) -> (u32, DateTime<Utc>) {
    let inside: Vec<&DateTime<Utc>> = times
        .iter()
        .filter(|at| Period::containing(zone, **at).contains(&period))
        .collect();
    let count = u32::try_from(inside.len()).unwrap_or(u32::MAX);
    let reached = inside.last().map_or(DateTime::UNIX_EPOCH, |at| **at);
    (count, reached)
}
