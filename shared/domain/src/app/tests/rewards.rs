//! Rewards over the in-memory fakes: the issuer, tiers, approval, holds, caps, overrides,
//! fulfilment, staff moves and reversals; a state-machine property test, a concurrency test
//! and fault injection on the issuer's path.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::app::{AWAIT_GRACE, Issued, Ports, Qualified, Review, ServiceConfig, Vouch};
use crate::decide::{LoadKeys, Plan, Refusal, Snapshot};
use crate::model::events::{DomainEvent, REFERRAL_QUALIFIED, REWARD_ISSUED, REWARD_REVERSED};
use crate::model::job::JobStatus;
use crate::model::message::Purpose;
use crate::model::referral::Status as RefStatus;
use crate::model::reward::{LedgerEntry, Recipient, Reward, RewardOverride, RewardStatus};
use crate::model::settings::RewardType;
use crate::ports::{Finish, ProgramStore, SendError};
use crate::testing::{
    InMemoryStore, LINKS, OPERATOR_KEY, World, customer, customer_id, form, friend, job, qualified,
    upsert,
};
use crate::values::error::Error;
use crate::values::ids::BusinessId;
use crate::values::money::Money;
use crate::values::secrets::{IpHasher, PageKey};

/// Service credit in three tiers: $25 from the first closed referral, $50 from the third,
/// $100 from the fifth.
fn credit() -> Value {
    json!({"type": "service_credit", "description": "Account credit",
           "tiers": [{"from_referral": 1, "amount_cents": 2500}, {"from_referral": 3, "amount_cents": 5000},
                     {"from_referral": 5, "amount_cents": 10000}]})
}

/// Lead limits roomy enough for several friends of one referrer in a day.
fn roomy() -> Value {
    json!({"leads_per_ip_per_hour": 50, "leads_per_code_per_day": 50,
           "review_when_leads_per_code_per_day_over": 50})
}

/// Every `referral.qualified` published so far, as the issuer reads it.
fn qualified_events(w: &World) -> Vec<Qualified> {
    w.events
        .published()
        .into_iter()
        .filter(|e| e.detail_type == REFERRAL_QUALIFIED)
        .map(|e| qualified(&e.detail()))
        .collect()
}

fn rewards_of(w: &World, customer: &str) -> Vec<Reward> {
    w.store
        .all_rewards()
        .into_iter()
        .filter(|r| r.customer_id.as_str() == customer)
        .collect()
}

fn ledger_of(w: &World, customer: &str) -> Vec<LedgerEntry> {
    w.store
        .ledger_entries()
        .into_iter()
        .filter(|e| e.customer_id.as_str() == customer)
        .collect()
}

/// Friend `n` of Maria arrives through the form and the software (as `sw_n`), and is invoiced
/// (job `job_n`).
pub(super) async fn closed_friend(w: &World, n: u32, code: &str) {
    let phone = format!("512-555-02{n:02}");
    w.submit_from(
        form(json!({"business_id": "acme", "name": format!("Friend {n}"), "phone": phone, "ref": code})),
        Some(IpAddr::from([192, 0, 2, u8::try_from(n).unwrap()])),
    )
    .await
    .unwrap();
    let id = format!("sw_{n}");
    w.deliver(
        &format!("u{n}"),
        upsert(customer(&id, "Friend", Some(&phone))),
    )
    .await
    .unwrap();
    w.deliver(
        &format!("j{n}"),
        job(
            &format!("job_{n}"),
            &id,
            JobStatus::Invoiced,
            "2026-11-24T16:00:00Z",
            Some(30000),
        ),
    )
    .await
    .unwrap();
}

