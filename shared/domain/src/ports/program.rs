//! The program store: what deciding reads, the plan committed in one transaction, and what is
//! recorded once texts went out and events were published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::decide::{LoadKeys, Plan, Refusal, Snapshot};
use crate::model::events::DomainEvent;
use crate::model::message::{Reason, Status};
use crate::values::ids::BusinessId;
use crate::values::person::Phone;

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
    /// Report figures the sends move (invitations that went out).
    pub tally: crate::model::report::Tally,
}

impl Finish {
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty()
            && self.published.is_empty()
            && self.pending.is_empty()
            && self.tally.is_empty()
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
    /// Records send outcomes, the outbox's publication state and the figures the sends move,
    /// together. Texts are recorded once: a finish whose texts were recorded already (a retry
    /// of one that landed) changes nothing.
    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()>;
}
