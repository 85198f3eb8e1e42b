//! emulator: reports over HTTP — the summary (JSON and CSV) with exact figures, the leaderboard,
//! the public leaderboard (JSON and page), the monthly report through the local scheduler
//! route; and every request's DynamoDB cost, unchanged with 10,000 participants in the table.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use vouch_domain::decide::Plan;
use vouch_domain::model::participant::{Participant, Stats};
use vouch_domain::model::report::{BoardMove, Figure, Period, Tally};
use vouch_domain::ports::ProgramStore;
use vouch_domain::values::code::{ALPHABET, ReferralCode};
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::PersonName;

use crate::harness::{Reply, TestApp, send, spawn_app};
use crate::rewards::{code_of, friend_closes, happy_maria};

/// Maria (a happy customer) brings two friends whose jobs are invoiced at $300, both rewarded
/// $25 by the issuer; one click on her link was shared by text.
async fn a_month_of_maria(app: &TestApp) -> (String, String) {
    let (key, secret) = app.create_business("acme").await;
    happy_maria(app, &secret).await;
    let code = code_of(app, &key, "cus_maria").await;
    let click = Request::get(format!("/r/{code}?ch=sms"))
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        )
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app.router, click).await.status, StatusCode::FOUND);
    friend_closes(app, &secret, &code, 1).await;
    friend_closes(app, &secret, &code, 2).await;
    issue_all(app, &key).await;
    (key, secret)
}

/// The issuer on every qualified referral, as the bus would deliver `referral.qualified`.
async fn issue_all(app: &TestApp, key: &str) {
    let qualified = get(app, key, "/api/admin/referrals?status=qualified")
        .await
        .json();
    for referral in qualified["items"].as_array().unwrap() {
        let detail = json!({"event_id": ulid::Ulid::new().to_string(), "business_id": "acme",
            "referral_id": referral["referral_id"], "lead_customer_id": referral["lead"]["customer_id"],
            "referrer_customer_id": referral["referrer"]["customer_id"]});
        app.state
            .vouch
            .issue_reward(
                &serde_json::from_value(detail).unwrap(),
                "https://go.vouch.test",
            )
            .await
            .unwrap();
    }
}

async fn get(app: &TestApp, key: &str, path: &str) -> Reply {
    app.call(Method::GET, path, Some(key), None).await
}

fn today() -> String {
    Utc::now().date_naive().to_string()
}

#[tokio::test]
async fn the_summary_adds_up_in_json_and_csv_and_refuses_bad_ranges() {
    let app = spawn_app().await;
    let (key, _) = a_month_of_maria(&app).await;
    let day = today();
    let summary = get(
        &app,
        &key,
        &format!("/api/admin/reports/summary?from={day}&to={day}"),
    )
    .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text());
    let s = summary.json();
    assert_eq!(
        s["funnel"],
        json!({"invited": 1, "participants": 1, "clicks": 1, "leads": 2, "referrals": 2,
               "qualified": 2, "rewarded": 2})
    );
    assert_eq!(s["revenue_attributed_cents"], 60_000);
    assert_eq!(s["average_job_cents"], 30_000);
    assert_eq!(s["reward_cost_cents"], 5_000);
    assert_eq!(s["roi"], 11.0);
    assert_eq!(
        s["conversion"],
        json!({"click_to_lead": 2.0, "lead_to_qualified": 1.0})
    );
    assert_eq!(s["currency"], "USD");
    assert_eq!(
        s["top_referrers"],
        json!([{"customer_id": "cus_maria", "name": "Maria Garcia", "qualified": 2,
                "revenue_cents": 60_000, "rewards_cents": 5_000}])
    );
    let code = s["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "code")
        .unwrap()
        .clone();
    assert_eq!(
        code,
        json!({"source": "code", "leads": 2, "qualified": 2, "revenue_cents": 60_000})
    );

    // The same as CSV, by `format` or by `Accept`.
    for (path, accept) in [
        (
            format!("/api/admin/reports/summary?from={day}&to={day}&format=csv"),
            None,
        ),
        (
            format!("/api/admin/reports/summary?from={day}&to={day}"),
            Some("text/csv"),
        ),
    ] {
        let mut request = crate::harness::request(Method::GET, &path, Some(&key), None);
        if let Some(accept) = accept {
            request
                .headers_mut()
                .insert("accept", accept.parse().unwrap());
        }
        let reply = send(&app.router, request).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.header("content-type"),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            reply.header("content-disposition"),
            Some(format!("attachment; filename=\"vouch-summary-{day}-{day}.csv\"").as_str())
        );
        let text = reply.text();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "section,key,name,invited,participants,clicks,leads,referrals,qualified,rewarded,revenue_cents,reward_cost_cents,rewards_cents,average_job_cents,click_to_lead,lead_to_qualified,roi"
            )
        );
        assert_eq!(
            lines.next(),
            Some(format!("total,{day}..{day},,1,1,1,2,2,2,2,60000,5000,,30000,2,1,11").as_str())
        );
        assert!(
            text.contains("\nreferrer,cus_maria,Maria Garcia,,,,,,2,,60000,,5000,,,,\n"),
            "{text}"
        );
        assert!(text.contains("\nchannel,sms,,,,1,0,,0,"), "{text}");
    }

    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("from=2026-11-30&to=2026-11-01", "from"),
        ("from=2025-01-01&to=2026-12-31", "to"),
        ("format=xml", "format"),
    ] {
        let reply = get(&app, &key, &format!("/api/admin/reports/summary?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.text()
        );
        assert!(
            reply.json()["error"]["fields"][field].is_string(),
            "{query}: {}",
            reply.text()
        );
    }
    let other = app.create_business("other").await.0;
    let theirs = get(
        &app,
        &other,
        &format!("/api/admin/reports/summary?from={day}&to={day}"),
    )
    .await;
    assert_eq!(
        theirs.json()["funnel"]["qualified"],
        0,
        "a key sees its own business only"
    );
}

