//! Enrolment by staff, referral-link clicks, the settings cache and key checks, on the shared
//! test world.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::Duration;

use crate::app::{ClickOutcome, EnrolRequest, ServiceConfig, Visit, Vouch};
use crate::decide::{LoadKeys, Plan, Refusal, Snapshot};
use crate::model::click::{CLICK_RETENTION, Channel};
use crate::model::contact::CustomerInput;
use crate::model::settings::Settings;
use crate::ports::{Businesses, Finish, Participants, ProgramStore};
use crate::testing::{InMemoryStore, LINKS, OPERATOR_KEY, World};
use crate::values::error::Error;
use crate::values::ids::BusinessId;
use crate::values::person::Phone;
use crate::values::secrets::{IpHasher, PageKey};
use crate::values::web::WebUrl;

const PERSON: &str = "Mozilla/5.0 (iPhone) Safari/604.1";

/// Staff enrol Maria Garcia under `id` (no consent given, no invitation).
fn maria(id: &str) -> EnrolRequest {
    EnrolRequest {
        customer: Some(CustomerInput {
            id: id.into(),
            first_name: "Maria".into(),
            last_name: Some("Garcia".into()),
            phone: Some("512 555 0123".into()),
            ..CustomerInput::default()
        }),
        ..EnrolRequest::default()
    }
}

fn visit<'a>(code: &'a str, user_agent: Option<&'static str>, countable: bool) -> Visit<'a> {
    Visit {
        code,
        channel: Some("qr"),
        user_agent,
        ip: None,
        countable,
    }
}

/// `settings` with the landing page moved to https://new.example/.
fn moved_landing(settings: &Settings) -> Settings {
    let mut changed = settings.clone();
    changed.landing_url = WebUrl::parse("https://new.example/").unwrap();
    changed
}

#[tokio::test]
async fn given_a_customer_when_enrolled_twice_then_the_code_is_the_same() {
    let w = World::new().await;
    let (first, created) = w
        .vouch
        .enrol(&w.business, maria("cus_1"), LINKS)
        .await
        .unwrap();
    assert!(created);
    let (again, created) = w
        .vouch
        .enrol(&w.business, maria("cus_1"), LINKS)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.code, first.code);
    assert_eq!(
        first.phone.as_ref().map(Phone::as_e164),
        Some("+15125550123")
    );
}

/// Refuses the first two commits as if a drawn code were taken, then behaves.
struct Crowded {
    inner: Arc<InMemoryStore>,
    commits: AtomicUsize,
}

#[async_trait]
impl ProgramStore for Crowded {
    async fn load(&self, b: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        self.inner.load(b, keys).await
    }
    async fn commit(
        &self,
        b: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<std::result::Result<(), Refusal>> {
        if self.commits.fetch_add(1, Ordering::SeqCst) < 2 {
            return Ok(Err(Refusal::Changed));
        }
        self.inner.commit(b, plan).await
    }
    async fn finish(&self, b: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        self.inner.finish(b, finish).await
    }
}

#[tokio::test]
async fn given_code_collisions_when_enrolling_then_fresh_codes_are_drawn() {
    let w = World::new().await;
    let crowded = Arc::new(Crowded {
        inner: w.store.clone(),
        commits: AtomicUsize::new(0),
    });
    let mut ports = w.vouch.ports.clone();
    ports.program = crowded.clone();
    let vouch = Vouch::new(
        ports,
        ServiceConfig {
            operator_key: None,
            ip_hasher: IpHasher::new(b"k"),
            page_key: PageKey::derive(b"k"),
        },
    );
    let (participant, created) = vouch
        .enrol(&w.business, maria("cus_1"), LINKS)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(crowded.commits.load(Ordering::SeqCst), 3);
    assert!(w.store.referrer(&participant.code).await.unwrap().is_some());
}

#[tokio::test]
async fn given_people_bots_and_head_requests_then_only_people_are_counted() {
    let w = World::new().await;
    let (participant, _) = w
        .vouch
        .enrol(&w.business, maria("cus_1"), LINKS)
        .await
        .unwrap();
    let code = participant.code.to_string();
    for (agent, countable) in [
        (Some("WhatsApp/2.0"), true),
        (None, true),
        (Some(PERSON), false),
    ] {
        let outcome = w.vouch.click(visit(&code, agent, countable)).await.unwrap();
        assert!(matches!(
            outcome,
            ClickOutcome::Redirect { counted: false, .. }
        ));
    }
    let outcome = w
        .vouch
        .click(visit(&code.to_lowercase(), Some(PERSON), true))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        ClickOutcome::Redirect { counted: true, .. }
    ));
    let clicks = w.store.clicks();
    assert_eq!(clicks.len(), 1);
    assert_eq!(clicks[0].channel, Channel::Qr);
    assert_eq!(clicks[0].expires_at - clicks[0].at, CLICK_RETENTION);
    let stored = Participants::get(w.store.as_ref(), &w.business, &participant.customer_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.stats.clicks, 1);
    assert_eq!(stored.stats.clicks_by_channel.get(&Channel::Qr), Some(&1));
}

