//! The in-memory store: every storage port over one mutex-guarded set of maps. Its writes are
//! atomic like the real adapter's, and the port contract tests hold it to the same promises.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};

use std::collections::HashSet;

use crate::decide::IndexEntry;
use crate::model::business::Business;
use crate::model::click::Click;
use crate::model::contact::Contact;
use crate::model::events::DomainEvent;
use crate::model::job::Job;
use crate::model::lead::Lead;
use crate::model::lead::{CounterKey, LeadKey};
use crate::model::message::{Message, Purpose};
use crate::model::participant::{Participant, ParticipantSort, Referrer};
use crate::model::referral::Referral;
use crate::model::report::Tally;
use crate::model::reward::{LedgerEntry, Reward};
use crate::model::search::{SearchEntry, SearchKey, SearchQuery};
use crate::model::settings::Settings;
use crate::ports::RateKey;
use crate::ports::Recipient;
use crate::ports::{Businesses, Clicks, Page, Participants, Position, Written};
use crate::ports::{Rate, RateLimits, window};
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::person::Phone;
use crate::values::secrets::KeyHash;

mod jobber;
mod lists;
mod program;
mod reports;
mod staff;

#[derive(Default)]
struct State {
    /// The origin index: (origin, business) for every origin of every business's settings.
    origins: std::collections::BTreeSet<(String, BusinessId)>,
    businesses: HashMap<BusinessId, Business>,
    admin_keys: HashMap<KeyHash, BusinessId>,
    contacts: HashMap<(BusinessId, CustomerId), Contact>,
    participants: HashMap<(BusinessId, CustomerId), Participant>,
    codes: HashMap<ReferralCode, Referrer>,
    clicks: BTreeMap<ClickId, Box<Click>>,
    aliases: HashMap<(BusinessId, CustomerId), CustomerId>,
    index: HashMap<(BusinessId, String), CustomerId>,
    jobs: HashMap<(BusinessId, String), Job>,
    deliveries: HashSet<(BusinessId, String)>,
    leads: Vec<Lead>,
    messages: BTreeMap<String, Message>,
    guards: HashSet<(BusinessId, Purpose, String)>,
    caps: HashMap<String, u32>,
    recipients: HashMap<Phone, Recipient>,
    outbox: BTreeMap<String, DomainEvent>,
    rates: HashMap<(RateKey, i64), u32>,
    referrals: BTreeMap<(BusinessId, String), Referral>,
    lead_keys: HashMap<(BusinessId, LeadKey), (String, DateTime<Utc>)>,
    counters: HashMap<(BusinessId, CounterKey), u32>,
    search: BTreeMap<(BusinessId, String), SearchEntry>,
    rewards: BTreeMap<(BusinessId, String), Reward>,
    ledger: BTreeMap<(BusinessId, String), LedgerEntry>,
    discount_codes: HashSet<String>,
    reward_due: BTreeMap<(BusinessId, String), Reward>,
    reengage_due: BTreeMap<(BusinessId, CustomerId), crate::model::participant::ReengageDue>,
    issue_due: BTreeMap<(BusinessId, String), crate::decide::IssueDue>,
    /// Each business's figures by day.
    days: HashMap<
        BusinessId,
        BTreeMap<chrono::NaiveDate, BTreeMap<crate::model::report::Figure, i64>>,
    >,
    /// Leaderboard rows by business, period key and customer, and their ranking (as the
    /// index keeps it: rows with a qualified referral only).
    board: BTreeMap<(BusinessId, String, CustomerId), crate::model::report::BoardRow>,
    ranking: std::collections::BTreeSet<reports::Rank>,
    reports:
        BTreeMap<(BusinessId, crate::model::report::Month), crate::model::report::MonthlyReport>,
    report_due: BTreeMap<BusinessId, (crate::model::report::Month, DateTime<Utc>)>,
    staff: BTreeMap<(BusinessId, crate::values::ids::StaffId), crate::model::staff::StaffMember>,
    /// Sign-ins by email, invites and sessions by their token's hash.
    sign_ins: HashMap<crate::values::person::Email, (BusinessId, crate::values::ids::StaffId)>,
    invites: HashMap<KeyHash, (BusinessId, crate::values::ids::StaffId)>,
    sessions: HashMap<KeyHash, crate::model::staff::Session>,
    /// Connected Jobber accounts by business, and each account's business.
    jobber: HashMap<BusinessId, crate::model::jobber::JobberConnection>,
    jobber_accounts: HashMap<crate::model::jobber::JobberId, BusinessId>,
}

