//! Who a command is about: the stored contact it resolves to (directly, through an alias, or by
//! phone and email), a new contact or a placeholder, and the indexes that find them.

use crate::model::contact::{Contact, CustomerDetails, Origin};
use crate::model::search::{SearchEntry, SearchKey};
use crate::model::settings::Settings;
use crate::values::person::PersonName;

use super::command::{Command, NewLead};
use super::plan::{Context, IndexEntry, Plan, Rejection, SearchUpdate, Snapshot};

/// The contact as the command finds it, before anything is decided.
pub(super) struct Found {
    pub contact: Contact,
    /// The version the stored contact had (`None`: it must not exist yet).
    pub version: Option<u64>,
    /// Whether the contact was stored before this command.
    pub existed: bool,
    /// Its search entry before this command, to update the index by difference.
    pub before: Option<(SearchEntry, Vec<SearchKey>)>,
}

/// Finds or makes the contact a command is about, applies the details it brings, records an
/// alias for a matched software customer and indexes a new phone or email.
pub(super) fn identify(
    command: &Command,
    snapshot: &Snapshot,
    plan: &mut Plan,
    ctx: &Context<'_>,
) -> Result<Found, Rejection> {
    let website = is_website(command);
    let details = command.details();
    let (found, make_alias) = resolve(snapshot, details, website);
    let version = found.as_ref().map(|c| c.version);
    let before = found.as_ref().and_then(search_entry);
    let existed = found.is_some();
    let mut contact = match (found, details) {
        (Some(contact), _) => contact,
        (None, Some(details)) => {
            let mut contact = Contact::new(
                ctx.business_id.clone(),
                details.customer_id.clone(),
                details.first_name.clone(),
                ctx.now,
            );
            if website {
                contact.origin = Origin::Vouch;
            }
            contact
        }
        (None, None) => match command {
            Command::Enrol { .. } | Command::Staff { .. } => {
                return Err(Rejection::UnknownCustomer);
            }
            _ => {
                // A job or review before the customer's details: keep the facts on a placeholder.
                let placeholder =
                    PersonName::parse("Customer").map_err(|_| Rejection::UnknownCustomer)?;
                let mut stub = Contact::new(
                    ctx.business_id.clone(),
                    command.customer_id().clone(),
                    placeholder,
                    ctx.now,
                );
                stub.details_known = false;
                stub
            }
        },
    };
    // A website form never changes what the business knows about someone.
    if let Some(details) = details.filter(|_| !(website && existed)) {
        apply_details(&mut contact, details, ctx.settings);
    }
    if make_alias {
        // The software's customer claims the contact: it is matched no more.
        contact.origin = Origin::Software;
        plan.alias = Some(command.customer_id().clone());
    }
    // Index a phone or email the payload brought that nobody holds yet (the snapshot read them).
    if !(website && existed) {
        if let (Some(phone), None) = (
            details.and_then(|d| d.phone.as_ref()),
            &snapshot.phone_owner,
        ) {
            plan.index.push(IndexEntry::Phone(
                phone.clone(),
                contact.customer_id.clone(),
            ));
        }
        if let (Some(email), None) = (
            details.and_then(|d| d.email.as_ref()),
            &snapshot.email_owner,
        ) {
            plan.index.push(IndexEntry::Email(
                email.clone(),
                contact.customer_id.clone(),
            ));
        }
    }
    Ok(Found {
        contact,
        version,
        existed,
        before,
    })
}

/// A lead from the website form (as opposed to the software or staff).
pub(super) fn is_website(command: &Command) -> bool {
    matches!(command, Command::Lead(NewLead { web: Some(_), .. }))
}

fn apply_details(contact: &mut Contact, details: &CustomerDetails, settings: &Settings) {
    // A segment named outright; else the first tag the business has templates for; else the
    // first tag that reads as one. No segment and no tags leaves the one known.
    let tagged = || {
        details
            .tags
            .iter()
            .find(|tag| settings.sms.segment_templates.contains_key(*tag))
            .or(details.tags.first())
    };
    if let Some(segment) = details.segment.as_ref().or_else(tagged) {
        contact.segment = Some(segment.clone());
    }
    contact.first_name = details.first_name.clone();
    if details.last_name.is_some() {
        contact.last_name = details.last_name.clone();
    }
    if details.phone.is_some() {
        contact.phone = details.phone.clone();
    }
    if details.email.is_some() {
        contact.email = details.email.clone();
    }
    if let Some(consent) = details.sms_consent {
        contact.sms_consent = consent;
    }
    contact.details_known = true;
}

/// Finds the stored contact for the command: directly, through an alias, or by matching the
/// payload's phone and then email. Returns the contact (if any) and whether the incoming id must
/// become an alias of it. A website lead matches anyone with its phone or email; the software's
/// customers match only contacts Vouch made itself.
fn resolve(
    snapshot: &Snapshot,
    details: Option<&CustomerDetails>,
    website: bool,
) -> (Option<Contact>, bool) {
    if let Some(contact) = &snapshot.contact {
        return (Some(contact.clone()), false);
    }
    let Some(details) = details else {
        return (None, false);
    };
    let matchable = |owner: &&Contact| website || owner.origin == Origin::Vouch;
    let by_phone = snapshot
        .phone_owner
        .as_ref()
        .filter(matchable)
        .filter(|owner| owner.phone.is_some() && owner.phone == details.phone);
    let by_email = snapshot
        .email_owner
        .as_ref()
        .filter(matchable)
        .filter(|owner| owner.email.is_some() && owner.email == details.email);
    match by_phone.or(by_email) {
        Some(owner) => (Some(owner.clone()), !website),
        None => (None, false),
    }
}

fn search_entry(contact: &Contact) -> Option<(SearchEntry, Vec<SearchKey>)> {
    if !contact.details_known {
        return None;
    }
    let entry = SearchEntry {
        customer_id: contact.customer_id.clone(),
        name: contact.full_name(),
        phone: contact.phone.clone(),
        enrolled: contact.enrolled,
    };
    let keys = entry.keys(
        contact.first_name.as_str(),
        contact.last_name.as_ref().map(PersonName::as_str),
    );
    Some((entry, keys))
}

/// The contact's search entries after the command, as a change to the index.
pub(super) fn search_update(
    before: Option<(SearchEntry, Vec<SearchKey>)>,
    contact: &Contact,
) -> Option<SearchUpdate> {
    let after = search_entry(contact);
    if after == before {
        return None;
    }
    let old: Vec<SearchKey> = before.map(|(_, keys)| keys).unwrap_or_default();
    let (remove, update) = match after {
        Some((entry, keys)) => (
            old.into_iter().filter(|k| !keys.contains(k)).collect(),
            Some((entry, keys)),
        ),
        None => (old, None),
    };
    update.map(|(entry, put)| SearchUpdate { remove, put, entry })
}
