//! emulator: signed webhooks end to end — enrolment, the invitation through SNS, events through
//! EventBridge (read back from an SQS queue a rule feeds), opt-outs, request budgets.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use vouch_domain::values::secrets::WebhookSecret;
use vouch_domain::values::signature as webhook;

use crate::harness::{Reply, TestApp, send, spawn_app, texts_containing};

/// Sends a Standard Webhooks delivery signed `now`.
pub(crate) async fn deliver(
    app: &TestApp,
    business: &str,
    secret: &str,
    id: &str,
    kind: &str,
    data: Value,
) -> Reply {
    let body = json!({"type": kind, "timestamp": chrono::Utc::now().to_rfc3339(), "data": data})
        .to_string();
    signed(
        app,
        business,
        secret,
        id,
        chrono::Utc::now().timestamp(),
        body,
    )
    .await
}

async fn signed(
    app: &TestApp,
    business: &str,
    secret: &str,
    id: &str,
    at: i64,
    body: String,
) -> Reply {
    let secret = WebhookSecret::parse(secret).unwrap();
    let signature = webhook::sign(&secret, id, at, body.as_bytes());
    let request = Request::post(format!("/webhooks/{business}"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", at.to_string())
        .header("webhook-signature", signature)
        .body(Body::from(body))
        .unwrap();
    send(&app.router, request).await
}

fn customer(id: &str, phone: &str) -> Value {
    json!({"id": id, "first_name": "Maria", "last_name": "Garcia", "phone": phone, "sms_consent": true})
}

/// An SQS queue that a rule on the test's bus feeds with every Vouch event.
pub(crate) async fn event_queue(app: &TestApp) -> (aws_sdk_sqs::Client, String) {
    let sdk = vouch_aws::config::sdk_config(Some(&crate::harness::endpoint())).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .create_queue()
        .queue_name(format!("q-{}", app.table))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let events = app.events.client();
    events
        .put_rule()
        .name(format!("all-{}", app.table))
        .event_bus_name(&app.bus)
        .event_pattern(json!({"source": ["vouch"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(format!("all-{}", app.table))
        .event_bus_name(&app.bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (sqs, url)
}

pub(crate) async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for _ in 0..5 {
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() && !events.is_empty() {
            break;
        }
        for message in messages {
            events.push(serde_json::from_str(message.body().unwrap_or("{}")).unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    events
}

#[tokio::test]
async fn signed_webhooks_enrol_a_happy_customer_and_text_the_invitation_once() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    let (sqs, queue) = event_queue(&app).await;

    let steps = [
        (
            "d1",
            "customer.upserted",
            json!({"customer": customer("cus_1", "512-555-0142")}),
        ),
        (
            "d2",
            "job.status_changed",
            json!({"job": {"id": "job_1", "customer_id": "cus_1", "status": "completed", "invoice_total_cents": 42000}}),
        ),
        (
            "d3",
            "review.submitted",
            json!({"customer_id": "cus_1", "job_id": "job_1", "score": 5}),
        ),
    ];
    for (id, kind, data) in steps.clone() {
        app.requests.reset();
        app.eventbridge_requests.reset();
        let reply = deliver(&app, "acme", &secret, id, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
        assert_eq!(reply.json(), json!({"received": true, "duplicate": false}));
        // The budget: at most 5 DynamoDB requests and 1 PutEvents per event (the business's
        // settings are cached after the first).
        eprintln!(
            "{kind}: DynamoDB {:?}, EventBridge {:?}",
            app.requests.snapshot(),
            app.eventbridge_requests.snapshot()
        );
        assert!(
            app.requests.total() <= 5,
            "{kind}: {:?}",
            app.requests.snapshot()
        );
        assert!(
            app.eventbridge_requests
                .snapshot()
                .get("PutEvents")
                .copied()
                .unwrap_or(0)
                <= 1,
            "{kind}"
        );
    }
    // Redelivery of each: acknowledged as duplicates, nothing more happens.
    for (id, kind, data) in steps {
        let reply = deliver(&app, "acme", &secret, id, kind, data).await;
        assert_eq!(
            reply.json(),
            json!({"received": true, "duplicate": true}),
            "{kind}"
        );
    }

    let participant = app
        .call(
            Method::GET,
            "/api/admin/participants/cus_1",
            Some(&key),
            None,
        )
        .await
        .json();
    let code = participant["code"].as_str().expect("enrolled").to_owned();
    let messages = app
        .call(
            Method::GET,
            "/api/admin/messages?customer_id=cus_1",
            Some(&key),
            None,
        )
        .await
        .json();
    let items = messages["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{messages}");
    assert_eq!(items[0]["purpose"], "invitation");
    assert_eq!(items[0]["status"], "sent");
    assert_eq!(items[0]["to_masked"], "•••0142");
    // The link to share and the referrer's own page: two segments (README, known limits).
    assert_eq!(items[0]["segments"], 2);

    let texts = texts_containing(&code).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].0, "+15125550142");
    assert!(
        texts[0]
            .1
            .contains(&format!("https://go.vouch.test/r/{code}"))
    );

    let events = drain(&sqs, &queue).await;
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "participant.enrolled")
            .count(),
        1,
        "{events:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "invitation.sent").count(),
        1,
        "{events:?}"
    );
    let enrolled = events
        .iter()
        .find(|e| e["detail-type"] == "participant.enrolled")
        .unwrap();
    assert_eq!(enrolled["source"], "vouch");
    assert_eq!(enrolled["detail"]["business_id"], "acme");
    assert_eq!(enrolled["detail"]["customer_id"], "cus_1");
    assert_eq!(enrolled["detail"]["event_id"].as_str().unwrap().len(), 26);
}

#[tokio::test]
async fn stop_suppresses_the_next_text_with_the_reason_opted_out() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    let stop = json!({"originationNumber": "+15125550143", "destinationNumber": "+15550100000", "messageBody": "Stop"});
    let reply = app
        .call(Method::POST, "/_local/sms/inbound", None, Some(stop))
        .await;
    assert_eq!(reply.json(), json!({"keyword": "optout"}));

    deliver(
        &app,
        "acme",
        &secret,
        "d1",
        "customer.upserted",
        json!({"customer": customer("cus_1", "(512) 555-0143")}),
    )
    .await;
    deliver(
        &app,
        "acme",
        &secret,
        "d2",
        "review.submitted",
        json!({"customer_id": "cus_1", "score": 5}),
    )
    .await;
    deliver(
        &app,
        "acme",
        &secret,
        "d3",
        "job.status_changed",
        json!({"job": {"id": "j", "customer_id": "cus_1", "status": "paid"}}),
    )
    .await;

    let messages = app
        .call(
            Method::GET,
            "/api/admin/messages?status=suppressed",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(messages["items"][0]["reason"], "opted_out", "{messages}");
    assert!(texts_containing("+15125550143").await.is_empty());
    assert!(
        texts_containing("Garcia")
            .await
            .iter()
            .all(|(to, _)| to != "+15125550143")
    );

    // START opts back in; HELP is answered with the business's name.
    let start = json!({"originationNumber": "+15125550143", "messageBody": "START"});
    assert_eq!(
        app.call(Method::POST, "/_local/sms/inbound", None, Some(start))
            .await
            .json(),
        json!({"keyword": "optin"})
    );
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_and_unknown_businesses_are_401() {
    let app = spawn_app().await;
    let (_, secret) = app.create_business("acme").await;
    let body = json!({"type": "customer.upserted", "timestamp": "2026-11-22T10:00:00Z", "data": {"customer": customer("c", "512-555-0144")}}).to_string();
    // Outside the 5-minute tolerance by half a minute, so a slow machine cannot bring them in.
    let now = chrono::Utc::now().timestamp();
    for at in [now - 330, now + 330] {
        assert_eq!(
            signed(&app, "acme", &secret, "late", at, body.clone())
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        signed(&app, "nobody", &secret, "x", now, body.clone())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let other = WebhookSecret::generate();
    assert_eq!(
        signed(&app, "acme", other.reveal(), "x", now, body.clone())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let unsigned = Request::post("/webhooks/acme")
        .body(Body::from(body.clone()))
        .unwrap();
    let reply = send(&app.router, unsigned).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"]["code"], "unauthenticated");

    let huge = "x".repeat(300 * 1024);
    assert_eq!(
        signed(&app, "acme", &secret, "big", now, huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let unknown = json!({"type": "estimate.sent", "timestamp": "2026-11-22T10:00:00Z", "data": {}})
        .to_string();
    let reply = signed(&app, "acme", &secret, "u", now, unknown).await;
    assert_eq!(reply.status, StatusCode::OK);
    let invalid = json!({"type": "review.submitted", "timestamp": "2026-11-22T10:00:00Z", "data": {"customer_id": "c", "score": 11}}).to_string();
    let reply = signed(&app, "acme", &secret, "i", now, invalid).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.json()["error"]["fields"]["data.score"].is_string());
    // Nothing of the refused deliveries was stored.
    let items = app
        .store
        .dynamodb()
        .scan()
        .table_name(&app.table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert!(
        items
            .iter()
            .all(|item| !item["SK"].as_s().unwrap().starts_with("CUST#")),
        "{items:?}"
    );
}

#[tokio::test]
async fn the_local_scheduler_route_runs_the_sweep() {
    let app = spawn_app().await;
    let reply = app
        .call(Method::POST, "/_local/scheduler/run", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["sent"], 0);
}

/// Sends a job status with the sender's `timestamp`.
async fn job_status(app: &TestApp, secret: &str, id: &str, status: &str, at: &str) -> Reply {
    let body = json!({"type": "job.status_changed", "timestamp": at,
        "data": {"job": {"id": "job_1", "customer_id": "cus_1", "status": status, "invoice_total_cents": 51000}}})
    .to_string();
    signed(
        app,
        "acme",
        secret,
        id,
        chrono::Utc::now().timestamp(),
        body,
    )
    .await
}

pub(crate) async fn stored_job_status(app: &TestApp, job: &str) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = app
        .store
        .dynamodb()
        .get_item()
        .table_name(&app.table)
        .key("PK", AttributeValue::S("BIZ#acme".into()))
        .key("SK", AttributeValue::S(format!("JOB#{job}")))
        .send()
        .await
        .unwrap()
        .item
        .expect("the job is stored");
    item["status"].as_s().unwrap().clone()
}

#[tokio::test]
async fn a_job_moves_forward_and_never_back_on_out_of_order_delivery() {
    let app = spawn_app().await;
    let (_, secret) = app.create_business("acme").await;
    for (id, status, at, expected) in [
        ("j1", "completed", "2026-11-22T10:00:00Z", "completed"),
        ("j2", "invoiced", "2026-11-22T11:00:00Z", "invoiced"),
        ("j3", "scheduled", "2026-11-21T09:00:00Z", "invoiced"),
        ("j4", "dispatched", "2026-11-22T11:00:00Z", "invoiced"),
        ("j5", "paid", "2026-11-22T12:00:00Z", "paid"),
        ("j6", "canceled", "2026-11-23T08:00:00Z", "canceled"),
    ] {
        let reply = job_status(&app, &secret, id, status, at).await;
        assert_eq!(reply.status, StatusCode::OK, "{status}: {}", reply.text());
        assert_eq!(
            stored_job_status(&app, "job_1").await,
            expected,
            "after {status} at {at}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400_on_both_webhook_routes_and_changes_nothing() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    crate::housecallpro::connect(&app, &key).await;
    for body in ["{\"type\": ", "not json", "[1, 2]"] {
        let reply = signed(
            &app,
            "acme",
            &secret,
            "msg_bad",
            chrono::Utc::now().timestamp(),
            body.into(),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
        assert_eq!(
            reply.json()["error"]["code"],
            "bad_request",
            "{}",
            reply.text()
        );

        let reply =
            crate::housecallpro::post(&app, "acme", crate::housecallpro::SECRET, body.as_bytes())
                .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
    }
    // The id was not used up: the same delivery id with a good body is taken.
    let reply = deliver(
        &app,
        "acme",
        &secret,
        "msg_bad",
        "customer.upserted",
        json!({"customer": customer("cus_1", "+15125550101")}),
    )
    .await;
    assert_eq!(reply.json()["duplicate"], false, "{}", reply.text());
}

#[tokio::test]
async fn a_customers_tag_picks_its_segments_invitation() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    let saved = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"sms": {"segment_templates": {
                "property_manager": {"invitation": "PM {first_name}, send owners our way: {link}"}
            }}})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let bad = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"sms": {"segment_templates": {"pm": {"invitation": "Hi {nope}"}}}})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["fields"]["sms.segment_templates.pm.invitation"].is_string());
    for (id, kind, data) in [
        (
            "s1",
            "customer.upserted",
            json!({"customer": {"id": "cus_pm", "first_name": "Pat", "phone": "+15125550177",
                                "sms_consent": true, "tags": ["Gold", "Property Manager"]}}),
        ),
        (
            "s2",
            "job.status_changed",
            json!({"job": {"id": "job_pm", "customer_id": "cus_pm", "status": "completed"}}),
        ),
        (
            "s3",
            "review.submitted",
            json!({"customer_id": "cus_pm", "score": 5}),
        ),
    ] {
        let reply = deliver(&app, "acme", &secret, id, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let texts = texts_containing("PM Pat, send owners our way").await;
    assert!(
        texts.iter().any(|(to, _)| to == "+15125550177"),
        "{texts:?}"
    );
}
