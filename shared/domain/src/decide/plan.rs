//! What deciding reads (the snapshot) and writes (the plan), why a commit can be refused, and
//! what a refused commit teaches the next attempt.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::click::Click;
use crate::model::contact::Contact;
use crate::model::events::DomainEvent;
use crate::model::job::{Job, JobStamp};
use crate::model::lead::Lead;
use crate::model::lead::{CounterKey, LeadKey};
use crate::model::message::{Message, Purpose, Reason};
use crate::model::participant::{Participant, ReengageDue};
use crate::model::referral::Referral;
use crate::model::report::{BoardMove, Tally};
use crate::model::reward::{LedgerEntry, Reward};
use crate::model::search::SearchEntry;
use crate::model::search::SearchKey;
use crate::model::settings::Settings;
use crate::rules::sending::SendGuard;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::{Email, Phone};
use crate::values::secrets::PageKey;

/// How long a delivery id is remembered for de-duplication (at least three days).
pub const DEDUPE_DAYS: i64 = 7;

/// What the store holds for a command's keys.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The contact the incoming id resolves to, directly or through an alias.
    pub contact: Option<Contact>,
    /// The contacts the payload's phone and email currently point to in the match index.
    pub phone_owner: Option<Contact>,
    pub email_owner: Option<Contact>,
    pub job: Option<Job>,
    pub participant: Option<Participant>,
    /// The referrer named by the keys, or else the one of the contact's referral.
    pub referrer: Option<Contact>,
    pub click: Option<Click>,
    /// The lead id and expiry of a repeat-submission key found.
    pub recent_lead: Option<(String, DateTime<Utc>)>,
    /// Rate counters by key (absent: zero).
    pub counters: HashMap<CounterKey, u32>,
    /// Enrolled contacts whose name matches the mention.
    pub candidates: Vec<SearchEntry>,
    /// The participant records of the referrers read (the named one and the current
    /// referral's), as read.
    pub participants: HashMap<CustomerId, Participant>,
}

/// A new contact-match index entry: phone or email → contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexEntry {
    Phone(Phone, CustomerId),
    Email(Email, CustomerId),
}

/// Everything one command changes, committed together or not at all.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The delivery id to remember (webhook de-duplication) and until when.
    pub delivery: Option<(String, DateTime<Utc>)>,
    /// The contact to write, with the version it must still have (`None`: must not exist).
    pub contact: Option<(Contact, Option<u64>)>,
    /// The sender's id to point at `contact` (a matched customer).
    pub alias: Option<CustomerId>,
    /// Rows listing a referral under a referrer it no longer has: (old referrer, referral id).
    pub stale_refby: Vec<(CustomerId, String)>,
    pub index: Vec<IndexEntry>,
    /// The job to write, with the stamp it must still have (`None`: must not exist).
    pub job: Option<(Job, Option<JobStamp>)>,
    pub participant: Option<Participant>,
    pub messages: Vec<Message>,
    pub sends: Vec<SendGuard>,
    pub lead: Option<Lead>,
    /// Repeat-submission keys to claim: key, lead id, expiry.
    pub lead_keys: Vec<(LeadKey, String, DateTime<Utc>)>,
    /// Rate counters to move by one, each conditional on the count read.
    pub counters: Vec<CounterBump>,
    /// Referral records to write (the contact's current one and any refused ones).
    pub referrals: Vec<Referral>,
    /// Participants' referral and closed totals to move.
    pub stats: Vec<StatsDelta>,
    /// The contact's entries in the customer search.
    pub search: Option<SearchUpdate>,
    /// Reward records to write.
    pub rewards: Vec<Reward>,
    /// Service-credit ledger entries to add (each at most once).
    pub ledger: Vec<LedgerEntry>,
    /// Discount codes to claim (unique).
    pub discount_codes: Vec<String>,
    /// Held rewards for the scheduler to release, and reward ids it is done with.
    pub reward_due: Vec<Reward>,
    pub reward_done: Vec<String>,
    /// Qualified referrals waiting for their reward (the issuer's safety net), and referral ids
    /// whose reward now exists.
    pub issue_due: Vec<IssueDue>,
    pub issue_done: Vec<String>,
    pub events: Vec<DomainEvent>,
    /// Participants' next re-engagement, moved (a put: the latest activity wins).
    pub reengage: Vec<ReengageDue>,
    /// The report figures this plan moves, and the leaderboard rows it changes.
    pub tally: Tally,
    pub board: Vec<BoardMove>,
}

/// A qualified referral the scheduler hands to the issuer if the bus's delivery never made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueDue {
    pub referral_id: String,
    pub lead_customer_id: CustomerId,
    pub referrer_customer_id: Option<CustomerId>,
    pub at: DateTime<Utc>,
}

