//! The per-customer program state machine. Every command about a customer (details, jobs,
//! reviews, leads, manual enrolment) is decided from a snapshot into a [`Plan`] that the store
//! commits in one transaction, conditional on what the snapshot saw. Enrolment and the
//! invitation therefore happen exactly once whatever the order or repetition of deliveries.

mod rewarding;

pub use rewarding::RewardAction;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::model::click::Click;
use crate::model::contact::{Contact, Origin};
use crate::model::events::{
    DomainEvent, LEAD_ATTRIBUTED, LEAD_CREATED, PARTICIPANT_ENROLLED, REFERRAL_QUALIFIED,
    REFERRAL_REVERSED,
};
use crate::model::job::JobStatus;
use crate::model::job::QualifyingJob;
use crate::model::job::{Job, JobStamp};
use crate::model::lead::{LEAD_REPEAT_WINDOW, Lead, LeadChannel};
use crate::model::message::{Draft, Message, Purpose, Reason};
use crate::model::participant::Participant;
use crate::model::referral::{Flag, LeadSide, Person, Referral, Source, Status as RefStatus};
use crate::model::reward::{LedgerEntry, Reward};
use crate::model::search::SearchEntry;
use crate::model::settings::{QualifyingStatus, Settings};
use crate::rules::attribution::is_disposable;
use crate::rules::reward_terms::terms;
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::local_day;
use crate::values::money::Money;
use crate::values::person::{Email, PersonName, Phone};
use crate::values::secrets::IpHash;
use crate::webhook::DEDUPE_DAYS;

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

/// Who a lead names as their referrer, resolved as far as can be before loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Nobody,
    /// A referral code, the participant it belongs to in this business (`None`: nobody's), and
    /// the click id a link carried.
    Code {
        code: ReferralCode,
        referrer: Option<CustomerId>,
        click: Option<ClickId>,
    },
    /// The software's id of the referrer.
    Customer(CustomerId),
    /// A free-text name.
    Mention(String),
}

/// A fixed-window counter a lead moves, with its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    pub key: String,
    pub limit: u32,
    pub retry_after_secs: u64,
    pub expires_at: DateTime<Utc>,
}

/// What the website form adds to a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebVisit {
    pub ip_hash: Option<IpHash>,
    pub message: Option<String>,
    pub sms_consent: bool,
    /// Leads from this address this hour.
    pub ip_window: Option<RateWindow>,
    /// Leads for the named code today.
    pub code_window: Option<RateWindow>,
}

/// A new lead: from the website (`web`) or a dispatcher.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub lead_id: String,
    pub customer: CustomerDetails,
    pub named: Named,
    pub web: Option<WebVisit>,
}

