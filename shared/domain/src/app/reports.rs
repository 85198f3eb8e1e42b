//! Reports: the summary of a range of days, the leaderboard (staff's and the public one), and
//! the monthly report the scheduler writes on the 1st. Everything is read from figures and rows
//! kept when things happened: no request reads more as the business grows.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde::Serialize;
use serde_json::json;

use super::Vouch;
use crate::model::business::Business;
use crate::model::events::{DomainEvent, REPORT_GENERATED};
use crate::model::referral::Status as ReferralStatus;
use crate::model::report::{BoardRow, Month, MonthlyReport, PeriodKind, Summary};
use crate::model::reward::RewardStatus;
use crate::ports::{Finish, Written};
use crate::rules::findings::{self, Evidence, HELD_DAYS};
use crate::rules::summary::summarize;
use crate::values::error::{Error, FieldErrors, Result};
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::{display_name, full_name};
use crate::values::time::{TimeZone, local_day};

/// The longest range a summary covers.
pub const MAX_RANGE_DAYS: i64 = 400;
pub const DEFAULT_BOARD: u32 = 10;
pub const MAX_BOARD: u32 = 100;
/// The monthly report is written this long after the month ends (local time on the 1st), so
/// the last evening's invoices are in it.
const REPORT_AFTER: NaiveTime = match NaiveTime::from_hms_opt(1, 0, 0) {
    Some(time) => time,
    None => NaiveTime::MIN,
};

/// One row of a leaderboard, ranked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    pub rank: u32,
    pub row: BoardRow,
    pub vip: bool,
}

