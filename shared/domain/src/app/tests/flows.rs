//! Webhook deliveries through decide → commit → send/publish, inbound texts and the sweep, on
//! the shared test world.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use proptest::prelude::*;

use crate::app::{InboundText, Receipt, ServiceConfig, Vouch};
use crate::decide::{Command, IndexEntry, LoadKeys, Named, NewLead, Plan, Refusal, Snapshot};
use crate::model::contact::{Contact, CustomerDetails, Origin};
use crate::model::job::JobStatus;
use crate::model::lead::LeadChannel;
use crate::model::message::{Purpose, Reason, Status};
use crate::ports::{Finish, ProgramStore, SendError};
use crate::rules::sending::{Keyword, SendGuard};
use crate::testing::{InMemoryStore, LINKS, World, customer, customer_id, job, review, upsert};
use crate::values::error::Error;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::local_day;
use crate::values::person::{Country, PersonName, Phone};
use crate::values::secrets::{IpHasher, PageKey};
use crate::values::signature::{self, Delivery};

/// Maria Garcia as the software sends her, under `id`, on +1 512-555-0123 with SMS consent.
fn maria(id: &str) -> CustomerDetails {
    customer(id, "Maria Garcia", Some("512-555-0123"))
}

/// `customer.upserted` of [`maria`].
fn upsert_maria(id: &str) -> Command {
    upsert(maria(id))
}

/// cus_1's job_1 (a $420 invoice) at `status`.
fn job_1(status: JobStatus, at: &str) -> Command {
    job("job_1", "cus_1", status, at, Some(42000))
}

/// cus_1's review of `score`.
fn review_1(score: u8, at: &str) -> Command {
    review("cus_1", score, at)
}

/// cus_1's details, a completed job and a review of `score`, delivered in that order.
async fn happy_customer(w: &World, score: u8) {
    w.deliver("d1", upsert_maria("cus_1")).await.unwrap();
    w.deliver("d2", job_1(JobStatus::Completed, "2026-11-23T15:00:00Z"))
        .await
        .unwrap();
    w.deliver("d3", review_1(score, "2026-11-23T16:00:00Z"))
        .await
        .unwrap();
}

fn invitations(w: &World) -> Vec<crate::model::message::Message> {
    w.messages_of(Purpose::Invitation)
}

#[tokio::test]
async fn a_happy_customer_is_enrolled_and_invited_once() {
    let w = World::new().await;
    w.deliver("d1", upsert_maria("cus_1")).await.unwrap();
    w.deliver("d2", job_1(JobStatus::Completed, "2026-11-23T15:00:00Z"))
        .await
        .unwrap();
    assert!(invitations(&w).is_empty(), "no review yet");
    assert_eq!(
        w.deliver("d3", review_1(5, "2026-11-23T16:30:00Z"))
            .await
            .unwrap(),
        Receipt { duplicate: false }
    );
    assert_eq!(
        w.deliver("d3", review_1(5, "2026-11-23T16:30:00Z"))
            .await
            .unwrap(),
        Receipt { duplicate: true }
    );

    let invitations = invitations(&w);
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].status, Status::Sent);
    let participant = &w.store.participants()[0];
    assert!(
        invitations[0]
            .body
            .contains(&format!("{LINKS}/r/{}", participant.code))
    );
    assert!(
        invitations[0].body.contains("$25 account credit"),
        "{}",
        invitations[0].body
    );
    assert_eq!(w.sms.sent().len(), 1);
    assert_eq!(w.sms.sent()[0].0.as_e164(), "+15125550123");
    let kinds: Vec<String> = w
        .events
        .published()
        .iter()
        .map(|e| e.detail_type.clone())
        .collect();
    assert_eq!(kinds, vec!["participant.enrolled", "invitation.sent"]);
    assert!(w.store.outbox_events().is_empty());
}

#[tokio::test]
async fn an_unhappy_customer_is_never_asked() {
    let w = World::new().await;
    w.deliver("d1", upsert_maria("cus_1")).await.unwrap();
    w.deliver("d2", review_1(3, "2026-11-23T16:30:00Z"))
        .await
        .unwrap();
    w.deliver("d3", job_1(JobStatus::Paid, "2026-11-23T16:40:00Z"))
        .await
        .unwrap();
    assert!(w.store.participants().is_empty());
    assert!(invitations(&w).is_empty());
    assert!(w.sms.sent().is_empty());
}

