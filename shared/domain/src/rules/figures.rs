//! How each report figure is defined. A referral (with its rewards) counts for the figures of
//! its state; a write moves the figures by what its referrals count for after it minus what they
//! counted for before, so a reversal takes back exactly what the referral had added, on the days
//! it added them, and a retried write (decided again from what it reads) never counts twice.
//!
//! | figure | counted | on the local day of |
//! |---|---|---|
//! | invited | an invitation text that went out | the send |
//! | enrolled | a participant enrolled | the enrolment |
//! | clicks | a counted click on a referral link, by channel | the click |
//! | leads | a lead naming a referrer (code, link, mention, phone-in), by source and channel | the lead |
//! | referrals | a referral accepted (pending, qualified or rewarded; not held, rejected or reversed) | the referral |
//! | qualified, revenue | a referral whose job qualified, and its invoice total | qualifying |
//! | rewarded, reward cost | a referrer reward that is not canceled or reversed, and its value | the reward |
//! | reward cost | a friend's reward (dual-sided) likewise | the reward |
//! | reversed | an accepted referral whose attribution was reversed | the reversal |
//!
//! A reward's value is its amount; a percent discount is valued at the qualifying invoice times
//! the percent (rounded to the cent); a custom reward without an amount costs nothing here.

use chrono::{DateTime, Utc};

use crate::model::click::Click;
use crate::model::referral::{Referral, Status};
use crate::model::report::{Figure, ReferrerFigure, Tally};
use crate::model::reward::{Reward, RewardStatus};
use crate::values::time::{TimeZone, local_day};

/// What a referral, as it stands, counts for.
pub fn of_referral(referral: &Referral, zone: TimeZone) -> Tally {
    let mut tally = Tally::default();
    let day = |at: DateTime<Utc>| local_day(zone, at);
    let (source, channel) = (referral.source, referral.channel);
    let referrer = referral.referrer_id();
    let for_referrer = |tally: &mut Tally, at, figure, delta| {
        if let Some(referrer) = referrer {
            tally.add(day(at), Figure::Referrer(referrer.clone(), figure), delta);
        }
    };
    if referral.status.is_accepted() {
        let created = referral.created_at;
        tally.add(day(created), Figure::Referrals(source, channel), 1);
        for_referrer(&mut tally, created, ReferrerFigure::Referrals, 1);
    }
    if referral.status.is_closed()
        && let Some(at) = referral.qualified_at
    {
        let revenue = referral.invoice_total_cents.map_or(0, |m| m.cents());
        tally.add(day(at), Figure::Qualified(source, channel), 1);
        tally.add(day(at), Figure::Revenue(source, channel), revenue);
        for_referrer(&mut tally, at, ReferrerFigure::Qualified, 1);
        for_referrer(&mut tally, at, ReferrerFigure::Revenue, revenue);
    }
    if let Some(reward) = referral.reward.as_ref().filter(|r| stands(r)) {
        let cost = cost(reward, referral);
        let at = reward.created_at;
        tally.add(day(at), Figure::Rewarded, 1);
        tally.add(day(at), Figure::RewardCost, cost);
        for_referrer(&mut tally, at, ReferrerFigure::Rewards, cost);
        if let Some(tier) = reward.tier {
            for_referrer(&mut tally, at, ReferrerFigure::Tier(tier), 1);
        }
    }
    if let Some(reward) = referral.referee_reward.as_ref().filter(|r| stands(r)) {
        tally.add(
            day(reward.created_at),
            Figure::RewardCost,
            cost(reward, referral),
        );
    }
    if referral.status == Status::Reversed
        && let Some(reversal) = referral
            .history
            .iter()
            .rfind(|d| d.status == Status::Reversed)
        && referral
            .history
            .iter()
            .any(|d| d.status.is_accepted() && d.at <= reversal.at)
    {
        tally.add(day(reversal.at), Figure::Reversed, 1);
    }
    tally
}

/// What a write changes: its referrals as they are after it, less as they were before.
pub fn moved(before: Option<&Referral>, after: &Referral, zone: TimeZone) -> Tally {
    let mut tally = of_referral(after, zone);
    if let Some(before) = before {
        tally.merge(&of_referral(before, zone), -1);
    }
    tally
}

/// A lead that named a referrer, by how it named them.
pub fn of_lead(referral: &Referral, at: DateTime<Utc>, zone: TimeZone) -> Tally {
    let mut tally = Tally::default();
    tally.add(
        local_day(zone, at),
        Figure::Leads(referral.source, referral.channel),
        1,
    );
    tally
}

pub fn of_click(click: &Click, zone: TimeZone) -> Tally {
    let mut tally = Tally::default();
    tally.add(local_day(zone, click.at), Figure::Clicks(click.channel), 1);
    tally
}

/// A participant enrolled, or an invitation that went out, at `at`.
pub fn one(figure: Figure, at: DateTime<Utc>, zone: TimeZone) -> Tally {
    let mut tally = Tally::default();
    tally.add(local_day(zone, at), figure, 1);
    tally
}

/// Whether a reward still counts: given, and neither canceled nor reversed.
fn stands(reward: &Reward) -> bool {
    !matches!(
        reward.status,
        RewardStatus::Canceled | RewardStatus::Reversed
    )
}

/// A reward's value in cents: its amount, or a percent of the qualifying invoice.
pub fn cost(reward: &Reward, referral: &Referral) -> i64 {
    match (reward.amount_cents, reward.percent) {
        (Some(amount), _) => amount.cents(),
        (None, Some(percent)) => {
            let invoice = referral.invoice_total_cents.map_or(0, |m| m.cents());
            (invoice * i64::from(percent) + 50) / 100
        }
        (None, None) => 0,
    }
}
