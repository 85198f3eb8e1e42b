//! The program's flows: webhooks and staff commands through decide → commit → send/publish,
//! inbound texts, and the scheduled sweep.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::decide::{
    Command, Context, Named, NewLead, Overrides, Plan, Refusal, Rejection, decide,
};
use crate::model::business::Business;
use crate::model::contact::Contact;
use crate::model::events::{DomainEvent, INVITATION_SENT};
use crate::model::message::{Draft, Message, Purpose, Reason, STUCK_AFTER, Status};
use crate::model::participant::Participant;
use crate::ports::{Finish, MessageFilter, SendError, SendOutcome, SendResult};
use crate::rules::sending::SendGuard;
use crate::rules::sending::{Keyword, QuietHours};
use crate::services::{Vouch, prefixed};
use crate::values::error::{Error, Result};
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::local_day;
use crate::values::money::Money;
use crate::values::person::Phone;
use crate::values::signature::{self, Delivery};
use crate::webhook::{self, Envelope, WebhookEvent};

/// Times a command is decided again after its commit was refused.
const ATTEMPTS: usize = 6;
/// Outbox events younger than this are left to the request that wrote them.
const EVENT_GRACE: Duration = Duration::minutes(1);

/// What running a command did.
#[derive(Debug)]
pub enum Ran {
    Duplicate,
    /// A website lead repeated within the repeat window: nothing was written.
    Repeat {
        lead_id: String,
    },
    Done {
        contact: Option<Box<Contact>>,
        /// The participant enrolled by this command, if it enrolled one.
        participant: Option<Box<Participant>>,
        lead_id: Option<String>,
    },
}

/// The answer to a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub duplicate: bool,
}

/// What the scheduled sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sweep {
    pub sent: u32,
    pub deferred: u32,
    pub suppressed: u32,
    pub failed: u32,
    pub events_published: u32,
    /// Held rewards whose hold ended, and qualified referrals the bus missed, looked at.
    pub rewards_released: u32,
}

/// An inbound text, as SNS delivers it.
#[derive(Debug, Clone)]
pub struct InboundText {
    pub from: String,
    pub to: String,
    pub body: String,
}

impl Vouch {
    /// Decides and commits a command, retrying on refusals, then sends and publishes.
    pub async fn run(
        &self,
        business: &Business,
        command: &Command,
        delivery: Option<&str>,
        link_base: &str,
    ) -> Result<Ran> {
        let keys = command.keys();
        let mut overrides = Overrides::default();
        let mut snapshot = self.ports.program.load(&business.id, &keys).await?;
        for _ in 0..ATTEMPTS {
            let ctx = Context {
                business_id: &business.id,
                settings: &business.settings,
                now: self.now(),
                link_base,
                delivery_id: delivery,
                overrides: &overrides,
            };
            let plan = match decide(command, &snapshot, &ctx) {
                Ok(plan) => plan,
                Err(Rejection::RepeatLead(lead_id)) => return Ok(Ran::Repeat { lead_id }),
                Err(Rejection::Unchanged) => {
                    return Ok(Ran::Done {
                        contact: snapshot.contact.map(Box::new),
                        participant: None,
                        lead_id: None,
                    });
                }
                Err(rejection) => return Err(rejected(rejection)),
            };
            let committed = match self.ports.program.commit(&business.id, &plan).await {
                Ok(outcome) => outcome,
                Err(err) => {
                    // The outcome is unknown (a timeout, a lost answer): read again. If the
                    // contact is exactly as planned, the write landed; otherwise retry later.
                    let landed = match self.ports.program.load(&business.id, &keys).await {
                        Ok(again) => {
                            plan.contact.is_some()
                                && again.contact == plan.contact.as_ref().map(|(c, _)| c.clone())
                        }
                        Err(_) => false,
                    };
                    if !landed {
                        return Err(err.into());
                    }
                    tracing::info!(business_id = %business.id, "a commit that reported an error had landed");
                    Ok(())
                }
            };
            match committed {
                Ok(()) => {
                    self.dispatch(business, &plan).await;
                    return Ok(Ran::Done {
                        lead_id: plan.lead.as_ref().map(|l| l.lead_id.clone()),
                        contact: plan.contact.map(|(contact, _)| Box::new(contact)),
                        participant: plan.participant.map(Box::new),
                    });
                }
                Err(Refusal::Duplicate) => return Ok(Ran::Duplicate),
                Err(Refusal::RateLimited { retry_after_secs }) => {
                    return Err(Error::RateLimited { retry_after_secs });
                }
                Err(Refusal::Changed) => {
                    snapshot = self.ports.program.load(&business.id, &keys).await?
                }
                Err(refusal) => {
                    if !overrides.learn(&refusal, &plan) {
                        snapshot = self.ports.program.load(&business.id, &keys).await?;
                    }
                }
            }
        }
        Err(anyhow::anyhow!("the command kept conflicting with concurrent changes").into())
    }

