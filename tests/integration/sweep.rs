//! emulator: the scheduled sweep sends due texts (checking opt-outs again) and publishes events
//! left in the outbox.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use serde_json::json;
use vouch_domain::decide::Plan;
use vouch_domain::model::events::DomainEvent;
use vouch_domain::model::message::{Draft, Message, Purpose, Reason, Status};
use vouch_domain::ports::{Businesses, ProgramStore, Recipients};
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::{Country, Phone};

use crate::harness::{TestApp, spawn_app, texts_containing};
use crate::webhooks::{drain, event_queue};

/// Stores a text deferred until a minute ago, as quiet hours would have left it.
async fn deferred_text(app: &TestApp, phone: &str, marker: &str) -> Message {
    let business = BusinessId::parse("acme").unwrap();
    let settings = Businesses::get(&app.store, &business)
        .await
        .unwrap()
        .unwrap()
        .settings;
    let mut message = vouch_domain::rules::sending::compose(
        Draft {
            business_id: business.clone(),
            customer_id: Some(CustomerId::parse("cus_1").unwrap()),
            to: Some(Phone::parse(phone, Country::US).unwrap()),
            consent: true,
            purpose: Purpose::Reengagement,
            subject: format!("cus_1:{marker}"),
            vars: BTreeMap::from([("first_name", marker.to_owned())]),
            segment: None,
        },
        &settings,
        Utc::now(),
    );
    message.status = Status::Deferred;
    message.reason = Some(Reason::QuietHours);
    message.due_at = Some(Utc::now() - Duration::minutes(1));
    let plan = Plan {
        messages: vec![message.clone()],
        ..Plan::default()
    };
    app.store.commit(&business, &plan).await.unwrap().unwrap();
    message
}

async fn sweep(app: &TestApp) -> serde_json::Value {
    let reply = app
        .call(Method::POST, "/_local/scheduler/run", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn a_deferred_text_goes_out_once_when_due() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    deferred_text(&app, "512-555-0151", "Quinn").await;

    assert_eq!(sweep(&app).await["sent"], 1);
    assert_eq!(sweep(&app).await["sent"], 0, "sent once");
    let texts = texts_containing("Quinn").await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].0, "+15125550151");
    let outbox = app
        .call(
            Method::GET,
            "/api/admin/messages?status=sent",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(outbox["items"].as_array().unwrap().len(), 1, "{outbox}");
    assert!(outbox["items"][0]["sent_at"].is_string());
}

#[tokio::test]
async fn a_number_that_opted_out_meanwhile_is_not_texted() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    deferred_text(&app, "512-555-0152", "Riley").await;
    let phone = Phone::parse("512-555-0152", Country::US).unwrap();
    app.store
        .set_opted_out(&phone, true, Utc::now())
        .await
        .unwrap();

    let swept = sweep(&app).await;
    assert_eq!(
        (swept["sent"].as_u64(), swept["suppressed"].as_u64()),
        (Some(0), Some(1)),
        "{swept}"
    );
    assert!(texts_containing("Riley").await.is_empty());
    let outbox = app
        .call(
            Method::GET,
            "/api/admin/messages?status=suppressed",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(outbox["items"][0]["reason"], "opted_out", "{outbox}");
}

#[tokio::test]
async fn events_left_in_the_outbox_are_published_by_the_sweep() {
    let app = spawn_app().await;
    app.create_business("acme").await;
    let (sqs, queue) = event_queue(&app).await;
    let business = BusinessId::parse("acme").unwrap();
    let event = DomainEvent::new(
        "participant.enrolled",
        &business,
        Utc::now() - Duration::minutes(5),
        json!({"customer_id": "cus_1", "code": "ABCD2345"}),
    );
    let plan = Plan {
        events: vec![event.clone()],
        ..Plan::default()
    };
    app.store.commit(&business, &plan).await.unwrap().unwrap();

    assert_eq!(sweep(&app).await["events_published"], 1);
    assert_eq!(
        sweep(&app).await["events_published"],
        0,
        "removed from the outbox once published"
    );
    let events = drain(&sqs, &queue).await;
    let ours: Vec<_> = events
        .iter()
        .filter(|e| e["detail"]["event_id"] == event.event_id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{events:?}");
    assert_eq!(ours[0]["detail-type"], "participant.enrolled");
}

/// The scheduler as of `days` from now.
async fn sweep_in(app: &TestApp, days: i64) -> serde_json::Value {
    let at = (Utc::now() + Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let reply = app
        .call(
            Method::POST,
            &format!("/_local/scheduler/run?now={at}"),
            None,
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn a_quiet_referrer_is_texted_after_the_period_once() {
    let app = spawn_app().await;
    let (_, secret) = app.create_business("acme").await;
    crate::rewards::happy_maria(&app, &secret).await;
    assert_eq!(sweep_in(&app, 89).await["reengaged"], 0);
    assert_eq!(sweep_in(&app, 91).await["reengaged"], 1);
    assert_eq!(sweep_in(&app, 91).await["reengaged"], 0, "once a period");
    assert_eq!(sweep_in(&app, 120).await["reengaged"], 0);
    let texts = texts_containing("still rewards referrals").await;
    assert!(
        texts
            .iter()
            .any(|(to, body)| to == "+15125550140" && body.contains("/r/")),
        "{texts:?}"
    );
    assert_eq!(sweep_in(&app, 182).await["reengaged"], 1, "the next period");
}
