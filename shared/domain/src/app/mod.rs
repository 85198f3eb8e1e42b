//! The application: the use cases behind every function, one file per family. Handlers and
//! event entrypoints translate their input into these calls; the decisions are made in
//! `decide` and `rules`, and everything outside goes through the `ports`.
//!
//! | file | use cases |
//! |---|---|
//! | `businesses` | operator creation, admin keys, settings |
//! | `links` | referral-link clicks, QR and landing-page cards |
//! | `participants` | enrolment, participant lists and details, reward overrides |
//! | `leads` | the website form |
//! | `referrals` | staff lists, attribution, review, customer search |
//! | `rewards` | the issuer, staff's reward list and moves, the ledger |
//! | `webhooks` | signed deliveries from field-service software |
//! | `texts` | inbound keywords, HELP, the outbox list |
//! | `sweep` | the scheduler: due texts, unpublished events, held and missed rewards |
//! | `staff` | staff members, invite links, sign-in and sessions |
//! | `run` | deciding a command, committing it, then sending and publishing |

mod businesses;
mod gift_cards;
mod jobber;
mod leads;
mod links;
mod me;
mod participants;
mod reengage;
mod referrals;
mod reports;
mod rewards;
mod run;
mod staff;
mod sweep;
mod texts;
mod webhooks;

#[cfg(test)]
mod tests;

pub use businesses::{CreatedBusiness, Operator};
pub use jobber::{APP_DISCONNECT, JobberEvent, JobberReceipt, ReadBackOutcome, oauth_state};
pub use leads::{LeadForm, LeadReceipt, MAX_MESSAGE_CHARS};
pub use links::{
    ClickOutcome, ReferralCard, UNKNOWN_CODE_WINDOW_SECS, UNKNOWN_CODES_PER_WINDOW, Visit,
};
pub use me::ReferrerPage;
pub use participants::EnrolRequest;
pub use referrals::{Review, SEARCH_CHARS};
pub use reports::{Board, DEFAULT_BOARD, MAX_BOARD, MAX_RANGE_DAYS, Ranked, report_due};
pub use rewards::{AWAIT_GRACE, Issued, Qualified};
pub use run::{CONTENTION_BUDGET, Ran};
pub use staff::{
    Invited, SIGN_IN_FAILURES_PER_ACCOUNT, SIGN_IN_FAILURES_PER_ADDRESS, SIGN_IN_WINDOW_SECS,
    SignedIn,
};
pub use sweep::Sweep;
pub use texts::InboundText;
pub use webhooks::Receipt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::model::business::Business;
use crate::ports::{
    Businesses, Clicks, Clock, EventPublisher, FixedClock, GiftCards, JobberApi, JobberLinks,
    NoGiftCards, NoJobber, NoReadBacks, Outbox, Participants, ProgramStore, RateLimits, ReadBacks,
    Recipients, Referrals, Reports, Rewards, SmsSender, Staff,
};
use crate::values::error::{Error, Result};
use crate::values::ids::BusinessId;
use crate::values::secrets::{IpHasher, PageKey};

/// How staff actions through the admin API key are audited.
pub const ADMIN_KEY_ACTOR: &str = "admin key";

/// How long a business's settings are reused before being read again.
pub const SETTINGS_CACHE_TTL: Duration = Duration::seconds(60);
/// Page sizes of admin lists.
pub const DEFAULT_PAGE: u32 = 25;
pub const MAX_PAGE: u32 = 100;

/// The page size asked for (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]), checked with a
/// cursor that must be the last id (a ULID) of a page a list returned.
pub(crate) fn page_args(limit: Option<u32>, cursor: Option<&str>) -> Result<u32> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::field("limit", "must be between 1 and 100"));
    }
    if let Some(cursor) = cursor
        && ulid::Ulid::from_string(cursor).is_err()
    {
        return Err(Error::BadRequest(
            "cursor is not one this list returned".into(),
        ));
    }
    Ok(limit)
}

/// The ports the services use. One store adapter implements the storage ones.
#[derive(Clone)]
pub struct Ports {
    pub businesses: Arc<dyn Businesses>,
    pub participants: Arc<dyn Participants>,
    pub clicks: Arc<dyn Clicks>,
    pub program: Arc<dyn ProgramStore>,
    pub outbox: Arc<dyn Outbox>,
    pub recipients: Arc<dyn Recipients>,
    pub rates: Arc<dyn RateLimits>,
    pub referrals: Arc<dyn Referrals>,
    pub rewards: Arc<dyn Rewards>,
    pub reports: Arc<dyn Reports>,
    pub staff: Arc<dyn Staff>,
    pub gift_cards: Arc<dyn GiftCards>,
    pub jobber_links: Arc<dyn JobberLinks>,
    pub jobber: Arc<dyn JobberApi>,
    pub read_backs: Arc<dyn ReadBacks>,
    pub sms: Arc<dyn SmsSender>,
    pub events: Arc<dyn EventPublisher>,
    pub clock: Arc<dyn Clock>,
}

