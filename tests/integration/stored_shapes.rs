//! emulator: the attribute names of every kind of stored item are pinned by
//! `fixtures/stored-shapes.json`. Items are written by serialising domain structs (often
//! flattened), so renaming a field renames an attribute, and items already in a table would no
//! longer read the same. A whole referral loop runs through the real adapters, the raw table is
//! read after every step (some items live only for a while: a qualified referral awaiting its
//! reward), and the attribute paths seen per kind are compared with the file.
//!
//! A path is an attribute name, `a.b` for a key of a nested map and `a[]` for the elements of a
//! list. No stored map is keyed by data (clicks per channel are separate top-level counters;
//! leads' free-form fields are not stored); a day's figures are attributes named by figure, and
//! a referrer's figures (`referrer.qualified:{customer}`) have their customer replaced by `*`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};
use vouch_domain::decide::Plan;
use vouch_domain::model::events::DomainEvent;
use vouch_domain::ports::ProgramStore;
use vouch_domain::values::ids::BusinessId;

use crate::harness::{Reply, TestApp, send, spawn_app};
use crate::webhooks::deliver;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/stored-shapes.json");
const BLESS: &str = "VOUCH_BLESS_SHAPES";
const BROWSER: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1";

const MARIA_PHONE: &str = "+15125550601";
const DANA_PHONE: &str = "+15125550602";
const BEN_PHONE: &str = "+15125550603";

/// Kind → the attribute paths its items have (all of them, across items).
type Shapes = BTreeMap<String, BTreeSet<String>>;

/// What kind of item this is: its `kind` attribute, or for items without one (caps, rate
/// windows, recipients) the shape of its keys.
fn kind_of(item: &HashMap<String, AttributeValue>) -> String {
    if let Some(AttributeValue::S(kind)) = item.get("kind") {
        return kind.clone();
    }
    let key = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map_or_else(|| "?".to_owned(), |k| key_shape(k))
    };
    format!("{}|{}", key("PK"), key("SK"))
}

/// A key with its data replaced by `*`: `CAP#2026-11-22#NUM#+15125550601` → `CAP#*#NUM#*`.
/// Literal segments are upper-case letters only; ids, days, numbers and hashes never are.
fn key_shape(key: &str) -> String {
    key.split('#')
        .map(|segment| {
            if segment.chars().all(|c| c.is_ascii_uppercase()) {
                segment
            } else {
                "*"
            }
        })
        .collect::<Vec<_>>()
        .join("#")
}

/// Adds `path` and every path beneath it in `value`.
fn paths(path: &str, value: &AttributeValue, into: &mut BTreeSet<String>) {
    into.insert(path.to_owned());
    match value {
        AttributeValue::M(map) => {
            for (key, inner) in map {
                paths(&format!("{path}.{key}"), inner, into);
            }
        }
        AttributeValue::L(list) => {
            for inner in list {
                paths(&format!("{path}[]"), inner, into);
            }
        }
        _ => {}
    }
}

fn add_item(item: &HashMap<String, AttributeValue>, shapes: &mut Shapes) {
    let kind = kind_of(item);
    let seen = shapes.entry(kind.clone()).or_default();
    for (name, value) in item {
        // A day's figures are attributes named by figure; a referrer's carry its customer id.
        let name = match (kind.as_str(), name.split_once(':')) {
            ("day", Some((figure, _customer))) => format!("{figure}:*"),
            _ => name.clone(),
        };
        paths(&name, value, seen);
    }
}

