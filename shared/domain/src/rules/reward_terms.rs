//! What a referrer earns: the one tier and override lookup, where a new reward starts, and how
//! a reward is said in a text.

use crate::model::reward::{RewardOverride, RewardStatus, wording};
use crate::model::settings::{Approval, RewardType, Settings};
use crate::values::money::{Currency, Money};
use chrono::{DateTime, Utc};

/// What the program (or the participant's override) pays for the `ordinal`-th closed referral.
pub struct Terms {
    pub kind: RewardType,
    pub amount_cents: Option<Money>,
    pub percent: Option<u8>,
    pub description: String,
    pub overridden: bool,
    /// The program tier paid: where it starts (`from_referral`); `None` for an override.
    pub tier: Option<u32>,
    /// The VIP extra included in `amount_cents`.
    pub vip_extra: Option<Money>,
    /// The promotion applied to `amount_cents`, by name.
    pub promotion: Option<String>,
}

pub fn terms(settings: &Settings, ordinal: u32, own: Option<&RewardOverride>) -> Terms {
    if let Some(own) = own {
        return Terms {
            kind: own.kind,
            amount_cents: own.amount_cents,
            percent: own.percent,
            description: own.description.clone(),
            overridden: true,
            tier: None,
            vip_extra: None,
            promotion: None,
        };
    }
    let program = &settings.reward;
    let tier = program
        .tiers
        .iter()
        .rev()
        .find(|t| t.from_referral <= ordinal.max(1))
        .or(program.tiers.first());
    Terms {
        kind: program.kind,
        amount_cents: tier.and_then(|t| t.amount_cents),
        percent: tier.and_then(|t| t.percent),
        description: program.description.clone(),
        overridden: false,
        tier: tier.map(|t| t.from_referral),
        vip_extra: None,
        promotion: None,
    }
}

/// `offer` as made at `now`: with the promotion running then, if any (on an amount only).
pub fn promoted(mut offer: Terms, settings: &Settings, now: DateTime<Utc>) -> Terms {
    if let (Some(promotion), Some(amount)) = (settings.promotion_at(now), offer.amount_cents)
        && let Ok(total) = Money::from_cents(promotion.apply(amount.cents()))
    {
        offer.amount_cents = Some(total);
        offer.promotion = Some(promotion.name.clone());
    }
    offer
}

/// What a referrer with `closed` closed referrals (this one included) earns for the
/// `ordinal`-th: [`terms`], plus the business's VIP extra while they are VIP (only on a reward
/// paid as an amount).
pub fn terms_for(
    settings: &Settings,
    ordinal: u32,
    own: Option<&RewardOverride>,
    closed: u64,
) -> Terms {
    let mut offer = terms(settings, ordinal, own);
    let vip = closed >= u64::from(settings.vip_after);
    if let (true, Some(vip_reward), Some(amount)) = (vip, &settings.vip_reward, offer.amount_cents)
        && let Ok(total) = Money::from_cents(amount.cents() + vip_reward.extra_cents.cents())
    {
        offer.amount_cents = Some(total);
        offer.vip_extra = Some(vip_reward.extra_cents);
    }
    offer
}

/// Where a new reward starts: waiting for staff, held, or ready to fulfil.
pub fn initial_status(settings: &Settings) -> RewardStatus {
    match settings.approval {
        Approval::Manual => RewardStatus::Pending,
        Approval::Auto => RewardStatus::Approved,
    }
}

impl Terms {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(extra: serde_json::Value) -> Settings {
        let mut doc = json!({"reward": {"type": "service_credit", "description": "Account credit",
                       "tiers": [{"from_referral": 1, "amount_cents": 2500},
                                 {"from_referral": 3, "amount_cents": 5000},
                                 {"from_referral": 5, "amount_cents": 10000}]}});
        if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
            doc.extend(extra.clone());
        }
        crate::testing::settings_with(&doc)
    }

    #[test]
    fn tiers_pay_by_the_ordinal_of_the_closed_referral() {
        let s = settings(json!({}));
        let cents = |n| terms(&s, n, None).amount_cents.unwrap().cents();
        assert_eq!(
            (1..=6).map(cents).collect::<Vec<_>>(),
            vec![2500, 2500, 5000, 5000, 10000, 10000]
        );
    }

    #[test]
    fn a_participants_override_replaces_the_tiers() {
        let s = settings(json!({}));
        let own = RewardOverride {
            kind: RewardType::GiftCard,
            amount_cents: Some(Money::from_cents(7500).unwrap()),
            percent: None,
            description: "Gift card".into(),
        };
        let t = terms(&s, 1, Some(&own));
        assert!(t.overridden);
        assert_eq!(t.kind, RewardType::GiftCard);
        assert_eq!(t.amount_cents.unwrap().cents(), 7500);
        assert!(own.check().is_ok());
        let bad = RewardOverride {
            amount_cents: None,
            ..own
        };
        assert_eq!(bad.check().unwrap_err().0, "amount_cents");
    }
}
