//! Jobber over the in-memory Jobber and queue: connecting (state bound to the session), the
//! app's webhooks routed by account and verified, read-backs with tokens refreshed before they
//! lapse or when refused, throttling and outages retried, disconnection forgetting the tokens.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::app::oauth_state;
use crate::app::{JobberEvent, JobberReceipt, ReadBackOutcome};
use crate::model::jobber::{JobberClient, JobberId, JobberRecord};
use crate::ports::JobberLinks;
use crate::testing::jobber::{
    JOBBER_CLIENT_ID, JOBBER_CLIENT_SECRET, Seeded, connected_world, contract, read_back,
};
use crate::testing::{FakeJobber, World, eleven_am};
use crate::values::error::Error;
use crate::values::signature::sign_body_base64;

const SESSION: &str = "the-owners-session-csrf-secret";
const CALLBACK: &str = "https://go.example/integrations/jobber/callback";

fn id(raw: &str) -> JobberId {
    JobberId::parse(raw).unwrap()
}

async fn with_app() -> World {
    World::with(json!({"integrations": {"jobber": {
        "client_id": JOBBER_CLIENT_ID, "client_secret": JOBBER_CLIENT_SECRET}}}))
    .await
}

async fn connected() -> World {
    connected_world(json!({})).await
}

fn client(raw_id: &str) -> JobberClient {
    JobberClient {
        id: id(raw_id),
        first_name: "Dana".into(),
        last_name: "Reyes".into(),
        company_name: None,
        phones: vec![],
        emails: vec![],
        updated_at: None,
    }
}

fn webhook(w: &World, topic: &str, item: &str) -> (JobberEvent, Vec<u8>) {
    let body = json!({"data": {"webHookEvent": {"topic": topic, "appId": JOBBER_CLIENT_ID,
        "accountId": w.jobber.account.id.as_str(), "itemId": item,
        "occurredAt": "2026-11-23T17:00:00Z"}}})
    .to_string()
    .into_bytes();
    let event = JobberEvent {
        topic: topic.into(),
        account_id: w.jobber.account.id.clone(),
        item_id: id(item),
        occurred_at: eleven_am(),
    };
    (event, body)
}

/// A webhook for `topic` on `item`, signed with the app's secret, as Vouch receives it.
async fn receive(
    w: &World,
    topic: &str,
    item: &str,
) -> crate::values::error::Result<JobberReceipt> {
    let (event, body) = webhook(w, topic, item);
    let signature = sign_body_base64(JOBBER_CLIENT_SECRET.as_bytes(), &body);
    w.vouch
        .receive_jobber(&event, Some(&signature), &body)
        .await
}

#[tokio::test]
async fn the_in_memory_jobber_keeps_the_jobber_contract() {
    let w = World::new().await;
    let jobber = FakeJobber::new(w.clock.clone());
    jobber.put(JobberRecord::Client(client("Q2xpZW50LzE=")));
    let mut paid = crate::model::jobber::JobberInvoice {
        id: id("SW52b2ljZS85"),
        invoice_status: "paid".into(),
        total_cents: 35_025,
        client: client("Q2xpZW50LzE="),
        job_id: None,
        updated_at: None,
    };
    jobber.put(JobberRecord::Invoice(paid.clone()));
    paid.invoice_status = "paid".into();
    let seeded = Seeded {
        client_id: id("Q2xpZW50LzE="),
        paid_invoice_id: paid.id.clone(),
        invoice_total_cents: 35_025,
    };
    contract(&jobber, &jobber.code(), CALLBACK, &seeded).await;
}

#[tokio::test]
async fn an_owner_connects_with_a_state_their_session_made_and_tokens_stay_server_side() {
    let w = with_app().await;
    let url = w
        .vouch
        .jobber_authorize_url(&w.business, SESSION, CALLBACK)
        .await
        .unwrap();
    assert!(
        url.contains(&format!("client_id={JOBBER_CLIENT_ID}")),
        "{url}"
    );
    // A state made by another session, or a stale one, connects nothing.
    let foreign = oauth_state("another-session", &w.business, w.now());
    let refused = w
        .vouch
        .connect_jobber(&w.business, SESSION, &foreign, &w.jobber.code(), CALLBACK)
        .await;
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
    let stale = oauth_state(SESSION, &w.business, w.now() - Duration::hours(1));
    let refused = w
        .vouch
        .connect_jobber(&w.business, SESSION, &stale, &w.jobber.code(), CALLBACK)
        .await;
    assert!(matches!(refused, Err(Error::Forbidden(_))));
    assert_eq!(w.vouch.jobber_connection(&w.business).await.unwrap(), None);

    let state = oauth_state(SESSION, &w.business, w.now());
    let account = w
        .vouch
        .connect_jobber(&w.business, SESSION, &state, &w.jobber.code(), CALLBACK)
        .await
        .unwrap();
    assert_eq!(account, w.jobber.account);
    let connection = w
        .vouch
        .jobber_connection(&w.business)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(connection.account_id, w.jobber.account.id);
    assert_eq!(
        connection.tokens.expires_at,
        w.now() + Duration::minutes(60)
    );
    // The tokens never reach a log line or a debug print.
    assert!(!format!("{connection:?}").contains("access-"));
}

