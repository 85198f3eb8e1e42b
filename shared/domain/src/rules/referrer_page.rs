//! What a referrer's own page says: where each friend stands (first name and last initial
//! only), what the referrer has earned, and what the next friend brings. Pure: the page's reads
//! are in `app::me`.

use chrono::{DateTime, Utc};

use crate::model::participant::Participant;
use crate::model::referral::{Referral, Status};
use crate::model::reward::{Reward, RewardStatus};
use crate::model::settings::{RewardType, Settings};
use crate::rules::reward_terms::{terms, terms_for};

/// Where a friend stands, as the referrer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    ReachedOut,
    JobBooked,
    JobDone,
    Rewarded,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ReachedOut => "reached_out",
            Stage::JobBooked => "job_booked",
            Stage::JobDone => "job_done",
            Stage::Rewarded => "rewarded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::ReachedOut => "Reached out",
            Stage::JobBooked => "Job booked",
            Stage::JobDone => "Job done",
            Stage::Rewarded => "Rewarded",
        }
    }

    /// How far along, 1 to 4 (for the page's progress dots).
    pub fn step(self) -> u8 {
        match self {
            Stage::ReachedOut => 1,
            Stage::JobBooked => 2,
            Stage::JobDone => 3,
            Stage::Rewarded => 4,
        }
    }
}

/// A friend on the referrer's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Friend {
    /// "Lead P."
    pub name: String,
    pub stage: Stage,
    /// When the friend reached out.
    pub since: DateTime<Utc>,
}

/// Where the friend of `referral` stands; `None` for a referral that no longer counts (refused
/// or reversed), which the page leaves out. A held referral is shown as the friend reaching
/// out: the review is the business's affair.
pub fn stage(referral: &Referral) -> Option<Stage> {
    let paid = referral
        .reward
        .as_ref()
        .is_some_and(|r| matches!(r.status, RewardStatus::Issued | RewardStatus::Redeemed));
    match referral.status {
        Status::Rewarded => Some(Stage::Rewarded),
        Status::Qualified if paid => Some(Stage::Rewarded),
        Status::Qualified => Some(Stage::JobDone),
        Status::Pending | Status::NeedsReview
            if referral.booked_at.is_some() || referral.job_id.is_some() =>
        {
            Some(Stage::JobBooked)
        }
        Status::Pending | Status::NeedsReview => Some(Stage::ReachedOut),
        Status::Rejected | Status::Reversed => None,
    }
}

/// "Lead P." from "Lead Person": the first name and the last name's initial, nothing else.
pub fn friend_name(full: &str) -> String {
    let mut words = full.split_whitespace();
    let Some(first) = words.next() else {
        return "A friend".to_owned();
    };
    match words.last().and_then(|last| last.chars().next()) {
        Some(initial) => format!("{first} {}.", initial.to_uppercase()),
        None => first.to_owned(),
    }
}

/// The friends of `referrals` that still count, newest first as given.
pub fn friends(referrals: &[Referral]) -> Vec<Friend> {
    referrals
        .iter()
        .filter_map(|referral| {
            Some(Friend {
                name: friend_name(&referral.lead.name),
                stage: stage(referral)?,
                since: referral.created_at,
            })
        })
        .collect()
}

/// The referrer's rewards in money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Issued or redeemed (the participant's own counter).
    pub earned_cents: i64,
    /// Waiting for approval or the hold (the participant's own counter).
    pub pending_cents: i64,
    pub redeemed_cents: i64,
    /// Service credit issued and not yet used: the ledger's balance, which moves exactly with
    /// these statuses (credit on issue, back out on redemption or reversal).
    pub credit_balance_cents: i64,
}

/// The totals of `participant`, with what was redeemed and the credit left from the rewards of
/// `referrals`.
pub fn totals(participant: &Participant, referrals: &[Referral]) -> Totals {
    let rewards: Vec<&Reward> = referrals.iter().filter_map(|r| r.reward.as_ref()).collect();
    let sum = |keep: &dyn Fn(&Reward) -> bool| -> i64 {
        rewards.iter().filter(|r| keep(r)).map(|r| r.cents()).sum()
    };
    Totals {
        earned_cents: participant.stats.rewards_earned_cents,
        pending_cents: participant.stats.rewards_pending_cents,
        redeemed_cents: sum(&|r| r.status == RewardStatus::Redeemed),
        credit_balance_cents: sum(&|r| {
            r.kind == RewardType::ServiceCredit && r.status == RewardStatus::Issued
        }),
    }
}

/// What the next friend brings, and the next tier up if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextReward {
    /// The reward for the next friend whose job is done, in words.
    pub next: String,
    /// The next higher tier: the ordinal of the friend it starts at, and its reward in words.
    pub tier_up: Option<(u32, String)>,
    /// One sentence for the page.
    pub sentence: String,
}

