//! Every key format of the table, in one place: how each item's `PK`/`SK` (and index keys) are
//! spelt. Item shapes live with their adapters; the strings live here.

use vouch_domain::model::lead::{CounterKey, LeadKey};
use vouch_domain::model::search::{SearchKey, SearchQuery};
use vouch_domain::ports::RateKey;
use vouch_domain::values::CustomerId;

/// A repeat-submission key of a website lead.
pub(crate) fn lead_key_sk(key: &LeadKey) -> String {
    match key {
        LeadKey::Phone(phone) => format!("LEADKEY#{phone}"),
        LeadKey::Email(email) => format!("LEADKEY#{email}"),
    }
}

/// A lead counter's window.
pub(crate) fn counter_sk(key: &CounterKey) -> String {
    match key {
        CounterKey::FromAddress { ip, hour } => format!("LEADS#IP#{}#{hour}", ip.as_str()),
        CounterKey::ForCode { code, day } => format!("LEADS#CODE#{code}#{day}"),
    }
}

/// A customer-search entry: the key it is found under, then the contact.
pub(crate) fn search_sk(key: &SearchKey, customer: &CustomerId) -> String {
    match key {
        SearchKey::Name(name) => format!("NAME#{name}#{customer}"),
        SearchKey::Phone(phone) => format!("TEL#{phone}#{customer}"),
    }
}

/// The start of the search entries a query finds.
pub(crate) fn search_prefix(query: &SearchQuery) -> String {
    match query {
        SearchQuery::Name(prefix) => format!("NAME#{prefix}"),
        SearchQuery::Phone(prefix) => format!("TEL#{prefix}"),
    }
}

/// A rate-limit counter for the window starting at `start` (epoch seconds).
pub(crate) fn rate_pk(key: &RateKey, start: i64) -> String {
    match key {
        RateKey::UnknownCode(ip) => format!("RATE#unknown-code#{}#{start}", ip.as_str()),
    }
}
