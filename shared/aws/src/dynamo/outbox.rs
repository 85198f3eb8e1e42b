//! The outboxes: texts (with the guards that allow one per purpose and subject, and the daily
//! caps), and the domain events not yet on the bus.

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::{Plan, Refusal};
use vouch_domain::model::events::DomainEvent;
use vouch_domain::model::message::{Message, Status};
use vouch_domain::ports::{MessageFilter, Outbox, Page, SendOutcome, SendResult};
use vouch_domain::rules::sending::SendGuard;
use vouch_domain::values::ids::BusinessId;

use super::recipients;
use super::table::GSI2;
use super::tx::{Role, Tx};
use super::{DynamoStore, Item, Until, keyed, keys, n, primary_key, s, to_attr, written};

#[derive(Serialize, Deserialize)]
struct MessageItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    kind: String,
    #[serde(flatten)]
    message: Message,
}

impl MessageItem {
    fn of(message: &Message) -> Self {
        let pending_due = message.due_at.filter(|_| message.status.is_pending());
        Self {
            pk: keys::business_pk(&message.business_id),
            sk: keys::message_sk(&message.message_id),
            gsi1pk: pending_due.map(|_| keys::DUE_MESSAGES.to_owned()),
            gsi1sk: pending_due.map(|due| keys::due_message_sk(due, &message.message_id)),
            gsi2pk: message
                .customer_id
                .as_ref()
                .map(|c| keys::customer_messages_pk(&message.business_id, c)),
            gsi2sk: message
                .customer_id
                .as_ref()
                .map(|_| message.message_id.clone()),
            kind: "message".into(),
            message: message.clone(),
        }
    }
}

fn message_item(message: &Message) -> anyhow::Result<Item> {
    Ok(to_item(MessageItem::of(message))?)
}

#[derive(Serialize, Deserialize)]
struct EventItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    kind: String,
    /// The event as JSON: its data is free-form.
    event: String,
}

pub(crate) fn event_item(event: &DomainEvent) -> anyhow::Result<Item> {
    let (pk, sk) = keys::event(&event.event_id);
    Ok(to_item(EventItem {
        pk,
        sk,
        gsi1pk: keys::PENDING_EVENTS.into(),
        gsi1sk: keys::event_index_sk(event.occurred_at, &event.event_id),
        kind: "event".into(),
        event: serde_json::to_string(event)?,
    })?)
}

/// Adds caps and opt-out checks for texts going out together: one counter update per number
/// (a transaction may touch an item once), one for the business, one check per number.
pub(crate) fn commit_guards(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    guards: &[SendGuard],
) -> anyhow::Result<()> {
    let Some(first) = guards.first() else {
        return Ok(());
    };
    let expires = (first.day + Duration::days(3))
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp());
    let cap = |sk: String, cap: u32, count: u32| {
        // More texts at once than the cap allows can never pass: refused like a reached cap
        // (the domain then defers one and tries again).
        let condition = if count <= cap {
            "attribute_not_exists(#count) OR #count <= :room"
        } else {
            "#count <= :room"
        };
        Update::builder()
            .set_key(Some(primary_key((keys::business_pk(business), sk))))
            .update_expression("ADD #count :n SET expires_at = :expires")
            .condition_expression(condition)
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":n", n(count))
            .expression_attribute_values(":room", n(i64::from(cap) - i64::from(count)))
            .expression_attribute_values(":expires", n(expires))
    };
    let mut by_phone: Vec<(&SendGuard, u32)> = Vec::new();
    for guard in guards {
        let counts = u32::from(guard.counts);
        match by_phone.iter_mut().find(|(g, _)| g.phone == guard.phone) {
            Some((_, count)) => *count += counts,
            None => by_phone.push((guard, counts)),
        }
    }
    // The opt-out first: a number that opted out is refused as such, even at a cap.
    for (guard, _) in &by_phone {
        tx.check(
            recipients::not_opted_out(&guard.phone),
            Role::Recipient(guard.message_id.clone()),
        )?;
    }
    for (guard, count) in by_phone.iter().filter(|(_, count)| *count > 0) {
        tx.update(
            cap(
                keys::cap_sk(guard.day, Some(&guard.phone)),
                guard.per_number,
                *count,
            ),
            Role::CapNumber(guard.message_id.clone()),
        )?;
    }
    let total = u32::try_from(guards.iter().filter(|g| g.counts).count()).unwrap_or(u32::MAX);
    if total > 0 {
        tx.update(
            cap(keys::cap_sk(first.day, None), first.per_business, total),
            Role::CapAll(first.message_id.clone()),
        )?;
    }
    Ok(())
}

/// Adds a plan's new texts, each with the guard that refuses a second one for the same
/// purpose and subject.
pub(crate) fn commit_messages(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    for message in &plan.messages {
        tx.put_new(message_item(message)?, Role::Plain)?;
        let guard = keyed(
            pk.clone(),
            keys::message_guard_sk(message.purpose, &message.subject),
            Item::new(),
            "message_guard",
        );
        tx.put_new(guard, Role::Guard(message.purpose, message.subject.clone()))?;
    }
    Ok(())
}

/// Adds a plan's events to the outbox, each once.
pub(crate) fn commit_events(tx: &mut Tx<'_>, plan: &Plan) -> anyhow::Result<()> {
    for event in &plan.events {
        tx.put_new(event_item(event)?, Role::Plain)?;
    }
    Ok(())
}

