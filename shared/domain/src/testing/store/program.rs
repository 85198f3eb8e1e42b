//! The program store's load, commit and finish: the checks a commit must pass, then its writes.

use async_trait::async_trait;

use crate::decide::{LoadKeys, Plan, Refusal, Snapshot};
use crate::model::contact::Contact;
use crate::model::lead::LEAD_REPEAT_WINDOW;
use crate::model::message::{Reason, Status};
use crate::model::search::{SearchEntry, SearchQuery, search_text};
use crate::ports::{Finish, ProgramStore, SendResult};
use crate::rules::sending::SendGuard;
use crate::values::ids::{BusinessId, CustomerId};

use super::{InMemoryStore, State, index_key, search_key, search_prefix};

impl State {
    pub(super) fn search_entries(
        &self,
        business: &BusinessId,
        query: &SearchQuery,
        limit: u32,
    ) -> Vec<SearchEntry> {
        let prefix = search_prefix(query);
        self.search
            .range((business.clone(), prefix.clone())..)
            .take_while(|((b, key), _)| b == business && key.starts_with(&prefix))
            .map(|(_, entry)| entry.clone())
            .take(limit as usize)
            .collect()
    }

    fn resolve(&self, business: &BusinessId, customer: &CustomerId) -> Option<Contact> {
        let id = self
            .aliases
            .get(&(business.clone(), customer.clone()))
            .unwrap_or(customer);
        self.contacts.get(&(business.clone(), id.clone())).cloned()
    }

    fn owner(&self, business: &BusinessId, key: String) -> Option<Contact> {
        let id = self.index.get(&(business.clone(), key))?;
        self.contacts.get(&(business.clone(), id.clone())).cloned()
    }

    /// `before_number` / `before_all`: texts of the same commit already counted ahead of this one.
    pub(super) fn cap_refusal(
        &self,
        business: &BusinessId,
        guard: &SendGuard,
        before_number: u32,
        before_all: u32,
    ) -> Option<Refusal> {
        let number = format!("{business}#{}#{}", guard.day, guard.phone);
        let all = format!("{business}#{}", guard.day);
        if self
            .recipients
            .get(&guard.phone)
            .is_some_and(|r| r.opted_out)
        {
            return Some(Refusal::OptedOut {
                message_id: guard.message_id.clone(),
            });
        }
        if !guard.counts {
            return None;
        }
        if self.caps.get(&number).copied().unwrap_or(0) + before_number >= guard.per_number {
            return Some(Refusal::Capped {
                message_id: guard.message_id.clone(),
                reason: Reason::DailyCap,
            });
        }
        if self.caps.get(&all).copied().unwrap_or(0) + before_all >= guard.per_business {
            return Some(Refusal::Capped {
                message_id: guard.message_id.clone(),
                reason: Reason::BusinessDailyCap,
            });
        }
        None
    }

    pub(super) fn count(&mut self, business: &BusinessId, guard: &SendGuard) {
        if !guard.counts {
            return;
        }
        *self
            .caps
            .entry(format!("{business}#{}#{}", guard.day, guard.phone))
            .or_default() += 1;
        *self
            .caps
            .entry(format!("{business}#{}", guard.day))
            .or_default() += 1;
    }

