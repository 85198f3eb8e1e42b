//! Referral records, repeat-submission keys, lead rate counters and the customer search index.
//!
//! | item | PK | SK | GSI |
//! |---|---|---|---|
//! | referral | `BIZ#{b}` | `REFERRAL#{id}` | GSI1 `BIZ#{b}#REFERRALS` / `{id}`; GSI2 `BIZ#{b}#REFERRALS#{status}` / `{id}` |
//! | referral by referrer | `BIZ#{b}` | `REFBY#{referrer}#{id}` | |
//! | repeat key (TTL) | `BIZ#{b}` | `LEADKEY#{phone or email}` | |
//! | lead counter (TTL) | `BIZ#{b}` | `LEADS#IP#{hash}#{hour}` / `LEADS#CODE#{code}#{day}` | |
//! | search entry | `BIZ#{b}` | `NAME#{first last}#{id}` / `NAME#{last first}#{id}` / `TEL#{e164}#{id}` | |

use crate::keys::{counter_sk, lead_key_sk, search_prefix, search_sk};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Update;
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};
use vouch_domain::model::search::SearchQuery;

use vouch_domain::decide::Plan;
use vouch_domain::model::lead::LEAD_REPEAT_WINDOW;
use vouch_domain::model::referral::{Referral, Status};
use vouch_domain::model::search::SearchEntry;
use vouch_domain::ports::Page;
use vouch_domain::ports::Referrals;
use vouch_domain::values::ids::{BusinessId, CustomerId};

use crate::program::{Role, Tx, keyed, n, s};
use crate::store::{DynamoStore, business_pk, participant_sk};
use crate::table::{GSI1, GSI2};

#[derive(Serialize, Deserialize)]
pub(crate) struct LeadKeyItem {
    pub lead_id: String,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CounterItem {
    #[serde(default)]
    pub count: u32,
}

#[derive(Serialize, Deserialize)]
struct ReferralItem {
    #[serde(flatten)]
    referral: Referral,
}

fn referrals_pk(business: &BusinessId) -> String {
    format!("BIZ#{business}#REFERRALS")
}

fn by_status_pk(business: &BusinessId, status: Status) -> String {
    format!("BIZ#{business}#REFERRALS#{}", status.as_str())
}

fn referral_sk(id: &str) -> String {
    format!("REFERRAL#{id}")
}

fn by_referrer_prefix(referrer: &CustomerId) -> String {
    format!("REFBY#{referrer}#")
}

fn referral_items(
    business: &BusinessId,
    referral: &Referral,
) -> anyhow::Result<Vec<super::store::Item>> {
    let pk = business_pk(business);
    let body: super::store::Item = to_item(ReferralItem {
        referral: referral.clone(),
    })?;
    let mut main = keyed(
        pk.clone(),
        referral_sk(&referral.referral_id),
        body.clone(),
        "referral",
    );
    main.insert(GSI1.partition_key.into(), s(referrals_pk(business)));
    main.insert(GSI1.sort_key.into(), s(referral.referral_id.clone()));
    main.insert(
        GSI2.partition_key.into(),
        s(by_status_pk(business, referral.status)),
    );
    main.insert(GSI2.sort_key.into(), s(referral.referral_id.clone()));
    let mut items = vec![main];
    if let Some(referrer) = referral.referrer_id() {
        items.push(keyed(
            pk,
            format!("{}{}", by_referrer_prefix(referrer), referral.referral_id),
            body,
            "referral_by_referrer",
        ));
    }
    Ok(items)
}

impl DynamoStore {
    /// Adds a plan's referral records, repeat keys, counters, totals and search entries.
    pub(crate) fn commit_referrals(
        &self,
        tx: &mut Tx<'_>,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<()> {
        let pk = business_pk(business);
        for (key, lead_id, expires) in &plan.lead_keys {
            let now = *expires - LEAD_REPEAT_WINDOW;
            let item = keyed(
                pk.clone(),
                lead_key_sk(key),
                to_item(LeadKeyItem {
                    lead_id: lead_id.clone(),
                    expires_at: expires.timestamp(),
                })?,
                "lead_key",
            );
            tx.put(
                item,
                Some((
                    "attribute_not_exists(PK) OR expires_at <= :now",
                    vec![(":now", n(now.timestamp()))],
                )),
                Role::Changed,
            )?;
        }
        for counter in &plan.counters {
            // Not conditional on the count read: concurrent leads all count, and only the
            // limit refuses (as rate limited), so a burst gets 429s, not conflicts.
            let update = Update::builder()
                .key("PK", s(pk.clone()))
                .key("SK", s(counter_sk(&counter.key)))
                .update_expression("ADD #count :one SET expires_at = :expires, kind = :kind")
                .condition_expression("attribute_not_exists(#count) OR #count < :limit")
                .expression_attribute_names("#count", "count")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(counter.limit))
                .expression_attribute_values(":kind", s("lead_counter"))
                .expression_attribute_values(":expires", n(counter.expires_at.timestamp()));
            tx.update(update, Role::Rate(counter.retry_after_secs))?;
        }
        for (referrer, id) in &plan.stale_refby {
            tx.delete(pk.clone(), format!("{}{id}", by_referrer_prefix(referrer)))?;
        }
        for referral in &plan.referrals {
            for item in referral_items(business, referral)? {
                tx.put(item, None, Role::Plain)?;
            }
        }
        for delta in &plan.stats {
            let mut add = vec![
                "referrals :referrals",
                "rewards_earned_cents :earned",
                "rewards_pending_cents :pending",
            ];
            let mut set = Vec::new();
            let mut conditions = vec!["attribute_exists(PK)".to_owned()];
            let mut update = Update::builder()
                .key("PK", s(pk.clone()))
                .key("SK", s(participant_sk(&delta.customer_id)))
                .expression_attribute_values(":referrals", n(delta.referrals))
                .expression_attribute_values(":earned", n(delta.earned_cents))
                .expression_attribute_values(":pending", n(delta.pending_cents));
            match delta.closed_was.filter(|_| delta.closed != 0) {
                Some(was) => {
                    let now = was.saturating_add_signed(delta.closed);
                    set.push("closed = :closed");
                    set.push("GSI2SK = :sort");
                    conditions.push("closed = :was".into());
                    update = update
                        .expression_attribute_values(":was", n(was))
                        .expression_attribute_values(":closed", n(now))
                        .expression_attribute_values(
                            ":sort",
                            s(format!("{now:010}#{}", delta.customer_id)),
                        );
                }
                None => {
                    add.push("closed :closed");
                    update = update.expression_attribute_values(":closed", n(delta.closed));
                }
            }
            if let Some(bump) = &delta.year {
                set.push("rewarded_year = :year");
                set.push("rewarded_in_year = :in_year");
                update = update
                    .expression_attribute_values(":year", n(bump.year))
                    .expression_attribute_values(":in_year", n(bump.count()));
                match bump.was {
                    (None, _) => conditions.push("attribute_not_exists(rewarded_year)".into()),
                    (Some(year), count) => {
                        conditions.push(
                            "rewarded_year = :was_year AND rewarded_in_year = :was_count".into(),
                        );
                        update = update
                            .expression_attribute_values(":was_year", n(year))
                            .expression_attribute_values(":was_count", n(count));
                    }
                }
            }
            let mut expression = format!("ADD {}", add.join(", "));
            if !set.is_empty() {
                expression.push_str(&format!(" SET {}", set.join(", ")));
            }
            update = update
                .update_expression(expression)
                .condition_expression(conditions.join(" AND "));
            tx.update(update, Role::Changed)?;
        }
        if let Some(search) = &plan.search {
            let customer = &search.entry.customer_id;
            for key in &search.remove {
                tx.delete(pk.clone(), search_sk(key, customer))?;
            }
            for key in &search.put {
                tx.put(
                    keyed(
                        pk.clone(),
                        search_sk(key, customer),
                        to_item(&search.entry)?,
                        "search",
                    ),
                    None,
                    Role::Plain,
                )?;
            }
        }
        Ok(())
    }

