//! Rewards (with a copy under their customer), the service-credit ledger, discount codes, and
//! the queues of qualified referrals awaiting their reward and of rewards held until release.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::{IssueDue, Plan};
use vouch_domain::model::reward::{LedgerEntry, Reward, RewardStatus};
use vouch_domain::ports::{Page, Rewards};
use vouch_domain::values::ids::{BusinessId, CustomerId};

use super::table::{GSI1, GSI2};
use super::tx::{Role, Tx};
use super::{DynamoStore, Item, Until, keyed, keys, primary_key, s};

#[derive(Serialize, Deserialize)]
struct AwaitingItem {
    business_id: BusinessId,
    #[serde(flatten)]
    due: IssueDue,
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

fn rewards_of(items: Vec<Item>) -> anyhow::Result<Vec<Reward>> {
    items
        .into_iter()
        .map(|item| Ok(from_item::<_, RewardItem>(item)?.reward))
        .collect()
}

/// Adds a plan's rewards, ledger entries, discount codes, and awaiting and held-reward items.
pub(crate) fn commit(tx: &mut Tx<'_>, business: &BusinessId, plan: &Plan) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    for reward in &plan.rewards {
        let body: Item = to_item(RewardItem {
            reward: reward.clone(),
        })?;
        let mut main = keyed(
            pk.clone(),
            keys::reward_sk(&reward.reward_id),
            body.clone(),
            "reward",
        );
        main.insert(GSI1.partition_key.into(), s(keys::rewards_pk(business)));
        main.insert(GSI1.sort_key.into(), s(reward.reward_id.clone()));
        main.insert(
            GSI2.partition_key.into(),
            s(keys::rewards_in_pk(business, reward.status)),
        );
        main.insert(GSI2.sort_key.into(), s(reward.reward_id.clone()));
        tx.put(main, None, Role::Plain)?;
        tx.put(
            keyed(
                pk.clone(),
                keys::rewarded_sk(&reward.customer_id, &reward.reward_id),
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
                keys::ledger_sk(&entry.customer_id, &entry.entry_id),
                to_item(entry)?,
                "ledger_entry",
            ),
            Role::Changed,
        )?;
    }
    for code in &plan.discount_codes {
        let mut item = Item::new();
        item.insert("business_id".into(), s(business.as_str()));
        let (code_pk, code_sk) = keys::discount(code);
        tx.put_new(
            keyed(code_pk, code_sk, item, "discount_code"),
            Role::Changed,
        )?;
    }
    for due in &plan.issue_due {
        let mut item: Item = to_item(AwaitingItem {
            business_id: business.clone(),
            due: due.clone(),
        })?;
        item.insert(GSI1.partition_key.into(), s(keys::AWAITING_REWARDS));
        item.insert(
            GSI1.sort_key.into(),
            s(keys::awaiting_index_sk(due.at, &due.referral_id)),
        );
        tx.put(
            keyed(
                pk.clone(),
                keys::awaiting_sk(&due.referral_id),
                item,
                "awaiting_reward",
            ),
            None,
            Role::Plain,
        )?;
    }
    for id in &plan.issue_done {
        if !plan.issue_due.iter().any(|d| d.referral_id == *id) {
            tx.delete((pk.clone(), keys::awaiting_sk(id)))?;
        }
    }
    let held: Vec<&str> = plan
        .reward_due
        .iter()
        .map(|r| r.reward_id.as_str())
        .collect();
    for id in &plan.reward_done {
        if !held.contains(&id.as_str()) {
            tx.delete((pk.clone(), keys::held_sk(id)))?;
        }
    }
    for reward in &plan.reward_due {
        let Some(release_at) = reward.due_at() else {
            continue;
        };
        let mut item: Item = to_item(DueItem {
            business_id: business.clone(),
            reward: reward.clone(),
        })?;
        item.insert(GSI1.partition_key.into(), s(keys::HELD_REWARDS));
        item.insert(
            GSI1.sort_key.into(),
            s(keys::held_index_sk(release_at, &reward.reward_id)),
        );
        tx.put(
            keyed(
                pk.clone(),
                keys::held_sk(&reward.reward_id),
                item,
                "reward_due",
            ),
            None,
            Role::Plain,
        )?;
    }
    Ok(())
}

#[async_trait]
impl Rewards for DynamoStore {
    async fn reward(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Reward>> {
        let key = (keys::business_pk(business), keys::reward_sk(id));
        let item: Option<RewardItem> = self.get_as(key, true).await?;
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
            Some(status) => (GSI2, keys::rewards_in_pk(business, status)),
            None => (GSI1, keys::rewards_pk(business)),
        };
        let after = after.map(|id| {
            let key = (keys::business_pk(business), keys::reward_sk(id));
            (key, id.to_owned())
        });
        let found = self.newest_first(index, gsi_pk, after, limit).await?;
        let items = rewards_of(found)?;
        Ok(Page::of(items, limit, |r| r.reward_id.clone()))
    }

    async fn rewards_of(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Reward>> {
        let pk = keys::business_pk(business);
        let prefix = keys::rewarded_prefix(customer);
        let found = self.query_prefix(pk, prefix, false, None).await?;
        // An id containing '#' could share another's prefix: keep only this customer's.
        Ok(rewards_of(found)?
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
        let pk = keys::business_pk(business);
        let prefix = keys::ledger_prefix(customer);
        let items = self.query_prefix(pk, prefix, true, None).await?;
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
        self.queued(keys::AWAITING_REWARDS, Until::Before(before), limit)
            .await?
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
            .set_key(Some(primary_key((
                keys::business_pk(business),
                keys::awaiting_sk(referral_id),
            ))))
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
        self.queued(keys::HELD_REWARDS, Until::Through(now), limit)
            .await?
            .into_iter()
            .map(|item| {
                let due: DueItem = from_item(item)?;
                Ok((due.business_id, due.reward))
            })
            .collect()
    }
}