    fn refusal(&self, business: &BusinessId, plan: &Plan) -> Option<Refusal> {
        if let Some((id, _)) = &plan.delivery
            && self.deliveries.contains(&(business.clone(), id.clone()))
        {
            return Some(Refusal::Duplicate);
        }
        if let Some((contact, expected)) = &plan.contact {
            let id = (business.clone(), contact.customer_id.clone());
            let stored = self.contacts.get(&id);
            // A contact and an alias are one record per id: a new contact cannot take an alias's.
            if stored.map(|c| c.version) != *expected || self.aliases.contains_key(&id) {
                return Some(Refusal::Changed);
            }
        }
        if let Some(alias) = &plan.alias {
            let id = (business.clone(), alias.clone());
            if self.aliases.contains_key(&id) || self.contacts.contains_key(&id) {
                return Some(Refusal::Changed);
            }
        }
        for entry in &plan.index {
            let (key, _) = index_key(entry);
            if self.index.contains_key(&(business.clone(), key)) {
                return Some(Refusal::Changed);
            }
        }
        if let Some((job, expected)) = &plan.job {
            let stored = self.jobs.get(&(business.clone(), job.job_id.clone()));
            if stored.map(|j| (j.status_at, j.status.rank())) != *expected {
                return Some(Refusal::Changed);
            }
        }
        if let Some(participant) = &plan.participant
            && (self
                .participants
                .contains_key(&(business.clone(), participant.customer_id.clone()))
                || self.codes.contains_key(&participant.code))
        {
            return Some(Refusal::Changed);
        }
        for message in &plan.messages {
            if self
                .guards
                .contains(&(business.clone(), message.purpose, message.subject.clone()))
            {
                return Some(Refusal::MessageExists {
                    purpose: message.purpose,
                    subject: message.subject.clone(),
                });
            }
        }
        for (key, _, expires) in &plan.lead_keys {
            let now = *expires - LEAD_REPEAT_WINDOW;
            if self
                .lead_keys
                .get(&(business.clone(), key.clone()))
                .is_some_and(|(_, until)| *until > now)
            {
                return Some(Refusal::Changed);
            }
        }
        for counter in &plan.counters {
            let key = (business.clone(), counter.key.clone());
            if self.counters.get(&key).copied().unwrap_or(0) >= counter.limit {
                return Some(Refusal::RateLimited {
                    retry_after_secs: counter.retry_after_secs,
                });
            }
        }
        for entry in &plan.ledger {
            if self.ledger.contains_key(&(
                business.clone(),
                format!("{}#{}", entry.customer_id, entry.entry_id),
            )) {
                return Some(Refusal::Changed);
            }
        }
        for code in &plan.discount_codes {
            if self.discount_codes.contains(code) {
                return Some(Refusal::Changed);
            }
        }
        for delta in &plan.stats {
            let Some(p) = self
                .participants
                .get(&(business.clone(), delta.customer_id.clone()))
            else {
                return Some(Refusal::Changed);
            };
            let closed_moved =
                delta.closed != 0 && delta.closed_was.is_some_and(|was| was != p.stats.closed);
            let year_moved = delta.year.as_ref().is_some_and(|bump| match bump.was {
                (None, _) => p.stats.rewarded_year.is_some(),
                (Some(year), count) => {
                    p.stats.rewarded_year != Some(year) || p.stats.rewarded_in_year != count
                }
            });
            let vip_taken = delta.vip_since.is_some() && p.stats.vip_since.is_some();
            if closed_moved || year_moved || vip_taken {
                return Some(Refusal::Changed);
            }
        }
        plan.sends.iter().enumerate().find_map(|(i, guard)| {
            let earlier = plan.sends[..i].iter().filter(|g| g.counts);
            let same_number = earlier.clone().filter(|g| g.phone == guard.phone).count();
            self.cap_refusal(
                business,
                guard,
                u32::try_from(same_number).unwrap_or(u32::MAX),
                u32::try_from(earlier.count()).unwrap_or(u32::MAX),
            )
        })
    }
}

