//! Jobber end to end (emulator): the HTTP adapter against the local Jobber stand-in (the same
//! contract the in-memory Jobber keeps), an owner connecting through the dashboard and Jobber's
//! authorize page, signed webhooks from the stand-in queued on SQS and read back through its
//! GraphQL API, a referral paid in "Jobber" rewarded once, and the faults Jobber has: bad
//! signatures, duplicates, throttling, lapsed tokens, disconnection.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use vouch_aws::jobber::Jobber;
use vouch_domain::model::jobber::JobberId;
use vouch_domain::testing::jobber::{Seeded, contract};

use crate::dashboard::{Browser, get_page, member};
use crate::harness::{JOBBER_CLIENT_ID, JOBBER_CLIENT_SECRET, TestApp, send, spawn_app};
use crate::rewards::{drain_issuer, issuer_queue};

const CALLBACK: &str = "https://go.vouch.test/integrations/jobber/callback";

/// Follows Jobber's authorize page as the owner's browser would (the stand-in approves at
/// once); returns where it sends the browser back to.
async fn authorize(url: &str) -> String {
    let request = Request::builder()
        .uri(url)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let (status, headers, body) = vouch_aws::vendor::VendorClient::default()
        .send(request)
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 302, "{}", String::from_utf8_lossy(&body));
    headers["location"].to_str().unwrap().to_owned()
}

