//! What stands out in a month: plain sentences computed from the figures, the same every time
//! for the same figures. Each finding has a threshold so that a quiet month says nothing rather
//! than something noisy.
//!
//! | finding | when |
//! |---|---|
//! | a tier brought no repeat referrals | ≥ [`TIER_MIN_REWARDS`] rewards at a tier in the three months, given at least [`TIER_SETTLE_DAYS`] days before the month ended, and none of those referrers referred anyone after their reward |
//! | a channel with clicks and no leads | ≥ [`CHANNEL_MIN_CLICKS`] clicks from a channel this month and no lead from it |
//! | conversion fell | leads → qualified this month below last month's by ≥ 10 points, with ≥ [`CONVERSION_MIN_LEADS`] leads in each |
//! | referrers gone dormant | referrers who referred someone in the two months before and nobody this month |
//! | held too long | rewards waiting for approval, or referrals waiting for review, for more than [`HELD_DAYS`] days |

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};

use crate::model::click::Channel;
use crate::model::report::{DayCounts, Figure, Month, ReferrerFigure, Summary};
use crate::model::settings::{RewardType, Settings};
use crate::values::ids::CustomerId;

pub const TIER_MIN_REWARDS: usize = 2;
pub const TIER_SETTLE_DAYS: i64 = 14;
pub const CHANNEL_MIN_CLICKS: i64 = 10;
pub const CONVERSION_MIN_LEADS: i64 = 5;
pub const HELD_DAYS: i64 = 7;

/// What the findings of a month are computed from.
pub struct Evidence<'a> {
    pub month: Month,
    pub this: &'a Summary,
    pub previous: &'a Summary,
    /// The figures of the month and the two before it.
    pub days: &'a [DayCounts],
    /// Rewards waiting for approval and referrals waiting for review for more than
    /// [`HELD_DAYS`] days (counted up to a limit: `at_least` says the count may be more).
    pub held_rewards: usize,
    pub held_referrals: usize,
    pub at_least: bool,
    pub settings: &'a Settings,
}

pub fn findings(evidence: &Evidence<'_>) -> Vec<String> {
    let mut found = Vec::new();
    found.extend(tiers_without_repeats(evidence));
    found.extend(silent_channels(evidence.this));
    found.extend(conversion_fell(evidence));
    found.extend(dormant_referrers(evidence));
    found.extend(held_too_long(evidence));
    found
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// "the $50 tier (from the 3rd referral)".
fn tier_label(from: u32, settings: &Settings) -> String {
    let tier = settings
        .reward
        .tiers
        .iter()
        .find(|t| t.from_referral == from);
    let value = tier.and_then(
        |t| match (settings.reward.kind, t.amount_cents, t.percent) {
            (RewardType::Discount, _, Some(percent)) => Some(format!("{percent}% off")),
            (_, Some(amount), _) => Some(amount.display(&settings.currency)),
            _ => None,
        },
    );
    match value {
        Some(value) => format!("The {value} tier (from the {} referral)", ordinal(from)),
        None => format!("The tier from the {} referral", ordinal(from)),
    }
}

/// Each referrer's days with a referral.
type Referred<'a> = BTreeMap<&'a CustomerId, BTreeSet<NaiveDate>>;
/// By tier (where it starts): who was paid at it, and when.
type Paid<'a> = BTreeMap<u32, Vec<(&'a CustomerId, NaiveDate)>>;

/// Each referrer's days with a referral, and the days they were paid at each tier.
fn referrer_days(days: &[DayCounts]) -> (Referred<'_>, Paid<'_>) {
    let mut referred: BTreeMap<&CustomerId, BTreeSet<NaiveDate>> = BTreeMap::new();
    let mut paid: BTreeMap<u32, Vec<(&CustomerId, NaiveDate)>> = BTreeMap::new();
    let mut per_day: BTreeMap<(NaiveDate, &Figure), i64> = BTreeMap::new();
    for day in days {
        for (figure, n) in &day.counts {
            *per_day.entry((day.day, figure)).or_default() += n;
        }
    }
    for ((day, figure), n) in per_day {
        if n <= 0 {
            continue;
        }
        if let Figure::Referrer(customer, what) = figure {
            match what {
                ReferrerFigure::Referrals => {
                    referred.entry(customer).or_default().insert(day);
                }
                ReferrerFigure::Tier(from) => paid.entry(*from).or_default().push((customer, day)),
                _ => {}
            }
        }
    }
    (referred, paid)
}

