//! emulator: `/r/{code}` end to end — redirects, counting, bots, HEAD, unknown codes, request
//! budget.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use url::Url;
use vouch_http::Web;

use crate::harness::{IP_HASH_KEY, spawn_app, spawn_app_with};

const BROWSER: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1";

async fn click(
    app: &crate::harness::TestApp,
    path: &str,
    agent: Option<&str>,
    method: Method,
) -> crate::harness::Reply {
    let mut builder = axum::http::Request::builder().method(method).uri(path);
    if let Some(agent) = agent {
        builder = builder.header("user-agent", agent);
    }
    crate::harness::send(
        &app.router,
        builder.body(axum::body::Body::empty()).unwrap(),
    )
    .await
}

/// A business "acme" with Maria Garcia (cus_1) enrolled: the app, the admin key, her code.
async fn with_referrer() -> (crate::harness::TestApp, String, String) {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let code = app.enrol(&key, "cus_1", "Maria", "Garcia").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    (app, key, code)
}

async fn participant(
    app: &crate::harness::TestApp,
    key: &str,
    customer: &str,
) -> serde_json::Value {
    app.call(
        Method::GET,
        &format!("/api/admin/participants/{customer}"),
        Some(key),
        None,
    )
    .await
    .json()
}

#[tokio::test]
async fn a_click_redirects_with_the_referral_parameters_and_is_counted() {
    let (app, key, code) = with_referrer().await;

    let reply = click(
        &app,
        &format!("/r/{}?ch=sms", code.to_lowercase()),
        Some(BROWSER),
        Method::GET,
    )
    .await;

    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let location = Url::parse(reply.header("location").unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("acme.example"));
    let query: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(query["lang"], "en");
    assert_eq!(query["ref"], code);
    assert_eq!(query["utm_source"], "referral");
    assert_eq!(query["utm_medium"], "sms");
    assert_eq!(query["utm_campaign"], "referral-program");
    let click_id = query["vclid"].clone();

    let shown = participant(&app, &key, "cus_1").await;
    assert_eq!(shown["clicks"], 1);
    assert_eq!(shown["clicks_by_channel"]["sms"], 1);

    // The click record: TTL set, the IP only as a keyed hash.
    let item = app
        .store
        .dynamodb()
        .get_item()
        .table_name(&app.table)
        .key("PK", AttributeValue::S(format!("CLICK#{click_id}")))
        .key("SK", AttributeValue::S("#CLICK".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the click is stored");
    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    let in_days = (expires - chrono::Utc::now().timestamp()) / 86_400;
    assert!((89..=90).contains(&in_days), "expires in {in_days} days");
    let expected_hash = vouch_domain::values::secrets::IpHasher::new(IP_HASH_KEY.as_bytes())
        .hash("203.0.113.9".parse().unwrap());
    assert_eq!(item["ip_hash"].as_s().unwrap(), expected_hash.as_str());
    assert!(
        !format!("{item:?}").contains("203.0.113.9"),
        "raw IP stored: {item:?}"
    );
}

#[tokio::test]
async fn bots_head_requests_and_agentless_requests_are_not_counted() {
    let (app, key, code) = with_referrer().await;
    let path = format!("/r/{code}");

    for agent in [
        "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "WhatsApp/2.23.20.0",
        "Slackbot-LinkExpanding 1.0",
    ] {
        let reply = click(&app, &path, Some(agent), Method::GET).await;
        assert_eq!(reply.status, StatusCode::FOUND, "{agent}");
        assert!(
            !reply.header("location").unwrap().contains("vclid"),
            "{agent}"
        );
    }
    let head = click(&app, &path, Some(BROWSER), Method::HEAD).await;
    assert_eq!(head.status, StatusCode::FOUND);
    assert!(head.body.is_empty());
    click(&app, &path, None, Method::GET).await;

    assert_eq!(participant(&app, &key, "cus_1").await["clicks"], 0);
    click(&app, &path, Some(BROWSER), Method::GET).await;
    assert_eq!(participant(&app, &key, "cus_1").await["clicks"], 1);
}

#[tokio::test]
async fn nothing_in_the_request_chooses_the_redirect_host() {
    let (app, _, code) = with_referrer().await;

    for path in [
        format!("/r/{code}?next=https://evil.example"),
        format!("/r/{code}?ch=https://evil.example&url=//evil.example&redirect=evil.example"),
        format!("/r/{code}?landing_url=https%3A%2F%2Fevil.example"),
    ] {
        let reply = click(&app, &path, Some(BROWSER), Method::GET).await;
        let location = reply.header("location").unwrap();
        assert!(
            location.starts_with("https://acme.example/refer?"),
            "{path} → {location}"
        );
        assert!(!location.contains("evil"), "{path} → {location}");
    }
}

#[tokio::test]
async fn unknown_and_malformed_codes_get_a_404_page_or_the_fallback() {
    let app = spawn_app().await;
    app.create_business("acme").await;
    for path in [
        "/r/ABCD2345",
        "/r/not-a-code",
        "/r/%00%ff",
        &format!("/r/{}", "A".repeat(5000)),
        "/r/ABCD2345%2F..%2F",
    ] {
        let reply = click(&app, path, Some(BROWSER), Method::GET).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(reply.text().contains("isn't valid"));
    }

    let web = Web::new(Some("https://vouch.example/oops"), None).unwrap();
    let app = spawn_app_with(web).await;
    let reply = click(&app, "/r/ABCD2345", Some(BROWSER), Method::GET).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(reply.header("location"), Some("https://vouch.example/oops"));
}

#[tokio::test]
async fn odd_user_agents_do_not_break_the_redirect() {
    let (app, _, code) = with_referrer().await;
    let long = "x".repeat(8000);
    let odd: Vec<axum::http::HeaderValue> = vec![
        axum::http::HeaderValue::from_bytes(b"Mozilla/5.0 \xff\xfe caf\xc3\xa9").unwrap(),
        axum::http::HeaderValue::from_str(&long).unwrap(),
        axum::http::HeaderValue::from_static("   "),
    ];
    for agent in odd {
        let request = axum::http::Request::get(format!("/r/{code}"))
            .header("user-agent", agent)
            .body(axum::body::Body::empty())
            .unwrap();
        let reply = crate::harness::send(&app.router, request).await;
        assert_eq!(reply.status, StatusCode::FOUND);
    }
}

#[tokio::test]
async fn a_click_costs_two_dynamodb_requests_once_settings_are_cached() {
    let (app, _, code) = with_referrer().await;
    let path = format!("/r/{code}");

    // The first click a new instance serves also reads the business's settings, once.
    let app = app.new_instance().await;
    click(&app, &path, Some(BROWSER), Method::GET).await;
    assert_eq!(app.requests.total(), 3, "{:?}", app.requests.snapshot());

    app.requests.reset();
    click(&app, &path, Some(BROWSER), Method::GET).await;
    let counts = app.requests.snapshot();
    assert_eq!(counts.get("GetItem"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("TransactWriteItems"), Some(&1), "{counts:?}");
    assert_eq!(app.requests.total(), 2, "{counts:?}");

    // An uncounted visit only resolves the code.
    app.requests.reset();
    click(&app, &path, Some("WhatsApp/2"), Method::GET).await;
    assert_eq!(app.requests.total(), 1, "{:?}", app.requests.snapshot());
}

#[tokio::test]
async fn the_qr_code_and_the_public_card_describe_the_referrer() {
    let (app, _, code) = with_referrer().await;

    let qr = click(
        &app,
        &format!("/r/{code}/qr.svg"),
        Some(BROWSER),
        Method::GET,
    )
    .await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.header("content-type"), Some("image/svg+xml"));
    assert!(qr.text().contains("<svg"));
    assert_eq!(
        click(&app, "/r/ABCD2345/qr.svg", None, Method::GET)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let request =
        axum::http::Request::get(format!("/api/public/referrals/{}", code.to_lowercase()))
            .header("origin", "https://anywhere.example")
            .body(axum::body::Body::empty())
            .unwrap();
    let card = crate::harness::send(&app.router, request).await;
    assert_eq!(card.status, StatusCode::OK);
    assert_eq!(card.header("access-control-allow-origin"), Some("*"));
    assert!(card.header("access-control-allow-credentials").is_none());
    let body = card.json();
    assert_eq!(body["code"], code);
    assert_eq!(body["business_id"], "acme");
    assert_eq!(body["business_name"], "acme Plumbing");
    assert_eq!(body["referrer_display_name"], "Maria G.");
    assert!(body["offer_text"].as_str().unwrap().contains("Maria G."));

    let missing = click(&app, "/api/public/referrals/ABCD2345", None, Method::GET).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn guessing_codes_is_slowed_down_per_address() {
    let (app, _, code) = with_referrer().await;
    let limit = vouch_domain::app::UNKNOWN_CODES_PER_WINDOW;
    for i in 0..limit {
        let reply = click(
            &app,
            &format!("/r/GUESS{:03}", i % 1000),
            Some(BROWSER),
            Method::GET,
        )
        .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "miss {i}");
    }
    let limited = click(&app, "/r/GUESS999", Some(BROWSER), Method::GET).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(limited.text().contains("Too many tries"));
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=vouch_domain::app::UNKNOWN_CODE_WINDOW_SECS).contains(&retry));
    let card = click(&app, "/api/public/referrals/ABCD2345", None, Method::GET).await;
    assert_eq!(card.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(card.json()["error"]["code"], "rate_limited");
    // A real code still works for the same address.
    let reply = click(&app, &format!("/r/{code}"), Some(BROWSER), Method::GET).await;
    assert_eq!(reply.status, StatusCode::FOUND);
}
