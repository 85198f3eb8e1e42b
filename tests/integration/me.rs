//! emulator: the referrer's own page — its signed link in the admin API and in the texts,
//! friends at every stage, nothing private shown, the sharing links, the request budget, and
//! the tokens that must not open it (refused before anything is read).

use axum::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use vouch_domain::values::secrets::PageKey;

use crate::harness::{IP_HASH_KEY, Reply, TestApp, spawn_app, texts_containing};
use crate::rewards::{code_of, friend_closes, happy_maria};
use crate::webhooks::deliver;

async fn get(app: &TestApp, path: &str) -> Reply {
    app.call(Method::GET, path, None, None).await
}

async fn detail(app: &TestApp, key: &str) -> Value {
    let reply = app
        .call(
            Method::GET,
            "/api/admin/participants/cus_maria",
            Some(key),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// The token of a page link.
fn token_of(status_url: &str) -> String {
    status_url
        .split_once("/me/")
        .map(|(_, token)| token.to_owned())
        .unwrap_or_else(|| panic!("not a page link: {status_url}"))
}

/// Friend `n` reaches out through Maria's link with the website's form.
async fn friend_reaches_out(app: &TestApp, code: &str, n: u32, name: &str) {
    let phone = format!("+1512555{:04}", 300 + n);
    let reply = app
        .call(
            Method::POST,
            "/api/leads",
            None,
            Some(json!({"business_id": "acme", "name": name, "phone": phone,
                        "email": format!("friend{n}@example.com"), "ref": code})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

/// Friend `n` becomes a customer of the software with a job scheduled.
async fn friend_books(app: &TestApp, secret: &str, n: u32) {
    let phone = format!("+1512555{:04}", 300 + n);
    let id = format!("sw_{n}");
    for (delivery, kind, data) in [
        (
            format!("b{n}a"),
            "customer.upserted",
            json!({"customer": {"id": id, "first_name": format!("Friend{n}"), "phone": phone}}),
        ),
        (
            format!("b{n}b"),
            "job.status_changed",
            json!({"job": {"id": format!("job_{n}"), "customer_id": id, "status": "scheduled"}}),
        ),
    ] {
        let reply = deliver(app, "acme", secret, &delivery, kind, data).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
}

/// The issuer on Maria's first friend's referral, as the bus would deliver it.
async fn reward_first_friend(app: &TestApp, key: &str) {
    let referrals = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=qualified",
            Some(key),
            None,
        )
        .await
        .json();
    let referral = referrals["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["lead"]["name"] == "Friend1 Smith")
        .cloned()
        .unwrap_or_else(|| panic!("{referrals}"));
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

#[tokio::test]
async fn a_referrer_sees_each_friend_where_they_stand_and_nothing_private() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    let renamed = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"name": "Bob & Sons \"Pipes\" <Best>"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    happy_maria(&app, &secret).await;
    let code = code_of(&app, &key, "cus_maria").await;
    friend_closes(&app, &secret, &code, 1).await;
    friend_closes(&app, &secret, &code, 2).await;
    reward_first_friend(&app, &key).await;
    friend_reaches_out(&app, &code, 3, "Friend3 Jones").await;
    friend_books(&app, &secret, 3).await;
    friend_reaches_out(&app, &code, 4, "<b>Zoë</b> O'Neil-Smythe").await;

    // Staff see the link; Maria's invitation carried it.
    let status_url = detail(&app, &key).await["status_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(status_url.starts_with("https://go.vouch.test/me/"));
    let token = token_of(&status_url);
    assert!(
        texts_containing(&token)
            .await
            .iter()
            .any(|(to, body)| to == "+15125550140" && body.contains("Refer a friend")),
        "the invitation carries the page link"
    );

    // A fresh instance: the business is read once, then the participant and the friends.
    let cold = app.new_instance().await;
    let reply = get(&cold, &format!("/api/public/me/{token}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let requests: u64 = cold.requests.snapshot().values().sum();
    assert!(requests <= 3, "{:?}", cold.requests.snapshot());
    cold.requests.reset();
    let again = get(&cold, &format!("/api/public/me/{token}")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(cold.requests.snapshot().values().sum::<u64>(), 2);
    assert_eq!(reply.header("cache-control"), Some("private, no-store"));

    let page = reply.json();
    assert_eq!(page["first_name"], "Maria");
    let friends: Vec<(String, String)> = page["friends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["stage"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let friend = |name: &str| {
        friends
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, stage)| stage.as_str())
    };
    assert_eq!(friends.len(), 4, "{friends:?}");
    assert_eq!(friend("<b>Zoë</b> O."), Some("reached_out"), "{friends:?}");
    assert_eq!(friend("Friend3 J."), Some("job_booked"), "{friends:?}");
    assert_eq!(friends[0].1, "reached_out", "newest first");
    let stages: Vec<&str> = friends.iter().map(|(_, s)| s.as_str()).collect();
    assert!(stages.contains(&"job_done") && stages.contains(&"rewarded"));
    assert_eq!(
        page["rewards"],
        json!({"earned_cents": 2500, "pending_cents": 0, "redeemed_cents": 0,
               "credit_balance_cents": 2500, "currency": "USD"})
    );
    assert_eq!(
        page["next_reward"]["sentence"],
        "Every friend whose job is done earns you $25 account credit."
    );
    assert_eq!(page["vip"], json!({"vip": false, "after": 3, "to_go": 1}));

    // Sharing: every link opens its app with the message, encoded whole.
    let share = &page["share"];
    let link = page["link"].as_str().unwrap();
    assert_eq!(
        share["text"],
        format!("I recommend Bob & Sons \"Pipes\" <Best>! Book through my link: {link}?ch=sms")
    );
    for (field, prefix) in [
        ("sms", "sms:?&body="),
        ("whatsapp", "https://wa.me/?text="),
        ("email", "mailto:?subject="),
    ] {
        let href = share[field].as_str().unwrap();
        assert!(href.starts_with(prefix), "{href}");
        assert!(
            !href[prefix.len()..].contains([' ', '"', '<', '>', '&', '#']) || field == "email",
            "{href}"
        );
    }
    let email = share["email"].as_str().unwrap();
    assert!(
        email.contains("&body=I%20recommend%20Bob%20%26%20Sons"),
        "{email}"
    );
    let sms = share["sms"].as_str().unwrap();
    let decoded = percent_encoding::percent_decode_str(&sms["sms:?&body=".len()..])
        .decode_utf8()
        .unwrap();
    assert_eq!(decoded, share["text"].as_str().unwrap());

    // Nothing private: no friend's phone, email, last name or job amount.
    let html = get(&app, &format!("/me/{token}")).await;
    assert_eq!(html.status, StatusCode::OK);
    for body in [reply.text(), html.text()] {
        for private in [
            "+151255503",
            "555-03",
            "friend3@example.com",
            "Jones",
            "Smythe",
            "30000",
            "$300",
        ] {
            assert!(!body.contains(private), "{private} shown");
        }
    }
    let html_text = html.text();
    // Names from public forms are text, never markup.
    assert!(!html_text.contains("<b>"));
    let name = html_text.find("Zoë").map(|at| &html_text[at - 20..at + 40]);
    assert!(
        html_text.contains("&#60;b&#62;Zoë&#60;/b&#62; O."),
        "{name:?}"
    );
    assert!(html_text.contains("Bob &#38; Sons &#34;Pipes&#34; &#60;Best&#62;"));
    assert!(html_text.contains("Job booked") && html_text.contains("Rewarded"));
    assert!(html_text.contains("<svg"), "the QR code is inline");
    let policy = html.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'sha256-") && !policy.contains("unsafe"));
    assert_eq!(page["promotion"], Value::Null);

    // A promotion running today is on the page (the business is in UTC).
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today - chrono::Days::new(1), today + chrono::Days::new(10));
    let promoted = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(
                json!({"promotions": [{"name": "Holiday offer", "from": from.to_string(),
                                        "to": to.to_string(), "bonus_cents": 1000}]}),
            ),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text());
    let last = (to - chrono::Days::new(1)).format("%b %-d");
    let said = format!("Holiday offer: $10 extra for every friend until {last}.");
    let fresh = app.new_instance().await;
    assert_eq!(
        get(&fresh, &format!("/api/public/me/{token}")).await.json()["promotion"],
        said.as_str()
    );
    assert!(
        get(&fresh, &format!("/me/{token}"))
            .await
            .text()
            .contains(&said)
    );
    // Overlapping promotions are refused, field by field.
    let overlapping = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"promotions": [
                {"name": "A", "from": "2027-01-01", "to": "2027-02-01", "bonus_cents": 500},
                {"name": "B", "from": "2027-01-15", "to": "2027-03-01", "multiplier_percent": 150}]})),
        )
        .await;
    assert_eq!(overlapping.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(overlapping.json()["error"]["fields"]["promotions[1].from"].is_string());
}

#[tokio::test]
async fn a_page_token_opens_only_as_signed_and_only_until_revoked() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    happy_maria(&app, &secret).await;
    let token = token_of(detail(&app, &key).await["status_url"].as_str().unwrap());
    assert_eq!(
        get(&app, &format!("/me/{token}")).await.status,
        StatusCode::OK
    );

    // Forged, altered or foreign tokens: a 404 page, and not one read.
    let (payload, tag) = token.split_once('.').unwrap();
    let other_customer = URL_SAFE_NO_PAD.encode("1\nacme\ncus_other");
    let other_business = URL_SAFE_NO_PAD.encode("1\nglobex\ncus_maria");
    let mut flipped = URL_SAFE_NO_PAD.decode(tag).unwrap();
    flipped[3] ^= 0x40;
    let foreign = PageKey::derive(b"another deployment").token("acme", "cus_maria", 1);
    for bad in [
        format!("{other_customer}.{tag}"),
        format!("{other_business}.{tag}"),
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(flipped)),
        format!("{payload}.{}", &tag[..tag.len() - 2]),
        foreign,
        "nonsense".to_owned(),
        payload.to_owned(),
    ] {
        app.requests.reset();
        let page = get(&app, &format!("/me/{bad}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{bad}");
        assert!(page.text().contains("This page isn't available"));
        let json = get(&app, &format!("/api/public/me/{bad}")).await;
        assert_eq!(json.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(json.json()["error"]["code"], "not_found");
        assert!(app.requests.snapshot().is_empty(), "{bad} was read for");
    }

    // Signed here, but for no participant: not found.
    let nobody = PageKey::derive(IP_HASH_KEY.as_bytes()).token("acme", "cus_nobody", 1);
    assert_eq!(
        get(&app, &format!("/me/{nobody}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The business moves its key version on: every earlier link is dead, the new one opens.
    let rotated = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"status_link_version": 2})),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    let fresh = app.new_instance().await;
    assert_eq!(
        get(&fresh, &format!("/me/{token}")).await.status,
        StatusCode::NOT_FOUND
    );
    let renewed = token_of(detail(&fresh, &key).await["status_url"].as_str().unwrap());
    assert_ne!(renewed, token);
    assert_eq!(
        get(&fresh, &format!("/api/public/me/{renewed}"))
            .await
            .status,
        StatusCode::OK
    );
    // The revoked link costs no read once the business is cached.
    fresh.requests.reset();
    assert_eq!(
        get(&fresh, &format!("/me/{token}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(fresh.requests.snapshot().is_empty());
}
