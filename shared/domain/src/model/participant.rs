//! Participants: contacts enrolled in the program, each with a permanent referral code, and
//! their running totals.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::click::Channel;
use crate::model::contact::Contact;
use crate::model::reward::RewardOverride;
use crate::model::settings::Settings;
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::{PersonName, Phone, display_name, full_name};

/// When a participant is next due a re-engagement text: `reengage_after_days` after `since`,
/// the later of their enrolment, the last friend attributed to them and their last
/// re-engagement. Kept on a due-date index, moved in the commit of each of those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReengageDue {
    pub customer_id: CustomerId,
    pub since: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// With re-engagement off (`reengage_after_days: 0`), how far the next look is put off.
pub const REENGAGE_OFF_DAYS: i64 = 3650;

impl ReengageDue {
    /// Due `reengage_after_days` after `since` (far off when re-engagement is off).
    pub fn after(customer_id: CustomerId, since: DateTime<Utc>, settings: &Settings) -> Self {
        let days = match settings.reengage_after_days {
            0 => REENGAGE_OFF_DAYS,
            days => i64::from(days),
        };
        Self {
            customer_id,
            since,
            due_at: since + Duration::days(days),
        }
    }
}

/// Running totals kept on the participant; every counter moves with an atomic update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub clicks: u64,
    pub clicks_by_channel: BTreeMap<Channel, u64>,
    pub referrals: u64,
    pub closed: u64,
    pub rewards_earned_cents: i64,
    pub rewards_pending_cents: i64,
    /// Rewards counted in `rewarded_year` (for `max_rewards_per_year`).
    #[serde(default)]
    pub rewarded_year: Option<i32>,
    #[serde(default)]
    pub rewarded_in_year: u32,
    /// When each closed referral qualified, oldest first (the leaderboard counts periods from
    /// these; its length is `closed`).
    #[serde(default)]
    pub qualified_times: Vec<DateTime<Utc>>,
    /// When they first reached `vip_after` closed referrals: the VIP text and event go once, at
    /// that moment, whatever happens to the count later.
    #[serde(default)]
    pub vip_since: Option<DateTime<Utc>>,
}

/// An enrolled customer and their permanent code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    pub code: ReferralCode,
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    pub phone: Option<Phone>,
    pub enrolled_at: DateTime<Utc>,
    pub stats: Stats,
    /// The participant's own reward, replacing the program's tiers.
    #[serde(default)]
    pub reward_override: Option<RewardOverride>,
}

impl Participant {
    pub fn enrol(contact: &Contact, code: ReferralCode, now: DateTime<Utc>) -> Self {
        Self {
            business_id: contact.business_id.clone(),
            customer_id: contact.customer_id.clone(),
            code,
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            phone: contact.phone.clone(),
            enrolled_at: now,
            stats: Stats::default(),
            reward_override: None,
        }
    }

    pub fn full_name(&self) -> String {
        full_name(&self.first_name, self.last_name.as_ref())
    }

    pub fn referrer(&self) -> Referrer {
        Referrer {
            code: self.code.clone(),
            business_id: self.business_id.clone(),
            customer_id: self.customer_id.clone(),
            display_name: display_name(&self.first_name, self.last_name.as_ref()),
        }
    }

    pub fn is_vip(&self, vip_after: u32) -> bool {
        self.stats.closed >= u64::from(vip_after)
    }
}

/// What a referral code resolves to: enough to redirect and to greet a visitor, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referrer {
    pub code: ReferralCode,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    /// "Maria G."
    pub display_name: String,
}

/// Orders of the participant list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantSort {
    /// Most recently enrolled first.
    #[default]
    Recent,
    /// Most closed referrals first.
    Closed,
}

impl ParticipantSort {
    /// Every value, in the order they are documented.
    pub const ALL: [ParticipantSort; 2] = [ParticipantSort::Recent, ParticipantSort::Closed];
}
