//! In-memory fakes of every port, for fast domain and handler tests. Never shipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use std::collections::HashSet;

use crate::decide::{IndexEntry, LoadKeys, Plan, Refusal, Snapshot};
use crate::model::business::Business;
use crate::model::click::Click;
use crate::model::contact::Contact;
use crate::model::events::DomainEvent;
use crate::model::job::Job;
use crate::model::lead::{CounterKey, LeadKey};
use crate::model::lead::{LEAD_REPEAT_WINDOW, Lead};
use crate::model::message::{Message, Purpose, Reason, Status};
use crate::model::participant::{Participant, ParticipantSort, Referrer};
use crate::model::referral::{Referral, Status as ReferralStatus};
use crate::model::reward::{LedgerEntry, Reward, RewardStatus};
use crate::model::search::{SearchEntry, SearchKey, SearchQuery, search_text};
use crate::model::settings::Settings;
use crate::ports::RateKey;
use crate::ports::Referrals;
use crate::ports::Rewards;
use crate::ports::{Businesses, Clicks, Clock, Page, Participants, Position, Written};
use crate::ports::{
    EventPublisher, Finish, MessageFilter, Outbox, ProgramStore, Recipient, Recipients, SendError,
    SendResult, SmsSender,
};
use crate::ports::{Rate, RateLimits, window};
use crate::rules::sending::SendGuard;
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::person::Phone;
use crate::values::secrets::KeyHash;

#[derive(Default)]
struct State {
    businesses: HashMap<BusinessId, Business>,
    admin_keys: HashMap<KeyHash, BusinessId>,
    contacts: HashMap<(BusinessId, CustomerId), Contact>,
    participants: HashMap<(BusinessId, CustomerId), Participant>,
    codes: HashMap<ReferralCode, Referrer>,
    clicks: BTreeMap<ClickId, Click>,
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
    issue_due: BTreeMap<(BusinessId, String), crate::decide::IssueDue>,
}

/// How the fake orders search entries: like the table, names and numbers apart, by key then id.
fn search_key(key: &SearchKey, customer: &CustomerId) -> String {
    match key {
        SearchKey::Name(name) => format!("N:{name}#{customer}"),
        SearchKey::Phone(phone) => format!("P:{phone}#{customer}"),
    }
}

