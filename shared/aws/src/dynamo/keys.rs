//! Every key of the table, in one place: how each item's `PK`/`SK` and index keys are spelt.
//! Item shapes live with their adapters; the strings live here, and only here. Stored items keep
//! their keys forever, so a format here never changes.
//!
//! | item | PK | SK | GSI1 / GSI2 |
//! |---|---|---|---|
//! | business | `BIZ#{b}` | `#PROFILE` | |
//! | admin key | `ADMINKEY#{sha256}` | `#KEY` | |
//! | origin index | `ORIGIN#{origin}` | `BIZ#{b}` | |
//! | participant | `BIZ#{b}` | `PART#{customer}` | `BIZ#{b}#PARTS` / `{enrolled_at}#{customer}`; `BIZ#{b}#PARTS` / `{closed:010}#{customer}` |
//! | code | `CODE#{code}` | `#CODE` | |
//! | click (TTL) | `CLICK#{click}` | `#CLICK` | |
//! | rate-limit window (TTL) | `RATE#{purpose}#{ip_hash}#{start}` | `#RATE` | |
//! | contact / alias | `BIZ#{b}` | `CUST#{customer}` | |
//! | match index | `BIZ#{b}` | `PHONE#{e164}` / `EMAIL#{email}` | |
//! | job | `BIZ#{b}` | `JOB#{job}` | |
//! | delivery (TTL) | `BIZ#{b}` | `DELIVERY#{id}` | |
//! | lead | `BIZ#{b}` | `LEAD#{lead}` | |
//! | repeat key (TTL) | `BIZ#{b}` | `LEADKEY#{phone or email}` | |
//! | lead counter (TTL) | `BIZ#{b}` | `LEADS#IP#{hash}#{hour}` / `LEADS#CODE#{code}#{day}` | |
//! | search entry | `BIZ#{b}` | `NAME#{first last}#{id}` / `NAME#{last first}#{id}` / `TEL#{e164}#{id}` | |
//! | referral | `BIZ#{b}` | `REFERRAL#{id}` | `BIZ#{b}#REFERRALS` / `{id}`; `BIZ#{b}#REFERRALS#{status}` / `{id}` |
//! | referral by referrer | `BIZ#{b}` | `REFBY#{referrer}#{id}` | |
//! | reward | `BIZ#{b}` | `REWARD#{id}` | `BIZ#{b}#REWARDS` / `{id}`; `BIZ#{b}#REWARDS#{status}` / `{id}` |
//! | reward by customer | `BIZ#{b}` | `RWDBY#{customer}#{id}` | |
//! | ledger entry | `BIZ#{b}` | `LEDGER#{customer}#{entry}` | |
//! | discount code | `DISCOUNT#{code}` | `#DISCOUNT` | |
//! | awaiting reward | `BIZ#{b}` | `RWDQ#{referral}` | `OUTBOX#QUALIFIED` / `{at}#{referral}` |
//! | held reward | `BIZ#{b}` | `RWDDUE#{id}` | `OUTBOX#REWARDS` / `{release_at}#{id}` |
//! | message | `BIZ#{b}` | `MSG#{message}` | `OUTBOX#DUE` / `{due_at}#{id}` while pending; GSI2 `BIZ#{b}#CUST#{c}#MSGS` / `{id}` |
//! | message guard | `BIZ#{b}` | `MSGKEY#{purpose}#{subject}` | |
//! | daily cap (TTL) | `BIZ#{b}` | `CAP#{day}#NUM#{e164}` / `CAP#{day}#ALL` | |
//! | recipient | `PHONE#{e164}` | `#RECIPIENT` | |
//! | outbox event | `EVENT#{id}` | `#EVENT` | `OUTBOX#EVENTS` / `{occurred_at}#{id}` |
//! | day figures (one of 4 parts) | `BIZ#{b}#DAYS` | `{yyyy-mm-dd}#{part}` | |
//! | leaderboard row | `BIZ#{b}` | `BOARD#{period}#{customer}` | `BIZ#{b}#BOARD#{period}` / `{rank key}#{reached_at}#{customer}` while it has a qualified referral |
//! | monthly report | `BIZ#{b}` | `REPORT#{yyyy-mm}` | |
//! | next report due | `BIZ#{b}` | `#REPORTDUE` | `OUTBOX#REPORTS` / `{due_at}#{b}` |
//! | staff member | `BIZ#{b}` | `STAFF#{id}` | |
//! | sign-in (email → member) | `SIGNIN#{email}` | `#SIGNIN` | |
//! | invite link (TTL) | `INVITE#{sha256}` | `#INVITE` | |
//! | session (TTL) | `SESSION#{sha256}` | `#SESSION` | |
//! | Jobber connection (tokens) | `BIZ#{b}` | `#JOBBER` | |
//! | Jobber account claim | `JOBBER#{account}` | `#JOBBER` | |
//!
//! Times in keys are RFC 3339 in UTC with milliseconds, so that they sort as text.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use vouch_domain::decide::IndexEntry;
use vouch_domain::model::jobber::JobberId;
use vouch_domain::model::lead::{CounterKey, LeadKey};
use vouch_domain::model::message::Purpose;
use vouch_domain::model::referral::Status;
use vouch_domain::model::reward::RewardStatus;
use vouch_domain::model::search::{SearchKey, SearchQuery};
use vouch_domain::ports::RateKey;
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::ids::{BusinessId, ClickId, CustomerId, StaffId};
use vouch_domain::values::person::{Email, Phone};
use vouch_domain::values::secrets::KeyHash;

