//! Reports in the table: daily figures as counters (`ADD`, in the transaction of the change
//! that moves them, spread over [`keys::DAY_PARTS`] items per day so simultaneous writes seldom
//! meet), leaderboard rows indexed by rank on `GSI1`, kept monthly reports and the queue of
//! reports due.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::model::events::DomainEvent;
use vouch_domain::model::report::{
    BoardMove, BoardRow, DayCounts, Figure, Month, MonthlyReport, Period, Tally,
};
use vouch_domain::ports::{Reports, Written};
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::PersonName;

use super::table::GSI1;
use super::tx::{Role, Tx};
use super::{DynamoStore, Item, Until, keys, n, primary_key, s, to_attr};

const DAY_FIELDS: [&str; 4] = ["PK", "SK", "kind", "day"];

/// Adds a tally's figures to its days' counters: one update per day, all in one part of the
/// day (picked at random).
pub(crate) fn commit_tally(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    tally: &Tally,
) -> anyhow::Result<()> {
    if tally.is_empty() {
        return Ok(());
    }
    let part = rand::random_range(0..keys::DAY_PARTS);
    for (day, figures) in tally.days() {
        let mut adds = Vec::new();
        let mut update = Update::builder()
            .set_key(Some(primary_key((
                keys::days_pk(business),
                keys::day_sk(day, part),
            ))))
            .expression_attribute_values(":kind", s("day"))
            .expression_attribute_values(":day", s(day.to_string()));
        for (i, (figure, delta)) in figures.into_iter().enumerate() {
            adds.push(format!("#f{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#f{i}"), figure.name())
                .expression_attribute_values(format!(":v{i}"), n(delta));
        }
        update = update.update_expression(format!(
            "SET kind = :kind, #day = :day ADD {}",
            adds.join(", ")
        ));
        update = update.expression_attribute_names("#day", "day");
        tx.update(update, Role::Plain)?;
    }
    Ok(())
}

/// Moves leaderboard rows: the count and its rank key when it moved (off the index at zero),
/// the reward value earned added, the name and all-time count refreshed.
pub(crate) fn commit_board(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    moves: &[BoardMove],
) -> anyhow::Result<()> {
    for change in moves {
        let period = change.period.key();
        let mut set = vec![
            "kind = :kind",
            "customer_id = :customer",
            "period = :period",
            "first_name = :first",
            "last_name = :last",
            "qualified_all_time = :all",
        ];
        let mut remove = Vec::new();
        let mut update = Update::builder()
            .set_key(Some(primary_key(keys::board(
                business,
                &period,
                &change.customer_id,
            ))))
            .expression_attribute_values(":kind", s("board"))
            .expression_attribute_values(":customer", s(change.customer_id.as_str()))
            .expression_attribute_values(":period", s(period.clone()))
            .expression_attribute_values(":first", to_attr(&change.first_name))
            .expression_attribute_values(":last", to_attr(&change.last_name))
            .expression_attribute_values(":all", n(change.qualified_all_time))
            .expression_attribute_values(":earned", n(change.earned_cents));
        if let Some((count, reached_at)) = change.qualified {
            set.extend(["qualified = :qualified", "reached_at = :reached"]);
            update = update
                .expression_attribute_values(":qualified", n(count))
                .expression_attribute_values(":reached", to_attr(&reached_at));
            if count > 0 {
                set.extend(["GSI1PK = :gpk", "GSI1SK = :gsk"]);
                update = update
                    .expression_attribute_values(":gpk", s(keys::board_pk(business, &period)))
                    .expression_attribute_values(
                        ":gsk",
                        s(keys::board_sk(count, reached_at, &change.customer_id)),
                    );
            } else {
                remove.extend(["GSI1PK", "GSI1SK"]);
            }
        }
        let mut expression = format!("SET {} ADD rewards_earned_cents :earned", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        tx.update(update.update_expression(expression), Role::Plain)?;
    }
    Ok(())
}

/// A leaderboard row new to the table, as [`commit_board`] would leave it: for a bulk load.
pub(crate) fn board_item(business: &BusinessId, change: &BoardMove) -> anyhow::Result<Item> {
    let period = change.period.key();
    let (pk, sk) = keys::board(business, &period, &change.customer_id);
    let mut item = primary_key((pk, sk));
    item.extend([
        ("kind".to_owned(), s("board")),
        ("customer_id".to_owned(), s(change.customer_id.as_str())),
        ("period".to_owned(), s(period.clone())),
        ("first_name".to_owned(), to_attr(&change.first_name)),
        ("last_name".to_owned(), to_attr(&change.last_name)),
        (
            "qualified_all_time".to_owned(),
            n(change.qualified_all_time),
        ),
        ("rewards_earned_cents".to_owned(), n(change.earned_cents)),
    ]);
    if let Some((count, reached_at)) = change.qualified {
        item.insert("qualified".into(), n(count));
        item.insert("reached_at".into(), to_attr(&reached_at));
        if count > 0 {
            item.insert("GSI1PK".into(), s(keys::board_pk(business, &period)));
            item.insert(
                "GSI1SK".into(),
                s(keys::board_sk(count, reached_at, &change.customer_id)),
            );
        }
    }
    Ok(item)
}

/// A leaderboard row as stored.
#[derive(Deserialize)]
struct BoardItem {
    customer_id: CustomerId,
    first_name: PersonName,
    #[serde(default)]
    last_name: Option<PersonName>,
    #[serde(default)]
    qualified: u32,
    #[serde(default)]
    reached_at: Option<DateTime<Utc>>,
    #[serde(default)]
    rewards_earned_cents: i64,
    #[serde(default)]
    qualified_all_time: u32,
}

/// A participant's name, read from its item.
#[derive(Deserialize)]
struct NameItem {
    customer_id: CustomerId,
    first_name: PersonName,
    #[serde(default)]
    last_name: Option<PersonName>,
}

#[derive(Serialize, Deserialize)]
struct ReportItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    month: Month,
    report: MonthlyReport,
}

