//! One test world: Acme Plumbing in Chicago at 11:00 local time on the in-memory fakes, with the
//! helpers every domain test, handler test and the bench drive it with.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::{FakeEvents, FakeSms, InMemoryStore, ManualClock};
use crate::app::{
    EnrolRequest, LeadForm, LeadReceipt, Ports, Qualified, Receipt, ServiceConfig, Vouch,
};
use crate::decide::Command;
use crate::model::contact::{CustomerDetails, CustomerInput};
use crate::model::job::JobStatus;
use crate::model::message::{Message, Purpose};
use crate::model::participant::{Participant, Stats};
use crate::model::referral::Referral;
use crate::model::settings::Settings;
use crate::ports::{Participants, ProgramStore};
use crate::values::error::Result;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::money::Money;
use crate::values::person::{Country, Email, PersonName, Phone};
use crate::values::secrets::{IpHasher, PageKey, WebhookSecret};
use crate::values::{TimeZone as Zone, WebOrigin, WebUrl};

/// The public origin of referral links in the world's texts.
pub const LINKS: &str = "https://go.example";
/// The operator key the world's deployment is configured with.
pub const OPERATOR_KEY: &str = "op";
/// The address a friend's browser posts the website form from.
pub const FRIEND_IP: [u8; 4] = [198, 51, 100, 7];
/// The business's own website, an allowed origin of its form.
pub const SITE: &str = "https://www.acme.example";

pub struct World {
    pub store: Arc<InMemoryStore>,
    pub sms: Arc<FakeSms>,
    pub events: Arc<FakeEvents>,
    pub clock: Arc<ManualClock>,
    pub gift_cards: Arc<super::FakeGiftCards>,
    pub jobber: Arc<super::FakeJobber>,
    pub read_backs: Arc<super::MemoryReadBacks>,
    pub vouch: Vouch,
    pub business: BusinessId,
    pub secret: WebhookSecret,
}

/// Acme's settings: the defaults, in Chicago, with a landing page, a thank-you page and its
/// website as an allowed origin.
pub fn acme_settings() -> Settings {
    let url = |raw: &str| WebUrl::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
    let zone = Zone::parse("America/Chicago").unwrap_or_else(|e| panic!("{e}"));
    let mut settings = Settings::defaults(
        "Acme Plumbing".into(),
        zone,
        url("https://acme.example/refer"),
    );
    settings.thank_you_url = Some(url("https://acme.example/thanks"));
    settings.allowed_origins = vec![WebOrigin::parse(SITE).unwrap_or_else(|e| panic!("{e}"))];
    settings
}

/// Acme's settings with `extra` laid over them as a settings document would be: objects merge
/// key by key, anything else replaces.
pub fn settings_with(extra: &Value) -> Settings {
    let mut doc = serde_json::to_value(acme_settings()).unwrap_or_else(|e| panic!("{e}"));
    overlay(&mut doc, extra);
    let settings: Settings = serde_json::from_value(doc).unwrap_or_else(|e| panic!("{e}"));
    let errors = settings.check();
    assert!(errors.is_empty(), "test settings break rules: {errors:?}");
    settings
}

fn overlay(base: &mut Value, extra: &Value) {
    match (base, extra) {
        (Value::Object(base), Value::Object(extra)) => {
            for (key, value) in extra {
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        overlay(existing, value)
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, extra) => *base = extra.clone(),
    }
}

/// 2026-11-23 17:00 UTC: 11:00 in Chicago, outside quiet hours.
pub fn eleven_am() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 17, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("a valid time"))
}

impl World {
    /// Acme with its settings as they are.
    pub async fn new() -> World {
        World::with_settings(acme_settings()).await
    }

    /// Acme with `extra` laid over its settings (see [`settings_with`]).
    pub async fn with(extra: Value) -> World {
        World::with_settings(settings_with(&extra)).await
    }

