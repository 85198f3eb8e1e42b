//! The program's items: contacts, aliases, match index, jobs, deliveries, leads, messages and
//! their guards, daily caps, recipients and the event outbox. One transaction per command.
//!
//! | item | PK | SK | GSI |
//! |---|---|---|---|
//! | contact / alias | `BIZ#{b}` | `CUST#{customer}` | |
//! | match index | `BIZ#{b}` | `PHONE#{e164}` / `EMAIL#{email}` | |
//! | job | `BIZ#{b}` | `JOB#{job}` | |
//! | delivery (dedupe, TTL) | `BIZ#{b}` | `DELIVERY#{id}` | |
//! | lead | `BIZ#{b}` | `LEAD#{lead}` | |
//! | message | `BIZ#{b}` | `MSG#{message}` | GSI1 `OUTBOX#DUE` / `{due_at}#{id}` while pending; GSI2 `BIZ#{b}#CUST#{c}#MSGS` / `{id}` |
//! | message guard | `BIZ#{b}` | `MSGKEY#{purpose}#{subject}` | |
//! | daily cap (TTL) | `BIZ#{b}` | `CAP#{day}#NUM#{e164}` / `CAP#{day}#ALL` | |
//! | recipient | `PHONE#{e164}` | `#RECIPIENT` | |
//! | outbox event | `EVENT#{id}` | `#EVENT` | GSI1 `OUTBOX#EVENTS` / `{occurred_at}#{id}` |

use crate::keys::{counter_sk, lead_key_sk};
use std::collections::HashMap;
use vouch_domain::model::search::SearchQuery;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::model::contact::Contact;
use vouch_domain::model::events::DomainEvent;
use vouch_domain::model::search::{candidates, search_text};
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::Phone;

use crate::referrals::{CounterItem, LeadKeyItem};
use crate::store::click_from_item;
use vouch_domain::decide::{IndexEntry, LoadKeys, Plan, Refusal, Snapshot};
use vouch_domain::model::job::Job;
use vouch_domain::model::message::{Message, Purpose, Reason, Status};
use vouch_domain::ports::Page;
use vouch_domain::ports::{
    Finish, MessageFilter, Outbox, ProgramStore, Recipient, Recipients, SendResult,
};
use vouch_domain::rules::sending::SendGuard;

use crate::store::{
    DynamoStore, Item, ParticipantItem, business_pk, cancelled_conditions, code_item,
    participant_sk,
};

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn contact_sk(id: &CustomerId) -> String {
    format!("CUST#{id}")
}

fn index_sk(entry: &IndexEntry) -> (String, &CustomerId) {
    match entry {
        IndexEntry::Phone(phone, id) => (format!("PHONE#{phone}"), id),
        IndexEntry::Email(email, id) => (format!("EMAIL#{email}"), id),
    }
}

const DUE: &str = "OUTBOX#DUE";
const EVENTS: &str = "OUTBOX#EVENTS";

/// A stored customer record: the contact itself, or an alias pointing at it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum CustomerRecord {
    Contact {
        #[serde(flatten)]
        contact: Box<Contact>,
    },
    Alias {
        canonical: CustomerId,
    },
}

#[derive(Serialize, Deserialize)]
struct IndexItem {
    customer_id: CustomerId,
}

#[derive(Serialize, Deserialize)]
struct JobItem {
    #[serde(flatten)]
    job: Job,
    status_rank: u8,
}

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
            pk: business_pk(&message.business_id),
            sk: format!("MSG#{}", message.message_id),
            gsi1pk: pending_due.map(|_| DUE.to_owned()),
            gsi1sk: pending_due.map(|due| format!("{}#{}", millis(due), message.message_id)),
            gsi2pk: message
                .customer_id
                .as_ref()
                .map(|c| format!("BIZ#{}#CUST#{c}#MSGS", message.business_id)),
            gsi2sk: message
                .customer_id
                .as_ref()
                .map(|_| message.message_id.clone()),
            kind: "message".into(),
            message: message.clone(),
        }
    }
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

fn event_key(id: &str) -> (String, String) {
    (format!("EVENT#{id}"), "#EVENT".to_owned())
}

#[derive(Serialize, Deserialize, Default)]
struct RecipientItem {
    #[serde(default)]
    opted_out: bool,
    #[serde(default)]
    last_business_id: Option<BusinessId>,
}