#[tokio::test]
async fn connecting_needs_the_app_saved_first() {
    let w = World::new().await;
    let refused = w
        .vouch
        .jobber_authorize_url(&w.business, SESSION, CALLBACK)
        .await;
    assert!(
        matches!(
            refused,
            Err(Error::Conflict {
                code: "jobber_not_configured",
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_webhook_is_verified_with_the_accounts_app_secret_then_queued() {
    let w = connected().await;
    let (event, body) = webhook(&w, "INVOICE_UPDATE", "SW52b2ljZS85");
    let signature = sign_body_base64(JOBBER_CLIENT_SECRET.as_bytes(), &body);
    // Tampered, wrong secret, missing: 401 and nothing queued.
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let wrong = sign_body_base64(b"another-apps-secret", &body);
    for (signature, body) in [
        (Some(signature.as_str()), tampered.as_slice()),
        (Some(wrong.as_str()), body.as_slice()),
        (None, body.as_slice()),
    ] {
        let refused = w.vouch.receive_jobber(&event, signature, body).await;
        assert!(
            matches!(refused, Err(Error::Unauthenticated)),
            "{refused:?}"
        );
    }
    assert!(w.read_backs.take().is_empty());
    let receipt = w
        .vouch
        .receive_jobber(&event, Some(&signature), &body)
        .await
        .unwrap();
    assert_eq!(receipt, JobberReceipt::Queued);
    let queued = w.read_backs.take();
    assert_eq!(
        queued,
        vec![read_back(&w, "INVOICE_UPDATE", "SW52b2ljZS85")]
    );
    // A topic Vouch does not follow is answered and not queued.
    assert_eq!(
        receive(&w, "QUOTE_CREATE", "UXVvdGUvMQ==").await.unwrap(),
        JobberReceipt::Ignored
    );
    assert!(w.read_backs.take().is_empty());
}

#[tokio::test]
async fn a_webhook_for_an_account_no_business_connected_is_refused() {
    let w = with_app().await;
    let refused = receive(&w, "CLIENT_CREATE", "Q2xpZW50LzE=").await;
    assert!(matches!(refused, Err(Error::Unauthenticated)));
}

#[tokio::test]
async fn app_disconnect_forgets_the_tokens_and_later_webhooks_are_refused() {
    let w = connected().await;
    let account = w.jobber.account.id.clone();
    assert_eq!(
        receive(&w, "APP_DISCONNECT", account.as_str())
            .await
            .unwrap(),
        JobberReceipt::Disconnected
    );
    assert_eq!(w.vouch.jobber_connection(&w.business).await.unwrap(), None);
    assert_eq!(w.store.jobber_business(&account).await.unwrap(), None);
    let refused = receive(&w, "CLIENT_UPDATE", "Q2xpZW50LzE=").await;
    assert!(matches!(refused, Err(Error::Unauthenticated)));
}

#[tokio::test]
async fn a_read_back_refreshes_tokens_about_to_lapse_and_once_when_refused() {
    let w = connected().await;
    w.jobber.put(JobberRecord::Client(client("Q2xpZW50LzE=")));
    let item = read_back(&w, "CLIENT_UPDATE", "Q2xpZW50LzE=");
    let ReadBackOutcome::Read(_, record) = w.vouch.read_back(&item).await.unwrap() else {
        panic!("the client reads back")
    };
    assert!(matches!(*record, JobberRecord::Client(_)));
    assert_eq!(w.jobber.grants(), ["authorization_code"]);
    // 56 minutes on, the token has less than five minutes left: refreshed first.
    let later: DateTime<Utc> = w.now() + Duration::minutes(56);
    w.clock.set(later);
    w.vouch.read_back(&item).await.unwrap();
    assert_eq!(w.jobber.grants(), ["authorization_code", "refresh_token"]);
    let stored = w
        .vouch
        .jobber_connection(&w.business)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.tokens.expires_at, later + Duration::minutes(60));
    // Jobber refuses the access token early: one refresh, and the read goes through.
    w.jobber.expire_access_tokens();
    assert!(matches!(
        w.vouch.read_back(&item).await.unwrap(),
        ReadBackOutcome::Read(..)
    ));
    assert_eq!(w.jobber.grants().len(), 3);
}

#[tokio::test]
async fn a_refresh_lost_to_another_reader_uses_the_winners_tokens() {
    let w = connected().await;
    w.jobber.put(JobberRecord::Client(client("Q2xpZW50LzE=")));
    let item = read_back(&w, "CLIENT_UPDATE", "Q2xpZW50LzE=");
    w.clock.set(w.now() + Duration::minutes(58));
    // Two readers find the token about to lapse at once: both refresh with the same refresh
    // token; Jobber takes it once, and the loser reads with the tokens the winner stored.
    let (a, b) = tokio::join!(w.vouch.read_back(&item), w.vouch.read_back(&item));
    assert!(matches!(a.unwrap(), ReadBackOutcome::Read(..)));
    assert!(matches!(b.unwrap(), ReadBackOutcome::Read(..)));
    assert_eq!(
        w.jobber.grants(),
        ["authorization_code", "refresh_token"],
        "one refresh"
    );
    assert_eq!(
        w.jobber.refused_grants(),
        1,
        "the loser's refresh was refused"
    );
}

#[tokio::test]
async fn throttling_and_outages_are_retried_and_a_deleted_item_is_skipped() {
    let w = connected().await;
    let item = read_back(&w, "CLIENT_UPDATE", "Q2xpZW50LzE=");
    w.jobber.throttle_next(1);
    let throttled = w.vouch.read_back(&item).await;
    assert!(
        matches!(
            throttled,
            Err(Error::RateLimited {
                retry_after_secs: 2
            })
        ),
        "{throttled:?}"
    );
    w.jobber.fail_next(1);
    assert!(matches!(
        w.vouch.read_back(&item).await,
        Err(Error::Unavailable(_))
    ));
    // Jobber no longer has it (deleted since): nothing to do.
    assert!(matches!(
        w.vouch.read_back(&item).await.unwrap(),
        ReadBackOutcome::Skipped(_)
    ));
}

#[tokio::test]
async fn a_read_back_for_a_disconnected_account_forgets_the_tokens() {
    let w = connected().await;
    w.jobber.disconnect();
    let item = read_back(&w, "CLIENT_UPDATE", "Q2xpZW50LzE=");
    assert!(matches!(
        w.vouch.read_back(&item).await.unwrap(),
        ReadBackOutcome::Skipped(_)
    ));
    assert_eq!(w.vouch.jobber_connection(&w.business).await.unwrap(), None);
    // Queued before the disconnect, read after: skipped, nothing asked of Jobber.
    assert!(matches!(
        w.vouch.read_back(&item).await.unwrap(),
        ReadBackOutcome::Skipped(_)
    ));
}

#[tokio::test]
async fn an_old_app_disconnect_sent_again_does_not_undo_a_newer_connection() {
    let w = connected().await;
    let account = w.jobber.account.id.clone();
    let (mut event, body) = webhook(&w, "APP_DISCONNECT", account.as_str());
    event.occurred_at = w.now() - Duration::days(1);
    let signature = sign_body_base64(JOBBER_CLIENT_SECRET.as_bytes(), &body);
    assert_eq!(
        w.vouch
            .receive_jobber(&event, Some(&signature), &body)
            .await
            .unwrap(),
        JobberReceipt::Ignored
    );
    assert!(
        w.vouch
            .jobber_connection(&w.business)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn removing_the_app_from_the_settings_forgets_the_accounts_tokens() {
    let w = connected().await;
    w.vouch
        .replace_settings(&w.business, |current| {
            let mut settings = current.clone();
            settings.integrations.jobber = None;
            Ok(settings)
        })
        .await
        .unwrap();
    assert_eq!(w.vouch.jobber_connection(&w.business).await.unwrap(), None);
    assert_eq!(
        w.store.jobber_business(&w.jobber.account.id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_refresh_token_jobber_refuses_is_retried_not_dropped() {
    let w = connected().await;
    w.jobber.put(JobberRecord::Client(client("Q2xpZW50LzE=")));
    // Revoked at Jobber without a disconnect webhook (yet): refreshes are refused.
    w.jobber.expire_access_tokens();
    w.jobber.revoke_refresh_tokens();
    let item = read_back(&w, "CLIENT_UPDATE", "Q2xpZW50LzE=");
    assert!(matches!(
        w.vouch.read_back(&item).await,
        Err(Error::Unavailable(_))
    ));
}
