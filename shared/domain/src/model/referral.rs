//! Referrals: who brought a lead in, how we know, and what staff and the rules decided.
//!
//! A referral is about one lead (the referred person) and at most one referrer. The lead's
//! contact carries its current referral, so every change to it is decided from the contact and
//! committed with the contact's version: the first valid attribution wins, and a qualification
//! or a reversal happens once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::reward::Reward;
use crate::values::ids::CustomerId;
use crate::values::money::Money;
use crate::values::person::{Email, Phone};

/// How the lead named its referrer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The referral link (code and click id) carried into the website form.
    Link,
    /// A code typed into the website form.
    Code,
    /// A dispatcher recorded the referrer in the field-service software.
    Dispatcher,
    /// A free-text name: candidates for staff to confirm, never paid automatically.
    Mention,
    /// Staff attributed the lead.
    Manual,
}

impl Source {
    /// Every value, in the order they are documented.
    pub const ALL: [Source; 5] = [
        Source::Link,
        Source::Code,
        Source::Dispatcher,
        Source::Mention,
        Source::Manual,
    ];
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Link => "link",
            Source::Code => "code",
            Source::Dispatcher => "dispatcher",
            Source::Mention => "mention",
            Source::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Attributed; waiting for the lead's job to qualify.
    Pending,
    /// Held for staff: a mention, or a fraud signal.
    NeedsReview,
    /// The lead's job qualified; the reward is due.
    Qualified,
    /// The reward was issued.
    Rewarded,
    /// Refused by a rule or by staff.
    Rejected,
    /// Staff removed the attribution, or the qualifying job was canceled.
    Reversed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::NeedsReview,
        Status::Qualified,
        Status::Rewarded,
        Status::Rejected,
        Status::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::NeedsReview => "needs_review",
            Status::Qualified => "qualified",
            Status::Rewarded => "rewarded",
            Status::Rejected => "rejected",
            Status::Reversed => "reversed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Still standing: a later attribution of the same lead is a duplicate.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Rejected | Status::Reversed)
    }

    /// Counted in the referrer's totals (staff or the rules accepted it).
    pub fn is_accepted(self) -> bool {
        matches!(self, Status::Pending | Status::Qualified | Status::Rewarded)
    }

    /// Counted as a closed referral.
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Qualified | Status::Rewarded)
    }
}

/// Why a referral was rejected or held, or what happened to it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Rejected: the lead is the referrer (same customer, phone or email).
    SelfReferral,
    /// Rejected: the lead was already a customer.
    ExistingCustomer,
    /// Rejected: the lead was already attributed.
    Duplicate,
    /// Held: more leads for the code today than the business's review threshold.
    Velocity,
    /// Held: the lead came from an address the referrer used themselves.
    SharedIp,
    /// Held: the lead's email is at a disposable-mail domain.
    DisposableEmail,
    /// Held: only a name was mentioned.
    Mention,
    /// Held: the named referrer is not enrolled in the program.
    NotParticipant,
    /// Staff decided.
    ApprovedByStaff,
    RejectedByStaff,
    /// Staff attributed the lead to someone else.
    Reattributed,
    /// Staff deleted the attribution.
    Deleted,
    /// The qualifying job was canceled before the reward.
    JobCanceled,
}

impl Flag {
    /// Every value, in the order they are documented.
    pub const ALL: [Flag; 13] = [
        Flag::SelfReferral,
        Flag::ExistingCustomer,
        Flag::Duplicate,
        Flag::Velocity,
        Flag::SharedIp,
        Flag::DisposableEmail,
        Flag::Mention,
        Flag::NotParticipant,
        Flag::ApprovedByStaff,
        Flag::RejectedByStaff,
        Flag::Reattributed,
        Flag::Deleted,
        Flag::JobCanceled,
    ];
}

impl Flag {
    /// Flags that reject a referral outright.
    pub fn rejects(self) -> bool {
        matches!(
            self,
            Flag::SelfReferral | Flag::ExistingCustomer | Flag::Duplicate
        )
    }
}

/// A person on either side of a referral, as staff see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub customer_id: CustomerId,
    pub name: String,
}

/// The referred person, with what fraud rules and matching need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadSide {
    pub customer_id: CustomerId,
    pub name: String,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
}

/// One decision in a referral's history, for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    pub status: Status,
    pub reason: String,
    /// Who decided, when a person did: "Olivia (owner)", or "admin key" for the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// A referral and everything decided about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub referral_id: String,
    pub lead_id: Option<String>,
    pub lead: LeadSide,
    pub referrer: Option<Person>,
    /// For a mention: enrolled customers whose name matches, for staff to choose from.
    #[serde(default)]
    pub candidates: Vec<Person>,
    pub source: Source,
    /// Where the link that brought the lead was shared, when a click is behind it.
    #[serde(default)]
    pub channel: Option<crate::model::click::Channel>,
    pub status: Status,
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// What was named, for staff: the code or the free-text mention.
    #[serde(default)]
    pub named: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub qualified_at: Option<DateTime<Utc>>,
    pub job_id: Option<String>,
    pub invoice_total_cents: Option<Money>,
    /// When the friend first had a job booked (any job not canceled), before it qualified.
    #[serde(default)]
    pub booked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub history: Vec<Decision>,
    /// Which of the referrer's closed referrals this is (set when it qualifies).
    #[serde(default)]
    pub ordinal: Option<u32>,
    /// The referrer's reward for it, once the issuer created it.
    #[serde(default)]
    pub reward: Option<Reward>,
    /// The referred friend's own reward, in a dual-sided program.
    #[serde(default)]
    pub referee_reward: Option<Reward>,
}

impl Referral {
    /// A new referral of `lead` from `source`, before anything is decided about it.
    pub fn new(referral_id: String, lead: LeadSide, source: Source, at: DateTime<Utc>) -> Self {
        Self {
            referral_id,
            lead_id: None,
            lead,
            referrer: None,
            candidates: Vec::new(),
            source,
            channel: None,
            status: Status::Pending,
            flags: Vec::new(),
            named: None,
            created_at: at,
            updated_at: at,
            qualified_at: None,
            job_id: None,
            invoice_total_cents: None,
            booked_at: None,
            history: Vec::new(),
            ordinal: None,
            reward: None,
            referee_reward: None,
        }
    }

    /// Moves to `status`, recording why.
    pub fn decide(&mut self, status: Status, reason: &str, at: DateTime<Utc>) {
        self.status = status;
        self.updated_at = at;
        self.history.push(Decision {
            at,
            status,
            reason: reason.to_owned(),
            by: None,
        });
    }

    pub fn referrer_id(&self) -> Option<&CustomerId> {
        self.referrer.as_ref().map(|p| &p.customer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_classify() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert!(Status::NeedsReview.is_active() && !Status::NeedsReview.is_accepted());
        assert!(Status::Qualified.is_closed() && !Status::Pending.is_closed());
        assert!(!Status::Reversed.is_active());
    }
}