    /// Sends a committed plan's queued messages and publishes its events. Failures here lose
    /// nothing: the messages stay due and the events stay in the outbox for the scheduler.
    async fn dispatch(&self, business: &Business, plan: &Plan) -> Vec<SendOutcome> {
        let mut finish = Finish::default();
        let mut events = plan.events.clone();
        let mut made = Vec::new();
        for message in plan.messages.iter().filter(|m| m.status == Status::Queued) {
            if let Some(outcome) = self.send(message).await {
                if let (SendResult::Sent { .. }, Purpose::Invitation) =
                    (&outcome.result, message.purpose)
                {
                    made.push(invitation_sent(business, message, self.now()));
                }
                finish.outcomes.push(outcome);
            }
        }
        events.extend(made.iter().cloned());
        if events.is_empty() || self.ports.events.publish(&events).await.is_ok() {
            finish.published = plan.events.iter().map(|e| e.event_id.clone()).collect();
        } else {
            tracing::warn!(business_id = %business.id, "publishing events failed; the outbox keeps them");
            finish.pending = made;
        }
        if !finish.is_empty() {
            // Recording that a text went out is retried at once: if it never lands, the
            // scheduler would take the text for stuck and send it again.
            for attempt in 1..=3 {
                match self.ports.program.finish(&business.id, &finish).await {
                    Ok(()) => break,
                    Err(err) if attempt == 3 => {
                        tracing::warn!(business_id = %business.id, error = ?err, "recording sends failed; the scheduler will reconcile");
                    }
                    Err(_) => {}
                }
            }
        }
        finish.outcomes
    }

    /// One send; `None` when the provider failed transiently (the message stays due).
    async fn send(&self, message: &Message) -> Option<SendOutcome> {
        let phone = message.to.clone()?;
        let result = match self.ports.sms.send(&phone, &message.body).await {
            Ok(provider_id) => SendResult::Sent {
                provider_id,
                at: self.now(),
            },
            Err(SendError::OptedOut) => SendResult::Closed {
                status: Status::Suppressed,
                reason: Reason::OptedOut,
            },
            Err(SendError::Invalid(detail)) => {
                tracing::warn!(message_id = %message.message_id, %detail, "undeliverable number");
                SendResult::Closed {
                    status: Status::Failed,
                    reason: Reason::InvalidNumber,
                }
            }
            Err(SendError::Transient(err)) => {
                tracing::warn!(message_id = %message.message_id, error = ?err, "sending failed; will retry");
                return None;
            }
        };
        Some(SendOutcome {
            message_id: message.message_id.clone(),
            phone: Some(phone),
            result,
        })
    }

    // ---------------------------------------------------------------- webhooks

    async fn webhook_business(&self, raw_id: &str) -> Result<std::sync::Arc<Business>> {
        let id = BusinessId::parse(raw_id).map_err(|_| Error::Unauthenticated)?;
        self.business(&id).await?.ok_or(Error::Unauthenticated)
    }

    /// `POST /webhooks/{business_id}`: a Standard Webhooks delivery.
    pub async fn webhook(
        &self,
        business_id: &str,
        delivery: Delivery<'_>,
        link_base: &str,
    ) -> Result<Receipt> {
        let business = self.webhook_business(business_id).await?;
        let id = signature::verify(&business.webhook_secret, delivery, self.now()).map_err(
            |reason| {
                tracing::info!(business_id, %reason, "webhook refused");
                Error::Unauthenticated
            },
        )?;
        let envelope = webhook::parse(delivery.body).map_err(Error::Validation)?;
        self.deliver(&business, id, envelope, link_base).await
    }

    /// `POST /webhooks/{business_id}/housecallpro`: HMAC-SHA256 hex of the body, keyed with the
    /// business's webhook signing key.
    pub async fn housecallpro(
        &self,
        business_id: &str,
        signature: Option<&str>,
        body: &[u8],
        link_base: &str,
    ) -> Result<Receipt> {
        let business = self.webhook_business(business_id).await?;
        if !signature::verify_hex(business.webhook_secret.key(), signature, body) {
            return Err(Error::Unauthenticated);
        }
        let (id, envelope) = webhook::housecallpro::parse(body).map_err(Error::Validation)?;
        self.deliver(&business, &format!("hcp:{id}"), envelope, link_base)
            .await
    }

    async fn deliver(
        &self,
        business: &Business,
        delivery_id: &str,
        envelope: Envelope,
        link_base: &str,
    ) -> Result<Receipt> {
        let Some(mut command) = command_of(envelope, business)? else {
            return Ok(Receipt { duplicate: false });
        };
        if let Command::Lead(lead) = &mut command {
            lead.named = self.resolve_named(business, lead.named.clone()).await?;
        }
        match self
            .run(business, &command, Some(delivery_id), link_base)
            .await?
        {
            Ran::Duplicate => Ok(Receipt { duplicate: true }),
            Ran::Done { .. } | Ran::Repeat { .. } => Ok(Receipt { duplicate: false }),
        }
    }

    // ---------------------------------------------------------------- inbound texts

    /// An inbound text: opt-out, opt-in and HELP keywords; anything else is ignored.
    pub async fn inbound_text(&self, text: &InboundText) -> Result<Option<Keyword>> {
        let Ok(from) = Phone::parse(&text.from, crate::values::person::Country::US) else {
            return Err(Error::field("originationNumber", "is not a phone number"));
        };
        let Some(keyword) = Keyword::parse(&text.body) else {
            return Ok(None);
        };
        let now = self.now();
        match keyword {
            Keyword::OptOut => {
                self.ports
                    .recipients
                    .set_opted_out(&from, true, now)
                    .await?
            }
            Keyword::OptIn => {
                self.ports
                    .recipients
                    .set_opted_out(&from, false, now)
                    .await?
            }
            Keyword::Help => self.answer_help(&from).await?,
        }
        tracing::info!(from = %from.masked(), ?keyword, "inbound keyword");
        Ok(Some(keyword))
    }

