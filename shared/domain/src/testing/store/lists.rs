//! The lists the store serves: the outbox, numbers, referrals, rewards and the scheduler's due items.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::decide::Refusal;
use crate::model::events::DomainEvent;
use crate::model::message::{Message, Status};
use crate::model::referral::{Referral, Status as ReferralStatus};
use crate::model::reward::{LedgerEntry, Reward, RewardStatus};
use crate::model::search::{SearchEntry, SearchQuery};
use crate::ports::Page;
use crate::ports::Referrals;
use crate::ports::Rewards;
use crate::ports::{MessageFilter, Outbox, Recipient, Recipients};
use crate::rules::sending::SendGuard;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::Phone;

use super::InMemoryStore;

#[async_trait]
impl Outbox for InMemoryStore {
    async fn due_messages(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Message>> {
        self.with(|s| {
            let mut due: Vec<Message> = s
                .messages
                .values()
                .filter(|m| m.status.is_pending() && m.due_at.is_some_and(|due| due <= now))
                .cloned()
                .collect();
            due.sort_by_key(|m| m.due_at);
            due.truncate(limit as usize);
            due
        })
    }

    async fn claim(
        &self,
        message: &Message,
        guard: Option<&SendGuard>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Result<(), Refusal>> {
        self.with(|s| {
            let current = s.messages.get(&message.message_id);
            if current.map(|m| (m.status, m.due_at)) != Some((message.status, message.due_at)) {
                return Err(Refusal::Changed);
            }
            if let Some(guard) = guard {
                if let Some(refusal) = s.cap_refusal(&message.business_id, guard, 0, 0) {
                    return Err(refusal);
                }
                s.count(&message.business_id, guard);
            }
            if let Some(stored) = s.messages.get_mut(&message.message_id) {
                stored.status = Status::Queued;
                stored.due_at = Some(until);
            }
            Ok(())
        })
    }

    async fn reschedule(&self, read: &Message, updated: &Message) -> anyhow::Result<()> {
        self.with(|s| {
            if let Some(stored) = s.messages.get_mut(&read.message_id)
                && (stored.status, stored.due_at) == (read.status, read.due_at)
            {
                *stored = updated.clone();
            }
        })
    }

    async fn pending_events(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<DomainEvent>> {
        self.with(|s| {
            let mut pending: Vec<DomainEvent> = s
                .outbox
                .values()
                .filter(|e| e.occurred_at < before)
                .cloned()
                .collect();
            pending.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
            pending.truncate(limit as usize);
            pending
        })
    }

    async fn messages(
        &self,
        business: &BusinessId,
        filter: &MessageFilter,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Message>> {
        self.with(|s| {
            let items: Vec<Message> = s
                .messages
                .values()
                .rev()
                .filter(|m| &m.business_id == business)
                .filter(|m| {
                    filter
                        .customer_id
                        .as_ref()
                        .is_none_or(|c| m.customer_id.as_ref() == Some(c))
                })
                .filter(|m| filter.status.is_none_or(|st| m.status == st))
                .filter(|m| after.is_none_or(|a| m.message_id.as_str() < a))
                .take(limit as usize + 1)
                .cloned()
                .collect();
            Page::of(items, limit, |m| m.message_id.clone())
        })
    }
}

#[async_trait]
impl Recipients for InMemoryStore {
    async fn recipient(&self, phone: &Phone) -> anyhow::Result<Recipient> {
        self.with(|s| s.recipients.get(phone).cloned().unwrap_or_default())
    }

    async fn set_opted_out(
        &self,
        phone: &Phone,
        opted_out: bool,
        _at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.with(|s| s.recipients.entry(phone.clone()).or_default().opted_out = opted_out)
    }
}

#[async_trait]
impl Referrals for InMemoryStore {
    async fn referral(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Referral>> {
        self.with(|s| s.referrals.get(&(business.clone(), id.to_owned())).cloned())
    }

    async fn referrals(
        &self,
        business: &BusinessId,
        status: Option<ReferralStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Referral>> {
        self.with(|s| {
            newest_first(&s.referrals, business, after, limit, |r| {
                status.is_none_or(|st| r.status == st)
            })
        })
    }

    async fn referrals_by(
        &self,
        business: &BusinessId,
        referrer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Referral>> {
        self.with(|s| {
            s.referrals
                .iter()
                .rev()
                .filter(|((b, _), r)| b == business && r.referrer_id() == Some(referrer))
                .map(|(_, r)| r.clone())
                .take(limit as usize)
                .collect()
        })
    }

    async fn search(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchEntry>> {
        self.with(|s| s.search_entries(business, query, limit))
    }
}

impl InMemoryStore {
    pub fn referrals_of(&self, business: &BusinessId) -> Vec<Referral> {
        self.with(|s| {
            s.referrals
                .iter()
                .filter(|((b, _), _)| b == business)
                .map(|(_, r)| r.clone())
                .collect()
        })
        .unwrap_or_default()
    }
}

#[async_trait]
impl Rewards for InMemoryStore {
    async fn reward(&self, business: &BusinessId, id: &str) -> anyhow::Result<Option<Reward>> {
        self.with(|s| s.rewards.get(&(business.clone(), id.to_owned())).cloned())
    }

    async fn rewards(
        &self,
        business: &BusinessId,
        status: Option<RewardStatus>,
        limit: u32,
        after: Option<&str>,
    ) -> anyhow::Result<Page<Reward>> {
        self.with(|s| {
            newest_first(&s.rewards, business, after, limit, |r| {
                status.is_none_or(|st| r.status == st)
            })
        })
    }

    async fn rewards_of(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        limit: u32,
    ) -> anyhow::Result<Vec<Reward>> {
        self.with(|s| {
            s.rewards
                .iter()
                .rev()
                .filter(|((b, _), r)| b == business && r.customer_id == *customer)
                .map(|(_, r)| r.clone())
                .take(limit as usize)
                .collect()
        })
    }

    async fn ledger(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Vec<LedgerEntry>> {
        self.with(|s| {
            let mut entries: Vec<LedgerEntry> = s
                .ledger
                .iter()
                .filter(|((b, _), e)| b == business && e.customer_id == *customer)
                .map(|(_, e)| e.clone())
                .collect();
            entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.entry_id.cmp(&b.entry_id)));
            entries
        })
    }

    async fn awaiting_rewards(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, crate::decide::IssueDue)>> {
        self.with(|s| {
            let mut awaiting: Vec<(BusinessId, crate::decide::IssueDue)> = s
                .issue_due
                .iter()
                .filter(|(_, d)| d.at < before)
                .map(|((b, _), d)| (b.clone(), d.clone()))
                .collect();
            awaiting.sort_by(|(_, a), (_, b)| (a.at, &a.referral_id).cmp(&(b.at, &b.referral_id)));
            awaiting.truncate(limit as usize);
            awaiting
        })
    }

    async fn forget_awaiting(
        &self,
        business: &BusinessId,
        referral_id: &str,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.issue_due
                .remove(&(business.clone(), referral_id.to_owned()));
        })
    }

    async fn due_rewards(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, Reward)>> {
        self.with(|s| {
            let mut due: Vec<(BusinessId, Reward)> = s
                .reward_due
                .iter()
                .filter(|(_, r)| r.due_at().is_none_or(|at| at <= now))
                .map(|((b, _), r)| (b.clone(), r.clone()))
                .collect();
            due.sort_by_key(|d| d.1.due_at());
            due.truncate(limit as usize);
            due
        })
    }
}

impl InMemoryStore {
    /// Every ledger entry of every participant, for invariants.
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.with(|s| s.ledger.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn all_rewards(&self) -> Vec<Reward> {
        self.with(|s| s.rewards.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The rewards on the scheduler's list.
    pub fn due_reward_ids(&self) -> Vec<String> {
        self.with(|s| s.reward_due.values().map(|r| r.reward_id.clone()).collect())
            .unwrap_or_default()
    }

    pub fn discount_codes(&self) -> Vec<String> {
        self.with(|s| s.discount_codes.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// A page of a business's records by id, newest first, as the table's listing indexes give it.
fn newest_first<T: Clone>(
    records: &BTreeMap<(BusinessId, String), T>,
    business: &BusinessId,
    after: Option<&str>,
    limit: u32,
    keep: impl Fn(&T) -> bool,
) -> Page<T> {
    let read = records
        .iter()
        .rev()
        .filter(|((b, id), r)| b == business && after.is_none_or(|a| id.as_str() < a) && keep(r))
        .map(|((_, id), r)| (id.clone(), r.clone()))
        .take(limit as usize + 1)
        .collect();
    let page = Page::of(read, limit, |(id, _): &(String, T)| id.clone());
    Page {
        items: page.items.into_iter().map(|(_, r)| r).collect(),
        next: page.next,
    }
}
