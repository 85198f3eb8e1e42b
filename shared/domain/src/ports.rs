//! Ports: what the domain needs from the outside world, split by capability. The DynamoDB
//! adapter implements them for real; `testing` has in-memory fakes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::decide::{LoadKeys, Plan, Refusal, Snapshot};
use crate::model::business::Business;
use crate::model::click::Click;
use crate::model::events::DomainEvent;
use crate::model::message::{Message, Reason, Status};
use crate::model::participant::{Participant, ParticipantSort, Referrer};
use crate::model::referral::{Referral, Status as ReferralStatus};
use crate::model::reward::{LedgerEntry, Reward, RewardOverride, RewardStatus};
use crate::model::search::SearchEntry;
use crate::model::search::SearchQuery;
use crate::model::settings::Settings;
use crate::rules::sending::SendGuard;
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::Phone;
use crate::values::secrets::IpHash;
use crate::values::secrets::KeyHash;

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Applied,
    /// The condition did not hold (the item exists, or changed since it was read).
    Refused,
}

/// Where a page of a list ends: the sort key of the last item and its customer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub sort_key: String,
    pub customer_id: CustomerId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

#[async_trait]
pub trait Businesses: Send + Sync {
    /// Creates the business and its admin key together, unless the id is taken.
    async fn create(&self, business: &Business, admin_key: &KeyHash) -> anyhow::Result<Written>;
    async fn get(&self, id: &BusinessId) -> anyhow::Result<Option<Business>>;
    /// A business and the participant holding `code` (in any business), read together.
    async fn get_with_referrer(
        &self,
        id: &BusinessId,
        code: &ReferralCode,
    ) -> anyhow::Result<(Option<Business>, Option<Referrer>)>;
    async fn id_for_admin_key(&self, key: &KeyHash) -> anyhow::Result<Option<BusinessId>>;
    /// Replaces the settings if the business is still at `read_version`, bumping the version.
    async fn save_settings(
        &self,
        id: &BusinessId,
        settings: &Settings,
        read_version: u64,
    ) -> anyhow::Result<Written>;
}

#[async_trait]
pub trait Participants: Send + Sync {
    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Participant>>;
    /// Resolves a code across all businesses.
    async fn referrer(&self, code: &ReferralCode) -> anyhow::Result<Option<Referrer>>;
    /// Sets or clears the participant's own reward; refused if there is no such participant.
    async fn set_reward_override(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        own: Option<&RewardOverride>,
    ) -> anyhow::Result<Written>;
    async fn list(
        &self,
        business: &BusinessId,
        sort: ParticipantSort,
        limit: u32,
        after: Option<&Position>,
    ) -> anyhow::Result<Page<Participant>>;
}

#[async_trait]
pub trait Clicks: Send + Sync {
    /// Stores the click and moves the participant's counters, atomically.
    async fn record(&self, click: &Click) -> anyhow::Result<()>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

// ---------------------------------------------------------------- the program

/// How one message's send went, recorded after the fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub message_id: String,
    pub phone: Option<Phone>,
    pub result: SendResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Sent {
        provider_id: String,
        at: DateTime<Utc>,
    },
    /// Not sent and never will be (status and reason to record).
    Closed { status: Status, reason: Reason },
}

/// What is recorded after a commit's messages went out and its events were published.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finish {
    pub outcomes: Vec<SendOutcome>,
    /// Outbox events now on the bus: removed from the outbox.
    pub published: Vec<String>,
    /// New events (made while sending) the bus did not take: kept for the scheduler.
    pub pending: Vec<DomainEvent>,
}

impl Finish {
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty() && self.published.is_empty() && self.pending.is_empty()
    }
}