/// What the next friend of `participant` brings under `settings` (or their own reward).
pub fn next_reward(settings: &Settings, participant: &Participant) -> NextReward {
    let closed = u32::try_from(participant.stats.closed).unwrap_or(u32::MAX);
    let own = participant.reward_override.as_ref();
    let ordinal = closed.saturating_add(1);
    // When it is paid, the count includes that friend (VIP from the friend that makes one).
    let next = terms_for(settings, ordinal, own, u64::from(ordinal));
    let next_text = next.text(&settings.currency);
    let tier_up = (!next.overridden)
        .then(|| {
            settings
                .reward
                .tiers
                .iter()
                .find(|tier| tier.from_referral > ordinal)
        })
        .flatten()
        .map(|tier| {
            let from = tier.from_referral;
            let text = terms_for(settings, from, None, u64::from(from)).text(&settings.currency);
            (tier.from_referral, text)
        });
    let starts_tier =
        !next.overridden && closed > 0 && next.tier != terms(settings, closed, None).tier;
    let sentence = match &tier_up {
        _ if starts_tier => format!("One more friend and your next reward is {next_text}."),
        Some((from, text)) => format!(
            "Your next friend earns you {next_text}; from your {} friend on, each earns you \
             {text}.",
            ordinal_word(*from)
        ),
        None => format!("Every friend whose job is done earns you {next_text}."),
    };
    NextReward {
        next: next_text,
        tier_up,
        sentence,
    }
}

/// "1st", "2nd", "3rd", "4th", "11th", "22nd".
pub fn ordinal_word(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::participant::Stats;
    use crate::testing::settings_with;
    use crate::values::code::ReferralCode;
    use crate::values::ids::{BusinessId, CustomerId};
    use crate::values::person::PersonName;

    fn participant(closed: u64) -> Participant {
        Participant {
            business_id: BusinessId::parse("acme").unwrap(),
            customer_id: CustomerId::parse("cus_maria").unwrap(),
            code: ReferralCode::parse("MAR2A234").unwrap(),
            first_name: PersonName::parse("Maria").unwrap(),
            last_name: None,
            phone: None,
            enrolled_at: Utc::now(),
            stats: Stats {
                closed,
                ..Stats::default()
            },
            reward_override: None,
        }
    }

    fn referral_fixture() -> Referral {
        serde_json::from_value(json!({
            "referral_id": "01J0000000000000000000000R", "lead_id": null,
            "lead": {"customer_id": "cus_lead", "name": "Lead Person", "phone": null,
                     "email": null},
            "referrer": {"customer_id": "cus_maria", "name": "Maria Garcia"},
            "source": "link", "status": "pending",
            "created_at": "2026-11-01T12:00:00Z", "updated_at": "2026-11-01T12:00:00Z",
            "qualified_at": null, "job_id": null, "invoice_total_cents": null,
        }))
        .unwrap()
    }

    #[test]
    fn the_next_tier_sentence_fits_each_position() {
        let settings = settings_with(&json!({"reward": {"type": "service_credit",
            "description": "Account credit",
            "tiers": [{"from_referral": 1, "amount_cents": 2500},
                      {"from_referral": 3, "amount_cents": 5000}]}}));
        let said = |closed| next_reward(&settings, &participant(closed)).sentence;
        assert_eq!(
            said(0),
            "Your next friend earns you $25 account credit; from your 3rd friend on, each \
             earns you $50 account credit."
        );
        assert_eq!(said(1), said(0));
        assert_eq!(
            said(2),
            "One more friend and your next reward is $50 account credit."
        );
        assert_eq!(
            said(3),
            "Every friend whose job is done earns you $50 account credit."
        );
        assert_eq!(said(40), said(3));
        // One tier: the same every time, never "one more friend".
        let flat = settings_with(&json!({}));
        for closed in [0, 1, 5] {
            assert_eq!(
                next_reward(&flat, &participant(closed)).sentence,
                "Every friend whose job is done earns you $25 account credit."
            );
        }
    }

    #[test]
    fn friends_show_a_first_name_and_an_initial_only() {
        assert_eq!(friend_name("Lead Person"), "Lead P.");
        assert_eq!(friend_name("  ana   maria  de la cruz "), "ana C.");
        assert_eq!(friend_name("Cher"), "Cher");
        assert_eq!(friend_name("   "), "A friend");
        assert_eq!(friend_name("Zoë ødegaard"), "Zoë Ø.");
    }

    #[test]
    fn stages_follow_the_referral_and_its_reward() {
        let mut r = referral_fixture();
        r.status = Status::Pending;
        r.job_id = None;
        assert_eq!(stage(&r), Some(Stage::ReachedOut));
        r.status = Status::NeedsReview;
        assert_eq!(stage(&r), Some(Stage::ReachedOut));
        r.booked_at = Some(r.created_at);
        assert_eq!(stage(&r), Some(Stage::JobBooked));
        r.status = Status::Qualified;
        assert_eq!(stage(&r), Some(Stage::JobDone));
        r.status = Status::Rewarded;
        assert_eq!(stage(&r), Some(Stage::Rewarded));
        for gone in [Status::Rejected, Status::Reversed] {
            r.status = gone;
            assert_eq!(stage(&r), None);
        }
        assert_eq!(ordinal_word(1), "1st");
        assert_eq!(ordinal_word(12), "12th");
        assert_eq!(ordinal_word(22), "22nd");
        assert_eq!(ordinal_word(103), "103rd");
    }
}
