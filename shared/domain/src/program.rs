//! The per-customer program state machine. Every command about a customer (details, jobs,
//! reviews, leads, manual enrolment) is decided from a snapshot into a [`Plan`] that the store
//! commits in one transaction, conditional on what the snapshot saw. Enrolment and the
//! invitation therefore happen exactly once whatever the order or repetition of deliveries.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::code::ReferralCode;
use crate::contact::{Email, PersonName, Phone};
use crate::events::{DomainEvent, LEAD_CREATED, PARTICIPANT_ENROLLED};
use crate::ids::{BusinessId, CustomerId};
use crate::money::Money;
use crate::participant::{Contact, Origin, Participant};
use crate::settings::{RewardType, Settings};
use crate::sms::{Draft, Message, Purpose, Reason, local_day};
use crate::webhook::{DEDUPE_DAYS, JobStatus};

/// A job as the field-service software last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub business_id: BusinessId,
    pub job_id: String,
    pub customer_id: CustomerId,
    pub status: JobStatus,
    /// The sender's timestamp of the status; a job never moves to an older one.
    pub status_at: DateTime<Utc>,
    pub invoice_total_cents: Option<Money>,
    pub service_type: Option<String>,
}

/// When a job's status was set and the status's rank: the order a job's changes go in.
pub type JobStamp = (DateTime<Utc>, u8);

impl Job {
    fn stamp(&self) -> JobStamp {
        (self.status_at, self.status.rank())
    }
}

/// Customer details as parsed from a webhook or staff; `None` leaves a stored value alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetails {
    pub customer_id: CustomerId,
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub sms_consent: Option<bool>,
}

/// A lead recorded from the software (a dispatcher's phone-in lead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub lead_id: String,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    pub source: String,
    pub referral_code: Option<ReferralCode>,
    pub referrer_customer_id: Option<CustomerId>,
    pub referred_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A command about one customer.
#[derive(Debug, Clone)]
pub enum Command {
    UpsertCustomer(CustomerDetails),
    Job {
        job_id: String,
        customer_id: CustomerId,
        customer: Option<CustomerDetails>,
        status: JobStatus,
        invoice_total_cents: Option<Money>,
        service_type: Option<String>,
        at: DateTime<Utc>,
    },
    Review {
        customer_id: CustomerId,
        score: u8,
        at: DateTime<Utc>,
    },
    Lead {
        customer: CustomerDetails,
        referral_code: Option<ReferralCode>,
        referrer_customer_id: Option<CustomerId>,
        referred_by: Option<String>,
    },
    /// Staff enrol a customer regardless of the satisfaction rule.
    Enrol {
        customer_id: CustomerId,
        customer: Option<CustomerDetails>,
        send_invitation: bool,
    },
}

impl Command {
    /// The customer the command is about, as the sender names them.
    pub fn customer_id(&self) -> &CustomerId {
        match self {
            Command::UpsertCustomer(details)
            | Command::Lead {
                customer: details, ..
            } => &details.customer_id,
            Command::Job { customer_id, .. }
            | Command::Review { customer_id, .. }
            | Command::Enrol { customer_id, .. } => customer_id,
        }
    }

    fn details(&self) -> Option<&CustomerDetails> {
        match self {
            Command::UpsertCustomer(details)
            | Command::Lead {
                customer: details, ..
            } => Some(details),
            Command::Job { customer, .. } | Command::Enrol { customer, .. } => customer.as_ref(),
            Command::Review { .. } => None,
        }
    }

    /// What the store must read before deciding.
    pub fn keys(&self) -> LoadKeys {
        let details = self.details();
        LoadKeys {
            customer_id: self.customer_id().clone(),
            phone: details.and_then(|d| d.phone.clone()),
            email: details.and_then(|d| d.email.clone()),
            job_id: match self {
                Command::Job { job_id, .. } => Some(job_id.clone()),
                _ => None,
            },
            participant: matches!(self, Command::Enrol { .. }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadKeys {
    pub customer_id: CustomerId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub job_id: Option<String>,
    /// Also read the resolved contact's participant record.
    pub participant: bool,
}

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
}

/// A new contact-match index entry: phone or email → contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexEntry {
    Phone(Phone, CustomerId),
    Email(Email, CustomerId),
}

/// Caps and the opt-out list, checked atomically with a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendGuard {
    pub message_id: String,
    pub phone: Phone,
    pub day: NaiveDate,
    pub per_number: u32,
    pub per_business: u32,
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
    pub index: Vec<IndexEntry>,
    /// The job to write, with the stamp it must still have (`None`: must not exist).
    pub job: Option<(Job, Option<JobStamp>)>,
    pub participant: Option<Participant>,
    pub messages: Vec<Message>,
    pub sends: Vec<SendGuard>,
    pub lead: Option<Lead>,
    pub events: Vec<DomainEvent>,
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
            Refusal::Duplicate | Refusal::Changed => false,
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
}

/// Why a command cannot be decided at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    UnknownCustomer,
}

