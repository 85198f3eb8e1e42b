//! emulator: the DynamoDB adapter's conditional writes hold the invariants.

use chrono::Utc;
use vouch_domain::decide::{Plan, Refusal};
use vouch_domain::model::business::Business;
use vouch_domain::model::contact::Contact;
use vouch_domain::model::participant::Participant;
use vouch_domain::ports::{Businesses, Participants, ProgramStore, Written};
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::PersonName;
use vouch_domain::values::secrets::{KeyHash, WebhookSecret};

use crate::harness::spawn_app;

fn business(id: &str) -> Business {
    let doc = serde_json::json!({"name": "Acme", "time_zone": "America/Chicago", "landing_url": "https://acme.example"});
    Business {
        id: BusinessId::parse(id).unwrap(),
        settings: vouch_http::dto::settings::complete(&doc, None).unwrap(),
        webhook_secret: WebhookSecret::generate(),
        created_at: Utc::now(),
        version: 1,
    }
}

fn participant(business: &str, customer: &str, code: &str) -> Participant {
    let contact = Contact {
        business_id: BusinessId::parse(business).unwrap(),
        customer_id: CustomerId::parse(customer).unwrap(),
        first_name: PersonName::parse("Maria").unwrap(),
        last_name: None,
        phone: None,
        email: None,
        sms_consent: false,
        updated_at: Utc::now(),
        details_known: true,
        version: 0,
        job_done_at: None,
        review_score: None,
        review_at: None,
        enrolled: false,
        origin: Default::default(),
        referral: None,
        qualifying_job: None,
        ip_hashes: Vec::new(),
        referee_rewarded: false,
        segment: None,
    };
    Participant::enrol(&contact, ReferralCode::parse(code).unwrap(), Utc::now())
}

#[tokio::test]
async fn a_business_and_its_key_are_created_together_once() {
    let app = spawn_app().await;
    let acme = business("acme");
    let key = KeyHash::of("vouch_ak_one");
    assert_eq!(
        app.store
            .create(&acme, &key, crate::harness::first_report())
            .await
            .unwrap(),
        Written::Applied
    );
    assert_eq!(
        app.store
            .create(
                &acme,
                &KeyHash::of("vouch_ak_two"),
                crate::harness::first_report()
            )
            .await
            .unwrap(),
        Written::Refused
    );
    // The refused attempt left no orphan key behind.
    assert_eq!(
        app.store
            .id_for_admin_key(&KeyHash::of("vouch_ak_two"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        app.store.id_for_admin_key(&key).await.unwrap(),
        Some(acme.id.clone())
    );

    let stored = Businesses::get(&app.store, &acme.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, acme);
}

#[tokio::test]
async fn settings_writes_are_conditional_on_the_version_read() {
    let app = spawn_app().await;
    let acme = business("acme");
    app.store
        .create(&acme, &KeyHash::of("k"), crate::harness::first_report())
        .await
        .unwrap();
    let mut changed = acme.settings.clone();
    changed.hold_days = 7;
    assert_eq!(
        app.store
            .save_settings(&acme.id, &changed, &acme.settings, 1)
            .await
            .unwrap(),
        Written::Applied
    );
    // A writer that read version 1 too is refused rather than overwriting.
    assert_eq!(
        app.store
            .save_settings(&acme.id, &acme.settings, &acme.settings, 1)
            .await
            .unwrap(),
        Written::Refused
    );
    let stored = Businesses::get(&app.store, &acme.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.version, stored.settings.hold_days), (2, 7));
}

/// Commits a plan that only enrols `participant`.
async fn enrol(app: &crate::harness::TestApp, participant: &Participant) -> Result<(), Refusal> {
    let plan = Plan {
        participant: Some(participant.clone()),
        ..Plan::default()
    };
    app.store
        .commit(&participant.business_id, &plan)
        .await
        .unwrap()
}

#[tokio::test]
async fn codes_are_unique_across_businesses_and_customers_enrol_once() {
    let app = spawn_app().await;
    let first = participant("acme", "cus_1", "ABCD2345");
    assert_eq!(enrol(&app, &first).await, Ok(()));
    // The same customer again, with another code: refused, and the other code stays free.
    assert_eq!(
        enrol(&app, &participant("acme", "cus_1", "WXYZ6789")).await,
        Err(Refusal::Changed)
    );
    assert_eq!(
        app.store
            .referrer(&ReferralCode::parse("WXYZ6789").unwrap())
            .await
            .unwrap(),
        None
    );
    // Another business's customer drawing the same code: refused.
    assert_eq!(
        enrol(&app, &participant("rival", "cus_9", "abcd-2345")).await,
        Err(Refusal::Changed)
    );
    let rival = Participants::get(
        &app.store,
        &BusinessId::parse("rival").unwrap(),
        &CustomerId::parse("cus_9").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(rival, None);

    let referrer = app
        .store
        .referrer(&ReferralCode::parse("abcd2345").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(referrer.business_id.as_str(), "acme");
    assert_eq!(referrer.customer_id.as_str(), "cus_1");
    let stored = Participants::get(&app.store, &first.business_id, &first.customer_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, first);
}

#[tokio::test]
async fn held_rewards_are_listed_for_the_scheduler_until_done() {
    use vouch_domain::model::reward::{Recipient, Reward, RewardStatus};
    use vouch_domain::ports::Rewards;
    let app = spawn_app().await;
    let business = BusinessId::parse("acme").unwrap();
    let now = Utc::now();
    let held = |id: &str, release: chrono::DateTime<Utc>| Reward {
        reward_id: id.into(),
        referral_id: id.into(),
        customer_id: CustomerId::parse("cus_1").unwrap(),
        lead_customer_id: CustomerId::parse("lead_1").unwrap(),
        recipient: Recipient::Referrer,
        kind: vouch_domain::model::settings::RewardType::ServiceCredit,
        amount_cents: Some(vouch_domain::values::money::Money::from_cents(2500).unwrap()),
        percent: None,
        code: None,
        description: "Account credit".into(),
        ordinal: 1,
        tier: Some(1),
        status: RewardStatus::Approved,
        created_at: now,
        issued_at: None,
        release_at: Some(release),
        flags: Vec::new(),
        audit: Vec::new(),
        order: None,
    };
    let plan = Plan {
        reward_due: vec![
            held(
                "01JAAAAAAAAAAAAAAAAAAAAAA1",
                now - chrono::Duration::hours(1),
            ),
            held(
                "01JAAAAAAAAAAAAAAAAAAAAAA2",
                now + chrono::Duration::days(3),
            ),
        ],
        ..Plan::default()
    };
    app.store.commit(&business, &plan).await.unwrap().unwrap();
    let due = app.store.due_rewards(now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0, business);
    assert_eq!(due[0].1.reward_id, "01JAAAAAAAAAAAAAAAAAAAAAA1");
    let done = Plan {
        reward_done: vec!["01JAAAAAAAAAAAAAAAAAAAAAA1".into()],
        ..Plan::default()
    };
    app.store.commit(&business, &done).await.unwrap().unwrap();
    assert!(app.store.due_rewards(now, 10).await.unwrap().is_empty());
    assert_eq!(
        app.store
            .due_rewards(now + chrono::Duration::days(4), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
