//! The use cases behind the HTTP surface: operator, admin and public link operations. Handlers
//! translate requests into these calls; every rule lives here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::decide::Command;
use crate::flows::Ran;
use crate::model::business::{Business, NewBusiness};
use crate::model::click::{CLICK_RETENTION, Channel, Click, landing_redirect};
use crate::model::contact::CustomerDetails;
use crate::model::participant::{Participant, ParticipantSort, Referrer};
use crate::model::settings::Settings;
use crate::ports::{
    Businesses, Clicks, Clock, EventPublisher, GiftCards, ManualGiftCards, Outbox, Page,
    Participants, Position, ProgramStore, Rate, RateKey, RateLimits, Recipients, Referrals,
    Rewards, SmsSender, Written,
};
use crate::rules::attribution::is_link_preview_bot;
use crate::values::code::ReferralCode;
use crate::values::error::{Error, FieldErrors, Result};
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::person::{Country, Email, PersonName, Phone};
use crate::values::secrets::{AdminKey, IpHasher, KeyHash, WebhookSecret, keys_match};

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
    pub gift_cards: Arc<dyn GiftCards>,
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
            rewards: store,
            gift_cards: Arc::new(ManualGiftCards),
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
}

/// The application: ports, configuration and a short-lived cache of business settings.
#[derive(Clone)]
pub struct Vouch {
    pub(crate) ports: Ports,
    pub(crate) config: ServiceConfig,
    cache: Arc<BusinessCache>,
}

