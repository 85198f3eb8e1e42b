//! Reward records, the service-credit ledger, discount codes and held rewards.
//!
//! | item | PK | SK | GSI |
//! |---|---|---|---|
//! | reward | `BIZ#{b}` | `REWARD#{id}` | GSI1 `BIZ#{b}#REWARDS` / `{id}`; GSI2 `BIZ#{b}#REWARDS#{status}` / `{id}` |
//! | reward by customer | `BIZ#{b}` | `RWDBY#{customer}#{id}` | |
//! | ledger entry | `BIZ#{b}` | `LEDGER#{customer}#{reward}#credit` / `…#reversal` | |
//! | discount code | `DISCOUNT#{code}` | `#DISCOUNT` | |
//! | held reward | `BIZ#{b}` | `RWDDUE#{id}` | GSI1 `OUTBOX#REWARDS` / `{release_at}#{id}` |

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::{IssueDue, Plan};
use vouch_domain::model::reward::{LedgerEntry, Reward, RewardStatus};
use vouch_domain::ports::Page;
use vouch_domain::ports::Rewards;
use vouch_domain::values::ids::{BusinessId, CustomerId};

use crate::program::{Role, Tx, keyed, s};
use crate::store::{DynamoStore, Item, business_pk};
use crate::table::{GSI1, GSI2};

const DUE: &str = "OUTBOX#REWARDS";
const AWAITING: &str = "OUTBOX#QUALIFIED";

#[derive(Serialize, Deserialize)]
struct AwaitingItem {
    business_id: BusinessId,
    #[serde(flatten)]
    due: IssueDue,
}

fn awaiting_sk(referral_id: &str) -> String {
    format!("RWDQ#{referral_id}")
}

#[derive(Serialize, Deserialize)]
struct RewardItem {
    #[serde(flatten)]
    reward: Reward,
}

#[derive(Serialize, Deserialize)]
struct DueItem {
    business_id: BusinessId,
    #[serde(flatten)]
    reward: Reward,
}

fn rewards_pk(business: &BusinessId) -> String {
    format!("BIZ#{business}#REWARDS")
}

fn by_status_pk(business: &BusinessId, status: RewardStatus) -> String {
    format!("BIZ#{business}#REWARDS#{}", status.as_str())
}

fn reward_sk(id: &str) -> String {
    format!("REWARD#{id}")
}

fn by_customer_prefix(customer: &CustomerId) -> String {
    format!("RWDBY#{customer}#")
}

fn ledger_prefix(customer: &CustomerId) -> String {
    format!("LEDGER#{customer}#")
}

fn due_sk(id: &str) -> String {
    format!("RWDDUE#{id}")
}

fn rewards_of(items: Option<Vec<Item>>) -> anyhow::Result<Vec<Reward>> {
    items
        .unwrap_or_default()
        .into_iter()
        .map(|item| Ok(from_item::<_, RewardItem>(item)?.reward))
        .collect()
}

impl DynamoStore {
    /// Adds a plan's rewards, ledger entries, discount codes and held-reward items.
    pub(crate) fn commit_rewards(
        &self,
        tx: &mut Tx<'_>,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<()> {
        let pk = business_pk(business);
        for reward in &plan.rewards {
            let body: Item = to_item(RewardItem {
                reward: reward.clone(),
            })?;
            let mut main = keyed(
                pk.clone(),
                reward_sk(&reward.reward_id),
                body.clone(),
                "reward",
            );
            main.insert(GSI1.partition_key.into(), s(rewards_pk(business)));
            main.insert(GSI1.sort_key.into(), s(reward.reward_id.clone()));
            main.insert(
                GSI2.partition_key.into(),
                s(by_status_pk(business, reward.status)),
            );
            main.insert(GSI2.sort_key.into(), s(reward.reward_id.clone()));
            tx.put(main, None, Role::Plain)?;
            tx.put(
                keyed(
                    pk.clone(),
                    format!(
                        "{}{}",
                        by_customer_prefix(&reward.customer_id),
                        reward.reward_id
                    ),
                    body,
                    "reward_by_customer",
                ),
                None,
                Role::Plain,
            )?;
        }
        for entry in &plan.ledger {
            tx.put_new(
                keyed(
                    pk.clone(),
                    format!("{}{}", ledger_prefix(&entry.customer_id), entry.entry_id),
                    to_item(entry)?,
                    "ledger_entry",
                ),
                Role::Changed,
            )?;
        }
        for code in &plan.discount_codes {
            let mut item = Item::new();
            item.insert("business_id".into(), s(business.as_str()));
            tx.put_new(
                keyed(
                    format!("DISCOUNT#{code}"),
                    "#DISCOUNT".into(),
                    item,
                    "discount_code",
                ),
                Role::Changed,
            )?;
        }
        for due in &plan.issue_due {
            let mut item: Item = to_item(AwaitingItem {
                business_id: business.clone(),
                due: due.clone(),
            })?;
            item.insert(GSI1.partition_key.into(), s(AWAITING));
            item.insert(
                GSI1.sort_key.into(),
                s(format!(
                    "{}#{}",
                    due.at.to_rfc3339_opts(SecondsFormat::Millis, true),
                    due.referral_id
                )),
            );
            tx.put(
                keyed(
                    pk.clone(),
                    awaiting_sk(&due.referral_id),
                    item,
                    "awaiting_reward",
                ),
                None,
                Role::Plain,
            )?;
        }
        for id in &plan.issue_done {
            if !plan.issue_due.iter().any(|d| d.referral_id == *id) {
                tx.delete(pk.clone(), awaiting_sk(id))?;
            }
        }
        let held: Vec<&str> = plan
            .reward_due
            .iter()
            .map(|r| r.reward_id.as_str())
            .collect();
        for id in &plan.reward_done {
            if !held.contains(&id.as_str()) {
                tx.delete(pk.clone(), due_sk(id))?;
            }
        }
        for reward in &plan.reward_due {
            let Some(release_at) = reward.release_at else {
                continue;
            };
            let mut item: Item = to_item(DueItem {
                business_id: business.clone(),
                reward: reward.clone(),
            })?;
            item.insert(GSI1.partition_key.into(), s(DUE));
            item.insert(
                GSI1.sort_key.into(),
                s(format!(
                    "{}#{}",
                    release_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                    reward.reward_id
                )),
            );
            tx.put(
                keyed(pk.clone(), due_sk(&reward.reward_id), item, "reward_due"),
                None,
                Role::Plain,
            )?;
        }
        Ok(())
    }