#[tokio::test]
async fn the_leaderboard_ranks_and_the_public_one_shows_only_what_it_may() {
    let app = spawn_app().await;
    let (key, _) = a_month_of_maria(&app).await;
    let board = get(&app, &key, "/api/admin/leaderboard?period=month").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text());
    assert_eq!(
        board.json(),
        json!({"period": "month", "items": [{"rank": 1, "customer_id": "cus_maria", "name": "Maria Garcia",
               "qualified": 2, "rewards_earned_cents": 5_000, "vip": false}]})
    );
    assert_eq!(
        get(&app, &key, "/api/admin/leaderboard?period=week")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        get(&app, &key, "/api/admin/leaderboard?limit=101")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Not public yet: a 404 page and a 404 body.
    let page = app.call(Method::GET, "/leaderboard/acme", None, None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let api = app
        .call(Method::GET, "/api/public/leaderboard/acme", None, None)
        .await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);

    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"public_leaderboard": true})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // The settings are cached for up to a minute per instance: a new instance reads them.
    let app = app.new_instance().await;
    let api = app
        .call(
            Method::GET,
            "/api/public/leaderboard/acme?period=year",
            None,
            None,
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text());
    assert_eq!(
        api.json(),
        json!({"business_name": "acme Plumbing", "period": "year",
               "items": [{"rank": 1, "name": "Maria G.", "qualified": 2, "vip": false}]})
    );
    assert_eq!(api.header("access-control-allow-origin"), Some("*"));
    assert_eq!(api.header("cache-control"), Some("public, max-age=60"));

    let page = app.call(Method::GET, "/leaderboard/acme", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Maria G."), "{html}");
    assert!(
        !html.contains("Garcia") && !html.contains("cus_maria") && !html.contains("$"),
        "{html}"
    );
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'sha256-"),
        "{policy}"
    );
    assert!(!policy.contains("script-src"), "{policy}");
    assert_eq!(page.header("cache-control"), Some("public, max-age=60"));
}

