//! VIP: one text and one event the first time a referrer reaches `vip_after`, whatever the count
//! does later; the VIP extra on rewards made while they are VIP, and not on one made after a
//! reversal took them below.

use serde_json::json;

use super::rewards::closed_friend;
use crate::app::Qualified;
use crate::model::events::{PARTICIPANT_VIP, REFERRAL_QUALIFIED};
use crate::model::job::JobStatus;
use crate::model::message::Purpose;
use crate::model::reward::Reward;
use crate::testing::{LINKS, World, job, qualified};

/// The issuer on friend `n`'s referral only.
pub(super) async fn issue(w: &World, n: u32) -> Reward {
    let referral = w
        .referrals()
        .into_iter()
        .find(|r| r.lead.name == format!("Friend {n}"))
        .unwrap();
    let event: Qualified = w
        .events
        .published()
        .into_iter()
        .filter(|e| e.detail_type == REFERRAL_QUALIFIED)
        .map(|e| qualified(&e.detail()))
        .find(|q| q.referral_id == referral.referral_id)
        .unwrap();
    w.vouch.issue_reward(&event, LINKS).await.unwrap();
    w.referrals()
        .into_iter()
        .find(|r| r.referral_id == referral.referral_id)
        .and_then(|r| r.reward)
        .unwrap()
}

async fn cancel(w: &World, n: u32) {
    w.deliver(
        &format!("c{n}"),
        job(
            &format!("job_{n}"),
            &format!("sw_{n}"),
            JobStatus::Canceled,
            "2026-11-25T16:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_referrer_becomes_vip_once_and_the_extra_follows_their_standing() {
    let w = World::with(json!({"vip_after": 3, "vip_reward": {"extra_cents": 1000},
        "limits": {"leads_per_ip_per_hour": 50, "leads_per_code_per_day": 50,
                   "review_when_leads_per_code_per_day_over": 50}}))
    .await;
    let maria = w.referrer().await;
    let code = maria.code.as_str();
    closed_friend(&w, 1, code).await;
    closed_friend(&w, 2, code).await;
    assert_eq!(issue(&w, 1).await.cents(), 2500);
    assert_eq!(w.events_of(PARTICIPANT_VIP), 0);
    assert!(w.messages_of(Purpose::Vip).is_empty());

    // The third closes: VIP, thanked and announced once.
    closed_friend(&w, 3, code).await;
    assert_eq!(w.events_of(PARTICIPANT_VIP), 1);
    let vip = w.messages_of(Purpose::Vip);
    assert_eq!(vip.len(), 1);
    assert!(
        vip[0]
            .body
            .starts_with("Congratulations Maria, you're a Acme Plumbing VIP!")
    );
    assert!(vip[0].body.contains("/me/"), "{}", vip[0].body);
    let since = w.stats("cus_1").await.vip_since;
    assert!(since.is_some());
    // Delivered again, nothing moves: no second text or event.
    closed_friend(&w, 3, code).await;
    assert_eq!(w.events_of(PARTICIPANT_VIP), 1);

    // The second friend's job is canceled before the third friend's reward is made: below the
    // line, so that reward is the tier's alone.
    cancel(&w, 2).await;
    assert_eq!(w.stats("cus_1").await.closed, 2);
    let third = issue(&w, 3).await;
    assert_eq!((third.cents(), third.flags.clone()), (2500, vec![]));

    // A fourth friend takes Maria back to three: VIP again, with the extra, but no second text.
    closed_friend(&w, 4, code).await;
    let fourth = issue(&w, 4).await;
    assert_eq!(fourth.cents(), 2500 + 1000);
    assert_eq!(fourth.flags, vec!["vip".to_owned()]);
    assert_eq!(w.events_of(PARTICIPANT_VIP), 1);
    assert_eq!(w.messages_of(Purpose::Vip).len(), 1);
    assert_eq!(w.stats("cus_1").await.vip_since, since);
}

#[tokio::test]
async fn a_vip_extra_needs_a_program_paid_in_money() {
    let settings = crate::testing::settings_with(&json!({}));
    let mut percent = settings.clone();
    percent.reward.kind = crate::model::settings::RewardType::Discount;
    percent.reward.tiers[0].amount_cents = None;
    percent.reward.tiers[0].percent = Some(10);
    percent.vip_reward = Some(crate::model::settings::VipReward {
        extra_cents: crate::values::money::Money::from_cents(500).unwrap(),
    });
    assert!(percent.check().contains_key("vip_reward.extra_cents"));
    let mut money = settings;
    money.vip_reward = percent.vip_reward.clone();
    assert!(money.check().is_empty());
}