    async fn query_prefix(
        &self,
        pk: String,
        prefix: String,
        forward: bool,
    ) -> anyhow::Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let output = self
                .dynamodb()
                .query()
                .table_name(self.table())
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix.clone()))
                .scan_index_forward(forward)
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("Query (by prefix)")?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() && items.len() < 10_000 => start = Some(key),
                _ => break,
            }
        }
        Ok(items)
    }
}

#[async_trait]
impl Rewards for DynamoStore {
    async fn reward(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Reward>> {
        let item: Option<RewardItem> = self
            .get_as(business_pk(business), &reward_sk(id), true)
            .await?;
        Ok(item.map(|item| item.reward))
    }

    async fn rewards(
        &self,
        business: &BusinessId,
        status: Option<RewardStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Reward>> {
        let (index, gsi_pk) = match status {
            Some(status) => (GSI2, by_status_pk(business, status)),
            None => (GSI1, rewards_pk(business)),
        };
        let found = self
            .newest_first(index, gsi_pk, business, reward_sk, limit, after)
            .await?;
        let items = rewards_of(Some(found))?;
        Ok(Page::of(items, limit, |r| r.reward_id.clone()))
    }

    async fn rewards_of(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Reward>> {
        let items = self
            .query_prefix(business_pk(business), by_customer_prefix(customer), false)
            .await?;
        Ok(rewards_of(Some(items))?
            .into_iter()
            .filter(|r| r.customer_id == *customer)
            .take(limit as usize)
            .collect())
    }

    async fn ledger(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Vec<LedgerEntry>> {
        let items = self
            .query_prefix(business_pk(business), ledger_prefix(customer), true)
            .await?;
        let mut entries = items
            .into_iter()
            .map(|item| Ok(from_item::<_, LedgerEntry>(item)?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        entries.retain(|e| e.customer_id == *customer);
        entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.entry_id.cmp(&b.entry_id)));
        Ok(entries)
    }

    async fn awaiting_rewards(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, IssueDue)>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .index_name(GSI1.name)
            .key_condition_expression("#pk = :pk AND #sk < :before")
            .expression_attribute_names("#pk", GSI1.partition_key)
            .expression_attribute_names("#sk", GSI1.sort_key)
            .expression_attribute_values(":pk", s(AWAITING))
            .expression_attribute_values(
                ":before",
                s(before.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (awaiting rewards)")?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let awaiting: AwaitingItem = from_item(item)?;
                Ok((awaiting.business_id, awaiting.due))
            })
            .collect()
    }

    async fn forget_awaiting(
        &self,
        business: &BusinessId,
        referral_id: &str,
    ) -> anyhow::Result<()> {
        self.dynamodb()
            .delete_item()
            .table_name(self.table())
            .key("PK", s(business_pk(business)))
            .key("SK", s(awaiting_sk(referral_id)))
            .send()
            .await
            .context("DeleteItem (awaiting reward)")?;
        Ok(())
    }

    async fn due_rewards(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Reward)>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .index_name(GSI1.name)
            .key_condition_expression("#pk = :pk AND #sk <= :now")
            .expression_attribute_names("#pk", GSI1.partition_key)
            .expression_attribute_names("#sk", GSI1.sort_key)
            .expression_attribute_values(":pk", s(DUE))
            .expression_attribute_values(
                ":now",
                s(format!(
                    "{}#~",
                    now.to_rfc3339_opts(SecondsFormat::Millis, true)
                )),
            )
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (rewards due)")?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let due: DueItem = from_item(item)?;
                Ok((due.business_id, due.reward))
            })
            .collect()
    }
}