#[derive(Serialize, Deserialize)]
struct DueItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    kind: String,
    business_id: BusinessId,
    month: Month,
    due_at: DateTime<Utc>,
}

pub(super) fn due_item(
    business: &BusinessId,
    month: Month,
    due: DateTime<Utc>,
) -> anyhow::Result<Item> {
    let (pk, sk) = keys::report_due(business);
    Ok(to_item(DueItem {
        pk,
        sk,
        gsi1pk: keys::DUE_REPORTS.to_owned(),
        gsi1sk: keys::due_report_sk(due, business),
        kind: "report_due".into(),
        business_id: business.clone(),
        month,
        due_at: due,
    })?)
}

/// A day's counters as stored: every attribute but the keys is a figure.
fn day_counts(item: Item) -> Option<DayCounts> {
    let day = match item.get("day") {
        Some(AttributeValue::S(day)) => NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        _ => return None,
    };
    let counts = item
        .iter()
        .filter(|(name, _)| !DAY_FIELDS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            let figure = Figure::parse(name)?;
            let count = value.as_n().ok()?.parse::<i64>().ok()?;
            Some((figure, count))
        })
        .collect();
    Some(DayCounts { day, counts })
}

#[async_trait]
impl Reports for DynamoStore {
    async fn days(
        &self,
        business: &BusinessId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<DayCounts>> {
        // DynamoDB refuses a BETWEEN whose bounds are the wrong way round.
        if from > to {
            return Ok(Vec::new());
        }
        let mut days = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .dynamodb()
                .query()
                .table_name(self.table())
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(keys::days_pk(business)))
                .expression_attribute_values(":from", s(keys::day_sk(from, 0)))
                .expression_attribute_values(":to", s(keys::through_day(to)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("Query (days)")?;
            days.extend(
                output
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(day_counts),
            );
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(days)
    }

    async fn board(
        &self,
        business: &BusinessId,
        period: Period,
        limit: u32,
    ) -> anyhow::Result<Vec<BoardRow>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .index_name(GSI1.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI1.partition_key)
            .expression_attribute_values(":pk", s(keys::board_pk(business, &period.key())))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (leaderboard)")?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let row: BoardItem = from_item(item).context("reading a leaderboard row")?;
                Ok(BoardRow {
                    customer_id: row.customer_id,
                    first_name: row.first_name,
                    last_name: row.last_name,
                    qualified: row.qualified,
                    reached_at: row.reached_at.unwrap_or(DateTime::UNIX_EPOCH),
                    rewards_earned_cents: row.rewards_earned_cents,
                    qualified_all_time: row.qualified_all_time,
                })
            })
            .collect()
    }

    async fn names(
        &self,
        business: &BusinessId,
        customers: &[CustomerId],
    ) -> anyhow::Result<Vec<(CustomerId, PersonName, Option<PersonName>)>> {
        let keys = customers
            .iter()
            .take(100)
            .map(|c| (keys::business_pk(business), keys::participant_sk(c)))
            .collect();
        self.batch_get(keys)
            .await?
            .into_values()
            .map(|item| {
                let name: NameItem = from_item(item).context("reading a participant's name")?;
                Ok((name.customer_id, name.first_name, name.last_name))
            })
            .collect()
    }

    async fn save_report(
        &self,
        business: &BusinessId,
        report: &MonthlyReport,
        event: &DomainEvent,
        next_due: DateTime<Utc>,
    ) -> anyhow::Result<Written> {
        let month = report.month.to_string();
        let (pk, sk) = keys::report(business, &month);
        let item = to_item(ReportItem {
            pk,
            sk,
            kind: "report".into(),
            month: report.month,
            report: report.clone(),
        })?;
        let mut tx = Tx::new(self.table());
        tx.put_new(item, Role::Changed)?;
        tx.put(super::outbox::event_item(event)?, None, Role::Plain)?;
        tx.put(
            due_item(business, report.month.next(), next_due)?,
            None,
            Role::Plain,
        )?;
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }

    async fn report(
        &self,
        business: &BusinessId,
        month: Month,
    ) -> anyhow::Result<Option<MonthlyReport>> {
        let item: Option<ReportItem> = self
            .get_as(keys::report(business, &month.to_string()), false)
            .await?;
        Ok(item.map(|i| i.report))
    }

    async fn report_months(&self, business: &BusinessId, limit: u32) -> anyhow::Result<Vec<Month>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(keys::business_pk(business)))
            .expression_attribute_values(":prefix", s(keys::REPORT_PREFIX))
            .projection_expression("SK")
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (report months)")?;
        Ok(output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| {
                let sk = item.get("SK")?.as_s().ok()?;
                Month::parse(sk.strip_prefix(keys::REPORT_PREFIX)?).ok()
            })
            .collect())
    }

    async fn due_reports(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Month)>> {
        self.queued(keys::DUE_REPORTS, Until::Through(now), limit)
            .await?
            .into_iter()
            .map(|item| {
                let due: DueItem = from_item(item).context("reading a report due")?;
                Ok((due.business_id, due.month))
            })
            .collect()
    }
}
