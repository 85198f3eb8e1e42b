//! Ports: what the domain needs from the outside world, split by capability. The DynamoDB
//! adapter implements them for real; `testing` has in-memory fakes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::business::Business;
use crate::click::Click;
use crate::code::ReferralCode;
use crate::ids::{BusinessId, CustomerId};
use crate::participant::{Contact, Participant, ParticipantSort, Referrer};
use crate::secrets::KeyHash;
use crate::settings::Settings;

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Applied,
    /// The condition did not hold (the item exists, or changed since it was read).
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {
    Enrolled,
    /// The customer already has a participant record (and so a code).
    AlreadyEnrolled,
    /// The drawn code belongs to someone else; draw again.
    CodeTaken,
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
pub trait Contacts: Send + Sync {
    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Contact>>;
    async fn put(&self, contact: &Contact) -> anyhow::Result<()>;
}

#[async_trait]
pub trait Participants: Send + Sync {
    /// Claims the participant's code and writes the participant in one transaction.
    async fn enrol(&self, participant: &Participant) -> anyhow::Result<Enrolment>;
    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Participant>>;
    /// Resolves a code across all businesses.
    async fn referrer(&self, code: &ReferralCode) -> anyhow::Result<Option<Referrer>>;
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
