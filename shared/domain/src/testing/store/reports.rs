//! The in-memory store's reports: daily figures, leaderboard rows, kept reports and their queue.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::model::events::DomainEvent;
use crate::model::report::{BoardMove, BoardRow, DayCounts, Month, MonthlyReport, Period, Tally};
use crate::ports::{Reports, Written};
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::PersonName;

use super::{InMemoryStore, State};

impl State {
    pub(super) fn tally(&mut self, business: &BusinessId, tally: &Tally) {
        let days = self.days.entry(business.clone()).or_default();
        for (day, figure, delta) in tally.iter() {
            *days
                .entry(day)
                .or_default()
                .entry(figure.clone())
                .or_default() += delta;
        }
    }

    pub(super) fn move_board(&mut self, business: &BusinessId, moves: &[BoardMove]) {
        for change in moves {
            let key = (
                business.clone(),
                change.period.key(),
                change.customer_id.clone(),
            );
            if let Some(old) = self.board.get(&key) {
                self.ranking.remove(&rank(business, &key.1, old));
            }
            let row = self.board.entry(key.clone()).or_insert_with(|| BoardRow {
                customer_id: change.customer_id.clone(),
                first_name: change.first_name.clone(),
                last_name: change.last_name.clone(),
                qualified: 0,
                reached_at: DateTime::UNIX_EPOCH,
                rewards_earned_cents: 0,
                qualified_all_time: 0,
            });
            row.first_name = change.first_name.clone();
            row.last_name = change.last_name.clone();
            row.qualified_all_time = change.qualified_all_time;
            row.rewards_earned_cents += change.earned_cents;
            if let Some((count, reached_at)) = change.qualified {
                row.qualified = count;
                row.reached_at = reached_at;
            }
            if row.qualified > 0 {
                let ranked = rank(business, &key.1, row);
                self.ranking.insert(ranked);
            }
        }
    }
}

/// Where a row ranks: business and period, most qualified first, then who reached it first.
pub(super) type Rank = (
    BusinessId,
    String,
    std::cmp::Reverse<u32>,
    DateTime<Utc>,
    CustomerId,
);

fn rank(business: &BusinessId, period: &str, row: &BoardRow) -> Rank {
    (
        business.clone(),
        period.to_owned(),
        std::cmp::Reverse(row.qualified),
        row.reached_at,
        row.customer_id.clone(),
    )
}

#[async_trait]
impl Reports for InMemoryStore {
    async fn days(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<DayCounts>> {
        if from > to {
            return Ok(Vec::new());
        }
        self.with(|s| {
            s.days
                .get(business)
                .into_iter()
                .flat_map(|days| days.range(from..=to))
                .map(|(day, counts)| DayCounts {
                    day: *day,
                    counts: counts.clone(),
                })
                .collect()
        })
    }

    async fn board(
        &self,
        business: &BusinessId,
        period: Period,
        limit: u32,
    ) -> anyhow::Result<Vec<BoardRow>> {
        let key = period.key();
        // The lowest customer id: every id is printable ASCII from `!`.
        let lowest = CustomerId::parse("!")?;
        self.with(|s| {
            let start = (
                business.clone(),
                key.clone(),
                std::cmp::Reverse(u32::MAX),
                DateTime::<Utc>::MIN_UTC,
                lowest,
            );
            s.ranking
                .range(start..)
                .take_while(|(b, p, ..)| b == business && *p == key)
                .take(limit as usize)
                .filter_map(|(_, _, _, _, customer)| {
                    s.board
                        .get(&(business.clone(), key.clone(), customer.clone()))
                        .cloned()
                })
                .collect()
        })
    }

    async fn names(
        &self,
        business: &BusinessId,
        customers: &[CustomerId],
    ) -> anyhow::Result<Vec<(CustomerId, PersonName, Option<PersonName>)>> {
        self.with(|s| {
            customers
                .iter()
                .filter_map(|c| s.participants.get(&(business.clone(), c.clone())))
                .map(|p| {
                    (
                        p.customer_id.clone(),
                        p.first_name.clone(),
                        p.last_name.clone(),
                    )
                })
                .collect()
        })
    }

    async fn save_report(
        &self,
        business: &BusinessId,
        report: &MonthlyReport,
        event: &DomainEvent,
        next_due: DateTime<Utc>,
    ) -> anyhow::Result<Written> {
        self.with(|s| {
            let key = (business.clone(), report.month);
            if s.reports.contains_key(&key) {
                return Written::Refused;
            }
            s.reports.insert(key, report.clone());
            s.outbox.insert(event.event_id.clone(), event.clone());
            s.report_due
                .insert(business.clone(), (report.month.next(), next_due));
            Written::Applied
        })
    }

    async fn report(
        &self,
        business: &BusinessId,
        month: Month,
    ) -> anyhow::Result<Option<MonthlyReport>> {
        self.with(|s| s.reports.get(&(business.clone(), month)).cloned())
    }

    async fn report_months(&self, business: &BusinessId, limit: u32) -> anyhow::Result<Vec<Month>> {
        self.with(|s| {
            s.reports
                .keys()
                .filter(|(b, _)| b == business)
                .map(|(_, m)| *m)
                .rev()
                .take(limit as usize)
                .collect()
        })
    }

    async fn due_reports(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Month)>> {
        self.with(|s| {
            let mut due: Vec<_> = s
                .report_due
                .iter()
                .filter(|(_, (_, at))| *at <= now)
                .map(|(b, (m, at))| (*at, b.clone(), *m))
                .collect();
            due.sort();
            due.into_iter()
                .take(limit as usize)
                .map(|(_, b, m)| (b, m))
                .collect()
        })
    }
}
