//! The DynamoDB adapter: every port of the domain over one table. Item shapes and keys live here
//! and nowhere else; see the access-pattern table in the README.
//!
//! | item        | PK                  | SK             | GSI1 / GSI2                              |
//! |-------------|---------------------|----------------|------------------------------------------|
//! | business    | `BIZ#{business}`    | `#PROFILE`     |                                          |
//! | admin key   | `ADMINKEY#{sha256}` | `#KEY`         |                                          |
//! | participant | `BIZ#{business}`    | `PART#{cust}`  | `BIZ#{b}#PARTS` / `{enrolled}#{cust}`, `{closed:010}#{cust}` |
//! | code        | `CODE#{code}`       | `#CODE`        |                                          |
//! | click       | `CLICK#{click}`     | `#CLICK`       | (TTL `expires_at`)                       |
//!
//! Contacts, jobs, texts and the event outbox are in `program.rs`.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::model::business::Business;
use vouch_domain::model::click::{Channel, Click};
use vouch_domain::model::participant::{Participant, ParticipantSort, Referrer, Stats};
use vouch_domain::model::reward::RewardOverride;
use vouch_domain::model::settings::Settings;
use vouch_domain::ports::{Businesses, Clicks, Page, Participants, Position, Written};
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::ids::{BusinessId, ClickId, CustomerId};
use vouch_domain::values::person::{PersonName, Phone};
use vouch_domain::values::secrets::{IpHash, KeyHash, WebhookSecret};