/// Adds the end of each send: sent, or closed with its reason; out of the due queue either way.
pub(crate) fn commit_sent(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    outcomes: &[SendOutcome],
) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    for outcome in outcomes {
        let (status, reason, sent_at, provider) = match &outcome.result {
            SendResult::Sent { provider_id, at } => {
                (Status::Sent, None, Some(*at), Some(provider_id.clone()))
            }
            SendResult::Closed { status, reason } => (*status, Some(*reason), None, None),
        };
        let mut update = Update::builder()
            .set_key(Some(primary_key((
                pk.clone(),
                keys::message_sk(&outcome.message_id),
            ))))
            .update_expression("SET #status = :status, reason = :reason, sent_at = :sent, provider_id = :provider, due_at = :none REMOVE GSI1PK, GSI1SK")
            // Recorded once: only a text still pending (queued or deferred) moves.
            .condition_expression("#status IN (:queued, :deferred)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":queued", s(Status::Queued.as_str()))
            .expression_attribute_values(":deferred", s(Status::Deferred.as_str()))
            .expression_attribute_values(":none", AttributeValue::Null(true));
        update = update
            .expression_attribute_values(
                ":reason",
                reason.map_or(AttributeValue::Null(true), |r| to_attr(&r)),
            )
            .expression_attribute_values(
                ":sent",
                sent_at.map_or(AttributeValue::Null(true), |t| to_attr(&t)),
            )
            .expression_attribute_values(
                ":provider",
                provider.map_or(AttributeValue::Null(true), s),
            );
        tx.update(update, Role::Plain)?;
    }
    Ok(())
}

/// Adds the outbox's changes after publishing: `published` leave it, `pending` (new events the
/// bus did not take) join it.
pub(crate) fn commit_published(
    tx: &mut Tx<'_>,
    published: &[String],
    pending: &[DomainEvent],
) -> anyhow::Result<()> {
    for id in published {
        tx.delete(keys::event(id))?;
    }
    for event in pending {
        tx.put(event_item(event)?, None, Role::Plain)?;
    }
    Ok(())
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn due_messages(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Message>> {
        self.queued(keys::DUE_MESSAGES, Until::Through(now), limit)
            .await?
            .into_iter()
            .map(|item| Ok(from_item::<_, MessageItem>(item)?.message))
            .collect()
    }

    async fn claim(
        &self,
        message: &Message,
        guard: Option<&SendGuard>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Result<(), Refusal>> {
        let mut tx = Tx::new(self.table());
        let update = Update::builder()
            .set_key(Some(primary_key((
                keys::business_pk(&message.business_id),
                keys::message_sk(&message.message_id),
            ))))
            .update_expression(
                "SET #status = :queued, due_at = :until, GSI1PK = :due, GSI1SK = :sk",
            )
            .condition_expression("#status = :read AND due_at = :read_due")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s(Status::Queued.as_str()))
            .expression_attribute_values(":until", to_attr(&until))
            .expression_attribute_values(":due", s(keys::DUE_MESSAGES))
            .expression_attribute_values(":sk", s(keys::due_message_sk(until, &message.message_id)))
            .expression_attribute_values(":read", s(message.status.as_str()))
            .expression_attribute_values(":read_due", to_attr(&message.due_at));
        tx.update(update, Role::Changed)?;
        if let Some(guard) = guard {
            commit_guards(&mut tx, &message.business_id, std::slice::from_ref(guard))?;
        }
        tx.send(self).await
    }

    async fn reschedule(&self, read: &Message, updated: &Message) -> anyhow::Result<()> {
        let result = self
            .dynamodb()
            .put_item()
            .table_name(self.table())
            .set_item(Some(message_item(updated)?))
            .condition_expression("#status = :read AND due_at = :read_due")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":read", s(read.status.as_str()))
            .expression_attribute_values(":read_due", to_attr(&read.due_at))
            .send()
            .await;
        // A text that changed since it was read is left as it is.
        written(result, "PutItem (reschedule)")?;
        Ok(())
    }

    async fn pending_events(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DomainEvent>> {
        self.queued(keys::PENDING_EVENTS, Until::Before(before), limit)
            .await?
            .into_iter()
            .map(|item| {
                let item: EventItem = from_item(item)?;
                Ok(serde_json::from_str(&item.event)?)
            })
            .collect()
    }

    async fn messages(
        &self,
        business: &BusinessId,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Message>> {
        let pk = keys::business_pk(business);
        let mut items = Vec::new();
        let mut start: Option<Item> = after.map(|id| {
            let mut key = primary_key((pk.clone(), keys::message_sk(id)));
            if let Some(customer) = &filter.customer_id {
                key.insert(
                    GSI2.partition_key.into(),
                    s(keys::customer_messages_pk(business, customer)),
                );
                key.insert(GSI2.sort_key.into(), s(id));
            }
            key
        });
        // A status filter applies after each page is read: read on until the page is full.
        for _ in 0..10 {
            let mut query = self
                .dynamodb()
                .query()
                .table_name(self.table())
                .scan_index_forward(false)
                .limit(i32::try_from(limit + 1).unwrap_or(101));
            query = match &filter.customer_id {
                Some(customer) => query
                    .index_name(GSI2.name)
                    .key_condition_expression("GSI2PK = :pk")
                    .expression_attribute_values(
                        ":pk",
                        s(keys::customer_messages_pk(business, customer)),
                    ),
                None => query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :msg)")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":msg", s(keys::MESSAGE_PREFIX)),
            };
            if let Some(status) = filter.status {
                query = query
                    .filter_expression("#status = :status")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let output = query
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .context("Query (messages)")?;
            for item in output.items.unwrap_or_default() {
                items.push(from_item::<_, MessageItem>(item)?.message);
            }
            start = output.last_evaluated_key;
            if items.len() > limit as usize || start.is_none() {
                break;
            }
        }
        let more = items.len() > limit as usize || start.is_some();
        items.truncate(limit as usize);
        let next = if more {
            items.last().map(|m| m.message_id.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