/// An item's primary key: its `PK` and `SK`.
pub(crate) type Key = (String, String);

/// A time as it is written in keys.
pub(crate) fn millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The upper bound of a time-ordered index (`{time}#{id}`) that includes every entry at `at`.
pub(crate) fn through(at: DateTime<Utc>) -> String {
    format!("{}#~", millis(at))
}

/// An index entry ordered by time: `{time}#{id}`.
fn timed(at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", millis(at))
}

// ------------------------------------------------------------------ a business's partition

/// The partition of everything a business owns.
pub(crate) fn business_pk(id: &BusinessId) -> String {
    format!("BIZ#{id}")
}

pub(crate) fn business(id: &BusinessId) -> Key {
    (business_pk(id), "#PROFILE".to_owned())
}

pub(crate) fn admin_key(hash: &KeyHash) -> Key {
    (format!("ADMINKEY#{}", hash.as_str()), "#KEY".to_owned())
}

// ------------------------------------------------------------------ participants, codes, clicks

const PARTICIPANT_PREFIX: &str = "PART#";

pub(crate) fn participant_sk(id: &CustomerId) -> String {
    format!("{PARTICIPANT_PREFIX}{id}")
}

/// Whether a sort key in a business's partition is a participant's.
pub(crate) fn is_participant_sk(sk: &str) -> bool {
    sk.starts_with(PARTICIPANT_PREFIX)
}

/// The index partition of a business's participants (both orders).
pub(crate) fn participants_pk(id: &BusinessId) -> String {
    format!("BIZ#{id}#PARTS")
}

/// Where a participant sorts among the newest.
pub(crate) fn enrolled_position(enrolled_at: DateTime<Utc>) -> String {
    millis(enrolled_at)
}

/// Where a participant sorts among those with the most closed referrals.
pub(crate) fn closed_position(closed: u64) -> String {
    format!("{closed:010}")
}

/// A participant's index sort key: its position, then the customer (positions tie).
pub(crate) fn participant_index_sk(position: &str, customer: &CustomerId) -> String {
    format!("{position}#{customer}")
}

/// The origin index: every business whose pages are at an origin (its settings' origins).
pub(crate) fn origin_pk(origin: &str) -> String {
    format!("ORIGIN#{origin}")
}

pub(crate) fn origin(origin: &str, business: &BusinessId) -> Key {
    (origin_pk(origin), business_pk(business))
}

pub(crate) fn code(code: &ReferralCode) -> Key {
    (format!("CODE#{code}"), "#CODE".to_owned())
}