/// How the fake orders search entries: like the table, names and numbers apart, by key then id.
fn search_key(key: &SearchKey, customer: &CustomerId) -> String {
    match key {
        SearchKey::Name(name) => format!("N:{name}#{customer}"),
        SearchKey::Phone(phone) => format!("P:{phone}#{customer}"),
    }
}

pub(super) fn search_prefix(query: &SearchQuery) -> String {
    match query {
        SearchQuery::Name(prefix) => format!("N:{prefix}"),
        SearchQuery::Phone(prefix) => format!("P:{prefix}"),
    }
}

fn index_key(entry: &IndexEntry) -> (String, &CustomerId) {
    match entry {
        IndexEntry::Phone(phone, id) => (format!("PHONE#{phone}"), id),
        IndexEntry::Email(email, id) => (format!("EMAIL#{email}"), id),
    }
}

/// Every port in one mutex-guarded map set; writes are atomic like the real adapter's.
#[derive(Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
}

impl InMemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        Ok(f(&mut state))
    }

    pub fn messages(&self) -> Vec<Message> {
        self.with(|s| s.messages.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A business's contacts as stored.
    pub fn contacts_of(&self, business: &BusinessId) -> Vec<Contact> {
        self.with(|s| {
            s.contacts
                .iter()
                .filter(|((b, _), _)| b == business)
                .map(|(_, c)| c.clone())
                .collect()
        })
        .unwrap_or_default()
    }

    pub fn jobs(&self) -> Vec<Job> {
        self.with(|s| s.jobs.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn participants(&self) -> Vec<Participant> {
        self.with(|s| s.participants.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn contacts(&self) -> Vec<Contact> {
        self.with(|s| s.contacts.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn leads(&self) -> Vec<Lead> {
        self.with(|s| s.leads.clone()).unwrap_or_default()
    }

    pub fn outbox_events(&self) -> Vec<DomainEvent> {
        self.with(|s| s.outbox.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn clicks(&self) -> Vec<Click> {
        self.with(|s| s.clicks.values().map(|click| (**click).clone()).collect())
            .unwrap_or_default()
    }
}

fn sort_key(participant: &Participant, sort: ParticipantSort) -> String {
    match sort {
        ParticipantSort::Recent => participant
            .enrolled_at
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        ParticipantSort::Closed => format!("{:010}", participant.stats.closed),
    }
}

#[async_trait]
impl Businesses for InMemoryStore {
    async fn create(
        &self,
        business: &Business,
        admin_key: &KeyHash,
        first_report: (crate::model::report::Month, DateTime<Utc>),
    ) -> anyhow::Result<Written> {
        self.with(|s| {
            if s.businesses.contains_key(&business.id) || s.admin_keys.contains_key(admin_key) {
                return Written::Refused;
            }
            s.businesses.insert(business.id.clone(), business.clone());
            s.admin_keys.insert(admin_key.clone(), business.id.clone());
            s.report_due.insert(business.id.clone(), first_report);
            for origin in business.settings.origins() {
                s.origins.insert((origin, business.id.clone()));
            }
            Written::Applied
        })
    }

    async fn get(&self, id: &BusinessId) -> anyhow::Result<Option<Business>> {
        self.with(|s| s.businesses.get(id).cloned())
    }

    async fn get_with_referrer(
        &self,
        id: &BusinessId,
        code: &ReferralCode,
    ) -> anyhow::Result<(Option<Business>, Option<Referrer>)> {
        self.with(|s| (s.businesses.get(id).cloned(), s.codes.get(code).cloned()))
    }

    async fn id_for_admin_key(&self, key: &KeyHash) -> anyhow::Result<Option<BusinessId>> {
        self.with(|s| s.admin_keys.get(key).cloned())
    }

    async fn save_settings(
        &self,
        id: &BusinessId,
        settings: &Settings,
        previous: &Settings,
        read_version: u64,
    ) -> anyhow::Result<Written> {
        self.with(|s| match s.businesses.get_mut(id) {
            Some(business) if business.version == read_version => {
                business.settings = settings.clone();
                business.version += 1;
                for origin in previous.origins() {
                    s.origins.remove(&(origin, id.clone()));
                }
                for origin in settings.origins() {
                    s.origins.insert((origin, id.clone()));
                }
                Written::Applied
            }
            _ => Written::Refused,
        })
    }

    async fn origin_listed(&self, origin: &str) -> anyhow::Result<bool> {
        self.with(|s| s.origins.iter().any(|(o, _)| o == origin))
    }
}

#[async_trait]
impl Participants for InMemoryStore {
    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Participant>> {
        self.with(|s| {
            s.participants
                .get(&(business.clone(), customer.clone()))
                .cloned()
        })
    }

    async fn set_reward_override(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        own: Option<&crate::model::reward::RewardOverride>,
    ) -> anyhow::Result<Written> {
        self.with(|s| {
            match s
                .participants
                .get_mut(&(business.clone(), customer.clone()))
            {
                Some(p) => {
                    p.reward_override = own.cloned();
                    Written::Applied
                }
                None => Written::Refused,
            }
        })
    }

    async fn referrer(&self, code: &ReferralCode) -> anyhow::Result<Option<Referrer>> {
        self.with(|s| s.codes.get(code).cloned())
    }

    async fn due_reengagements(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, crate::model::participant::ReengageDue)>> {
        self.with(|s| {
            let mut due: Vec<_> = s
                .reengage_due
                .iter()
                .filter(|(_, d)| d.due_at <= until)
                .map(|((business, _), d)| (business.clone(), d.clone()))
                .collect();
            due.sort_by(|(ba, a), (bb, b)| {
                (a.due_at, ba, &a.customer_id).cmp(&(b.due_at, bb, &b.customer_id))
            });
            due.truncate(limit as usize);
            due
        })
    }

    async fn list(
        &self,
        business: &BusinessId,
        sort: ParticipantSort,
        limit: u32,
        after: Option<&Position>,
    ) -> anyhow::Result<Page<Participant, Position>> {
        self.with(|s| {
            let mut all: Vec<(String, Participant)> = s
                .participants
                .values()
                .filter(|p| &p.business_id == business)
                .map(|p| (sort_key(p, sort), p.clone()))
                .collect();
            all.sort_by(|(ka, a), (kb, b)| (kb, &b.customer_id).cmp(&(ka, &a.customer_id)));
            let start = after.map_or(0, |after| {
                all.iter()
                    .position(|(k, p)| (k, &p.customer_id) < (&after.sort_key, &after.customer_id))
                    .unwrap_or(all.len())
            });
            let read = all.into_iter().skip(start).take(limit as usize + 1);
            let page = Page::of(read.collect(), limit, |(k, p): &(String, Participant)| {
                Position {
                    sort_key: k.clone(),
                    customer_id: p.customer_id.clone(),
                }
            });
            Page {
                items: page.items.into_iter().map(|(_, p)| p).collect(),
                next: page.next,
            }
        })
    }
}

#[async_trait]
impl Clicks for InMemoryStore {
    async fn record(&self, click: &Click, tally: &Tally) -> anyhow::Result<Written> {
        self.with(|s| {
            let key = (click.business_id.clone(), click.customer_id.clone());
            let Some(participant) = s.participants.get_mut(&key) else {
                return Written::Refused;
            };
            // A click id already stored was counted when it was.
            let std::collections::btree_map::Entry::Vacant(stored) = s.clicks.entry(click.id)
            else {
                return Written::Refused;
            };
            stored.insert(Box::new(click.clone()));
            participant.stats.clicks += 1;
            *participant
                .stats
                .clicks_by_channel
                .entry(click.channel)
                .or_default() += 1;
            s.tally(&click.business_id, tally);
            Written::Applied
        })
    }
}

#[async_trait]
impl RateLimits for InMemoryStore {
    async fn hit(
        &self,
        key: &RateKey,
        window_secs: u64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Rate> {
        let (start, left) = window(now, window_secs);
        self.with(|s| {
            let hits = s.rates.entry((key.clone(), start)).or_default();
            *hits += 1;
            if *hits > limit {
                Rate::Limited {
                    retry_after_secs: left,
                }
            } else {
                Rate::Allowed
            }
        })
    }

    async fn hits(
        &self,
        key: &RateKey,
        window_secs: u64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u32> {
        let (start, _) = window(now, window_secs);
        self.with(|s| s.rates.get(&(key.clone(), start)).copied().unwrap_or(0))
    }
}
