//! Handlers fed real API Gateway (HTTP API, payload 2.0) events through `lambda_http`, as in
//! Lambda, over the in-memory fakes. The fixtures are the ones `cargo lambda invoke
//! --data-file` takes.

use std::sync::Arc;

use axum::Router;
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vouch_domain::app::{Ports, ServiceConfig, Vouch};
use vouch_domain::decide::Plan;
use vouch_domain::model::business::Business;
use vouch_domain::model::contact::Contact;
use vouch_domain::model::participant::Participant;
use vouch_domain::ports::{Businesses, ProgramStore};
use vouch_domain::testing::{FakeEvents, FakeSms, InMemoryStore, ManualClock};
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::PersonName;
use vouch_domain::values::secrets::{IpHasher, KeyHash, PageKey, WebhookSecret};
use vouch_http::{AppState, Web, routers};

struct Fake {
    store: Arc<InMemoryStore>,
    vouch: Vouch,
}

async fn fake() -> Fake {
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(ManualClock::at(
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
    ));
    let vouch = Vouch::new(
        Ports::new(
            store.clone(),
            Arc::new(FakeSms::default()),
            Arc::new(FakeEvents::default()),
            clock,
        ),
        ServiceConfig {
            operator_key: Some("fixture-operator-key".into()),
            ip_hasher: IpHasher::new(b"fixture-ip-key"),
            page_key: PageKey::derive(b"fixture-ip-key"),
        },
    );
    let id = BusinessId::parse("acme").unwrap();
    let doc = serde_json::json!({"name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"});
    let business = Business {
        id: id.clone(),
        settings: vouch_http::dto::settings::complete(&doc, None).unwrap(),
        webhook_secret: WebhookSecret::generate(),
        created_at: Utc::now(),
        version: 1,
    };
    store
        .create(
            &business,
            &KeyHash::of("vouch_ak_fixture"),
            crate::harness::first_report(),
        )
        .await
        .unwrap();
    let contact = Contact {
        business_id: id,
        customer_id: CustomerId::parse("cus_1").unwrap(),
        first_name: PersonName::parse("Maria").unwrap(),
        last_name: Some(PersonName::parse("Garcia").unwrap()),
        phone: None,
        email: None,
        sms_consent: true,
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
    let participant = Participant::enrol(
        &contact,
        ReferralCode::parse("ABCD2345").unwrap(),
        Utc::now(),
    );
    let mut contact = contact;
    contact.enrolled = true;
    let plan = Plan {
        participant: Some(participant),
        contact: Some((contact, None)),
        ..Plan::default()
    };
    store
        .commit(&BusinessId::parse("acme").unwrap(), &plan)
        .await
        .unwrap()
        .unwrap();
    Fake { store, vouch }
}

async fn invoke(router: Router, fixture: &str) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let path = format!("{}/fixtures/events/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let event = std::fs::read_to_string(&path).unwrap();
    let request = lambda_http::request::from_str(&event).unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn given_a_click_event_when_invoked_then_it_redirects_and_counts_with_the_source_ip_hashed() {
    let fake = fake().await;
    let router = routers::link_click(AppState::new(fake.vouch.clone(), Web::default()));

    let (status, headers, _) = invoke(router, "link-click.json").await;

    assert_eq!(status, 302);
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("https://acme.example/refer?ref=ABCD2345&vclid="),
        "{location}"
    );
    assert!(
        location.ends_with("&utm_source=referral&utm_medium=qr&utm_campaign=referral-program"),
        "{location}"
    );
    assert!(!location.contains("evil"));
    let clicks = fake.store.clicks();
    assert_eq!(clicks.len(), 1);
    let expected = IpHasher::new(b"fixture-ip-key").hash("198.51.100.20".parse().unwrap());
    assert_eq!(clicks[0].ip_hash.as_ref(), Some(&expected));
}

#[tokio::test]
async fn given_a_preview_bot_or_head_event_then_it_redirects_without_counting() {
    let fake = fake().await;
    for fixture in ["link-click-preview-bot.json", "link-click-head.json"] {
        let router = routers::link_click(AppState::new(fake.vouch.clone(), Web::default()));
        let (status, headers, body) = invoke(router, fixture).await;
        assert_eq!(status, 302, "{fixture}");
        assert!(
            !headers["location"].to_str().unwrap().contains("vclid"),
            "{fixture}"
        );
        if fixture.contains("head") {
            assert!(body.is_empty());
        }
    }
    assert!(fake.store.clicks().is_empty());
}

#[tokio::test]
async fn given_a_referral_card_event_then_it_answers_with_open_cors() {
    let fake = fake().await;
    let router = routers::link_click(AppState::new(fake.vouch.clone(), Web::default()));
    let (status, headers, body) = invoke(router, "referral-card.json").await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["referrer_display_name"], "Maria G.");
    assert_eq!(body["business_name"], "Acme Plumbing");
}