fn query_param(url: &str, name: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Saves the Jobber app in the settings (admin API).
async fn save_app(app: &TestApp, key: &str) {
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(key),
            Some(json!({
                "reward": {"type": "service_credit", "description": "Account credit",
                           "tiers": [{"from_referral": 1, "amount_cents": 2500}]},
                "integrations": {"jobber": {"client_id": JOBBER_CLIENT_ID,
                                            "client_secret": JOBBER_CLIENT_SECRET}}
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

/// The owner connects Jobber from the dashboard: connect → Jobber's authorize page → callback.
async fn connect(app: &TestApp, owner: &Browser) {
    let reply = get_page(app, "/integrations/jobber/connect", Some(owner)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let authorize_url = reply.header("location").unwrap().to_owned();
    assert!(
        authorize_url.starts_with(&app.jobber.auth_url()),
        "{authorize_url}"
    );
    assert_eq!(query_param(&authorize_url, "redirect_uri"), CALLBACK);
    let back = authorize(&authorize_url).await;
    assert!(back.starts_with(CALLBACK), "{back}");
    let path = &back["https://go.vouch.test".len()..];
    let reply = get_page(app, path, Some(owner)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some("/admin/settings?jobber=connected#jobber")
    );
}

/// Vouch served on a loopback port, where the stand-in's webhooks go.
async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    app.jobber
        .set_webhook_url(&format!("{base}/webhooks/jobber"));
    base
}

/// Drains the read-back queue until `expected` read-backs are done for good (retries come back
/// at once here); returns them.
async fn drain(app: &TestApp, expected: usize) -> Vec<String> {
    let mut done = Vec::new();
    for _ in 0..40 {
        let drained = drain_once(app).await;
        done.extend(drained.done.into_iter().map(|d| format!("{d:?}")));
        if done.len() >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    done
}

/// One pass over the read-back queue; a read-back to retry comes back at once.
async fn drain_once(app: &TestApp) -> vouch_local::read_backs::Drained {
    let (sqs, url) = &app.read_backs;
    vouch_local::read_backs::drain_once(sqs, url, &app.state.vouch, "https://go.vouch.test", |_| 0)
        .await
        .unwrap()
}

/// Acme with its Jobber app saved and connected by its owner, served for webhooks.
async fn connected_acme() -> (TestApp, String, Browser) {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    save_app(&app, &key).await;
    let (_, owner) = member(&app, &key, "olivia@acme.example", "Olivia Owens", "owner").await;
    connect(&app, &owner).await;
    serve(&app).await;
    (app, key, owner)
}

#[tokio::test]
async fn the_http_adapter_keeps_the_jobber_contract_against_the_stand_in() {
    let app = spawn_app().await;
    let jobber = &app.jobber;
    let client = jobber.add_client("Dana", "Reyes", Some("512-555-0188"), true, None);
    let job = jobber.add_job(&client, 35_025);
    let invoice = jobber.add_invoice(&job);
    jobber.pay_invoice(&invoice);
    let authorize_url = format!(
        "{}/authorize?response_type=code&client_id={JOBBER_CLIENT_ID}&redirect_uri={CALLBACK}&state=s",
        jobber.auth_url()
    );
    let code = query_param(&authorize(&authorize_url).await, "code");
    let adapter = Jobber::new(&jobber.api_url(), &jobber.auth_url());
    let seeded = Seeded {
        client_id: JobberId::parse(&client).unwrap(),
        paid_invoice_id: JobberId::parse(&invoice).unwrap(),
        invoice_total_cents: 35_025,
    };
    contract(&adapter, &code, CALLBACK, &seeded).await;
}

#[tokio::test]
async fn a_referral_paid_in_jobber_rewards_the_referrer_once() {
    let (app, key, owner) = connected_acme().await;
    let settings = get_page(&app, "/admin/settings", Some(&owner)).await.text();
    assert!(settings.contains("Connected:"), "{settings}");
    assert!(!settings.contains(JOBBER_CLIENT_SECRET));
    let jobber = &app.jobber;
    let (sqs, queue) = issuer_queue(&app).await;

    // Maria, a client in Jobber, is enrolled under her Jobber id (read back from Jobber).
    let maria = jobber.add_client("Maria", "Garcia", Some("512-555-0123"), true, None);
    assert_eq!(jobber.fire("CLIENT_CREATE", &maria).await.unwrap(), 200);
    assert_eq!(drain(&app, 1).await.len(), 1);
    let reply = app
        .call(
            Method::POST,
            "/api/admin/participants",
            Some(&key),
            Some(json!({"customer_id": maria})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());

    // Dana calls; the office takes a request in Jobber naming Maria as who referred her.
    let dana = jobber.add_client("Dana", "Reyes", Some("512-555-0188"), true, None);
    let request = jobber.add_request(&dana, Some(&maria));
    assert_eq!(jobber.fire("REQUEST_CREATE", &request).await.unwrap(), 200);
    // Jobber delivers at least once: the same webhook again changes nothing.
    assert_eq!(jobber.fire("REQUEST_CREATE", &request).await.unwrap(), 200);
    assert_eq!(
        drain(&app, 2).await,
        [
            "Ok(Delivered { duplicate: false })",
            "Ok(Delivered { duplicate: true })"
        ]
    );
    let referrals = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    let items = referrals["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{referrals}");

    // The job is done and invoiced, then paid: read back, the referral qualifies.
    let job = jobber.add_job(&dana, 42_000);
    let visit = jobber.add_visit(&job);
    jobber.complete_visit(&visit);
    jobber.set_job_status(&job, "requires_invoicing");
    let invoice = jobber.add_invoice(&job);
    let payment = jobber.pay_invoice(&invoice);
    // Each mapped topic is read back and delivered (none refused or skipped).
    for (topic, item) in [
        ("VISIT_COMPLETE", &visit),
        ("JOB_UPDATE", &job),
        ("INVOICE_CREATE", &invoice),
        ("INVOICE_UPDATE", &invoice),
        ("PAYMENT_CREATE", &payment),
    ] {
        assert_eq!(jobber.fire(topic, item).await.unwrap(), 200, "{topic}");
        let done = drain(&app, 1).await;
        assert_eq!(done, ["Ok(Delivered { duplicate: false })"], "{topic}");
    }
    assert_eq!(crate::webhooks::stored_job_status(&app, &job).await, "paid");
    // Out of order: the job's update, delivered late, is older than the paid invoice and
    // does not move the job back.
    assert_eq!(jobber.fire("JOB_UPDATE", &job).await.unwrap(), 200);
    assert_eq!(drain(&app, 1).await.len(), 1);
    assert_eq!(crate::webhooks::stored_job_status(&app, &job).await, "paid");
    assert_eq!(drain_issuer(&app, &sqs, &queue, 1).await, 1);
    let rewards = app
        .call(Method::GET, "/api/admin/rewards", Some(&key), None)
        .await
        .json();
    let items = rewards["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{rewards}");
    assert_eq!(items[0]["customer_id"], json!(maria));
    assert_eq!(items[0]["amount_cents"], json!(2500));
    let referral = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    let referral = &referral["items"][0];
    assert_eq!(referral["status"], json!("rewarded"), "{referral}");
    assert_eq!(referral["source"], json!("dispatcher"));
    assert_eq!(referral["invoice_total_cents"], json!(42_000));
    assert_eq!(referral["job_id"], json!(job));
}

#[tokio::test]
async fn only_webhooks_signed_with_the_apps_secret_are_taken() {
    let (app, _key, _) = connected_acme().await;
    let jobber = &app.jobber;
    let client = jobber.add_client("Dana", "Reyes", None, false, None);
    let body = json!({"data": {"webHookEvent": {"topic": "CLIENT_CREATE",
        "appId": JOBBER_CLIENT_ID, "accountId": jobber.account_id(), "itemId": client,
        "occurredAt": "2026-12-03T10:31:36-06:00"}}})
    .to_string();
    let post = |signature: Option<String>, body: String, content_type: &str| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/webhooks/jobber")
            .header("content-type", content_type);
        if let Some(signature) = signature {
            request = request.header("x-jobber-hmac-sha256", signature);
        }
        request.body(Body::from(body)).unwrap()
    };
    let signed = jobber.sign(body.as_bytes());
    let tampered = body.replace("CLIENT_CREATE", "CLIENT_UPDATE");
    let wrong =
        vouch_domain::values::signature::sign_body_base64(b"another-secret", body.as_bytes());
    for (signature, body) in [
        (Some(signed.clone()), tampered),
        (Some(wrong), body.clone()),
        (None, body.clone()),
    ] {
        let reply = send(&app.router, post(signature, body, "application/json")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    }
    assert!(drain_nothing(&app).await);
    // A body that is not a webhook: 4xx naming what is wrong, nothing queued.
    let reply = send(
        &app.router,
        post(
            Some(signed.clone()),
            "{\"data\": {}}".into(),
            "application/json",
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.text().contains("data.webHookEvent"));
    // Signed right: queued, answered at once.
    let reply = send(&app.router, post(Some(signed), body, "application/json")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["outcome"], json!("queued"));
    // The older form-encoded body with the `occuredAt` spelling, signed over its raw bytes.
    let form = serde_urlencoded::to_string([
        ("data[webHookEvent][topic]", "CLIENT_UPDATE"),
        (
            "data[webHookEvent][accountId]",
            jobber.account_id().as_str(),
        ),
        ("data[webHookEvent][itemId]", client.as_str()),
        ("data[webHookEvent][occuredAt]", "2026-12-03T10:40:00-06:00"),
    ])
    .unwrap();
    let status = jobber
        .fire_raw("application/x-www-form-urlencoded", form.into_bytes())
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(drain(&app, 2).await.len(), 2);
}

/// Nothing is waiting in the read-back queue.
async fn drain_nothing(app: &TestApp) -> bool {
    drain_once(app).await == vouch_local::read_backs::Drained::default()
}

#[tokio::test]
async fn read_backs_ride_out_throttling_outages_and_lapsed_tokens() {
    let (app, key, _) = connected_acme().await;
    let jobber = &app.jobber;
    let dana = jobber.add_client("Dana", "Reyes", Some("512-555-0188"), true, None);
    jobber.throttle_next(1);
    jobber.fail_next(1);
    jobber.expire_access_tokens();
    assert_eq!(jobber.fire("CLIENT_CREATE", &dana).await.unwrap(), 200);
    let done = drain(&app, 1).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].contains("Delivered"), "{done:?}");
    // The lapsed token was refreshed once (the stand-in spends refresh tokens when used).
    assert_eq!(
        jobber.token_grants(),
        ["authorization_code", "refresh_token"]
    );
    let _ = key;
}

#[tokio::test]
async fn app_disconnect_forgets_the_account_and_later_webhooks_are_refused() {
    let (app, _key, owner) = connected_acme().await;
    let jobber = &app.jobber;
    assert_eq!(jobber.disconnect().await.unwrap(), 200);
    let settings = get_page(&app, "/admin/settings", Some(&owner)).await.text();
    assert!(
        settings.contains("App saved, account not connected"),
        "{settings}"
    );
    let client = jobber.add_client("Dana", "Reyes", None, false, None);
    assert_eq!(jobber.fire("CLIENT_CREATE", &client).await.unwrap(), 401);
    assert!(drain_nothing(&app).await);
}

#[tokio::test]
async fn connecting_needs_the_state_this_session_made() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    save_app(&app, &key).await;
    let (_, owner) = member(&app, &key, "olivia@acme.example", "Olivia Owens", "owner").await;
    let (_, other) = member(&app, &key, "oscar@acme.example", "Oscar Owens", "owner").await;
    let reply = get_page(&app, "/integrations/jobber/connect", Some(&owner)).await;
    let back = authorize(reply.header("location").unwrap()).await;
    let path = &back["https://go.vouch.test".len()..];
    // Another owner's browser coming back with it is refused, and nothing is connected.
    let reply = get_page(&app, path, Some(&other)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    let page = get_page(&app, "/admin/settings", Some(&owner)).await.text();
    assert!(page.contains("App saved, account not connected"));
    // Signed out: to the sign-in page.
    let reply = get_page(&app, path, None).await;
    assert_eq!(reply.header("location"), Some("/admin/login"));
    // Jobber saying no: nothing changes, said plainly.
    let reply = get_page(
        &app,
        "/integrations/jobber/callback?error=access_denied&state=x",
        Some(&owner),
    )
    .await;
    assert!(reply.text().contains("Jobber was not connected"));
    let shown: Value = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(
        shown["integrations"]["jobber"],
        json!({"configured": true, "client_id": JOBBER_CLIENT_ID})
    );
    assert!(!shown.to_string().contains(JOBBER_CLIENT_SECRET));
}

#[tokio::test]
async fn a_read_back_that_finds_the_app_disconnected_forgets_the_account() {
    let (app, _key, owner) = connected_acme().await;
    let jobber = &app.jobber;
    let client = jobber.add_client("Dana", "Reyes", None, false, None);
    assert_eq!(jobber.fire("CLIENT_CREATE", &client).await.unwrap(), 200);
    // The owner disconnects in Jobber and its APP_DISCONNECT never arrives: the queued
    // read-back finds out from Jobber's answer instead.
    jobber.set_webhook_url("http://127.0.0.1:9/webhooks/jobber");
    assert!(
        jobber.disconnect().await.is_err(),
        "the webhook was not delivered"
    );
    assert_eq!(
        drain(&app, 1).await,
        ["Ok(Skipped(\"the account disconnected the app; tokens forgotten\"))"]
    );
    let page = get_page(&app, "/admin/settings", Some(&owner)).await.text();
    assert!(page.contains("App saved, account not connected"), "{page}");
}