impl Vouch {
    pub fn new(ports: Ports, config: ServiceConfig) -> Self {
        Self {
            ports,
            config,
            cache: Arc::new(BusinessCache::default()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    pub(crate) fn ip_hasher(&self) -> &IpHasher {
        &self.config.ip_hasher
    }

    /// A business, from the cache when it was read in the last [`SETTINGS_CACHE_TTL`].
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

    // ---------------------------------------------------------------- operator

    /// `POST /api/operator/businesses`.
    pub async fn create_business(
        &self,
        operator_key: Option<&str>,
        doc: &Value,
    ) -> Result<CreatedBusiness> {
        let authorised = match (&self.config.operator_key, operator_key) {
            (Some(expected), Some(presented)) => keys_match(expected, presented),
            _ => false,
        };
        if !authorised {
            return Err(Error::Unauthenticated);
        }
        let new = NewBusiness::parse(doc).map_err(Error::Validation)?;
        let admin_key = AdminKey::generate();
        let business = Business {
            id: new.id,
            settings: new.settings,
            webhook_secret: WebhookSecret::generate(),
            created_at: self.now(),
            version: 1,
        };
        match self
            .ports
            .businesses
            .create(&business, &admin_key.hash())
            .await?
        {
            Written::Applied => Ok(CreatedBusiness {
                business_id: business.id,
                admin_api_key: admin_key.reveal().to_owned(),
                webhook_secret: business.webhook_secret.reveal().to_owned(),
            }),
            Written::Refused => Err(Error::Conflict {
                code: "business_exists",
                message: "a business with this business_id already exists".into(),
            }),
        }
    }

    // ---------------------------------------------------------------- admin

    /// Resolves a bearer admin key to its business.
    pub async fn authenticate_admin(&self, bearer: Option<&str>) -> Result<BusinessId> {
        let Some(token) = bearer.filter(|t| t.starts_with("vouch_ak_") && t.len() <= 128) else {
            return Err(Error::Unauthenticated);
        };
        self.ports
            .businesses
            .id_for_admin_key(&KeyHash::of(token))
            .await?
            .ok_or(Error::Unauthenticated)
    }

    pub(crate) async fn existing_business(&self, id: &BusinessId) -> Result<Arc<Business>> {
        self.business(id).await?.ok_or(Error::NotFound("business"))
    }

    pub async fn settings(&self, id: &BusinessId) -> Result<Settings> {
        // Staff expect to see what they just saved, so this read skips the cache.
        let business = self
            .ports
            .businesses
            .get(id)
            .await?
            .ok_or(Error::NotFound("business"))?;
        Ok(business.settings)
    }

    /// `PUT /api/admin/settings`: completes the document over the current settings and saves it
    /// if nobody changed the settings in between.
    pub async fn replace_settings(&self, id: &BusinessId, doc: &Value) -> Result<Settings> {
        let current = self
            .ports
            .businesses
            .get(id)
            .await?
            .ok_or(Error::NotFound("business"))?;
        let settings =
            Settings::complete(doc, Some(&current.settings)).map_err(Error::Validation)?;
        match self
            .ports
            .businesses
            .save_settings(id, &settings, current.version)
            .await?
        {
            Written::Applied => {
                self.cache.forget(id);
                Ok(settings)
            }
            Written::Refused => Err(Error::Conflict {
                code: "settings_changed",
                message: "the settings changed while saving; read them again and retry".into(),
            }),
        }
    }

    /// `POST /api/admin/participants`: enrols an existing contact, or the customer given (stored
    /// or updated first), whatever the satisfaction rule says. Enrolling someone already
    /// enrolled returns their record. `link_base` is the public origin for the invitation's link.
    pub async fn enrol(
        &self,
        business_id: &BusinessId,
        request: EnrolRequest,
        link_base: &str,
    ) -> Result<(Participant, bool)> {
        let business = self.existing_business(business_id).await?;
        let (customer_id, customer) = match (request.customer, request.customer_id) {
            (Some(customer), _) => {
                let details = customer
                    .parse(business.settings.country)
                    .map_err(|errors| Error::Validation(prefixed("customer", errors)))?;
                (details.customer_id.clone(), Some(details))
            }
            (None, Some(raw)) => {
                let id =
                    CustomerId::parse(&raw).map_err(|e| Error::field("customer_id", e.reason()))?;
                (id, None)
            }
            (None, None) => {
                return Err(Error::field("customer_id", "give customer_id or customer"));
            }
        };
        let command = Command::Enrol {
            customer_id,
            customer,
            send_invitation: request.send_invitation,
        };
        match self.run(&business, &command, None, link_base).await? {
            Ran::Done {
                participant: Some(participant),
                ..
            } => Ok((*participant, true)),
            Ran::Done { contact, .. } => {
                let contact = contact.ok_or(Error::NotFound("customer"))?;
                let participant = self
                    .ports
                    .participants
                    .get(business_id, &contact.customer_id)
                    .await?
                    .ok_or_else(|| {
                        anyhow::anyhow!("enrolled contact without a participant record")
                    })?;
                Ok((participant, false))
            }
            Ran::Duplicate | Ran::Repeat { .. } => {
                Err(anyhow::anyhow!("a manual enrolment has no delivery id").into())
            }
        }
    }

    pub async fn participant(
        &self,
        business_id: &BusinessId,
        raw_customer: &str,
    ) -> Result<Participant> {
        let id = CustomerId::parse(raw_customer).map_err(|_| Error::NotFound("participant"))?;
        self.ports
            .participants
            .get(business_id, &id)
            .await?
            .ok_or(Error::NotFound("participant"))
    }

    pub async fn participants(
        &self,
        business_id: &BusinessId,
        sort: ParticipantSort,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Participant>, Option<String>)> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = cursor.map(|c| Cursor::decode(c, sort)).transpose()?;
        let Page { items, next } = self
            .ports
            .participants
            .list(business_id, sort, limit, after.as_ref())
            .await?;
        Ok((items, next.map(|p| Cursor::encode(&p, sort))))
    }

    // ---------------------------------------------------------------- public links

    /// `GET`/`HEAD /r/{code}`: where to send the visitor, counting the click when a person made it.
    pub async fn click(&self, visit: Visit<'_>) -> Result<ClickOutcome> {
        let Some((code, referrer, business)) = self.resolve_code(visit.code, visit.ip).await?
        else {
            return Ok(ClickOutcome::UnknownCode);
        };
        let channel = Channel::from_query(visit.channel);
        let counted = visit.countable && !is_link_preview_bot(visit.user_agent);
        let click_id = if counted {
            let now = self.now();
            let click = Click {
                id: ClickId::generate(),
                business_id: referrer.business_id.clone(),
                customer_id: referrer.customer_id.clone(),
                code: code.clone(),
                channel,
                ip_hash: visit.ip.map(|ip| self.config.ip_hasher.hash(ip)),
                at: now,
                expires_at: now + CLICK_RETENTION,
            };
            self.ports.clicks.record(&click).await?;
            Some(click.id)
        } else {
            None
        };
        Ok(ClickOutcome::Redirect {
            location: landing_redirect(&business.settings.landing_url, &code, click_id, channel),
            counted,
        })
    }

    /// The referrer behind a code, for QR codes and landing-page greetings.
    pub async fn referral_card(&self, raw_code: &str, ip: Option<IpAddr>) -> Result<ReferralCard> {
        let (_, referrer, business) = self
            .resolve_code(raw_code, ip)
            .await?
            .ok_or(Error::NotFound("referral code"))?;
        let offer_text = business.settings.offer_text().unwrap_or_else(|| {
            format!(
                "{} recommends {}",
                referrer.display_name, business.settings.name
            )
        });
        Ok(ReferralCard {
            business_name: business.settings.name.clone(),
            offer_text,
            referrer,
        })
    }
}

impl Vouch {
    /// A code's referrer and business. Every miss counts against the client's address, so codes
    /// cannot be enumerated: past [`UNKNOWN_CODES_PER_WINDOW`] misses in a window, `RateLimited`.
    async fn resolve_code(
        &self,
        raw: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<(ReferralCode, Referrer, Arc<Business>)>> {
        if let Ok(code) = ReferralCode::parse(raw)
            && let Some(referrer) = self.ports.participants.referrer(&code).await?
            && let Some(business) = self.business(&referrer.business_id).await?
        {
            return Ok(Some((code, referrer, business)));
        }
        if let Some(ip) = ip {
            let key = RateKey::UnknownCode(self.config.ip_hasher.hash(ip));
            if let Rate::Limited { retry_after_secs } = self
                .ports
                .rates
                .hit(
                    &key,
                    UNKNOWN_CODE_WINDOW_SECS,
                    UNKNOWN_CODES_PER_WINDOW,
                    self.now(),
                )
                .await?
            {
                return Err(Error::RateLimited { retry_after_secs });
            }
        }
        Ok(None)
    }
}

/// Unknown codes one address may try per window before being told to wait.
pub const UNKNOWN_CODES_PER_WINDOW: u32 = 30;
pub const UNKNOWN_CODE_WINDOW_SECS: u64 = 600;

/// What the operator gets back once: the admin key is never shown again.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedBusiness {
    pub business_id: BusinessId,
    pub admin_api_key: String,
    pub webhook_secret: String,
}

/// A customer as the field-service software or staff describe them; parsed into a [`Contact`].
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CustomerInput {
    pub id: String,
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub sms_consent: Option<bool>,
}

impl CustomerInput {
    /// The details, with a reason per bad field; phones without `+` use `country`.
    pub fn parse(self, country: Country) -> Result<CustomerDetails, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut note = |field: &str, reason: &str| {
            errors.insert(field.to_owned(), reason.to_owned());
        };
        let customer_id = CustomerId::parse(&self.id)
            .map_err(|e| note("id", e.reason()))
            .ok();
        let first_name = PersonName::parse(&self.first_name)
            .map_err(|e| note("first_name", e.reason()))
            .ok();
        let last_name = optional(self.last_name.as_deref(), PersonName::parse)
            .map_err(|e| note("last_name", e.reason()))
            .ok();
        let phone = optional(self.phone.as_deref(), |raw| Phone::parse(raw, country))
            .map_err(|e| note("phone", e.reason()))
            .ok();
        let email = optional(self.email.as_deref(), Email::parse)
            .map_err(|e| note("email", e.reason()))
            .ok();
        match (customer_id, first_name, last_name, phone, email) {
            (Some(customer_id), Some(first_name), Some(last_name), Some(phone), Some(email))
                if errors.is_empty() =>
            {
                Ok(CustomerDetails {
                    customer_id,
                    first_name,
                    last_name,
                    phone,
                    email,
                    sms_consent: self.sms_consent,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Blank optional fields count as absent.
fn optional<T, E>(raw: Option<&str>, parse: impl Fn(&str) -> Result<T, E>) -> Result<Option<T>, E> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => parse(raw).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn prefixed(prefix: &str, errors: FieldErrors) -> FieldErrors {
    errors
        .into_iter()
        .map(|(field, reason)| (format!("{prefix}.{field}"), reason))
        .collect()
}

/// `POST /api/admin/participants` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct EnrolRequest {
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub customer: Option<CustomerInput>,
    /// Accepted for the contract; invitations are sent by the SMS subsystem.
    #[serde(default)]
    pub send_invitation: bool,
}

/// One visit to `/r/{code}`.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    pub code: &'a str,
    pub channel: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// False for `HEAD`: only a `GET` can be a person clicking.
    pub countable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickOutcome {
    Redirect { location: Url, counted: bool },
    UnknownCode,
}

#[derive(Debug, Clone)]
pub struct ReferralCard {
    pub referrer: Referrer,
    pub business_name: String,
    pub offer_text: String,
}

/// An opaque page cursor: base64url of the sort and the last item's position.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    s: ParticipantSort,
    k: String,
    c: String,
}

impl Cursor {
    fn encode(position: &Position, sort: ParticipantSort) -> String {
        let cursor = Cursor {
            s: sort,
            k: position.sort_key.clone(),
            c: position.customer_id.to_string(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }

    fn decode(raw: &str, sort: ParticipantSort) -> Result<Position> {
        let invalid = || Error::BadRequest("cursor is not one this list returned".into());
        if raw.len() > 512 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.s != sort
            || cursor.k.len() > 64
            || !cursor.k.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid());
        }
        Ok(Position {
            sort_key: cursor.k,
            customer_id: CustomerId::parse(&cursor.c).map_err(|_| invalid())?,
        })
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::testing::{InMemoryStore, ManualClock};

    const OPERATOR: &str = "operator-key";
    const PERSON: &str = "Mozilla/5.0 (iPhone) Safari/604.1";

    struct World {
        store: Arc<InMemoryStore>,
        clock: Arc<ManualClock>,
        vouch: Vouch,
        business: BusinessId,
    }

    async fn world() -> World {
        let store = Arc::new(InMemoryStore::default());
        let clock = Arc::new(ManualClock::at(
            Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
        ));
        let ports = Ports::new(
            store.clone(),
            Arc::new(crate::testing::FakeSms::default()),
            Arc::new(crate::testing::FakeEvents::default()),
            clock.clone(),
        );
        let vouch = Vouch::new(
            ports,
            ServiceConfig {
                operator_key: Some(OPERATOR.into()),
                ip_hasher: IpHasher::new(b"k"),
            },
        );
        let created = vouch
            .create_business(
                Some(OPERATOR),
                &json!({"business_id": "acme", "name": "Acme", "time_zone": "America/Chicago", "landing_url": "https://acme.example/a"}),
            )
            .await
            .unwrap();
        World {
            store,
            clock,
            vouch,
            business: created.business_id,
        }
    }

    fn customer(id: &str) -> EnrolRequest {
        EnrolRequest {
            customer: Some(CustomerInput {
                id: id.into(),
                first_name: "Maria".into(),
                last_name: Some("Garcia".into()),
                phone: Some("512 555 0123".into()),
                ..CustomerInput::default()
            }),
            ..EnrolRequest::default()
        }
    }

    fn visit<'a>(code: &'a str, user_agent: Option<&'static str>, countable: bool) -> Visit<'a> {
        Visit {
            code,
            channel: Some("qr"),
            user_agent,
            ip: None,
            countable,
        }
    }

    #[tokio::test]
    async fn given_a_customer_when_enrolled_twice_then_the_code_is_the_same() {
        let w = world().await;
        let (first, created) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        assert!(created);
        let (again, created) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(again.code, first.code);
        assert_eq!(
            first.phone.as_ref().map(Phone::as_e164),
            Some("+15125550123")
        );
    }

    /// Refuses the first two commits as if a drawn code were taken, then behaves.
    struct Crowded {
        inner: Arc<InMemoryStore>,
        commits: AtomicUsize,
    }

    #[async_trait]
    impl ProgramStore for Crowded {
        async fn load(
            &self,
            b: &BusinessId,
            keys: &crate::decide::LoadKeys,
        ) -> anyhow::Result<crate::decide::Snapshot> {
            self.inner.load(b, keys).await
        }
        async fn commit(
            &self,
            b: &BusinessId,
            plan: &crate::decide::Plan,
        ) -> anyhow::Result<std::result::Result<(), crate::decide::Refusal>> {
            if self.commits.fetch_add(1, Ordering::SeqCst) < 2 {
                return Ok(Err(crate::decide::Refusal::Changed));
            }
            self.inner.commit(b, plan).await
        }
        async fn finish(
            &self,
            b: &BusinessId,
            finish: &crate::ports::Finish,
        ) -> anyhow::Result<()> {
            self.inner.finish(b, finish).await
        }
    }

    #[tokio::test]
    async fn given_code_collisions_when_enrolling_then_fresh_codes_are_drawn() {
        let w = world().await;
        let crowded = Arc::new(Crowded {
            inner: w.store.clone(),
            commits: AtomicUsize::new(0),
        });
        let mut ports = w.vouch.ports.clone();
        ports.program = crowded.clone();
        let vouch = Vouch::new(
            ports,
            ServiceConfig {
                operator_key: None,
                ip_hasher: IpHasher::new(b"k"),
            },
        );
        let (participant, created) = vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        assert!(created);
        assert_eq!(crowded.commits.load(Ordering::SeqCst), 3);
        assert!(w.store.referrer(&participant.code).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn given_people_bots_and_head_requests_then_only_people_are_counted() {
        let w = world().await;
        let (participant, _) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        let code = participant.code.to_string();
        for (agent, countable) in [
            (Some("WhatsApp/2.0"), true),
            (None, true),
            (Some(PERSON), false),
        ] {
            let outcome = w.vouch.click(visit(&code, agent, countable)).await.unwrap();
            assert!(matches!(
                outcome,
                ClickOutcome::Redirect { counted: false, .. }
            ));
        }
        let outcome = w
            .vouch
            .click(visit(&code.to_lowercase(), Some(PERSON), true))
            .await
            .unwrap();
        assert!(matches!(
            outcome,
            ClickOutcome::Redirect { counted: true, .. }
        ));
        let clicks = w.store.clicks();
        assert_eq!(clicks.len(), 1);
        assert_eq!(clicks[0].channel, Channel::Qr);
        assert_eq!(clicks[0].expires_at - clicks[0].at, CLICK_RETENTION);
        let stored = Participants::get(w.store.as_ref(), &w.business, &participant.customer_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.stats.clicks, 1);
        assert_eq!(stored.stats.clicks_by_channel.get(&Channel::Qr), Some(&1));
    }

    #[tokio::test]
    async fn given_unknown_or_malformed_codes_then_the_outcome_is_unknown() {
        let w = world().await;
        for code in ["ABCD2345", "0000", "", "../../etc"] {
            assert_eq!(
                w.vouch
                    .click(visit(code, Some(PERSON), true))
                    .await
                    .unwrap(),
                ClickOutcome::UnknownCode
            );
        }
    }

    #[tokio::test]
    async fn given_cached_settings_then_changes_made_elsewhere_show_after_the_ttl() {
        let w = world().await;
        let (participant, _) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        let code = participant.code.to_string();
        let host = |outcome: ClickOutcome| match outcome {
            ClickOutcome::Redirect { location, .. } => location.host_str().map(str::to_owned),
            ClickOutcome::UnknownCode => None,
        };
        assert_eq!(
            host(w.vouch.click(visit(&code, None, false)).await.unwrap()).as_deref(),
            Some("acme.example")
        );

        // Another instance changes the landing page.
        let current = Businesses::get(w.store.as_ref(), &w.business)
            .await
            .unwrap()
            .unwrap();
        let changed = Settings::complete(
            &json!({"landing_url": "https://new.example/"}),
            Some(&current.settings),
        )
        .unwrap();
        w.store
            .save_settings(&w.business, &changed, current.version)
            .await
            .unwrap();

        w.clock.advance(Duration::seconds(30));
        assert_eq!(
            host(w.vouch.click(visit(&code, None, false)).await.unwrap()).as_deref(),
            Some("acme.example")
        );
        w.clock.advance(Duration::seconds(31));
        assert_eq!(
            host(w.vouch.click(visit(&code, None, false)).await.unwrap()).as_deref(),
            Some("new.example")
        );
    }

    #[tokio::test]
    async fn given_settings_saved_here_then_the_cache_is_refreshed_at_once() {
        let w = world().await;
        w.vouch
            .replace_settings(&w.business, &json!({"landing_url": "https://new.example/"}))
            .await
            .unwrap();
        let business = w.vouch.business(&w.business).await.unwrap().unwrap();
        assert_eq!(
            business.settings.landing_url.url().host_str(),
            Some("new.example")
        );
        assert_eq!(business.version, 2);
    }

    #[tokio::test]
    async fn given_bad_keys_then_nothing_is_authenticated_or_created() {
        let w = world().await;
        for key in [None, Some(""), Some("operator-key "), Some("OPERATOR-KEY")] {
            let result = w
                .vouch
                .create_business(key, &json!({"business_id": "other"}))
                .await;
            assert!(matches!(result, Err(Error::Unauthenticated)), "{key:?}");
        }
        for key in [
            None,
            Some(""),
            Some("vouch_ak_nope"),
            Some("x".repeat(500).as_str()),
        ] {
            assert!(matches!(
                w.vouch.authenticate_admin(key).await,
                Err(Error::Unauthenticated)
            ));
        }
    }
}
