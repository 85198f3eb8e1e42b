//! Participants and the clicks on their links.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::click::Click;
use crate::model::participant::{Participant, ParticipantSort, ReengageDue, Referrer};
use crate::model::report::Tally;
use crate::model::reward::RewardOverride;
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, CustomerId};

use super::{Page, Position, Written};

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
    ) -> anyhow::Result<Page<Participant, Position>>;
    /// Participants due a re-engagement text at or before `until`, soonest first, across all
    /// businesses (the due-date index; written by commits as [`crate::decide::Plan::reengage`]).
    async fn due_reengagements(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, ReengageDue)>>;
}

#[async_trait]
pub trait Clicks: Send + Sync {
    /// Stores the click and moves the participant's counters and the business's figures
    /// (`tally`), atomically. `Refused` when it met a simultaneous write (nothing changed).
    async fn record(&self, click: &Click, tally: &Tally) -> anyhow::Result<Written>;
}
