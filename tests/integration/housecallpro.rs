//! emulator: Housecall Pro as it signs and sends — the business's own signing secret saved in
//! settings (write-only), `Api-Timestamp` / `Api-Signature`, the test ping, and a referred
//! customer's job and invoice carried through to the referrer's reward.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use vouch_domain::values::signature::sign_timestamped_hex;

use crate::harness::{Reply, TestApp, send, spawn_app};
use crate::rewards::{code_of, drain_issuer, friend_leads, happy_maria, rewards};

/// The signing secret of the invented Housecall Pro account (as its webhook settings show one).
pub const SECRET: &str = "hcp_whsig_7Kq2vN9xR4tB8mYc3LpZ";

const JOB_COMPLETED: &str =
    include_str!("../../shared/http/src/webhooks/fixtures/housecallpro/job_completed.json");
const INVOICE_PAID: &str =
    include_str!("../../shared/http/src/webhooks/fixtures/housecallpro/invoice_paid.json");
const CUSTOMER_CREATED: &str =
    include_str!("../../shared/http/src/webhooks/fixtures/housecallpro/customer_created.json");

/// Saves the account's signing secret in the business's settings.
pub async fn connect(app: &TestApp, key: &str) {
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(key),
            Some(json!({"integrations": {"housecallpro": {"signing_secret": SECRET}}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// A delivery signed now, as Housecall Pro signs it.
pub async fn post(app: &TestApp, business: &str, secret: &str, body: &[u8]) -> Reply {
    post_at(app, business, secret, chrono::Utc::now().timestamp(), body).await
}

async fn post_at(app: &TestApp, business: &str, secret: &str, at: i64, body: &[u8]) -> Reply {
    let request = Request::post(format!("/webhooks/{business}/housecallpro"))
        .header("content-type", "application/json")
        .header("Api-Timestamp", at.to_string())
        .header(
            "Api-Signature",
            sign_timestamped_hex(secret.as_bytes(), at, body),
        )
        .body(Body::from(body.to_vec()))
        .unwrap();
    send(&app.router, request).await
}

async fn read(app: &TestApp, key: &str) -> Reply {
    app.call(Method::GET, "/api/admin/settings", Some(key), None)
        .await
}

async fn enrol(app: &TestApp, key: &str) -> Reply {
    app.call(
        Method::POST,
        "/api/admin/participants",
        Some(key),
        Some(json!({"customer_id": "cus_1b7f03e9a2c84d10"})),
    )
    .await
}

#[tokio::test]
async fn the_signing_secret_is_write_only_and_validated() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    assert_eq!(
        read(&app, &key).await.json()["integrations"],
        json!({"housecallpro": {"configured": false}, "gift_cards": {"configured": false},
               "jobber": {"configured": false}})
    );
    for bad in [
        json!("short"),
        json!("has a space in it, 0123456789"),
        json!(42),
    ] {
        let reply = app
            .call(
                Method::PUT,
                "/api/admin/settings",
                Some(&key),
                Some(json!({"integrations": {"housecallpro": {"signing_secret": bad}}})),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.text()
        );
        assert!(
            reply.json()["error"]["fields"]
                .get("integrations.housecallpro.signing_secret")
                .is_some(),
            "{}",
            reply.text()
        );
    }
    let unknown = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"integrations": {"servicetitan": {}}})),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text()
    );

    connect(&app, &key).await;
    let shown = read(&app, &key).await;
    assert_eq!(
        shown.json()["integrations"],
        json!({"housecallpro": {"configured": true}, "gift_cards": {"configured": false},
               "jobber": {"configured": false}})
    );
    assert!(!shown.text().contains(SECRET), "{}", shown.text());
    // The document read is sent back as it is: the secret stays.
    let doc: Value = shown.json();
    let reply = app
        .call(Method::PUT, "/api/admin/settings", Some(&key), Some(doc))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(!reply.text().contains(SECRET));
    assert_eq!(
        reply.json()["integrations"]["housecallpro"]["configured"],
        true
    );
    let ping = post(&app, "acme", SECRET, br#"{"foo":"bar"}"#).await;
    assert_eq!(ping.status, StatusCode::OK, "{}", ping.text());
    // `null` removes it, and deliveries are refused again.
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"integrations": {"housecallpro": null}})),
        )
        .await;
    assert_eq!(
        reply.json()["integrations"]["housecallpro"]["configured"],
        false
    );
    let ping = post(&app, "acme", SECRET, br#"{"foo":"bar"}"#).await;
    assert_eq!(ping.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn only_deliveries_signed_with_the_accounts_secret_are_taken() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let body = CUSTOMER_CREATED.as_bytes();
    // No secret saved yet: refused like an unknown business.
    assert_eq!(
        post(&app, "acme", SECRET, body).await.status,
        StatusCode::UNAUTHORIZED
    );
    connect(&app, &key).await;
    let now = chrono::Utc::now().timestamp();
    let tampered = CUSTOMER_CREATED.replace("Teodor", "Mallory");
    let signed_other = sign_timestamped_hex(SECRET.as_bytes(), now, body);
    let refused = [
        (
            "wrong secret",
            post(&app, "acme", "another-account-secret-000", body).await,
        ),
        (
            "stale",
            post_at(&app, "acme", SECRET, now - 301, body).await,
        ),
        (
            "future",
            post_at(&app, "acme", SECRET, now + 301, body).await,
        ),
        ("unknown business", post(&app, "nobody", SECRET, body).await),
        (
            "tampered",
            send(
                &app.router,
                Request::post("/webhooks/acme/housecallpro")
                    .header("Api-Timestamp", now.to_string())
                    .header("Api-Signature", signed_other)
                    .body(Body::from(tampered))
                    .unwrap(),
            )
            .await,
        ),
        (
            "no headers",
            send(
                &app.router,
                Request::post("/webhooks/acme/housecallpro")
                    .body(Body::from(body.to_vec()))
                    .unwrap(),
            )
            .await,
        ),
    ];
    for (why, reply) in refused {
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{why}: {}",
            reply.text()
        );
    }
    // None of them changed anything: the customer is unknown until a good delivery.
    assert_eq!(enrol(&app, &key).await.status, StatusCode::NOT_FOUND);
    let reply = post(&app, "acme", SECRET, body).await;
    assert_eq!(
        reply.json(),
        json!({"received": true, "duplicate": false}),
        "{}",
        reply.text()
    );
    assert_eq!(enrol(&app, &key).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_referred_customers_paid_invoice_rewards_the_referrer_once() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    connect(&app, &key).await;
    let (sqs, queue) = crate::rewards::issuer_queue(&app).await;
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    // The friend fills in the website form with Maria's code; Housecall Pro then sends the
    // same person (matched by phone) with their job, and later the paid invoice.
    friend_leads(&app, &code, "Marisol Quenby", "+1 512 555 0143").await;
    for body in [JOB_COMPLETED, INVOICE_PAID] {
        let reply = post(&app, "acme", SECRET, body.as_bytes()).await;
        assert_eq!(reply.json()["duplicate"], false, "{}", reply.text());
    }
    // Both again (Housecall Pro retries): recognised, nothing done twice.
    for body in [JOB_COMPLETED, INVOICE_PAID] {
        let reply = post(&app, "acme", SECRET, body.as_bytes()).await;
        assert_eq!(reply.json()["duplicate"], true, "{}", reply.text());
    }
    // A late "started" from before the completion does not move the job back.
    let started = json!({"id": "evt_late_start", "event": "job.started", "created_at": "2026-11-20T15:31:40Z",
        "job": {"id": "job_4f1c2a9e7b3d4e21", "customer_id": "cus_8d2e61b0c4a94f77", "work_status": "in progress"}});
    let reply = post(&app, "acme", SECRET, started.to_string().as_bytes()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    assert_eq!(
        crate::webhooks::stored_job_status(&app, "job_4f1c2a9e7b3d4e21").await,
        "paid"
    );
    assert_eq!(drain_issuer(&app, &sqs, &queue, 1).await, 1);
    let paid = rewards(&app, &key, "").await;
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["status"], "issued", "{paid:?}");
    let referrals = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    let items = referrals["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{referrals}");
    assert_eq!(items[0]["status"], "rewarded", "{referrals}");
    assert_eq!(items[0]["invoice_total_cents"], 28500, "{referrals}");
}