pub(crate) fn click(id: ClickId) -> Key {
    (format!("CLICK#{id}"), "#CLICK".to_owned())
}

/// A rate-limit counter for the window starting at `start` (epoch seconds).
pub(crate) fn rate(key: &RateKey, start: i64) -> Key {
    let pk = match key {
        RateKey::UnknownCode(ip) => format!("RATE#unknown-code#{}#{start}", ip.as_str()),
        RateKey::SignInAddress(ip) => format!("RATE#sign-in-ip#{}#{start}", ip.as_str()),
        RateKey::SignInAccount(email) => format!("RATE#sign-in#{}#{start}", email.as_str()),
    };
    (pk, "#RATE".to_owned())
}

// ------------------------------------------------------------------ contacts, jobs, leads

const CONTACT_PREFIX: &str = "CUST#";

pub(crate) fn contact_sk(id: &CustomerId) -> String {
    format!("{CONTACT_PREFIX}{id}")
}

/// Whether a sort key in a business's partition is a contact's (or an alias).
pub(crate) fn is_contact_sk(sk: &str) -> bool {
    sk.starts_with(CONTACT_PREFIX)
}

pub(crate) fn phone_sk(phone: &Phone) -> String {
    format!("PHONE#{phone}")
}

pub(crate) fn email_sk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

/// A match-index entry's sort key, and the contact it points at.
pub(crate) fn index_sk(entry: &IndexEntry) -> (String, &CustomerId) {
    match entry {
        IndexEntry::Phone(phone, id) => (phone_sk(phone), id),
        IndexEntry::Email(email, id) => (email_sk(email), id),
    }
}

pub(crate) fn job_sk(id: &str) -> String {
    format!("JOB#{id}")
}

pub(crate) fn delivery_sk(id: &str) -> String {
    format!("DELIVERY#{id}")
}

pub(crate) fn lead_sk(id: &str) -> String {
    format!("LEAD#{id}")
}

/// A repeat-submission key of a website lead.
pub(crate) fn lead_key_sk(key: &LeadKey) -> String {
    match key {
        LeadKey::Phone(phone) => format!("LEADKEY#{phone}"),
        LeadKey::Email(email) => format!("LEADKEY#{email}"),
    }
}

/// A lead counter's window.
pub(crate) fn counter_sk(key: &CounterKey) -> String {
    match key {
        CounterKey::FromAddress { ip, hour } => format!("LEADS#IP#{}#{hour}", ip.as_str()),
        CounterKey::ForCode { code, day } => format!("LEADS#CODE#{code}#{day}"),
        CounterKey::Reengagements { day } => format!("REENGAGED#{day}"),
    }
}

/// A customer-search entry: the key it is found under, then the contact.
pub(crate) fn search_sk(key: &SearchKey, customer: &CustomerId) -> String {
    match key {
        SearchKey::Name(name) => format!("NAME#{name}#{customer}"),
        SearchKey::Phone(phone) => format!("TEL#{phone}#{customer}"),
    }
}

/// The start of the search entries a query finds.
pub(crate) fn search_prefix(query: &SearchQuery) -> String {
    match query {
        SearchQuery::Name(prefix) => format!("NAME#{prefix}"),
        SearchQuery::Phone(prefix) => format!("TEL#{prefix}"),
    }
}

// ------------------------------------------------------------------ referrals

pub(crate) fn referral_sk(id: &str) -> String {
    format!("REFERRAL#{id}")
}

/// The index partition of a business's referrals, newest first.
pub(crate) fn referrals_pk(business: &BusinessId) -> String {
    format!("BIZ#{business}#REFERRALS")
}

/// The index partition of a business's referrals in one status.
pub(crate) fn referrals_in_pk(business: &BusinessId, status: Status) -> String {
    format!("BIZ#{business}#REFERRALS#{}", status.as_str())
}

/// The start of a referrer's copies of their referrals.
pub(crate) fn referred_by_prefix(referrer: &CustomerId) -> String {
    format!("REFBY#{referrer}#")
}