use crate::counter::RequestCounter;
use crate::table::{GSI1, GSI2, Index};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The table behind every port.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A client for `sdk` whose requests are counted by `counter`.
    pub fn client(sdk: &aws_config::SdkConfig, counter: &RequestCounter) -> Client {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(counter.clone())
            .build();
        Client::from_conf(config)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The underlying client (for provisioning the table).
    pub fn dynamodb(&self) -> &Client {
        &self.client
    }

    async fn get_item(
        &self,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> anyhow::Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(sk.to_owned()))
            .consistent_read(consistent)
            .send()
            .await
            .context("GetItem")?;
        Ok(output.item)
    }

    /// One page of a listing index whose sort key is an item's ULID, newest first: up to
    /// `limit + 1` items (one more than asked tells whether another page exists). `after` is
    /// the last id of the previous page and `sk_of` its item's table sort key.
    pub(crate) async fn newest_first(
        &self,
        index: Index,
        gsi_pk: String,
        business: &BusinessId,
        sk_of: impl Fn(&str) -> String,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Vec<Item>> {
        let start = after.map(|id| {
            HashMap::from([
                ("PK".to_owned(), AttributeValue::S(business_pk(business))),
                ("SK".to_owned(), AttributeValue::S(sk_of(id))),
                (
                    index.partition_key.to_owned(),
                    AttributeValue::S(gsi_pk.clone()),
                ),
                (index.sort_key.to_owned(), AttributeValue::S(id.to_owned())),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.partition_key)
            .expression_attribute_values(":pk", AttributeValue::S(gsi_pk))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("Query (newest first)")?;
        Ok(output.items.unwrap_or_default())
    }

    /// Reads one item as `T`.
    pub(crate) async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        consistent: bool,
    ) -> anyhow::Result<Option<T>> {
        match self.get_item(pk, sk, consistent).await? {
            Some(item) => Ok(Some(from_item(item).context("reading an item")?)),
            None => Ok(None),
        }
    }

    fn put_new(&self, item: Item) -> anyhow::Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .context("building a Put")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

// ------------------------------------------------------------------ keys

pub(crate) fn business_pk(id: &BusinessId) -> String {
    format!("BIZ#{id}")
}
const BUSINESS_SK: &str = "#PROFILE";
fn admin_key_pk(hash: &KeyHash) -> String {
    format!("ADMINKEY#{}", hash.as_str())
}
const ADMIN_KEY_SK: &str = "#KEY";
pub(crate) fn participant_sk(id: &CustomerId) -> String {
    format!("PART#{id}")
}
fn participants_gsi_pk(id: &BusinessId) -> String {
    format!("BIZ#{id}#PARTS")
}
fn code_pk(code: &ReferralCode) -> String {
    format!("CODE#{code}")
}
const CODE_SK: &str = "#CODE";
fn click_pk(id: ClickId) -> String {
    format!("CLICK#{id}")
}
const CLICK_SK: &str = "#CLICK";

fn recent_key(enrolled_at: DateTime<Utc>) -> String {
    enrolled_at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
fn closed_key(closed: u64) -> String {
    format!("{closed:010}")
}

fn channel_counter(channel: Channel) -> String {
    format!("clicks_{}", channel.as_str())
}

// ------------------------------------------------------------------ items

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

#[derive(Serialize, Deserialize)]
pub(crate) struct ParticipantItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(rename = "GSI2PK")]
    gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    gsi2sk: String,
    kind: String,
    business_id: BusinessId,
    customer_id: CustomerId,
    code: ReferralCode,
    first_name: PersonName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_name: Option<PersonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<Phone>,
    enrolled_at: DateTime<Utc>,
    #[serde(default)]
    clicks: u64,
    #[serde(default)]
    clicks_link: u64,
    #[serde(default)]
    clicks_sms: u64,
    #[serde(default)]
    clicks_qr: u64,
    #[serde(default)]
    clicks_social: u64,
    #[serde(default)]
    clicks_email: u64,
    #[serde(default)]
    clicks_print: u64,
    #[serde(default)]
    /// Signed: counters move by `ADD`; a count below zero would be a bug, never a failed read.
    referrals: i64,
    #[serde(default)]
    closed: i64,
    #[serde(default)]
    rewards_earned_cents: i64,
    #[serde(default)]
    rewards_pending_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rewarded_year: Option<i32>,
    #[serde(default)]
    rewarded_in_year: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reward_override: Option<RewardOverride>,
}

impl ParticipantItem {
    pub(crate) fn from_domain(p: &Participant) -> Self {
        let by = |channel| {
            p.stats
                .clicks_by_channel
                .get(&channel)
                .copied()
                .unwrap_or(0)
        };
        Self {
            pk: business_pk(&p.business_id),
            sk: participant_sk(&p.customer_id),
            gsi1pk: participants_gsi_pk(&p.business_id),
            gsi1sk: format!("{}#{}", recent_key(p.enrolled_at), p.customer_id),
            gsi2pk: participants_gsi_pk(&p.business_id),
            gsi2sk: format!("{}#{}", closed_key(p.stats.closed), p.customer_id),
            kind: "participant".into(),
            business_id: p.business_id.clone(),
            customer_id: p.customer_id.clone(),
            code: p.code.clone(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            phone: p.phone.clone(),
            enrolled_at: p.enrolled_at,
            clicks: p.stats.clicks,
            clicks_link: by(Channel::Link),
            clicks_sms: by(Channel::Sms),
            clicks_qr: by(Channel::Qr),
            clicks_social: by(Channel::Social),
            clicks_email: by(Channel::Email),
            clicks_print: by(Channel::Print),
            referrals: i64::try_from(p.stats.referrals).unwrap_or(i64::MAX),
            closed: i64::try_from(p.stats.closed).unwrap_or(i64::MAX),
            rewards_earned_cents: p.stats.rewards_earned_cents,
            rewards_pending_cents: p.stats.rewards_pending_cents,
            rewarded_year: p.stats.rewarded_year,
            rewarded_in_year: p.stats.rewarded_in_year,
            reward_override: p.reward_override.clone(),
        }
    }

    pub(crate) fn into_domain(self) -> Participant {
        let clicks_by_channel = [
            (Channel::Link, self.clicks_link),
            (Channel::Sms, self.clicks_sms),
            (Channel::Qr, self.clicks_qr),
            (Channel::Social, self.clicks_social),
            (Channel::Email, self.clicks_email),
            (Channel::Print, self.clicks_print),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
        Participant {
            business_id: self.business_id,
            customer_id: self.customer_id,
            code: self.code,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            enrolled_at: self.enrolled_at,
            stats: Stats {
                clicks: self.clicks,
                clicks_by_channel,
                referrals: u64::try_from(self.referrals).unwrap_or(0),
                closed: u64::try_from(self.closed).unwrap_or(0),
                rewards_earned_cents: self.rewards_earned_cents,
                rewards_pending_cents: self.rewards_pending_cents,
                rewarded_year: self.rewarded_year,
                rewarded_in_year: self.rewarded_in_year,
            },
            reward_override: self.reward_override,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CodeItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    #[serde(flatten)]
    referrer: Referrer,
}

#[derive(Serialize, Deserialize)]
struct ClickItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    click_id: ClickId,
    business_id: BusinessId,
    customer_id: CustomerId,
    code: ReferralCode,
    channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip_hash: Option<IpHash>,
    at: DateTime<Utc>,
    /// Epoch seconds, for DynamoDB's TTL.
    expires_at: i64,
}

pub(crate) fn click_from_item(item: Item) -> anyhow::Result<Click> {
    let item: ClickItem = from_item(item)?;
    Ok(Click {
        id: item.click_id,
        business_id: item.business_id,
        customer_id: item.customer_id,
        code: item.code,
        channel: item.channel,
        ip_hash: item.ip_hash,
        at: item.at,
        expires_at: DateTime::from_timestamp(item.expires_at, 0).unwrap_or(item.at),
    })
}

/// The code item claiming a participant's code across all businesses.
pub(crate) fn code_item(participant: &Participant) -> anyhow::Result<Item> {
    Ok(to_item(CodeItem {
        pk: code_pk(&participant.code),
        sk: CODE_SK.into(),
        kind: "code".into(),
        referrer: participant.referrer(),
    })?)
}

/// Which parts of a cancelled transaction failed their condition, in request order; `None` when
/// the error was not a cancellation.
pub(crate) fn cancelled_conditions<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<Vec<bool>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

// ------------------------------------------------------------------ ports

#[async_trait]
impl Businesses for DynamoStore {
    async fn create(&self, business: &Business, admin_key: &KeyHash) -> anyhow::Result<Written> {
        let business_item = to_item(BusinessItem {
            pk: business_pk(&business.id),
            sk: BUSINESS_SK.into(),
            kind: "business".into(),
            business_id: business.id.clone(),
            settings: business.settings.clone(),
            webhook_secret: business.webhook_secret.clone(),
            created_at: business.created_at,
            version: business.version,
        })?;
        let key_item = to_item(AdminKeyItem {
            pk: admin_key_pk(admin_key),
            sk: ADMIN_KEY_SK.into(),
            kind: "admin_key".into(),
            business_id: business.id.clone(),
        })?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put_new(business_item)?)
            .transact_items(self.put_new(key_item)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Applied),
            Err(err) if cancelled_conditions(&err).is_some() => Ok(Written::Refused),
            Err(err) => Err(err).context("TransactWriteItems (create business)"),
        }
    }

    async fn get(&self, id: &BusinessId) -> anyhow::Result<Option<Business>> {
        let item: Option<BusinessItem> = self.get_as(business_pk(id), BUSINESS_SK, true).await?;
        Ok(item.map(BusinessItem::into_domain))
    }

    async fn get_with_referrer(
        &self,
        id: &BusinessId,
        code: &ReferralCode,
    ) -> anyhow::Result<(Option<Business>, Option<Referrer>)> {
        let business_key = (business_pk(id), BUSINESS_SK.to_owned());
        let code_key = (code_pk(code), CODE_SK.to_owned());
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
        let item: Option<AdminKeyItem> =
            self.get_as(admin_key_pk(key), ADMIN_KEY_SK, false).await?;
        Ok(item.map(|item| item.business_id))
    }

    async fn save_settings(
        &self,
        id: &BusinessId,
        settings: &Settings,
        read_version: u64,
    ) -> anyhow::Result<Written> {
        let settings = serde_dynamo::to_attribute_value(settings)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(business_pk(id)))
            .key("SK", AttributeValue::S(BUSINESS_SK.into()))
            .update_expression("SET settings = :settings, version = :next")
            .condition_expression("version = :read")
            .expression_attribute_values(":settings", settings)
            .expression_attribute_values(":read", AttributeValue::N(read_version.to_string()))
            .expression_attribute_values(":next", AttributeValue::N((read_version + 1).to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Written::Applied),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::Refused)
            }
            Err(err) => Err(err).context("UpdateItem (settings)"),
        }
    }
}

