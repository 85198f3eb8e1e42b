//! emulator: rewards end to end — `referral.qualified` on the bus, a rule feeding a queue, the
//! issuer's handler; the request budget; staff's reward routes; reversal; held rewards.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app, texts_containing};
use crate::webhooks::deliver;

const MARIA_PHONE: &str = "+15125550140";

/// Maria becomes a participant through the software's webhooks (a happy customer).
pub(crate) async fn happy_maria(app: &TestApp, secret: &str) {
    let steps = [
        (
            "m1",
            "customer.upserted",
            json!({"customer": {"id": "cus_maria", "first_name": "Maria", "last_name": "Garcia", "phone": MARIA_PHONE, "sms_consent": true}}),
        ),
        (
            "m2",
            "job.status_changed",
            json!({"job": {"id": "job_m", "customer_id": "cus_maria", "status": "completed"}}),
        ),
        (
            "m3",
            "review.submitted",
            json!({"customer_id": "cus_maria", "score": 5}),
        ),
    ];
    for (id, kind, data) in steps {
        let reply = deliver(app, "acme", secret, id, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
}

pub(crate) async fn code_of(app: &TestApp, key: &str, customer: &str) -> String {
    let detail = app
        .call(
            Method::GET,
            &format!("/api/admin/participants/{customer}"),
            Some(key),
            None,
        )
        .await
        .json();
    detail["code"].as_str().unwrap().to_owned()
}

/// Friend `n` arrives through the form with Maria's code, the software sends them, and their
/// job is invoiced.
pub(crate) async fn friend_closes(app: &TestApp, secret: &str, code: &str, n: u32) {
    let phone = format!("+1512555{:04}", 300 + n);
    friend_leads(app, code, &format!("Friend{n} Smith"), &phone).await;
    let id = format!("sw_{n}");
    let steps = [
        (
            format!("f{n}a"),
            "customer.upserted",
            json!({"customer": {"id": id, "first_name": format!("Friend{n}"), "phone": phone}}),
        ),
        (
            format!("f{n}b"),
            "job.status_changed",
            json!({"job": {"id": format!("job_{n}"), "customer_id": id, "status": "invoiced", "invoice_total_cents": 30000}}),
        ),
    ];
    for (delivery, kind, data) in steps {
        let reply = deliver(app, "acme", secret, &delivery, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
}

/// A friend fills in the website form with a referrer's code.
pub(crate) async fn friend_leads(app: &TestApp, code: &str, name: &str, phone: &str) {
    let reply = app
        .call(
            Method::POST,
            "/api/leads",
            None,
            Some(json!({"business_id": "acme", "name": name, "phone": phone, "ref": code})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

/// A rule on the test's bus feeding a queue of its own, as the issuer's trigger would.
pub(crate) async fn issuer_queue(app: &TestApp) -> (aws_sdk_sqs::Client, String) {
    vouch_local::bus::route_to_issuer(
        &app.events,
        &crate::harness::endpoint(),
        &app.bus,
        &format!("issuer-{}", app.table),
    )
    .await
    .unwrap()
}

/// Runs the issuer on what the bus routed to its queue until `expected` events were handled
/// (or four seconds passed); returns how many were.
pub(crate) async fn drain_issuer(
    app: &TestApp,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    expected: usize,
) -> usize {
    let mut handled = 0;
    for _ in 0..40 {
        handled +=
            vouch_local::bus::drain_once(sqs, queue, &app.state.vouch, "https://go.vouch.test")
                .await
                .unwrap();
        if handled >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    handled
}

pub(crate) async fn rewards(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let reply = app
        .call(
            Method::GET,
            &format!("/api/admin/rewards{query}"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_loop_closes_through_the_bus_and_pays_each_referral_once() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"reward": {"type": "service_credit", "description": "Account credit",
                "tiers": [{"from_referral": 1, "amount_cents": 2500}, {"from_referral": 3, "amount_cents": 5000}]}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let (sqs, queue) = issuer_queue(&app).await;
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    for n in 1..=3 {
        friend_closes(&app, &secret, &code, n).await;
    }
    assert_eq!(drain_issuer(&app, &sqs, &queue, 3).await, 3);
    let mut paid: Vec<(u64, i64, String)> = rewards(&app, &key, "")
        .await
        .iter()
        .map(|r| {
            (
                r["ordinal"].as_u64().unwrap(),
                r["amount_cents"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    paid.sort();
    assert_eq!(
        paid,
        vec![
            (1, 2500, "issued".to_owned()),
            (2, 2500, "issued".to_owned()),
            (3, 5000, "issued".to_owned())
        ]
    );
    let detail = app
        .call(
            Method::GET,
            "/api/admin/participants/cus_maria",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(detail["credit_balance_cents"], 10000);
    assert_eq!(detail["rewards_earned_cents"], 10000);
    assert_eq!(detail["closed"], 3);
    assert_eq!(detail["rewards"].as_array().unwrap().len(), 3);
    let earned = texts_containing("You've earned").await;
    let to_maria: Vec<_> = earned.iter().filter(|(to, _)| to == MARIA_PHONE).collect();
    // The third reward text waits for tomorrow: three texts a day per number.
    assert!(!to_maria.is_empty(), "{earned:?}");

    // Nothing more happens however often the events come again.
    assert_eq!(
        vouch_local::bus::drain_once(&sqs, &queue, &app.state.vouch, "https://go.vouch.test")
            .await
            .unwrap(),
        0
    );
    let referrals = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    for referral in referrals["items"].as_array().unwrap() {
        assert_eq!(referral["status"], "rewarded", "{referral}");
    }

    // Deleting an attribution reverses its reward with a ledger entry.
    let id = referrals["items"][0]["referral_id"].as_str().unwrap();
    let reply = app
        .call(
            Method::DELETE,
            &format!("/api/admin/referrals/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reversed = rewards(&app, &key, "?status=reversed").await;
    assert_eq!(reversed.len(), 1);
    let detail = app
        .call(
            Method::GET,
            "/api/admin/participants/cus_maria",
            Some(&key),
            None,
        )
        .await
        .json();
    let left = 10000 - reversed[0]["amount_cents"].as_i64().unwrap();
    assert_eq!(detail["credit_balance_cents"], left);
    assert_eq!(detail["rewards_earned_cents"], left);
}

#[tokio::test]
async fn a_reward_costs_at_most_three_requests_and_the_texts() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    // Room for every text today, so the count is of the reward alone.
    app.call(
        Method::PUT,
        "/api/admin/settings",
        Some(&key),
        Some(json!({"sms": {"daily_cap_per_number": 10}})),
    )
    .await;
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    friend_closes(&app, &secret, &code, 1).await;
    let referral = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json()["items"][0]
        .clone();
    assert_eq!(referral["status"], "qualified");
    let detail = json!({
        "event_id": ulid::Ulid::new().to_string(), "business_id": "acme",
        "referral_id": referral["referral_id"], "lead_customer_id": referral["lead"]["customer_id"],
        "referrer_customer_id": "cus_maria",
    });
    let event: aws_lambda_events::event::eventbridge::EventBridgeEvent<Value> =
        serde_json::from_value(json!({
            "version": "0", "id": "e1", "detail-type": "referral.qualified", "source": "vouch",
            "account": "123456789012", "time": "2026-11-22T12:00:00Z", "region": "us-east-1",
            "resources": [], "detail": detail
        }))
        .unwrap();
    app.requests.reset();
    app.issue(event.clone()).await.unwrap();
    let counts = app.requests.snapshot();
    assert!(app.requests.total() <= 3, "{counts:?}");
    assert_eq!(rewards(&app, &key, "?status=issued").await.len(), 1);
    // The same event again: nothing more.
    app.issue(event).await.unwrap();
    assert_eq!(rewards(&app, &key, "").await.len(), 1);
}

#[tokio::test]
async fn staff_approve_and_redeem_along_the_state_machine() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"approval": "manual"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    friend_closes(&app, &secret, &code, 1).await;
    let referral = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json()["items"][0]
        .clone();
    let detail = json!({"event_id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "business_id": "acme",
        "referral_id": referral["referral_id"], "lead_customer_id": referral["lead"]["customer_id"]});
    app.state
        .vouch
        .issue_reward(
            &serde_json::from_value(detail).unwrap(),
            "https://go.vouch.test",
        )
        .await
        .unwrap();
    let pending = rewards(&app, &key, "?status=pending").await;
    assert_eq!(pending.len(), 1);
    let id = pending[0]["reward_id"].as_str().unwrap().to_owned();
    let patch = |status: &str| {
        let path = format!("/api/admin/rewards/{id}");
        let body = json!({"status": status, "note": "checked the invoice"});
        let app = &app;
        let key = key.clone();
        async move { app.call(Method::PATCH, &path, Some(&key), Some(body)).await }
    };
    assert_eq!(patch("redeemed").await.status, StatusCode::CONFLICT);
    assert_eq!(
        patch("sideways").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let approved = patch("approved").await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(approved.json()["status"], "issued");
    let redeemed = patch("redeemed").await;
    assert_eq!(redeemed.json()["status"], "redeemed");
    let audit = redeemed.json()["audit"].as_array().unwrap().clone();
    assert!(
        audit
            .iter()
            .any(|c| c["by"] == "admin key" && c["note"] == "checked the invoice")
    );
    assert_eq!(patch("approved").await.status, StatusCode::CONFLICT);
    let unknown = app
        .call(
            Method::PATCH,
            "/api/admin/rewards/01JAAAAAAAAAAAAAAAAAAAAAAA",
            Some(&key),
            Some(json!({"status": "approved"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invitation_and_a_progress_text_can_go_in_one_commit() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    app.call(
        Method::PUT,
        "/api/admin/settings",
        Some(&key),
        Some(json!({"sms": {"send_progress": true}})),
    )
    .await;
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    let reply = app
        .call(
            Method::POST,
            "/api/leads",
            None,
            Some(json!({"business_id": "acme", "name": "Dana Smith", "phone": "+15125550399", "ref": code})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let steps = [
        (
            "d1",
            "customer.upserted",
            json!({"customer": {"id": "sw_dana", "first_name": "Dana", "phone": "+15125550399", "sms_consent": true}}),
        ),
        (
            "d2",
            "review.submitted",
            json!({"customer_id": "sw_dana", "score": 5}),
        ),
        // Enrols Dana (her invitation) and tells Maria her friend's job is complete.
        (
            "d3",
            "job.status_changed",
            json!({"job": {"id": "job_d", "customer_id": "sw_dana", "status": "completed"}}),
        ),
    ];
    for (id, kind, data) in steps {
        let reply = deliver(&app, "acme", &secret, id, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
    }
    let messages = app
        .call(Method::GET, "/api/admin/messages", Some(&key), None)
        .await
        .json();
    let purposes: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["purpose"].as_str().unwrap())
        .collect();
    assert!(purposes.contains(&"progress"), "{purposes:?}");
    assert_eq!(purposes.iter().filter(|p| **p == "invitation").count(), 2);
}

/// Friend 1 arrives through the form with Maria's code and the software sends them as `sw_1`;
/// then `deliveries` job deliveries for their job arrive at once (completed, invoiced, paid and
/// retries of each), as job software sends them within the same second.
async fn simultaneous_deliveries(
    deliveries: usize,
) -> (Vec<(StatusCode, Option<String>)>, Vec<Value>) {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    friend_leads(&app, &code, "Friend1 Smith", "+15125550301").await;
    let reply = deliver(
        &app,
        "acme",
        &secret,
        "f1a",
        "customer.upserted",
        json!({"customer": {"id": "sw_1", "first_name": "Friend1", "phone": "+15125550301"}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let statuses = ["completed", "invoiced", "paid"];
    let mut tasks = tokio::task::JoinSet::new();
    let app = std::sync::Arc::new(app);
    for n in 0..deliveries {
        let (app, secret) = (app.clone(), secret.clone());
        // A third of them repeat an earlier delivery id, as retries do.
        let id = format!("job-{}", if n % 3 == 2 { n - 1 } else { n });
        let status = statuses[n % statuses.len()];
        tasks.spawn(async move {
            let reply = deliver(
                &app,
                "acme",
                &secret,
                &id,
                "job.status_changed",
                json!({"job": {"id": "job_1", "customer_id": "sw_1", "status": status, "invoice_total_cents": 30000}}),
            )
            .await;
            (reply.status, reply.header("retry-after").map(str::to_owned))
        });
    }
    let answers = tasks.join_all().await;
    // The issuer on every referral.qualified the bus would deliver.
    let qualified = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=qualified",
            Some(&key),
            None,
        )
        .await
        .json();
    for referral in qualified["items"].as_array().unwrap() {
        let detail = json!({"event_id": ulid::Ulid::new().to_string(), "business_id": "acme",
            "referral_id": referral["referral_id"], "lead_customer_id": referral["lead"]["customer_id"],
            "referrer_customer_id": "cus_maria"});
        app.state
            .vouch
            .issue_reward(
                &serde_json::from_value(detail).unwrap(),
                "https://go.vouch.test",
            )
            .await
            .unwrap();
    }
    (answers, rewards(&app, &key, "").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_simultaneous_deliveries_for_one_job_are_all_taken_and_reward_once() {
    // Three rounds: contention between four deliveries is likely, not certain, in any one.
    for round in 0..3 {
        let (answers, rewards) = simultaneous_deliveries(4).await;
        assert!(
            answers.iter().all(|(status, _)| *status == StatusCode::OK),
            "round {round}: {answers:?}"
        );
        assert_eq!(rewards.len(), 1, "{rewards:#?}");
        assert_eq!(rewards[0]["amount_cents"], 2500);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a_burst_of_deliveries_never_doubles_a_reward_and_a_busy_answer_says_when_to_retry() {
    let (answers, rewards) = simultaneous_deliveries(32).await;
    for (status, retry_after) in &answers {
        match *status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => assert!(
                retry_after
                    .as_deref()
                    .is_some_and(|s| s.parse::<u64>().is_ok()),
                "{answers:?}"
            ),
            other => panic!("{other}: {answers:?}"),
        }
    }
    assert!(answers.iter().any(|(status, _)| *status == StatusCode::OK));
    assert_eq!(rewards.len(), 1, "{rewards:#?}");
}
