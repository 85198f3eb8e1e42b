//! What reports are made of: figures counted per business per local day when things happen, the
//! leaderboard's periods and rows, and the monthly report kept once written. How each figure is
//! defined lives in [`crate::rules::figures`]; how a summary is read from them in
//! [`crate::rules::summary`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::click::Channel;
use crate::model::referral::Source;
use crate::values::ids::CustomerId;
use crate::values::person::PersonName;
use crate::values::time::TimeZone;

/// One counter of a business's day. Leads, referrals, qualified referrals and revenue are kept
/// by source and channel (`None`: no click behind it — a typed code, a mention, a phone-in or
/// staff); totals are their sums.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Figure {
    /// Invitation texts that went out.
    Invited,
    /// Participants enrolled.
    Enrolled,
    Clicks(Channel),
    Leads(Source, Option<Channel>),
    Referrals(Source, Option<Channel>),
    Qualified(Source, Option<Channel>),
    /// Invoice totals of the qualified referrals, in cents.
    Revenue(Source, Option<Channel>),
    /// Referrer rewards given (not canceled or reversed).
    Rewarded,
    /// What the rewards cost, in cents (referrer's and friend's).
    RewardCost,
    /// Accepted referrals whose attribution was later reversed (counted when it happened).
    Reversed,
    /// One referrer's figures, for top referrers and findings.
    Referrer(CustomerId, ReferrerFigure),
}

/// A referrer's own figures of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReferrerFigure {
    Referrals,
    Qualified,
    Revenue,
    /// Reward value in cents.
    Rewards,
    /// A reward paid at the tier that starts at this referral number.
    Tier(u32),
}

const NONE: &str = "none";

fn channel_name(channel: Option<Channel>) -> &'static str {
    channel.map_or(NONE, Channel::as_str)
}

fn channel_of(raw: &str) -> Option<Option<Channel>> {
    if raw == NONE {
        return Some(None);
    }
    Channel::ALL
        .into_iter()
        .find(|c| c.as_str() == raw)
        .map(Some)
}

fn source_of(raw: &str) -> Option<Source> {
    Source::ALL.into_iter().find(|s| s.as_str() == raw)
}

impl Figure {
    /// The stored name: `clicks.sms`, `leads.link.qr`, `referrer.qualified:{customer}` …
    pub fn name(&self) -> String {
        match self {
            Figure::Invited => "invited".into(),
            Figure::Enrolled => "enrolled".into(),
            Figure::Clicks(channel) => format!("clicks.{}", channel.as_str()),
            Figure::Leads(s, c) => format!("leads.{}.{}", s.as_str(), channel_name(*c)),
            Figure::Referrals(s, c) => format!("referrals.{}.{}", s.as_str(), channel_name(*c)),
            Figure::Qualified(s, c) => format!("qualified.{}.{}", s.as_str(), channel_name(*c)),
            Figure::Revenue(s, c) => format!("revenue.{}.{}", s.as_str(), channel_name(*c)),
            Figure::Rewarded => "rewarded".into(),
            Figure::RewardCost => "reward_cost".into(),
            Figure::Reversed => "reversed".into(),
            Figure::Referrer(customer, figure) => {
                let what = match figure {
                    ReferrerFigure::Referrals => "referrals".to_owned(),
                    ReferrerFigure::Qualified => "qualified".to_owned(),
                    ReferrerFigure::Revenue => "revenue".to_owned(),
                    ReferrerFigure::Rewards => "rewards".to_owned(),
                    ReferrerFigure::Tier(from) => format!("tier{from}"),
                };
                format!("referrer.{what}:{customer}")
            }
        }
    }

