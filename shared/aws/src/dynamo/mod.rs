//! The DynamoDB adapter: every port of the domain over one table.
//!
//! Where each rule lives: every key format in [`keys`], the table itself in [`table`], the
//! transaction builder and what a cancelled transaction means in [`tx`]; one module per kind of
//! item (its shape, its reads, its part of a commit); [`program`] reads and commits a command's
//! items through them. The helpers shared by all are here.

mod businesses;
mod contacts;
mod jobber;
mod keys;
mod leads;
mod limits;
mod load;
mod outbox;
mod participants;
mod program;
mod recipients;
mod referrals;
mod reports;
mod rewards;
mod staff;
pub mod table;
mod tx;

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_dynamo::from_item;

use vouch_domain::ports::Written;

use crate::counter::RequestCounter;
use keys::Key;

use crate::lazy::Lazy;
use table::{GSI1, Index, PARTITION_KEY, SORT_KEY};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The table behind every port.
#[derive(Clone)]
pub struct DynamoStore {
    client: Lazy<Client>,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Lazy<Client>, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A client for `sdk` whose requests are counted by `counter`, built on first use.
    pub fn client(sdk: &aws_config::SdkConfig, counter: &RequestCounter) -> Lazy<Client> {
        let (sdk, counter) = (sdk.clone(), counter.clone());
        Lazy::new(move || {
            let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(counter.clone())
                .build();
            Client::from_conf(config)
        })
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The underlying client (for provisioning the table).
    pub fn dynamodb(&self) -> &Client {
        &self.client
    }

    /// Reads one item as `T`.
    pub(crate) async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        key: Key,
        consistent: bool,
    ) -> anyhow::Result<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(primary_key(key)))
            .consistent_read(consistent)
            .send()
            .await
            .context("GetItem")?;
        match output.item {
            Some(item) => Ok(Some(from_item(item).context("reading an item")?)),
            None => Ok(None),
        }
    }

    /// Reads the items at `keys` (consistently, in one request), by key.
    pub(crate) async fn batch_get(&self, keys: Vec<Key>) -> anyhow::Result<HashMap<Key, Item>> {
        let mut found = HashMap::new();
        if keys.is_empty() {
            return Ok(found);
        }
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for key in keys {
            request = request.keys(primary_key(key));
        }
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, request.build().context("keys")?)
            .send()
            .await
            .context("BatchGetItem")?;
        if output
            .unprocessed_keys
            .as_ref()
            .is_some_and(|u| !u.is_empty())
        {
            anyhow::bail!("BatchGetItem left keys unprocessed; retry");
        }
        for item in output
            .responses
            .unwrap_or_default()
            .remove(&self.table)
            .unwrap_or_default()
        {
            if let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
                (item.get(PARTITION_KEY), item.get(SORT_KEY))
            {
                found.insert((pk.clone(), sk.clone()), item);
            }
        }
        Ok(found)
    }

    /// One page of an index, newest first: up to `limit + 1` items (one more than asked tells
    /// whether another page exists without an empty last page). `after` is where the previous
    /// page ended: its last item's table key and index sort key.
    pub(crate) async fn newest_first(
        &self,
        index: Index,
        index_pk: String,
        after: Option<(Key, String)>,
        limit: u32,
    ) -> anyhow::Result<Vec<Item>> {
        let start = after.map(|(key, index_sk)| {
            let mut start = primary_key(key);
            start.insert(index.partition_key.to_owned(), s(index_pk.clone()));
            start.insert(index.sort_key.to_owned(), s(index_sk));
            start
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.partition_key)
            .expression_attribute_values(":pk", s(index_pk))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("Query (newest first)")?;
        Ok(output.items.unwrap_or_default())
    }

    /// The items of partition `pk` whose sort key begins with `prefix`, in sort-key order or
    /// the reverse: one page of at most `limit` items, or without a limit every page (up to
    /// 10,000 items).
    pub(crate) async fn query_prefix(
        &self,
        pk: String,
        prefix: String,
        forward: bool,
        limit: Option<u32>,
    ) -> anyhow::Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix.clone()))
                .scan_index_forward(forward)
                .set_limit(limit.map(|limit| i32::try_from(limit).unwrap_or(i32::MAX)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("Query (by prefix)")?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if limit.is_none() && !key.is_empty() && items.len() < 10_000 => {
                    start = Some(key);
                }
                _ => break,
            }
        }
        Ok(items)
    }

    /// The first `limit` entries of a time-ordered queue on `GSI1` (`OUTBOX#…`, sorted by
    /// `{time}#{id}`), oldest first, up to `until`.
    pub(crate) async fn queued(
        &self,
        queue: &str,
        until: Until,
        limit: u32,
    ) -> anyhow::Result<Vec<Item>> {
        let (condition, bound) = match until {
            Until::Before(at) => ("#pk = :pk AND #sk < :bound", keys::millis(at)),
            Until::Through(at) => ("#pk = :pk AND #sk <= :bound", keys::through(at)),
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1.name)
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", GSI1.partition_key)
            .expression_attribute_names("#sk", GSI1.sort_key)
            .expression_attribute_values(":pk", s(queue))
            .expression_attribute_values(":bound", s(bound))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .context("Query (queue)")?;
        Ok(output.items.unwrap_or_default())
    }
}

/// How far into a queue to read.
pub(crate) enum Until {
    /// Entries from before this time.
    Before(DateTime<Utc>),
    /// Entries up to and including this time.
    Through(DateTime<Utc>),
}

/// The attributes of an item's primary key.
pub(crate) fn primary_key((pk, sk): Key) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(pk)),
        (SORT_KEY.to_owned(), s(sk)),
    ])
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A value as its attribute; `NULL` if it cannot be one.
pub(crate) fn to_attr<T: Serialize>(value: &T) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).unwrap_or(AttributeValue::Null(true))
}

/// `item` with its keys and its kind.
pub(crate) fn keyed(pk: String, sk: String, mut item: Item, kind: &str) -> Item {
    item.extend(primary_key((pk, sk)));
    item.insert("kind".into(), s(kind));
    item
}

/// A single-item write error that may be its condition failing.
pub(crate) trait Conditional {
    fn condition_failed(&self) -> bool;
}

impl Conditional for UpdateItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl Conditional for PutItemError {
    fn condition_failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

/// What a single conditional write came to: applied, or refused because its condition failed.
/// Any other failure is an error, described by `what`.
pub(crate) fn written<O, E, R>(
    result: Result<O, SdkError<E, R>>,
    what: &'static str,
) -> anyhow::Result<Written>
where
    E: Conditional + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(Written::Applied),
        Err(err) if err.as_service_error().is_some_and(E::condition_failed) => Ok(Written::Refused),
        Err(err) => Err(err).context(what),
    }
}