/// What staff do to a lead's referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAction {
    /// Attribute the lead to a participant; replacing a standing attribution needs `replace`.
    Attribute {
        referrer: CustomerId,
        replace: bool,
        /// The new referral's id, drawn once for the command.
        referral_id: String,
    },
    /// Accept a held referral, naming the referrer when it has none (a mention).
    Approve {
        referral_id: String,
        referrer: Option<CustomerId>,
    },
    Reject {
        referral_id: String,
    },
    /// Remove the attribution.
    Delete {
        referral_id: String,
    },
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
    Lead(NewLead),
    /// Staff act on the referral of the lead `customer_id`.
    Staff {
        customer_id: CustomerId,
        action: StaffAction,
    },
    /// A reward of the referral of the lead `customer_id` (the issuer, the scheduler, staff).
    Reward {
        customer_id: CustomerId,
        action: RewardAction,
        /// The referrer, when the trigger names them (read with everything else).
        referrer: Option<CustomerId>,
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
            | Command::Lead(NewLead {
                customer: details, ..
            }) => &details.customer_id,
            Command::Job { customer_id, .. }
            | Command::Review { customer_id, .. }
            | Command::Staff { customer_id, .. }
            | Command::Reward { customer_id, .. }
            | Command::Enrol { customer_id, .. } => customer_id,
        }
    }

    fn details(&self) -> Option<&CustomerDetails> {
        match self {
            Command::UpsertCustomer(details)
            | Command::Lead(NewLead {
                customer: details, ..
            }) => Some(details),
            Command::Job { customer, .. } | Command::Enrol { customer, .. } => customer.as_ref(),
            Command::Review { .. } | Command::Staff { .. } | Command::Reward { .. } => None,
        }
    }

    /// What the store must read before deciding.
    pub fn keys(&self) -> LoadKeys {
        let details = self.details();
        let mut keys = LoadKeys {
            customer_id: self.customer_id().clone(),
            phone: details.and_then(|d| d.phone.clone()),
            email: details.and_then(|d| d.email.clone()),
            job_id: match self {
                Command::Job { job_id, .. } => Some(job_id.clone()),
                _ => None,
            },
            participant: matches!(self, Command::Enrol { .. }),
            referral_parties: matches!(
                self,
                Command::Job { .. } | Command::Staff { .. } | Command::Reward { .. }
            ),
            referrer: None,
            click: None,
            lead_keys: Vec::new(),
            counters: Vec::new(),
            mention: None,
        };
        match self {
            Command::Lead(lead) => {
                match &lead.named {
                    Named::Code {
                        referrer, click, ..
                    } => {
                        keys.referrer = referrer.clone();
                        keys.click = *click;
                    }
                    Named::Customer(id) => keys.referrer = Some(id.clone()),
                    Named::Mention(text) => {
                        // A mention with no letters or digits searches for nobody.
                        keys.mention = Some(text.clone())
                            .filter(|t| !crate::model::search::search_text(t).is_empty());
                    }
                    Named::Nobody => {}
                }
                if let Some(web) = &lead.web {
                    keys.lead_keys = lead_keys(&lead.customer);
                    keys.counters = [&web.ip_window, &web.code_window]
                        .into_iter()
                        .flatten()
                        .map(|w| w.key.clone())
                        .collect();
                }
            }
            Command::Staff {
                action:
                    StaffAction::Attribute { referrer, .. }
                    | StaffAction::Approve {
                        referrer: Some(referrer),
                        ..
                    },
                ..
            } => keys.referrer = Some(referrer.clone()),
            Command::Reward {
                referrer: Some(referrer),
                ..
            } => keys.referrer = Some(referrer.clone()),
            _ => {}
        }
        keys
    }
}

/// The keys that recognise a repeated website submission by the same person.
fn lead_keys(details: &CustomerDetails) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(phone) = &details.phone {
        keys.push(format!("LEADKEY#{phone}"));
    }
    if let Some(email) = &details.email {
        keys.push(format!("LEADKEY#{email}"));
    }
    keys
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadKeys {
    pub customer_id: CustomerId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub job_id: Option<String>,
    /// Also read the resolved contact's participant record.
    pub participant: bool,
    /// Also read the contact of the referrer of the resolved contact's referral.
    pub referral_parties: bool,
    /// A referrer to read (a contact id, possibly the software's alias of one).
    pub referrer: Option<CustomerId>,
    pub click: Option<ClickId>,
    /// Repeat-submission keys to read.
    pub lead_keys: Vec<String>,
    /// Rate counters to read.
    pub counters: Vec<String>,
    /// Search enrolled contacts by this name.
    pub mention: Option<String>,
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
    /// The referrer named by the keys, or else the one of the contact's referral.
    pub referrer: Option<Contact>,
    pub click: Option<Click>,
    /// The lead id and expiry of a repeat-submission key found.
    pub recent_lead: Option<(String, DateTime<Utc>)>,
    /// Rate counters by key (absent: zero).
    pub counters: HashMap<String, u32>,
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

/// Caps and the opt-out list, checked atomically with a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendGuard {
    pub message_id: String,
    pub phone: Phone,
    pub day: NaiveDate,
    pub per_number: u32,
    pub per_business: u32,
    /// Whether this send counts against the caps now (false for a resend of a text counted
    /// when it was queued).
    pub counts: bool,
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
    pub lead_keys: Vec<(String, String, DateTime<Utc>)>,
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
    pub key: String,
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
    pub remove: Vec<String>,
    pub put: Vec<String>,
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
/// become an alias of it. A website lead matches anyone with its phone or email; the software's
/// customers match only contacts Vouch made itself.
fn resolve(
    snapshot: &Snapshot,
    details: Option<&CustomerDetails>,
    website: bool,
) -> (Option<Contact>, bool) {
    if let Some(contact) = &snapshot.contact {
        return (Some(contact.clone()), false);
    }
    let Some(details) = details else {
        return (None, false);
    };
    let matchable = |owner: &&Contact| website || owner.origin == Origin::Vouch;
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
        Some(owner) => (Some(owner.clone()), !website),
        None => (None, false),
    }
}