pub(crate) fn referred_by_sk(referrer: &CustomerId, id: &str) -> String {
    format!("{}{id}", referred_by_prefix(referrer))
}

// ------------------------------------------------------------------ rewards

pub(crate) fn reward_sk(id: &str) -> String {
    format!("REWARD#{id}")
}

/// The index partition of a business's rewards, newest first.
pub(crate) fn rewards_pk(business: &BusinessId) -> String {
    format!("BIZ#{business}#REWARDS")
}

/// The index partition of a business's rewards in one status.
pub(crate) fn rewards_in_pk(business: &BusinessId, status: RewardStatus) -> String {
    format!("BIZ#{business}#REWARDS#{}", status.as_str())
}

/// The start of a customer's copies of their rewards.
pub(crate) fn rewarded_prefix(customer: &CustomerId) -> String {
    format!("RWDBY#{customer}#")
}

pub(crate) fn rewarded_sk(customer: &CustomerId, id: &str) -> String {
    format!("{}{id}", rewarded_prefix(customer))
}

/// The start of a customer's ledger.
pub(crate) fn ledger_prefix(customer: &CustomerId) -> String {
    format!("LEDGER#{customer}#")
}

pub(crate) fn ledger_sk(customer: &CustomerId, entry: &str) -> String {
    format!("{}{entry}", ledger_prefix(customer))
}

pub(crate) fn discount(code: &str) -> Key {
    (format!("DISCOUNT#{code}"), "#DISCOUNT".to_owned())
}

/// The queue of qualified referrals awaiting their reward, by when they qualified.
pub(crate) const AWAITING_REWARDS: &str = "OUTBOX#QUALIFIED";

pub(crate) fn awaiting_sk(referral_id: &str) -> String {
    format!("RWDQ#{referral_id}")
}

pub(crate) fn awaiting_index_sk(at: DateTime<Utc>, referral_id: &str) -> String {
    timed(at, referral_id)
}

/// The queue of approved rewards held until their release.
pub(crate) const HELD_REWARDS: &str = "OUTBOX#REWARDS";

pub(crate) fn held_sk(reward_id: &str) -> String {
    format!("RWDDUE#{reward_id}")
}

pub(crate) fn held_index_sk(release_at: DateTime<Utc>, reward_id: &str) -> String {
    timed(release_at, reward_id)
}

// ------------------------------------------------------------------ texts and events

/// The queue of pending texts, by when they are due.
pub(crate) const DUE_MESSAGES: &str = "OUTBOX#DUE";

pub(crate) const MESSAGE_PREFIX: &str = "MSG#";

pub(crate) fn message_sk(id: &str) -> String {
    format!("{MESSAGE_PREFIX}{id}")
}

pub(crate) fn due_message_sk(due_at: DateTime<Utc>, id: &str) -> String {
    timed(due_at, id)
}

/// The index partition of the texts to one customer.
pub(crate) fn customer_messages_pk(business: &BusinessId, customer: &CustomerId) -> String {
    format!("BIZ#{business}#CUST#{customer}#MSGS")
}

/// The guard that lets one text exist per purpose and subject.
pub(crate) fn message_guard_sk(purpose: Purpose, subject: &str) -> String {
    format!("MSGKEY#{}#{subject}", purpose.as_str())
}

/// A daily cap: of one number, or of the whole business.
pub(crate) fn cap_sk(day: NaiveDate, phone: Option<&Phone>) -> String {
    match phone {
        Some(phone) => format!("CAP#{day}#NUM#{phone}"),
        None => format!("CAP#{day}#ALL"),
    }
}

pub(crate) fn recipient(phone: &Phone) -> Key {
    (format!("PHONE#{phone}"), "#RECIPIENT".to_owned())
}

/// The queue of events not yet published, by when they occurred.
pub(crate) const PENDING_EVENTS: &str = "OUTBOX#EVENTS";

pub(crate) fn event(id: &str) -> Key {
    (format!("EVENT#{id}"), "#EVENT".to_owned())
}

