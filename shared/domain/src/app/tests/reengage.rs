//! Re-engagement: a participant quiet for `reengage_after_days` is texted once per period, from
//! the later of enrolment, their last referral and their last re-engagement; opted-out and
//! non-consenting numbers are suppressed with the reason; a business sends at most
//! `reengage_per_day` a day, the rest the next day.

use chrono::Duration;
use serde_json::json;

use crate::app::EnrolRequest;
use crate::model::contact::CustomerInput;
use crate::model::message::{Message, Purpose, Reason, Status};
use crate::ports::Recipients;
use crate::testing::{LINKS, World, friend};
use crate::values::person::{Country, Phone};

fn reengagements(w: &World) -> Vec<Message> {
    w.messages_of(Purpose::Reengagement)
}

async fn sweep(w: &World) -> u32 {
    w.vouch.sweep(LINKS).await.unwrap().reengaged
}

/// A participant enrolled by staff, with or without consent to texts.
async fn enrol(w: &World, id: &str, phone: &str, consent: bool) {
    let request = EnrolRequest {
        customer: Some(CustomerInput {
            id: id.into(),
            first_name: "Sam".into(),
            last_name: Some("Lee".into()),
            phone: Some(phone.into()),
            email: None,
            sms_consent: Some(consent),
            ..CustomerInput::default()
        }),
        customer_id: None,
        send_invitation: false,
    };
    w.vouch.enrol(&w.business, request, LINKS).await.unwrap();
}

#[tokio::test]
async fn a_quiet_participant_is_texted_once_a_period() {
    let w = World::new().await;
    w.referrer().await;
    w.clock.advance(Duration::days(89));
    assert_eq!(sweep(&w).await, 0);
    assert!(reengagements(&w).is_empty());

    w.clock.advance(Duration::days(2));
    assert_eq!(sweep(&w).await, 1);
    let sent = reengagements(&w);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, Status::Sent);
    assert!(
        sent[0]
            .body
            .starts_with("Hi Maria, Acme Plumbing still rewards referrals: $25 account credit"),
        "{}",
        sent[0].body
    );
    // The same day, and the next: nothing more.
    assert_eq!(sweep(&w).await, 0);
    w.clock.advance(Duration::days(1));
    assert_eq!(sweep(&w).await, 0);

    // Another whole period of quiet: once more.
    w.clock.advance(Duration::days(89));
    assert_eq!(sweep(&w).await, 1);
    assert_eq!(reengagements(&w).len(), 2);
}

#[tokio::test]
async fn a_friend_referred_starts_the_period_again_and_a_longer_setting_applies_at_once() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.clock.advance(Duration::days(50));
    w.submit(friend(maria.code.as_str())).await.unwrap();
    w.clock.advance(Duration::days(41));
    assert_eq!(
        sweep(&w).await,
        0,
        "91 days after enrolment, 41 after a referral"
    );
    w.clock.advance(Duration::days(50));
    assert_eq!(sweep(&w).await, 1, "91 days after the referral");

    // The business lengthens the period to 120 days: at 91 days nothing, at 121 the text.
    w.vouch
        .replace_settings(&w.business, |current| {
            let mut settings = current.clone();
            settings.reengage_after_days = 120;
            Ok(settings)
        })
        .await
        .unwrap();
    w.clock.advance(Duration::days(91));
    assert_eq!(sweep(&w).await, 0);
    w.clock.advance(Duration::days(30));
    assert_eq!(sweep(&w).await, 1);
    assert_eq!(reengagements(&w).len(), 2);
}

#[tokio::test]
async fn opted_out_and_unconsenting_numbers_are_not_texted_and_say_why() {
    let w = World::new().await;
    enrol(&w, "cus_quiet", "512-555-0151", false).await;
    enrol(&w, "cus_stop", "512-555-0152", true).await;
    let stop = Phone::parse("512-555-0152", Country::US).unwrap();
    w.store.set_opted_out(&stop, true, w.now()).await.unwrap();
    w.clock.advance(Duration::days(91));
    assert_eq!(sweep(&w).await, 0);
    let mut reasons: Vec<(Status, Option<Reason>)> = reengagements(&w)
        .iter()
        .map(|m| (m.status, m.reason))
        .collect();
    reasons.sort_by_key(|(_, reason)| format!("{reason:?}"));
    assert_eq!(
        reasons,
        vec![
            (Status::Suppressed, Some(Reason::NoConsent)),
            (Status::Suppressed, Some(Reason::OptedOut)),
        ]
    );
    assert!(w.sms.sent().is_empty());
    // Their period starts again all the same: nothing tomorrow.
    w.clock.advance(Duration::days(1));
    assert_eq!(sweep(&w).await, 0);
    assert_eq!(reengagements(&w).len(), 2);
}

#[tokio::test]
async fn a_business_sends_at_most_its_daily_number_and_the_rest_the_next_day() {
    let w = World::with(json!({"reengage_per_day": 2})).await;
    for (i, phone) in ["512-555-0161", "512-555-0162", "512-555-0163"]
        .into_iter()
        .enumerate()
    {
        enrol(&w, &format!("cus_{i}"), phone, true).await;
    }
    w.clock.advance(Duration::days(91));
    assert_eq!(sweep(&w).await, 2);
    assert_eq!(sweep(&w).await, 0, "the day is full");
    w.clock.advance(Duration::days(1));
    assert_eq!(sweep(&w).await, 1);
    assert_eq!(reengagements(&w).len(), 3);
    assert!(reengagements(&w).iter().all(|m| m.status == Status::Sent));
}