#[async_trait]
impl Participants for DynamoStore {
    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Participant>> {
        let item: Option<ParticipantItem> = self
            .get_as(business_pk(business), &participant_sk(customer), true)
            .await?;
        Ok(item.map(ParticipantItem::into_domain))
    }

    async fn set_reward_override(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        own: Option<&RewardOverride>,
    ) -> anyhow::Result<Written> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(business_pk(business)))
            .key("SK", AttributeValue::S(participant_sk(customer)))
            .condition_expression("attribute_exists(PK)");
        let update = match own {
            Some(own) => update
                .update_expression("SET reward_override = :own")
                .expression_attribute_values(":own", serde_dynamo::to_attribute_value(own)?),
            None => update.update_expression("REMOVE reward_override"),
        };
        match update.send().await {
            Ok(_) => Ok(Written::Applied),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::Refused)
            }
            Err(err) => Err(err).context("UpdateItem (reward override)"),
        }
    }

    async fn referrer(&self, code: &ReferralCode) -> anyhow::Result<Option<Referrer>> {
        let item: Option<CodeItem> = self.get_as(code_pk(code), CODE_SK, false).await?;
        Ok(item.map(|item| item.referrer))
    }

    async fn list(
        &self,
        business: &BusinessId,
        sort: ParticipantSort,
        limit: u32,
        after: Option<&Position>,
    ) -> anyhow::Result<Page<Participant, Position>> {
        let index: Index = match sort {
            ParticipantSort::Recent => GSI1,
            ParticipantSort::Closed => GSI2,
        };
        let gsi_pk = participants_gsi_pk(business);
        let start = after.map(|position| {
            HashMap::from([
                ("PK".to_owned(), AttributeValue::S(business_pk(business))),
                (
                    "SK".to_owned(),
                    AttributeValue::S(participant_sk(&position.customer_id)),
                ),
                (
                    index.partition_key.to_owned(),
                    AttributeValue::S(gsi_pk.clone()),
                ),
                (
                    index.sort_key.to_owned(),
                    AttributeValue::S(format!("{}#{}", position.sort_key, position.customer_id)),
                ),
            ])
        });
        // One more than asked tells whether another page exists without an empty last page.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.partition_key)
            .expression_attribute_values(":pk", AttributeValue::S(gsi_pk.clone()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("Query (participants)")?;
        let mut items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<_, ParticipantItem>(item).map(ParticipantItem::into_domain))
            .collect::<Result<Vec<_>, _>>()
            .context("reading participant items")?;
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next = match items.last() {
            Some(last) if has_more => Some(Position {
                sort_key: match sort {
                    ParticipantSort::Recent => recent_key(last.enrolled_at),
                    ParticipantSort::Closed => closed_key(last.stats.closed),
                },
                customer_id: last.customer_id.clone(),
            }),
            _ => None,
        };
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Clicks for DynamoStore {
    async fn record(&self, click: &Click) -> anyhow::Result<()> {
        let item = to_item(ClickItem {
            pk: click_pk(click.id),
            sk: CLICK_SK.into(),
            kind: "click".into(),
            click_id: click.id,
            business_id: click.business_id.clone(),
            customer_id: click.customer_id.clone(),
            code: click.code.clone(),
            channel: click.channel,
            ip_hash: click.ip_hash.clone(),
            at: click.at,
            expires_at: click.expires_at.timestamp(),
        })?;
        let counters = Update::builder()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(business_pk(&click.business_id)))
            .key("SK", AttributeValue::S(participant_sk(&click.customer_id)))
            .update_expression("ADD clicks :one, #channel :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#channel", channel_counter(click.channel))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .context("building the counter update")?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put_new(item)?)
            .transact_items(TransactWriteItem::builder().update(counters).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if cancelled_conditions(&err).is_some() => {
                // The code points at a participant that is not there: redirect, count nothing.
                tracing::warn!(code = %click.code, "click for a code without a participant");
                Ok(())
            }
            Err(err) => Err(err).context("TransactWriteItems (click)"),
        }
    }
}

#[async_trait]
impl vouch_domain::ports::RateLimits for DynamoStore {
    async fn hit(
        &self,
        key: &vouch_domain::ports::RateKey,
        window_secs: u64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<vouch_domain::ports::Rate> {
        let (start, left) = vouch_domain::ports::window(now, window_secs);
        let expires = start + i64::try_from(window_secs).unwrap_or(0) + 3600;
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(crate::keys::rate_pk(key, start)))
            .key("SK", AttributeValue::S("#RATE".into()))
            .update_expression("ADD hits :one SET expires_at = :expires")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":expires", AttributeValue::N(expires.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .context("UpdateItem (rate limit)")?;
        let hits: u64 = output
            .attributes
            .and_then(|a| {
                a.get("hits")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(1);
        Ok(if hits > u64::from(limit) {
            vouch_domain::ports::Rate::Limited {
                retry_after_secs: left,
            }
        } else {
            vouch_domain::ports::Rate::Allowed
        })
    }
}