#[tokio::test]
async fn given_a_create_business_event_then_it_creates_it_with_the_operator_key() {
    let fake = fake().await;
    let router = routers::admin_api(AppState::new(fake.vouch.clone(), Web::default()));
    let (status, _, body) = invoke(router, "create-business.json").await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["business_id"], "acme-plumbing");
    let created = Businesses::get(
        fake.store.as_ref(),
        &BusinessId::parse("acme-plumbing").unwrap(),
    )
    .await
    .unwrap();
    assert!(created.is_some());
}

#[tokio::test]
async fn given_descending_tiers_then_settings_are_refused_with_reasons_and_unchanged() {
    let fake = fake().await;
    let router = routers::admin_api(AppState::new(fake.vouch.clone(), Web::default()));
    let (status, _, body) = invoke(router, "settings-descending-tiers.json").await;
    assert_eq!(status, 422);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        body["error"]["fields"]["reward.tiers[1].from_referral"].is_string(),
        "{body}"
    );
    let stored = Businesses::get(fake.store.as_ref(), &BusinessId::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.settings.landing_url.to_string(),
        "https://acme.example/refer"
    );
    assert_eq!(stored.version, 1);
}

/// A world whose business has the Standard Webhooks specification's secret and whose clock
/// stands at the fixtures' time, so signed fixtures verify.
async fn signed_fake() -> (Fake, Arc<FakeSms>) {
    let store = Arc::new(InMemoryStore::default());
    let sms = Arc::new(FakeSms::default());
    let clock = Arc::new(ManualClock::at(
        Utc.timestamp_opt(1_795_435_200, 0).unwrap(),
    ));
    let vouch = Vouch::new(
        Ports::new(
            store.clone(),
            sms.clone(),
            Arc::new(FakeEvents::default()),
            clock,
        ),
        ServiceConfig {
            operator_key: None,
            ip_hasher: IpHasher::new(b"fixture-ip-key"),
            page_key: PageKey::derive(b"fixture-ip-key"),
        },
    );
    let doc = serde_json::json!({"name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"});
    let business = Business {
        id: BusinessId::parse("acme").unwrap(),
        settings: vouch_http::dto::settings::complete(&doc, None).unwrap(),
        webhook_secret: WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        created_at: Utc::now(),
        version: 1,
    };
    store
        .create(
            &business,
            &KeyHash::of("vouch_ak_fixture"),
            crate::harness::first_report(),
        )
        .await
        .unwrap();
    (Fake { store, vouch }, sms)
}

#[tokio::test]
async fn given_a_signed_webhook_event_then_it_is_received_once() {
    let (fake, _) = signed_fake().await;
    let router = || routers::job_webhook(AppState::new(fake.vouch.clone(), Web::default()));
    let (status, _, body) = invoke(router(), "webhook-customer-upserted.json").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        serde_json::json!({"received": true, "duplicate": false})
    );
    let (_, _, body) = invoke(router(), "webhook-customer-upserted.json").await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["duplicate"],
        true
    );
}

#[tokio::test]
async fn given_an_sns_inbound_stop_then_the_number_is_opted_out() {
    let (fake, _) = signed_fake().await;
    let state = AppState::new(fake.vouch.clone(), Web::default());
    let path = format!(
        "{}/fixtures/events/sns-inbound-stop.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    vouch_http::events::inbound::handle_sns(&state.vouch, event)
        .await
        .unwrap();
    let phone = vouch_domain::values::person::Phone::parse(
        "+15125550177",
        vouch_domain::values::person::Country::US,
    )
    .unwrap();
    use vouch_domain::ports::Recipients;
    assert!(fake.store.recipient(&phone).await.unwrap().opted_out);
}

#[tokio::test]
async fn given_a_form_post_event_then_the_lead_is_attributed_and_thanked_with_a_page() {
    let fake = fake().await;
    let router = routers::lead_intake(AppState::new(fake.vouch.clone(), Web::default()));

    let (status, headers, body) = invoke(router, "lead-form.json").await;

    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let leads = fake.store.leads();
    assert_eq!(leads.len(), 1);
    let expected = IpHasher::new(b"fixture-ip-key").hash("198.51.100.20".parse().unwrap());
    assert_eq!(leads[0].ip_hash.as_deref(), Some(expected.as_str()));
    let referrals = fake.store.referrals_of(&BusinessId::parse("acme").unwrap());
    assert_eq!(referrals.len(), 1);
    assert_eq!(
        referrals[0].status,
        vouch_domain::model::referral::Status::Pending
    );
    assert_eq!(
        referrals[0].referrer_id().map(CustomerId::as_str),
        Some("cus_1")
    );
}