#[async_trait]
impl ProgramStore for InMemoryStore {
    async fn load(&self, business: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        self.with(|s| {
            let contact = s.resolve(business, &keys.customer_id);
            let participant_of = contact
                .as_ref()
                .map_or(&keys.customer_id, |c| &c.customer_id)
                .clone();
            let phone_owner = keys
                .phone
                .as_ref()
                .and_then(|p| s.owner(business, format!("PHONE#{p}")));
            let email_owner = keys
                .email
                .as_ref()
                .and_then(|e| s.owner(business, format!("EMAIL#{e}")));
            // As the real adapter: the referrer named by the keys, else the referrer of the
            // referral of whichever contact the command resolves to.
            let acting = contact
                .clone()
                .or_else(|| phone_owner.clone())
                .or_else(|| email_owner.clone());
            let acting_referrer = acting
                .as_ref()
                .filter(|_| keys.referral_parties)
                .and_then(|c| c.referral.as_ref())
                .and_then(|r| r.referrer_id().cloned());
            let named = keys
                .referrer
                .as_ref()
                .and_then(|id| s.resolve(business, id))
                .map(|c| c.customer_id);
            let referrer_id = keys.referrer.clone().or(acting_referrer.clone());
            let participants = [named, acting_referrer]
                .into_iter()
                .flatten()
                .filter_map(|id| {
                    s.participants
                        .get(&(business.clone(), id.clone()))
                        .map(|p| (id, p.clone()))
                })
                .collect();
            let candidates = match &keys.mention {
                Some(text) => crate::model::search::candidates(s.search_entries(
                    business,
                    &SearchQuery::Name(search_text(text)),
                    100,
                )),
                None => Vec::new(),
            };
            Snapshot {
                phone_owner,
                email_owner,
                job: keys
                    .job_id
                    .as_ref()
                    .and_then(|j| s.jobs.get(&(business.clone(), j.clone())).cloned()),
                participant: if keys.participant {
                    s.participants
                        .get(&(business.clone(), participant_of))
                        .cloned()
                } else {
                    None
                },
                referrer: referrer_id.and_then(|id| s.resolve(business, &id)),
                click: keys
                    .click
                    .and_then(|id| s.clicks.get(&id).map(|click| (**click).clone())),
                recent_lead: keys
                    .lead_keys
                    .iter()
                    .filter_map(|key| s.lead_keys.get(&(business.clone(), key.clone())).cloned())
                    .max_by_key(|(_, until)| *until),
                counters: keys
                    .counters
                    .iter()
                    .filter_map(|key| {
                        s.counters
                            .get(&(business.clone(), key.clone()))
                            .map(|n| (key.clone(), *n))
                    })
                    .collect(),
                candidates,
                participants,
                contact,
            }
        })
    }

