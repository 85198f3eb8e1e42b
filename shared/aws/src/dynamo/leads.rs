//! Website leads as received, the keys that spot a repeat submission, and the counters that
//! limit leads per address and per code.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::Update;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::Plan;
use vouch_domain::model::lead::{CounterKey, LEAD_REPEAT_WINDOW, LeadKey};
use vouch_domain::values::ids::BusinessId;

use super::keys::{self, Key};
use super::tx::{Role, Tx};
use super::{Item, keyed, n, primary_key, s};

#[derive(Serialize, Deserialize)]
struct LeadKeyItem {
    lead_id: String,
    expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct CounterItem {
    #[serde(default)]
    count: u32,
}

/// The keys of a business's repeat keys and counters, to read with the rest of a command.
pub(crate) fn keys_to_read(pk: &str, lead_keys: &[LeadKey], counters: &[CounterKey]) -> Vec<Key> {
    lead_keys
        .iter()
        .map(keys::lead_key_sk)
        .chain(counters.iter().map(keys::counter_sk))
        .map(|sk| (pk.to_owned(), sk))
        .collect()
}

/// The lead that one of `lead_keys` still holds, and until when, among `found`.
pub(crate) fn recent_lead(
    pk: &str,
    found: &HashMap<Key, Item>,
    lead_keys: &[LeadKey],
) -> anyhow::Result<Option<(String, DateTime<Utc>)>> {
    let mut recent_lead = None;
    for key in lead_keys {
        if let Some(item) = found.get(&(pk.to_owned(), keys::lead_key_sk(key))) {
            let record: LeadKeyItem = from_item(item.clone())?;
            let until = DateTime::from_timestamp(record.expires_at, 0).unwrap_or_default();
            // Of several keys (phone, email), the one that holds longest decides.
            if recent_lead.as_ref().is_none_or(|(_, seen)| until > *seen) {
                recent_lead = Some((record.lead_id, until));
            }
        }
    }
    Ok(recent_lead)
}

/// The count of each of `counters` among `found`.
pub(crate) fn counts(
    pk: &str,
    found: &HashMap<Key, Item>,
    counters: &[CounterKey],
) -> anyhow::Result<HashMap<CounterKey, u32>> {
    let mut counts = HashMap::new();
    for key in counters {
        if let Some(item) = found.get(&(pk.to_owned(), keys::counter_sk(key))) {
            let record: CounterItem = from_item(item.clone())?;
            counts.insert(key.clone(), record.count);
        }
    }
    Ok(counts)
}

/// Adds a plan's lead record.
pub(crate) fn commit_lead(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<()> {
    if let Some(lead) = &plan.lead {
        tx.put_new(
            keyed(
                keys::business_pk(business),
                keys::lead_sk(&lead.lead_id),
                to_item(lead)?,
                "lead",
            ),
            Role::Plain,
        )?;
    }
    Ok(())
}

/// Adds a plan's repeat keys (each new or expired) and counter bumps (each below its limit).
pub(crate) fn commit_limits(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    for (key, lead_id, expires) in &plan.lead_keys {
        let now = *expires - LEAD_REPEAT_WINDOW;
        let item = keyed(
            pk.clone(),
            keys::lead_key_sk(key),
            to_item(LeadKeyItem {
                lead_id: lead_id.clone(),
                expires_at: expires.timestamp(),
            })?,
            "lead_key",
        );
        tx.put(
            item,
            Some((
                "attribute_not_exists(PK) OR expires_at <= :now",
                vec![(":now", n(now.timestamp()))],
            )),
            Role::Changed,
        )?;
    }
    for counter in &plan.counters {
        // Not conditional on the count read: concurrent leads all count, and only the
        // limit refuses (as rate limited), so a burst gets 429s, not conflicts.
        let update = Update::builder()
            .set_key(Some(primary_key((
                pk.clone(),
                keys::counter_sk(&counter.key),
            ))))
            .update_expression("ADD #count :one SET expires_at = :expires, kind = :kind")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(counter.limit))
            .expression_attribute_values(":kind", s("lead_counter"))
            .expression_attribute_values(":expires", n(counter.expires_at.timestamp()));
        tx.update(update, Role::Rate(counter.retry_after_secs))?;
    }
    Ok(())
}