#[tokio::test]
async fn a_job_never_moves_backwards() {
    let w = World::new().await;
    w.deliver("d1", job_1(JobStatus::Invoiced, "2026-11-23T15:00:00Z"))
        .await
        .unwrap();
    w.deliver("d2", job_1(JobStatus::Scheduled, "2026-11-20T15:00:00Z"))
        .await
        .unwrap();
    w.deliver("d3", job_1(JobStatus::Completed, "2026-11-23T15:00:00Z"))
        .await
        .unwrap();
    let jobs = w.store.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, JobStatus::Invoiced);
    w.deliver("d4", job_1(JobStatus::Canceled, "2026-11-23T18:00:00Z"))
        .await
        .unwrap();
    assert_eq!(w.store.jobs()[0].status, JobStatus::Canceled);
}

#[tokio::test]
async fn quiet_hours_defer_and_the_sweep_sends_when_the_window_opens() {
    let w = World::new().await;
    w.clock.advance(Duration::hours(10)); // 03:00 UTC = 21:00 Chicago
    happy_customer(&w, 4).await;
    let invitation = &invitations(&w)[0];
    assert_eq!(
        (invitation.status, invitation.reason),
        (Status::Deferred, Some(Reason::QuietHours))
    );
    assert!(w.sms.sent().is_empty());

    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 0, "still night");
    w.clock.advance(Duration::hours(11)); // 14:00 UTC = 08:00 Chicago
    let sweep = w.vouch.sweep(LINKS).await.unwrap();
    assert_eq!(sweep.sent, 1);
    assert_eq!(invitations(&w)[0].status, Status::Sent);
    assert_eq!(w.sms.sent().len(), 1);
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 0, "sent once");
}

#[tokio::test]
async fn stop_suppresses_the_next_message_and_start_allows_again() {
    let w = World::new().await;
    let stop = InboundText {
        from: "+15125550123".into(),
        to: "+15550001111".into(),
        body: "STOP".into(),
    };
    assert_eq!(
        w.vouch.inbound_text(&stop).await.unwrap(),
        Some(Keyword::OptOut)
    );
    happy_customer(&w, 5).await;
    let invitation = &invitations(&w)[0];
    assert_eq!(
        (invitation.status, invitation.reason),
        (Status::Suppressed, Some(Reason::OptedOut))
    );
    assert!(w.sms.sent().is_empty());
    // Enrolment itself still happened: the customer has a code for when they opt back in.
    assert_eq!(w.store.participants().len(), 1);
}

#[tokio::test]
async fn help_is_answered_with_the_business_name() {
    let w = World::new().await;
    happy_customer(&w, 5).await;
    let help = InboundText {
        from: "(512) 555-0123".into(),
        to: "+15550001111".into(),
        body: "help".into(),
    };
    w.vouch.inbound_text(&help).await.unwrap();
    let sent = w.sms.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].1.starts_with("Acme Plumbing referral program"),
        "{}",
        sent[1].1
    );
}

#[tokio::test]
async fn without_consent_the_invitation_is_suppressed() {
    let w = World::new().await;
    let mut details = maria("cus_1");
    details.sms_consent = Some(false);
    w.deliver("d1", upsert(details)).await.unwrap();
    w.deliver("d2", job_1(JobStatus::Completed, "2026-11-23T15:00:00Z"))
        .await
        .unwrap();
    w.deliver("d3", review_1(5, "2026-11-23T16:00:00Z"))
        .await
        .unwrap();
    assert_eq!(invitations(&w)[0].reason, Some(Reason::NoConsent));
    assert!(w.sms.sent().is_empty());
}