/// Maria's friend Dana (cus_9) is invoiced: the referral qualifies.
pub(super) async fn invoiced(w: &World) {
    w.referred_customer().await;
    w.deliver(
        "inv",
        job(
            "job_9",
            "cus_9",
            JobStatus::Invoiced,
            "2026-11-24T16:00:00Z",
            Some(42000),
        ),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_qualified_referral_pays_the_first_tier_once_and_thanks_the_referrer() {
    let w = World::with(json!({"reward": credit()})).await;
    invoiced(&w).await;
    w.run_issuer().await;
    w.run_issuer().await;
    let rewards = rewards_of(&w, "cus_1");
    assert_eq!(rewards.len(), 1);
    let reward = &rewards[0];
    assert_eq!(reward.status, RewardStatus::Issued);
    assert_eq!(reward.cents(), 2500);
    assert_eq!(reward.ordinal, 1);
    let (_, balance) = w
        .vouch
        .ledger(&w.business, &customer_id("cus_1"))
        .await
        .unwrap();
    assert_eq!(balance, 2500);
    let stats = w.stats("cus_1").await;
    assert_eq!(stats.rewards_earned_cents, 2500);
    assert_eq!(stats.rewards_pending_cents, 0);
    assert_eq!(w.only_referral().status, RefStatus::Rewarded);
    let texts: Vec<_> = w
        .store
        .messages()
        .into_iter()
        .filter(|m| matches!(m.purpose, Purpose::Reward | Purpose::ThankYou))
        .collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(
        texts
            .iter()
            .all(|m| m.to.as_ref().unwrap().as_e164() == "+15125550123")
    );
    assert!(
        texts.iter().any(|m| m.body.contains("$25 account credit")),
        "{texts:#?}"
    );
    let issued: Vec<_> = w
        .events
        .published()
        .into_iter()
        .filter(|e| e.detail_type == REWARD_ISSUED)
        .collect();
    assert_eq!(issued.len(), 1);
    let detail = issued[0].detail();
    assert_eq!(detail["customer_id"], "cus_1");
    assert_eq!(detail["amount_cents"], 2500);
    assert_eq!(detail["type"], "service_credit");
    assert_eq!(detail["currency"], "USD");
}

#[tokio::test]
async fn the_same_event_twice_is_a_duplicate_and_another_event_changes_nothing() {
    let w = World::with(json!({"reward": credit()})).await;
    invoiced(&w).await;
    let event = qualified_events(&w).remove(0);
    let first = w.vouch.issue_reward(&event, LINKS).await.unwrap();
    assert_eq!(first, Issued::Done);
    w.vouch.issue_reward(&event, LINKS).await.unwrap();
    let other = Qualified {
        event_id: "01JZZZZZZZZZZZZZZZZZZZZZZZ".into(),
        ..event.clone()
    };
    w.vouch.issue_reward(&other, LINKS).await.unwrap();
    assert_eq!(rewards_of(&w, "cus_1").len(), 1);
    assert_eq!(ledger_of(&w, "cus_1").len(), 1);
}

#[tokio::test]
async fn the_third_closed_referral_pays_the_third_tier() {
    let w = World::with(json!({"reward": credit(), "limits": roomy()})).await;
    let maria = w.referrer().await;
    for n in 1..=3 {
        closed_friend(&w, n, maria.code.as_str()).await;
    }
    w.run_issuer().await;
    let mut paid: Vec<(u32, i64)> = rewards_of(&w, "cus_1")
        .iter()
        .map(|r| (r.ordinal, r.cents()))
        .collect();
    paid.sort_unstable();
    assert_eq!(paid, vec![(1, 2500), (2, 2500), (3, 5000)]);
    let (_, balance) = w
        .vouch
        .ledger(&w.business, &customer_id("cus_1"))
        .await
        .unwrap();
    assert_eq!(balance, 10000);
}

#[tokio::test]
async fn manual_approval_waits_for_staff_and_the_state_machine_is_enforced() {
    let w = World::with(json!({"reward": credit(), "approval": "manual"})).await;
    invoiced(&w).await;
    w.run_issuer().await;
    let reward = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(reward.status, RewardStatus::Pending);
    assert_eq!(w.stats("cus_1").await.rewards_pending_cents, 2500);
    let forbidden = w
        .vouch
        .move_reward(&w.business, &reward.reward_id, "redeemed", None, LINKS)
        .await;
    assert!(
        matches!(
            forbidden,
            Err(Error::Conflict {
                code: "invalid_transition",
                ..
            })
        ),
        "{forbidden:?}"
    );
    let approved = w
        .vouch
        .acting_as("Sam (staff)")
        .move_reward(
            &w.business,
            &reward.reward_id,
            "approved",
            Some("ok by Sam".into()),
            LINKS,
        )
        .await
        .unwrap();
    // Service credit fulfils itself once approved.
    assert_eq!(approved.status, RewardStatus::Issued);
    assert!(
        approved
            .audit
            .iter()
            .any(|c| c.by == "Sam (staff)" && c.note.as_deref() == Some("ok by Sam"))
    );
    let redeemed = w
        .vouch
        .move_reward(&w.business, &reward.reward_id, "redeemed", None, LINKS)
        .await
        .unwrap();
    assert_eq!(redeemed.status, RewardStatus::Redeemed);
    let back = w
        .vouch
        .move_reward(&w.business, &reward.reward_id, "canceled", None, LINKS)
        .await;
    assert!(matches!(back, Err(Error::Conflict { .. })));
    let bad = w
        .vouch
        .move_reward(&w.business, &reward.reward_id, "reversed", None, LINKS)
        .await;
    assert!(matches!(bad, Err(Error::Validation(_))));
    let stats = w.stats("cus_1").await;
    assert_eq!(
        (stats.rewards_earned_cents, stats.rewards_pending_cents),
        (2500, 0)
    );
}

#[tokio::test]
async fn a_held_reward_is_released_by_the_scheduler_after_the_hold() {
    let w = World::with(json!({"reward": credit(), "hold_days": 14})).await;
    invoiced(&w).await;
    w.run_issuer().await;
    let reward = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(reward.status, RewardStatus::Approved);
    assert!(reward.release_at.is_some());
    w.vouch.sweep(LINKS).await.unwrap();
    assert_eq!(rewards_of(&w, "cus_1")[0].status, RewardStatus::Approved);
    w.clock.advance(Duration::days(15));
    let sweep = w.vouch.sweep(LINKS).await.unwrap();
    assert_eq!(sweep.rewards_released, 1);
    assert_eq!(rewards_of(&w, "cus_1")[0].status, RewardStatus::Issued);
    assert_eq!(ledger_of(&w, "cus_1").len(), 1);
    // Nothing left for the scheduler.
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().rewards_released, 0);
}

#[tokio::test]
async fn a_job_canceled_inside_the_hold_voids_the_reward() {
    let w = World::with(json!({"reward": credit(), "hold_days": 14})).await;
    invoiced(&w).await;
    w.run_issuer().await;
    w.deliver(
        "cancel",
        job(
            "job_9",
            "cus_9",
            JobStatus::Canceled,
            "2026-11-25T16:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    let reward = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(reward.status, RewardStatus::Canceled);
    assert_eq!(w.only_referral().status, RefStatus::Reversed);
    w.clock.advance(Duration::days(15));
    w.vouch.sweep(LINKS).await.unwrap();
    assert!(ledger_of(&w, "cus_1").is_empty());
    let stats = w.stats("cus_1").await;
    assert_eq!(
        (
            stats.rewards_earned_cents,
            stats.rewards_pending_cents,
            stats.closed
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn deleting_the_attribution_reverses_an_issued_reward_with_a_ledger_entry() {
    let w = World::with(json!({"reward": credit()})).await;
    invoiced(&w).await;
    w.run_issuer().await;
    let id = w.only_referral().referral_id;
    w.vouch
        .review_referral(&w.business, &id, Review::Delete)
        .await
        .unwrap();
    let reward = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(reward.status, RewardStatus::Reversed);
    let ledger = ledger_of(&w, "cus_1");
    assert_eq!(ledger.len(), 2);
    assert_eq!(crate::model::reward::balance(&ledger), 0);
    assert_eq!(w.events_of(REWARD_REVERSED), 1);
    assert_eq!(w.stats("cus_1").await.rewards_earned_cents, 0);
}

#[tokio::test]
async fn reversing_a_redeemed_reward_flags_it_for_staff() {
    let w = World::with(json!({"reward": credit()})).await;
    invoiced(&w).await;
    w.run_issuer().await;
    let reward = rewards_of(&w, "cus_1").remove(0);
    w.vouch
        .move_reward(&w.business, &reward.reward_id, "redeemed", None, LINKS)
        .await
        .unwrap();
    let id = w.only_referral().referral_id;
    w.vouch
        .review_referral(&w.business, &id, Review::Delete)
        .await
        .unwrap();
    let reward = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(reward.status, RewardStatus::Reversed);
    assert!(
        reward
            .flags
            .contains(&"redeemed_before_reversal".to_owned())
    );
    // Credit, then its use on an invoice; a used credit has nothing left to take back.
    let ledger = ledger_of(&w, "cus_1");
    assert_eq!(ledger.len(), 2, "{ledger:#?}");
    assert_eq!(crate::model::reward::balance(&ledger), 0);
}

#[tokio::test]
async fn a_voided_reward_does_not_use_up_the_yearly_cap() {
    let w = World::with(
        json!({"reward": credit(), "max_rewards_per_year": 1, "hold_days": 14,
                               "limits": roomy()}),
    )
    .await;
    let maria = w.referrer().await;
    closed_friend(&w, 1, maria.code.as_str()).await;
    w.run_issuer().await;
    w.deliver(
        "c1",
        job(
            "job_1",
            "sw_1",
            JobStatus::Canceled,
            "2026-11-25T16:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    closed_friend(&w, 2, maria.code.as_str()).await;
    w.run_issuer().await;
    w.clock.advance(Duration::days(15));
    w.vouch.sweep(LINKS).await.unwrap();
    let mut statuses: Vec<(u32, RewardStatus)> = rewards_of(&w, "cus_1")
        .iter()
        .map(|r| (r.ordinal, r.status))
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        vec![(1, RewardStatus::Issued), (1, RewardStatus::Canceled)],
        "the second friend's reward is the first of the year"
    );
}

#[tokio::test]
async fn the_friends_reward_follows_the_attribution_and_is_given_once() {
    let w = World::with(json!({"reward": credit(),
        "referee_reward": {"type": "service_credit", "description": "Welcome credit", "amount_cents": 1500}}))
    .await;
    w.enrol("cus_2", "Mario", "Rossi", "512-555-0124").await;
    invoiced(&w).await;
    w.run_issuer().await;
    let referee = |w: &World| -> Vec<Reward> {
        w.store
            .all_rewards()
            .into_iter()
            .filter(|r| r.recipient == Recipient::Referee)
            .collect()
    };
    assert_eq!(referee(&w).len(), 1);
    assert_eq!(referee(&w)[0].status, RewardStatus::Issued);
    // Staff give the friend to Mario instead: the first attribution's rewards are reversed,
    // and the friend is rewarded once at most.
    let lead = w.only_referral_of("cus_1").lead.customer_id.to_string();
    w.vouch
        .attribute(&w.business, &lead, "cus_2", true)
        .await
        .unwrap();
    w.run_issuer().await;
    let friend = referee(&w);
    assert_eq!(friend.len(), 1, "{friend:#?}");
    assert_eq!(friend[0].status, RewardStatus::Reversed);
    assert_eq!(rewards_of(&w, "cus_2").len(), 1);
    let issued_for_friend = w
        .events
        .published()
        .iter()
        .filter(|e| e.detail_type == REWARD_ISSUED && e.data["recipient"] == "referee")
        .count();
    assert_eq!(issued_for_friend, 1);
}

#[tokio::test]
async fn a_qualification_the_bus_never_delivered_is_rewarded_by_the_scheduler() {
    let w = World::with(json!({"reward": credit()})).await;
    invoiced(&w).await;
    // No issuer run: the event was lost.
    w.vouch.sweep(LINKS).await.unwrap();
    assert!(
        rewards_of(&w, "cus_1").is_empty(),
        "the bus gets its grace period"
    );
    w.clock.advance(AWAIT_GRACE + Duration::minutes(1));
    w.vouch.sweep(LINKS).await.unwrap();
    assert_eq!(rewards_of(&w, "cus_1").len(), 1);
    assert_eq!(rewards_of(&w, "cus_1")[0].status, RewardStatus::Issued);
    // Once only, however late the event then arrives.
    w.run_issuer().await;
    w.clock.advance(AWAIT_GRACE + Duration::minutes(1));
    w.vouch.sweep(LINKS).await.unwrap();
    assert_eq!(rewards_of(&w, "cus_1").len(), 1);
    assert_eq!(ledger_of(&w, "cus_1").len(), 1);
}

#[tokio::test]
async fn the_yearly_cap_cancels_rewards_beyond_it() {
    let w = World::with(json!({"reward": credit(), "max_rewards_per_year": 1, "limits": roomy()}))
        .await;
    let maria = w.referrer().await;
    for n in 1..=2 {
        closed_friend(&w, n, maria.code.as_str()).await;
    }
    w.run_issuer().await;
    let mut statuses: Vec<(u32, RewardStatus, bool)> = rewards_of(&w, "cus_1")
        .iter()
        .map(|r| {
            (
                r.ordinal,
                r.status,
                r.flags.contains(&"yearly_cap".to_owned()),
            )
        })
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        vec![
            (1, RewardStatus::Issued, false),
            (2, RewardStatus::Canceled, true)
        ]
    );
}

#[tokio::test]
async fn a_participants_own_gift_card_waits_for_staff_to_mark_it_issued() {
    let w = World::with(json!({"reward": credit()})).await;
    w.referrer().await;
    w.vouch
        .set_reward_override(
            &w.business,
            "cus_1",
            Some(RewardOverride {
                kind: RewardType::GiftCard,
                amount_cents: Some(Money::from_cents(5000).unwrap()),
                percent: None,
                description: "Coffee gift card".into(),
            }),
        )
        .await
        .unwrap();
    let maria = w.vouch.participant(&w.business, "cus_1").await.unwrap();
    w.submit(friend(maria.code.as_str())).await.unwrap();
    w.deliver(
        "u1",
        upsert(customer("cus_9", "Dana", Some("512-555-0188"))),
    )
    .await
    .unwrap();
    w.deliver(
        "inv",
        job(
            "job_9",
            "cus_9",
            JobStatus::Invoiced,
            "2026-11-24T16:00:00Z",
            Some(42000),
        ),
    )
    .await
    .unwrap();
    w.run_issuer().await;
    let reward = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(reward.kind, RewardType::GiftCard);
    assert_eq!(reward.status, RewardStatus::Approved);
    assert!(reward.flags.contains(&"override".to_owned()));
    let issued = w
        .vouch
        .move_reward(
            &w.business,
            &reward.reward_id,
            "issued",
            Some("card #123 mailed".into()),
            LINKS,
        )
        .await
        .unwrap();
    assert_eq!(issued.status, RewardStatus::Issued);
    assert!(
        ledger_of(&w, "cus_1").is_empty(),
        "a gift card is not service credit"
    );
    assert_eq!(w.stats("cus_1").await.rewards_earned_cents, 5000);
    assert_eq!(w.only_referral().status, RefStatus::Rewarded);
}

#[tokio::test]
async fn discount_rewards_carry_a_unique_code_and_the_friend_gets_theirs() {
    let w = World::with(json!({
        "reward": {"type": "discount", "description": "Discount", "tiers": [{"from_referral": 1, "percent": 10}]},
        "referee_reward": {"type": "discount", "description": "First job discount", "amount_cents": 2000}
    }))
    .await;
    invoiced(&w).await;
    w.run_issuer().await;
    let referrer = rewards_of(&w, "cus_1").remove(0);
    assert_eq!(referrer.percent, Some(10));
    assert_eq!(referrer.status, RewardStatus::Issued);
    let code = referrer.code.clone().unwrap();
    assert!(code.starts_with("VOUCH-"));
    let referee: Vec<_> = w
        .store
        .all_rewards()
        .into_iter()
        .filter(|r| r.recipient == Recipient::Referee)
        .collect();
    assert_eq!(referee.len(), 1);
    assert_eq!(referee[0].cents(), 2000);
    assert_ne!(referee[0].code, Some(code));
    assert_eq!(w.store.discount_codes().len(), 2);
    let issued: Vec<Value> = w
        .events
        .published()
        .iter()
        .filter(|e| e.detail_type == REWARD_ISSUED)
        .map(DomainEvent::detail)
        .collect();
    assert_eq!(issued.len(), 2);
    assert!(
        issued
            .iter()
            .any(|d| d["recipient"] == "referee" && d["amount_cents"] == 2000)
    );
    assert!(
        issued
            .iter()
            .any(|d| d["recipient"] == "referrer" && d["percent"] == 10 && d["code"].is_string())
    );
}

// ---------------------------------------------------------------- concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_qualification_fired_many_times_at_once_pays_once() {
    let w = Arc::new(World::with(json!({"reward": credit()})).await);
    invoiced(&w).await;
    let event = qualified_events(&w).remove(0);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let w = w.clone();
        let mut event = event.clone();
        // Half repeat the event id, half are distinct deliveries of the same qualification.
        if i % 2 == 1 {
            event.event_id = ulid::Ulid::new().to_string();
        }
        tasks.push(tokio::spawn(async move {
            w.vouch.issue_reward(&event, LINKS).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(rewards_of(&w, "cus_1").len(), 1);
    assert_eq!(ledger_of(&w, "cus_1").len(), 1);
    assert_eq!(w.stats("cus_1").await.rewards_earned_cents, 2500);
    assert_eq!(w.messages_of(Purpose::Reward).len(), 1);
}

// ---------------------------------------------------------------- fault injection

/// A store that fails one load or commit (the `n`-th), optionally after the commit landed.
struct Flaky {
    inner: Arc<InMemoryStore>,
    calls: std::sync::Mutex<usize>,
    fail_at: usize,
    after_landing: bool,
}

#[async_trait]
impl ProgramStore for Flaky {
    async fn load(&self, business: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        let n = self.tick();
        if n == self.fail_at {
            anyhow::bail!("throttled (load {n})");
        }
        self.inner.load(business, keys).await
    }

    async fn commit(
        &self,
        business: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<Result<(), Refusal>> {
        let n = self.tick();
        if n == self.fail_at {
            if self.after_landing {
                let _ = self.inner.commit(business, plan).await?;
                anyhow::bail!("timed out after the write (commit {n})");
            }
            anyhow::bail!("500 (commit {n})");
        }
        self.inner.commit(business, plan).await
    }

    async fn finish(&self, business: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        let n = self.tick();
        if n == self.fail_at {
            anyhow::bail!("throttled (finish {n})");
        }
        self.inner.finish(business, finish).await
    }
}

impl Flaky {
    fn tick(&self) -> usize {
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        *calls
    }
}

/// The world's application over the same fakes, with its program store replaced.
fn with_program(w: &World, program: Arc<dyn ProgramStore>) -> Vouch {
    let mut ports = Ports::new(
        w.store.clone(),
        w.sms.clone(),
        w.events.clone(),
        w.clock.clone(),
    );
    ports.program = program;
    Vouch::new(
        ports,
        ServiceConfig {
            operator_key: Some(OPERATOR_KEY.into()),
            ip_hasher: IpHasher::new(b"k"),
            page_key: PageKey::derive(b"k"),
        },
    )
}

#[tokio::test]
async fn a_failure_at_any_call_of_the_issuers_path_ends_in_exactly_one_reward() {
    for after_landing in [false, true] {
        for fail_at in 1..=5 {
            for dependency in ["store", "sms", "bus"] {
                let w = World::with(json!({"reward": credit()})).await;
                invoiced(&w).await;
                let event = qualified_events(&w).remove(0);
                let issuer = if dependency == "store" {
                    with_program(
                        &w,
                        Arc::new(Flaky {
                            inner: w.store.clone(),
                            calls: std::sync::Mutex::new(0),
                            fail_at,
                            after_landing,
                        }),
                    )
                } else {
                    if dependency == "sms" && fail_at == 1 {
                        w.sms
                            .fail_next(SendError::Transient(anyhow::anyhow!("SNS 500")));
                    } else if dependency == "bus" && fail_at == 1 {
                        w.events.set_failing(true);
                    }
                    with_program(&w, w.store.clone())
                };
                // The bus retries the event until the issuer succeeds.
                let mut attempts = 0;
                while issuer.issue_reward(&event, LINKS).await.is_err() {
                    attempts += 1;
                    assert!(attempts < 5, "never recovered ({dependency} at {fail_at})");
                }
                w.events.set_failing(false);
                // The scheduler finishes what was left (texts, events).
                w.clock.advance(Duration::minutes(5));
                w.vouch.sweep(LINKS).await.unwrap();
                let label =
                    format!("{dependency} failing at call {fail_at}, landed {after_landing}");
                let rewards = rewards_of(&w, "cus_1");
                assert_eq!(rewards.len(), 1, "{label}");
                assert_eq!(rewards[0].status, RewardStatus::Issued, "{label}");
                assert_eq!(ledger_of(&w, "cus_1").len(), 1, "{label}");
                assert_eq!(w.stats("cus_1").await.rewards_earned_cents, 2500, "{label}");
                let reward_texts: Vec<_> = w
                    .sms
                    .sent()
                    .into_iter()
                    .filter(|(_, body)| body.contains("earned"))
                    .collect();
                assert_eq!(reward_texts.len(), 1, "{label}");
                assert_eq!(w.events_of(REWARD_ISSUED), 1, "{label}");
            }
        }
    }
}

// ---------------------------------------------------------------- state machine

#[derive(Debug, Clone)]
enum Op {
    /// Friend `n` is invoiced (qualifies).
    Qualify(u8),
    /// The issuer sees every qualification so far (again).
    Issue,
    /// Staff delete friend `n`'s attribution.
    Delete(u8),
    /// Staff approve friend `n`'s reward.
    Approve(u8),
    /// Staff mark friend `n`'s reward redeemed.
    Redeem(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..=4).prop_map(Op::Qualify),
        Just(Op::Issue),
        (1u8..=4).prop_map(Op::Delete),
        (1u8..=4).prop_map(Op::Approve),
        (1u8..=4).prop_map(Op::Redeem),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn rewards_stay_consistent_whatever_happens(manual in any::<bool>(), ops in proptest::collection::vec(op(), 1..14)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let approval = if manual { "manual" } else { "auto" };
            let w = World::with(json!({"reward": credit(), "approval": approval, "limits": roomy()})).await;
            let maria = w.referrer().await;
            let code = maria.code.to_string();
            let mut arrived = std::collections::BTreeSet::new();
            let mut deleted_after_issue = std::collections::BTreeSet::new();
            for op in &ops {
                let referral_of = |n: u8| w.referrals().into_iter()
                    .find(|r| r.lead.name == format!("Friend {n}") && r.status != RefStatus::Rejected);
                match op {
                    Op::Qualify(n) => {
                        if arrived.insert(*n) {
                            closed_friend(&w, u32::from(*n), &code).await;
                        }
                    }
                    Op::Issue => w.run_issuer().await,
                    Op::Delete(n) => {
                        if let Some(r) = referral_of(*n) {
                            let paid = r.reward.as_ref().is_some_and(|x| x.status.is_paid());
                            if w.vouch.review_referral(&w.business, &r.referral_id, Review::Delete).await.is_ok()
                                && paid && r.status != RefStatus::Reversed {
                                deleted_after_issue.insert(r.referral_id.clone());
                            }
                        }
                    }
                    Op::Approve(n) | Op::Redeem(n) => {
                        let to = if matches!(op, Op::Approve(_)) { "approved" } else { "redeemed" };
                        if let Some(reward) = referral_of(*n).and_then(|r| r.reward) {
                            // Forbidden moves are 409s and change nothing.
                            let _ = w.vouch.move_reward(&w.business, &reward.reward_id, to, None, LINKS).await;
                        }
                    }
                }
            }
            let rewards = rewards_of(&w, "cus_1");
            // At most one reward per referral.
            let mut ids: Vec<_> = rewards.iter().map(|r| r.referral_id.clone()).collect();
            ids.sort();
            let before = ids.len();
            ids.dedup();
            prop_assert_eq!(before, ids.len());
            // The balance (the ledger's sum) is the credit issued and not yet used or taken back;
            // earned is everything paid and not reversed.
            let ledger = ledger_of(&w, "cus_1");
            let available: i64 = rewards
                .iter()
                .filter(|r| r.status == RewardStatus::Issued)
                .map(Reward::cents)
                .sum();
            prop_assert_eq!(crate::model::reward::balance(&ledger), available);
            let paid: i64 = rewards.iter().filter(|r| r.status.is_paid()).map(Reward::cents).sum();
            let stats = w.stats("cus_1").await;
            prop_assert_eq!(stats.rewards_earned_cents, paid);
            let open: i64 = rewards.iter().filter(|r| r.status.is_open()).map(Reward::cents).sum();
            prop_assert_eq!(stats.rewards_pending_cents, open);
            // Reversed exactly when the attribution was deleted after the reward was paid.
            for reward in &rewards {
                prop_assert_eq!(
                    reward.status == RewardStatus::Reversed,
                    deleted_after_issue.contains(&reward.referral_id),
                    "{:?}", reward
                );
                // Tier amounts by ordinal.
                let expected = match reward.ordinal { 0..=2 => 2500, 3..=4 => 5000, _ => 10000 };
                prop_assert_eq!(reward.cents(), expected);
            }
            // The report figures kept along the way are what the referrals, as they ended,
            // count for; the leaderboard's times are the closed referrals.
            let zone = w.vouch.business(&w.business).await.unwrap().unwrap().settings.time_zone;
            let mut expected = crate::model::report::Tally::default();
            for referral in w.referrals() {
                expected.merge(&crate::rules::figures::of_referral(&referral, zone), 1);
            }
            let from_referrals = |f: &crate::model::report::Figure| !matches!(
                f,
                crate::model::report::Figure::Leads(..)
                    | crate::model::report::Figure::Clicks(_)
                    | crate::model::report::Figure::Enrolled
                    | crate::model::report::Figure::Invited
            );
            let mut kept = crate::model::report::Tally::default();
            let today = w.now().date_naive();
            let days = crate::ports::Reports::days(
                w.store.as_ref(), &w.business, today - Duration::days(2), today + Duration::days(2),
            ).await.unwrap();
            for day in days {
                for (figure, n) in day.counts.iter().filter(|(f, _)| from_referrals(f)) {
                    kept.add(day.day, figure.clone(), *n);
                }
            }
            prop_assert_eq!(kept, expected);
            prop_assert_eq!(stats.qualified_times.len() as u64, stats.closed);
            let board = w.vouch.leaderboard(&w.business, None, None).await.unwrap();
            prop_assert_eq!(
                board.items.first().map_or(0, |r| u64::from(r.row.qualified)),
                stats.closed
            );
            Ok(())
        })?;
    }
}