#[async_trait]
pub trait ProgramStore: Send + Sync {
    /// Reads what deciding a command needs.
    async fn load(&self, business: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot>;
    /// Writes the whole plan in one transaction, or nothing and says why.
    async fn commit(
        &self,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<Result<(), Refusal>>;
    /// Records send outcomes and the outbox's publication state, together.
    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()>;
}

/// Which messages staff want to see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageFilter {
    pub customer_id: Option<CustomerId>,
    pub status: Option<Status>,
}

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Pending messages (queued too long, or deferred) due by `now`, across businesses.
    async fn due_messages(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Message>>;
    /// Takes a due message for sending: it must still be due as read, the number must not have
    /// opted out and the caps must allow it. On success the message is queued until `until`.
    async fn claim(
        &self,
        message: &Message,
        guard: Option<&SendGuard>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Result<(), Refusal>>;
    /// Replaces a pending message's status (deferred again, or closed), if still as read.
    async fn reschedule(&self, read: &Message, updated: &Message) -> anyhow::Result<()>;
    /// Outbox events written before `before` and still unpublished.
    async fn pending_events(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DomainEvent>>;
    /// The business's messages, newest first; `after` is the last message id of the previous page.
    async fn messages(
        &self,
        business: &BusinessId,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<(Vec<Message>, Option<String>)>;
}

/// A phone number's standing with us, across businesses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipient {
    pub opted_out: bool,
    /// The business that last texted the number (HELP answers name it).
    pub last_business_id: Option<BusinessId>,
}

#[async_trait]
pub trait Recipients: Send + Sync {
    async fn recipient(&self, phone: &Phone) -> anyhow::Result<Recipient>;
    async fn set_opted_out(
        &self,
        phone: &Phone,
        opted_out: bool,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()>;
}

/// Why a text did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The carrier or provider says the number opted out.
    #[error("the number opted out")]
    OptedOut,
    /// The number cannot receive texts.
    #[error("invalid destination: {0}")]
    Invalid(String),
    /// Try again later.
    #[error("transient failure")]
    Transient(#[source] anyhow::Error),
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one text; returns the provider's message id.
    async fn send(&self, to: &Phone, body: &str) -> Result<String, SendError>;
}

#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes all or fails as a whole (the outbox keeps them for a retry).
    async fn publish(&self, events: &[DomainEvent]) -> anyhow::Result<()>;
}

/// The answer of a rate limit: allowed, or when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// What a rate limit counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// Unknown referral codes tried from one (hashed) address.
    UnknownCode(IpHash),
}

#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Counts one hit of `key` in the fixed window of `window_secs` containing `now`; more than
    /// `limit` hits in a window are limited until it ends. Counts are shared by every instance.
    async fn hit(
        &self,
        key: &RateKey,
        window_secs: u64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Rate>;
}

/// The window `now` falls in: its start (epoch seconds) and the seconds left in it.
pub fn window(now: DateTime<Utc>, window_secs: u64) -> (i64, u64) {
    let length = i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX);
    let start = now.timestamp().div_euclid(length) * length;
    let left = u64::try_from(start + length - now.timestamp())
        .unwrap_or(1)
        .max(1);
    (start, left)
}

// ---------------------------------------------------------------- referrals

#[async_trait]
pub trait Referrals: Send + Sync {
    async fn referral(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Referral>>;
    /// Newest first; `after` is the last referral id of the previous page.
    async fn referrals(
        &self,
        business: &BusinessId,
        status: Option<ReferralStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<(Vec<Referral>, Option<String>)>;
    /// A referrer's referrals, newest first (at most `limit`).
    async fn referrals_by(
        &self,
        business: &BusinessId,
        referrer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Referral>>;
    /// Contacts found under a key the query matches.
    async fn search(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchEntry>>;
}

// ---------------------------------------------------------------- rewards

#[async_trait]
pub trait Rewards: Send + Sync {
    async fn reward(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Reward>>;
    /// Newest first; `after` is the last reward id of the previous page.
    async fn rewards(
        &self,
        business: &BusinessId,
        status: Option<RewardStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<(Vec<Reward>, Option<String>)>;
    /// A customer's rewards, newest first.
    async fn rewards_of(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Reward>>;
    /// A participant's service-credit ledger, oldest first.
    async fn ledger(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Vec<LedgerEntry>>;
    /// Qualified referrals still without a reward since before `before`, across businesses.
    async fn awaiting_rewards(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, crate::decide::IssueDue)>>;
    /// Takes a referral off that list.
    async fn forget_awaiting(&self, business: &BusinessId, referral_id: &str)
    -> anyhow::Result<()>;
    /// Held rewards whose hold ended by `now`, across businesses.
    async fn due_rewards(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Reward)>>;
}

/// Fulfils gift cards. The default is manual: staff buy the card and mark the reward issued.
#[async_trait]
pub trait GiftCards: Send + Sync {
    /// Whether cards are issued by a provider without staff.
    fn automatic(&self) -> bool;
    /// Issues a card for the reward; returns the provider's reference.
    async fn issue(&self, reward: &Reward) -> anyhow::Result<String>;
}

/// No provider configured: every gift card waits for staff.
#[derive(Debug, Clone, Copy, Default)]
pub struct ManualGiftCards;

#[async_trait]
impl GiftCards for ManualGiftCards {
    fn automatic(&self) -> bool {
        false
    }

    async fn issue(&self, _reward: &Reward) -> anyhow::Result<String> {
        anyhow::bail!("gift cards are fulfilled by staff: no provider is configured")
    }
}