    async fn commit(
        &self,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<Result<(), Refusal>> {
        self.with(|s| {
            if let Some(refusal) = s.refusal(business, plan) {
                return Err(refusal);
            }
            if let Some((id, _)) = &plan.delivery {
                s.deliveries.insert((business.clone(), id.clone()));
            }
            if let Some((contact, _)) = &plan.contact {
                s.contacts.insert(
                    (business.clone(), contact.customer_id.clone()),
                    contact.clone(),
                );
                if let Some(alias) = &plan.alias {
                    s.aliases.insert(
                        (business.clone(), alias.clone()),
                        contact.customer_id.clone(),
                    );
                }
            }
            for entry in &plan.index {
                let (key, id) = index_key(entry);
                s.index.insert((business.clone(), key), id.clone());
            }
            if let Some((job, _)) = &plan.job {
                s.jobs
                    .insert((business.clone(), job.job_id.clone()), job.clone());
            }
            if let Some(participant) = &plan.participant {
                s.codes
                    .insert(participant.code.clone(), participant.referrer());
                s.participants.insert(
                    (business.clone(), participant.customer_id.clone()),
                    participant.clone(),
                );
            }
            for message in &plan.messages {
                s.guards
                    .insert((business.clone(), message.purpose, message.subject.clone()));
                s.messages
                    .insert(message.message_id.clone(), message.clone());
            }
            for guard in &plan.sends {
                s.count(business, guard);
            }
            if let Some(lead) = &plan.lead {
                s.leads.push(lead.clone());
            }
            for event in &plan.events {
                s.outbox.insert(event.event_id.clone(), event.clone());
            }
            let b = |key: &String| (business.clone(), key.clone());
            for (key, lead_id, expires) in &plan.lead_keys {
                s.lead_keys
                    .insert((business.clone(), key.clone()), (lead_id.clone(), *expires));
            }
            for counter in &plan.counters {
                *s.counters
                    .entry((business.clone(), counter.key.clone()))
                    .or_default() += 1;
            }
            for referral in &plan.referrals {
                s.referrals
                    .insert(b(&referral.referral_id), referral.clone());
            }
            for delta in &plan.stats {
                if let Some(p) = s
                    .participants
                    .get_mut(&(business.clone(), delta.customer_id.clone()))
                {
                    p.stats.referrals = p.stats.referrals.saturating_add_signed(delta.referrals);
                    p.stats.closed = p.stats.closed.saturating_add_signed(delta.closed);
                    p.stats.rewards_earned_cents += delta.earned_cents;
                    p.stats.rewards_pending_cents += delta.pending_cents;
                    if let Some(times) = &delta.qualified_times {
                        p.stats.qualified_times = times.clone();
                    }
                    if let Some(at) = delta.vip_since {
                        p.stats.vip_since = Some(at);
                    }
                    if let Some(bump) = &delta.year {
                        p.stats.rewarded_in_year = bump.count();
                        p.stats.rewarded_year = Some(bump.year);
                    }
                }
            }
            for reward in &plan.rewards {
                s.rewards.insert(b(&reward.reward_id), reward.clone());
            }
            for entry in &plan.ledger {
                s.ledger.insert(
                    b(&format!("{}#{}", entry.customer_id, entry.entry_id)),
                    entry.clone(),
                );
            }
            for code in &plan.discount_codes {
                s.discount_codes.insert(code.clone());
            }
            for id in &plan.reward_done {
                s.reward_due.remove(&b(id));
            }
            for reward in &plan.reward_due {
                s.reward_due.insert(b(&reward.reward_id), reward.clone());
            }
            for due in &plan.reengage {
                s.reengage_due
                    .insert((business.clone(), due.customer_id.clone()), due.clone());
            }
            for due in &plan.issue_due {
                s.issue_due.insert(b(&due.referral_id), due.clone());
            }
            for id in &plan.issue_done {
                s.issue_due.remove(&b(id));
            }
            s.tally(business, &plan.tally);
            s.move_board(business, &plan.board);
            if let Some(update) = &plan.search {
                for key in &update.remove {
                    s.search
                        .remove(&(business.clone(), search_key(key, &update.entry.customer_id)));
                }
                for key in &update.put {
                    s.search.insert(
                        (business.clone(), search_key(key, &update.entry.customer_id)),
                        update.entry.clone(),
                    );
                }
            }
            Ok(())
        })
    }

    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        self.with(|s| {
            // Texts are recorded once: a finish about a text no longer pending (a retry of
            // one that landed) changes nothing.
            let recorded = finish.outcomes.iter().any(|o| {
                s.messages
                    .get(&o.message_id)
                    .is_none_or(|m| !m.status.is_pending())
            });
            if recorded {
                return;
            }
            s.tally(business, &finish.tally);
            for outcome in &finish.outcomes {
                if let Some(message) = s.messages.get_mut(&outcome.message_id)
                    && message.status.is_pending()
                {
                    match &outcome.result {
                        SendResult::Sent { provider_id, at } => {
                            message.status = Status::Sent;
                            message.reason = None;
                            message.sent_at = Some(*at);
                            message.provider_id = Some(provider_id.clone());
                        }
                        SendResult::Closed { status, reason } => {
                            message.status = *status;
                            message.reason = Some(*reason);
                        }
                    }
                    message.due_at = None;
                }
                if let Some(phone) = &outcome.phone {
                    let recipient = s.recipients.entry(phone.clone()).or_default();
                    recipient.last_business_id = Some(business.clone());
                    if matches!(
                        outcome.result,
                        SendResult::Closed {
                            reason: Reason::OptedOut,
                            ..
                        }
                    ) {
                        recipient.opted_out = true;
                    }
                }
            }
            for id in &finish.published {
                s.outbox.remove(id);
            }
            for event in &finish.pending {
                s.outbox.insert(event.event_id.clone(), event.clone());
            }
        })
    }
}
