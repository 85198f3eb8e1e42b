//! Rewards: what a qualified referral pays, its life (pending → approved → issued → redeemed,
//! side exits canceled and reversed) and the service-credit ledger.
//!
//! A referrer's reward lives on the referral it pays for, which lives on the referred person's
//! contact: every change is decided from the contact and committed with its version, so a reward
//! is created, issued or reversed once whatever the order or repetition of the triggers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::settings::RewardType;
use crate::values::code::ReferralCode;
use crate::values::ids::CustomerId;
use crate::values::money::Currency;
use crate::values::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardStatus {
    /// Waiting for staff approval.
    Pending,
    /// Approved; waiting for the hold to end, or for manual fulfilment (gift card, custom).
    Approved,
    Issued,
    Redeemed,
    Canceled,
    Reversed,
}

impl RewardStatus {
    pub const ALL: [RewardStatus; 6] = [
        RewardStatus::Pending,
        RewardStatus::Approved,
        RewardStatus::Issued,
        RewardStatus::Redeemed,
        RewardStatus::Canceled,
        RewardStatus::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RewardStatus::Pending => "pending",
            RewardStatus::Approved => "approved",
            RewardStatus::Issued => "issued",
            RewardStatus::Redeemed => "redeemed",
            RewardStatus::Canceled => "canceled",
            RewardStatus::Reversed => "reversed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Not yet paid out: counted as pending on the participant.
    pub fn is_open(self) -> bool {
        matches!(self, RewardStatus::Pending | RewardStatus::Approved)
    }

    /// Paid out: counted as earned.
    pub fn is_paid(self) -> bool {
        matches!(self, RewardStatus::Issued | RewardStatus::Redeemed)
    }

    /// What staff may move a reward to from here.
    /// The statuses staff may ask for (the state machine decides whether from where it is).
    pub const SET_BY_STAFF: [RewardStatus; 4] = [
        RewardStatus::Approved,
        RewardStatus::Issued,
        RewardStatus::Redeemed,
        RewardStatus::Canceled,
    ];

    pub fn staff_may_move_to(self, to: RewardStatus) -> bool {
        use RewardStatus::*;
        matches!(
            (self, to),
            (Pending, Approved)
                | (Pending, Canceled)
                | (Approved, Issued)
                | (Approved, Canceled)
                | (Issued, Redeemed)
        )
    }
}

/// Who a reward is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Referrer,
    /// The referred friend, in a dual-sided program.
    Referee,
}

impl Recipient {
    /// Every value, in the order they are documented.
    pub const ALL: [Recipient; 2] = [Recipient::Referrer, Recipient::Referee];
}

/// One change in a reward's life, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewardChange {
    pub at: DateTime<Utc>,
    pub status: RewardStatus,
    /// Who or what moved it: `rules`, `scheduler`, the person who did ("Olivia (owner)") or
    /// `admin key`.
    pub by: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reward {
    pub reward_id: String,
    pub referral_id: String,
    pub customer_id: CustomerId,
    /// The referred person, whose contact holds this reward.
    pub lead_customer_id: CustomerId,
    pub recipient: Recipient,
    #[serde(rename = "type")]
    pub kind: RewardType,
    pub amount_cents: Option<Money>,
    pub percent: Option<u8>,
    /// A discount code, for discount rewards.
    pub code: Option<String>,
    pub description: String,
    /// Which of the referrer's closed referrals this pays for.
    pub ordinal: u32,
    /// The program tier it was paid at (where the tier starts); `None` for an override or a
    /// friend's reward.
    #[serde(default)]
    pub tier: Option<u32>,
    pub status: RewardStatus,
    pub created_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    /// When the hold ends (issued by the scheduler then).
    pub release_at: Option<DateTime<Utc>>,
    /// Flags for staff: `yearly_cap`, `redeemed_before_reversal`, `override`.
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub audit: Vec<RewardChange>,
    /// A gift card ordered from the business's provider: where the order stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<GiftCardOrder>,
}

/// Where a gift card ordered from the provider stands. The reward stays `approved` until the
/// provider says the card was delivered; until then the scheduler follows (or retries) it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftCardOrder {
    pub state: OrderState,
    /// The provider's id for the order, once it answered.
    #[serde(default)]
    pub order_id: Option<String>,
    /// Why the last attempt failed, for staff.
    #[serde(default)]
    pub reason: Option<String>,
    /// Attempts that failed in a row (they set how long the next one waits).
    #[serde(default)]
    pub failures: u32,
    /// Orders the provider failed for good (nothing was paid); the next order is a new one.
    #[serde(default)]
    pub failed_orders: u32,
    /// Answers in a row that the order is on its way (they set when it is asked about next).
    #[serde(default)]
    pub follows: u32,
    /// When it last changed.
    pub at: DateTime<Utc>,
    /// When the scheduler next orders, follows or retries it.
    pub next_at: DateTime<Utc>,
}