#[tokio::test]
async fn the_per_number_cap_defers_to_the_next_day() {
    let w = World::new().await;
    let phone = Phone::parse("+15125550123", Country::US).unwrap();
    let business = w.vouch.business(&w.business).await.unwrap().unwrap();
    // Three texts already went to this number today.
    for i in 0..3 {
        let guard = SendGuard {
            message_id: format!("m{i}"),
            phone: phone.clone(),
            day: local_day(business.settings.time_zone, w.vouch.now()),
            per_number: 3,
            per_business: 500,
            counts: true,
        };
        let plan = Plan {
            sends: vec![guard],
            ..Plan::default()
        };
        w.store.commit(&business.id, &plan).await.unwrap().unwrap();
    }
    happy_customer(&w, 5).await;
    let invitation = &invitations(&w)[0];
    assert_eq!(
        (invitation.status, invitation.reason),
        (Status::Deferred, Some(Reason::DailyCap))
    );
    assert!(w.sms.sent().is_empty());
    w.clock.advance(Duration::days(1));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 1);
}

#[tokio::test]
async fn a_failing_bus_leaves_events_in_the_outbox_for_the_sweep() {
    let w = World::new().await;
    w.events.set_failing(true);
    happy_customer(&w, 5).await;
    assert_eq!(w.store.outbox_events().len(), 2);
    w.events.set_failing(false);
    w.clock.advance(Duration::minutes(2));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().events_published, 2);
    assert!(w.store.outbox_events().is_empty());
    let kinds: Vec<String> = w
        .events
        .published()
        .iter()
        .map(|e| e.detail_type.clone())
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        kinds.contains(&"participant.enrolled".to_owned())
            && kinds.contains(&"invitation.sent".to_owned())
    );
}

#[tokio::test]
async fn a_transient_sms_failure_is_retried_by_the_sweep() {
    let w = World::new().await;
    w.sms
        .fail_next(SendError::Transient(anyhow::anyhow!("throttled")));
    happy_customer(&w, 5).await;
    assert_eq!(invitations(&w)[0].status, Status::Queued);
    w.clock.advance(Duration::minutes(3));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 1);
    assert_eq!(invitations(&w)[0].status, Status::Sent);
    assert_eq!(w.sms.sent().len(), 1);
}

/// A contact Vouch made itself (as the website form does), holding `phone`.
async fn website_contact(w: &World, id: &str, phone: &str) {
    let mut contact = Contact::new(
        w.business.clone(),
        CustomerId::parse(id).unwrap(),
        PersonName::parse("Maria").unwrap(),
        w.vouch.now(),
    );
    contact.phone = Phone::parse(phone, Country::US).ok();
    contact.sms_consent = true;
    contact.origin = Origin::Vouch;
    let plan = Plan {
        index: vec![IndexEntry::Phone(
            contact.phone.clone().unwrap(),
            contact.customer_id.clone(),
        )],
        contact: Some((contact, None)),
        ..Plan::default()
    };
    w.store.commit(&w.business, &plan).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_software_customer_matches_a_website_contact_by_phone_once() {
    let w = World::new().await;
    website_contact(&w, "01JWEBLEAD0000000000000000", "512-555-0123").await;
    w.deliver("d1", upsert_maria("cus_1")).await.unwrap();
    w.deliver("d2", job_1(JobStatus::Completed, "2026-11-23T15:00:00Z"))
        .await
        .unwrap();
    w.deliver("d3", review_1(5, "2026-11-23T16:30:00Z"))
        .await
        .unwrap();
    let participants = w.store.participants();
    assert_eq!(participants.len(), 1);
    assert_eq!(
        participants[0].customer_id.as_str(),
        "01JWEBLEAD0000000000000000"
    );
    assert_eq!(
        w.store.jobs()[0].customer_id.as_str(),
        "01JWEBLEAD0000000000000000"
    );
    // A second software customer with the same phone (a household) is a person of their own:
    // their own job and review enrol them, not the already-enrolled website contact.
    w.deliver("d4", upsert_maria("cus_2")).await.unwrap();
    let job2 = job(
        "job_2",
        "cus_2",
        JobStatus::Completed,
        "2026-11-23T16:35:00Z",
        None,
    );
    let review2 = review("cus_2", 5, "2026-11-23T16:40:00Z");
    w.deliver("d5", job2).await.unwrap();
    w.deliver("d6", review2).await.unwrap();
    let mut enrolled: Vec<String> = w
        .store
        .participants()
        .iter()
        .map(|p| p.customer_id.to_string())
        .collect();
    enrolled.sort();
    assert_eq!(enrolled, vec!["01JWEBLEAD0000000000000000", "cus_2"]);
}

#[tokio::test]
async fn software_customers_sharing_a_phone_stay_apart() {
    let w = World::new().await;
    w.deliver("d1", upsert_maria("cus_1")).await.unwrap();
    w.deliver("d2", upsert_maria("cus_2")).await.unwrap();
    // cus_2's job and review: merged into cus_1 they would enrol cus_1.
    let job2 = job(
        "job_2",
        "cus_2",
        JobStatus::Completed,
        "2026-11-23T15:00:00Z",
        None,
    );
    let review2 = review("cus_2", 5, "2026-11-23T16:30:00Z");
    w.deliver("d3", job2).await.unwrap();
    w.deliver("d4", review2).await.unwrap();
    let participants = w.store.participants();
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].customer_id.as_str(), "cus_2");
    assert_eq!(w.store.jobs()[0].customer_id.as_str(), "cus_2");
}