fn search_prefix(query: &SearchQuery) -> String {
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

    pub fn jobs(&self) -> Vec<Job> {
        self.with(|s| s.jobs.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn participants(&self) -> Vec<Participant> {
        self.with(|s| s.participants.values().cloned().collect())
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
        self.with(|s| s.clicks.values().cloned().collect())
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
    async fn create(&self, business: &Business, admin_key: &KeyHash) -> anyhow::Result<Written> {
        self.with(|s| {
            if s.businesses.contains_key(&business.id) || s.admin_keys.contains_key(admin_key) {
                return Written::Refused;
            }
            s.businesses.insert(business.id.clone(), business.clone());
            s.admin_keys.insert(admin_key.clone(), business.id.clone());
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
        read_version: u64,
    ) -> anyhow::Result<Written> {
        self.with(|s| match s.businesses.get_mut(id) {
            Some(business) if business.version == read_version => {
                business.settings = settings.clone();
                business.version += 1;
                Written::Applied
            }
            _ => Written::Refused,
        })
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
    async fn record(&self, click: &Click) -> anyhow::Result<()> {
        self.with(|s| {
            // A click id already stored was counted when it was.
            if s.clicks.contains_key(&click.id) {
                return;
            }
            let key = (click.business_id.clone(), click.customer_id.clone());
            if let Some(participant) = s.participants.get_mut(&key) {
                participant.stats.clicks += 1;
                *participant
                    .stats
                    .clicks_by_channel
                    .entry(click.channel)
                    .or_default() += 1;
                s.clicks.insert(click.id, click.clone());
            }
        })
    }
}

/// A clock the test moves by hand.
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
            .lock()
            .map(|now| *now)
            .unwrap_or_else(|_| Utc::now())
    }
}

impl State {
    fn search_entries(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> Vec<SearchEntry> {
        let prefix = search_prefix(query);
        self.search
            .range((business.clone(), prefix.clone())..)
            .take_while(|((b, key), _)| b == business && key.starts_with(&prefix))
            .map(|(_, entry)| entry.clone())
            .take(limit as usize)
            .collect()
    }

    fn resolve(&self, business: &BusinessId, customer: &CustomerId) -> Option<Contact> {
        let id = self
            .aliases
            .get(&(business.clone(), customer.clone()))
            .unwrap_or(customer);
        self.contacts.get(&(business.clone(), id.clone())).cloned()
    }

    fn owner(&self, business: &BusinessId, key: String) -> Option<Contact> {
        let id = self.index.get(&(business.clone(), key))?;
        self.contacts.get(&(business.clone(), id.clone())).cloned()
    }

    /// `before_number` / `before_all`: texts of the same commit already counted ahead of this one.
    fn cap_refusal(
        &self,
        business: &BusinessId,
        guard: &SendGuard,
        before_number: u32,
        before_all: u32,
    ) -> Option<Refusal> {
        let number = format!("{business}#{}#{}", guard.day, guard.phone);
        let all = format!("{business}#{}", guard.day);
        if self
            .recipients
            .get(&guard.phone)
            .is_some_and(|r| r.opted_out)
        {
            return Some(Refusal::OptedOut {
                message_id: guard.message_id.clone(),
            });
        }
        if !guard.counts {
            return None;
        }
        if self.caps.get(&number).copied().unwrap_or(0) + before_number >= guard.per_number {
            return Some(Refusal::Capped {
                message_id: guard.message_id.clone(),
                reason: Reason::DailyCap,
            });
        }
        if self.caps.get(&all).copied().unwrap_or(0) + before_all >= guard.per_business {
            return Some(Refusal::Capped {
                message_id: guard.message_id.clone(),
                reason: Reason::BusinessDailyCap,
            });
        }
        None
    }

    fn count(&mut self, business: &BusinessId, guard: &SendGuard) {
        if !guard.counts {
            return;
        }
        *self
            .caps
            .entry(format!("{business}#{}#{}", guard.day, guard.phone))
            .or_default() += 1;
        *self
            .caps
            .entry(format!("{business}#{}", guard.day))
            .or_default() += 1;
    }

    fn refusal(&self, business: &BusinessId, plan: &Plan) -> Option<Refusal> {
        if let Some((id, _)) = &plan.delivery
            && self.deliveries.contains(&(business.clone(), id.clone()))
        {
            return Some(Refusal::Duplicate);
        }
        if let Some((contact, expected)) = &plan.contact {
            let id = (business.clone(), contact.customer_id.clone());
            let stored = self.contacts.get(&id);
            // A contact and an alias are one record per id: a new contact cannot take an alias's.
            if stored.map(|c| c.version) != *expected || self.aliases.contains_key(&id) {
                return Some(Refusal::Changed);
            }
        }
        if let Some(alias) = &plan.alias {
            let id = (business.clone(), alias.clone());
            if self.aliases.contains_key(&id) || self.contacts.contains_key(&id) {
                return Some(Refusal::Changed);
            }
        }
        for entry in &plan.index {
            let (key, _) = index_key(entry);
            if self.index.contains_key(&(business.clone(), key)) {
                return Some(Refusal::Changed);
            }
        }
        if let Some((job, expected)) = &plan.job {
            let stored = self.jobs.get(&(business.clone(), job.job_id.clone()));
            if stored.map(|j| (j.status_at, j.status.rank())) != *expected {
                return Some(Refusal::Changed);
            }
        }
        if let Some(participant) = &plan.participant
            && (self
                .participants
                .contains_key(&(business.clone(), participant.customer_id.clone()))
                || self.codes.contains_key(&participant.code))
        {
            return Some(Refusal::Changed);
        }
        for message in &plan.messages {
            if self
                .guards
                .contains(&(business.clone(), message.purpose, message.subject.clone()))
            {
                return Some(Refusal::MessageExists {
                    purpose: message.purpose,
                    subject: message.subject.clone(),
                });
            }
        }
        for (key, _, expires) in &plan.lead_keys {
            let now = *expires - LEAD_REPEAT_WINDOW;
            if self
                .lead_keys
                .get(&(business.clone(), key.clone()))
                .is_some_and(|(_, until)| *until > now)
            {
                return Some(Refusal::Changed);
            }
        }
        for counter in &plan.counters {
            let key = (business.clone(), counter.key.clone());
            if self.counters.get(&key).copied().unwrap_or(0) >= counter.limit {
                return Some(Refusal::RateLimited {
                    retry_after_secs: counter.retry_after_secs,
                });
            }
        }
        for entry in &plan.ledger {
            if self.ledger.contains_key(&(
                business.clone(),
                format!("{}#{}", entry.customer_id, entry.entry_id),
            )) {
                return Some(Refusal::Changed);
            }
        }
        for code in &plan.discount_codes {
            if self.discount_codes.contains(code) {
                return Some(Refusal::Changed);
            }
        }
        for delta in &plan.stats {
            let Some(p) = self
                .participants
                .get(&(business.clone(), delta.customer_id.clone()))
            else {
                return Some(Refusal::Changed);
            };
            let closed_moved =
                delta.closed != 0 && delta.closed_was.is_some_and(|was| was != p.stats.closed);
            let year_moved = delta.year.as_ref().is_some_and(|bump| match bump.was {
                (None, _) => p.stats.rewarded_year.is_some(),
                (Some(year), count) => {
                    p.stats.rewarded_year != Some(year) || p.stats.rewarded_in_year != count
                }
            });
            if closed_moved || year_moved {
                return Some(Refusal::Changed);
            }
        }
        plan.sends.iter().enumerate().find_map(|(i, guard)| {
            let earlier = plan.sends[..i].iter().filter(|g| g.counts);
            let same_number = earlier.clone().filter(|g| g.phone == guard.phone).count();
            self.cap_refusal(
                business,
                guard,
                u32::try_from(same_number).unwrap_or(u32::MAX),
                u32::try_from(earlier.count()).unwrap_or(u32::MAX),
            )
        })
    }
}

#[async_trait]
impl ProgramStore for InMemoryStore {
    async fn load(&self, business: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        self.with(|s| {
            let contact = s.resolve(business, &keys.customer_id);
            let participant_of = contact
                .as_ref()
                .map_or(&keys.customer_id, |c| &c.customer_id)
                .clone();
            let phone_owner = keys
                .phone
                .as_ref()
                .and_then(|p| s.owner(business, format!("PHONE#{p}")));
            let email_owner = keys
                .email
                .as_ref()
                .and_then(|e| s.owner(business, format!("EMAIL#{e}")));
            // As the real adapter: the referrer named by the keys, else the referrer of the
            // referral of whichever contact the command resolves to.
            let acting = contact
                .clone()
                .or_else(|| phone_owner.clone())
                .or_else(|| email_owner.clone());
            let acting_referrer = acting
                .as_ref()
                .filter(|_| keys.referral_parties)
                .and_then(|c| c.referral.as_ref())
                .and_then(|r| r.referrer_id().cloned());
            let named = keys
                .referrer
                .as_ref()
                .and_then(|id| s.resolve(business, id))
                .map(|c| c.customer_id);
            let referrer_id = keys.referrer.clone().or(acting_referrer.clone());
            let participants = [named, acting_referrer]
                .into_iter()
                .flatten()
                .filter_map(|id| {
                    s.participants
                        .get(&(business.clone(), id.clone()))
                        .map(|p| (id, p.clone()))
                })
                .collect();
            let candidates = match &keys.mention {
                Some(text) => crate::model::search::candidates(s.search_entries(
                    business,
                    &SearchQuery::Name(search_text(text)),
                    100,
                )),
                None => Vec::new(),
            };
            Snapshot {
                phone_owner,
                email_owner,
                job: keys
                    .job_id
                    .as_ref()
                    .and_then(|j| s.jobs.get(&(business.clone(), j.clone())).cloned()),
                participant: if keys.participant {
                    s.participants
                        .get(&(business.clone(), participant_of))
                        .cloned()
                } else {
                    None
                },
                referrer: referrer_id.and_then(|id| s.resolve(business, &id)),
                click: keys.click.and_then(|id| s.clicks.get(&id).cloned()),
                recent_lead: keys
                    .lead_keys
                    .iter()
                    .filter_map(|key| s.lead_keys.get(&(business.clone(), key.clone())).cloned())
                    .max_by_key(|(_, until)| *until),
                counters: keys
                    .counters
                    .iter()
                    .filter_map(|key| {
                        s.counters
                            .get(&(business.clone(), key.clone()))
                            .map(|n| (key.clone(), *n))
                    })
                    .collect(),
                candidates,
                participants,
                contact,
            }
        })
    }

    async fn commit(
        &self,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<Result<(), Refusal>> {
        self.with(|s| {
            if let Some(refusal) = s.refusal(business, plan) {
                return Err(refusal);
            }
            if let Some((id, _)) = &plan.delivery {
                s.deliveries.insert((business.clone(), id.clone()));
            }
            if let Some((contact, _)) = &plan.contact {
                s.contacts.insert(
                    (business.clone(), contact.customer_id.clone()),
                    contact.clone(),
                );
                if let Some(alias) = &plan.alias {
                    s.aliases.insert(
                        (business.clone(), alias.clone()),
                        contact.customer_id.clone(),
                    );
                }
            }
            for entry in &plan.index {
                let (key, id) = index_key(entry);
                s.index.insert((business.clone(), key), id.clone());
            }
            if let Some((job, _)) = &plan.job {
                s.jobs
                    .insert((business.clone(), job.job_id.clone()), job.clone());
            }
            if let Some(participant) = &plan.participant {
                s.codes
                    .insert(participant.code.clone(), participant.referrer());
                s.participants.insert(
                    (business.clone(), participant.customer_id.clone()),
                    participant.clone(),
                );
            }
            for message in &plan.messages {
                s.guards
                    .insert((business.clone(), message.purpose, message.subject.clone()));
                s.messages
                    .insert(message.message_id.clone(), message.clone());
            }
            for guard in &plan.sends {
                s.count(business, guard);
            }
            if let Some(lead) = &plan.lead {
                s.leads.push(lead.clone());
            }
            for event in &plan.events {
                s.outbox.insert(event.event_id.clone(), event.clone());
            }
            let b = |key: &String| (business.clone(), key.clone());
            for (key, lead_id, expires) in &plan.lead_keys {
                s.lead_keys
                    .insert((business.clone(), key.clone()), (lead_id.clone(), *expires));
            }
            for counter in &plan.counters {
                *s.counters
                    .entry((business.clone(), counter.key.clone()))
                    .or_default() += 1;
            }
            for referral in &plan.referrals {
                s.referrals
                    .insert(b(&referral.referral_id), referral.clone());
            }
            for delta in &plan.stats {
                if let Some(p) = s
                    .participants
                    .get_mut(&(business.clone(), delta.customer_id.clone()))
                {
                    p.stats.referrals = p.stats.referrals.saturating_add_signed(delta.referrals);
                    p.stats.closed = p.stats.closed.saturating_add_signed(delta.closed);
                    p.stats.rewards_earned_cents += delta.earned_cents;
                    p.stats.rewards_pending_cents += delta.pending_cents;
                    if let Some(bump) = &delta.year {
                        p.stats.rewarded_in_year = bump.count();
                        p.stats.rewarded_year = Some(bump.year);
                    }
                }
            }
            for reward in &plan.rewards {
                s.rewards.insert(b(&reward.reward_id), reward.clone());
            }
            for entry in &plan.ledger {
                s.ledger.insert(
                    b(&format!("{}#{}", entry.customer_id, entry.entry_id)),
                    entry.clone(),
                );
            }
            for code in &plan.discount_codes {
                s.discount_codes.insert(code.clone());
            }
            for id in &plan.reward_done {
                s.reward_due.remove(&b(id));
            }
            for reward in &plan.reward_due {
                s.reward_due.insert(b(&reward.reward_id), reward.clone());
            }
            for due in &plan.issue_due {
                s.issue_due.insert(b(&due.referral_id), due.clone());
            }
            for id in &plan.issue_done {
                s.issue_due.remove(&b(id));
            }
            if let Some(update) = &plan.search {
                for key in &update.remove {
                    s.search
                        .remove(&(business.clone(), search_key(key, &update.entry.customer_id)));
                }
                for key in &update.put {
                    s.search.insert(
                        (business.clone(), search_key(key, &update.entry.customer_id)),
                        update.entry.clone(),
                    );
                }
            }
            Ok(())
        })
    }

    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        self.with(|s| {
            for outcome in &finish.outcomes {
                if let Some(message) = s.messages.get_mut(&outcome.message_id)
                    && message.status.is_pending()
                {
                    match &outcome.result {
                        SendResult::Sent { provider_id, at } => {
                            message.status = Status::Sent;
                            message.reason = None;
                            message.sent_at = Some(*at);
                            message.provider_id = Some(provider_id.clone());
                        }
                        SendResult::Closed { status, reason } => {
                            message.status = *status;
                            message.reason = Some(*reason);
                        }
                    }
                    message.due_at = None;
                }
                if let Some(phone) = &outcome.phone {
                    let recipient = s.recipients.entry(phone.clone()).or_default();
                    recipient.last_business_id = Some(business.clone());
                    if matches!(
                        outcome.result,
                        SendResult::Closed {
                            reason: Reason::OptedOut,
                            ..
                        }
                    ) {
                        recipient.opted_out = true;
                    }
                }
            }
            for id in &finish.published {
                s.outbox.remove(id);
            }
            for event in &finish.pending {
                s.outbox.insert(event.event_id.clone(), event.clone());
            }
        })
    }
}

#[async_trait]
impl Outbox for InMemoryStore {
    async fn due_messages(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Message>> {
        self.with(|s| {
            let mut due: Vec<Message> = s
                .messages
                .values()
                .filter(|m| m.status.is_pending() && m.due_at.is_some_and(|due| due <= now))
                .cloned()
                .collect();
            due.sort_by_key(|m| m.due_at);
            due.truncate(limit as usize);
            due
        })
    }

    async fn claim(
        &self,
        message: &Message,
        guard: Option<&SendGuard>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Result<(), Refusal>> {
        self.with(|s| {
            let current = s.messages.get(&message.message_id);
            if current.map(|m| (m.status, m.due_at)) != Some((message.status, message.due_at)) {
                return Err(Refusal::Changed);
            }
            if let Some(guard) = guard {
                if let Some(refusal) = s.cap_refusal(&message.business_id, guard, 0, 0) {
                    return Err(refusal);
                }
                s.count(&message.business_id, guard);
            }
            if let Some(stored) = s.messages.get_mut(&message.message_id) {
                stored.status = Status::Queued;
                stored.due_at = Some(until);
            }
            Ok(())
        })
    }

    async fn reschedule(&self, read: &Message, updated: &Message) -> anyhow::Result<()> {
        self.with(|s| {
            if let Some(stored) = s.messages.get_mut(&read.message_id)
                && (stored.status, stored.due_at) == (read.status, read.due_at)
            {
                *stored = updated.clone();
            }
        })
    }

    async fn pending_events(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DomainEvent>> {
        self.with(|s| {
            let mut pending: Vec<DomainEvent> = s
                .outbox
                .values()
                .filter(|e| e.occurred_at < before)
                .cloned()
                .collect();
            pending.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
            pending.truncate(limit as usize);
            pending
        })
    }

    async fn messages(
        &self,
        business: &BusinessId,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Message>> {
        self.with(|s| {
            let items: Vec<Message> = s
                .messages
                .values()
                .rev()
                .filter(|m| &m.business_id == business)
                .filter(|m| {
                    filter
                        .customer_id
                        .as_ref()
                        .is_none_or(|c| m.customer_id.as_ref() == Some(c))
                })
                .filter(|m| filter.status.is_none_or(|st| m.status == st))
                .filter(|m| after.is_none_or(|a| m.message_id.as_str() < a))
                .take(limit as usize + 1)
                .cloned()
                .collect();
            Page::of(items, limit, |m| m.message_id.clone())
        })
    }
}

#[async_trait]
impl Recipients for InMemoryStore {
    async fn recipient(&self, phone: &Phone) -> anyhow::Result<Recipient> {
        self.with(|s| s.recipients.get(phone).cloned().unwrap_or_default())
    }

    async fn set_opted_out(
        &self,
        phone: &Phone,
        opted_out: bool,
        _at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.with(|s| s.recipients.entry(phone.clone()).or_default().opted_out = opted_out)
    }
}

/// Records texts instead of sending them; can be told to fail.
#[derive(Default)]
pub struct FakeSms {
    sent: Mutex<Vec<(Phone, String)>>,
    failures: Mutex<Vec<SendError>>,
}

impl FakeSms {
    pub fn sent(&self) -> Vec<(Phone, String)> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The next sends fail with these errors, in order.
    pub fn fail_next(&self, error: SendError) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(error);
        }
    }
}

#[async_trait]
impl SmsSender for FakeSms {
    async fn send(&self, to: &Phone, body: &str) -> Result<String, SendError> {
        if let Some(error) = self
            .failures
            .lock()
            .ok()
            .and_then(|mut f| (!f.is_empty()).then(|| f.remove(0)))
        {
            return Err(error);
        }
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| SendError::Transient(anyhow::anyhow!("poisoned")))?;
        sent.push((to.clone(), body.to_owned()));
        Ok(format!("fake-{}", sent.len()))
    }
}

/// Records published events; can be told to fail.
#[derive(Default)]
pub struct FakeEvents {
    published: Mutex<Vec<DomainEvent>>,
    failing: Mutex<bool>,
}

impl FakeEvents {
    pub fn published(&self) -> Vec<DomainEvent> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn set_failing(&self, failing: bool) {
        if let Ok(mut f) = self.failing.lock() {
            *f = failing;
        }
    }
}

#[async_trait]
impl EventPublisher for FakeEvents {
    async fn publish(&self, events: &[DomainEvent]) -> anyhow::Result<()> {
        if self.failing.lock().map(|f| *f).unwrap_or(false) {
            anyhow::bail!("the bus is down");
        }
        self.published
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .extend_from_slice(events);
        Ok(())
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
}

#[async_trait]
impl Referrals for InMemoryStore {
    async fn referral(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Referral>> {
        self.with(|s| s.referrals.get(&(business.clone(), id.to_owned())).cloned())
    }

    async fn referrals(
        &self,
        business: &BusinessId,
        status: Option<ReferralStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Referral>> {
        self.with(|s| {
            let items: Vec<Referral> = s
                .referrals
                .iter()
                .rev()
                .filter(|((b, id), r)| {
                    b == business
                        && after.is_none_or(|a| id.as_str() < a)
                        && status.is_none_or(|st| r.status == st)
                })
                .map(|(_, r)| r.clone())
                .take(limit as usize + 1)
                .collect();
            Page::of(items, limit, |r| r.referral_id.clone())
        })
    }

    async fn referrals_by(
        &self,
        business: &BusinessId,
        referrer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Referral>> {
        self.with(|s| {
            s.referrals
                .iter()
                .rev()
                .filter(|((b, _), r)| b == business && r.referrer_id() == Some(referrer))
                .map(|(_, r)| r.clone())
                .take(limit as usize)
                .collect()
        })
    }

    async fn search(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchEntry>> {
        self.with(|s| s.search_entries(business, query, limit))
    }
}

impl InMemoryStore {
    pub fn referrals_of(&self, business: &BusinessId) -> Vec<Referral> {
        self.with(|s| {
            s.referrals
                .iter()
                .filter(|((b, _), _)| b == business)
                .map(|(_, r)| r.clone())
                .collect()
        })
        .unwrap_or_default()
    }
}

#[async_trait]
impl Rewards for InMemoryStore {
    async fn reward(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Reward>> {
        self.with(|s| s.rewards.get(&(business.clone(), id.to_owned())).cloned())
    }

    async fn rewards(
        &self,
        business: &BusinessId,
        status: Option<RewardStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Reward>> {
        self.with(|s| {
            let items: Vec<Reward> = s
                .rewards
                .iter()
                .rev()
                .filter(|((b, id), r)| {
                    b == business
                        && after.is_none_or(|a| id.as_str() < a)
                        && status.is_none_or(|st| r.status == st)
                })
                .map(|(_, r)| r.clone())
                .take(limit as usize + 1)
                .collect();
            Page::of(items, limit, |r| r.reward_id.clone())
        })
    }

    async fn rewards_of(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Reward>> {
        self.with(|s| {
            s.rewards
                .iter()
                .rev()
                .filter(|((b, _), r)| b == business && r.customer_id == *customer)
                .map(|(_, r)| r.clone())
                .take(limit as usize)
                .collect()
        })
    }

    async fn ledger(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Vec<LedgerEntry>> {
        self.with(|s| {
            let mut entries: Vec<LedgerEntry> = s
                .ledger
                .iter()
                .filter(|((b, _), e)| b == business && e.customer_id == *customer)
                .map(|(_, e)| e.clone())
                .collect();
            entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.entry_id.cmp(&b.entry_id)));
            entries
        })
    }

    async fn awaiting_rewards(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, crate::decide::IssueDue)>> {
        self.with(|s| {
            let mut awaiting: Vec<(BusinessId, crate::decide::IssueDue)> = s
                .issue_due
                .iter()
                .filter(|(_, d)| d.at < before)
                .map(|((b, _), d)| (b.clone(), d.clone()))
                .collect();
            awaiting.sort_by(|(_, a), (_, b)| (a.at, &a.referral_id).cmp(&(b.at, &b.referral_id)));
            awaiting.truncate(limit as usize);
            awaiting
        })
    }

    async fn forget_awaiting(
        &self,
        business: &BusinessId,
        referral_id: &str,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.issue_due
                .remove(&(business.clone(), referral_id.to_owned()));
        })
    }

    async fn due_rewards(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Reward)>> {
        self.with(|s| {
            let mut due: Vec<(BusinessId, Reward)> = s
                .reward_due
                .iter()
                .filter(|(_, r)| r.release_at.is_none_or(|at| at <= now))
                .map(|((b, _), r)| (b.clone(), r.clone()))
                .collect();
            due.sort_by_key(|d| d.1.release_at);
            due.truncate(limit as usize);
            due
        })
    }
}

impl InMemoryStore {
    /// Every ledger entry of every participant, for invariants.
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.with(|s| s.ledger.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn all_rewards(&self) -> Vec<Reward> {
        self.with(|s| s.rewards.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn discount_codes(&self) -> Vec<String> {
        self.with(|s| s.discount_codes.iter().cloned().collect())
            .unwrap_or_default()
    }
}