impl Ranked {
    /// "Maria G.": what the public page shows.
    pub fn masked_name(&self) -> String {
        display_name(&self.row.first_name, self.row.last_name.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub business_name: String,
    pub period: PeriodKind,
    pub items: Vec<Ranked>,
}

/// `YYYY-MM-DD` or the field's reason.
fn date(field: &str, raw: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(day) if raw.len() == 10 => Some(day),
        _ => {
            errors.insert(field.into(), "must be a date YYYY-MM-DD".into());
            None
        }
    }
}

/// A new business's first report: the month it is created in (its zone's), and when it is due.
/// Each report written queues the next.
pub(crate) fn first_report(zone: TimeZone, created_at: DateTime<Utc>) -> (Month, DateTime<Utc>) {
    let month = Month::of(local_day(zone, created_at));
    (month, report_due(month, zone))
}

/// When a month's report is due: 01:00 on the next month's 1st, in the business's zone.
pub fn report_due(month: Month, zone: TimeZone) -> DateTime<Utc> {
    let local = month.next().first_day().and_time(REPORT_AFTER);
    zone.tz()
        .from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

impl Vouch {
    /// `GET /api/admin/reports/summary?from&to`: local days, inclusive; the current month by
    /// default.
    pub async fn summary(
        &self,
        business_id: &BusinessId,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Summary> {
        let business = self.existing_business(business_id).await?;
        let today = local_day(business.settings.time_zone, self.now());
        let month = Month::of(today);
        let mut errors = FieldErrors::new();
        let from = from.map_or(Some(month.first_day()), |raw| {
            date("from", raw, &mut errors)
        });
        let to = to.map_or(Some(month.last_day()), |raw| date("to", raw, &mut errors));
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                errors.insert("from".into(), "must not be after to".into());
            } else if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
                errors.insert(
                    "to".into(),
                    format!("the range may cover at most {MAX_RANGE_DAYS} days"),
                );
            }
        }
        let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };
        self.summary_of(&business, from, to).await
    }

    /// The summary of the last `months` months up to this one (local time), by month: what
    /// the dashboard's home compares and charts.
    pub async fn recent_months(&self, business_id: &BusinessId, months: u32) -> Result<Summary> {
        let business = self.existing_business(business_id).await?;
        let this = Month::of(local_day(business.settings.time_zone, self.now()));
        let mut first = this;
        for _ in 1..months.clamp(1, 12) {
            first = first.previous();
        }
        self.summary_of(&business, first.first_day(), this.last_day())
            .await
    }

    async fn summary_of(
        &self,
        business: &Business,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Summary> {
        let days = self.ports.reports.days(&business.id, from, to).await?;
        let mut summary = summarize(from, to, business.settings.currency.as_str(), &days);
        self.name_referrers(&business.id, &mut summary).await?;
        Ok(summary)
    }

    async fn name_referrers(&self, business: &BusinessId, summary: &mut Summary) -> Result<()> {
        let ids: Vec<_> = summary
            .top_referrers
            .iter()
            .map(|r| r.customer_id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let names = self.ports.reports.names(business, &ids).await?;
        for referrer in &mut summary.top_referrers {
            if let Some((_, first, last)) =
                names.iter().find(|(id, ..)| *id == referrer.customer_id)
            {
                referrer.name = full_name(first, last.as_ref());
            }
        }
        Ok(())
    }

    /// Participants' full names by id (at most 100 at once, one request); ids that are not
    /// participants are left out.
    pub async fn participant_names(
        &self,
        business: &BusinessId,
        ids: &[CustomerId],
    ) -> Result<std::collections::HashMap<CustomerId, String>> {
        let mut unique: Vec<CustomerId> = ids.to_vec();
        unique.sort();
        unique.dedup();
        unique.truncate(100);
        if unique.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let names = self.ports.reports.names(business, &unique).await?;
        Ok(names
            .into_iter()
            .map(|(id, first, last)| (id, full_name(&first, last.as_ref())))
            .collect())
    }

    /// `GET /api/admin/leaderboard?period&limit`.
    pub async fn leaderboard(
        &self,
        business_id: &BusinessId,
        period: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Board> {
        let business = self.existing_business(business_id).await?;
        let period = match period {
            None => PeriodKind::All,
            Some(raw) => PeriodKind::parse(raw)
                .ok_or_else(|| Error::field("period", "must be all, year or month"))?,
        };
        let limit = limit.unwrap_or(DEFAULT_BOARD);
        if !(1..=MAX_BOARD).contains(&limit) {
            return Err(Error::field("limit", "must be between 1 and 100"));
        }
        self.board_of(&business, period, limit).await
    }

    /// The public leaderboard of a business that turned it on (`NotFound` otherwise, and for
    /// a business that does not exist).
    pub async fn public_leaderboard(&self, raw_id: &str, period: Option<&str>) -> Result<Board> {
        let business = match BusinessId::parse(raw_id) {
            Ok(id) => self.business(&id).await?,
            Err(_) => None,
        };
        let business = business
            .filter(|b| b.settings.public_leaderboard)
            .ok_or(Error::NotFound("leaderboard"))?;
        let period = match period {
            None => PeriodKind::All,
            Some(raw) => PeriodKind::parse(raw)
                .ok_or_else(|| Error::field("period", "must be all, year or month"))?,
        };
        self.board_of(&business, period, DEFAULT_BOARD).await
    }

    async fn board_of(&self, business: &Business, kind: PeriodKind, limit: u32) -> Result<Board> {
        let period = kind.at(business.settings.time_zone, self.now());
        let rows = self
            .ports
            .reports
            .board(&business.id, period, limit)
            .await?;
        let vip_after = business.settings.vip_after;
        let items = rows
            .into_iter()
            .zip(1..)
            .map(|(row, rank)| Ranked {
                rank,
                vip: vip_after > 0 && row.qualified_all_time >= vip_after,
                row,
            })
            .collect();
        Ok(Board {
            business_name: business.settings.name.clone(),
            period: kind,
            items,
        })
    }

    /// `GET /api/admin/reports/monthly`: the months with a report, newest first.
    pub async fn report_months(&self, business_id: &BusinessId) -> Result<Vec<Month>> {
        self.existing_business(business_id).await?;
        Ok(self.ports.reports.report_months(business_id, 120).await?)
    }

    /// `GET /api/admin/reports/monthly/{YYYY-MM}`.
    pub async fn monthly_report(
        &self,
        business_id: &BusinessId,
        raw: &str,
    ) -> Result<MonthlyReport> {
        let month = Month::parse(raw).map_err(|e| Error::field("month", e.reason()))?;
        self.existing_business(business_id).await?;
        self.ports
            .reports
            .report(business_id, month)
            .await?
            .ok_or(Error::NotFound("report"))
    }

    /// The scheduler's part in reports: writes each due month's report once, queues the next
    /// and publishes `report.generated`. Returns how many were written.
    pub(crate) async fn write_due_reports(&self) -> Result<u32> {
        let now = self.now();
        let mut written = 0;
        for (business_id, month) in self.ports.reports.due_reports(now, 25).await? {
            let Some(business) = self.business(&business_id).await? else {
                continue;
            };
            let report = self.monthly(&business, month).await?;
            let next_due = report_due(month.next(), business.settings.time_zone);
            let event = DomainEvent::new(
                REPORT_GENERATED,
                &business.id,
                now,
                json!({"month": month.to_string(),
                       "qualified": report.summary.funnel.qualified,
                       "revenue_attributed_cents": report.summary.revenue_attributed_cents,
                       "reward_cost_cents": report.summary.reward_cost_cents,
                       "findings": report.findings.len()}),
            );
            match self
                .ports
                .reports
                .save_report(&business.id, &report, &event, next_due)
                .await?
            {
                Written::Applied => {
                    written += 1;
                    if self
                        .ports
                        .events
                        .publish(std::slice::from_ref(&event))
                        .await
                        .is_ok()
                    {
                        let finish = Finish {
                            published: vec![event.event_id.clone()],
                            ..Finish::default()
                        };
                        if let Err(err) = self.ports.program.finish(&business.id, &finish).await {
                            tracing::warn!(error = ?err, "the sweep will publish report.generated again");
                        }
                    }
                }
                Written::Refused => {
                    tracing::info!(business_id = %business.id, %month, "the report was written already");
                }
            }
        }
        Ok(written)
    }

    /// A month's report: its summary and findings, as of now.
    async fn monthly(&self, business: &Business, month: Month) -> Result<MonthlyReport> {
        let now = self.now();
        let earliest = month.previous().previous();
        let days = self
            .ports
            .reports
            .days(&business.id, earliest.first_day(), month.last_day())
            .await?;
        let currency = business.settings.currency.as_str();
        let mut this = summarize(month.first_day(), month.last_day(), currency, &days);
        let previous_month = month.previous();
        let previous = summarize(
            previous_month.first_day(),
            previous_month.last_day(),
            currency,
            &days,
        );
        self.name_referrers(&business.id, &mut this).await?;
        let cutoff = now - Duration::days(HELD_DAYS);
        let rewards = self
            .ports
            .rewards
            .rewards(&business.id, Some(RewardStatus::Pending), 100, None)
            .await?;
        let referrals = self
            .ports
            .referrals
            .referrals(&business.id, Some(ReferralStatus::NeedsReview), 100, None)
            .await?;
        let evidence = Evidence {
            month,
            this: &this,
            previous: &previous,
            days: &days,
            held_rewards: rewards
                .items
                .iter()
                .filter(|r| r.created_at < cutoff)
                .count(),
            held_referrals: referrals
                .items
                .iter()
                .filter(|r| r.updated_at < cutoff)
                .count(),
            at_least: rewards.next.is_some() || referrals.next.is_some(),
            settings: &business.settings,
        };
        let findings = findings::findings(&evidence);
        Ok(MonthlyReport {
            month,
            generated_at: now,
            summary: this,
            findings,
        })
    }
}
