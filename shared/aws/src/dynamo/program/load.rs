//! A command's snapshot: what it decides on, read in as few batches as its keys allow.

use std::collections::HashMap;

use vouch_domain::decide::{LoadKeys, Snapshot};
use vouch_domain::model::contact::Contact;
use vouch_domain::model::search::{SearchQuery, candidates, search_text};
use vouch_domain::values::ids::{BusinessId, CustomerId};

use crate::dynamo::keys::{self, Key};
use crate::dynamo::{DynamoStore, Item, contacts, leads, participants, referrals};

pub(super) async fn load(
    store: &DynamoStore,
    business: &BusinessId,
    wanted: &LoadKeys,
) -> anyhow::Result<Snapshot> {
    let pk = keys::business_pk(business);
    let contact_key = |id: &CustomerId| (pk.clone(), keys::contact_sk(id));
    let participant_key = |id: &CustomerId| (pk.clone(), keys::participant_sk(id));
    let customer_key = contact_key(&wanted.customer_id);
    let phone_key = wanted
        .phone
        .as_ref()
        .map(|p| (pk.clone(), keys::phone_sk(p)));
    let email_key = wanted
        .email
        .as_ref()
        .map(|e| (pk.clone(), keys::email_sk(e)));
    let job_key = wanted
        .job_id
        .as_ref()
        .map(|j| (pk.clone(), keys::job_sk(j)));
    let referrer_key = wanted.referrer.as_ref().map(contact_key);
    let click_key = wanted.click.map(keys::click);
    let lead_keys = leads::keys_to_read(&pk, &wanted.lead_keys, &wanted.counters);
    let mut first: Vec<Key> = vec![customer_key.clone()];
    first.extend(phone_key.clone());
    first.extend(email_key.clone());
    first.extend(job_key.clone());
    first.extend(referrer_key.clone());
    if let Some(referrer) = &wanted.referrer {
        first.push(participant_key(referrer));
    }
    first.extend(click_key.clone());
    first.extend(lead_keys.iter().cloned());
    first.sort();
    first.dedup();
    let read_first = first.clone();
    let mut found = store.batch_get(first).await?;
    let candidates = match &wanted.mention {
        Some(text) => candidates(
            referrals::search(store, business, &SearchQuery::Name(search_text(text)), 100).await?,
        ),
        None => Vec::new(),
    };

    let owner_of =
        |key: &Option<Key>, found: &mut HashMap<Key, Item>| -> anyhow::Result<Option<CustomerId>> {
            match key.as_ref().and_then(|k| found.remove(k)) {
                Some(item) => Ok(Some(contacts::owner_from_item(item)?)),
                None => Ok(None),
            }
        };
    let phone_owner_id = owner_of(&phone_key, &mut found)?;
    let email_owner_id = owner_of(&email_key, &mut found)?;
    let job = match job_key.as_ref().and_then(|k| found.remove(k)) {
        Some(item) => Some(contacts::job_from_item(item)?),
        None => None,
    };
    let click = match click_key.as_ref().and_then(|k| found.get(k).cloned()) {
        Some(item) => Some(participants::click_from_item(item)?),
        None => None,
    };
    let recent_lead = leads::recent_lead(&pk, &found, &wanted.lead_keys)?;
    let counters = leads::counts(&pk, &found, &wanted.counters)?;
    // Read, not taken: the same item may also be the phone's or email's owner.
    let (mut contact, canonical) = match found.get(&customer_key).cloned() {
        Some(item) => contacts::customer_from_item(item)?,
        None => (None, None),
    };
    let (mut referrer, referrer_canonical) =
        match referrer_key.as_ref().and_then(|k| found.get(k).cloned()) {
            Some(item) => contacts::customer_from_item(item)?,
            None => (None, None),
        };
    let mut read_participants = HashMap::new();
    participants::note_participants(&pk, &found, &mut read_participants)?;
    // The referrer of the contact's current referral, when the command needs it.
    let referral_referrer = |contact: &Option<Contact>| {
        contact
            .as_ref()
            .filter(|_| wanted.referral_parties)
            .and_then(|c| c.referral.as_ref())
            .and_then(|r| r.referrer_id().cloned())
    };

    // Second read: whatever the first one pointed at.
    let mut second = Vec::new();
    second.extend(canonical.iter().map(contact_key));
    second.extend(phone_owner_id.iter().map(contact_key));
    second.extend(email_owner_id.iter().map(contact_key));
    for id in referrer_canonical.iter() {
        second.push(contact_key(id));
        second.push(participant_key(id));
    }
    if let Some(id) = referral_referrer(&contact) {
        if wanted.referrer.is_none() {
            second.push(contact_key(&id));
        }
        second.push(participant_key(&id));
    }
    let participant_of = canonical
        .clone()
        .unwrap_or_else(|| wanted.customer_id.clone());
    if wanted.participant {
        second.push(participant_key(&participant_of));
    }
    second.sort();
    second.dedup();
    // Whatever the first read already covered (found or known absent) is not read again.
    second.retain(|key| !read_first.contains(key));
    let mut more = store.batch_get(second).await?;
    for key in &read_first {
        if (keys::is_contact_sk(&key.1) || keys::is_participant_sk(&key.1))
            && let Some(item) = found.get(key)
        {
            more.entry(key.clone()).or_insert_with(|| item.clone());
        }
    }
    let participant = match more.remove(&participant_key(&participant_of)) {
        Some(item) => Some(participants::participant_from_item(item)?),
        None => None,
    };
    participants::note_participants(&pk, &more, &mut read_participants)?;
    let contact_in =
        |more: &HashMap<Key, Item>, id: &Option<CustomerId>| -> anyhow::Result<Option<Contact>> {
            match id.as_ref().and_then(|c| more.get(&contact_key(c)).cloned()) {
                // An alias is not followed twice.
                Some(item) => Ok(contacts::customer_from_item(item)?.0),
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
        let key = contact_key(id);
        if wanted.referrer.is_none() && !more.contains_key(&key) {
            third.push(key);
        }
        if !read_participants.contains_key(id) {
            third.push(participant_key(id));
        }
        third.retain(|key| !read_first.contains(key));
        if !third.is_empty() {
            let got = store.batch_get(third).await?;
            participants::note_participants(&pk, &got, &mut read_participants)?;
            more.extend(got);
        }
    }
    if wanted.referrer.is_none() {
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
