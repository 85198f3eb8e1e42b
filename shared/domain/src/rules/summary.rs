//! A summary read from daily figures: the funnel, conversion, money, breakdowns and top
//! referrers of a range of local days.
//!
//! - `click_to_lead` = leads / clicks; `lead_to_qualified` = qualified / leads (4 decimals;
//!   `null` when the divisor is zero);
//! - `revenue_attributed_cents` = invoice totals of the referrals qualified in the range;
//!   `average_job_cents` = that / qualified (rounded; `null` without one);
//! - `roi` = (revenue − reward cost) / reward cost (4 decimals; `null` when nothing was spent);
//! - top referrers: most qualified, then most revenue, then customer id; at most
//!   [`TOP_REFERRERS`], those with a qualified referral or a reward in the range.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::model::click::Channel;
use crate::model::referral::Source;
use crate::model::report::{
    ChannelRow, Conversion, DayCounts, Figure, Funnel, Month, MonthRow, ReferrerFigure, SourceRow,
    Summary, TopReferrer,
};
use crate::values::ids::CustomerId;

pub const TOP_REFERRERS: usize = 10;

/// A ratio to four decimals; `None` when there is nothing to divide by.
pub fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    (denominator != 0)
        .then(|| ((numerator as f64 / denominator as f64) * 10_000.0).round() / 10_000.0)
}

#[derive(Default)]
struct Money {
    revenue: i64,
    cost: i64,
}

fn count_into(funnel: &mut Funnel, money: &mut Money, figure: &Figure, n: i64) {
    match figure {
        Figure::Invited => funnel.invited += n,
        Figure::Enrolled => funnel.participants += n,
        Figure::Clicks(_) => funnel.clicks += n,
        Figure::Leads(..) => funnel.leads += n,
        Figure::Referrals(..) => funnel.referrals += n,
        Figure::Qualified(..) => funnel.qualified += n,
        Figure::Revenue(..) => money.revenue += n,
        Figure::Rewarded => funnel.rewarded += n,
        Figure::RewardCost => money.cost += n,
        Figure::Reversed | Figure::Referrer(..) => {}
    }
}

#[derive(Default)]
struct ReferrerTotals {
    qualified: i64,
    revenue: i64,
    rewards: i64,
}

/// The summary of `from` through `to` from the days' figures (parts of a day add up; days
/// outside the range are ignored). Top referrers come without names: the caller adds them.
pub fn summarize(from: NaiveDate, to: NaiveDate, currency: &str, days: &[DayCounts]) -> Summary {
    let mut funnel = Funnel::default();
    let mut money = Money::default();
    let mut months: BTreeMap<Month, (Funnel, Money)> = BTreeMap::new();
    let mut sources: BTreeMap<Source, SourceRow> = BTreeMap::new();
    let mut channels: BTreeMap<Option<Channel>, ChannelRow> = BTreeMap::new();
    let mut referrers: BTreeMap<CustomerId, ReferrerTotals> = BTreeMap::new();
    let mut month = from;
    while month <= to {
        months.entry(Month::of(month)).or_default();
        month = Month::of(month).next().first_day();
    }
    for day in days.iter().filter(|d| d.day >= from && d.day <= to) {
        let (month_funnel, month_money) = months.entry(Month::of(day.day)).or_default();
        for (figure, &n) in &day.counts {
            count_into(&mut funnel, &mut money, figure, n);
            count_into(month_funnel, month_money, figure, n);
            let source_row = |source: Source| SourceRow {
                source,
                leads: 0,
                qualified: 0,
                revenue_cents: 0,
            };
            let channel_row = |channel: Option<Channel>| ChannelRow {
                channel,
                clicks: 0,
                leads: 0,
                qualified: 0,
            };
            match figure {
                Figure::Clicks(c) => {
                    channels
                        .entry(Some(*c))
                        .or_insert_with(|| channel_row(Some(*c)))
                        .clicks += n;
                }
                Figure::Leads(s, c) => {
                    sources.entry(*s).or_insert_with(|| source_row(*s)).leads += n;
                    channels.entry(*c).or_insert_with(|| channel_row(*c)).leads += n;
                }
                Figure::Qualified(s, c) => {
                    sources
                        .entry(*s)
                        .or_insert_with(|| source_row(*s))
                        .qualified += n;
                    channels
                        .entry(*c)
                        .or_insert_with(|| channel_row(*c))
                        .qualified += n;
                }
                Figure::Revenue(s, _) => {
                    sources
                        .entry(*s)
                        .or_insert_with(|| source_row(*s))
                        .revenue_cents += n;
                }
                Figure::Referrer(customer, what) => {
                    let totals = referrers.entry(customer.clone()).or_default();
                    match what {
                        ReferrerFigure::Qualified => totals.qualified += n,
                        ReferrerFigure::Revenue => totals.revenue += n,
                        ReferrerFigure::Rewards => totals.rewards += n,
                        ReferrerFigure::Referrals | ReferrerFigure::Tier(_) => {}
                    }
                }
                _ => {}
            }
        }
    }
    let mut top: Vec<TopReferrer> = referrers
        .into_iter()
        .filter(|(_, t)| t.qualified > 0 || t.rewards > 0)
        .map(|(customer_id, t)| TopReferrer {
            customer_id,
            name: String::new(),
            qualified: t.qualified,
            revenue_cents: t.revenue,
            rewards_cents: t.rewards,
        })
        .collect();
    top.sort_by(|a, b| {
        b.qualified
            .cmp(&a.qualified)
            .then(b.revenue_cents.cmp(&a.revenue_cents))
            .then(a.customer_id.cmp(&b.customer_id))
    });
    top.truncate(TOP_REFERRERS);
    // Every source and channel is listed, so a chart or a spreadsheet has a stable shape.
    let by_source = Source::ALL
        .into_iter()
        .map(|s| {
            sources.remove(&s).unwrap_or(SourceRow {
                source: s,
                leads: 0,
                qualified: 0,
                revenue_cents: 0,
            })
        })
        .collect();
    let by_channel = Channel::ALL
        .map(Some)
        .into_iter()
        .chain([None])
        .map(|c| {
            channels.remove(&c).unwrap_or(ChannelRow {
                channel: c,
                clicks: 0,
                leads: 0,
                qualified: 0,
            })
        })
        .collect();
    Summary {
        from,
        to,
        currency: currency.to_owned(),
        funnel,
        conversion: Conversion {
            click_to_lead: ratio(funnel.leads, funnel.clicks),
            lead_to_qualified: ratio(funnel.qualified, funnel.leads),
        },
        revenue_attributed_cents: money.revenue,
        average_job_cents: (funnel.qualified > 0)
            .then(|| (money.revenue + funnel.qualified / 2) / funnel.qualified),
        reward_cost_cents: money.cost,
        roi: ratio(money.revenue - money.cost, money.cost),
        by_source,
        by_channel,
        by_month: months
            .into_iter()
            .map(|(month, (funnel, money))| MonthRow {
                month,
                funnel,
                revenue_attributed_cents: money.revenue,
                reward_cost_cents: money.cost,
            })
            .collect(),
        top_referrers: top,
    }
}
