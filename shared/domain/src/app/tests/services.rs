#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::testing::{InMemoryStore, ManualClock};

    const OPERATOR: &str = "operator-key";
    const PERSON: &str = "Mozilla/5.0 (iPhone) Safari/604.1";

    struct World {
        store: Arc<InMemoryStore>,
        clock: Arc<ManualClock>,
        vouch: Vouch,
        business: BusinessId,
    }

    async fn world() -> World {
        let store = Arc::new(InMemoryStore::default());
        let clock = Arc::new(ManualClock::at(
            Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
        ));
        let ports = Ports::new(
            store.clone(),
            Arc::new(crate::testing::FakeSms::default()),
            Arc::new(crate::testing::FakeEvents::default()),
            clock.clone(),
        );
        let vouch = Vouch::new(
            ports,
            ServiceConfig {
                operator_key: Some(OPERATOR.into()),
                ip_hasher: IpHasher::new(b"k"),
            },
        );
        let created = vouch
            .create_business(
                Some(OPERATOR),
                &json!({"business_id": "acme", "name": "Acme", "time_zone": "America/Chicago", "landing_url": "https://acme.example/a"}),
            )
            .await
            .unwrap();
        World {
            store,
            clock,
            vouch,
            business: created.business_id,
        }
    }

    fn customer(id: &str) -> EnrolRequest {
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

    #[tokio::test]
    async fn given_a_customer_when_enrolled_twice_then_the_code_is_the_same() {
        let w = world().await;
        let (first, created) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        assert!(created);
        let (again, created) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
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
        async fn load(
            &self,
            b: &BusinessId,
            keys: &crate::decide::LoadKeys,
        ) -> anyhow::Result<crate::decide::Snapshot> {
            self.inner.load(b, keys).await
        }
        async fn commit(
            &self,
            b: &BusinessId,
            plan: &crate::decide::Plan,
        ) -> anyhow::Result<std::result::Result<(), crate::decide::Refusal>> {
            if self.commits.fetch_add(1, Ordering::SeqCst) < 2 {
                return Ok(Err(crate::decide::Refusal::Changed));
            }
            self.inner.commit(b, plan).await
        }
        async fn finish(
            &self,
            b: &BusinessId,
            finish: &crate::ports::Finish,
        ) -> anyhow::Result<()> {
            self.inner.finish(b, finish).await
        }
    }

    #[tokio::test]
    async fn given_code_collisions_when_enrolling_then_fresh_codes_are_drawn() {
        let w = world().await;
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
            },
        );
        let (participant, created) = vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        assert!(created);
        assert_eq!(crowded.commits.load(Ordering::SeqCst), 3);
        assert!(w.store.referrer(&participant.code).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn given_people_bots_and_head_requests_then_only_people_are_counted() {
        let w = world().await;
        let (participant, _) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
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
        let w = world().await;
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
        let w = world().await;
        let (participant, _) = w
            .vouch
            .enrol(&w.business, customer("cus_1"), "https://go.example")
            .await
            .unwrap();
        let code = participant.code.to_string();
        let host = |outcome: ClickOutcome| match outcome {
            ClickOutcome::Redirect { location, .. } => location.host_str().map(str::to_owned),
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
        let changed = Settings::complete(
            &json!({"landing_url": "https://new.example/"}),
            Some(&current.settings),
        )
        .unwrap();
        w.store
            .save_settings(&w.business, &changed, current.version)
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
        let w = world().await;
        w.vouch
            .replace_settings(&w.business, &json!({"landing_url": "https://new.example/"}))
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
        let w = world().await;
        for key in [None, Some(""), Some("operator-key "), Some("OPERATOR-KEY")] {
            let result = w
                .vouch
                .create_business(key, &json!({"business_id": "other"}))
                .await;
            assert!(matches!(result, Err(Error::Unauthenticated)), "{key:?}");
        }
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
}
