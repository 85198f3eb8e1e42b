//! Referral records (with a copy under their referrer) and the customer search index.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::Plan;
use vouch_domain::model::referral::{Referral, Status};
use vouch_domain::model::search::{SearchEntry, SearchQuery};
use vouch_domain::ports::{Page, Referrals};
use vouch_domain::values::ids::{BusinessId, CustomerId};

use super::table::{GSI1, GSI2};
use super::tx::{Role, Tx};
use super::{DynamoStore, Item, keyed, keys, s};

#[derive(Serialize, Deserialize)]
struct ReferralItem {
    #[serde(flatten)]
    referral: Referral,
}

fn referral_items(business: &BusinessId, referral: &Referral) -> anyhow::Result<Vec<Item>> {
    let pk = keys::business_pk(business);
    let body: Item = to_item(ReferralItem {
        referral: referral.clone(),
    })?;
    let mut main = keyed(
        pk.clone(),
        keys::referral_sk(&referral.referral_id),
        body.clone(),
        "referral",
    );
    main.insert(GSI1.partition_key.into(), s(keys::referrals_pk(business)));
    main.insert(GSI1.sort_key.into(), s(referral.referral_id.clone()));
    main.insert(
        GSI2.partition_key.into(),
        s(keys::referrals_in_pk(business, referral.status)),
    );
    main.insert(GSI2.sort_key.into(), s(referral.referral_id.clone()));
    let mut items = vec![main];
    if let Some(referrer) = referral.referrer_id() {
        items.push(keyed(
            pk,
            keys::referred_by_sk(referrer, &referral.referral_id),
            body,
            "referral_by_referrer",
        ));
    }
    Ok(items)
}

/// Adds a plan's referral records, removing the copies under a referrer they no longer have.
pub(crate) fn commit(tx: &mut Tx<'_>, business: &BusinessId, plan: &Plan) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    for (referrer, id) in &plan.stale_refby {
        tx.delete((pk.clone(), keys::referred_by_sk(referrer, id)))?;
    }
    for referral in &plan.referrals {
        for item in referral_items(business, referral)? {
            tx.put(item, None, Role::Plain)?;
        }
    }
    Ok(())
}

/// Adds a plan's changes to the search entries of a contact.
pub(crate) fn commit_search(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    if let Some(search) = &plan.search {
        let customer = &search.entry.customer_id;
        for key in &search.remove {
            tx.delete((pk.clone(), keys::search_sk(key, customer)))?;
        }
        for key in &search.put {
            tx.put(
                keyed(
                    pk.clone(),
                    keys::search_sk(key, customer),
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
pub(crate) async fn search(
    store: &DynamoStore,
    business: &BusinessId,
    query: &SearchQuery,
    limit: u32,
) -> anyhow::Result<Vec<SearchEntry>> {
    let pk = keys::business_pk(business);
    store
        .query_prefix(pk, keys::search_prefix(query), true, Some(limit))
        .await?
        .into_iter()
        .map(|item| Ok(from_item::<_, SearchEntry>(item)?))
        .collect()
}

fn referrals_of(items: Vec<Item>) -> anyhow::Result<Vec<Referral>> {
    items
        .into_iter()
        .map(|item| Ok(from_item::<_, ReferralItem>(item)?.referral))
        .collect()
}

#[async_trait]
impl Referrals for DynamoStore {
    async fn referral(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Referral>> {
        let key = (keys::business_pk(business), keys::referral_sk(id));
        let item: Option<ReferralItem> = self.get_as(key, true).await?;
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
            Some(status) => (GSI2, keys::referrals_in_pk(business, status)),
            None => (GSI1, keys::referrals_pk(business)),
        };
        let after = after.map(|id| {
            let key = (keys::business_pk(business), keys::referral_sk(id));
            (key, id.to_owned())
        });
        let found = self.newest_first(index, gsi_pk, after, limit).await?;
        let items = referrals_of(found)?;
        Ok(Page::of(items, limit, |r| r.referral_id.clone()))
    }

    async fn referrals_by(
        &self,
        business: &BusinessId,
        referrer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Referral>> {
        let pk = keys::business_pk(business);
        let prefix = keys::referred_by_prefix(referrer);
        let found = self.query_prefix(pk, prefix, false, Some(limit)).await?;
        // An id containing '#' could share another's prefix: keep only this referrer's.
        Ok(referrals_of(found)?
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
        search(self, business, query, limit).await
    }
}
