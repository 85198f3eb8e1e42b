//! emulator: gift cards ordered from Tremendous (the local stand-in, over HTTP) — the adapter
//! keeps the same contract as the in-memory provider, settings keep the API key write-only,
//! and a referred friend's invoice ends in exactly one card for the referrer, whatever the
//! provider refuses or fails to answer on the way.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use vouch_aws::tremendous::Tremendous;
use vouch_domain::model::settings::GiftCardProvider;
use vouch_domain::testing::{GIFT_CARD_KEY, ManualClock, gift_cards::contract};

use crate::harness::{TestApp, spawn_app, texts_containing};
use crate::rewards::{code_of, drain_issuer, friend_closes, happy_maria, rewards};

const LINKS: &str = "https://go.vouch.test";

fn account() -> Value {
    json!({"provider": "tremendous", "api_key": GIFT_CARD_KEY, "funding_source_id": "balance"})
}

/// A $50 gift card from the first referral, ordered from Tremendous.
async fn order_gift_cards(app: &TestApp, key: &str) {
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(key),
            Some(json!({
                "reward": {"type": "gift_card", "description": "Gift card",
                           "tiers": [{"from_referral": 1, "amount_cents": 5000}]},
                "integrations": {"gift_cards": account()}
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// The scheduler's sweep, `minutes` from now.
async fn sweep_at(app: &TestApp, minutes: i64) {
    let clock = Arc::new(ManualClock::at(Utc::now() + Duration::minutes(minutes)));
    app.state
        .vouch
        .with_clock(clock)
        .sweep(LINKS)
        .await
        .unwrap();
}

async fn only_reward(app: &TestApp, key: &str) -> Value {
    let mut all = rewards(app, key, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

#[tokio::test]
async fn the_tremendous_adapter_keeps_the_gift_card_contract_against_the_stand_in() {
    let app = spawn_app().await;
    let account: GiftCardProvider = serde_json::from_value(account()).unwrap();
    let tremendous = Tremendous::new(&app.tremendous.base);
    contract(&tremendous, &account, &ulid::Ulid::new().to_string()).await;
    // The stand-in saw Tremendous's own shapes: the amount in dollars, the delivery method.
    let orders = app.tremendous.orders();
    assert_eq!(orders.len(), 2, "{orders:?}");
    let by_email = &orders[0]["rewards"][0];
    assert_eq!(by_email["value"]["denomination"], json!(50.0));
    assert_eq!(by_email["delivery"]["method"], "EMAIL");
}

#[tokio::test]
async fn the_api_key_is_write_only_and_the_account_is_validated() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    order_gift_cards(&app, &key).await;
    let shown = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(
        shown["integrations"]["gift_cards"],
        json!({"configured": true, "provider": "tremendous", "funding_source_id": "balance"})
    );
    assert!(!shown.to_string().contains(GIFT_CARD_KEY));
    // Sent back as read, nothing changes; a new funding source keeps the key.
    let mut doc = shown.clone();
    doc["integrations"]["gift_cards"]["funding_source_id"] = json!("FUNDING2");
    let reply = app
        .call(Method::PUT, "/api/admin/settings", Some(&key), Some(doc))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json()["integrations"]["gift_cards"]["funding_source_id"],
        "FUNDING2"
    );
    for (bad, field) in [
        (
            json!({"provider": "amazon", "api_key": GIFT_CARD_KEY, "funding_source_id": "balance"}),
            "integrations.gift_cards",
        ),
        (
            json!({"provider": "tremendous", "api_key": "short", "funding_source_id": "balance"}),
            "integrations.gift_cards",
        ),
        (
            json!({"provider": "tremendous", "api_key": GIFT_CARD_KEY, "funding_source_id": "bal ance"}),
            "integrations.gift_cards",
        ),
    ] {
        let reply = app
            .call(
                Method::PUT,
                "/api/admin/settings",
                Some(&key),
                Some(json!({"integrations": {"gift_cards": bad}})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let fields = reply.json()["error"]["fields"].clone();
        assert!(
            fields
                .as_object()
                .is_some_and(|f| f.keys().all(|k| k.starts_with(field))),
            "{fields}"
        );
    }
}

#[tokio::test]
async fn a_referred_friends_invoice_ends_in_exactly_one_card_through_refusals_and_lost_answers() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    order_gift_cards(&app, &key).await;
    let (sqs, queue) = crate::rewards::issuer_queue(&app).await;
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    friend_closes(&app, &secret, &code, 1).await;
    assert_eq!(drain_issuer(&app, &sqs, &queue, 1).await, 1);
    let approved = only_reward(&app, &key).await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["order"]["state"], "ordering");

    // Tremendous refuses the first order (say, the balance is short): staff see why.
    app.tremendous
        .refuse_next("Insufficient funds in the funding source");
    sweep_at(&app, 0).await;
    let refused = only_reward(&app, &key).await;
    assert_eq!(refused["status"], "approved");
    assert_eq!(refused["order"]["state"], "failed");
    let reason = refused["order"]["reason"].as_str().unwrap();
    assert!(reason.contains("(422): Insufficient funds"), "{reason}");
    assert!(app.tremendous.orders().is_empty());
    let (_, owner) =
        crate::dashboard::member(&app, &key, "olivia@acme.example", "Olivia", "owner").await;
    let page = crate::dashboard::get_page(&app, "/admin/rewards?status=approved", Some(&owner))
        .await
        .text();
    assert!(
        page.contains("Gift card order failed")
            && page.contains("Insufficient funds in the funding source"),
        "{page}"
    );

    // The retry places the order but its answer is lost; the next one finds the same order.
    app.tremendous.lose_answers(1);
    sweep_at(&app, 6).await;
    let lost = only_reward(&app, &key).await;
    assert_eq!(lost["order"]["state"], "failed", "{lost}");
    assert_eq!(app.tremendous.orders().len(), 1);
    sweep_at(&app, 6 + 11).await;
    let ordered = only_reward(&app, &key).await;
    assert_eq!(ordered["order"]["state"], "ordered", "{ordered}");
    let order = &app.tremendous.orders()[0];
    assert_eq!(ordered["order"]["order_id"], order["id"]);
    assert_eq!(order["external_id"], approved["reward_id"]);
    assert_eq!(order["rewards"][0]["value"]["denomination"], json!(50.0));
    assert_eq!(order["rewards"][0]["recipient"]["name"], "Maria Garcia");
    assert_eq!(order["rewards"][0]["delivery"]["method"], "PHONE");

    // Followed: delivered, so the reward is issued and Maria thanked, once.
    sweep_at(&app, 6 + 11 + 3).await;
    let issued = only_reward(&app, &key).await;
    assert_eq!(issued["status"], "issued", "{issued}");
    assert_eq!(issued["order"]["state"], "delivered");
    assert_eq!(issued["order"]["next_at"], Value::Null);
    sweep_at(&app, 60).await;
    assert_eq!(app.tremendous.orders().len(), 1, "one card for one reward");
    let thanks = texts_containing("gift card").await;
    assert_eq!(
        thanks.iter().filter(|(to, _)| to == "+15125550140").count(),
        1,
        "{thanks:?}"
    );
}