impl GiftCardOrder {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            state: OrderState::Ordering,
            order_id: None,
            reason: None,
            failures: 0,
            failed_orders: 0,
            follows: 0,
            at,
            next_at: at,
        }
    }

    /// The provider's idempotency key: the reward id, so that asking again can never buy a
    /// second card; after an order the provider failed for good, the reward id and a count.
    pub fn external_id(&self, reward_id: &str) -> String {
        match self.failed_orders {
            0 => reward_id.to_owned(),
            n => format!("{reward_id}-{n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// To be ordered (or asked again, if the last answer was lost).
    Ordering,
    /// Ordered; waiting for the provider to deliver it.
    Ordered,
    /// The last attempt failed; retried by the scheduler.
    Failed,
    /// Delivered to the recipient: the reward is issued.
    Delivered,
}

/// What the provider said about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderOutcome {
    Delivered {
        order_id: String,
    },
    /// Accepted, not delivered yet (processing, or waiting for approval in the account).
    Ordered {
        order_id: String,
    },
    /// Not placed or not delivered. `final_order`: the provider failed this order for good
    /// (nothing was paid), so the next attempt places a new one.
    Failed {
        order_id: Option<String>,
        reason: String,
        final_order: bool,
    },
}

impl Reward {
    pub fn change(&mut self, to: RewardStatus, by: &str, note: Option<String>, at: DateTime<Utc>) {
        self.status = to;
        if to == RewardStatus::Issued {
            self.issued_at = Some(at);
        }
        self.audit.push(RewardChange {
            at,
            status: to,
            by: by.to_owned(),
            note,
        });
    }

    /// The reward's value in cents, when it has one (percent discounts have none).
    pub fn cents(&self) -> i64 {
        self.amount_cents.map_or(0, Money::cents)
    }

    /// When the scheduler next looks at it: a gift-card order being placed or followed, else
    /// the end of its hold.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        self.order
            .as_ref()
            .filter(|o| o.state != OrderState::Delivered)
            .map(|o| o.next_at)
            .or(self.release_at)
    }

    /// Service credit and discount codes are fulfilled by Vouch itself; gift cards (with the
    /// default manual provider) and custom rewards by staff.
    pub fn fulfils_itself(&self) -> bool {
        matches!(self.kind, RewardType::ServiceCredit | RewardType::Discount)
    }

    /// In words, for texts: "$25.00 account credit", "10% off", "a $50.00 gift card".
    pub fn text(&self, currency: &Currency) -> String {
        wording(
            self.kind,
            self.amount_cents,
            self.percent,
            &self.description,
            currency,
        )
    }
}

/// How a reward of this kind and amount is said.
pub fn wording(
    kind: RewardType,
    amount_cents: Option<Money>,
    percent: Option<u8>,
    description: &str,
    currency: &Currency,
) -> String {
    let amount = amount_cents.map(|m| m.display(currency));
    match (kind, amount, percent) {
        (RewardType::Discount, _, Some(percent)) => format!("{percent}% off"),
        (RewardType::Discount, Some(amount), None) => format!("{amount} off"),
        (RewardType::GiftCard, Some(amount), _) => format!("a {amount} gift card"),
        (RewardType::ServiceCredit, Some(amount), _) => {
            format!("{amount} {}", description.to_lowercase())
        }
        _ => description.to_owned(),
    }
}

/// A participant's own reward, replacing the program's tiers for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardOverride {
    #[serde(rename = "type")]
    pub kind: RewardType,
    #[serde(default)]
    pub amount_cents: Option<Money>,
    #[serde(default)]
    pub percent: Option<u8>,
    pub description: String,
}

impl RewardOverride {
    /// A reason per bad field.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.description.trim().is_empty() || self.description.chars().count() > 200 {
            return Err(("description", "must be 1-200 characters"));
        }
        match (self.kind, self.amount_cents, self.percent) {
            (_, Some(m), _) if m.cents() <= 0 => Err(("amount_cents", "must be positive")),
            (_, _, Some(p)) if !(1..=100).contains(&p) => Err(("percent", "must be 1-100")),
            (RewardType::Discount, None, None) => {
                Err(("amount_cents", "a discount needs amount_cents or percent"))
            }
            (RewardType::ServiceCredit | RewardType::GiftCard, None, _) => {
                Err(("amount_cents", "is required for this reward type"))
            }
            _ => Ok(()),
        }
    }
}

/// A fresh discount code: `VOUCH-` and eight symbols of the referral-code alphabet.
pub fn discount_code(rng: &mut impl rand::Rng) -> String {
    format!("VOUCH-{}", ReferralCode::generate(rng))
}

/// One entry of a participant's service-credit ledger. Entries are only ever added; the
/// balance is their sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// `{reward_id}#credit` or `{reward_id}#reversal`: at most one of each per reward.
    pub entry_id: String,
    pub customer_id: CustomerId,
    pub reward_id: String,
    /// Positive for a credit, negative for a reversal.
    pub amount_cents: i64,
    pub at: DateTime<Utc>,
}

pub fn balance(entries: &[LedgerEntry]) -> i64 {
    entries.iter().map(|e| e.amount_cents).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_transitions_follow_the_state_machine() {
        use RewardStatus::*;
        assert!(Pending.staff_may_move_to(Approved));
        assert!(Approved.staff_may_move_to(Issued));
        assert!(Issued.staff_may_move_to(Redeemed));
        assert!(!Issued.staff_may_move_to(Canceled));
        assert!(!Redeemed.staff_may_move_to(Issued));
        assert!(!Canceled.staff_may_move_to(Approved));
        assert!(!Pending.staff_may_move_to(Issued));
    }

    #[test]
    fn discount_codes_are_prefixed_and_distinct() {
        let mut rng = rand::rng();
        let a = discount_code(&mut rng);
        assert!(a.starts_with("VOUCH-") && a.len() == 14, "{a}");
        assert_ne!(a, discount_code(&mut rng));
    }
}
