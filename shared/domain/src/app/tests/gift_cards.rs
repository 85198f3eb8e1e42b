//! Gift cards ordered from the business's provider, over the in-memory provider: ordered once
//! the reward is approved, followed until delivered and only then issued; refusals and lost
//! answers retried with backoff, and never a second card for one reward.

use chrono::Duration;
use serde_json::{Value, json};

use crate::decide::{FOLLOW_ORDER, order_retry};
use crate::model::message::Purpose;
use crate::model::referral::Status as RefStatus;
use crate::model::reward::{OrderState, Reward, RewardStatus};
use crate::model::settings::GiftCardProvider;
use crate::ports::Recipients;
use crate::testing::gift_cards::contract;
use crate::testing::{FakeGiftCards, GIFT_CARD_KEY, LINKS, World, settings_with};

use super::rewards::invoiced;

fn ordered_from_provider() -> Value {
    json!({
        "reward": {"type": "gift_card", "description": "Gift card",
                   "tiers": [{"from_referral": 1, "amount_cents": 5000}]},
        "integrations": {"gift_cards": {"provider": "tremendous", "api_key": GIFT_CARD_KEY,
                                        "funding_source_id": "balance"}}
    })
}

/// Maria refers Dana; Dana's job is invoiced and the issuer runs: Maria's gift card is approved.
async fn approved_gift_card(w: &World) -> Reward {
    invoiced(w).await;
    w.run_issuer().await;
    reward(w)
}

fn reward(w: &World) -> Reward {
    let mut rewards = w.store.all_rewards();
    assert_eq!(rewards.len(), 1, "{rewards:?}");
    rewards.remove(0)
}

async fn sweep(w: &World) {
    w.vouch.sweep(LINKS).await.unwrap();
}

#[tokio::test]
async fn the_in_memory_provider_keeps_the_gift_card_contract() {
    let settings = settings_with(&ordered_from_provider());
    let account: GiftCardProvider = settings.integrations.gift_cards.unwrap();
    contract(
        &FakeGiftCards::default(),
        &account,
        "01JD0000000000000000000000",
    )
    .await;
}

#[tokio::test]
async fn a_gift_card_is_ordered_followed_and_issued_only_once_delivered() {
    let w = World::with(ordered_from_provider()).await;
    let approved = approved_gift_card(&w).await;
    assert_eq!(approved.status, RewardStatus::Approved);
    let order = approved.order.clone().expect("marked for ordering");
    assert_eq!(order.state, OrderState::Ordering);
    assert!(w.gift_cards.orders().is_empty(), "ordered by the scheduler");

    sweep(&w).await;
    let orders = w.gift_cards.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].request.external_id, approved.reward_id);
    assert_eq!(orders[0].request.amount_cents, 5000);
    assert_eq!(orders[0].request.currency, "USD");
    assert_eq!(orders[0].request.recipient_name, "Maria Garcia");
    assert_eq!(
        orders[0].request.recipient_phone.as_deref(),
        Some("+15125550123")
    );
    let ordered = reward(&w);
    assert_eq!(ordered.status, RewardStatus::Approved, "not delivered yet");
    let order = ordered.order.clone().unwrap();
    assert_eq!(order.state, OrderState::Ordered);
    assert_eq!(order.order_id.as_deref(), Some(orders[0].order_id.as_str()));
    assert!(w.messages_of(Purpose::Reward).is_empty());

    // Not looked at again before it is due.
    sweep(&w).await;
    assert_eq!(reward(&w).order.unwrap().state, OrderState::Ordered);

    w.clock.advance(FOLLOW_ORDER);
    sweep(&w).await;
    let issued = reward(&w);
    assert_eq!(issued.status, RewardStatus::Issued);
    assert_eq!(issued.order.as_ref().unwrap().state, OrderState::Delivered);
    let last = issued.audit.last().unwrap();
    assert_eq!(last.by, "tremendous");
    assert!(last.note.as_deref().unwrap().contains(&orders[0].order_id));
    assert_eq!(w.only_referral().status, RefStatus::Rewarded);
    assert_eq!(w.messages_of(Purpose::Reward).len(), 1);
    assert_eq!(w.stats("cus_1").await.rewards_earned_cents, 5000);

    // Off the scheduler's list: nothing more happens.
    w.clock.advance(Duration::hours(1));
    sweep(&w).await;
    assert_eq!(w.gift_cards.orders().len(), 1);
    assert_eq!(w.messages_of(Purpose::Reward).len(), 1);
}

#[tokio::test]
async fn a_lost_answer_and_racing_schedulers_never_buy_a_second_card() {
    let w = World::with(ordered_from_provider()).await;
    approved_gift_card(&w).await;
    w.gift_cards.lose_answers(1);
    sweep(&w).await;
    let failed = reward(&w);
    let order = failed.order.clone().unwrap();
    assert_eq!(failed.status, RewardStatus::Approved);
    assert_eq!(order.state, OrderState::Failed);
    assert_eq!(order.order_id, None, "the answer was lost");
    assert!(
        order.reason.as_deref().unwrap().contains("did not answer"),
        "{order:?}"
    );
    assert_eq!(w.gift_cards.orders().len(), 1, "the order was placed");

    w.clock.advance(order_retry(1));
    let (a, b) = tokio::join!(w.vouch.sweep(LINKS), w.vouch.sweep(LINKS));
    a.unwrap();
    b.unwrap();
    let found = reward(&w).order.unwrap();
    assert_eq!(found.state, OrderState::Ordered);
    assert_eq!(
        found.order_id.as_deref(),
        Some(w.gift_cards.orders()[0].order_id.as_str())
    );
    w.clock.advance(FOLLOW_ORDER);
    sweep(&w).await;
    assert_eq!(reward(&w).status, RewardStatus::Issued);
    assert_eq!(w.gift_cards.orders().len(), 1, "one card for one reward");
    assert_eq!(w.messages_of(Purpose::Reward).len(), 1);
}