#[tokio::test]
async fn a_phone_in_lead_is_stored_with_its_named_referrer() {
    let w = World::new().await;
    // `lead.created` naming its referrer by the software's id (which wins over `referred_by`).
    let lead = Command::Lead(NewLead {
        lead_id: ulid::Ulid::new().to_string(),
        customer: customer("cus_7", "Maria Garcia", Some("512-555-0177")),
        named: Named::Customer(customer_id("cus_1")),
        web: None,
    });
    w.deliver("d1", lead).await.unwrap();
    let leads = w.store.leads();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].channel, LeadChannel::Dispatcher);
    assert_eq!(
        leads[0]
            .referrer_customer_id
            .as_ref()
            .map(CustomerId::as_str),
        Some("cus_1")
    );
    assert_eq!(w.events.published()[0].detail_type, "lead.created");
}

#[tokio::test]
async fn bad_signatures_and_unknown_businesses_are_unauthenticated() {
    let w = World::new().await;
    let body = br#"{"type":"customer.upserted","timestamp":"2026-11-23T16:00:00Z","data":{"customer":{"id":"cus_1","first_name":"Maria","last_name":"Garcia","phone":"512-555-0123","sms_consent":true}}}"#;
    let now = w.vouch.now().timestamp().to_string();
    let delivery = Delivery {
        id: Some("d1"),
        timestamp: Some(&now),
        signature: Some("v1,AAAA"),
        body,
    };
    assert!(matches!(
        w.vouch.authenticate_webhook("acme", delivery).await,
        Err(Error::Unauthenticated)
    ));
    let signature = signature::sign(&w.secret, "d1", w.vouch.now().timestamp(), body);
    let good = Delivery {
        signature: Some(&signature),
        ..delivery
    };
    assert!(matches!(
        w.vouch.authenticate_webhook("nobody", good).await,
        Err(Error::Unauthenticated)
    ));
    assert!(matches!(
        w.vouch.authenticate_webhook("NOT A SLUG", good).await,
        Err(Error::Unauthenticated)
    ));
    let (business, delivery_id) = w.vouch.authenticate_webhook("acme", good).await.unwrap();
    assert_eq!((business.id.as_str(), delivery_id.as_str()), ("acme", "d1"));
    assert!(
        w.vouch
            .deliver(&business, &delivery_id, Some(upsert_maria("cus_1")), LINKS)
            .await
            .is_ok()
    );
}

/// Fails one chosen call (the n-th load or commit), as a throttle or 5xx would.
struct Flaky {
    inner: Arc<InMemoryStore>,
    fail_load: Option<usize>,
    fail_commit: Option<usize>,
    loads: AtomicUsize,
    commits: AtomicUsize,
}

#[async_trait::async_trait]
impl ProgramStore for Flaky {
    async fn load(&self, b: &BusinessId, keys: &LoadKeys) -> anyhow::Result<Snapshot> {
        let n = self.loads.fetch_add(1, Ordering::SeqCst);
        if Some(n) == self.fail_load {
            anyhow::bail!("ProvisionedThroughputExceededException");
        }
        self.inner.load(b, keys).await
    }
    async fn commit(
        &self,
        b: &BusinessId,
        plan: &Plan,
    ) -> anyhow::Result<std::result::Result<(), Refusal>> {
        let n = self.commits.fetch_add(1, Ordering::SeqCst);
        if Some(n) == self.fail_commit {
            anyhow::bail!("InternalServerError");
        }
        self.inner.commit(b, plan).await
    }
    async fn finish(&self, b: &BusinessId, finish: &Finish) -> anyhow::Result<()> {
        self.inner.finish(b, finish).await
    }
}

