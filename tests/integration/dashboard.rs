//! The staff dashboard and staff API over HTTP on the emulator: every route as someone signed
//! out, a staff member, an owner and another business's owner; CSRF; cookies and headers;
//! sign-in limits.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::harness::{Reply, TestApp, send, spawn_app};

const PASSWORD: &str = "a long enough password";

/// A browser's session: its cookie and the CSRF token its pages carry.
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

fn form_request(path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Request<Body> {
    let body = serde_urlencoded::to_string(fields).unwrap();
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", "go.vouch.test")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", format!("vouch_session={cookie}"));
    }
    builder.body(Body::from(body)).unwrap()
}

async fn post_form(
    app: &TestApp,
    path: &str,
    who: Option<&Browser>,
    fields: &[(&str, &str)],
) -> Reply {
    send(
        &app.router,
        form_request(path, who.map(|b| b.cookie.as_str()), fields),
    )
    .await
}

pub(crate) async fn get_page(app: &TestApp, path: &str, who: Option<&Browser>) -> Reply {
    let mut builder = Request::builder().uri(path).header("host", "go.vouch.test");
    if let Some(who) = who {
        builder = builder.header("cookie", format!("vouch_session={}", who.cookie));
    }
    send(&app.router, builder.body(Body::empty()).unwrap()).await
}

async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &Browser,
    csrf: Option<&str>,
    body: Option<serde_json::Value>,
) -> Reply {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "go.vouch.test")
        .header("cookie", format!("vouch_session={}", who.cookie));
    if let Some(csrf) = csrf {
        builder = builder.header("x-csrf-token", csrf);
    }
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    };
    send(&app.router, request.unwrap()).await
}

fn cookie_of(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie");
    set.split(';')
        .next()
        .unwrap()
        .trim_start_matches("vouch_session=")
        .to_owned()
}