#[tokio::test]
async fn given_unknown_or_malformed_codes_then_the_outcome_is_unknown() {
    let w = World::new().await;
    for code in ["ABCD2345", "0000", "", "../../etc"] {
        assert_eq!(
            w.vouch
                .click(visit(code, Some(PERSON), true))
                .await
                .unwrap(),
            ClickOutcome::UnknownCode
        );
    }
}

#[tokio::test]
async fn given_cached_settings_then_changes_made_elsewhere_show_after_the_ttl() {
    let w = World::new().await;
    let (participant, _) = w
        .vouch
        .enrol(&w.business, maria("cus_1"), LINKS)
        .await
        .unwrap();
    let code = participant.code.to_string();
    let host = |outcome: ClickOutcome| match outcome {
        ClickOutcome::Redirect { location, .. } => url::Url::parse(&location)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned)),
        ClickOutcome::UnknownCode => None,
    };
    assert_eq!(
        host(w.vouch.click(visit(&code, None, false)).await.unwrap()).as_deref(),
        Some("acme.example")
    );

    // Another instance changes the landing page.
    let current = Businesses::get(w.store.as_ref(), &w.business)
        .await
        .unwrap()
        .unwrap();
    w.store
        .save_settings(
            &w.business,
            &moved_landing(&current.settings),
            &current.settings,
            current.version,
        )
        .await
        .unwrap();

    w.clock.advance(Duration::seconds(30));
    assert_eq!(
        host(w.vouch.click(visit(&code, None, false)).await.unwrap()).as_deref(),
        Some("acme.example")
    );
    w.clock.advance(Duration::seconds(31));
    assert_eq!(
        host(w.vouch.click(visit(&code, None, false)).await.unwrap()).as_deref(),
        Some("new.example")
    );
}

#[tokio::test]
async fn given_settings_saved_here_then_the_cache_is_refreshed_at_once() {
    let w = World::new().await;
    // Read once so the business is cached before the change.
    w.vouch.business(&w.business).await.unwrap().unwrap();
    w.vouch
        .replace_settings(&w.business, |current| Ok(moved_landing(current)))
        .await
        .unwrap();
    let business = w.vouch.business(&w.business).await.unwrap().unwrap();
    assert_eq!(
        business.settings.landing_url.url().host_str(),
        Some("new.example")
    );
    assert_eq!(business.version, 2);
}

#[tokio::test]
async fn given_bad_keys_then_nothing_is_authenticated_or_created() {
    let w = World::new().await;
    // Creating a business takes the operator's proof, so a refused key creates nothing.
    let spaced = format!("{OPERATOR_KEY} ");
    let shouted = OPERATOR_KEY.to_uppercase();
    for key in [
        None,
        Some(""),
        Some(spaced.as_str()),
        Some(shouted.as_str()),
    ] {
        assert!(
            matches!(w.vouch.authorise_operator(key), Err(Error::Unauthenticated)),
            "{key:?}"
        );
    }
    let other = BusinessId::parse("other").unwrap();
    assert!(w.vouch.business(&other).await.unwrap().is_none());
    for key in [
        None,
        Some(""),
        Some("vouch_ak_nope"),
        Some("x".repeat(500).as_str()),
    ] {
        assert!(matches!(
            w.vouch.authenticate_admin(key).await,
            Err(Error::Unauthenticated)
        ));
    }
}