/// Adds what every item now in the table looks like.
async fn observe(app: &TestApp, shapes: &mut Shapes) {
    let mut start = None;
    loop {
        let output = app
            .store
            .dynamodb()
            .scan()
            .table_name(&app.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scanning the table");
        for item in output.items() {
            add_item(item, shapes);
        }
        start = output.last_evaluated_key.filter(|key| !key.is_empty());
        if start.is_none() {
            break;
        }
    }
}

/// What changed from `golden` to `seen`, one line per kind; `None` when nothing did.
fn diff(golden: &Shapes, seen: &Shapes) -> Option<String> {
    let mut lines = Vec::new();
    let kinds: BTreeSet<&String> = golden.keys().chain(seen.keys()).collect();
    for kind in kinds {
        match (golden.get(kind), seen.get(kind)) {
            (None, Some(now)) => lines.push(format!(
                "new kind {kind}: {}",
                now.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
            (Some(_), None) => lines.push(format!("kind {kind} is no longer stored")),
            (Some(was), Some(now)) if was != now => {
                let added: Vec<String> = now.difference(was).map(|p| format!("+{p}")).collect();
                let removed: Vec<String> = was.difference(now).map(|p| format!("-{p}")).collect();
                lines.push(format!("{kind}: {}", [removed, added].concat().join(", ")));
            }
            _ => {}
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

fn golden() -> Shapes {
    match std::fs::read_to_string(GOLDEN) {
        Ok(text) => serde_json::from_str(&text).expect("stored-shapes.json is a map of lists"),
        // A missing file shows every kind as new, with how to write it.
        Err(_) => Shapes::new(),
    }
}

/// Compares `seen` with the golden file, or rewrites the file when blessing.
fn check(seen: &Shapes) {
    if std::env::var(BLESS).is_ok_and(|v| v == "1") {
        let text = serde_json::to_string_pretty(seen).expect("shapes serialise");
        std::fs::write(GOLDEN, format!("{text}\n")).expect("writing stored-shapes.json");
        println!("{BLESS}=1: wrote {GOLDEN}");
        return;
    }
    if let Some(changes) = diff(&golden(), seen) {
        panic!(
            "stored item shapes differ from tests/fixtures/stored-shapes.json:\n\n{changes}\n\n\
             Items already in a table keep the old names: keep them (`#[serde(rename = \"…\")]`) \
             or migrate the stored data. If the change is meant, re-bless and commit the file:\n  \
             {BLESS}=1 scripts/with-emulator.sh cargo nextest run -p vouch-tests stored_shapes\n"
        );
    }
}

fn ok(reply: &Reply, what: &str) {
    assert!(
        reply.status.is_success() || reply.status.is_redirection(),
        "{what}: {} {}",
        reply.status,
        reply.text()
    );
}

async fn hook(app: &TestApp, secret: &str, id: &str, kind: &str, data: Value) {
    let reply = deliver(app, "acme", secret, id, kind, data).await;
    ok(&reply, kind);
    assert_eq!(reply.json()["duplicate"], false, "{kind}: {}", reply.text());
}

async fn click(app: &TestApp, path: &str) -> Reply {
    let request = axum::http::Request::get(path)
        .header("user-agent", BROWSER)
        .body(axum::body::Body::empty())
        .unwrap();
    send(&app.router, request).await
}

/// The one referral with `status`.
async fn only_referral(app: &TestApp, key: &str, status: &str) -> Value {
    let listed = app
        .call(
            Method::GET,
            &format!("/api/admin/referrals?status={status}"),
            Some(key),
            None,
        )
        .await
        .json();
    match listed["items"].as_array().map(Vec::as_slice) {
        Some([referral]) => referral.clone(),
        _ => panic!("expected one {status} referral: {listed}"),
    }
}

/// The issuer's handler, given `referral.qualified` for the referral as the bus would.
async fn issue(app: &TestApp, referral: &Value) {
    let event = serde_json::from_value(json!({
        "version": "0", "id": ulid::Ulid::new().to_string(), "detail-type": "referral.qualified",
        "source": "vouch", "account": "123456789012", "time": Utc::now().to_rfc3339(),
        "region": "us-east-1", "resources": [],
        "detail": {
            "event_id": ulid::Ulid::new().to_string(), "business_id": "acme",
            "referral_id": referral["referral_id"],
            "lead_customer_id": referral["lead"]["customer_id"],
            "referrer_customer_id": referral["referrer"]["customer_id"],
        }
    }))
    .unwrap();
    app.issue(event).await.unwrap();
}

#[tokio::test]
async fn every_kind_of_stored_item_keeps_its_attribute_names() {
    let app = spawn_app().await;
    let mut seen = Shapes::new();
    let (key, secret) = app.create_business("acme").await;
    // Service credit for the referrer (a ledger), a discount code for the friend, a yearly cap
    // (its counter on the participant), and one text a day per number so that the second text
    // to a number waits for tomorrow (a deferred message on the outbox index).
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({
                "reward": {"type": "service_credit", "description": "Account credit",
                           "tiers": [{"from_referral": 1, "amount_cents": 2500}]},
                "referee_reward": {"type": "discount", "description": "Off your first job", "percent": 10},
                "max_rewards_per_year": 5,
                "sms": {"daily_cap_per_number": 1}
            })),
        )
        .await;
    ok(&reply, "settings");
    observe(&app, &mut seen).await;

    // Maria, a happy customer, is enrolled by the software's webhooks and texted her link.
    let maria = json!({"customer": {"id": "cus_maria", "first_name": "Maria", "last_name": "Garcia",
        "phone": MARIA_PHONE, "email": "maria@example.com", "sms_consent": true}});
    hook(&app, &secret, "m1", "customer.upserted", maria).await;
    let job = json!({"job": {"id": "job_m", "customer_id": "cus_maria", "status": "completed",
        "invoice_total_cents": 42000, "service_type": "plumbing"}});
    hook(&app, &secret, "m2", "job.status_changed", job).await;
    let review = json!({"customer_id": "cus_maria", "job_id": "job_m", "score": 5});
    hook(&app, &secret, "m3", "review.submitted", review).await;
    observe(&app, &mut seen).await;

    // Staff give her a reward of her own.
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/participants/cus_maria/reward-override",
            Some(&key),
            Some(
                json!({"reward_override": {"type": "service_credit", "amount_cents": 3000,
                "description": "Account credit"}}),
            ),
        )
        .await;
    ok(&reply, "reward override");
    let code = reply.json()["code"].as_str().unwrap().to_owned();
    observe(&app, &mut seen).await;

    // A friend opens her link; someone guesses a code.
    let reply = click(&app, &format!("/r/{code}?ch=sms")).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    let location = url::Url::parse(reply.header("location").unwrap()).unwrap();
    let vclid = location
        .query_pairs()
        .find(|(name, _)| name == "vclid")
        .map(|(_, value)| value.into_owned())
        .expect("the redirect carries the click id");
    let reply = click(&app, "/r/GUESS234").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text());
    observe(&app, &mut seen).await;

    // Dana fills in the website form with the code and the click; Maria's acknowledgment is
    // her second text today, so it waits.
    let reply = app
        .call(
            Method::POST,
            "/api/leads",
            None,
            Some(
                json!({"business_id": "acme", "name": "Dana Smith", "phone": DANA_PHONE,
                "email": "dana@example.com", "ref": code, "vclid": vclid,
                "message": "The kitchen sink leaks", "sms_consent": true}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    observe(&app, &mut seen).await;

    // A dispatcher enters Ben, who mentions Maria by name; staff attribute him to her.
    let ben = json!({"customer": {"id": "cus_ben", "first_name": "Ben", "last_name": "Okafor",
        "phone": BEN_PHONE}, "referred_by": "Maria Garcia"});
    hook(&app, &secret, "b1", "lead.created", ben).await;
    let mention = only_referral(&app, &key, "needs_review").await;
    observe(&app, &mut seen).await;
    let reply = app
        .call(
            Method::POST,
            &format!(
                "/api/admin/referrals/{}/approve",
                mention["referral_id"].as_str().unwrap()
            ),
            Some(&key),
            Some(json!({"referrer_customer_id": "cus_maria"})),
        )
        .await;
    ok(&reply, "approving the mention");
    observe(&app, &mut seen).await;

    // Dana becomes the software's customer and her job is invoiced: the referral qualifies and
    // waits for the issuer.
    let dana = json!({"customer": {"id": "hcp_dana", "first_name": "Dana", "last_name": "Smith",
        "phone": DANA_PHONE, "sms_consent": true}});
    hook(&app, &secret, "d1", "customer.upserted", dana).await;
    let job = json!({"job": {"id": "job_d", "customer_id": "hcp_dana", "status": "invoiced",
        "invoice_total_cents": 48000}});
    hook(&app, &secret, "d2", "job.status_changed", job).await;
    observe(&app, &mut seen).await;

    // The issuer pays Maria (credit on her ledger) and gives Dana a discount code.
    issue(&app, &only_referral(&app, &key, "qualified").await).await;
    observe(&app, &mut seen).await;

    // Staff record that Maria's credit was applied.
    let rewards = app
        .call(
            Method::GET,
            "/api/admin/rewards?status=issued",
            Some(&key),
            None,
        )
        .await
        .json();
    let credit = rewards["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer_id"] == "cus_maria")
        .unwrap_or_else(|| panic!("Maria's reward is issued: {rewards}"))
        .clone();
    let reply = app
        .call(
            Method::PATCH,
            &format!(
                "/api/admin/rewards/{}",
                credit["reward_id"].as_str().unwrap()
            ),
            Some(&key),
            Some(json!({"status": "redeemed", "note": "applied to invoice 1042"})),
        )
        .await;
    ok(&reply, "redeeming");
    observe(&app, &mut seen).await;

    // Rewards are held for a few days from now on: Ben's, once his job is invoiced, waits for
    // the scheduler.
    let reply = app
        .call(
            Method::PUT,
            "/api/admin/settings",
            Some(&key),
            Some(json!({"hold_days": 3})),
        )
        .await;
    ok(&reply, "hold days");
    let job = json!({"job": {"id": "job_b", "customer_id": "cus_ben", "status": "invoiced",
        "invoice_total_cents": 30000}});
    hook(&app, &secret, "b2", "job.status_changed", job).await;
    issue(&app, &only_referral(&app, &key, "qualified").await).await;
    let held = app
        .call(
            Method::GET,
            "/api/admin/rewards?status=approved",
            Some(&key),
            None,
        )
        .await
        .json();
    assert_eq!(held["items"].as_array().map(Vec::len), Some(1), "{held}");
    observe(&app, &mut seen).await;

    // Dana replies STOP.
    let stop = json!({"originationNumber": DANA_PHONE, "destinationNumber": "+15550100000",
        "messageBody": "STOP"});
    let reply = app
        .call(Method::POST, "/_local/sms/inbound", None, Some(stop))
        .await;
    assert_eq!(
        reply.json(),
        json!({"keyword": "optout"}),
        "{}",
        reply.text()
    );
    observe(&app, &mut seen).await;

    // Events stay in the outbox only while EventBridge cannot take them, which the emulator
    // always does: one is left there as a failed publish would leave it.
    let business = BusinessId::parse("acme").unwrap();
    let event = DomainEvent::new(
        "participant.enrolled",
        &business,
        Utc::now(),
        json!({"customer_id": "cus_maria"}),
    );
    let plan = Plan {
        events: vec![event],
        ..Plan::default()
    };
    app.store.commit(&business, &plan).await.unwrap().unwrap();
    observe(&app, &mut seen).await;

    check(&seen);
}

fn shapes(kinds: &[(&str, &[&str])]) -> Shapes {
    kinds
        .iter()
        .map(|(kind, paths)| {
            (
                (*kind).to_owned(),
                paths.iter().map(|p| (*p).to_owned()).collect(),
            )
        })
        .collect()
}

#[test]
fn a_renamed_attribute_or_a_changed_kind_is_a_difference() {
    let golden = shapes(&[
        ("participant", &["PK", "SK", "clicks", "kind"]),
        ("code", &["PK", "SK", "kind"]),
    ]);
    assert_eq!(diff(&golden, &golden), None);
    let seen = shapes(&[
        ("participant", &["PK", "SK", "clicks_total", "kind"]),
        ("click", &["PK", "SK", "kind"]),
    ]);
    assert_eq!(
        diff(&golden, &seen).as_deref(),
        Some(
            "new kind click: PK, SK, kind\n\
             kind code is no longer stored\n\
             participant: -clicks, +clicks_total"
        )
    );
}

#[test]
fn nested_maps_and_lists_give_paths_and_keys_lose_their_data() {
    let item = HashMap::from([
        ("PK".to_owned(), AttributeValue::S("BIZ#acme".into())),
        (
            "SK".to_owned(),
            AttributeValue::S("CAP#2026-11-22#NUM#+15125550601".into()),
        ),
        ("count".to_owned(), AttributeValue::N("1".into())),
        (
            "audit".to_owned(),
            AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                "by".to_owned(),
                AttributeValue::S("staff".into()),
            )]))]),
        ),
        (
            "settings".to_owned(),
            AttributeValue::M(HashMap::from([(
                "sms".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "enabled".to_owned(),
                    AttributeValue::Bool(true),
                )])),
            )])),
        ),
    ]);
    let mut seen = Shapes::new();
    add_item(&item, &mut seen);
    assert_eq!(
        seen,
        shapes(&[(
            "BIZ#*|CAP#*#NUM#*",
            &[
                "PK",
                "SK",
                "audit",
                "audit[]",
                "audit[].by",
                "count",
                "settings",
                "settings.sms",
                "settings.sms.enabled",
            ]
        )])
    );
    assert_eq!(key_shape("RATE#unknown-code#9f2c#1795435200"), "RATE#*#*#*");
    assert_eq!(key_shape("#RECIPIENT"), "#RECIPIENT");
}