pub(crate) fn event_index_sk(occurred_at: DateTime<Utc>, id: &str) -> String {
    timed(occurred_at, id)
}

// ------------------------------------------------------------------ reports

/// The partition of a business's daily figures.
pub(crate) fn days_pk(business: &BusinessId) -> String {
    format!("BIZ#{business}#DAYS")
}

/// How many parts a day's figures are spread over, so simultaneous writes seldom meet.
pub(crate) const DAY_PARTS: u8 = 4;

pub(crate) fn day_sk(day: NaiveDate, part: u8) -> String {
    format!("{day}#{part}")
}

/// The upper bound of a range of days' sort keys that includes every part of `day`.
pub(crate) fn through_day(day: NaiveDate) -> String {
    format!("{day}#~")
}

pub(crate) fn board(business: &BusinessId, period: &str, customer: &CustomerId) -> Key {
    (business_pk(business), format!("BOARD#{period}#{customer}"))
}

/// The index partition of one period's leaderboard.
pub(crate) fn board_pk(business: &BusinessId, period: &str) -> String {
    format!("BIZ#{business}#BOARD#{period}")
}

/// Where a row ranks: most qualified first (the count is stored inverted so that ascending
/// order is the ranking), then who reached it first, then the customer.
pub(crate) fn board_sk(qualified: u32, reached_at: DateTime<Utc>, customer: &CustomerId) -> String {
    let inverted = u64::from(u32::MAX) - u64::from(qualified);
    format!("{inverted:010}#{}#{customer}", millis(reached_at))
}

pub(crate) fn report(business: &BusinessId, month: &str) -> Key {
    (business_pk(business), format!("{REPORT_PREFIX}{month}"))
}

pub(crate) const REPORT_PREFIX: &str = "REPORT#";

pub(crate) fn report_due(business: &BusinessId) -> Key {
    (business_pk(business), "#REPORTDUE".to_owned())
}

/// A participant's next re-engagement (one item, put again as it moves).
pub(crate) fn reengage_due(business: &BusinessId, customer: &CustomerId) -> Key {
    (business_pk(business), format!("REENGAGE#{customer}"))
}

/// The queue of participants due a re-engagement text, by when.
pub(crate) const DUE_REENGAGEMENTS: &str = "OUTBOX#REENGAGE";

pub(crate) fn due_reengagement_sk(
    due: DateTime<Utc>,
    business: &BusinessId,
    customer: &CustomerId,
) -> String {
    timed(due, &format!("{business}#{customer}"))
}

/// The queue of businesses whose monthly report is due, by when.
pub(crate) const DUE_REPORTS: &str = "OUTBOX#REPORTS";

pub(crate) fn due_report_sk(due: DateTime<Utc>, business: &BusinessId) -> String {
    timed(due, business.as_str())
}

// ------------------------------------------------------------------ staff

pub(crate) fn staff(business: &BusinessId, id: StaffId) -> Key {
    (business_pk(business), format!("{STAFF_PREFIX}{id}"))
}

pub(crate) const STAFF_PREFIX: &str = "STAFF#";

/// A sign-in: the email that signs in, unique across the deployment.
pub(crate) fn sign_in(email: &Email) -> Key {
    (format!("SIGNIN#{}", email.as_str()), "#SIGNIN".to_owned())
}

/// An unused invite link, by the hash of its token.
pub(crate) fn invite(token: &KeyHash) -> Key {
    (format!("INVITE#{}", token.as_str()), "#INVITE".to_owned())
}

/// A session, by the hash of its cookie.
pub(crate) fn session(token: &KeyHash) -> Key {
    (format!("SESSION#{}", token.as_str()), "#SESSION".to_owned())
}

/// A business's connected Jobber account and its tokens.
pub(crate) fn jobber_connection(business: &BusinessId) -> Key {
    (business_pk(business), "#JOBBER".to_owned())
}

/// Which business a Jobber account is connected to (one at most).
pub(crate) fn jobber_account(account: &JobberId) -> Key {
    (format!("JOBBER#{}", account.as_str()), "#JOBBER".to_owned())
}
