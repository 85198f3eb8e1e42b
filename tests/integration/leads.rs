//! emulator: the website form end to end (JSON and plain form posts, CORS, limits, repeats),
//! staff's referral routes, and a website lead becoming the software's customer whose invoice
//! qualifies the referral once.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Reply, TestApp, send, spawn_app};
use crate::webhooks::{deliver, drain, event_queue};

fn form(body: &str) -> Request<Body> {
    Request::post("/api/leads")
        .header("host", "go.vouch.test")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn lead(app: &TestApp, body: Value) -> Reply {
    app.call(Method::POST, "/api/leads", None, Some(body)).await
}

/// A business with a thank-you page and an allowed origin, and Maria (cus_1) enrolled.
async fn with_referrer(app: &TestApp) -> (String, String, String) {
    let (key, secret) = app.create_business("acme").await;
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"thank_you_url": "https://acme.example/thanks",
                        "allowed_origins": ["https://www.acme.example"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let maria = app.enrol(&key, "cus_1", "Maria", "Garcia").await;
    (key, secret, maria["code"].as_str().unwrap().to_owned())
}

fn friend(code: &str) -> Value {
    json!({"business_id": "acme", "name": "Dana Smith", "phone": "(512) 555-0188", "ref": code})
}

#[tokio::test]
async fn a_json_lead_is_attributed_within_four_requests_and_repeats_get_the_same_id() {
    let app = spawn_app().await;
    let (key, _, code) = with_referrer(&app).await;
    // A freshly started instance: nothing cached.
    let fresh = app.new_instance().await;
    let reply = lead(&fresh, friend(&code)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let lead_id = reply.json()["lead_id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.json().as_object().unwrap().len(),
        1,
        "nothing about attribution"
    );
    let counts = fresh.requests.snapshot();
    assert!(fresh.requests.total() <= 4, "{counts:?}");
    assert_eq!(counts.get("Scan"), None);

    let again = lead(&app, friend(&code)).await;
    assert_eq!(again.json()["lead_id"], lead_id.as_str());

    let referrals = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    let items = referrals["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "pending");
    assert_eq!(items[0]["source"], "code");
    assert_eq!(items[0]["referrer"]["customer_id"], "cus_1");
    assert_eq!(items[0]["lead"]["phone_masked"], "•••0188");
    let messages = app
        .call(
            Method::GET,
            "/api/admin/messages?customer_id=cus_1",
            Some(&key),
            None,
        )
        .await
        .json();
    let acks: Vec<&Value> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["purpose"] == "acknowledgment")
        .collect();
    assert_eq!(acks.len(), 1, "{messages}");
    assert!(acks[0]["body"].as_str().unwrap().contains("Dana"));
    let detail = app
        .call(
            Method::GET,
            "/api/admin/participants/cus_1",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(detail["referrals"].as_array().unwrap().len(), 1);
    assert_eq!(detail["referral_count"], 1);
}

#[tokio::test]
async fn a_plain_form_post_is_redirected_to_the_thank_you_page() {
    let app = spawn_app().await;
    let (key, _, code) = with_referrer(&app).await;
    let reply = send(
        &app.router,
        form(&format!(
            "business_id=acme&name=Dana+Smith&phone=512-555-0188&ref={code}&sms_consent=on&website="
        )),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some("https://acme.example/thanks")
    );
    let referrals = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=pending",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(referrals["items"].as_array().unwrap().len(), 1);

    // A bad form gets a page naming what to fix, with the right status.
    let reply = send(&app.router, form("business_id=acme&name=&phone=12")).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(reply.text().contains("phone"), "{}", reply.text());
}

#[tokio::test]
async fn a_form_without_a_thank_you_page_gets_one_from_vouch() {
    let app = spawn_app().await;
    app.create_business("acme").await;
    let reply = send(
        &app.router,
        form("business_id=acme&name=Dana&email=dana%40example.com"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("Thank you"));
}

#[tokio::test]
async fn bad_leads_get_clear_errors() {
    let app = spawn_app().await;
    let (_, _, code) = with_referrer(&app).await;
    let reply = lead(&app, json!({"business_id": "acme", "name": "Dana"})).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.json()["error"]["fields"]["phone"].is_string());
    let huge = json!({"business_id": "acme", "name": "Dana", "phone": "5125550188", "message": "x".repeat(17 * 1024)});
    assert_eq!(lead(&app, huge).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = send(
        &app.router,
        Request::post("/api/leads")
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = send(
        &app.router,
        Request::post("/api/leads")
            .header("content-type", "application/json")
            .header("origin", "https://evil.example")
            .body(Body::from(friend(&code).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

async fn preflight(app: &TestApp, origin: &str, query: &str) -> Reply {
    send(
        &app.router,
        Request::builder()
            .method(Method::OPTIONS)
            .uri(format!("/api/leads{query}"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn cors_allows_only_the_businesss_origins() {
    let app = spawn_app().await;
    let (_, _, code) = with_referrer(&app).await;
    let allowed = preflight(&app, "https://www.acme.example", "?business_id=acme").await;
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://www.acme.example")
    );
    assert!(
        allowed
            .header("access-control-allow-methods")
            .is_some_and(|m| m.contains("POST"))
    );
    // The landing page's own origin is the business's too.
    let landing = preflight(&app, "https://acme.example", "?business_id=acme").await;
    assert_eq!(
        landing.header("access-control-allow-origin"),
        Some("https://acme.example")
    );
    // A script that names the business only in its JSON body: the preflight has no query, and
    // is answered from the origin itself.
    let bare = preflight(&app, "https://www.acme.example", "").await;
    assert_eq!(
        bare.header("access-control-allow-origin"),
        Some("https://www.acme.example")
    );
    for (origin, query) in [
        ("https://evil.example", "?business_id=acme"),
        ("https://evil.example", ""),
        ("https://www.acme.example", "?business_id=nobody"),
    ] {
        let denied = preflight(&app, origin, query).await;
        assert_eq!(
            denied.header("access-control-allow-origin"),
            None,
            "{origin}{query}"
        );
    }
    let reply = send(
        &app.router,
        Request::post("/api/leads?business_id=acme")
            .header("content-type", "application/json")
            .header("origin", "https://www.acme.example")
            .body(Body::from(friend(&code).to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://www.acme.example")
    );
    // Allowed by the preflight, a post naming another business is still refused.
    app.create_business("rival").await;
    let reply = send(
        &app.router,
        Request::post("/api/leads")
            .header("content-type", "application/json")
            .header("origin", "https://www.acme.example")
            .body(Body::from(
                json!({"business_id": "rival", "name": "Dana Smith", "phone": "+15125550188"})
                    .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
}

#[tokio::test]
async fn the_hourly_limit_per_address_holds_across_instances() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(
                json!({"limits": {"leads_per_ip_per_hour": 2, "leads_per_code_per_day": 20,
                                   "review_when_leads_per_code_per_day_over": 5}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let other = app.new_instance().await;
    for (n, instance) in [&app, &other].into_iter().enumerate() {
        let reply = lead(
            instance,
            json!({"business_id": "acme", "name": "Sam", "phone": format!("512-555-01{}", 10 + n)}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let third = lead(
        &app.new_instance().await,
        json!({"business_id": "acme", "name": "Sam", "phone": "512-555-0120"}),
    )
    .await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.text()
    );
    let retry: u64 = third.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry));
}

#[tokio::test]
async fn staff_review_attribute_and_delete_referrals_and_find_customers() {
    let app = spawn_app().await;
    let (key, _, _) = with_referrer(&app).await;
    app.enrol(&key, "cus_2", "Mario", "Rossi").await;
    let reply = lead(
        &app,
        json!({"business_id": "acme", "name": "Dana Smith", "phone": "512-555-0188", "referred_by": "Maria"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let held = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=needs_review",
            Some(&key),
            None,
        )
        .await
        .json();
    let referral = &held["items"][0];
    assert_eq!(referral["source"], "mention");
    assert_eq!(referral["candidates"][0]["customer_id"], "cus_1");
    let id = referral["referral_id"].as_str().unwrap().to_owned();
    let lead_id = referral["lead"]["customer_id"].as_str().unwrap().to_owned();

    let found = app
        .call(
            Method::GET,
            "/api/admin/customers?q=rossi",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(found["items"][0]["customer_id"], "cus_2");
    assert_eq!(found["items"][0]["participant"], true);
    let found = app
        .call(
            Method::GET,
            "/api/admin/customers?q=512-555-0188",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(found["items"][0]["name"], "Dana Smith");
    assert_eq!(found["items"][0]["participant"], false);

    let approve_path = format!("/api/admin/referrals/{id}/approve");
    let approve = |body: Value| app.call(Method::POST, &approve_path, Some(&key), Some(body));
    assert_eq!(
        approve(json!({})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let approved = approve(json!({"referrer_customer_id": "cus_2"})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(approved.json()["status"], "pending");
    let history = approved.json()["history"].as_array().unwrap().clone();
    assert_eq!(history.last().unwrap()["by"], "admin key", "{history:?}");
    assert!(history[0].get("by").is_none(), "{history:?}");
    assert_eq!(
        approve(json!({"referrer_customer_id": "cus_2"}))
            .await
            .status,
        StatusCode::CONFLICT
    );

    let manual = |replace: bool| {
        app.call(
            Method::POST,
            "/api/admin/referrals",
            Some(&key),
            Some(json!({"lead_customer_id": lead_id, "referrer_customer_id": "cus_1", "override": replace})),
        )
    };
    assert_eq!(manual(false).await.status, StatusCode::CONFLICT);
    let replaced = manual(true).await;
    assert_eq!(replaced.status, StatusCode::CREATED, "{}", replaced.text());
    assert_eq!(replaced.json()["source"], "manual");
    let new_id = replaced.json()["referral_id"].as_str().unwrap().to_owned();

    let deleted = app
        .call(
            Method::DELETE,
            &format!("/api/admin/referrals/{new_id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let reversed = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=reversed",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(reversed["items"].as_array().unwrap().len(), 2);
    let participants = app
        .call(Method::GET, "/api/admin/participants", Some(&key), None)
        .await
        .json();
    for row in participants["items"].as_array().unwrap() {
        assert_eq!(row["referrals"], 0, "{row}");
    }
    let unknown = app
        .call(
            Method::DELETE,
            "/api/admin/referrals/01JAAAAAAAAAAAAAAAAAAAAAAA",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // Another business's key never reaches it.
    let (other_key, _) = app.create_business("other-co").await;
    let foreign = app
        .call(
            Method::DELETE,
            &format!("/api/admin/referrals/{new_id}"),
            Some(&other_key),
            None,
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_website_lead_becomes_the_softwares_customer_and_qualifies_once() {
    let app = spawn_app().await;
    let (key, secret, code) = with_referrer(&app).await;
    let (sqs, queue) = event_queue(&app).await;
    let reply = lead(&app, friend(&code)).await;
    assert_eq!(reply.status, StatusCode::CREATED);

    let dana = json!({"id": "hcp_42", "first_name": "Dana", "last_name": "Smith", "phone": "512-555-0188"});
    let job = |status: &str, total: Option<i64>| {
        let mut job = json!({"id": "job_7", "customer_id": "hcp_42", "status": status});
        if let Some(total) = total {
            job["invoice_total_cents"] = json!(total);
        }
        json!({"job": job})
    };
    let steps = [
        ("w1", "customer.upserted", json!({"customer": dana})),
        ("w2", "job.status_changed", job("completed", None)),
        ("w3", "job.status_changed", job("invoiced", Some(48000))),
        ("w3", "job.status_changed", job("invoiced", Some(48000))),
        ("w4", "job.status_changed", job("invoiced", Some(48000))),
    ];
    for (id, kind, data) in steps {
        let reply = deliver(&app, "acme", &secret, id, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let referrals = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    let referral = &referrals["items"][0];
    assert_eq!(referral["status"], "qualified", "{referrals}");
    assert_eq!(referral["job_id"], "job_7");
    assert_eq!(referral["invoice_total_cents"], 48000);

    let events = drain(&sqs, &queue).await;
    let qualified: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] == "referral.qualified")
        .collect();
    assert_eq!(qualified.len(), 1, "{events:#?}");
    assert_eq!(qualified[0]["detail"]["referrer_customer_id"], "cus_1");
    assert_eq!(qualified[0]["detail"]["invoice_total_cents"], 48000);
    assert!(events.iter().any(|e| e["detail-type"] == "lead.attributed"));
    let participants = app
        .call(
            Method::GET,
            "/api/admin/participants?sort=closed",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(participants["items"][0]["customer_id"], "cus_1");
    assert_eq!(participants["items"][0]["closed"], 1);
}