/// The reward a referrer earns for their `ordinal`-th closed referral, in words (`$25 account credit`).
pub fn reward_text(settings: &Settings, ordinal: u32) -> String {
    let program = &settings.reward;
    let Some(tier) = program
        .tiers
        .iter()
        .rev()
        .find(|t| t.from_referral <= ordinal)
        .or(program.tiers.first())
    else {
        return program.description.clone();
    };
    let amount = tier.amount_cents.map(|m| m.display(&settings.currency));
    match (program.kind, amount, tier.percent) {
        (RewardType::Discount, _, Some(percent)) => format!("{percent}% off"),
        (RewardType::Discount, Some(amount), None) => format!("{amount} off"),
        (RewardType::GiftCard, Some(amount), _) => format!("a {amount} gift card"),
        (RewardType::ServiceCredit, Some(amount), _) => {
            format!("{amount} {}", program.description.to_lowercase())
        }
        _ => program.description.clone(),
    }
}

fn apply_details(contact: &mut Contact, details: &CustomerDetails) {
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
/// become an alias of it.
fn resolve(snapshot: &Snapshot, details: Option<&CustomerDetails>) -> (Option<Contact>, bool) {
    if let Some(contact) = &snapshot.contact {
        return (Some(contact.clone()), false);
    }
    let Some(details) = details else {
        return (None, false);
    };
    let matchable = |owner: &&Contact| owner.origin == Origin::Vouch;
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
        Some(owner) => (Some(owner.clone()), true),
        None => (None, false),
    }
}