    /// Search entries found under a key the query matches.
    pub(crate) async fn search_prefix(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchEntry>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(business_pk(business)))
            .expression_attribute_values(":prefix", s(search_prefix(query)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (search)")?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| Ok(from_item::<_, SearchEntry>(item)?))
            .collect()
    }
}

fn referrals_of(items: Option<Vec<super::store::Item>>) -> anyhow::Result<Vec<Referral>> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(|item| Ok(from_item::<_, ReferralItem>(item)?.referral))
        .collect()
}

#[async_trait]
impl Referrals for DynamoStore {
    async fn referral(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Referral>> {
        let item: Option<ReferralItem> = self
            .get_as(business_pk(business), &referral_sk(id), true)
            .await?;
        Ok(item.map(|item| item.referral))
    }

    async fn referrals(
        &self,
        business: &BusinessId,
        status: Option<Status>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Referral>> {
        let (index, gsi_pk) = match status {
            Some(status) => (GSI2, by_status_pk(business, status)),
            None => (GSI1, referrals_pk(business)),
        };
        let found = self
            .newest_first(index, gsi_pk, business, referral_sk, limit, after)
            .await?;
        let items = referrals_of(Some(found))?;
        Ok(Page::of(items, limit, |r| r.referral_id.clone()))
    }

    async fn referrals_by(
        &self,
        business: &BusinessId,
        referrer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Referral>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(business_pk(business)))
            .expression_attribute_values(":prefix", s(by_referrer_prefix(referrer)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (referrals by referrer)")?;
        // An id containing '#' could share another's prefix: keep only this referrer's.
        Ok(referrals_of(output.items)?
            .into_iter()
            .filter(|r| r.referrer_id() == Some(referrer))
            .collect())
    }

    async fn search(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchEntry>> {
        self.search_prefix(business, query, limit).await
    }
}
