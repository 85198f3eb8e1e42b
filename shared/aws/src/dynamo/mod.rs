//! The DynamoDB adapter: every port of the domain over one table.
//!
//! Where each rule lives: every key format in [`keys`], the table itself in [`table`], the
//! transaction builder and what a cancelled transaction means in [`tx`]; one module per kind of
//! item (its shape, its reads, its part of a commit); [`program`] reads and commits a command's
//! items through them. The helpers shared by all are here.

mod businesses;
mod contacts;
mod keys;
mod leads;
mod limits;
mod outbox;
mod participants;
mod program;
mod recipients;
mod referrals;
mod rewards;
pub mod table;
mod tx;

use std::collections::HashMap;

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use serde::Serialize;
use serde_dynamo::from_item;

use vouch_domain::values::ids::BusinessId;

use crate::counter::RequestCounter;
use keys::Key;
use table::Index;

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
                ("PK".to_owned(), s(keys::business_pk(business))),
                ("SK".to_owned(), s(sk_of(id))),
                (index.partition_key.to_owned(), s(gsi_pk.clone())),
                (index.sort_key.to_owned(), s(id)),
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

    /// Reads the items at `keys` (consistently, in one request), by key.
    pub(crate) async fn batch_get(&self, keys: Vec<Key>) -> anyhow::Result<HashMap<Key, Item>> {
        let mut found = HashMap::new();
        if keys.is_empty() {
            return Ok(found);
        }
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for (pk, sk) in &keys {
            request = request.keys(HashMap::from([
                ("PK".to_owned(), s(pk.clone())),
                ("SK".to_owned(), s(sk.clone())),
            ]));
        }
        let output = self
            .dynamodb()
            .batch_get_item()
            .request_items(self.table(), request.build().context("keys")?)
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
            .remove(self.table())
            .unwrap_or_default()
        {
            if let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
                (item.get("PK"), item.get("SK"))
            {
                found.insert((pk.clone(), sk.clone()), item);
            }
        }
        Ok(found)
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
    item.insert("PK".into(), s(pk));
    item.insert("SK".into(), s(sk));
    item.insert("kind".into(), s(kind));
    item
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