fn recipient_key(phone: &Phone) -> (String, String) {
    (format!("PHONE#{phone}"), "#RECIPIENT".to_owned())
}

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
    fn new(table: &'a str) -> Self {
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

    pub(crate) fn update(
        &mut self,
        update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
        role: Role,
    ) -> anyhow::Result<()> {
        let update = update.table_name(self.table).build().context("Update")?;
        self.items
            .push(TransactWriteItem::builder().update(update).build());
        self.roles.push(role);
        Ok(())
    }

    pub(crate) fn delete(&mut self, pk: String, sk: String) -> anyhow::Result<()> {
        let delete = Delete::builder()
            .table_name(self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .build()
            .context("Delete")?;
        self.items
            .push(TransactWriteItem::builder().delete(delete).build());
        self.roles.push(Role::Plain);
        Ok(())
    }

    /// Caps and opt-out checks for texts going out together: one counter update per number
    /// (a transaction may touch an item once), one for the business, one check per number.
    fn guards(&mut self, business: &BusinessId, guards: &[SendGuard]) -> anyhow::Result<()> {
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
                .key("PK", s(business_pk(business)))
                .key("SK", s(sk))
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
            let (pk, sk) = recipient_key(&guard.phone);
            let check = ConditionCheck::builder()
                .table_name(self.table)
                .key("PK", s(pk))
                .key("SK", s(sk))
                // A number we texted before has a record without `opted_out` until it opts out.
                .condition_expression(
                    "attribute_not_exists(PK) OR attribute_not_exists(opted_out) OR opted_out = :no",
                )
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .build()
                .context("ConditionCheck")?;
            self.items
                .push(TransactWriteItem::builder().condition_check(check).build());
            self.roles.push(Role::Recipient(guard.message_id.clone()));
        }
        for (guard, count) in by_phone.iter().filter(|(_, count)| *count > 0) {
            self.update(
                cap(
                    cap_sk(guard.day, Some(&guard.phone)),
                    guard.per_number,
                    *count,
                ),
                Role::CapNumber(guard.message_id.clone()),
            )?;
        }
        let total = u32::try_from(guards.iter().filter(|g| g.counts).count()).unwrap_or(u32::MAX);
        if total > 0 {
            self.update(
                cap(cap_sk(first.day, None), first.per_business, total),
                Role::CapAll(first.message_id.clone()),
            )?;
        }
        Ok(())
    }

    async fn send(self, store: &DynamoStore) -> anyhow::Result<Result<(), Refusal>> {
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

fn cap_sk(day: NaiveDate, phone: Option<&Phone>) -> String {
    match phone {
        Some(phone) => format!("CAP#{day}#NUM#{phone}"),
        None => format!("CAP#{day}#ALL"),
    }
}

pub(crate) fn keyed(pk: String, sk: String, mut item: Item, kind: &str) -> Item {
    item.insert("PK".into(), s(pk));
    item.insert("SK".into(), s(sk));
    item.insert("kind".into(), s(kind));
    item
}

fn message_item(message: &Message) -> anyhow::Result<Item> {
    Ok(to_item(MessageItem::of(message))?)
}

fn event_item(event: &DomainEvent) -> anyhow::Result<Item> {
    let (pk, sk) = event_key(&event.event_id);
    Ok(to_item(EventItem {
        pk,
        sk,
        gsi1pk: EVENTS.into(),
        gsi1sk: format!("{}#{}", millis(event.occurred_at), event.event_id),
        kind: "event".into(),
        event: serde_json::to_string(event)?,
    })?)
}

/// Notes the participant records among `found` (as read, for conditional counter updates).
fn note_participants(
    pk: &str,
    found: &HashMap<(String, String), Item>,
    into: &mut HashMap<CustomerId, vouch_domain::model::participant::Participant>,
) -> anyhow::Result<()> {
    for ((p, sk), item) in found {
        if p == pk && sk.starts_with("PART#") {
            let participant = from_item::<_, ParticipantItem>(item.clone())?.into_domain();
            into.insert(participant.customer_id.clone(), participant);
        }
    }
    Ok(())
}

impl DynamoStore {
    pub(crate) async fn batch_get(
        &self,
        keys: Vec<(String, String)>,
    ) -> anyhow::Result<HashMap<(String, String), Item>> {
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
}

#[async_trait]
impl ProgramStore for DynamoStore {
    async fn load(&self, business: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        let pk = business_pk(business);
        let customer_key = (pk.clone(), contact_sk(&keys.customer_id));
        let phone_key = keys
            .phone
            .as_ref()
            .map(|p| (pk.clone(), format!("PHONE#{p}")));
        let email_key = keys
            .email
            .as_ref()
            .map(|e| (pk.clone(), format!("EMAIL#{e}")));
        let job_key = keys
            .job_id
            .as_ref()
            .map(|j| (pk.clone(), format!("JOB#{j}")));
        let referrer_key = keys.referrer.as_ref().map(|r| (pk.clone(), contact_sk(r)));
        let click_key = keys
            .click
            .map(|id| (format!("CLICK#{id}"), "#CLICK".to_owned()));
        let lead_keys: Vec<(String, String)> = keys
            .lead_keys
            .iter()
            .map(lead_key_sk)
            .chain(keys.counters.iter().map(counter_sk))
            .map(|sk| (pk.clone(), sk))
            .collect();
        let mut first: Vec<(String, String)> = vec![customer_key.clone()];
        first.extend(phone_key.clone());
        first.extend(email_key.clone());
        first.extend(job_key.clone());
        first.extend(referrer_key.clone());
        if let Some(referrer) = &keys.referrer {
            first.push((pk.clone(), participant_sk(referrer)));
        }
        first.extend(click_key.clone());
        first.extend(lead_keys.iter().cloned());
        first.sort();
        first.dedup();
        let read_first = first.clone();
        let mut found = self.batch_get(first).await?;
        let candidates = match &keys.mention {
            Some(text) => candidates(
                self.search_prefix(business, &SearchQuery::Name(search_text(text)), 100)
                    .await?,
            ),
            None => Vec::new(),
        };

        let owner_of = |key: &Option<(String, String)>,
                        found: &mut HashMap<(String, String), Item>|
         -> anyhow::Result<Option<CustomerId>> {
            match key.as_ref().and_then(|k| found.remove(k)) {
                Some(item) => Ok(Some(from_item::<_, IndexItem>(item)?.customer_id)),
                None => Ok(None),
            }
        };
        let phone_owner_id = owner_of(&phone_key, &mut found)?;
        let email_owner_id = owner_of(&email_key, &mut found)?;
        let job = match job_key.as_ref().and_then(|k| found.remove(k)) {
            Some(item) => Some(from_item::<_, JobItem>(item)?.job),
            None => None,
        };
        let click = match click_key.as_ref().and_then(|k| found.get(k).cloned()) {
            Some(item) => Some(click_from_item(item)?),
            None => None,
        };
        let mut recent_lead = None;
        let mut counters = HashMap::new();
        for key in &keys.lead_keys {
            if let Some(item) = found.get(&(pk.clone(), lead_key_sk(key))) {
                let record: LeadKeyItem = from_item(item.clone())?;
                let until = DateTime::from_timestamp(record.expires_at, 0).unwrap_or_default();
                // Of several keys (phone, email), the one that holds longest decides.
                if recent_lead.as_ref().is_none_or(|(_, seen)| until > *seen) {
                    recent_lead = Some((record.lead_id, until));
                }
            }
        }
        for key in &keys.counters {
            if let Some(item) = found.get(&(pk.clone(), counter_sk(key))) {
                let record: CounterItem = from_item(item.clone())?;
                counters.insert(key.clone(), record.count);
            }
        }
        // Read, not taken: the same item may also be the phone's or email's owner.
        let (mut contact, canonical) = match found.get(&customer_key).cloned() {
            Some(item) => match from_item::<_, CustomerRecord>(item)? {
                CustomerRecord::Contact { contact } => (Some(*contact), None),
                CustomerRecord::Alias { canonical } => (None, Some(canonical)),
            },
            None => (None, None),
        };
        let (mut referrer, referrer_canonical) =
            match referrer_key.as_ref().and_then(|k| found.get(k).cloned()) {
                Some(item) => match from_item::<_, CustomerRecord>(item)? {
                    CustomerRecord::Contact { contact } => (Some(*contact), None),
                    CustomerRecord::Alias { canonical } => (None, Some(canonical)),
                },
                None => (None, None),
            };
        let mut read_participants = HashMap::new();
        note_participants(&pk, &found, &mut read_participants)?;
        // The referrer of the contact's current referral, when the command needs it.
        let referral_referrer = |contact: &Option<Contact>| {
            contact
                .as_ref()
                .filter(|_| keys.referral_parties)
                .and_then(|c| c.referral.as_ref())
                .and_then(|r| r.referrer_id().cloned())
        };

        // Second read: whatever the first one pointed at.
        let mut second = Vec::new();
        second.extend(canonical.iter().map(|c| (pk.clone(), contact_sk(c))));
        second.extend(phone_owner_id.iter().map(|c| (pk.clone(), contact_sk(c))));
        second.extend(email_owner_id.iter().map(|c| (pk.clone(), contact_sk(c))));
        for id in referrer_canonical.iter() {
            second.push((pk.clone(), contact_sk(id)));
            second.push((pk.clone(), participant_sk(id)));
        }
        if let Some(id) = referral_referrer(&contact) {
            if keys.referrer.is_none() {
                second.push((pk.clone(), contact_sk(&id)));
            }
            second.push((pk.clone(), participant_sk(&id)));
        }
        let participant_of = canonical
            .clone()
            .unwrap_or_else(|| keys.customer_id.clone());
        if keys.participant {
            second.push((pk.clone(), participant_sk(&participant_of)));
        }
        second.sort();
        second.dedup();
        // Whatever the first read already covered (found or known absent) is not read again.
        second.retain(|key| !read_first.contains(key));
        let mut more = self.batch_get(second).await?;
        for key in &read_first {
            if (key.1.starts_with("CUST#") || key.1.starts_with("PART#"))
                && let Some(item) = found.get(key)
            {
                more.entry(key.clone()).or_insert_with(|| item.clone());
            }
        }
        let participant = match more.remove(&(pk.clone(), participant_sk(&participant_of))) {
            Some(item) => Some(from_item::<_, ParticipantItem>(item)?.into_domain()),
            None => None,
        };
        note_participants(&pk, &more, &mut read_participants)?;
        let contact_in = |more: &HashMap<(String, String), Item>,
                          id: &Option<CustomerId>|
         -> anyhow::Result<Option<Contact>> {
            match id
                .as_ref()
                .and_then(|c| more.get(&(pk.clone(), contact_sk(c))).cloned())
            {
                Some(item) => match from_item::<_, CustomerRecord>(item)? {
                    CustomerRecord::Contact { contact } => Ok(Some(*contact)),
                    CustomerRecord::Alias { .. } => Ok(None),
                },
                None => Ok(None),
            }
        };
        if canonical.is_some() {
            contact = contact_in(&more, &canonical)?;
        }
        if referrer_canonical.is_some() {
            referrer = contact_in(&more, &referrer_canonical)?;
        }
        let phone_owner = contact_in(&more, &phone_owner_id)?;
        let email_owner = contact_in(&more, &email_owner_id)?;
        // The referrer of the referral the command acts on, whichever way the contact resolves
        // (directly, through an alias, or by phone or email): a third read when not yet read.
        let acting = contact
            .clone()
            .or_else(|| phone_owner.clone())
            .or_else(|| email_owner.clone());
        let acting_referrer = referral_referrer(&acting);
        if let Some(id) = &acting_referrer {
            let mut third = Vec::new();
            let contact_key = (pk.clone(), contact_sk(id));
            if keys.referrer.is_none() && !more.contains_key(&contact_key) {
                third.push(contact_key);
            }
            if !read_participants.contains_key(id) {
                third.push((pk.clone(), participant_sk(id)));
            }
            third.retain(|key| !read_first.contains(key));
            if !third.is_empty() {
                let got = self.batch_get(third).await?;
                note_participants(&pk, &got, &mut read_participants)?;
                more.extend(got);
            }
        }
        if keys.referrer.is_none() {
            referrer = contact_in(&more, &acting_referrer)?;
        }
        Ok(Snapshot {
            contact,
            phone_owner,
            email_owner,
            job,
            participant,
            referrer,
            click,
            recent_lead,
            counters,
            candidates,
            participants: read_participants,
        })
    }

    async fn commit(
        &self,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<Result<(), Refusal>> {
        let pk = business_pk(business);
        let mut tx = Tx::new(self.table());
        if let Some((id, expires)) = &plan.delivery {
            let mut item = Item::new();
            item.insert("expires_at".into(), n(expires.timestamp()));
            tx.put_new(
                keyed(pk.clone(), format!("DELIVERY#{id}"), item, "delivery"),
                Role::Delivery,
            )?;
        }
        if let Some((contact, expected)) = &plan.contact {
            let item = keyed(
                pk.clone(),
                contact_sk(&contact.customer_id),
                to_item(CustomerRecord::Contact {
                    contact: Box::new(contact.clone()),
                })?,
                "contact",
            );
            match expected {
                None => tx.put_new(item, Role::Changed)?,
                Some(version) => tx.put(
                    item,
                    Some(("version = :v", vec![(":v", n(version))])),
                    Role::Changed,
                )?,
            }
            if let Some(alias) = &plan.alias {
                let record = to_item(CustomerRecord::Alias {
                    canonical: contact.customer_id.clone(),
                })?;
                tx.put_new(
                    keyed(pk.clone(), contact_sk(alias), record, "alias"),
                    Role::Changed,
                )?;
            }
        }
        for entry in &plan.index {
            let (sk, id) = index_sk(entry);
            tx.put_new(
                keyed(
                    pk.clone(),
                    sk,
                    to_item(IndexItem {
                        customer_id: id.clone(),
                    })?,
                    "index",
                ),
                Role::Changed,
            )?;
        }
        if let Some((job, expected)) = &plan.job {
            let item = keyed(
                pk.clone(),
                format!("JOB#{}", job.job_id),
                to_item(JobItem {
                    job: job.clone(),
                    status_rank: job.status.rank(),
                })?,
                "job",
            );
            match expected {
                None => tx.put_new(item, Role::Changed)?,
                Some((at, rank)) => tx.put(
                    item,
                    Some((
                        "status_at = :at AND status_rank = :rank",
                        vec![(":at", to_attr(at)), (":rank", n(rank))],
                    )),
                    Role::Changed,
                )?,
            }
        }
        if let Some(participant) = &plan.participant {
            tx.put_new(
                to_item(ParticipantItem::from_domain(participant))?,
                Role::Changed,
            )?;
            tx.put_new(code_item(participant)?, Role::Changed)?;
        }
        for message in &plan.messages {
            tx.put_new(message_item(message)?, Role::Plain)?;
            let guard = keyed(
                pk.clone(),
                format!("MSGKEY#{}#{}", message.purpose.as_str(), message.subject),
                Item::new(),
                "message_guard",
            );
            tx.put_new(guard, Role::Guard(message.purpose, message.subject.clone()))?;
        }
        tx.guards(business, &plan.sends)?;
        if let Some(lead) = &plan.lead {
            tx.put_new(
                keyed(
                    pk.clone(),
                    format!("LEAD#{}", lead.lead_id),
                    to_item(lead)?,
                    "lead",
                ),
                Role::Plain,
            )?;
        }
        for event in &plan.events {
            tx.put_new(event_item(event)?, Role::Plain)?;
        }
        self.commit_referrals(&mut tx, business, plan)?;
        self.commit_rewards(&mut tx, business, plan)?;
        tx.send(self).await
    }

    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        let pk = business_pk(business);
        let mut tx = Tx::new(self.table());
        for outcome in &finish.outcomes {
            let (status, reason, sent_at, provider) = match &outcome.result {
                SendResult::Sent { provider_id, at } => {
                    (Status::Sent, None, Some(*at), Some(provider_id.clone()))
                }
                SendResult::Closed { status, reason } => (*status, Some(*reason), None, None),
            };
            let mut update = Update::builder()
                .key("PK", s(pk.clone()))
                .key("SK", s(format!("MSG#{}", outcome.message_id)))
                .update_expression("SET #status = :status, reason = :reason, sent_at = :sent, provider_id = :provider, due_at = :none REMOVE GSI1PK, GSI1SK")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()))
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
        // One update per number (a transaction touches an item once): opted out if any send
        // to it said so.
        let mut numbers: Vec<(&Phone, bool)> = Vec::new();
        for outcome in &finish.outcomes {
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
            let (rpk, rsk) = recipient_key(phone);
            let expression = if opted_out {
                "SET last_business_id = :b, opted_out = :yes"
            } else {
                "SET last_business_id = :b"
            };
            let mut recipient = Update::builder()
                .key("PK", s(rpk))
                .key("SK", s(rsk))
                .update_expression(expression)
                .expression_attribute_values(":b", s(business.as_str()));
            if opted_out {
                recipient =
                    recipient.expression_attribute_values(":yes", AttributeValue::Bool(true));
            }
            tx.update(recipient, Role::Plain)?;
        }
        for id in &finish.published {
            let (epk, esk) = event_key(id);
            let delete = Delete::builder()
                .table_name(self.table())
                .key("PK", s(epk))
                .key("SK", s(esk))
                .build()
                .context("Delete")?;
            tx.items
                .push(TransactWriteItem::builder().delete(delete).build());
            tx.roles.push(Role::Plain);
        }
        for event in &finish.pending {
            tx.put(event_item(event)?, None, Role::Plain)?;
        }
        tx.send(self)
            .await?
            .map_err(|refusal| anyhow::anyhow!("finishing was refused: {refusal:?}"))
    }
}

fn to_attr<T: Serialize>(value: &T) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).unwrap_or(AttributeValue::Null(true))
}

