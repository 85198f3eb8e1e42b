//! Recipients: one record per phone number across businesses, holding its opt-out and the last
//! business that texted it (for replies such as STOP).

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::builders::ConditionCheckBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use vouch_domain::model::message::Reason;
use vouch_domain::ports::{Recipient, Recipients, SendOutcome, SendResult};
use vouch_domain::values::ids::BusinessId;
use vouch_domain::values::person::Phone;

use super::tx::{Role, Tx};
use super::{DynamoStore, keys, primary_key, s, to_attr};

#[derive(Serialize, Deserialize, Default)]
struct RecipientItem {
    #[serde(default)]
    opted_out: bool,
    #[serde(default)]
    last_business_id: Option<BusinessId>,
}

/// The check that `phone` has not opted out, to send with a text.
pub(crate) fn not_opted_out(phone: &Phone) -> ConditionCheckBuilder {
    ConditionCheck::builder()
        .set_key(Some(primary_key(keys::recipient(phone))))
        // A number we texted before has a record without `opted_out` until it opts out.
        .condition_expression(
            "attribute_not_exists(PK) OR attribute_not_exists(opted_out) OR opted_out = :no",
        )
        .expression_attribute_values(":no", AttributeValue::Bool(false))
}

/// Adds the recipients of finished sends: the business that texted them last, and their
/// opt-out if a send said so. One update per number (a transaction touches an item once).
pub(crate) fn commit_texted(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    outcomes: &[SendOutcome],
) -> anyhow::Result<()> {
    let mut numbers: Vec<(&Phone, bool)> = Vec::new();
    for outcome in outcomes {
        let Some(phone) = &outcome.phone else {
            continue;
        };
        let opted_out = matches!(
            outcome.result,
            SendResult::Closed {
                reason: Reason::OptedOut,
                ..
            }
        );
        match numbers.iter_mut().find(|(p, _)| *p == phone) {
            Some((_, any)) => *any |= opted_out,
            None => numbers.push((phone, opted_out)),
        }
    }
    for (phone, opted_out) in numbers {
        let expression = if opted_out {
            "SET last_business_id = :b, opted_out = :yes"
        } else {
            "SET last_business_id = :b"
        };
        let mut recipient = Update::builder()
            .set_key(Some(primary_key(keys::recipient(phone))))
            .update_expression(expression)
            .expression_attribute_values(":b", s(business.as_str()));
        if opted_out {
            recipient = recipient.expression_attribute_values(":yes", AttributeValue::Bool(true));
        }
        tx.update(recipient, Role::Plain)?;
    }
    Ok(())
}

#[async_trait]
impl Recipients for DynamoStore {
    async fn recipient(&self, phone: &Phone) -> anyhow::Result<Recipient> {
        let item: RecipientItem = self
            .get_as(keys::recipient(phone), true)
            .await?
            .unwrap_or_default();
        Ok(Recipient {
            opted_out: item.opted_out,
            last_business_id: item.last_business_id,
        })
    }

    async fn set_opted_out(
        &self,
        phone: &Phone,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.dynamodb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(primary_key(keys::recipient(phone))))
            .update_expression("SET opted_out = :o, changed_at = :at")
            .expression_attribute_values(":o", AttributeValue::Bool(opted_out))
            .expression_attribute_values(":at", to_attr(&at))
            .send()
            .await
            .context("UpdateItem (recipient)")?;
        Ok(())
    }
}
