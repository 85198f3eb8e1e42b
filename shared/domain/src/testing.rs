//! In-memory fakes of every port, for fast domain and handler tests. Never shipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::business::Business;
use crate::click::Click;
use crate::code::ReferralCode;
use crate::ids::{BusinessId, ClickId, CustomerId};
use crate::participant::{Contact, Participant, ParticipantSort, Referrer};
use crate::ports::{
    Businesses, Clicks, Clock, Contacts, Enrolment, Page, Participants, Position, Written,
};
use crate::secrets::KeyHash;
use crate::settings::Settings;

#[derive(Default)]
struct State {
    businesses: HashMap<BusinessId, Business>,
    admin_keys: HashMap<KeyHash, BusinessId>,
    contacts: HashMap<(BusinessId, CustomerId), Contact>,
    participants: HashMap<(BusinessId, CustomerId), Participant>,
    codes: HashMap<ReferralCode, Referrer>,
    clicks: BTreeMap<ClickId, Click>,
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

    pub fn clicks(&self) -> Vec<Click> {
        self.with(|s| s.clicks.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Pretends another participant already holds `code`.
    pub fn reserve_code(&self, code: ReferralCode, referrer: Referrer) {
        let _ = self.with(|s| s.codes.insert(code, referrer));
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
impl Contacts for InMemoryStore {
    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Contact>> {
        self.with(|s| {
            s.contacts
                .get(&(business.clone(), customer.clone()))
                .cloned()
        })
    }

    async fn put(&self, contact: &Contact) -> anyhow::Result<()> {
        self.with(|s| {
            s.contacts.insert(
                (contact.business_id.clone(), contact.customer_id.clone()),
                contact.clone(),
            );
        })
    }
}

#[async_trait]
impl Participants for InMemoryStore {
    async fn enrol(&self, participant: &Participant) -> anyhow::Result<Enrolment> {
        self.with(|s| {
            let key = (
                participant.business_id.clone(),
                participant.customer_id.clone(),
            );
            if s.participants.contains_key(&key) {
                return Enrolment::AlreadyEnrolled;
            }
            if s.codes.contains_key(&participant.code) {
                return Enrolment::CodeTaken;
            }
            s.codes
                .insert(participant.code.clone(), participant.referrer());
            s.participants.insert(key, participant.clone());
            Enrolment::Enrolled
        })
    }

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

    async fn referrer(&self, code: &ReferralCode) -> anyhow::Result<Option<Referrer>> {
        self.with(|s| s.codes.get(code).cloned())
    }

    async fn list(
        &self,
        business: &BusinessId,
        sort: ParticipantSort,
        limit: u32,
        after: Option<&Position>,
    ) -> anyhow::Result<Page<Participant>> {
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
            let page: Vec<(String, Participant)> = all
                .into_iter()
                .skip(start)
                .take(limit as usize + 1)
                .collect();
            let has_more = page.len() > limit as usize;
            let items: Vec<(String, Participant)> = page.into_iter().take(limit as usize).collect();
            let next = if has_more {
                items.last().map(|(k, p)| Position {
                    sort_key: k.clone(),
                    customer_id: p.customer_id.clone(),
                })
            } else {
                None
            };
            Page {
                items: items.into_iter().map(|(_, p)| p).collect(),
                next,
            }
        })
    }
}

#[async_trait]
impl Clicks for InMemoryStore {
    async fn record(&self, click: &Click) -> anyhow::Result<()> {
        self.with(|s| {
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