#[async_trait]
impl Outbox for DynamoStore {
    async fn due_messages(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Message>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :due AND GSI1SK <= :now")
            .expression_attribute_values(":due", s(DUE))
            .expression_attribute_values(":now", s(format!("{}#~", millis(now))))
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .context("Query (due messages)")?;
        output
            .items
            .unwrap_or_default()
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
            .key("PK", s(business_pk(&message.business_id)))
            .key("SK", s(format!("MSG#{}", message.message_id)))
            .update_expression(
                "SET #status = :queued, due_at = :until, GSI1PK = :due, GSI1SK = :sk",
            )
            .condition_expression("#status = :read AND due_at = :read_due")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":queued", s(Status::Queued.as_str()))
            .expression_attribute_values(":until", to_attr(&until))
            .expression_attribute_values(":due", s(DUE))
            .expression_attribute_values(
                ":sk",
                s(format!("{}#{}", millis(until), message.message_id)),
            )
            .expression_attribute_values(":read", s(message.status.as_str()))
            .expression_attribute_values(":read_due", to_attr(&message.due_at));
        tx.update(update, Role::Changed)?;
        if let Some(guard) = guard {
            tx.guards(&message.business_id, std::slice::from_ref(guard))?;
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
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(err).context("PutItem (reschedule)"),
        }
    }

    async fn pending_events(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DomainEvent>> {
        let output = self
            .dynamodb()
            .query()
            .table_name(self.table())
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :events AND GSI1SK < :before")
            .expression_attribute_values(":events", s(EVENTS))
            .expression_attribute_values(":before", s(millis(before)))
            .limit(i32::try_from(limit).unwrap_or(100))
            .send()
            .await
            .context("Query (pending events)")?;
        output
            .items
            .unwrap_or_default()
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
        let pk = business_pk(business);
        let mut items = Vec::new();
        let mut start: Option<Item> = after.map(|id| {
            let mut key = HashMap::from([
                ("PK".to_owned(), s(pk.clone())),
                ("SK".to_owned(), s(format!("MSG#{id}"))),
            ]);
            if let Some(customer) = &filter.customer_id {
                key.insert(
                    "GSI2PK".into(),
                    s(format!("BIZ#{business}#CUST#{customer}#MSGS")),
                );
                key.insert("GSI2SK".into(), s(id));
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
                    .index_name("GSI2")
                    .key_condition_expression("GSI2PK = :pk")
                    .expression_attribute_values(
                        ":pk",
                        s(format!("BIZ#{business}#CUST#{customer}#MSGS")),
                    ),
                None => query
                    .key_condition_expression("PK = :pk AND begins_with(SK, :msg)")
                    .expression_attribute_values(":pk", s(pk.clone()))
                    .expression_attribute_values(":msg", s("MSG#")),
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

#[async_trait]
impl Recipients for DynamoStore {
    async fn recipient(&self, phone: &Phone) -> anyhow::Result<Recipient> {
        let (pk, sk) = recipient_key(phone);
        let output = self
            .dynamodb()
            .get_item()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await
            .context("GetItem (recipient)")?;
        let item: RecipientItem = match output.item {
            Some(item) => from_item(item)?,
            None => RecipientItem::default(),
        };
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
        let (pk, sk) = recipient_key(phone);
        self.dynamodb()
            .update_item()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .update_expression("SET opted_out = :o, changed_at = :at")
            .expression_attribute_values(":o", AttributeValue::Bool(opted_out))
            .expression_attribute_values(":at", to_attr(&at))
            .send()
            .await
            .context("UpdateItem (recipient)")?;
        Ok(())
    }
}
