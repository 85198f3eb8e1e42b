//! Promotions: a time-boxed bonus on rewards made in their window (in the business's time
//! zone), applied once, said in re-engagement texts; their settings checked.

use chrono::Duration;
use serde_json::json;

use super::rewards::closed_friend;
use super::vip::issue;
use crate::model::message::Purpose;
use crate::testing::{LINKS, World, settings_with};

/// Roomy lead limits, and `promotions`.
async fn world(promotions: serde_json::Value) -> World {
    World::with(json!({"promotions": promotions,
        "limits": {"leads_per_ip_per_hour": 50, "leads_per_code_per_day": 50,
                   "review_when_leads_per_code_per_day_over": 50}}))
    .await
}

#[tokio::test]
async fn a_reward_made_in_the_window_gets_the_bonus_once_and_one_after_it_does_not() {
    // The world's clock starts on 23 November 2026 (Chicago).
    let w = world(
        json!([{"name": "Thanksgiving", "from": "2026-11-20", "to": "2026-11-30",
                          "bonus_cents": 1000}]),
    )
    .await;
    let maria = w.referrer().await;
    closed_friend(&w, 1, maria.code.as_str()).await;
    let first = issue(&w, 1).await;
    assert_eq!(first.cents(), 3500);
    assert_eq!(first.flags, vec!["promotion".to_owned()]);
    // The issuer again (a redelivery): the same one reward.
    assert_eq!(issue(&w, 1).await, first);
    assert_eq!(w.store.all_rewards().len(), 1);

    // 30 November is the first day after: no bonus.
    w.clock.advance(Duration::days(7));
    closed_friend(&w, 2, maria.code.as_str()).await;
    let second = issue(&w, 2).await;
    assert_eq!((second.cents(), second.flags.is_empty()), (2500, true));
}

#[tokio::test]
async fn a_multiplier_scales_the_reward_and_reengagement_texts_mention_the_promotion() {
    let w = world(json!([
        {"name": "Black Friday", "from": "2026-11-23", "to": "2026-11-24", "multiplier_percent": 150},
        {"name": "Winter offer", "from": "2027-02-01", "to": "2027-03-01", "bonus_cents": 1000}
    ]))
    .await;
    let maria = w.referrer().await;
    closed_friend(&w, 1, maria.code.as_str()).await;
    assert_eq!(issue(&w, 1).await.cents(), 3750);

    // 91 days on: 22 February, in the winter offer.
    w.clock.advance(Duration::days(91));
    w.vouch.sweep(LINKS).await.unwrap();
    // 91 days after the referral of 23 November, whatever was sent before.
    let texts = w.messages_of(Purpose::Reengagement);
    assert_eq!(texts.len(), 1);
    assert!(
        texts[0]
            .body
            .contains("books. Winter offer: $10 extra for every friend until Feb 28. Your link:"),
        "{}",
        texts[0].body
    );
    // The next period (May): no promotion, no mention.
    w.clock.advance(Duration::days(91));
    w.vouch.sweep(LINKS).await.unwrap();
    let texts = w.messages_of(Purpose::Reengagement);
    assert_eq!(texts.len(), 2);
    let later = texts.iter().find(|t| !t.body.contains("Winter")).unwrap();
    assert!(later.body.contains("books. Your link:"), "{}", later.body);
}

#[test]
fn promotions_are_checked() {
    let bad = |promotions: serde_json::Value| {
        let mut settings = settings_with(&json!({}));
        settings.promotions = serde_json::from_value(promotions).unwrap();
        let mut fields: Vec<String> = settings.check().into_keys().collect();
        fields.sort();
        fields
    };
    assert!(
        bad(json!([{"name": "A", "from": "2027-01-01", "to": "2027-02-01", "bonus_cents": 500}]))
            .is_empty()
    );
    assert_eq!(
        bad(json!([{"name": "A", "from": "2027-02-01", "to": "2027-02-01", "bonus_cents": 500}])),
        ["promotions[0].to"]
    );
    assert_eq!(
        bad(json!([
            {"name": "A", "from": "2027-01-01", "to": "2027-02-01", "bonus_cents": 500},
            {"name": "B", "from": "2027-01-31", "to": "2027-03-01", "bonus_cents": 500}
        ])),
        ["promotions[1].from"]
    );
    assert_eq!(
        bad(
            json!([{"name": "A", "from": "2027-01-01", "to": "2027-02-01",
                    "bonus_cents": 500, "multiplier_percent": 150}])
        ),
        ["promotions[0].bonus_cents"]
    );
    assert_eq!(
        bad(
            json!([{"name": " ", "from": "2027-01-01", "to": "2027-02-01", "multiplier_percent": 100}])
        ),
        ["promotions[0].multiplier_percent", "promotions[0].name"]
    );
    // On a percent discount there is no amount to add to.
    let mut percent = settings_with(&json!({}));
    percent.reward.kind = crate::model::settings::RewardType::Discount;
    percent.reward.tiers[0].amount_cents = None;
    percent.reward.tiers[0].percent = Some(10);
    percent.promotions = serde_json::from_value(
        json!([{"name": "A", "from": "2027-01-01", "to": "2027-02-01", "bonus_cents": 500}]),
    )
    .unwrap();
    assert!(percent.check().contains_key("promotions[0].bonus_cents"));
}