    async fn answer_help(&self, from: &Phone) -> Result<()> {
        let recipient = self.ports.recipients.recipient(from).await?;
        let Some(business_id) = recipient.last_business_id else {
            let body = "Referral program texts. Reply STOP to opt out, START to opt back in.";
            if let Err(err) = self.ports.sms.send(from, body).await {
                tracing::warn!(error = %err, "HELP answer failed");
            }
            return Ok(());
        };
        let business = self.existing_business(&business_id).await?;
        let message = crate::rules::sending::compose(
            Draft {
                business_id: business_id.clone(),
                customer_id: None,
                to: Some(from.clone()),
                consent: true,
                purpose: Purpose::Help,
                subject: format!("help:{}", ulid::Ulid::new()),
                vars: [("business_name", business.settings.name.clone())]
                    .into_iter()
                    .collect(),
            },
            &business.settings,
            self.now(),
        );
        let plan = Plan {
            messages: vec![message],
            ..Plan::default()
        };
        self.ports
            .program
            .commit(&business_id, &plan)
            .await?
            .map_err(|refusal| anyhow::anyhow!("HELP answer refused: {refusal:?}"))?;
        self.dispatch(&business, &plan).await;
        Ok(())
    }

    // ---------------------------------------------------------------- the sweep

    /// Sends what is due (deferred messages whose window opened, queued ones stuck) and
    /// publishes outbox events left behind.
    pub async fn sweep(&self, link_base: &str) -> Result<Sweep> {
        let now = self.now();
        let mut sweep = Sweep::default();
        for message in self.ports.outbox.due_messages(now, 100).await? {
            self.sweep_message(message, now, &mut sweep).await?;
        }
        let events = self
            .ports
            .outbox
            .pending_events(now - EVENT_GRACE, 100)
            .await?;
        if !events.is_empty() && self.ports.events.publish(&events).await.is_ok() {
            let mut by_business: std::collections::BTreeMap<BusinessId, Vec<String>> =
                Default::default();
            for event in &events {
                by_business
                    .entry(event.business_id.clone())
                    .or_default()
                    .push(event.event_id.clone());
            }
            for (business_id, published) in by_business {
                self.ports
                    .program
                    .finish(
                        &business_id,
                        &Finish {
                            published,
                            ..Finish::default()
                        },
                    )
                    .await?;
            }
            sweep.events_published = u32::try_from(events.len()).unwrap_or(u32::MAX);
        }
        // Last, so a reward problem never holds up texts and events.
        sweep.rewards_released = self.settle_rewards(link_base).await;
        Ok(sweep)
    }

    async fn sweep_message(
        &self,
        message: Message,
        now: DateTime<Utc>,
        sweep: &mut Sweep,
    ) -> Result<()> {
        let Some(business) = self.business(&message.business_id).await? else {
            return Ok(());
        };
        let settings = &business.settings;
        let Some(phone) = message.to.clone() else {
            self.ports
                .outbox
                .reschedule(&message, &message.clone().suppressed(Reason::NoPhone))
                .await?;
            sweep.suppressed += 1;
            return Ok(());
        };
        if !settings.sms.enabled {
            self.ports
                .outbox
                .reschedule(&message, &message.clone().suppressed(Reason::SmsDisabled))
                .await?;
            sweep.suppressed += 1;
            return Ok(());
        }
        let quiet = QuietHours::of(settings);
        if message.purpose != Purpose::Help && quiet.is_quiet(now) {
            let mut later = message.clone();
            later.status = Status::Deferred;
            later.reason = Some(Reason::QuietHours);
            later.due_at = Some(quiet.next_open(now));
            self.ports.outbox.reschedule(&message, &later).await?;
            sweep.deferred += 1;
            return Ok(());
        }
        let guard = (message.purpose != Purpose::Help).then(|| SendGuard {
            message_id: message.message_id.clone(),
            phone: phone.clone(),
            day: local_day(settings.time_zone, now),
            per_number: settings.sms.daily_cap_per_number,
            per_business: settings.sms.daily_cap_per_business,
            // A stuck queued text was counted when it was queued; a deferred one was not.
            counts: message.status != Status::Queued,
        });
        match self
            .ports
            .outbox
            .claim(&message, guard.as_ref(), now + STUCK_AFTER)
            .await?
        {
            Ok(()) => {}
            Err(Refusal::OptedOut { .. }) => {
                self.ports
                    .outbox
                    .reschedule(&message, &message.clone().suppressed(Reason::OptedOut))
                    .await?;
                sweep.suppressed += 1;
                return Ok(());
            }
            Err(Refusal::Capped { reason, .. }) => {
                self.ports
                    .outbox
                    .reschedule(
                        &message,
                        &crate::rules::sending::capped(message.clone(), reason, settings, now),
                    )
                    .await?;
                sweep.deferred += 1;
                return Ok(());
            }
            // Someone else took it, or it changed: leave it.
            Err(_) => return Ok(()),
        }
        let mut claimed = message.clone();
        claimed.status = Status::Queued;
        let plan = Plan {
            messages: vec![claimed],
            ..Plan::default()
        };
        match self
            .dispatch(&business, &plan)
            .await
            .first()
            .map(|o| &o.result)
        {
            Some(SendResult::Sent { .. }) => sweep.sent += 1,
            Some(SendResult::Closed {
                status: Status::Suppressed,
                ..
            }) => sweep.suppressed += 1,
            Some(SendResult::Closed { .. }) => sweep.failed += 1,
            None => sweep.failed += 1,
        }
        Ok(())
    }