#[tokio::test]
async fn names_on_the_public_page_are_text_never_markup() {
    let app = spawn_app().await;
    let (key, secret) = app.create_business("acme").await;
    app.call(
        Method::PUT,
        "/api/admin/settings",
        Some(&key),
        Some(json!({"public_leaderboard": true})),
    )
    .await;
    let reply = app
        .call(
            Method::POST,
            "/api/admin/participants",
            Some(&key),
            Some(
                json!({"customer": {"id": "cus_x", "first_name": "<script>alert(1)</script>",
                                     "last_name": "\"><img src=x>", "phone": "(512) 555-0177"}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let code = reply.json()["code"].as_str().unwrap().to_owned();
    friend_closes_for(&app, &secret, &code).await;
    issue_all(&app, &key).await;
    let page = app
        .new_instance()
        .await
        .call(Method::GET, "/leaderboard/acme", None, None)
        .await;
    let html = page.text();
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#34;."),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
}

/// One friend of the participant with `code` closes (as `friend_closes` does for Maria).
async fn friend_closes_for(app: &TestApp, secret: &str, code: &str) {
    friend_closes(app, secret, code, 7).await;
}

#[tokio::test]
async fn the_local_scheduler_writes_last_months_report_once_on_the_first() {
    let app = spawn_app().await;
    let (key, _) = a_month_of_maria(&app).await;
    let now = Utc::now();
    let this_month = format!("{:04}-{:02}", now.year(), now.month());
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    // 01:00 on the 1st of next month in the business's zone (UTC here).
    let first = format!("{year:04}-{month:02}-01T01:00:00Z");
    for _ in 0..2 {
        let reply = app
            .call(
                Method::POST,
                &format!("/_local/scheduler/run?now={first}"),
                None,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let list = get(&app, &key, "/api/admin/reports/monthly").await;
    assert_eq!(
        list.json(),
        json!({"items": [{"month": this_month, "url": format!("/api/admin/reports/monthly/{this_month}")}]})
    );
    let report = get(
        &app,
        &key,
        &format!("/api/admin/reports/monthly/{this_month}"),
    )
    .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    let report = report.json();
    assert_eq!(report["month"], this_month);
    assert_eq!(report["funnel"]["qualified"], 2);
    assert_eq!(report["revenue_attributed_cents"], 60_000);
    assert!(report["findings"].is_array());
    let csv = get(
        &app,
        &key,
        &format!("/api/admin/reports/monthly/{this_month}?format=csv"),
    )
    .await;
    assert!(csv.text().starts_with("section,key,name,"));
    assert_eq!(
        get(&app, &key, "/api/admin/reports/monthly/1999-01")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &key, "/api/admin/reports/monthly/1999-1")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// `n` participants of `business` with a closed referral each (reached long ago), on the
/// leaderboards of all time and of this year, enrolled today by the figures; their codes start
/// with `prefix`.
fn crowd(business: &BusinessId, n: u32, prefix: &str) -> Vec<Plan> {
    let long_ago = "2020-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let this_year = Utc::now().year();
    (0..n)
        .map(|i| {
            let customer = CustomerId::parse(&format!("crowd_{i:05}")).unwrap();
            let first_name = PersonName::parse("Crowd").unwrap();
            let participant = Participant {
                business_id: business.clone(),
                customer_id: customer.clone(),
                code: ReferralCode::parse(&format!("{prefix}{}", digits(i))).unwrap(),
                first_name: first_name.clone(),
                last_name: None,
                phone: None,
                enrolled_at: long_ago - chrono::Duration::seconds(i64::from(i)),
                stats: Stats {
                    closed: 1,
                    ..Stats::default()
                },
                reward_override: None,
            };
            let board = [Period::All, Period::Year(this_year)]
                .into_iter()
                .map(|period| BoardMove {
                    customer_id: customer.clone(),
                    period,
                    first_name: first_name.clone(),
                    last_name: None,
                    qualified: Some((1, long_ago)),
                    earned_cents: 2500,
                    qualified_all_time: 1,
                })
                .collect();
            let mut tally = Tally::default();
            tally.add(Utc::now().date_naive(), Figure::Enrolled, 1);
            Plan {
                participant: Some(participant),
                board,
                tally,
                ..Plan::default()
            }
        })
        .collect()
}

/// `i` in five of the codes' characters.
fn digits(mut i: u32) -> String {
    let base = u32::try_from(ALPHABET.len()).unwrap();
    (0..5)
        .map(|_| {
            let digit = ALPHABET[usize::try_from(i % base).unwrap()];
            i /= base;
            char::from(digit)
        })
        .collect()
}

/// What each report request costs, by DynamoDB operation.
async fn costs(app: &TestApp, key: &str) -> Vec<(String, BTreeMap<String, u64>)> {
    let day = today();
    let mut costs = Vec::new();
    for path in [
        format!("/api/admin/reports/summary?from={day}&to={day}"),
        "/api/admin/reports/summary".to_owned(),
        "/api/admin/leaderboard?period=all&limit=100".to_owned(),
        "/api/admin/leaderboard?period=year".to_owned(),
        "/api/public/leaderboard/acme".to_owned(),
    ] {
        // Settings are cached after the first read: measure warm, as most requests are.
        get(app, key, &path).await;
        app.requests.reset();
        let reply = get(app, key, &path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        let counts = app.requests.snapshot();
        assert_eq!(counts.get("Scan"), None, "{path}");
        costs.push((path, counts));
    }
    costs
}

#[tokio::test]
async fn a_reports_cost_is_the_same_with_ten_thousand_participants() {
    let app = spawn_app().await;
    let (key, _) = a_month_of_maria(&app).await;
    app.call(
        Method::PUT,
        "/api/admin/settings",
        Some(&key),
        Some(json!({"public_leaderboard": true})),
    )
    .await;
    let app = app.new_instance().await;
    let few = costs(&app, &key).await;
    for (path, counts) in &few {
        let total: u64 = counts.values().sum();
        // The key's business (GetItem, not on the public route), then one Query, and for the
        // summary one BatchGetItem for the top referrers' names.
        assert!(total <= 3, "{path}: {counts:?}");
    }
    let acme = BusinessId::parse("acme").unwrap();
    app.store
        .load(&acme, &crowd(&acme, 10_000, "CRW"))
        .await
        .unwrap();
    // Loading takes about a minute, as long as settings stay cached: measure a fresh instance
    // (each measurement is still warm, after a first call).
    let app = app.new_instance().await;
    let many = costs(&app, &key).await;
    assert_eq!(few, many);
    // And the crowd is really there: the leaderboard now lists a hundred of them.
    let board = get(&app, &key, "/api/admin/leaderboard?period=all&limit=100")
        .await
        .json();
    assert_eq!(board["items"].as_array().unwrap().len(), 100);
    assert_eq!(board["items"][0]["customer_id"], "cus_maria");
}

#[tokio::test]
async fn a_bulk_load_leaves_what_one_commit_each_leaves_and_takes_nothing_else() {
    let app = spawn_app().await;
    let (committed, _) = app.create_business("committed").await;
    let (loaded, _) = app.create_business("loaded").await;
    let business = BusinessId::parse("committed").unwrap();
    for plan in crowd(&business, 30, "CMT") {
        app.store.commit(&business, &plan).await.unwrap().unwrap();
    }
    let business = BusinessId::parse("loaded").unwrap();
    app.store
        .load(&business, &crowd(&business, 30, "XYZ"))
        .await
        .unwrap();
    let day = today();
    for path in [
        "/api/admin/leaderboard?period=all&limit=100".to_owned(),
        "/api/admin/leaderboard?period=year".to_owned(),
        format!("/api/admin/reports/summary?from={day}&to={day}"),
        "/api/admin/participants/crowd_00007".to_owned(),
    ] {
        let (one, other) = (
            get(&app, &committed, &path).await,
            get(&app, &loaded, &path).await,
        );
        assert_eq!(one.status, StatusCode::OK, "{path}");
        let (mut one, mut other) = (one.json(), other.json());
        for body in [&mut one, &mut other] {
            if let Some(fields) = body.as_object_mut() {
                for field in ["code", "link", "qr_url", "status_url"] {
                    fields.remove(field);
                }
            }
        }
        assert_eq!(one, other, "{path}");
    }
    // A plan that changes anything else is refused, and nothing of the load is written: not
    // its figures, nor its first participant (a new one, with a new code).
    let summary = format!("/api/admin/reports/summary?from={day}&to={day}");
    let before = get(&app, &loaded, &summary).await.json();
    let mut plans = crowd(&business, 2, "MRE");
    if let Some(participant) = plans[0].participant.as_mut() {
        participant.customer_id = CustomerId::parse("newcomer").unwrap();
    }
    plans[1]
        .reward_done
        .push("01ARZ3NDEKTSV4RRFFQ69G5FAV".into());
    assert!(app.store.load(&business, &plans).await.is_err());
    assert_eq!(get(&app, &loaded, &summary).await.json(), before);
    assert_eq!(
        get(&app, &loaded, "/api/admin/participants/newcomer")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