impl Ports {
    pub fn new<S>(
        store: Arc<S>,
        sms: Arc<dyn SmsSender>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self
    where
        S: Businesses
            + Participants
            + Clicks
            + ProgramStore
            + Outbox
            + Recipients
            + RateLimits
            + Referrals
            + Rewards
            + Reports
            + Staff
            + JobberLinks
            + 'static,
    {
        Self {
            businesses: store.clone(),
            participants: store.clone(),
            clicks: store.clone(),
            program: store.clone(),
            outbox: store.clone(),
            recipients: store.clone(),
            rates: store.clone(),
            referrals: store.clone(),
            rewards: store.clone(),
            reports: store.clone(),
            staff: store.clone(),
            jobber_links: store,
            gift_cards: Arc::new(NoGiftCards),
            jobber: Arc::new(NoJobber),
            read_backs: Arc::new(NoReadBacks),
            sms,
            events,
            clock,
        }
    }
}

/// Deployment-wide configuration the services need.
#[derive(Clone)]
pub struct ServiceConfig {
    /// Absent: operator routes refuse every key.
    pub operator_key: Option<String>,
    pub ip_hasher: IpHasher,
    /// Signs and checks referrers' page links.
    pub page_key: PageKey,
}

/// The application: ports, configuration and a short-lived cache of business settings.
#[derive(Clone)]
pub struct Vouch {
    pub(crate) ports: Ports,
    pub(crate) config: ServiceConfig,
    cache: Arc<BusinessCache>,
    /// Who staff actions are recorded as: the admin key, or the signed-in person.
    pub(crate) acting: Arc<str>,
}

impl Vouch {
    pub fn new(ports: Ports, config: ServiceConfig) -> Self {
        Self {
            ports,
            config,
            cache: Arc::new(BusinessCache::default()),
            acting: Arc::from(ADMIN_KEY_ACTOR),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// This application as of `now`: what the local scheduler route runs to show what the
    /// scheduler will do then (deferred texts, the 1st of next month).
    pub fn at(&self, now: DateTime<Utc>) -> Vouch {
        let mut ports = self.ports.clone();
        ports.clock = Arc::new(FixedClock {
            at: now,
            real: self.ports.clock.clone(),
        });
        Vouch {
            ports,
            config: self.config.clone(),
            cache: self.cache.clone(),
            acting: self.acting.clone(),
        }
    }

    /// This application acting for a signed-in person: the staff actions it takes are audited
    /// with `label` ("Olivia (owner)") instead of the admin key.
    pub fn acting_as(&self, label: &str) -> Vouch {
        Vouch {
            acting: Arc::from(label),
            ..self.clone()
        }
    }

    pub(crate) fn ip_hasher(&self) -> &IpHasher {
        &self.config.ip_hasher
    }

    /// A business, from the cache when it was read in the last [`SETTINGS_CACHE_TTL`].
    /// The same application on another clock (tests that move time over real adapters).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Vouch {
        let mut ports = self.ports.clone();
        ports.clock = clock;
        Vouch::new(ports, self.config.clone())
    }

    pub async fn business(&self, id: &BusinessId) -> Result<Option<Arc<Business>>> {
        let now = self.now();
        if let Some(hit) = self.cache.get(id, now) {
            return Ok(Some(hit));
        }
        let Some(business) = self.ports.businesses.get(id).await? else {
            return Ok(None);
        };
        let business = Arc::new(business);
        self.cache.put(business.clone(), now);
        Ok(Some(business))
    }

    pub(crate) fn is_cached(&self, id: &BusinessId) -> bool {
        self.cache.get(id, self.now()).is_some()
    }

    /// Puts a business read elsewhere into the cache.
    pub(crate) fn remember(&self, business: Business) -> Arc<Business> {
        let business = Arc::new(business);
        self.cache.put(business.clone(), self.now());
        business
    }

    pub(crate) async fn existing_business(&self, id: &BusinessId) -> Result<Arc<Business>> {
        self.business(id).await?.ok_or(Error::NotFound("business"))
    }
}

/// Businesses read recently, so a burst of clicks costs one settings read per instance a minute.
#[derive(Default)]
struct BusinessCache {
    entries: Mutex<HashMap<BusinessId, Cached>>,
}

/// A business and when it was read.
type Cached = (DateTime<Utc>, Arc<Business>);

impl BusinessCache {
    const MAX_ENTRIES: usize = 10_000;

    fn get(&self, id: &BusinessId, now: DateTime<Utc>) -> Option<Arc<Business>> {
        let entries = self.entries.lock().ok()?;
        let (read_at, business) = entries.get(id)?;
        (now - *read_at < SETTINGS_CACHE_TTL && now >= *read_at).then(|| business.clone())
    }

    fn put(&self, business: Arc<Business>, now: DateTime<Utc>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(business.id.clone(), (now, business));
        }
    }

    fn forget(&self, id: &BusinessId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }
}
