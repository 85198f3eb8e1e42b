//! Reports: the daily figures and leaderboard rows written with the changes that move them,
//! read back by range and by period; the monthly reports kept once written, and the queue that
//! says which business's report is due.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::model::events::DomainEvent;
use crate::model::report::{BoardRow, DayCounts, Month, MonthlyReport, Period};
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::PersonName;

use super::Written;

#[async_trait]
pub trait Reports: Send + Sync {
    /// The figures of the days from `from` through `to` (local days, inclusive). A day may come
    /// in several parts: they add up. None when `from` is after `to`.
    async fn days(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<DayCounts>>;
    /// The first `limit` rows of a period's leaderboard: most qualified first, then who reached
    /// their count first. Rows with no qualified referral are not on it.
    async fn board(
        &self,
        business: &BusinessId,
        period: Period,
        limit: u32,
    ) -> anyhow::Result<Vec<BoardRow>>;
    /// Participants' names, for rows that carry only ids (at most 100 asked at once).
    async fn names(
        &self,
        business: &BusinessId,
        customers: &[CustomerId],
    ) -> anyhow::Result<Vec<(CustomerId, PersonName, Option<PersonName>)>>;
    /// Keeps a month's report unless one is kept already, with its event in the outbox, and
    /// queues the next month's as due at `next_due`, together.
    async fn save_report(
        &self,
        business: &BusinessId,
        report: &MonthlyReport,
        event: &DomainEvent,
        next_due: DateTime<Utc>,
    ) -> anyhow::Result<Written>;
    async fn report(
        &self,
        business: &BusinessId,
        month: Month,
    ) -> anyhow::Result<Option<MonthlyReport>>;
    /// The months with a kept report, newest first.
    async fn report_months(&self, business: &BusinessId, limit: u32) -> anyhow::Result<Vec<Month>>;
    /// Businesses whose report is due by `now`, with the month due, across businesses.
    async fn due_reports(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Month)>>;
}