/// One rate counter moved by a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterBump {
    pub key: CounterKey,
    /// The count read (for the velocity rule).
    pub seen: u32,
    /// The commit is refused as rate limited if the count reached this meanwhile.
    pub limit: u32,
    pub retry_after_secs: u64,
    pub expires_at: DateTime<Utc>,
}

/// A change to a participant's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsDelta {
    pub customer_id: CustomerId,
    pub referrals: i64,
    pub closed: i64,
    /// The participant's closed count as read, when it was (orders the closed-sorted list).
    pub closed_was: Option<u64>,
    pub earned_cents: i64,
    pub pending_cents: i64,
    /// One more reward counted in `year` (for `max_rewards_per_year`).
    pub year: Option<YearBump>,
    /// The participant's qualifying times after this plan, when they moved (the leaderboard's
    /// source; written with the closed count it goes with).
    pub qualified_times: Option<Vec<DateTime<Utc>>>,
    /// They become a VIP with this plan (first time only): set with the closed count.
    pub vip_since: Option<DateTime<Utc>>,
}

/// A reward counted against the yearly cap, conditional on the counter as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearBump {
    pub year: i32,
    /// The (year, count) read.
    pub was: (Option<i32>, u32),
}

impl YearBump {
    /// The count after this bump.
    pub fn count(&self) -> u32 {
        match self.was {
            (Some(year), count) if year == self.year => count + 1,
            _ => 1,
        }
    }
}

/// Search entries to drop and the entry to (re)write under `put`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchUpdate {
    pub remove: Vec<SearchKey>,
    pub put: Vec<SearchKey>,
    pub entry: SearchEntry,
}

/// Why a commit was refused, so the command can be decided again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The delivery id was seen before.
    Duplicate,
    /// Something read changed (or a drawn code is taken): read again and decide again.
    Changed,
    /// A message's purpose and subject were already used: drop it.
    MessageExists { purpose: Purpose, subject: String },
    /// A daily cap is reached for this message.
    Capped { message_id: String, reason: Reason },
    /// The number opted out.
    OptedOut { message_id: String },
    /// A rate counter reached its limit meanwhile.
    RateLimited { retry_after_secs: u64 },
}

/// Corrections learnt from refused commits, applied when deciding again.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub drop_messages: HashSet<(Purpose, String)>,
    pub capped: HashMap<(Purpose, String), Reason>,
    pub opted_out: HashSet<(Purpose, String)>,
}

impl Overrides {
    /// Learns from a refusal about one of `plan`'s messages; false if there is nothing to learn.
    pub fn learn(&mut self, refusal: &Refusal, plan: &Plan) -> bool {
        let key_of = |id: &str| {
            plan.messages
                .iter()
                .find(|m| m.message_id == id)
                .map(|m| (m.purpose, m.subject.clone()))
        };
        match refusal {
            Refusal::MessageExists { purpose, subject } => {
                self.drop_messages.insert((*purpose, subject.clone()))
            }
            Refusal::Capped { message_id, reason } => match key_of(message_id) {
                Some(key) => self.capped.insert(key, *reason).is_none(),
                None => false,
            },
            Refusal::OptedOut { message_id } => match key_of(message_id) {
                Some(key) => self.opted_out.insert(key),
                None => false,
            },
            Refusal::Duplicate | Refusal::Changed | Refusal::RateLimited { .. } => false,
        }
    }
}

/// What deciding needs besides the snapshot.
pub struct Context<'a> {
    pub business_id: &'a BusinessId,
    pub settings: &'a Settings,
    pub now: DateTime<Utc>,
    /// Public origin of referral links, for message bodies.
    pub link_base: &'a str,
    pub delivery_id: Option<&'a str>,
    pub overrides: &'a Overrides,
    /// Signs the referrers' page links put in texts.
    pub page_key: &'a PageKey,
}

impl Context<'_> {
    /// A referrer's own page, for texts: `{link_base}/me/{token}`.
    pub fn status_link(&self, customer: &CustomerId) -> String {
        status_link(
            self.link_base,
            self.page_key,
            self.business_id,
            customer,
            self.settings.status_link_version,
        )
    }
}

/// `{link_base}/me/{token}`: the page of `customer` of `business`, signed for key `version`.
pub fn status_link(
    link_base: &str,
    key: &PageKey,
    business: &BusinessId,
    customer: &CustomerId,
    version: u32,
) -> String {
    format!(
        "{link_base}/me/{}",
        key.token(business.as_str(), customer.as_str(), version)
    )
}

/// Why a command cannot be decided at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    UnknownCustomer,
    /// The same person submitted within [`LEAD_REPEAT_WINDOW`]: this is their lead.
    RepeatLead(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// The action does not fit the referral's state.
    Conflict(&'static str, String),
    Invalid(&'static str, &'static str),
    /// Nothing to do (a repeated or outdated trigger).
    Unchanged,
}