fn csrf_in(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Invites someone with the admin key and accepts through the invite form.
pub(crate) async fn member(
    app: &TestApp,
    key: &str,
    email: &str,
    name: &str,
    role: &str,
) -> (String, Browser) {
    let reply = app
        .call(
            Method::POST,
            "/api/admin/staff",
            Some(key),
            Some(json!({"email": email, "name": name, "role": role})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let invited = reply.json();
    let url = invited["invite_url"].as_str().unwrap();
    let path = &url[url.find("/admin/invite/").unwrap()..];
    let reply = post_form(
        app,
        path,
        None,
        &[("password", PASSWORD), ("confirm", PASSWORD)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(reply.header("location"), Some("/admin"));
    let cookie = cookie_of(&reply);
    let home = get_page(
        app,
        "/admin",
        Some(&Browser {
            cookie: cookie.clone(),
            csrf: String::new(),
        }),
    )
    .await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text());
    let csrf = csrf_in(&home.text());
    (
        invited["staff_id"].as_str().unwrap().to_owned(),
        Browser { cookie, csrf },
    )
}

async fn staff_emails(app: &TestApp, key: &str) -> Vec<String> {
    app.call(Method::GET, "/api/admin/staff", Some(key), None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_dashboard_route_as_signed_out_staff_owner_and_another_business() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let (other_key, _) = app.create_business("other-biz").await;
    let (_, owner) = member(&app, &key, "olivia@example.com", "Olivia", "owner").await;
    let (sam_id, staff) = member(&app, &key, "sam@example.com", "Sam", "staff").await;
    let (_, stranger) = member(&app, &other_key, "otto@example.com", "Otto", "owner").await;

    // Signed out: pages lead to the sign-in, the API is 401, forms change nothing.
    for path in ["/admin", "/admin/staff"] {
        let reply = get_page(&app, path, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(reply.header("location"), Some("/admin/login"));
    }
    for path in [
        "/admin/staff",
        &format!("/admin/staff/{sam_id}/remove"),
        "/admin/logout",
    ] {
        let reply = post_form(
            &app,
            path,
            None,
            &[
                ("csrf", "x"),
                ("email", "new@example.com"),
                ("name", "N"),
                ("role", "staff"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{path}");
    }
    let reply = app.call(Method::GET, "/api/admin/staff", None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Staff: the home page, not the owners' pages or the staff API.
    assert_eq!(
        get_page(&app, "/admin", Some(&staff)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get_page(&app, "/admin/staff", Some(&staff)).await.status,
        StatusCode::FORBIDDEN
    );
    let add = [
        ("csrf", staff.csrf.as_str()),
        ("email", "eve@example.com"),
        ("name", "Eve"),
        ("role", "owner"),
    ];
    assert_eq!(
        post_form(&app, "/admin/staff", Some(&staff), &add)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api(&app, Method::GET, "/api/admin/staff", &staff, None, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Settings are the owners'.
    assert_eq!(
        get_page(&app, "/admin/settings", Some(&staff)).await.status,
        StatusCode::FORBIDDEN
    );
    let change = [("csrf", staff.csrf.as_str()), ("hold_days", "9")];
    assert_eq!(
        post_form(&app, "/admin/settings", Some(&staff), &change)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let form = get_page(&app, "/admin/settings", Some(&owner)).await;
    assert_eq!(form.status, StatusCode::OK);
    let bad = [
        ("csrf", owner.csrf.as_str()),
        ("name", "Acme"),
        ("landing_url", "not a url"),
        ("satisfaction_threshold", "4"),
        ("qualifying_status", "invoiced"),
        ("reward_type", "service_credit"),
        ("reward_description", "Credit"),
        ("tier0_from", "1"),
        ("tier0_amount", "25"),
        ("approval", "auto"),
        ("hold_days", "1"),
        ("vip_after", "3"),
        ("quiet_start", "21:00"),
        ("quiet_end", "08:00"),
        ("daily_cap_per_number", "3"),
        ("daily_cap_per_business", "500"),
        ("leads_per_ip_per_hour", "10"),
        ("leads_per_code_per_day", "20"),
        ("review_over", "5"),
        (
            "template_invitation",
            "Hi {first_name}, refer a friend: {link}",
        ),
        ("template_acknowledgment", "Thanks {first_name}!"),
        ("template_progress", "Your friend's job is {status}."),
        ("template_reward", "You earned {reward}."),
        ("template_thank_you", "Thank you, {first_name}."),
        ("template_reengagement", "Hi {first_name}, remember {link}"),
    ];
    let refused = post_form(&app, "/admin/settings", Some(&owner), &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("id=\"landing_url-error\""),
        "{}",
        refused.text()
    );
    let settings = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(settings["hold_days"], 0, "nothing saved");
    let mut good = bad.to_vec();
    good[2] = ("landing_url", "https://acme.example/refer");
    good.push(("vip_extra", "10"));
    good.push(("reengage_after_days", "60"));
    good.push(("reengage_per_day", "20"));
    let saved = post_form(&app, "/admin/settings", Some(&owner), &good).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let settings = app
        .call(Method::GET, "/api/admin/settings", Some(&key), None)
        .await
        .json();
    assert_eq!(settings["hold_days"], 1);
    assert_eq!(settings["vip_reward"], json!({"extra_cents": 1000}));
    assert_eq!(
        (
            &settings["reengage_after_days"],
            &settings["reengage_per_day"]
        ),
        (&json!(60), &json!(20))
    );
    // A form without the VIP template (opened before it existed) keeps it.
    assert!(
        settings["sms"]["templates"]["vip"]
            .as_str()
            .unwrap()
            .contains("VIP")
    );

    // Another business's owner sees their own staff only and cannot remove ours.
    let theirs = get_page(&app, "/admin/staff", Some(&stranger)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(
        theirs.text().contains("otto@example.com") && !theirs.text().contains("sam@example.com")
    );
    let remove = format!("/admin/staff/{sam_id}/remove");
    let reply = post_form(
        &app,
        &remove,
        Some(&stranger),
        &[("csrf", stranger.csrf.as_str())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = api(
        &app,
        Method::DELETE,
        &format!("/api/admin/staff/{sam_id}"),
        &stranger,
        Some(&stranger.csrf),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(
        staff_emails(&app, &key)
            .await
            .contains(&"sam@example.com".to_owned())
    );

    // The owner: everything, and the audit names them.
    let page = get_page(&app, "/admin/staff", Some(&owner)).await;
    assert_eq!(page.status, StatusCode::OK);
    let add = [
        ("csrf", owner.csrf.as_str()),
        ("email", "eve@example.com"),
        ("name", "Eve"),
        ("role", "staff"),
    ];
    let reply = post_form(&app, "/admin/staff", Some(&owner), &add).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert!(reply.text().contains("/admin/invite/"));
    let listed = app
        .call(Method::GET, "/api/admin/staff", Some(&key), None)
        .await
        .json();
    let eve = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "eve@example.com")
        .unwrap()
        .clone();
    assert_eq!(eve["added_by"], "Olivia (owner)");
    assert_eq!(eve["status"], "invited");
    let reply = api(
        &app,
        Method::POST,
        "/api/admin/staff",
        &owner,
        Some(&owner.csrf),
        Some(json!({"email": "fay@example.com", "name": "Fay", "role": "staff"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["added_by"], "Olivia (owner)");
    let reply = post_form(
        &app,
        &remove,
        Some(&owner),
        &[("csrf", owner.csrf.as_str())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    // Sam's session ended with them.
    let reply = get_page(&app, "/admin", Some(&staff)).await;
    assert_eq!(reply.header("location"), Some("/admin/login"));
    assert!(
        !staff_emails(&app, &key)
            .await
            .contains(&"sam@example.com".to_owned())
    );

    // Signing out ends the session.
    let reply = post_form(
        &app,
        "/admin/logout",
        Some(&owner),
        &[("csrf", owner.csrf.as_str())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        get_page(&app, "/admin", Some(&owner)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_forged_or_missing_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let (_, owner) = member(&app, &key, "olivia@example.com", "Olivia", "owner").await;
    let before = staff_emails(&app, &key).await;
    for csrf in ["", "forged", &owner.csrf[1..]] {
        let add = [
            ("csrf", csrf),
            ("email", "eve@example.com"),
            ("name", "Eve"),
            ("role", "owner"),
        ];
        let reply = post_form(&app, "/admin/staff", Some(&owner), &add).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{csrf:?}");
        let reply = api(
            &app,
            Method::POST,
            "/api/admin/staff",
            &owner,
            Some(csrf),
            Some(json!({"email": "eve@example.com", "name": "Eve", "role": "owner"})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{csrf:?}");
    }
    let reply = post_form(&app, "/admin/logout", Some(&owner), &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(staff_emails(&app, &key).await, before);
    assert_eq!(
        get_page(&app, "/admin", Some(&owner)).await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn pages_are_never_framed_or_cached_and_the_cookie_is_http_only_lax_and_secure() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let (_, owner) = member(&app, &key, "olivia@example.com", "Olivia", "owner").await;
    for (path, who) in [
        ("/admin/login", None),
        ("/admin", Some(&owner)),
        ("/admin/staff", Some(&owner)),
    ] {
        let reply = get_page(&app, path, who).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let policy = reply.header("content-security-policy").unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'"),
            "{policy}"
        );
        assert!(!policy.contains("unsafe-inline"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let page = reply.text();
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script src=\"/admin/assets/dashboard.js\" defer></script>")
                .count(),
            "{path}: no inline script, only the dashboard's own file"
        );
    }
    let reply = post_form(
        &app,
        "/admin/login",
        None,
        &[("email", "olivia@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let set = reply.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_and_a_foreign_form_is_refused() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    member(&app, &key, "olivia@example.com", "Olivia", "owner").await;
    let wrong = [
        ("email", "olivia@example.com"),
        ("password", "not the password"),
    ];
    for _ in 0..vouch_domain::app::SIGN_IN_FAILURES_PER_ACCOUNT {
        let reply = post_form(&app, "/admin/login", None, &wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(
            reply.text().contains("match. Check them"),
            "{}",
            reply.text()
        );
        assert!(reply.header("set-cookie").is_none());
    }
    let right = [("email", "olivia@example.com"), ("password", PASSWORD)];
    let reply = post_form(&app, "/admin/login", None, &right).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.header("retry-after").unwrap().parse::<u64>().unwrap() > 0);
    assert!(reply.header("set-cookie").is_none());

    let mut foreign = form_request("/admin/login", None, &right);
    foreign
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert_eq!(
        send(&app.router, foreign).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_review_and_rewards_pages_by_role_with_decisions_named() {
    let app = spawn_app().await;
    let (key, _) = app.create_business("acme").await;
    let (other_key, _) = app.create_business("other-biz").await;
    app.enrol(&key, "cus_maria", "Maria", "Garcia").await;
    let (_, staff) = member(&app, &key, "sam@example.com", "Sam", "staff").await;
    let (_, stranger) = member(&app, &other_key, "otto@example.com", "Otto", "owner").await;
    let lead = app
        .call(
            Method::POST,
            "/api/leads",
            None,
            Some(
                json!({"business_id": "acme", "name": "Dana <script>alert(1)</script>",
                        "phone": "512-555-0188", "referred_by": "Maria"}),
            ),
        )
        .await;
    assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.text());
    let held = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=needs_review",
            Some(&key),
            None,
        )
        .await
        .json();
    let id = held["items"][0]["referral_id"].as_str().unwrap().to_owned();

    for path in [
        "/admin/review",
        "/admin/rewards",
        "/admin/rewards?status=all",
        "/admin/texts",
        "/admin/texts?status=suppressed&cursor=not-a-cursor",
        "/admin/participants",
        "/admin/participants?sort=closed&cursor=bogus",
        "/admin/participants?q=Maria",
        "/admin/participants/cus_maria",
        "/admin/leaderboard",
        "/admin/leaderboard?period=month",
        "/admin/reports",
        "/admin/reports.csv",
        "/admin/attribute",
        "/admin/attribute?lead_q=D&referrer_q=Maria",
    ] {
        assert_eq!(
            get_page(&app, path, None).await.status,
            StatusCode::SEE_OTHER,
            "{path}"
        );
        assert_eq!(
            get_page(&app, path, Some(&staff)).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    let page = get_page(&app, "/admin/review", Some(&staff)).await.text();
    assert!(
        page.contains("Dana &#60;script&#62;") || page.contains("Dana &lt;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"), "escaped");
    let csv = get_page(
        &app,
        "/admin/reports.csv?from=2026-01-01&to=2026-01-31",
        Some(&staff),
    )
    .await;
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.text().starts_with("section,"), "{}", csv.text());
    let refused = get_page(
        &app,
        "/admin/reports?from=2026-02-01&to=2026-01-01",
        Some(&staff),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("id=\"from-error\""));
    // Another business sees none of it and cannot decide it.
    let theirs = get_page(&app, "/admin/participants/cus_maria", Some(&stranger)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let own = [
        ("csrf", stranger.csrf.as_str()),
        ("type", "service_credit"),
        ("amount", "40"),
        ("description", "x"),
    ];
    let reply = post_form(
        &app,
        "/admin/participants/cus_maria/reward",
        Some(&stranger),
        &own,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let listed = get_page(&app, "/admin/participants?q=Maria", Some(&stranger))
        .await
        .text();
    assert!(!listed.contains("cus_maria"));
    let theirs = get_page(&app, "/admin/review", Some(&stranger))
        .await
        .text();
    assert!(!theirs.contains("Dana"));
    let approve = format!("/admin/review/{id}/approve");
    let with = |who: &Browser| {
        vec![
            ("csrf", who.csrf.clone()),
            ("referrer_customer_id", "cus_maria".to_owned()),
        ]
    };
    let fields = with(&stranger);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        post_form(&app, &approve, Some(&stranger), &fields)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Signed out or with a forged token: nothing changes.
    assert_eq!(
        post_form(&app, &approve, None, &fields).await.status,
        StatusCode::SEE_OTHER
    );
    let forged = [("csrf", "forged"), ("referrer_customer_id", "cus_maria")];
    assert_eq!(
        post_form(&app, &approve, Some(&staff), &forged)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let still = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=needs_review",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(still["items"].as_array().unwrap().len(), 1);
    // Staff approve it, naming the referrer; the history names them.
    let fields = with(&staff);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = post_form(&app, &approve, Some(&staff), &fields).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let pending = app
        .call(
            Method::GET,
            "/api/admin/referrals?status=pending",
            Some(&key),
            None,
        )
        .await
        .json();
    let decided = &pending["items"][0];
    assert_eq!(decided["referrer"]["customer_id"], "cus_maria");
    assert_eq!(
        decided["history"].as_array().unwrap().last().unwrap()["by"],
        "Sam (staff)"
    );
    // A website lead who named nobody, attributed by hand from customer search.
    let pat = app
        .call(
            Method::POST,
            "/api/leads",
            None,
            Some(json!({"business_id": "acme", "name": "Pat Quinn", "phone": "512-555-0199"})),
        )
        .await;
    assert_eq!(pat.status, StatusCode::CREATED, "{}", pat.text());
    let found = get_page(
        &app,
        "/admin/attribute?lead_q=Pat&referrer_q=Maria",
        Some(&staff),
    )
    .await
    .text();
    let needle = "name=\"lead_customer_id\" value=\"";
    let at = found.find(needle).unwrap() + needle.len();
    let pat_id = found[at..].split('"').next().unwrap().to_owned();
    assert!(found.contains("value=\"cus_maria\""), "{found}");
    let credit = [
        ("csrf", staff.csrf.as_str()),
        ("lead_customer_id", pat_id.as_str()),
        ("referrer_customer_id", "cus_maria"),
    ];
    let reply = post_form(
        &app,
        "/admin/attribute",
        Some(&stranger),
        &[
            ("csrf", stranger.csrf.as_str()),
            ("lead_customer_id", pat_id.as_str()),
            ("referrer_customer_id", "cus_maria"),
        ],
    )
    .await;
    assert_ne!(
        reply.status,
        StatusCode::SEE_OTHER,
        "another business cannot attribute ours"
    );
    let reply = post_form(&app, "/admin/attribute", Some(&staff), &credit).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some("/admin/participants/cus_maria")
    );
    let again = post_form(&app, "/admin/attribute", Some(&staff), &credit).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let referrals = app
        .call(Method::GET, "/api/admin/referrals", Some(&key), None)
        .await
        .json();
    let manual = referrals["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "manual")
        .unwrap()
        .clone();
    assert_eq!(
        manual["history"].as_array().unwrap().last().unwrap()["by"],
        "Sam (staff)"
    );

    // A reward move the state machine forbids, or for another business's id, changes nothing.
    let unknown = format!("/admin/rewards/{}", ulid::Ulid::new());
    let fields = [("csrf", staff.csrf.as_str()), ("status", "redeemed")];
    assert_eq!(
        post_form(&app, &unknown, Some(&staff), &fields)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