/// Checks a website lead against repeats and rate limits before anything is decided.
fn admit(lead: &NewLead, snapshot: &Snapshot, now: DateTime<Utc>) -> Result<(), Rejection> {
    let Some(web) = &lead.web else {
        return Ok(());
    };
    if let Some((lead_id, expires)) = &snapshot.recent_lead
        && *expires > now
    {
        return Err(Rejection::RepeatLead(lead_id.clone()));
    }
    for window in [&web.ip_window, &web.code_window].into_iter().flatten() {
        if snapshot.counters.get(&window.key).copied().unwrap_or(0) >= window.limit {
            return Err(Rejection::RateLimited {
                retry_after_secs: window.retry_after_secs,
            });
        }
    }
    Ok(())
}

fn search_entry(contact: &Contact) -> Option<(SearchEntry, Vec<String>)> {
    if !contact.details_known {
        return None;
    }
    let entry = SearchEntry {
        customer_id: contact.customer_id.clone(),
        name: contact.full_name(),
        phone: contact.phone.clone(),
        enrolled: contact.enrolled,
    };
    let keys = entry.keys(
        contact.first_name.as_str(),
        contact.last_name.as_ref().map(PersonName::as_str),
    );
    Some((entry, keys))
}

/// Decides a command. Pure: the same snapshot, command and context give the same plan (up to
/// fresh ids and codes).
pub fn decide(
    command: &Command,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<Plan, Rejection> {
    let website = matches!(command, Command::Lead(NewLead { web: Some(_), .. }));
    if let Command::Lead(lead) = command {
        admit(lead, snapshot, ctx.now)?;
    }
    let mut plan = Plan {
        delivery: ctx
            .delivery_id
            .map(|id| (id.to_owned(), ctx.now + Duration::days(DEDUPE_DAYS))),
        ..Plan::default()
    };
    let details = command.details();
    let (found, make_alias) = resolve(snapshot, details, website);
    let expected_version = found.as_ref().map(|c| c.version);
    let before = found.as_ref().and_then(search_entry);
    let existed = found.is_some();
    let mut contact = match (found, details) {
        (Some(contact), _) => contact,
        (None, Some(details)) => {
            let mut contact = Contact::new(
                ctx.business_id.clone(),
                details.customer_id.clone(),
                details.first_name.clone(),
                ctx.now,
            );
            if website {
                contact.origin = Origin::Vouch;
            }
            contact
        }
        (None, None) => match command {
            Command::Enrol { .. } | Command::Staff { .. } => {
                return Err(Rejection::UnknownCustomer);
            }
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
    // A website form never changes what the business knows about someone.
    if let Some(details) = details.filter(|_| !(website && existed)) {
        apply_details(&mut contact, details);
    }
    if make_alias {
        // The software's customer claims the contact: it is matched no more.
        contact.origin = Origin::Software;
        plan.alias = Some(command.customer_id().clone());
    }
    // Index a phone or email the payload brought that nobody holds yet (the snapshot read them).
    if !(website && existed) {
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
                if status.is_done() {
                    contact.job_done_at =
                        Some(contact.job_done_at.map_or(*at, |done| done.min(*at)));
                }
                job_moved(&mut plan, &mut contact, &job, snapshot, ctx);
                plan.job = Some((job, snapshot.job.as_ref().map(Job::stamp)));
            }
        }
        Command::Review { score, at, .. } => {
            if contact.review_at.is_none_or(|seen| *at >= seen) {
                contact.review_score = Some(*score);
                contact.review_at = Some(*at);
            }
        }
        Command::Lead(lead) => {
            let is_customer = existed
                && (contact.job_done_at.is_some()
                    || contact.enrolled
                    || (website && contact.origin == Origin::Software));
            // From the website, someone the business already had as a lead is not new either.
            let known = website && existed;
            take_lead(
                &mut plan,
                &mut contact,
                lead,
                (is_customer, known),
                snapshot,
                ctx,
            );
        }
        Command::Staff { action, .. } => staff(&mut plan, &mut contact, action, snapshot, ctx)?,
        Command::Reward { action, .. } => {
            rewarding::act(&mut plan, &mut contact, action, snapshot, ctx)?;
        }
        Command::Enrol {
            send_invitation: send,
            ..
        } => {
            force_enrol = true;
            send_invitation = *send;
        }
    }
    settle(&mut plan, &mut contact, snapshot, ctx);

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
                (
                    "reward",
                    terms(ctx.settings, 1, None).text(&ctx.settings.currency),
                ),
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

    let after = search_entry(&contact);
    if after != before {
        let old: Vec<String> = before.map(|(_, keys)| keys).unwrap_or_default();
        let (remove, update) = match after {
            Some((entry, keys)) => (
                old.into_iter().filter(|k| !keys.contains(k)).collect(),
                Some((entry, keys)),
            ),
            None => (old, None),
        };
        plan.search = update.map(|(entry, put)| SearchUpdate { remove, put, entry });
    }
    for delta in &mut plan.stats {
        let read = snapshot.participants.get(&delta.customer_id);
        delta.closed_was = read.map(|p| p.stats.closed);
        if let (Some(bump), Some(read)) = (&mut delta.year, read) {
            bump.was = (read.stats.rewarded_year, read.stats.rewarded_in_year);
        }
    }
    contact.version += 1;
    contact.updated_at = ctx.now;
    plan.contact = Some((contact, expected_version));
    finish_messages(&mut plan, ctx);
    Ok(plan)
}

// ---------------------------------------------------------------- referrals

/// Moves `referral` to `to` for `reason`: totals, events and the acknowledgment follow.
fn transition(
    plan: &mut Plan,
    referral: &mut Referral,
    to: RefStatus,
    reason: &str,
    referrer: Option<&Contact>,
    ctx: &Context<'_>,
) {
    let from = (referral.history.last().is_some()).then_some(referral.status);
    referral.decide(to, reason, ctx.now);
    let accepted = |s: Option<RefStatus>| i64::from(s.is_some_and(RefStatus::is_accepted));
    let closed = |s: Option<RefStatus>| i64::from(s.is_some_and(RefStatus::is_closed));
    if let Some(referrer_id) = referral.referrer_id().cloned() {
        let referrals = accepted(Some(to)) - accepted(from);
        let closed = closed(Some(to)) - closed(from);
        if referrals != 0 || closed != 0 {
            add_stats(plan, &referrer_id, referrals, closed, 0, 0);
        }
    }
    if to == RefStatus::Reversed {
        rewarding::reverse(plan, referral, reason, ctx);
    }
    let ids = json!({
        "referral_id": referral.referral_id,
        "lead_customer_id": referral.lead.customer_id.as_str(),
        "referrer_customer_id": referral.referrer_id().map(CustomerId::as_str),
        "source": referral.source.as_str(),
    });
    let event = |kind: &str, extra: serde_json::Value| {
        let mut data = ids.clone();
        if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            data.extend(extra.clone());
        }
        DomainEvent::new(kind, ctx.business_id, ctx.now, data)
    };
    let first_acceptance = to == RefStatus::Pending
        && !from.is_some_and(|f| f.is_accepted() || f == RefStatus::Reversed);
    if first_acceptance {
        plan.events.push(event(LEAD_ATTRIBUTED, json!({})));
        if let Some(referrer) = referrer.filter(|_| ctx.settings.sms.send_acknowledgment) {
            plan.messages.push(referrer_message(
                referrer,
                referral,
                Purpose::Acknowledgment,
                referral.referral_id.clone(),
                &BTreeMap::new(),
                ctx,
            ));
        }
    }
    if to == RefStatus::Qualified {
        plan.events.push(event(
            REFERRAL_QUALIFIED,
            json!({"job_id": referral.job_id,
                   "invoice_total_cents": referral.invoice_total_cents.map(Money::cents),
                   "qualified_at": referral.qualified_at}),
        ));
    }
    if to == RefStatus::Reversed && from.is_some_and(RefStatus::is_active) {
        plan.events.push(event(
            REFERRAL_REVERSED,
            json!({"reason": reason, "was": from.map(RefStatus::as_str)}),
        ));
    }
}

