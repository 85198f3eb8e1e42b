//! One command, one transaction: the builder every multi-item write goes through, and what a
//! cancelled transaction tells the domain.

use anyhow::Context;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::{ConditionCheckBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use vouch_domain::decide::Refusal;
use vouch_domain::model::message::{Purpose, Reason};

use super::keys::Key;
use super::{DynamoStore, Item, primary_key};

/// What each transaction item stands for, to explain a cancellation.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    Delivery,
    Changed,
    Guard(Purpose, String),
    CapNumber(String),
    CapAll(String),
    Recipient(String),
    Rate(u64),
    Plain,
}

/// Which parts of a cancelled transaction failed their condition, in request order; `None` when
/// the error was not a cancellation.
fn cancelled_conditions<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<bool>> {
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

fn refusal(role: &Role) -> Refusal {
    match role {
        Role::Delivery => Refusal::Duplicate,
        Role::Guard(purpose, subject) => Refusal::MessageExists {
            purpose: *purpose,
            subject: subject.clone(),
        },
        Role::CapNumber(id) => Refusal::Capped {
            message_id: id.clone(),
            reason: Reason::DailyCap,
        },
        Role::CapAll(id) => Refusal::Capped {
            message_id: id.clone(),
            reason: Reason::BusinessDailyCap,
        },
        Role::Recipient(id) => Refusal::OptedOut {
            message_id: id.clone(),
        },
        Role::Rate(retry_after_secs) => Refusal::RateLimited {
            retry_after_secs: *retry_after_secs,
        },
        Role::Changed | Role::Plain => Refusal::Changed,
    }
}

/// A transaction under construction.
pub(crate) struct Tx<'a> {
    table: &'a str,
    items: Vec<TransactWriteItem>,
    roles: Vec<Role>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(table: &'a str) -> Self {
        Self {
            table,
            items: Vec::new(),
            roles: Vec::new(),
        }
    }

    pub(crate) fn put(
        &mut self,
        item: Item,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
        role: Role,
    ) -> anyhow::Result<()> {
        let mut put = Put::builder().table_name(self.table).set_item(Some(item));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
        }
        self.items.push(
            TransactWriteItem::builder()
                .put(put.build().context("Put")?)
                .build(),
        );
        self.roles.push(role);
        Ok(())
    }

    pub(crate) fn put_new(&mut self, item: Item, role: Role) -> anyhow::Result<()> {
        self.put(item, Some(("attribute_not_exists(PK)", vec![])), role)
    }

    pub(crate) fn update(&mut self, update: UpdateBuilder, role: Role) -> anyhow::Result<()> {
        let update = update.table_name(self.table).build().context("Update")?;
        self.items
            .push(TransactWriteItem::builder().update(update).build());
        self.roles.push(role);
        Ok(())
    }

    pub(crate) fn delete(&mut self, key: Key) -> anyhow::Result<()> {
        let delete = Delete::builder()
            .table_name(self.table)
            .set_key(Some(primary_key(key)))
            .build()
            .context("Delete")?;
        self.items
            .push(TransactWriteItem::builder().delete(delete).build());
        self.roles.push(Role::Plain);
        Ok(())
    }

    /// Deletes the item at `key` if `condition` holds for it (a missing item fails it).
    pub(crate) fn delete_if(
        &mut self,
        key: Key,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> anyhow::Result<()> {
        let mut delete = Delete::builder()
            .table_name(self.table)
            .set_key(Some(primary_key(key)))
            .condition_expression(condition);
        for (name, value) in values {
            delete = delete.expression_attribute_values(name, value);
        }
        self.items.push(
            TransactWriteItem::builder()
                .delete(delete.build().context("Delete")?)
                .build(),
        );
        self.roles.push(Role::Changed);
        Ok(())
    }

    pub(crate) fn check(&mut self, check: ConditionCheckBuilder, role: Role) -> anyhow::Result<()> {
        let check = check
            .table_name(self.table)
            .build()
            .context("ConditionCheck")?;
        self.items
            .push(TransactWriteItem::builder().condition_check(check).build());
        self.roles.push(role);
        Ok(())
    }

    /// The writes gathered, to send some other way than as one transaction (a bulk load).
    pub(crate) fn into_items(self) -> Vec<TransactWriteItem> {
        self.items
    }

    /// Sends the transaction (nothing when it is empty). A cancellation is the refusal of the
    /// first item whose condition failed.
    pub(crate) async fn send(self, store: &DynamoStore) -> anyhow::Result<Result<(), Refusal>> {
        if self.items.is_empty() {
            return Ok(Ok(()));
        }
        let result = store
            .dynamodb()
            .transact_write_items()
            .set_transact_items(Some(self.items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(err) => match cancelled_conditions(&err) {
                Some(failed) => {
                    let role = failed
                        .iter()
                        .position(|f| *f)
                        .and_then(|i| self.roles.get(i))
                        .unwrap_or(&Role::Plain);
                    Ok(Err(refusal(role)))
                }
                None => Err(err).context("TransactWriteItems"),
            },
        }
    }
}