fn tiers_without_repeats(evidence: &Evidence<'_>) -> Vec<String> {
    let (referred, paid) = referrer_days(evidence.days);
    let settled_by = evidence.month.last_day() - Duration::days(TIER_SETTLE_DAYS);
    let mut found = Vec::new();
    for (from, rewards) in paid {
        let rewards: Vec<_> = rewards
            .into_iter()
            .filter(|(_, day)| *day <= settled_by)
            .collect();
        if rewards.len() < TIER_MIN_REWARDS {
            continue;
        }
        let came_back = rewards.iter().any(|(customer, day)| {
            referred.get(customer).is_some_and(|days| {
                days.range(day.succ_opt().unwrap_or(*day)..)
                    .next()
                    .is_some()
            })
        });
        if !came_back {
            let referrers: BTreeSet<_> = rewards.iter().map(|(c, _)| *c).collect();
            found.push(format!(
                "{} paid {} and none of those {} has referred anyone since. Consider a bigger step to the next tier, or a limited-time bonus for their next friend.",
                tier_label(from, evidence.settings),
                plural(rewards.len(), "reward", "rewards"),
                plural(referrers.len(), "referrer", "referrers"),
            ));
        }
    }
    found
}

fn silent_channels(this: &Summary) -> Vec<String> {
    this.by_channel
        .iter()
        .filter_map(|row| {
            let channel = row.channel?;
            (row.clicks >= CHANNEL_MIN_CLICKS && row.leads == 0).then(|| {
                let name = match channel {
                    Channel::Link => "plain links".to_owned(),
                    Channel::Sms => "links shared by text".to_owned(),
                    Channel::Qr => "QR codes".to_owned(),
                    Channel::Social => "links shared on social media".to_owned(),
                    Channel::Email => "links shared by email".to_owned(),
                    Channel::Print => "printed links".to_owned(),
                };
                format!(
                    "{} clicks on {name} brought no leads. Check the page they land on: is the contact form easy to find and use on a phone?",
                    row.clicks
                )
            })
        })
        .collect()
}

fn percent(ratio: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let rounded = (ratio * 100.0).round() as i64;
    rounded
}

fn conversion_fell(evidence: &Evidence<'_>) -> Vec<String> {
    let (this, previous) = (evidence.this, evidence.previous);
    if this.funnel.leads < CONVERSION_MIN_LEADS || previous.funnel.leads < CONVERSION_MIN_LEADS {
        return Vec::new();
    }
    let (Some(now), Some(before)) = (
        this.conversion.lead_to_qualified,
        previous.conversion.lead_to_qualified,
    ) else {
        return Vec::new();
    };
    if percent(before) - percent(now) < 10 {
        return Vec::new();
    }
    vec![format!(
        "Fewer leads became paid jobs than in {}: {}% against {}%. Are referred leads called back as quickly as other leads?",
        evidence.month.previous(),
        percent(now),
        percent(before)
    )]
}

fn dormant_referrers(evidence: &Evidence<'_>) -> Vec<String> {
    let (referred, _) = referrer_days(evidence.days);
    let start = evidence.month.first_day();
    let earlier = evidence.month.previous().previous();
    let dormant = referred
        .values()
        .filter(|days| {
            days.range(earlier.first_day()..start).next().is_some()
                && days.range(start..).next().is_none()
        })
        .count();
    if dormant == 0 {
        return Vec::new();
    }
    vec![format!(
        "{} who sent friends in {} or {} sent none in {}. A thank-you with a limited-time bonus could bring them back.",
        plural(dormant, "referrer", "referrers"),
        earlier,
        evidence.month.previous(),
        evidence.month,
    )]
}