    /// The figure a stored name stands for; `None` for a name this version does not know.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(rest) = name.strip_prefix("referrer.") {
            let (what, customer) = rest.split_once(':')?;
            let customer = CustomerId::parse(customer).ok()?;
            let figure = match what {
                "referrals" => ReferrerFigure::Referrals,
                "qualified" => ReferrerFigure::Qualified,
                "revenue" => ReferrerFigure::Revenue,
                "rewards" => ReferrerFigure::Rewards,
                other => ReferrerFigure::Tier(other.strip_prefix("tier")?.parse().ok()?),
            };
            return Some(Figure::Referrer(customer, figure));
        }
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            ["invited"] => Some(Figure::Invited),
            ["enrolled"] => Some(Figure::Enrolled),
            ["rewarded"] => Some(Figure::Rewarded),
            ["reward_cost"] => Some(Figure::RewardCost),
            ["reversed"] => Some(Figure::Reversed),
            ["clicks", channel] => Some(Figure::Clicks(channel_of(channel)??)),
            [kind, source, channel] => {
                let (source, channel) = (source_of(source)?, channel_of(channel)?);
                match *kind {
                    "leads" => Some(Figure::Leads(source, channel)),
                    "referrals" => Some(Figure::Referrals(source, channel)),
                    "qualified" => Some(Figure::Qualified(source, channel)),
                    "revenue" => Some(Figure::Revenue(source, channel)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Changes to a business's daily figures, made by one write: `(local day, figure) → delta`,
/// ordered by day then figure. Zero deltas are dropped.
///
/// A sorted list, not a map: a write changes a handful of figures (a click one), and a click's
/// tally is made on every counted click.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(Vec<((NaiveDate, Figure), i64)>);

impl Tally {
    pub fn add(&mut self, day: NaiveDate, figure: Figure, delta: i64) {
        if delta == 0 {
            return;
        }
        match self.position(day, &figure) {
            Ok(at) => {
                let Some((_, entry)) = self.0.get_mut(at) else {
                    return;
                };
                *entry += delta;
                if *entry == 0 {
                    self.0.remove(at);
                }
            }
            Err(at) => self.0.insert(at, ((day, figure), delta)),
        }
    }

    /// Adds every change of `other`, each multiplied by `sign` (1 or -1).
    pub fn merge(&mut self, other: &Tally, sign: i64) {
        for ((day, figure), delta) in &other.0 {
            self.add(*day, figure.clone(), delta * sign);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The changes, day by day: each day's figures and their deltas.
    pub fn days(&self) -> BTreeMap<NaiveDate, Vec<(&Figure, i64)>> {
        let mut days: BTreeMap<NaiveDate, Vec<(&Figure, i64)>> = BTreeMap::new();
        for ((day, figure), delta) in &self.0 {
            days.entry(*day).or_default().push((figure, *delta));
        }
        days
    }

    pub fn get(&self, day: NaiveDate, figure: &Figure) -> i64 {
        self.position(day, figure)
            .ok()
            .and_then(|at| self.0.get(at))
            .map_or(0, |(_, delta)| *delta)
    }

    /// Where `(day, figure)` is in the list, or where it would go.
    fn position(&self, day: NaiveDate, figure: &Figure) -> Result<usize, usize> {
        self.0
            .binary_search_by(|((d, f), _)| (d, f).cmp(&(&day, figure)))
    }

    pub fn iter(&self) -> impl Iterator<Item = (NaiveDate, &Figure, i64)> {
        self.0.iter().map(|((d, f), v)| (*d, f, *v))
    }
}

/// A business's figures of one local day, as stored (possibly in several parts that add up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub day: NaiveDate,
    pub counts: BTreeMap<Figure, i64>,
}

/// A leaderboard's period, in the business's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    All,
    Year(i32),
    Month(i32, u32),
}

/// Which period a leaderboard is asked for, relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    #[default]
    All,
    Year,
    Month,
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 3] = [PeriodKind::All, PeriodKind::Year, PeriodKind::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::All => "all",
            PeriodKind::Year => "year",
            PeriodKind::Month => "month",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The period of this kind that `at` falls in, in `zone`.
    pub fn at(self, zone: TimeZone, at: DateTime<Utc>) -> Period {
        let local = at.with_timezone(&zone.tz());
        match self {
            PeriodKind::All => Period::All,
            PeriodKind::Year => Period::Year(local.year()),
            PeriodKind::Month => Period::Month(local.year(), local.month()),
        }
    }
}

impl Period {
    /// The three periods a moment counts in: all time, its year and its month.
    pub fn containing(zone: TimeZone, at: DateTime<Utc>) -> [Period; 3] {
        PeriodKind::ALL.map(|kind| kind.at(zone, at))
    }

    /// `all`, `2026`, `2026-11`.
    pub fn key(self) -> String {
        match self {
            Period::All => "all".into(),
            Period::Year(year) => format!("{year:04}"),
            Period::Month(year, month) => format!("{year:04}-{month:02}"),
        }
    }
}

/// One participant's standing in one period, as the leaderboard keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRow {
    pub customer_id: CustomerId,
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    /// Qualified referrals in the period.
    pub qualified: u32,
    /// When the participant reached that count (ties: earlier first).
    pub reached_at: DateTime<Utc>,
    /// Reward value earned in the period, in cents.
    pub rewards_earned_cents: i64,
    /// The participant's qualified referrals of all time, when the row was written (for VIP).
    pub qualified_all_time: u32,
}

/// A change to one participant's leaderboard row of one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardMove {
    pub customer_id: CustomerId,
    pub period: Period,
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    /// The new count and when it was reached, when the count moved (`0`: off the board).
    pub qualified: Option<(u32, DateTime<Utc>)>,
    pub earned_cents: i64,
    pub qualified_all_time: u32,
}

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(raw: &str) -> Result<Self, crate::values::error::ParseError> {
        let bad = || crate::values::error::ParseError::new("must be a month YYYY-MM");
        let (year, month) = raw.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let (year, month) = (
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
        );
        NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Self { year, month })
    }

    pub fn of(day: NaiveDate) -> Self {
        Self {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl TryFrom<String> for Month {
    type Error = crate::values::error::ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Month> for String {
    fn from(month: Month) -> String {
        month.to_string()
    }
}

/// The funnel's counts over a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub invited: i64,
    pub participants: i64,
    pub clicks: i64,
    pub leads: i64,
    pub referrals: i64,
    pub qualified: i64,
    pub rewarded: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    /// Leads per click; `None` without clicks.
    pub click_to_lead: Option<f64>,
    /// Qualified referrals per lead; `None` without leads.
    pub lead_to_qualified: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRow {
    pub source: Source,
    pub leads: i64,
    pub qualified: i64,
    pub revenue_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRow {
    /// `None`: no click behind it (shown as `none`).
    pub channel: Option<Channel>,
    pub clicks: i64,
    pub leads: i64,
    pub qualified: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthRow {
    pub month: Month,
    pub funnel: Funnel,
    pub revenue_attributed_cents: i64,
    pub reward_cost_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopReferrer {
    pub customer_id: CustomerId,
    pub name: String,
    pub qualified: i64,
    pub revenue_cents: i64,
    pub rewards_cents: i64,
}

/// What the program did over a range of local days (see [`crate::rules::summary`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: String,
    pub funnel: Funnel,
    pub conversion: Conversion,
    pub revenue_attributed_cents: i64,
    /// Revenue per qualified referral; `None` without one.
    pub average_job_cents: Option<i64>,
    pub reward_cost_cents: i64,
    /// (revenue − reward cost) / reward cost; `None` when nothing was spent.
    pub roi: Option<f64>,
    pub by_source: Vec<SourceRow>,
    pub by_channel: Vec<ChannelRow>,
    pub by_month: Vec<MonthRow>,
    pub top_referrers: Vec<TopReferrer>,
}

/// A month's report as kept: the month's summary and what stands out in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReport {
    pub month: Month,
    pub generated_at: DateTime<Utc>,
    pub summary: Summary,
    pub findings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_name_reads_back_as_the_same_figure() {
        let customer = CustomerId::parse("cus.1:x#y").unwrap();
        let mut figures = vec![
            Figure::Invited,
            Figure::Enrolled,
            Figure::Rewarded,
            Figure::RewardCost,
            Figure::Reversed,
        ];
        for channel in Channel::ALL {
            figures.push(Figure::Clicks(channel));
        }
        for source in Source::ALL {
            for channel in Channel::ALL.map(Some).into_iter().chain([None]) {
                figures.push(Figure::Leads(source, channel));
                figures.push(Figure::Referrals(source, channel));
                figures.push(Figure::Qualified(source, channel));
                figures.push(Figure::Revenue(source, channel));
            }
        }
        for figure in [
            ReferrerFigure::Referrals,
            ReferrerFigure::Qualified,
            ReferrerFigure::Revenue,
            ReferrerFigure::Rewards,
            ReferrerFigure::Tier(3),
        ] {
            figures.push(Figure::Referrer(customer.clone(), figure));
        }
        for figure in figures {
            assert_eq!(
                Figure::parse(&figure.name()),
                Some(figure.clone()),
                "{figure}"
            );
        }
        for unknown in [
            "",
            "clicks",
            "clicks.fax",
            "leads.link",
            "bogus.link.sms",
            "referrer.x:1",
        ] {
            assert_eq!(Figure::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn a_tally_adds_up_and_forgets_what_cancels_out() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut tally = Tally::default();
        tally.add(day, Figure::Invited, 2);
        tally.add(day, Figure::Invited, -2);
        tally.add(day, Figure::Rewarded, 0);
        assert!(tally.is_empty());
        tally.add(day, Figure::RewardCost, 2500);
        let mut other = Tally::default();
        other.merge(&tally, -1);
        assert_eq!(other.get(day, &Figure::RewardCost), -2500);
    }

    proptest::proptest! {
        /// A tally is the sum of its changes by day and figure, zeros left out, in order.
        #[test]
        fn a_tally_is_its_changes_summed_in_order(
            changes in proptest::collection::vec((0u64..3, 0usize..4, -2i64..3), 0..40)
        ) {
            let first = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
            let figures = [
                Figure::Invited,
                Figure::Enrolled,
                Figure::Clicks(crate::model::click::Channel::Sms),
                Figure::RewardCost,
            ];
            let mut tally = Tally::default();
            let mut model = BTreeMap::new();
            for (day, figure, delta) in changes {
                let day = first + chrono::Days::new(day);
                tally.add(day, figures[figure].clone(), delta);
                *model.entry((day, figures[figure].clone())).or_insert(0) += delta;
            }
            model.retain(|_, delta| *delta != 0);
            let summed: Vec<_> = tally.iter().map(|(d, f, v)| ((d, f.clone()), v)).collect();
            proptest::prop_assert_eq!(summed, model.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn months_parse_step_and_know_their_days() {
        let month = Month::parse("2026-12").unwrap();
        assert_eq!(month.next().to_string(), "2027-01");
        assert_eq!(month.previous().to_string(), "2026-11");
        assert_eq!(
            Month::parse("2024-02").unwrap().last_day().to_string(),
            "2024-02-29"
        );
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_moment_counts_in_its_local_month_and_year() {
        let chicago = TimeZone::parse("America/Chicago").unwrap();
        // 23:30 on New Year's Eve in Chicago is already January in UTC.
        let at = DateTime::parse_from_rfc3339("2027-01-01T05:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Period::containing(chicago, at),
            [Period::All, Period::Year(2026), Period::Month(2026, 12)]
        );
        assert_eq!(Period::Month(2026, 2).key(), "2026-02");
    }
}