    // ---------------------------------------------------------------- staff

    pub async fn messages(
        &self,
        business_id: &BusinessId,
        filter: MessageFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Message>, Option<String>)> {
        let limit = crate::services::page_args(limit, cursor)?;
        Ok(self
            .ports
            .outbox
            .messages(business_id, &filter, limit, cursor)
            .await?)
    }
}

fn rejected(rejection: Rejection) -> Error {
    match rejection {
        Rejection::UnknownCustomer => Error::NotFound("customer"),
        Rejection::RepeatLead(_) => Error::Conflict {
            code: "repeat",
            message: "the lead was already received".into(),
        },
        Rejection::RateLimited { retry_after_secs } => Error::RateLimited { retry_after_secs },
        Rejection::Conflict(code, message) => Error::Conflict { code, message },
        Rejection::Invalid(field, reason) => Error::field(field, reason),
        Rejection::Unchanged => Error::Conflict {
            code: "unchanged",
            message: "nothing to change".into(),
        },
    }
}

fn invitation_sent(business: &Business, message: &Message, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(
        INVITATION_SENT,
        &business.id,
        now,
        json!({"customer_id": message.customer_id.as_ref().map(CustomerId::as_str), "message_id": message.message_id}),
    )
}

/// A parsed delivery as a command; `None` for types this version ignores.
fn command_of(envelope: Envelope, business: &Business) -> Result<Option<Command>> {
    let country = business.settings.country;
    let customer = |input: crate::services::CustomerInput, path: &str| {
        input
            .parse(country)
            .map_err(|errors| Error::Validation(prefixed(path, errors)))
    };
    let id =
        |raw: &str, path: &str| CustomerId::parse(raw).map_err(|e| Error::field(path, e.reason()));
    let at = envelope.occurred_at;
    let command = match envelope.event {
        WebhookEvent::Unknown(kind) => {
            tracing::info!(%kind, "ignoring an unknown webhook type");
            return Ok(None);
        }
        WebhookEvent::CustomerUpserted { customer: input } => {
            Command::UpsertCustomer(customer(input, "data.customer")?)
        }
        WebhookEvent::LeadCreated {
            customer: input,
            referral_code,
            referrer_customer_id,
            referred_by,
        } => {
            let code = referral_code
                .filter(|c| !c.trim().is_empty())
                .map(|c| {
                    crate::values::code::ReferralCode::parse(&c)
                        .map_err(|e| Error::field("data.referral_code", e.reason()))
                })
                .transpose()?;
            let referrer = referrer_customer_id
                .map(|c| id(&c, "data.referrer_customer_id"))
                .transpose()?;
            let mention = referred_by
                .map(|r| r.trim().chars().take(200).collect::<String>())
                .filter(|r| !r.is_empty());
            let named = match (code, referrer, mention) {
                (Some(code), _, _) => Named::Code {
                    code,
                    referrer: None,
                    click: None,
                },
                (None, Some(id), _) => Named::Customer(id),
                (None, None, Some(text)) => Named::Mention(text),
                (None, None, None) => Named::Nobody,
            };
            Command::Lead(NewLead {
                lead_id: ulid::Ulid::new().to_string(),
                customer: customer(input, "data.customer")?,
                named,
                web: None,
            })
        }
        WebhookEvent::JobStatusChanged {
            job,
            customer: input,
        } => {
            if job.id.is_empty() || job.id.len() > 128 {
                return Err(Error::field("data.job.id", "must be 1-128 characters"));
            }
            let customer_id = id(&job.customer_id, "data.job.customer_id")?;
            let details = input
                .map(|input| customer(input, "data.customer"))
                .transpose()?;
            if details
                .as_ref()
                .is_some_and(|d| d.customer_id != customer_id)
            {
                return Err(Error::field(
                    "data.customer.id",
                    "must match data.job.customer_id",
                ));
            }
            Command::Job {
                job_id: job.id,
                customer_id,
                customer: details,
                status: job.status,
                invoice_total_cents: job
                    .invoice_total_cents
                    .map(|c| {
                        Money::from_cents(c)
                            .map_err(|e| Error::field("data.job.invoice_total_cents", e.reason()))
                    })
                    .transpose()?,
                service_type: job.service_type.map(|s| s.chars().take(100).collect()),
                at,
            }
        }
        WebhookEvent::ReviewSubmitted {
            customer_id, score, ..
        } => Command::Review {
            customer_id: id(&customer_id, "data.customer_id")?,
            score,
            at,
        },
    };
    Ok(Some(command))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::ports::{ProgramStore, SendError};
    use crate::services::{Ports, ServiceConfig};
    use crate::testing::{FakeEvents, FakeSms, InMemoryStore, ManualClock};
    use crate::values::secrets::IpHasher;

    const LINKS: &str = "https://go.example";

    struct World {
        store: Arc<InMemoryStore>,
        sms: Arc<FakeSms>,
        events: Arc<FakeEvents>,
        clock: Arc<ManualClock>,
        vouch: Vouch,
        secret: crate::values::secrets::WebhookSecret,
    }

    /// A business in Chicago at 11:00 local time (17:00 UTC), outside quiet hours.
    async fn world() -> World {
        let store = Arc::new(InMemoryStore::default());
        let sms = Arc::new(FakeSms::default());
        let events = Arc::new(FakeEvents::default());
        let clock = Arc::new(ManualClock::at(
            Utc.with_ymd_and_hms(2026, 11, 23, 17, 0, 0).unwrap(),
        ));
        let vouch = Vouch::new(
            Ports::new(store.clone(), sms.clone(), events.clone(), clock.clone()),
            ServiceConfig {
                operator_key: Some("op".into()),
                ip_hasher: IpHasher::new(b"k"),
            },
        );
        let created = vouch
            .create_business(
                Some("op"),
                &json!({"business_id": "acme", "name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example"}),
            )
            .await
            .unwrap();
        let secret = crate::values::secrets::WebhookSecret::parse(&created.webhook_secret).unwrap();
        World {
            store,
            sms,
            events,
            clock,
            vouch,
            secret,
        }
    }

    impl World {
        async fn deliver(&self, id: &str, body: &Value) -> Result<Receipt> {
            let body = body.to_string();
            let now = self.vouch.now().timestamp();
            let signature = signature::sign(&self.secret, id, now, body.as_bytes());
            let timestamp = now.to_string();
            let delivery = Delivery {
                id: Some(id),
                timestamp: Some(&timestamp),
                signature: Some(&signature),
                body: body.as_bytes(),
            };
            self.vouch.webhook("acme", delivery, LINKS).await
        }

        /// cus_1's details, a completed job and a review of `score`, delivered in that order.
        async fn happy_customer(&self, score: u8) {
            self.deliver("d1", &upsert("cus_1")).await.unwrap();
            self.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
                .await
                .unwrap();
            self.deliver("d3", &review(score, "2026-11-23T16:00:00Z"))
                .await
                .unwrap();
        }

        fn invitations(&self) -> Vec<Message> {
            self.store
                .messages()
                .into_iter()
                .filter(|m| m.purpose == Purpose::Invitation)
                .collect()
        }
    }

    fn customer(id: &str, phone: &str) -> Value {
        json!({"id": id, "first_name": "Maria", "last_name": "Garcia", "phone": phone, "sms_consent": true})
    }

    fn upsert(id: &str) -> Value {
        json!({"type": "customer.upserted", "timestamp": "2026-11-23T16:00:00Z", "data": {"customer": customer(id, "512-555-0123")}})
    }

    fn job(status: &str, at: &str) -> Value {
        json!({"type": "job.status_changed", "timestamp": at,
               "data": {"job": {"id": "job_1", "customer_id": "cus_1", "status": status, "invoice_total_cents": 42000}}})
    }

    fn review(score: u8, at: &str) -> Value {
        json!({"type": "review.submitted", "timestamp": at, "data": {"customer_id": "cus_1", "job_id": "job_1", "score": score}})
    }

    #[tokio::test]
    async fn a_happy_customer_is_enrolled_and_invited_once() {
        let w = world().await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        assert!(w.invitations().is_empty(), "no review yet");
        assert_eq!(
            w.deliver("d3", &review(5, "2026-11-23T16:30:00Z"))
                .await
                .unwrap(),
            Receipt { duplicate: false }
        );
        assert_eq!(
            w.deliver("d3", &review(5, "2026-11-23T16:30:00Z"))
                .await
                .unwrap(),
            Receipt { duplicate: true }
        );

        let invitations = w.invitations();
        assert_eq!(invitations.len(), 1);
        assert_eq!(invitations[0].status, Status::Sent);
        let participant = &w.store.participants()[0];
        assert!(
            invitations[0]
                .body
                .contains(&format!("{LINKS}/r/{}", participant.code))
        );
        assert!(
            invitations[0].body.contains("$25 account credit"),
            "{}",
            invitations[0].body
        );
        assert_eq!(w.sms.sent().len(), 1);
        assert_eq!(w.sms.sent()[0].0.as_e164(), "+15125550123");
        let kinds: Vec<String> = w
            .events
            .published()
            .iter()
            .map(|e| e.detail_type.clone())
            .collect();
        assert_eq!(kinds, vec!["participant.enrolled", "invitation.sent"]);
        assert!(w.store.outbox_events().is_empty());
    }

    #[tokio::test]
    async fn an_unhappy_customer_is_never_asked() {
        let w = world().await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &review(3, "2026-11-23T16:30:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &job("paid", "2026-11-23T16:40:00Z"))
            .await
            .unwrap();
        assert!(w.store.participants().is_empty());
        assert!(w.invitations().is_empty());
        assert!(w.sms.sent().is_empty());
    }

    #[tokio::test]
    async fn a_job_never_moves_backwards() {
        let w = world().await;
        w.deliver("d1", &job("invoiced", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d2", &job("scheduled", "2026-11-20T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        let jobs = w.store.jobs();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].status, crate::model::job::JobStatus::Invoiced);
        w.deliver("d4", &job("canceled", "2026-11-23T18:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            w.store.jobs()[0].status,
            crate::model::job::JobStatus::Canceled
        );
    }

    #[tokio::test]
    async fn quiet_hours_defer_and_the_sweep_sends_when_the_window_opens() {
        let w = world().await;
        w.clock.advance(Duration::hours(10)); // 03:00 UTC = 21:00 Chicago
        w.happy_customer(4).await;
        let invitation = &w.invitations()[0];
        assert_eq!(
            (invitation.status, invitation.reason),
            (Status::Deferred, Some(Reason::QuietHours))
        );
        assert!(w.sms.sent().is_empty());

        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 0, "still night");
        w.clock.advance(Duration::hours(11)); // 14:00 UTC = 08:00 Chicago
        let sweep = w.vouch.sweep(LINKS).await.unwrap();
        assert_eq!(sweep.sent, 1);
        assert_eq!(w.invitations()[0].status, Status::Sent);
        assert_eq!(w.sms.sent().len(), 1);
        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 0, "sent once");
    }

    #[tokio::test]
    async fn stop_suppresses_the_next_message_and_start_allows_again() {
        let w = world().await;
        let stop = InboundText {
            from: "+15125550123".into(),
            to: "+15550001111".into(),
            body: "STOP".into(),
        };
        assert_eq!(
            w.vouch.inbound_text(&stop).await.unwrap(),
            Some(Keyword::OptOut)
        );
        w.happy_customer(5).await;
        let invitation = &w.invitations()[0];
        assert_eq!(
            (invitation.status, invitation.reason),
            (Status::Suppressed, Some(Reason::OptedOut))
        );
        assert!(w.sms.sent().is_empty());
        // Enrolment itself still happened: the customer has a code for when they opt back in.
        assert_eq!(w.store.participants().len(), 1);
    }

    #[tokio::test]
    async fn help_is_answered_with_the_business_name() {
        let w = world().await;
        w.happy_customer(5).await;
        let help = InboundText {
            from: "(512) 555-0123".into(),
            to: "+15550001111".into(),
            body: "help".into(),
        };
        w.vouch.inbound_text(&help).await.unwrap();
        let sent = w.sms.sent();
        assert_eq!(sent.len(), 2);
        assert!(
            sent[1].1.starts_with("Acme Plumbing referral program"),
            "{}",
            sent[1].1
        );
    }

    #[tokio::test]
    async fn without_consent_the_invitation_is_suppressed() {
        let w = world().await;
        let mut body = upsert("cus_1");
        body["data"]["customer"]["sms_consent"] = json!(false);
        w.deliver("d1", &body).await.unwrap();
        w.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &review(5, "2026-11-23T16:00:00Z"))
            .await
            .unwrap();
        assert_eq!(w.invitations()[0].reason, Some(Reason::NoConsent));
        assert!(w.sms.sent().is_empty());
    }

    #[tokio::test]
    async fn the_per_number_cap_defers_to_the_next_day() {
        let w = world().await;
        let phone = Phone::parse("+15125550123", crate::values::person::Country::US).unwrap();
        let business = w
            .vouch
            .business(&BusinessId::parse("acme").unwrap())
            .await
            .unwrap()
            .unwrap();
        // Three texts already went to this number today.
        for i in 0..3 {
            let guard = SendGuard {
                message_id: format!("m{i}"),
                phone: phone.clone(),
                day: local_day(business.settings.time_zone, w.vouch.now()),
                per_number: 3,
                per_business: 500,
                counts: true,
            };
            let plan = Plan {
                sends: vec![guard],
                ..Plan::default()
            };
            w.store.commit(&business.id, &plan).await.unwrap().unwrap();
        }
        w.happy_customer(5).await;
        let invitation = &w.invitations()[0];
        assert_eq!(
            (invitation.status, invitation.reason),
            (Status::Deferred, Some(Reason::DailyCap))
        );
        assert!(w.sms.sent().is_empty());
        w.clock.advance(Duration::days(1));
        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 1);
    }

    #[tokio::test]
    async fn a_failing_bus_leaves_events_in_the_outbox_for_the_sweep() {
        let w = world().await;
        w.events.set_failing(true);
        w.happy_customer(5).await;
        assert_eq!(w.store.outbox_events().len(), 2);
        w.events.set_failing(false);
        w.clock.advance(Duration::minutes(2));
        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().events_published, 2);
        assert!(w.store.outbox_events().is_empty());
        let kinds: Vec<String> = w
            .events
            .published()
            .iter()
            .map(|e| e.detail_type.clone())
            .collect();
        assert_eq!(kinds.len(), 2);
        assert!(
            kinds.contains(&"participant.enrolled".to_owned())
                && kinds.contains(&"invitation.sent".to_owned())
        );
    }

    #[tokio::test]
    async fn a_transient_sms_failure_is_retried_by_the_sweep() {
        let w = world().await;
        w.sms
            .fail_next(SendError::Transient(anyhow::anyhow!("throttled")));
        w.happy_customer(5).await;
        assert_eq!(w.invitations()[0].status, Status::Queued);
        w.clock.advance(Duration::minutes(3));
        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 1);
        assert_eq!(w.invitations()[0].status, Status::Sent);
        assert_eq!(w.sms.sent().len(), 1);
    }

    /// A contact Vouch made itself (as the website form will), holding `phone`.
    async fn website_contact(w: &World, id: &str, phone: &str) {
        let business = BusinessId::parse("acme").unwrap();
        let mut contact = Contact::new(
            business.clone(),
            CustomerId::parse(id).unwrap(),
            crate::values::person::PersonName::parse("Maria").unwrap(),
            w.vouch.now(),
        );
        contact.phone = Phone::parse(phone, crate::values::person::Country::US).ok();
        contact.sms_consent = true;
        contact.origin = crate::model::contact::Origin::Vouch;
        let plan = Plan {
            index: vec![crate::decide::IndexEntry::Phone(
                contact.phone.clone().unwrap(),
                contact.customer_id.clone(),
            )],
            contact: Some((contact, None)),
            ..Plan::default()
        };
        w.store.commit(&business, &plan).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_software_customer_matches_a_website_contact_by_phone_once() {
        let w = world().await;
        website_contact(&w, "01JWEBLEAD0000000000000000", "512-555-0123").await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &review(5, "2026-11-23T16:30:00Z"))
            .await
            .unwrap();
        let participants = w.store.participants();
        assert_eq!(participants.len(), 1);
        assert_eq!(
            participants[0].customer_id.as_str(),
            "01JWEBLEAD0000000000000000"
        );
        assert_eq!(
            w.store.jobs()[0].customer_id.as_str(),
            "01JWEBLEAD0000000000000000"
        );
        // A second software customer with the same phone (a household) is a person of their own:
        // their own job and review enrol them, not the already-enrolled website contact.
        w.deliver("d4", &upsert("cus_2")).await.unwrap();
        let job2 = json!({"type": "job.status_changed", "timestamp": "2026-11-23T16:35:00Z",
                          "data": {"job": {"id": "job_2", "customer_id": "cus_2", "status": "completed"}}});
        let review2 = json!({"type": "review.submitted", "timestamp": "2026-11-23T16:40:00Z", "data": {"customer_id": "cus_2", "score": 5}});
        w.deliver("d5", &job2).await.unwrap();
        w.deliver("d6", &review2).await.unwrap();
        let mut enrolled: Vec<String> = w
            .store
            .participants()
            .iter()
            .map(|p| p.customer_id.to_string())
            .collect();
        enrolled.sort();
        assert_eq!(enrolled, vec!["01JWEBLEAD0000000000000000", "cus_2"]);
    }

    #[tokio::test]
    async fn software_customers_sharing_a_phone_stay_apart() {
        let w = world().await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &upsert("cus_2")).await.unwrap();
        // cus_2's job and review: merged into cus_1 they would enrol cus_1.
        let job2 = json!({"type": "job.status_changed", "timestamp": "2026-11-23T15:00:00Z",
                          "data": {"job": {"id": "job_2", "customer_id": "cus_2", "status": "completed"}}});
        let review2 = json!({"type": "review.submitted", "timestamp": "2026-11-23T16:30:00Z", "data": {"customer_id": "cus_2", "score": 5}});
        w.deliver("d3", &job2).await.unwrap();
        w.deliver("d4", &review2).await.unwrap();
        let participants = w.store.participants();
        assert_eq!(participants.len(), 1);
        assert_eq!(participants[0].customer_id.as_str(), "cus_2");
        assert_eq!(w.store.jobs()[0].customer_id.as_str(), "cus_2");
    }

    #[tokio::test]
    async fn a_phone_in_lead_is_stored_with_its_named_referrer() {
        let w = world().await;
        let lead = json!({"type": "lead.created", "timestamp": "2026-11-23T16:00:00Z",
                          "data": {"customer": customer("cus_7", "512-555-0177"), "referrer_customer_id": "cus_1", "referred_by": "Maria"}});
        w.deliver("d1", &lead).await.unwrap();
        let leads = w.store.leads();
        assert_eq!(leads.len(), 1);
        assert_eq!(
            leads[0].channel,
            crate::model::lead::LeadChannel::Dispatcher
        );
        assert_eq!(
            leads[0]
                .referrer_customer_id
                .as_ref()
                .map(CustomerId::as_str),
            Some("cus_1")
        );
        assert_eq!(w.events.published()[0].detail_type, "lead.created");
    }

    #[tokio::test]
    async fn bad_signatures_and_unknown_businesses_are_unauthenticated() {
        let w = world().await;
        let body = upsert("cus_1").to_string();
        let now = w.vouch.now().timestamp().to_string();
        let delivery = Delivery {
            id: Some("d1"),
            timestamp: Some(&now),
            signature: Some("v1,AAAA"),
            body: body.as_bytes(),
        };
        assert!(matches!(
            w.vouch.webhook("acme", delivery, LINKS).await,
            Err(Error::Unauthenticated)
        ));
        let signature =
            signature::sign(&w.secret, "d1", w.vouch.now().timestamp(), body.as_bytes());
        let good = Delivery {
            signature: Some(&signature),
            ..delivery
        };
        assert!(matches!(
            w.vouch.webhook("nobody", good, LINKS).await,
            Err(Error::Unauthenticated)
        ));
        assert!(matches!(
            w.vouch.webhook("NOT A SLUG", good, LINKS).await,
            Err(Error::Unauthenticated)
        ));
        assert!(w.vouch.webhook("acme", good, LINKS).await.is_ok());
    }

    /// Fails one chosen call (the n-th load or commit), as a throttle or 5xx would.
    struct Flaky {
        inner: Arc<InMemoryStore>,
        fail_load: Option<usize>,
        fail_commit: Option<usize>,
        loads: std::sync::atomic::AtomicUsize,
        commits: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl ProgramStore for Flaky {
        async fn load(
            &self,
            b: &BusinessId,
            keys: &crate::decide::LoadKeys,
        ) -> anyhow::Result<crate::decide::Snapshot> {
            let n = self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if Some(n) == self.fail_load {
                anyhow::bail!("ProvisionedThroughputExceededException");
            }
            self.inner.load(b, keys).await
        }
        async fn commit(
            &self,
            b: &BusinessId,
            plan: &Plan,
        ) -> anyhow::Result<std::result::Result<(), Refusal>> {
            let n = self
                .commits
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if Some(n) == self.fail_commit {
                anyhow::bail!("InternalServerError");
            }
            self.inner.commit(b, plan).await
        }
        async fn finish(&self, b: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
            self.inner.finish(b, finish).await
        }
    }

    #[tokio::test]
    async fn a_store_failure_at_any_step_is_retryable_and_never_doubles_anything() {
        for (fail_load, fail_commit) in (0..3)
            .map(|n| (Some(n), None))
            .chain((0..3).map(|n| (None, Some(n))))
        {
            let w = world().await;
            let flaky = Arc::new(Flaky {
                inner: w.store.clone(),
                fail_load,
                fail_commit,
                loads: Default::default(),
                commits: Default::default(),
            });
            let mut ports = w.vouch.ports.clone();
            ports.program = flaky;
            let vouch = Vouch::new(
                ports,
                ServiceConfig {
                    operator_key: None,
                    ip_hasher: IpHasher::new(b"k"),
                },
            );
            let steps = [
                ("d1", upsert("cus_1")),
                ("d2", job("completed", "2026-11-23T15:00:00Z")),
                ("d3", review(5, "2026-11-23T16:00:00Z")),
            ];
            for (id, body) in steps {
                let body = body.to_string();
                let now = vouch.now().timestamp();
                let signature = signature::sign(&w.secret, id, now, body.as_bytes());
                let timestamp = now.to_string();
                let delivery = Delivery {
                    id: Some(id),
                    timestamp: Some(&timestamp),
                    signature: Some(&signature),
                    body: body.as_bytes(),
                };
                // The sender retries what was not acknowledged.
                match vouch.webhook("acme", delivery, LINKS).await {
                    Ok(_) => {}
                    Err(Error::Unavailable(_)) => {
                        vouch.webhook("acme", delivery, LINKS).await.unwrap();
                    }
                    Err(other) => panic!("{other:?}"),
                }
            }
            let case = format!("load {fail_load:?} commit {fail_commit:?}");
            assert_eq!(w.store.participants().len(), 1, "{case}");
            assert_eq!(w.invitations().len(), 1, "{case}");
            assert_eq!(w.sms.sent().len(), 1, "{case}");
            let enrolled = w
                .events
                .published()
                .iter()
                .filter(|e| e.detail_type == "participant.enrolled")
                .count();
            assert_eq!(enrolled, 1, "{case}");
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Upsert,
        Job(&'static str, u32),
        Review(u8, u32),
    }

    fn step_body(step: &Step) -> Value {
        let at = |minute: u32| format!("2026-11-23T15:{minute:02}:00Z");
        match step {
            Step::Upsert => upsert("cus_1"),
            Step::Job(status, minute) => job(status, &at(*minute)),
            Step::Review(score, minute) => review(*score, &at(*minute)),
        }
    }

    fn steps() -> impl Strategy<Value = Vec<(Step, bool)>> {
        let base = vec![
            Step::Upsert,
            Step::Job("scheduled", 1),
            Step::Job("completed", 10),
            Step::Job("invoiced", 20),
            Step::Review(5, 30),
        ];
        // Every event at least once, some repeated (same or new delivery id), in any order.
        (
            proptest::collection::vec((0..base.len(), any::<bool>()), 0..8),
            Just(base),
        )
            .prop_flat_map(|(extra, base)| {
                let mut all: Vec<(Step, bool)> = base.iter().cloned().map(|s| (s, false)).collect();
                all.extend(
                    extra
                        .into_iter()
                        .map(|(i, same_id)| (base[i].clone(), same_id)),
                );
                Just(all).prop_shuffle()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_order_with_duplicates_enrols_and_invites_exactly_once(sequence in steps()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let w = world().await;
                for (i, (step, same_id)) in sequence.iter().enumerate() {
                    let id = if *same_id { format!("{step:?}") } else { format!("delivery-{i}") };
                    w.deliver(&id, &step_body(step)).await.unwrap();
                }
                assert_eq!(w.store.participants().len(), 1, "{sequence:?}");
                assert_eq!(w.invitations().len(), 1, "{sequence:?}");
                assert_eq!(w.sms.sent().len(), 1, "{sequence:?}");
                let enrolled = w.events.published().iter().filter(|e| e.detail_type == "participant.enrolled").count();
                assert_eq!(enrolled, 1, "{sequence:?}");
                // The job ends at its newest status whatever the order.
                assert_eq!(w.store.jobs()[0].status, crate::model::job::JobStatus::Invoiced);
            });
        }
    }
}