#[tokio::test]
async fn a_store_failure_at_any_step_is_retryable_and_never_doubles_anything() {
    for (fail_load, fail_commit) in (0..3)
        .map(|n| (Some(n), None))
        .chain((0..3).map(|n| (None, Some(n))))
    {
        let w = World::new().await;
        let flaky = Arc::new(Flaky {
            inner: w.store.clone(),
            fail_load,
            fail_commit,
            loads: AtomicUsize::new(0),
            commits: AtomicUsize::new(0),
        });
        let mut ports = w.vouch.ports.clone();
        ports.program = flaky;
        let vouch = Vouch::new(
            ports,
            ServiceConfig {
                operator_key: None,
                ip_hasher: IpHasher::new(b"k"),
                page_key: PageKey::derive(b"k"),
            },
        );
        // The same world, its application now on the flaky store.
        let w = World { vouch, ..w };
        let steps = [
            ("d1", upsert_maria("cus_1")),
            ("d2", job_1(JobStatus::Completed, "2026-11-23T15:00:00Z")),
            ("d3", review_1(5, "2026-11-23T16:00:00Z")),
        ];
        for (id, command) in steps {
            // The sender retries what was not acknowledged.
            match w.deliver(id, command.clone()).await {
                Ok(_) => {}
                Err(Error::Unavailable(_)) => {
                    w.deliver(id, command).await.unwrap();
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        let case = format!("load {fail_load:?} commit {fail_commit:?}");
        assert_eq!(w.store.participants().len(), 1, "{case}");
        assert_eq!(invitations(&w).len(), 1, "{case}");
        assert_eq!(w.sms.sent().len(), 1, "{case}");
        assert_eq!(w.events_of("participant.enrolled"), 1, "{case}");
    }
}

#[derive(Debug, Clone)]
enum Step {
    Upsert,
    Job(JobStatus, u32),
    Review(u8, u32),
}

fn step_command(step: &Step) -> Command {
    let at = |minute: u32| format!("2026-11-23T15:{minute:02}:00Z");
    match step {
        Step::Upsert => upsert_maria("cus_1"),
        Step::Job(status, minute) => job_1(*status, &at(*minute)),
        Step::Review(score, minute) => review_1(*score, &at(*minute)),
    }
}

fn steps() -> impl Strategy<Value = Vec<(Step, bool)>> {
    let base = vec![
        Step::Upsert,
        Step::Job(JobStatus::Scheduled, 1),
        Step::Job(JobStatus::Completed, 10),
        Step::Job(JobStatus::Invoiced, 20),
        Step::Review(5, 30),
    ];
    // Every event at least once, some repeated (same or new delivery id), in any order.
    (
        proptest::collection::vec((0..base.len(), any::<bool>()), 0..8),
        Just(base),
    )
        .prop_flat_map(|(extra, base)| {
            let mut all: Vec<(Step, bool)> = base.iter().cloned().map(|s| (s, false)).collect();
            all.extend(
                extra
                    .into_iter()
                    .map(|(i, same_id)| (base[i].clone(), same_id)),
            );
            Just(all).prop_shuffle()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_order_with_duplicates_enrols_and_invites_exactly_once(sequence in steps()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let w = World::new().await;
            for (i, (step, same_id)) in sequence.iter().enumerate() {
                let id = if *same_id { format!("{step:?}") } else { format!("delivery-{i}") };
                w.deliver(&id, step_command(step)).await.unwrap();
            }
            assert_eq!(w.store.participants().len(), 1, "{sequence:?}");
            assert_eq!(invitations(&w).len(), 1, "{sequence:?}");
            assert_eq!(w.sms.sent().len(), 1, "{sequence:?}");
            assert_eq!(w.events_of("participant.enrolled"), 1, "{sequence:?}");
            // The job ends at its newest status whatever the order.
            assert_eq!(w.store.jobs()[0].status, JobStatus::Invoiced);
        });
    }
}