    pub async fn with_settings(settings: Settings) -> World {
        let store = Arc::new(InMemoryStore::default());
        let sms = Arc::new(FakeSms::default());
        let events = Arc::new(FakeEvents::default());
        let clock = Arc::new(ManualClock::at(eleven_am()));
        let gift_cards = Arc::new(super::FakeGiftCards::default());
        let mut ports = Ports::new(store.clone(), sms.clone(), events.clone(), clock.clone());
        ports.gift_cards = gift_cards.clone();
        let jobber = Arc::new(super::FakeJobber::new(clock.clone()));
        let read_backs = Arc::new(super::MemoryReadBacks::default());
        ports.jobber = jobber.clone();
        ports.read_backs = read_backs.clone();
        let vouch = Vouch::new(
            ports,
            ServiceConfig {
                operator_key: Some(OPERATOR_KEY.into()),
                ip_hasher: IpHasher::new(b"k"),
                page_key: PageKey::derive(b"k"),
            },
        );
        let operator = vouch
            .authorise_operator(Some(OPERATOR_KEY))
            .unwrap_or_else(|e| panic!("{e}"));
        let id = BusinessId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        let created = vouch
            .create_business(&operator, id.clone(), settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        World {
            store,
            sms,
            events,
            clock,
            gift_cards,
            jobber,
            read_backs,
            vouch,
            business: id,
            secret: WebhookSecret::parse(&created.webhook_secret).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.vouch.now()
    }

    /// The world's application over another program store (a wrapper that fails or refuses
    /// on purpose), with everything else the same.
    pub fn with_program(&self, program: Arc<dyn ProgramStore>) -> Vouch {
        let mut ports = self.vouch.ports.clone();
        ports.program = program;
        Vouch::new(
            ports,
            ServiceConfig {
                operator_key: Some(OPERATOR_KEY.into()),
                ip_hasher: IpHasher::new(b"k"),
                page_key: PageKey::derive(b"k"),
            },
        )
    }

    /// Runs a command as a delivery from the field-service software with this id.
    pub async fn deliver(&self, id: &str, command: Command) -> Result<Receipt> {
        let business = self
            .vouch
            .business(&self.business)
            .await?
            .unwrap_or_else(|| panic!("the world's business exists"));
        self.vouch
            .deliver(&business, id, Some(command), LINKS)
            .await
    }

    /// Staff enrol a customer (with SMS consent), without an invitation.
    pub async fn enrol(&self, id: &str, first: &str, last: &str, phone: &str) -> Participant {
        let request = EnrolRequest {
            customer: Some(CustomerInput {
                id: id.into(),
                first_name: first.into(),
                last_name: Some(last.into()),
                phone: Some(phone.into()),
                email: None,
                sms_consent: Some(true),
                ..CustomerInput::default()
            }),
            customer_id: None,
            send_invitation: false,
        };
        self.vouch
            .enrol(&self.business, request, LINKS)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    /// Maria Garcia (cus_1, +1 512-555-0123), enrolled by staff.
    pub async fn referrer(&self) -> Participant {
        self.enrol("cus_1", "Maria", "Garcia", "512-555-0123").await
    }

    /// The website form posted from the business's own site by a browser at `from`.
    pub async fn submit_from(&self, form: LeadForm, from: Option<IpAddr>) -> Result<LeadReceipt> {
        self.vouch.submit_lead(form, from, Some(SITE), LINKS).await
    }

    /// The website form posted by the friend's browser.
    pub async fn submit(&self, form: LeadForm) -> Result<LeadReceipt> {
        self.submit_from(form, Some(IpAddr::from(FRIEND_IP))).await
    }

    /// Hands every `referral.qualified` published so far to the issuer, as the bus would.
    pub async fn run_issuer(&self) {
        for event in self.events.published() {
            if event.detail_type == crate::model::events::REFERRAL_QUALIFIED {
                self.vouch
                    .issue_reward(&qualified(&event.detail()), LINKS)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    pub fn referrals(&self) -> Vec<Referral> {
        self.store.referrals_of(&self.business)
    }

    /// The one referral made so far.
    pub fn only_referral(&self) -> Referral {
        let all = self.referrals();
        assert_eq!(all.len(), 1, "{all:#?}");
        all.into_iter().next().expect("one referral")
    }

    /// The one referral of this referrer.
    pub fn only_referral_of(&self, referrer: &str) -> Referral {
        let all: Vec<Referral> = self
            .referrals()
            .into_iter()
            .filter(|r| r.referrer_id().map(CustomerId::as_str) == Some(referrer))
            .collect();
        assert_eq!(all.len(), 1, "{all:#?}");
        all.into_iter().next().expect("one referral")
    }

    /// How many events of this kind were published.
    pub fn events_of(&self, kind: &str) -> usize {
        self.events
            .published()
            .iter()
            .filter(|e| e.detail_type == kind)
            .count()
    }

    pub fn messages_of(&self, purpose: Purpose) -> Vec<Message> {
        self.store
            .messages()
            .into_iter()
            .filter(|m| m.purpose == purpose)
            .collect()
    }

    /// Maria refers Dana through the form; the software then sends Dana as cus_9 (same phone).
    pub async fn referred_customer(&self) {
        let maria = self.referrer().await;
        self.submit(friend(maria.code.as_str()))
            .await
            .expect("the form is taken");
        self.deliver(
            "u1",
            upsert(customer("cus_9", "Dana Smith", Some("512-555-0188"))),
        )
        .await
        .expect("the customer is taken");
    }

    /// A participant's totals as stored.
    pub async fn stats(&self, id: &str) -> Stats {
        Participants::get(self.store.as_ref(), &self.business, &customer_id(id))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{id} is a participant"))
            .stats
    }
}

/// Dana Smith's website form naming `code`.
pub fn friend(code: &str) -> LeadForm {
    form(
        serde_json::json!({"business_id": "acme", "name": "Dana Smith", "phone": "(512) 555-0188",
                            "email": "dana@example.com", "ref": code, "message": "Leaking water heater"}),
    )
}

/// The issuer's view of a `referral.qualified` detail.
pub fn qualified(detail: &Value) -> Qualified {
    serde_json::from_value(detail.clone()).unwrap_or_else(|e| panic!("{e}"))
}

/// A website form from a JSON object of its fields (as a script would post it).
pub fn form(fields: Value) -> LeadForm {
    serde_json::from_value(fields).unwrap_or_else(|e| panic!("{e}"))
}

pub fn customer_id(raw: &str) -> CustomerId {
    CustomerId::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

/// A customer as the software sends them: `first last`, a US number, SMS consent given.
pub fn customer(id: &str, name: &str, phone: Option<&str>) -> CustomerDetails {
    let mut words = name.split_whitespace();
    let first = words.next().unwrap_or("Customer");
    let last = words.collect::<Vec<_>>().join(" ");
    CustomerDetails {
        customer_id: customer_id(id),
        first_name: PersonName::parse(first).unwrap_or_else(|e| panic!("{e}")),
        last_name: (!last.is_empty())
            .then(|| PersonName::parse(&last).unwrap_or_else(|e| panic!("{e}"))),
        phone: phone.map(|p| Phone::parse(p, Country::US).unwrap_or_else(|e| panic!("{p}: {e}"))),
        email: None,
        sms_consent: Some(true),
        segment: None,
        tags: Vec::new(),
    }
}

/// The same customer with an email address.
pub fn with_email(mut details: CustomerDetails, email: &str) -> CustomerDetails {
    details.email = Some(Email::parse(email).unwrap_or_else(|e| panic!("{email}: {e}")));
    details
}

/// `customer.upserted`.
pub fn upsert(details: CustomerDetails) -> Command {
    Command::UpsertCustomer(details)
}

/// `job.status_changed` at an RFC 3339 time, optionally with the invoice total.
pub fn job(
    job_id: &str,
    customer: &str,
    status: JobStatus,
    at: &str,
    total: Option<i64>,
) -> Command {
    Command::Job {
        job_id: job_id.into(),
        customer_id: customer_id(customer),
        customer: None,
        status,
        invoice_total_cents: total.map(|c| Money::from_cents(c).unwrap_or_else(|e| panic!("{e}"))),
        service_type: None,
        at: time(at),
    }
}

/// `review.submitted` at an RFC 3339 time.
pub fn review(customer: &str, score: u8, at: &str) -> Command {
    Command::Review {
        customer_id: customer_id(customer),
        score,
        at: time(at),
    }
}

pub fn time(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .with_timezone(&Utc)
}