/// Adds to a participant's totals in the plan (one update per participant).
fn add_stats(
    plan: &mut Plan,
    customer: &CustomerId,
    referrals: i64,
    closed: i64,
    earned_cents: i64,
    pending_cents: i64,
) {
    match plan.stats.iter_mut().find(|d| d.customer_id == *customer) {
        Some(delta) => {
            delta.referrals += referrals;
            delta.closed += closed;
            delta.earned_cents += earned_cents;
            delta.pending_cents += pending_cents;
        }
        None => plan.stats.push(StatsDelta {
            customer_id: customer.clone(),
            referrals,
            closed,
            closed_was: None,
            earned_cents,
            pending_cents,
            year: None,
        }),
    }
}

/// A text to the referrer about their friend.
fn referrer_message(
    referrer: &Contact,
    referral: &Referral,
    purpose: Purpose,
    subject: String,
    extra: &BTreeMap<&'static str, String>,
    ctx: &Context<'_>,
) -> Message {
    let friend = referral
        .lead
        .name
        .split_whitespace()
        .next()
        .unwrap_or("friend")
        .to_owned();
    let mut vars = BTreeMap::from([
        ("first_name", referrer.first_name.as_str().to_owned()),
        ("business_name", ctx.settings.name.clone()),
        ("friend_first_name", friend),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    Message::compose(
        Draft {
            business_id: ctx.business_id.clone(),
            customer_id: Some(referrer.customer_id.clone()),
            to: referrer.phone.clone(),
            consent: referrer.sms_consent,
            purpose,
            subject,
            vars,
        },
        ctx.settings,
        ctx.now,
    )
}

fn person(contact: &Contact) -> Person {
    Person {
        customer_id: contact.customer_id.clone(),
        name: contact.full_name(),
    }
}

fn is_self(referrer: &Contact, lead: &Contact, details: Option<&CustomerDetails>) -> bool {
    let phones = [lead.phone.as_ref(), details.and_then(|d| d.phone.as_ref())];
    let emails = [lead.email.as_ref(), details.and_then(|d| d.email.as_ref())];
    referrer.customer_id == lead.customer_id
        || referrer
            .phone
            .as_ref()
            .is_some_and(|p| phones.contains(&Some(p)))
        || referrer
            .email
            .as_ref()
            .is_some_and(|e| emails.contains(&Some(e)))
}

/// Records a new lead and decides its attribution.
fn take_lead(
    plan: &mut Plan,
    contact: &mut Contact,
    lead: &NewLead,
    (is_customer, known): (bool, bool),
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let web = lead.web.as_ref();
    if let Some(hash) = web.and_then(|w| w.ip_hash.as_ref()) {
        if !contact.ip_hashes.iter().any(|h| h == hash.as_str()) {
            contact.ip_hashes.push(hash.as_str().to_owned());
        }
        let excess = contact.ip_hashes.len().saturating_sub(5);
        contact.ip_hashes.drain(..excess);
    }
    let referrer = snapshot.referrer.as_ref().filter(|r| r.enrolled);
    let mut flags = Vec::new();
    let (source, named, chosen, candidates) = match &lead.named {
        Named::Nobody | Named::Code { referrer: None, .. } => (None, None, None, Vec::new()),
        Named::Code { code, click, .. } => {
            let from_link = snapshot.click.as_ref().is_some_and(|c| {
                Some(c.id) == *click && c.code == *code && c.business_id == *ctx.business_id
            });
            let source = match (web, from_link) {
                (None, _) => Source::Dispatcher,
                (Some(_), true) => Source::Link,
                (Some(_), false) => Source::Code,
            };
            if referrer.is_none() {
                // The code's holder has no contact record to pay: staff decide.
                flags.push(Flag::NotParticipant);
            }
            (Some(source), Some(code.to_string()), referrer, Vec::new())
        }
        Named::Customer(id) => {
            if referrer.is_none() {
                flags.push(Flag::NotParticipant);
            }
            let candidates = snapshot.referrer.iter().map(person).collect();
            (
                Some(Source::Dispatcher),
                Some(id.to_string()),
                referrer,
                candidates,
            )
        }
        Named::Mention(text) => {
            flags.push(Flag::Mention);
            let candidates = snapshot
                .candidates
                .iter()
                .filter(|c| c.enrolled && c.customer_id != contact.customer_id)
                .map(|c| Person {
                    customer_id: c.customer_id.clone(),
                    name: c.name.clone(),
                })
                .collect();
            (Some(Source::Mention), Some(text.clone()), None, candidates)
        }
    };

    let mut referral_id = None;
    if let Some(source) = source {
        let details = Some(&lead.customer);
        // A mention still waiting for staff gives way to a lead that names its referrer: the
        // first *valid* attribution wins.
        let held_mention = contact
            .referral
            .as_ref()
            .is_some_and(|r| r.status == RefStatus::NeedsReview && r.source == Source::Mention);
        let replaces_mention = held_mention && source != Source::Mention && chosen.is_some();
        if chosen.is_some_and(|r| is_self(r, contact, details)) {
            flags.push(Flag::SelfReferral);
        } else if is_customer {
            flags.push(Flag::ExistingCustomer);
        } else if !replaces_mention
            && (known
                || contact
                    .referral
                    .as_ref()
                    .is_some_and(|r| r.status.is_active()))
        {
            flags.push(Flag::Duplicate);
        }
        if replaces_mention
            && !flags.iter().any(|f| f.rejects())
            && let Some(mut old) = contact.referral.take()
        {
            transition(
                plan,
                &mut old,
                RefStatus::Rejected,
                "replaced by a lead naming its referrer",
                None,
                ctx,
            );
            old.flags.push(Flag::Reattributed);
            plan.referrals.push(old);
        }
        if let (Some(web), Some(referrer)) = (web, chosen) {
            if let Some(window) = &web.code_window {
                let seen = snapshot.counters.get(&window.key).copied().unwrap_or(0);
                if seen + 1 > ctx.settings.limits.review_when_leads_per_code_per_day_over {
                    flags.push(Flag::Velocity);
                }
            }
            if web
                .ip_hash
                .as_ref()
                .is_some_and(|h| referrer.ip_hashes.iter().any(|own| own == h.as_str()))
            {
                flags.push(Flag::SharedIp);
            }
        }
        if lead.customer.email.as_ref().is_some_and(is_disposable) {
            flags.push(Flag::DisposableEmail);
        }
        let status = if flags.iter().any(|f| f.rejects()) {
            RefStatus::Rejected
        } else if flags.is_empty() {
            RefStatus::Pending
        } else {
            RefStatus::NeedsReview
        };
        let mut referral = Referral {
            // A lead has at most one referral: its id is the lead's, stable across retries (a
            // refused commit is decided again, and what it learnt is keyed by this id).
            referral_id: lead.lead_id.clone(),
            lead_id: Some(lead.lead_id.clone()),
            lead: LeadSide {
                customer_id: contact.customer_id.clone(),
                name: contact.full_name(),
                phone: contact.phone.clone().or(lead.customer.phone.clone()),
                email: contact.email.clone().or(lead.customer.email.clone()),
            },
            referrer: chosen.map(person),
            candidates,
            source,
            status,
            flags: flags.clone(),
            named,
            created_at: ctx.now,
            updated_at: ctx.now,
            qualified_at: None,
            job_id: None,
            invoice_total_cents: None,
            history: Vec::new(),
            ordinal: None,
            reward: None,
            referee_reward: None,
        };
        let reason = if flags.is_empty() {
            "attributed".to_owned()
        } else {
            flags
                .iter()
                .map(|f| {
                    serde_json::to_value(f)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        transition(plan, &mut referral, status, &reason, chosen, ctx);
        referral_id = Some(referral.referral_id.clone());
        plan.referrals.push(referral.clone());
        if status.is_active() {
            contact.referral = Some(referral);
        }
    }

    let record = Lead {
        lead_id: lead.lead_id.clone(),
        business_id: ctx.business_id.clone(),
        customer_id: contact.customer_id.clone(),
        channel: if web.is_some() {
            LeadChannel::Website
        } else {
            LeadChannel::Dispatcher
        },
        referral_code: match &lead.named {
            Named::Code { code, .. } => Some(code.clone()),
            _ => None,
        },
        referrer_customer_id: match &lead.named {
            Named::Customer(id) => Some(id.clone()),
            Named::Code { referrer, .. } => referrer.clone(),
            _ => None,
        },
        referred_by: match &lead.named {
            Named::Mention(text) => Some(text.clone()),
            _ => None,
        },
        message: web.and_then(|w| w.message.clone()),
        ip_hash: web.and_then(|w| w.ip_hash.as_ref().map(|h| h.as_str().to_owned())),
        sms_consent: web.is_some_and(|w| w.sms_consent),
        referral_id,
        created_at: ctx.now,
    };
    plan.events.push(DomainEvent::new(
        LEAD_CREATED,
        ctx.business_id,
        ctx.now,
        json!({"lead_id": record.lead_id, "customer_id": record.customer_id.as_str(),
               "channel": record.channel}),
    ));
    if let Some(web) = web {
        let until = ctx.now + LEAD_REPEAT_WINDOW;
        for key in lead_keys(&lead.customer) {
            plan.lead_keys.push((key, record.lead_id.clone(), until));
        }
        for window in [&web.ip_window, &web.code_window].into_iter().flatten() {
            plan.counters.push(CounterBump {
                key: window.key.clone(),
                seen: snapshot.counters.get(&window.key).copied().unwrap_or(0),
                limit: window.limit,
                retry_after_secs: window.retry_after_secs,
                expires_at: window.expires_at,
            });
        }
    }
    plan.lead = Some(record);
}

/// A job of the contact moved: qualification, a canceled qualifying job, progress texts.
fn job_moved(
    plan: &mut Plan,
    contact: &mut Contact,
    job: &Job,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) {
    let needed = match ctx.settings.qualifying_status {
        QualifyingStatus::Invoiced => JobStatus::Invoiced,
        QualifyingStatus::Paid => JobStatus::Paid,
    };
    let minimum = ctx.settings.minimum_invoice_cents.cents();
    let enough = match job.invoice_total_cents {
        Some(total) => total.cents() >= minimum,
        None => minimum <= 0,
    };
    let qualifies = job.status != JobStatus::Canceled && job.status.rank() >= needed.rank();
    if qualifies && enough && contact.qualifying_job.is_none() {
        contact.qualifying_job = Some(QualifyingJob {
            job_id: job.job_id.clone(),
            invoice_total_cents: job.invoice_total_cents,
            at: job.status_at,
        });
    }
    let canceled = job.status == JobStatus::Canceled
        && contact
            .qualifying_job
            .as_ref()
            .is_some_and(|q| q.job_id == job.job_id);
    if canceled {
        contact.qualifying_job = None;
        let qualified = contact
            .referral
            .as_ref()
            .is_some_and(|r| r.status == RefStatus::Qualified);
        if let Some(mut referral) = contact.referral.take_if(|_| qualified) {
            transition(
                plan,
                &mut referral,
                RefStatus::Reversed,
                "job_canceled",
                None,
                ctx,
            );
            referral.flags.push(Flag::JobCanceled);
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
    }
    let progress = match job.status {
        JobStatus::Dispatched => Some("on its way"),
        JobStatus::Completed => Some("complete"),
        _ => None,
    };
    if let (Some(words), true, Some(referral), Some(referrer)) = (
        progress,
        ctx.settings.sms.send_progress,
        contact.referral.as_ref().filter(|r| r.status.is_accepted()),
        snapshot.referrer.as_ref(),
    ) {
        plan.messages.push(referrer_message(
            referrer,
            referral,
            Purpose::Progress,
            format!("{}#{}", referral.referral_id, job.status.as_str()),
            &BTreeMap::from([("status", words.to_owned())]),
            ctx,
        ));
    }
}

/// Qualifies a standing referral once its lead has a qualifying job.
fn settle(plan: &mut Plan, contact: &mut Contact, snapshot: &Snapshot, ctx: &Context<'_>) {
    let Some(job) = contact.qualifying_job.clone() else {
        return;
    };
    let Some(mut referral) = contact.referral.take_if(|r| r.status == RefStatus::Pending) else {
        return;
    };
    referral.qualified_at = Some(ctx.now);
    referral.ordinal = referral
        .referrer_id()
        .and_then(|id| snapshot.participants.get(id))
        .map(|p| u32::try_from(p.stats.closed + 1).unwrap_or(u32::MAX));
    referral.job_id = Some(job.job_id);
    referral.invoice_total_cents = job.invoice_total_cents;
    let referrer = snapshot.referrer.as_ref();
    transition(
        plan,
        &mut referral,
        RefStatus::Qualified,
        "job qualified",
        referrer,
        ctx,
    );
    rewarding::awaiting_reward(plan, &referral, ctx);
    if let Some(written) = plan
        .referrals
        .iter_mut()
        .find(|r| r.referral_id == referral.referral_id)
    {
        *written = referral.clone();
    } else {
        plan.referrals.push(referral.clone());
    }
    contact.referral = Some(referral);
}

/// A staff decision about the contact's referral.
fn staff(
    plan: &mut Plan,
    contact: &mut Contact,
    action: &StaffAction,
    snapshot: &Snapshot,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    let current = |id: &str| match &contact.referral {
        Some(referral) if referral.referral_id == id => Ok(referral.clone()),
        _ => Err(Rejection::Conflict(
            "not_current",
            "the referral is no longer the lead's attribution".into(),
        )),
    };
    let chosen = |id: &CustomerId| {
        let referrer =
            snapshot
                .referrer
                .as_ref()
                .filter(|r| r.enrolled)
                .ok_or(Rejection::Invalid(
                    "referrer_customer_id",
                    "is not enrolled in the program",
                ))?;
        if is_self(referrer, contact, None)
            || referrer.customer_id == *id && *id == contact.customer_id
        {
            return Err(Rejection::Invalid(
                "referrer_customer_id",
                "is the referred customer",
            ));
        }
        Ok(referrer)
    };
    match action {
        StaffAction::Attribute {
            referrer,
            replace,
            referral_id,
        } => {
            let referrer = chosen(referrer)?;
            if let Some(mut old) = contact.referral.clone().filter(|r| r.status.is_active()) {
                if !replace || old.referrer_id() == Some(&referrer.customer_id) {
                    return Err(Rejection::Conflict(
                        "already_attributed",
                        "the lead is already attributed; send override to replace it".into(),
                    ));
                }
                transition(
                    plan,
                    &mut old,
                    RefStatus::Reversed,
                    "reattributed",
                    None,
                    ctx,
                );
                old.flags.push(Flag::Reattributed);
                plan.referrals.push(old);
            }
            let mut referral = Referral {
                referral_id: referral_id.clone(),
                lead_id: None,
                lead: LeadSide {
                    customer_id: contact.customer_id.clone(),
                    name: contact.full_name(),
                    phone: contact.phone.clone(),
                    email: contact.email.clone(),
                },
                referrer: Some(person(referrer)),
                candidates: Vec::new(),
                source: Source::Manual,
                status: RefStatus::Pending,
                flags: Vec::new(),
                named: None,
                created_at: ctx.now,
                updated_at: ctx.now,
                qualified_at: None,
                job_id: None,
                invoice_total_cents: None,
                history: Vec::new(),
                ordinal: None,
                reward: None,
                referee_reward: None,
            };
            transition(
                plan,
                &mut referral,
                RefStatus::Pending,
                "attributed by staff",
                Some(referrer),
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
        StaffAction::Approve {
            referral_id,
            referrer,
        } => {
            let mut referral = current(referral_id)?;
            if referral.status != RefStatus::NeedsReview {
                return Err(Rejection::Conflict(
                    "invalid_transition",
                    format!("a {} referral cannot be approved", referral.status.as_str()),
                ));
            }
            let referrer = match referrer {
                Some(id) => chosen(id)?,
                None => match (&referral.referrer, snapshot.referrer.as_ref()) {
                    (Some(_), Some(contact)) if contact.enrolled => contact,
                    _ => {
                        return Err(Rejection::Invalid(
                            "referrer_customer_id",
                            "is required: name the participant who referred this lead",
                        ));
                    }
                },
            };
            if let Some(old) = referral
                .referrer_id()
                .filter(|old| **old != referrer.customer_id)
            {
                plan.stale_refby
                    .push((old.clone(), referral.referral_id.clone()));
            }
            referral.referrer = Some(person(referrer));
            referral.flags.push(Flag::ApprovedByStaff);
            transition(
                plan,
                &mut referral,
                RefStatus::Pending,
                "approved by staff",
                Some(referrer),
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
        StaffAction::Reject { referral_id } => {
            let mut referral = current(referral_id)?;
            if referral.status != RefStatus::NeedsReview {
                return Err(Rejection::Conflict(
                    "invalid_transition",
                    format!("a {} referral cannot be rejected", referral.status.as_str()),
                ));
            }
            referral.flags.push(Flag::RejectedByStaff);
            transition(
                plan,
                &mut referral,
                RefStatus::Rejected,
                "rejected by staff",
                None,
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
        StaffAction::Delete { referral_id } => {
            let mut referral = current(referral_id)?;
            match referral.status {
                // Deleting again changes nothing.
                RefStatus::Reversed => return Ok(()),
                RefStatus::Rejected => {
                    return Err(Rejection::Conflict(
                        "invalid_transition",
                        "a rejected referral has no attribution to delete".into(),
                    ));
                }
                _ => {}
            }
            referral.flags.push(Flag::Deleted);
            transition(
                plan,
                &mut referral,
                RefStatus::Reversed,
                "deleted by staff",
                None,
                ctx,
            );
            plan.referrals.push(referral.clone());
            contact.referral = Some(referral);
        }
    }
    Ok(())
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
                counts: true,
            });
        }
    }
}
