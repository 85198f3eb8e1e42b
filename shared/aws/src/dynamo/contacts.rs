//! Contacts and their aliases, the phone and email index that matches them, jobs, and the
//! webhook deliveries already handled.

use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::Plan;
use vouch_domain::model::contact::Contact;
use vouch_domain::model::job::Job;
use vouch_domain::values::ids::{BusinessId, CustomerId};

use super::tx::{Role, Tx};
use super::{Item, keyed, keys, n, to_attr};

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

/// A customer record as read: the contact, or the id of the contact it is an alias of.
pub(crate) fn customer_from_item(
    item: Item,
) -> anyhow::Result<(Option<Contact>, Option<CustomerId>)> {
    Ok(match from_item::<_, CustomerRecord>(item)? {
        CustomerRecord::Contact { contact } => (Some(*contact), None),
        CustomerRecord::Alias { canonical } => (None, Some(canonical)),
    })
}

#[derive(Serialize, Deserialize)]
struct IndexItem {
    customer_id: CustomerId,
}

/// The contact a match-index entry points at.
pub(crate) fn owner_from_item(item: Item) -> anyhow::Result<CustomerId> {
    Ok(from_item::<_, IndexItem>(item)?.customer_id)
}

#[derive(Serialize, Deserialize)]
struct JobItem {
    #[serde(flatten)]
    job: Job,
    status_rank: u8,
}

pub(crate) fn job_from_item(item: Item) -> anyhow::Result<Job> {
    Ok(from_item::<_, JobItem>(item)?.job)
}

/// Adds a plan's delivery record, contact (conditional on the version read) and alias, match
/// index entries and job (conditional on the status read).
pub(crate) fn commit(tx: &mut Tx<'_>, business: &BusinessId, plan: &Plan) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    if let Some((id, expires)) = &plan.delivery {
        let mut item = Item::new();
        item.insert("expires_at".into(), n(expires.timestamp()));
        tx.put_new(
            keyed(pk.clone(), keys::delivery_sk(id), item, "delivery"),
            Role::Delivery,
        )?;
    }
    if let Some((contact, expected)) = &plan.contact {
        let item = keyed(
            pk.clone(),
            keys::contact_sk(&contact.customer_id),
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
                keyed(pk.clone(), keys::contact_sk(alias), record, "alias"),
                Role::Changed,
            )?;
        }
    }
    for entry in &plan.index {
        let (sk, id) = keys::index_sk(entry);
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
            keys::job_sk(&job.job_id),
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
    Ok(())
}