/// Decides a command. Pure: the same snapshot, command and context give the same plan (up to
/// fresh ids and codes).
pub fn decide(
    command: &Command,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<Plan, Rejection> {
    let mut plan = Plan {
        delivery: ctx
            .delivery_id
            .map(|id| (id.to_owned(), ctx.now + Duration::days(DEDUPE_DAYS))),
        ..Plan::default()
    };
    let details = command.details();
    let (found, make_alias) = resolve(snapshot, details);
    let expected_version = found.as_ref().map(|c| c.version);
    let mut contact = match (found, details) {
        (Some(contact), _) => contact,
        (None, Some(details)) => Contact::new(
            ctx.business_id.clone(),
            details.customer_id.clone(),
            details.first_name.clone(),
            ctx.now,
        ),
        (None, None) => match command {
            Command::Enrol { .. } => return Err(Rejection::UnknownCustomer),
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
    if let Some(details) = details {
        apply_details(&mut contact, details);
    }
    if make_alias {
        // The software's customer claims the contact: it is matched no more.
        contact.origin = Origin::Software;
        plan.alias = Some(command.customer_id().clone());
    }
    // Index a phone or email the payload brought that nobody holds yet (the snapshot read them).
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

    let mut force_enrol = false;
    let mut send_invitation = true;
    match command {
        Command::UpsertCustomer(_) => {}
        Command::Job {
            job_id,
            status,
            invoice_total_cents,
            service_type,
            at,
            ..
        } => {
            let newer = snapshot
                .job
                .as_ref()
                .is_none_or(|job| (*at, status.rank()) > job.stamp());
            if newer {
                let job = Job {
                    business_id: ctx.business_id.clone(),
                    job_id: job_id.clone(),
                    customer_id: contact.customer_id.clone(),
                    status: *status,
                    status_at: *at,
                    invoice_total_cents: invoice_total_cents
                        .or(snapshot.job.as_ref().and_then(|j| j.invoice_total_cents)),
                    service_type: service_type
                        .clone()
                        .or(snapshot.job.as_ref().and_then(|j| j.service_type.clone())),
                };
                plan.job = Some((job, snapshot.job.as_ref().map(Job::stamp)));
                if status.is_done() {
                    contact.job_done_at =
                        Some(contact.job_done_at.map_or(*at, |done| done.min(*at)));
                }
            }
        }
        Command::Review { score, at, .. } => {
            if contact.review_at.is_none_or(|seen| *at >= seen) {
                contact.review_score = Some(*score);
                contact.review_at = Some(*at);
            }
        }
        Command::Lead {
            referral_code,
            referrer_customer_id,
            referred_by,
            ..
        } => {
            let source = if referral_code.is_some() || referrer_customer_id.is_some() {
                "dispatcher"
            } else {
                "mention"
            };
            let lead = Lead {
                lead_id: ulid::Ulid::new().to_string(),
                business_id: ctx.business_id.clone(),
                customer_id: contact.customer_id.clone(),
                source: source.to_owned(),
                referral_code: referral_code.clone(),
                referrer_customer_id: referrer_customer_id.clone(),
                referred_by: referred_by.clone(),
                created_at: ctx.now,
            };
            plan.events.push(DomainEvent::new(
                LEAD_CREATED,
                ctx.business_id,
                ctx.now,
                json!({"lead_id": lead.lead_id, "customer_id": lead.customer_id.as_str(), "source": lead.source,
                       "referral_code": lead.referral_code.as_ref().map(ReferralCode::as_str),
                       "referrer_customer_id": lead.referrer_customer_id.as_ref().map(CustomerId::as_str)}),
            ));
            plan.lead = Some(lead);
        }
        Command::Enrol {
            send_invitation: send,
            ..
        } => {
            force_enrol = true;
            send_invitation = *send;
        }
    }

    let satisfied = contact.job_done_at.is_some()
        && contact
            .review_score
            .is_some_and(|score| score >= ctx.settings.satisfaction_threshold);
    let enrol = !contact.enrolled
        && snapshot.participant.is_none()
        && (force_enrol || (satisfied && contact.details_known));
    if enrol {
        let participant =
            Participant::enrol(&contact, ReferralCode::generate(&mut rand::rng()), ctx.now);
        contact.enrolled = true;
        plan.events.push(DomainEvent::new(
            PARTICIPANT_ENROLLED,
            ctx.business_id,
            ctx.now,
            json!({"customer_id": participant.customer_id.as_str(), "code": participant.code.as_str(),
                   "source": if force_enrol { "manual" } else { "satisfaction" }}),
        ));
        if send_invitation {
            let link = format!("{}/r/{}", ctx.link_base, participant.code);
            let vars = BTreeMap::from([
                ("first_name", contact.first_name.as_str().to_owned()),
                ("business_name", ctx.settings.name.clone()),
                ("link", link),
                ("code", participant.code.to_string()),
                ("reward", reward_text(ctx.settings, 1)),
            ]);
            plan.messages.push(Message::compose(
                Draft {
                    business_id: ctx.business_id.clone(),
                    customer_id: Some(contact.customer_id.clone()),
                    to: contact.phone.clone(),
                    consent: contact.sms_consent,
                    purpose: Purpose::Invitation,
                    subject: contact.customer_id.to_string(),
                    vars,
                },
                ctx.settings,
                ctx.now,
            ));
        }
        plan.participant = Some(participant);
    }

    contact.version += 1;
    contact.updated_at = ctx.now;
    plan.contact = Some((contact, expected_version));
    finish_messages(&mut plan, ctx);
    Ok(plan)
}

/// Applies what earlier refusals taught and adds the cap/opt-out guards of messages going now.
fn finish_messages(plan: &mut Plan, ctx: &Context<'_>) {
    let overrides = ctx.overrides;
    plan.messages.retain(|m| {
        !overrides
            .drop_messages
            .contains(&(m.purpose, m.subject.clone()))
    });
    let day = local_day(ctx.settings.time_zone, ctx.now);
    for message in &mut plan.messages {
        let key = (message.purpose, message.subject.clone());
        if overrides.opted_out.contains(&key) {
            *message = message.clone().suppressed(Reason::OptedOut);
        } else if let Some(reason) = overrides.capped.get(&key) {
            *message = message.clone().capped(*reason, ctx.settings, ctx.now);
        }
        if let (true, Some(phone)) = (message.counts_against_caps(), &message.to) {
            plan.sends.push(SendGuard {
                message_id: message.message_id.clone(),
                phone: phone.clone(),
                day,
                per_number: ctx.settings.sms.daily_cap_per_number,
                per_business: ctx.settings.sms.daily_cap_per_business,
            });
        }
    }
}
