#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::ports::{ProgramStore, SendError};
    use crate::services::{Ports, ServiceConfig};
    use crate::testing::{FakeEvents, FakeSms, InMemoryStore, ManualClock};
    use crate::values::secrets::IpHasher;

    const LINKS: &str = "https://go.example";

    struct World {
        store: Arc<InMemoryStore>,
        sms: Arc<FakeSms>,
        events: Arc<FakeEvents>,
        clock: Arc<ManualClock>,
        vouch: Vouch,
        secret: crate::values::secrets::WebhookSecret,
    }

    /// A business in Chicago at 11:00 local time (17:00 UTC), outside quiet hours.
    async fn world() -> World {
        let store = Arc::new(InMemoryStore::default());
        let sms = Arc::new(FakeSms::default());
        let events = Arc::new(FakeEvents::default());
        let clock = Arc::new(ManualClock::at(
            Utc.with_ymd_and_hms(2026, 11, 23, 17, 0, 0).unwrap(),
        ));
        let vouch = Vouch::new(
            Ports::new(store.clone(), sms.clone(), events.clone(), clock.clone()),
            ServiceConfig {
                operator_key: Some("op".into()),
                ip_hasher: IpHasher::new(b"k"),
            },
        );
        let created = vouch
            .create_business(
                Some("op"),
                &json!({"business_id": "acme", "name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example"}),
            )
            .await
            .unwrap();
        let secret = crate::values::secrets::WebhookSecret::parse(&created.webhook_secret).unwrap();
        World {
            store,
            sms,
            events,
            clock,
            vouch,
            secret,
        }
    }

    impl World {
        async fn deliver(&self, id: &str, body: &Value) -> Result<Receipt> {
            let body = body.to_string();
            let now = self.vouch.now().timestamp();
            let signature = signature::sign(&self.secret, id, now, body.as_bytes());
            let timestamp = now.to_string();
            let delivery = Delivery {
                id: Some(id),
                timestamp: Some(&timestamp),
                signature: Some(&signature),
                body: body.as_bytes(),
            };
            self.vouch.webhook("acme", delivery, LINKS).await
        }

        /// cus_1's details, a completed job and a review of `score`, delivered in that order.
        async fn happy_customer(&self, score: u8) {
            self.deliver("d1", &upsert("cus_1")).await.unwrap();
            self.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
                .await
                .unwrap();
            self.deliver("d3", &review(score, "2026-11-23T16:00:00Z"))
                .await
                .unwrap();
        }

        fn invitations(&self) -> Vec<Message> {
            self.store
                .messages()
                .into_iter()
                .filter(|m| m.purpose == Purpose::Invitation)
                .collect()
        }
    }

    fn customer(id: &str, phone: &str) -> Value {
        json!({"id": id, "first_name": "Maria", "last_name": "Garcia", "phone": phone, "sms_consent": true})
    }

    fn upsert(id: &str) -> Value {
        json!({"type": "customer.upserted", "timestamp": "2026-11-23T16:00:00Z", "data": {"customer": customer(id, "512-555-0123")}})
    }

    fn job(status: &str, at: &str) -> Value {
        json!({"type": "job.status_changed", "timestamp": at,
               "data": {"job": {"id": "job_1", "customer_id": "cus_1", "status": status, "invoice_total_cents": 42000}}})
    }

    fn review(score: u8, at: &str) -> Value {
        json!({"type": "review.submitted", "timestamp": at, "data": {"customer_id": "cus_1", "job_id": "job_1", "score": score}})
    }

    #[tokio::test]
    async fn a_happy_customer_is_enrolled_and_invited_once() {
        let w = world().await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        assert!(w.invitations().is_empty(), "no review yet");
        assert_eq!(
            w.deliver("d3", &review(5, "2026-11-23T16:30:00Z"))
                .await
                .unwrap(),
            Receipt { duplicate: false }
        );
        assert_eq!(
            w.deliver("d3", &review(5, "2026-11-23T16:30:00Z"))
                .await
                .unwrap(),
            Receipt { duplicate: true }
        );

        let invitations = w.invitations();
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
        let w = world().await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &review(3, "2026-11-23T16:30:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &job("paid", "2026-11-23T16:40:00Z"))
            .await
            .unwrap();
        assert!(w.store.participants().is_empty());
        assert!(w.invitations().is_empty());
        assert!(w.sms.sent().is_empty());
    }

    #[tokio::test]
    async fn a_job_never_moves_backwards() {
        let w = world().await;
        w.deliver("d1", &job("invoiced", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d2", &job("scheduled", "2026-11-20T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        let jobs = w.store.jobs();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].status, crate::model::job::JobStatus::Invoiced);
        w.deliver("d4", &job("canceled", "2026-11-23T18:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            w.store.jobs()[0].status,
            crate::model::job::JobStatus::Canceled
        );
    }

    #[tokio::test]
    async fn quiet_hours_defer_and_the_sweep_sends_when_the_window_opens() {
        let w = world().await;
        w.clock.advance(Duration::hours(10)); // 03:00 UTC = 21:00 Chicago
        w.happy_customer(4).await;
        let invitation = &w.invitations()[0];
        assert_eq!(
            (invitation.status, invitation.reason),
            (Status::Deferred, Some(Reason::QuietHours))
        );
        assert!(w.sms.sent().is_empty());

        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 0, "still night");
        w.clock.advance(Duration::hours(11)); // 14:00 UTC = 08:00 Chicago
        let sweep = w.vouch.sweep(LINKS).await.unwrap();
        assert_eq!(sweep.sent, 1);
        assert_eq!(w.invitations()[0].status, Status::Sent);
        assert_eq!(w.sms.sent().len(), 1);
        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 0, "sent once");
    }

    #[tokio::test]
    async fn stop_suppresses_the_next_message_and_start_allows_again() {
        let w = world().await;
        let stop = InboundText {
            from: "+15125550123".into(),
            to: "+15550001111".into(),
            body: "STOP".into(),
        };
        assert_eq!(
            w.vouch.inbound_text(&stop).await.unwrap(),
            Some(Keyword::OptOut)
        );
        w.happy_customer(5).await;
        let invitation = &w.invitations()[0];
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
        let w = world().await;
        w.happy_customer(5).await;
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
        let w = world().await;
        let mut body = upsert("cus_1");
        body["data"]["customer"]["sms_consent"] = json!(false);
        w.deliver("d1", &body).await.unwrap();
        w.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &review(5, "2026-11-23T16:00:00Z"))
            .await
            .unwrap();
        assert_eq!(w.invitations()[0].reason, Some(Reason::NoConsent));
        assert!(w.sms.sent().is_empty());
    }

    #[tokio::test]
    async fn the_per_number_cap_defers_to_the_next_day() {
        let w = world().await;
        let phone = Phone::parse("+15125550123", crate::values::person::Country::US).unwrap();
        let business = w
            .vouch
            .business(&BusinessId::parse("acme").unwrap())
            .await
            .unwrap()
            .unwrap();
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
        w.happy_customer(5).await;
        let invitation = &w.invitations()[0];
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
        let w = world().await;
        w.events.set_failing(true);
        w.happy_customer(5).await;
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
        let w = world().await;
        w.sms
            .fail_next(SendError::Transient(anyhow::anyhow!("throttled")));
        w.happy_customer(5).await;
        assert_eq!(w.invitations()[0].status, Status::Queued);
        w.clock.advance(Duration::minutes(3));
        assert_eq!(w.vouch.sweep(LINKS).await.unwrap().sent, 1);
        assert_eq!(w.invitations()[0].status, Status::Sent);
        assert_eq!(w.sms.sent().len(), 1);
    }

    /// A contact Vouch made itself (as the website form will), holding `phone`.
    async fn website_contact(w: &World, id: &str, phone: &str) {
        let business = BusinessId::parse("acme").unwrap();
        let mut contact = Contact::new(
            business.clone(),
            CustomerId::parse(id).unwrap(),
            crate::values::person::PersonName::parse("Maria").unwrap(),
            w.vouch.now(),
        );
        contact.phone = Phone::parse(phone, crate::values::person::Country::US).ok();
        contact.sms_consent = true;
        contact.origin = crate::model::contact::Origin::Vouch;
        let plan = Plan {
            index: vec![crate::decide::IndexEntry::Phone(
                contact.phone.clone().unwrap(),
                contact.customer_id.clone(),
            )],
            contact: Some((contact, None)),
            ..Plan::default()
        };
        w.store.commit(&business, &plan).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_software_customer_matches_a_website_contact_by_phone_once() {
        let w = world().await;
        website_contact(&w, "01JWEBLEAD0000000000000000", "512-555-0123").await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &job("completed", "2026-11-23T15:00:00Z"))
            .await
            .unwrap();
        w.deliver("d3", &review(5, "2026-11-23T16:30:00Z"))
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
        w.deliver("d4", &upsert("cus_2")).await.unwrap();
        let job2 = json!({"type": "job.status_changed", "timestamp": "2026-11-23T16:35:00Z",
                          "data": {"job": {"id": "job_2", "customer_id": "cus_2", "status": "completed"}}});
        let review2 = json!({"type": "review.submitted", "timestamp": "2026-11-23T16:40:00Z", "data": {"customer_id": "cus_2", "score": 5}});
        w.deliver("d5", &job2).await.unwrap();
        w.deliver("d6", &review2).await.unwrap();
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
        let w = world().await;
        w.deliver("d1", &upsert("cus_1")).await.unwrap();
        w.deliver("d2", &upsert("cus_2")).await.unwrap();
        // cus_2's job and review: merged into cus_1 they would enrol cus_1.
        let job2 = json!({"type": "job.status_changed", "timestamp": "2026-11-23T15:00:00Z",
                          "data": {"job": {"id": "job_2", "customer_id": "cus_2", "status": "completed"}}});
        let review2 = json!({"type": "review.submitted", "timestamp": "2026-11-23T16:30:00Z", "data": {"customer_id": "cus_2", "score": 5}});
        w.deliver("d3", &job2).await.unwrap();
        w.deliver("d4", &review2).await.unwrap();
        let participants = w.store.participants();
        assert_eq!(participants.len(), 1);
        assert_eq!(participants[0].customer_id.as_str(), "cus_2");
        assert_eq!(w.store.jobs()[0].customer_id.as_str(), "cus_2");
    }

    #[tokio::test]
    async fn a_phone_in_lead_is_stored_with_its_named_referrer() {
        let w = world().await;
        let lead = json!({"type": "lead.created", "timestamp": "2026-11-23T16:00:00Z",
                          "data": {"customer": customer("cus_7", "512-555-0177"), "referrer_customer_id": "cus_1", "referred_by": "Maria"}});
        w.deliver("d1", &lead).await.unwrap();
        let leads = w.store.leads();
        assert_eq!(leads.len(), 1);
        assert_eq!(
            leads[0].channel,
            crate::model::lead::LeadChannel::Dispatcher
        );
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
        let w = world().await;
        let body = upsert("cus_1").to_string();
        let now = w.vouch.now().timestamp().to_string();
        let delivery = Delivery {
            id: Some("d1"),
            timestamp: Some(&now),
            signature: Some("v1,AAAA"),
            body: body.as_bytes(),
        };
        assert!(matches!(
            w.vouch.webhook("acme", delivery, LINKS).await,
            Err(Error::Unauthenticated)
        ));
        let signature =
            signature::sign(&w.secret, "d1", w.vouch.now().timestamp(), body.as_bytes());
        let good = Delivery {
            signature: Some(&signature),
            ..delivery
        };
        assert!(matches!(
            w.vouch.webhook("nobody", good, LINKS).await,
            Err(Error::Unauthenticated)
        ));
        assert!(matches!(
            w.vouch.webhook("NOT A SLUG", good, LINKS).await,
            Err(Error::Unauthenticated)
        ));
        assert!(w.vouch.webhook("acme", good, LINKS).await.is_ok());
    }

    /// Fails one chosen call (the n-th load or commit), as a throttle or 5xx would.
    struct Flaky {
        inner: Arc<InMemoryStore>,
        fail_load: Option<usize>,
        fail_commit: Option<usize>,
        loads: std::sync::atomic::AtomicUsize,
        commits: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl ProgramStore for Flaky {
        async fn load(
            &self,
            b: &BusinessId,
            keys: &crate::decide::LoadKeys,
        ) -> anyhow::Result<crate::decide::Snapshot> {
            let n = self.loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
            let n = self
                .commits
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
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
            let w = world().await;
            let flaky = Arc::new(Flaky {
                inner: w.store.clone(),
                fail_load,
                fail_commit,
                loads: Default::default(),
                commits: Default::default(),
            });
            let mut ports = w.vouch.ports.clone();
            ports.program = flaky;
            let vouch = Vouch::new(
                ports,
                ServiceConfig {
                    operator_key: None,
                    ip_hasher: IpHasher::new(b"k"),
                },
            );
            let steps = [
                ("d1", upsert("cus_1")),
                ("d2", job("completed", "2026-11-23T15:00:00Z")),
                ("d3", review(5, "2026-11-23T16:00:00Z")),
            ];
            for (id, body) in steps {
                let body = body.to_string();
                let now = vouch.now().timestamp();
                let signature = signature::sign(&w.secret, id, now, body.as_bytes());
                let timestamp = now.to_string();
                let delivery = Delivery {
                    id: Some(id),
                    timestamp: Some(&timestamp),
                    signature: Some(&signature),
                    body: body.as_bytes(),
                };
                // The sender retries what was not acknowledged.
                match vouch.webhook("acme", delivery, LINKS).await {
                    Ok(_) => {}
                    Err(Error::Unavailable(_)) => {
                        vouch.webhook("acme", delivery, LINKS).await.unwrap();
                    }
                    Err(other) => panic!("{other:?}"),
                }
            }
            let case = format!("load {fail_load:?} commit {fail_commit:?}");
            assert_eq!(w.store.participants().len(), 1, "{case}");
            assert_eq!(w.invitations().len(), 1, "{case}");
            assert_eq!(w.sms.sent().len(), 1, "{case}");
            let enrolled = w
                .events
                .published()
                .iter()
                .filter(|e| e.detail_type == "participant.enrolled")
                .count();
            assert_eq!(enrolled, 1, "{case}");
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Upsert,
        Job(&'static str, u32),
        Review(u8, u32),
    }

    fn step_body(step: &Step) -> Value {
        let at = |minute: u32| format!("2026-11-23T15:{minute:02}:00Z");
        match step {
            Step::Upsert => upsert("cus_1"),
            Step::Job(status, minute) => job(status, &at(*minute)),
            Step::Review(score, minute) => review(*score, &at(*minute)),
        }
    }

    fn steps() -> impl Strategy<Value = Vec<(Step, bool)>> {
        let base = vec![
            Step::Upsert,
            Step::Job("scheduled", 1),
            Step::Job("completed", 10),
            Step::Job("invoiced", 20),
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
                let w = world().await;
                for (i, (step, same_id)) in sequence.iter().enumerate() {
                    let id = if *same_id { format!("{step:?}") } else { format!("delivery-{i}") };
                    w.deliver(&id, &step_body(step)).await.unwrap();
                }
                assert_eq!(w.store.participants().len(), 1, "{sequence:?}");
                assert_eq!(w.invitations().len(), 1, "{sequence:?}");
                assert_eq!(w.sms.sent().len(), 1, "{sequence:?}");
                let enrolled = w.events.published().iter().filter(|e| e.detail_type == "participant.enrolled").count();
                assert_eq!(enrolled, 1, "{sequence:?}");
                // The job ends at its newest status whatever the order.
                assert_eq!(w.store.jobs()[0].status, crate::model::job::JobStatus::Invoiced);
            });
        }
    }
}
