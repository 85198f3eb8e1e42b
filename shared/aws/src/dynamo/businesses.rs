//! Businesses (settings, webhook secret, version) and the admin keys that lead to them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::model::business::Business;
use vouch_domain::model::participant::Referrer;
use vouch_domain::model::report::Month;
use vouch_domain::model::settings::Settings;
use vouch_domain::ports::{Businesses, Written};
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::ids::BusinessId;
use vouch_domain::values::secrets::{KeyHash, WebhookSecret};

use super::participants::CodeItem;
use super::tx::{Role, Tx};
use anyhow::Context;
use aws_sdk_dynamodb::types::Update;

use super::{DynamoStore, Item, keyed, keys, n, primary_key, s};

#[derive(Serialize, Deserialize)]
struct BusinessItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    business_id: BusinessId,
    settings: Settings,
    webhook_secret: WebhookSecret,
    created_at: DateTime<Utc>,
    version: u64,
}

impl BusinessItem {
    fn into_domain(self) -> Business {
        Business {
            id: self.business_id,
            settings: self.settings,
            webhook_secret: self.webhook_secret,
            created_at: self.created_at,
            version: self.version,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct AdminKeyItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    business_id: BusinessId,
}

#[async_trait]
impl Businesses for DynamoStore {
    async fn create(
        &self,
        business: &Business,
        admin_key: &KeyHash,
        (month, due): (Month, DateTime<Utc>),
    ) -> anyhow::Result<Written> {
        let (pk, sk) = keys::business(&business.id);
        let business_item = to_item(BusinessItem {
            pk,
            sk,
            kind: "business".into(),
            business_id: business.id.clone(),
            settings: business.settings.clone(),
            webhook_secret: business.webhook_secret.clone(),
            created_at: business.created_at,
            version: business.version,
        })?;
        let (pk, sk) = keys::admin_key(admin_key);
        let key_item = to_item(AdminKeyItem {
            pk,
            sk,
            kind: "admin_key".into(),
            business_id: business.id.clone(),
        })?;
        let mut tx = Tx::new(self.table());
        tx.put_new(business_item, Role::Plain)?;
        tx.put_new(key_item, Role::Plain)?;
        tx.put_new(
            super::reports::due_item(&business.id, month, due)?,
            Role::Plain,
        )?;
        for origin in business.settings.origins() {
            tx.put(origin_item(&origin, &business.id)?, None, Role::Plain)?;
        }
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }

    async fn get(&self, id: &BusinessId) -> anyhow::Result<Option<Business>> {
        let item: Option<BusinessItem> = self.get_as(keys::business(id), true).await?;
        Ok(item.map(BusinessItem::into_domain))
    }

    async fn get_with_referrer(
        &self,
        id: &BusinessId,
        code: &ReferralCode,
    ) -> anyhow::Result<(Option<Business>, Option<Referrer>)> {
        let business_key = keys::business(id);
        let code_key = keys::code(code);
        let mut found = self
            .batch_get(vec![business_key.clone(), code_key.clone()])
            .await?;
        let business = match found.remove(&business_key) {
            Some(item) => Some(from_item::<_, BusinessItem>(item)?.into_domain()),
            None => None,
        };
        let referrer = match found.remove(&code_key) {
            Some(item) => Some(from_item::<_, CodeItem>(item)?.referrer),
            None => None,
        };
        Ok((business, referrer))
    }

    async fn id_for_admin_key(&self, key: &KeyHash) -> anyhow::Result<Option<BusinessId>> {
        let item: Option<AdminKeyItem> = self.get_as(keys::admin_key(key), false).await?;
        Ok(item.map(|item| item.business_id))
    }

    async fn save_settings(
        &self,
        id: &BusinessId,
        settings: &Settings,
        previous: &Settings,
        read_version: u64,
    ) -> anyhow::Result<Written> {
        let update = Update::builder()
            .set_key(Some(primary_key(keys::business(id))))
            .update_expression("SET settings = :settings, version = :next")
            .condition_expression("version = :read")
            .expression_attribute_values(":settings", serde_dynamo::to_attribute_value(settings)?)
            .expression_attribute_values(":read", n(read_version))
            .expression_attribute_values(":next", n(read_version + 1));
        let (before, after) = (previous.origins(), settings.origins());
        let mut tx = Tx::new(self.table());
        tx.update(update, Role::Changed)?;
        for origin in before.difference(&after) {
            tx.delete(keys::origin(origin, id))?;
        }
        for origin in after.difference(&before) {
            tx.put(origin_item(origin, id)?, None, Role::Plain)?;
        }
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }

    async fn origin_listed(&self, origin: &str) -> anyhow::Result<bool> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::origin_pk(origin)))
            .limit(1)
            .send()
            .await
            .context("Query (origin)")?;
        Ok(output.count() > 0)
    }
}

/// One origin of a business's pages, in the index a preflight is answered from.
#[derive(Serialize)]
struct OriginItem<'a> {
    origin: &'a str,
    business_id: &'a BusinessId,
}

fn origin_item(origin: &str, business: &BusinessId) -> anyhow::Result<Item> {
    let (pk, sk) = keys::origin(origin, business);
    Ok(keyed(
        pk,
        sk,
        to_item(OriginItem {
            origin,
            business_id: business,
        })?,
        "origin",
    ))
}