#[tokio::test]
async fn a_refused_order_stays_approved_with_its_reason_and_is_retried_later() {
    let w = World::with(ordered_from_provider()).await;
    approved_gift_card(&w).await;
    w.gift_cards
        .refuse_next("funding source has insufficient funds (422)");
    sweep(&w).await;
    let refused = reward(&w);
    assert_eq!(refused.status, RewardStatus::Approved);
    let order = refused.order.unwrap();
    assert_eq!(order.state, OrderState::Failed);
    assert_eq!(
        order.reason.as_deref(),
        Some("funding source has insufficient funds (422)")
    );
    assert_eq!(order.failures, 1);

    w.clock.advance(order_retry(1) - Duration::seconds(1));
    sweep(&w).await;
    assert!(w.gift_cards.orders().is_empty(), "waits out its backoff");
    w.clock.advance(Duration::seconds(1));
    sweep(&w).await;
    let ordered = reward(&w).order.unwrap();
    assert_eq!(ordered.state, OrderState::Ordered);
    assert_eq!((ordered.reason, ordered.failures), (None, 0));
}

#[tokio::test]
async fn a_gift_card_staff_canceled_before_its_order_is_never_ordered() {
    let w = World::with(ordered_from_provider()).await;
    let approved = approved_gift_card(&w).await;
    w.vouch
        .move_reward(
            &w.business,
            &approved.reward_id,
            "canceled",
            Some("paid in cash".into()),
            LINKS,
        )
        .await
        .unwrap();
    sweep(&w).await;
    w.clock.advance(Duration::hours(7));
    sweep(&w).await;
    assert!(w.gift_cards.orders().is_empty());
    assert_eq!(reward(&w).status, RewardStatus::Canceled);
    assert!(w.store.due_reward_ids().is_empty());
}

#[test]
fn retries_back_off_from_five_minutes_to_six_hours() {
    let minutes: Vec<i64> = [1, 2, 3, 4, 7, 8, 40]
        .into_iter()
        .map(|n| order_retry(n).num_minutes())
        .collect();
    assert_eq!(minutes, [5, 10, 20, 40, 320, 360, 360]);
}

#[tokio::test]
async fn a_referrer_who_replied_stop_and_has_no_email_gets_no_card_by_text() {
    let w = World::with(ordered_from_provider()).await;
    approved_gift_card(&w).await;
    let maria = crate::values::person::Phone::parse(
        "+15125550123",
        crate::values::person::Country::parse("US").unwrap(),
    )
    .unwrap();
    w.store.set_opted_out(&maria, true, w.now()).await.unwrap();
    sweep(&w).await;
    assert!(w.gift_cards.orders().is_empty());
    let order = reward(&w).order.unwrap();
    assert_eq!(order.state, OrderState::Failed);
    assert!(
        order
            .reason
            .as_deref()
            .unwrap()
            .contains("no email address"),
        "{order:?}"
    );
}

#[tokio::test]
async fn an_order_the_provider_failed_for_good_is_replaced_by_a_new_one() {
    let w = World::with(ordered_from_provider()).await;
    let approved = approved_gift_card(&w).await;
    sweep(&w).await;
    w.gift_cards.fail_placed_orders();
    w.clock.advance(FOLLOW_ORDER);
    sweep(&w).await;
    let failed = reward(&w).order.unwrap();
    assert_eq!(failed.state, OrderState::Failed);
    assert_eq!((failed.order_id, failed.failed_orders), (None, 1));

    w.clock.advance(order_retry(1));
    sweep(&w).await;
    w.clock.advance(FOLLOW_ORDER);
    sweep(&w).await;
    let orders = w.gift_cards.orders();
    let keys: Vec<&str> = orders
        .iter()
        .map(|o| o.request.external_id.as_str())
        .collect();
    let replacement = format!("{}-1", approved.reward_id);
    assert_eq!(keys, [approved.reward_id.as_str(), replacement.as_str()]);
    let issued = reward(&w);
    assert_eq!(issued.status, RewardStatus::Issued);
    assert_eq!(
        issued.order.unwrap().order_id,
        Some(orders[1].order_id.clone())
    );
    assert_eq!(w.messages_of(Purpose::Reward).len(), 1);
}

#[tokio::test]
async fn an_answer_about_an_earlier_order_applied_late_changes_nothing() {
    let w = World::with(ordered_from_provider()).await;
    let approved = approved_gift_card(&w).await;
    sweep(&w).await;
    let before = reward(&w);
    let business = w.vouch.business(&w.business).await.unwrap().unwrap();
    let late = crate::decide::Command::Reward {
        customer_id: approved.lead_customer_id.clone(),
        action: crate::decide::RewardAction::Order {
            reward_id: approved.reward_id.clone(),
            external_id: format!("{}-1", approved.reward_id),
            outcome: crate::model::reward::OrderOutcome::Delivered {
                order_id: "ORDER-OTHER".into(),
            },
        },
        referrer: Some(approved.customer_id.clone()),
    };
    w.vouch.run(&business, &late, None, LINKS).await.unwrap();
    assert_eq!(reward(&w), before, "not the order asked about");
    assert!(w.messages_of(Purpose::Reward).is_empty());
}

#[test]
fn an_order_on_its_way_is_asked_about_less_and_less_often() {
    let minutes: Vec<i64> = [1, 2, 3, 5, 6, 30]
        .into_iter()
        .map(|n| crate::decide::follow_after(n).num_minutes())
        .collect();
    assert_eq!(minutes, [2, 4, 8, 32, 60, 60]);
}