fn held_too_long(evidence: &Evidence<'_>) -> Vec<String> {
    let more = if evidence.at_least { " or more" } else { "" };
    let mut found = Vec::new();
    if evidence.held_rewards > 0 {
        found.push(format!(
            "{}{more} waited for approval for more than {HELD_DAYS} days. Referrers notice when a promised reward is slow.",
            plural(evidence.held_rewards, "reward has", "rewards have"),
        ));
    }
    if evidence.held_referrals > 0 {
        found.push(format!(
            "{}{more} waited for review for more than {HELD_DAYS} days.",
            plural(evidence.held_referrals, "referral has", "referrals have"),
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::referral::Source;
    use crate::rules::summary::summarize;
    use crate::testing::{acme_settings, customer_id};

    fn november() -> Month {
        Month::parse("2026-11").unwrap_or_else(|e| panic!("{e}"))
    }

    fn on(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap_or_else(|| panic!("a date"))
    }

    /// Days from `(day, figure, count)` entries.
    fn days(entries: &[(NaiveDate, Figure, i64)]) -> Vec<DayCounts> {
        let mut by_day: BTreeMap<NaiveDate, BTreeMap<Figure, i64>> = BTreeMap::new();
        for (day, figure, n) in entries {
            *by_day
                .entry(*day)
                .or_default()
                .entry(figure.clone())
                .or_default() += n;
        }
        by_day
            .into_iter()
            .map(|(day, counts)| DayCounts { day, counts })
            .collect()
    }

    fn referrer(id: &str, figure: ReferrerFigure) -> Figure {
        Figure::Referrer(customer_id(id), figure)
    }

    /// The findings of November from these figures (September through November).
    fn found(entries: &[(NaiveDate, Figure, i64)], held: (usize, usize)) -> Vec<String> {
        let days = days(entries);
        let month = november();
        let this = summarize(month.first_day(), month.last_day(), "USD", &days);
        let before = month.previous();
        let previous = summarize(before.first_day(), before.last_day(), "USD", &days);
        findings(&Evidence {
            month,
            this: &this,
            previous: &previous,
            days: &days,
            held_rewards: held.0,
            held_referrals: held.1,
            at_least: false,
            settings: &acme_settings(),
        })
    }

    #[test]
    fn a_tier_whose_rewarded_referrers_never_came_back_is_flagged() {
        let paid = [
            (on(10, 20), referrer("cus_1", ReferrerFigure::Tier(1)), 1),
            (on(11, 3), referrer("cus_2", ReferrerFigure::Tier(1)), 1),
        ];
        let flagged = found(&paid, (0, 0));
        assert_eq!(flagged.len(), 1, "{flagged:?}");
        assert!(
            flagged[0].starts_with(
                "The $25 tier (from the 1st referral) paid 2 rewards and none of those 2 referrers"
            ),
            "{flagged:?}"
        );
        // One of them referred again after the reward: not flagged.
        let mut came_back = paid.to_vec();
        came_back.push((on(11, 20), referrer("cus_2", ReferrerFigure::Referrals), 1));
        assert!(found(&came_back, (0, 0)).is_empty());
        // A referral on the day of the reward is not "after" it.
        let mut same_day = paid.to_vec();
        same_day.push((on(11, 3), referrer("cus_2", ReferrerFigure::Referrals), 1));
        assert_eq!(found(&same_day, (0, 0)).len(), 1);
        // One reward is too few to judge; a reward in the last two weeks has had no time.
        assert!(found(&paid[..1], (0, 0)).is_empty());
        let late = [
            paid[0].clone(),
            (on(11, 20), referrer("cus_2", ReferrerFigure::Tier(1)), 1),
        ];
        assert!(found(&late, (0, 0)).is_empty());
    }

    #[test]
    fn a_channel_with_clicks_and_no_leads_is_flagged() {
        let clicks = |n| (on(11, 5), Figure::Clicks(Channel::Qr), n);
        let flagged = found(&[clicks(10)], (0, 0));
        assert_eq!(
            flagged,
            [
                "10 clicks on QR codes brought no leads. Check the page they land on: is the contact form easy to find and use on a phone?"
            ]
        );
        assert!(found(&[clicks(9)], (0, 0)).is_empty());
        let lead = (on(11, 6), Figure::Leads(Source::Link, Some(Channel::Qr)), 1);
        assert!(found(&[clicks(10), lead], (0, 0)).is_empty());
    }

    #[test]
    fn conversion_falling_ten_points_below_last_month_is_flagged() {
        let month = |m: u32, leads: i64, qualified: i64| {
            vec![
                (on(m, 2), Figure::Leads(Source::Code, None), leads),
                (on(m, 9), Figure::Qualified(Source::Code, None), qualified),
            ]
        };
        let both = |a: Vec<(NaiveDate, Figure, i64)>, b: Vec<(NaiveDate, Figure, i64)>| {
            let mut all = a;
            all.extend(b);
            all
        };
        let flagged = found(&both(month(10, 10, 5), month(11, 10, 4)), (0, 0));
        assert_eq!(flagged.len(), 1, "{flagged:?}");
        assert!(flagged[0].contains("40% against 50%"), "{flagged:?}");
        assert!(found(&both(month(10, 10, 5), month(11, 20, 9)), (0, 0)).is_empty());
        // Too few leads in either month to say.
        assert!(found(&both(month(10, 4, 4), month(11, 10, 0)), (0, 0)).is_empty());
        assert!(found(&both(month(10, 10, 5), month(11, 4, 0)), (0, 0)).is_empty());
    }

    #[test]
    fn referrers_who_went_quiet_this_month_are_counted() {
        let earlier = [
            (on(9, 12), referrer("cus_1", ReferrerFigure::Referrals), 1),
            (on(10, 2), referrer("cus_2", ReferrerFigure::Referrals), 1),
        ];
        assert_eq!(
            found(&earlier, (0, 0)),
            [
                "2 referrers who sent friends in 2026-09 or 2026-10 sent none in 2026-11. A thank-you with a limited-time bonus could bring them back."
            ]
        );
        let mut one_back = earlier.to_vec();
        one_back.push((on(11, 15), referrer("cus_2", ReferrerFigure::Referrals), 1));
        assert!(found(&one_back, (0, 0))[0].starts_with("1 referrer who"));
        let mut both_back = one_back.clone();
        both_back.push((on(11, 16), referrer("cus_1", ReferrerFigure::Referrals), 1));
        assert!(found(&both_back, (0, 0)).is_empty());
    }

    #[test]
    fn approvals_and_reviews_waiting_over_a_week_are_flagged() {
        assert_eq!(
            found(&[], (2, 1)),
            [
                "2 rewards have waited for approval for more than 7 days. Referrers notice when a promised reward is slow.",
                "1 referral has waited for review for more than 7 days."
            ]
        );
        assert!(found(&[], (0, 0)).is_empty());
    }
}
