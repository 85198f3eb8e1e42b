//! emulator: the operator and admin API as a business's staff would use it.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{OPERATOR_KEY, spawn_app};

#[tokio::test]
async fn the_operator_creates_a_business_once_with_the_right_key() {
    let app = spawn_app().await;
    let body = json!({"business_id": "acme", "name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"});

    for key in [None, Some("wrong"), Some("")] {
        let reply = app
            .call(
                Method::POST,
                "/api/operator/businesses",
                key,
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(reply.json()["error"]["code"], "unauthenticated");
    }

    let reply = app
        .call(
            Method::POST,
            "/api/operator/businesses",
            Some(OPERATOR_KEY),
            Some(body.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let created = reply.json();
    assert_eq!(created["business_id"], "acme");
    let admin_key = created["admin_api_key"].as_str().unwrap();
    assert!(
        created["webhook_secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_")
    );

    // The admin key is not stored in the clear anywhere.
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
    assert!(!format!("{items:?}").contains(admin_key));

    let again = app
        .call(
            Method::POST,
            "/api/operator/businesses",
            Some(OPERATOR_KEY),
            Some(body),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["error"]["code"], "business_exists");
}

#[tokio::test]
async fn invalid_business_documents_get_a_reason_per_field_and_store_nothing() {
    let app = spawn_app().await;
    let bad = json!({
        "business_id": "Acme Plumbing!", "name": "Acme", "time_zone": "Europe/Atlantis",
        "landing_url": "ftp://acme.example", "reward": {"tiers": [{"from_referral": 3, "amount_cents": 5000}, {"from_referral": 1, "amount_cents": 2500}]}
    });
    let reply = app
        .call(
            Method::POST,
            "/api/operator/businesses",
            Some(OPERATOR_KEY),
            Some(bad),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &reply.json()["error"]["fields"];
    for field in [
        "business_id",
        "time_zone",
        "landing_url",
        "reward.tiers[1].from_referral",
    ] {
        assert!(fields.get(field).is_some(), "{field} missing: {fields}");
    }
    let malformed = app.router.clone();
    let request = axum::http::Request::post("/api/operator/businesses")
        .header("authorization", format!("Bearer {OPERATOR_KEY}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{\"business_id\": "))
        .unwrap();
    let reply = crate::harness::send(&malformed, request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let huge = json!({"business_id": "acme", "name": "x".repeat(70_000)});
    let reply = app
        .call(
            Method::POST,
            "/api/operator/businesses",
            Some(OPERATOR_KEY),
            Some(huge),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);

    let items = app
        .store
        .dynamodb()
        .scan()
        .table_name(&app.table)
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(items, 0);
}

/// Every admin route × {no key, another business's key, the right key}.
#[tokio::test]
async fn admin_keys_only_reach_their_own_business() {
    let app = spawn_app().await;
    let (acme, _) = app.create_business("acme").await;
    let (rival, _) = app.create_business("rival").await;
    app.enrol(&acme, "cus_1", "Maria", "Garcia").await;
    let invited = json!({"customer": {"id": "cus_2", "first_name": "Sam", "phone": "512-555-0146", "sms_consent": true}, "send_invitation": true});
    let reply = app
        .call(
            Method::POST,
            "/api/admin/participants",
            Some(&acme),
            Some(invited),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());

    let routes = [
        (Method::GET, "/api/admin/participants", None),
        (Method::GET, "/api/admin/participants/cus_1", None),
        (
            Method::POST,
            "/api/admin/participants",
            Some(json!({"customer_id": "cus_1"})),
        ),
        (Method::GET, "/api/admin/settings", None),
        (Method::GET, "/api/admin/messages?customer_id=cus_2", None),
        (
            Method::PUT,
            "/api/admin/settings",
            Some(json!({"hold_days": 3})),
        ),
    ];
    for (method, path, body) in routes {
        for key in [None, Some("vouch_ak_forged"), Some("not-even-the-format")] {
            let reply = app.call(method.clone(), path, key, body.clone()).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {key:?}"
            );
        }
        let theirs = app
            .call(method.clone(), path, Some(&rival), body.clone())
            .await;
        match path {
            "/api/admin/messages?customer_id=cus_2" => {
                assert_eq!(theirs.status, StatusCode::OK);
                assert_eq!(
                    theirs.json()["items"],
                    json!([]),
                    "the rival sees no acme texts"
                );
            }
            "/api/admin/participants" if method == Method::GET => {
                assert_eq!(theirs.status, StatusCode::OK);
                assert_eq!(
                    theirs.json()["items"],
                    json!([]),
                    "the rival sees no acme participants"
                );
            }
            "/api/admin/participants/cus_1" | "/api/admin/participants" => {
                assert_eq!(
                    theirs.status,
                    StatusCode::NOT_FOUND,
                    "{method} {path}: {}",
                    theirs.text()
                )
            }
            _ => {
                assert_eq!(theirs.status, StatusCode::OK, "{method} {path}");
                assert_eq!(theirs.json()["name"], "rival Plumbing", "{method} {path}");
            }
        }
        let ours = app
            .call(method.clone(), path, Some(&acme), body.clone())
            .await;
        assert!(ours.status.is_success(), "{method} {path}: {}", ours.text());
        if path.starts_with("/api/admin/messages") {
            assert_eq!(
                ours.json()["items"].as_array().map(Vec::len),
                Some(1),
                "acme sees its text"
            );
        }
    }
    // The rival's settings change did not touch acme's.
    let acme_settings = app
        .call(Method::GET, "/api/admin/settings", Some(&acme), None)
        .await
        .json();
    assert_eq!(acme_settings["name"], "acme Plumbing");
}

#[tokio::test]
async fn enrolment_gives_a_permanent_code_once() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let first = app.enrol(&key, "cus_1", "Maria", "Garcia").await;
    let code = first["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.bytes()
            .all(|b| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&b))
    );
    assert_eq!(first["link"], format!("https://go.vouch.test/r/{code}"));
    assert_eq!(
        first["qr_url"],
        format!("https://go.vouch.test/r/{code}/qr.svg")
    );
    assert_eq!(first["phone_masked"], "•••0123");
    assert_eq!(first["name"], "Maria Garcia");
    assert_eq!(first["referrals"], json!([]));
    assert_eq!(first["rewards"], json!([]));

    // Again, by id or with new details: the same code, 200.
    let again = app
        .call(
            Method::POST,
            "/api/admin/participants",
            Some(&key),
            Some(json!({"customer_id": "cus_1"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["code"], code);

    let shown = app
        .call(
            Method::GET,
            "/api/admin/participants/cus_1",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.json()["code"], code);
}

#[tokio::test]
async fn enrolment_input_is_checked_before_anything_is_stored() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let cases = [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY, "customer_id"),
        (json!({"customer_id": "nobody"}), StatusCode::NOT_FOUND, ""),
        (
            json!({"customer": {"id": "c 1", "first_name": "", "phone": "12", "email": "nope"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer.phone",
        ),
        (
            json!({"customer": {"first_name": "Sam"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer",
        ),
        (
            json!({"customer_id": "cus_1", "customer": {"id": "cus_1", "first_name": "Sam"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer_id",
        ),
        (
            json!({"customer_id": 42}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer_id",
        ),
    ];
    for (body, status, field) in cases {
        let reply = app
            .call(
                Method::POST,
                "/api/admin/participants",
                Some(&key),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text());
        if !field.is_empty() {
            let fields = reply.json()["error"]["fields"].clone();
            assert!(
                fields
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with(field)),
                "{body}: {fields}"
            );
        }
    }
    let list = app
        .call(Method::GET, "/api/admin/participants", Some(&key), None)
        .await
        .json();
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn participants_page_through_an_index_without_repeats() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    for i in 0..7 {
        app.enrol(&key, &format!("cus_{i}"), "Person", &format!("Number{i}"))
            .await;
    }
    for sort in ["recent", "closed"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/admin/participants?limit=3&sort={sort}&cursor={c}"),
                None => format!("/api/admin/participants?limit=3&sort={sort}"),
            };
            app.requests.reset();
            let page = app.call(Method::GET, &path, Some(&key), None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            assert_eq!(app.requests.snapshot().get("Scan"), None);
            assert_eq!(app.requests.snapshot().get("Query"), Some(&1));
            let page = page.json();
            for item in page["items"].as_array().unwrap() {
                seen.push(item["customer_id"].as_str().unwrap().to_owned());
            }
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{sort}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 7, "{sort}: {seen:?}");
        if sort == "recent" {
            assert_eq!(
                seen.first().map(String::as_str),
                Some("cus_6"),
                "newest first"
            );
        }
    }
    for bad in [
        "cursor=%%%",
        "cursor=eyJ4IjoxfQ",
        "limit=0",
        "limit=101",
        "limit=abc",
        "sort=oldest",
    ] {
        let reply = app
            .call(
                Method::GET,
                &format!("/api/admin/participants?{bad}"),
                Some(&key),
                None,
            )
            .await;
        assert!(
            reply.status == StatusCode::BAD_REQUEST
                || reply.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.status
        );
    }
}

#[tokio::test]
async fn settings_are_validated_and_partial_documents_complete() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let before = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(before["satisfaction_threshold"], 4);
    assert_eq!(
        before["reward"]["tiers"],
        json!([{"from_referral": 1, "amount_cents": 2500}])
    );

    let invalid = [
        json!({"landing_url": "not a url"}),
        json!({"time_zone": "Mars/Base"}),
        json!({"reward": {"tiers": [{"from_referral": 5, "amount_cents": 100}, {"from_referral": 2, "amount_cents": 50}]}}),
        json!({"sms": {"quiet_start": "9pm"}}),
        json!({"allowed_origins": ["https://acme.example/contact"]}),
        json!({"satisfaction_threshold": 0}),
        json!({"approval": "sometimes"}),
        json!({"unknown_setting": true}),
        json!(["not", "an", "object"]),
    ];
    for doc in invalid {
        let reply = app
            .call(
                Method::PUT,
                "/api/admin/settings",
                Some(&key),
                Some(doc.clone()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{doc}: {}",
            reply.text()
        );
        assert!(reply.json()["error"]["fields"].is_object(), "{doc}");
    }
    let unchanged = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(unchanged, before);

    let tiers = json!([{"from_referral": 1, "amount_cents": 2500}, {"from_referral": 3, "amount_cents": 5000}, {"from_referral": 5, "amount_cents": 10000}]);
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(
                json!({"reward": {"tiers": tiers}, "hold_days": 14, "sms": {"quiet_end": "09:00"}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let after = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(after["reward"]["tiers"], tiers);
    assert_eq!(after["hold_days"], 14);
    assert_eq!(after["sms"]["quiet_end"], "09:00");
    assert_eq!(after["sms"]["quiet_start"], before["sms"]["quiet_start"]);
    assert_eq!(after["name"], before["name"]);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = spawn_app().await;
    let reply = app
        .call(Method::GET, "/api/admin/nothing-here", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["error"]["code"], "not_found");
    let reply = app
        .call(Method::DELETE, "/api/admin/settings", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.json()["error"]["code"], "method_not_allowed");
    let health = app.call(Method::GET, "/health", None, None).await;
    assert_eq!(health.json(), json!({"status": "ok"}));
    let doc = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .json();
    assert!(doc["paths"]["/r/{code}"].is_object());
    assert!(doc["paths"]["/api/admin/settings"]["put"].is_object());
}
