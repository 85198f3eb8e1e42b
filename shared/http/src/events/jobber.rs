//! The Jobber read-back: an item a Jobber webhook named, read back through Jobber's API with the
//! account's tokens and delivered as the command it maps to, once per webhook (its topic, item
//! and time). Queued by the webhook; in AWS an SQS queue feeds the jobber-sync function, locally
//! a poller drains the same queue on the emulator.

use vouch_domain::app::{ReadBackOutcome, Vouch};
use vouch_domain::model::jobber::ReadBack;

use super::EventError;
use crate::webhooks::payload::{Envelope, WebhookEvent};
use crate::webhooks::{jobber, payload};

/// What a read-back came to, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// The record was delivered (or had been: `duplicate`).
    Delivered { duplicate: bool },
    /// Nothing to deliver, and why.
    Skipped(&'static str),
}

/// Reads one queued item back and delivers it. Throttling, outages and store failures are worth
/// retrying; a record that does not map (a bad phone number in Jobber) is refused for good.
pub async fn handle(
    vouch: &Vouch,
    link_base: &str,
    read_back: &ReadBack,
) -> Result<Synced, EventError> {
    let outcome = vouch.read_back(read_back).await.map_err(EventError::of)?;
    let (business, record) = match outcome {
        ReadBackOutcome::Read(business, record) => (business, record),
        ReadBackOutcome::Skipped(why) => {
            tracing::info!(topic = %read_back.topic, item_id = %read_back.item_id, why,
                           "jobber read-back skipped");
            return Ok(Synced::Skipped(why));
        }
    };
    let envelope = jobber::envelope_of(read_back, *record);
    let country = business.settings.country;
    let command = match payload::command_of(envelope.clone(), country) {
        // A job's progress or a paid invoice is not lost to its client's contact details that
        // do not read (a phone with an extension, a mistyped email): the job alone is applied.
        Err(vouch_domain::Error::Validation(fields)) => match envelope.event {
            WebhookEvent::JobStatusChanged {
                job,
                customer: Some(_),
            } => {
                tracing::warn!(?fields, item_id = %read_back.item_id,
                               "jobber client details do not read; the job is applied without them");
                let envelope = Envelope {
                    occurred_at: envelope.occurred_at,
                    event: WebhookEvent::JobStatusChanged {
                        job,
                        customer: None,
                    },
                };
                payload::command_of(envelope, country).map_err(EventError::of)?
            }
            _ => return Err(EventError::of(vouch_domain::Error::Validation(fields))),
        },
        other => other.map_err(EventError::of)?,
    };
    let Some(command) = command else {
        return Ok(Synced::Skipped("nothing Vouch follows changed"));
    };
    let receipt = vouch
        .deliver(
            &business,
            &read_back.delivery_id(),
            Some(command),
            link_base,
        )
        .await
        .map_err(EventError::of)?;
    tracing::info!(topic = %read_back.topic, item_id = %read_back.item_id,
                   duplicate = receipt.duplicate, "jobber read-back delivered");
    Ok(Synced::Delivered {
        duplicate: receipt.duplicate,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vouch_domain::model::jobber::{
        JobberClient, JobberId, JobberInvoice, JobberPhone, JobberRecord, JobberRequest,
    };
    use vouch_domain::model::referral::Status;
    use vouch_domain::model::reward::RewardStatus;
    use vouch_domain::testing::jobber::{connected_world, read_back};
    use vouch_domain::testing::{LINKS, eleven_am};

    use super::*;

    fn id(raw: &str) -> JobberId {
        JobberId::parse(raw).unwrap()
    }

    fn client(raw_id: &str, first: &str, phone: &str) -> JobberClient {
        JobberClient {
            id: id(raw_id),
            first_name: first.into(),
            last_name: "Reyes".into(),
            company_name: None,
            phones: vec![JobberPhone {
                number: phone.into(),
                primary: true,
                sms_allowed: true,
            }],
            emails: vec![],
            updated_at: None,
        }
    }

    const MARIA: &str = "Q2xpZW50LzE=";
    const DANA: &str = "Q2xpZW50LzI=";

    #[tokio::test]
    async fn a_request_naming_a_referrer_then_a_paid_invoice_rewards_the_referrer_once() {
        let w = connected_world(json!({
            "reward": {"type": "service_credit", "description": "Account credit",
                       "tiers": [{"from_referral": 1, "amount_cents": 2500}]},
        }))
        .await;
        // Maria is a Jobber client of the business, enrolled under her Jobber id.
        w.enrol(MARIA, "Maria", "Garcia", "512-555-0123").await;
        w.jobber.put(JobberRecord::Request(JobberRequest {
            id: id("UmVxdWVzdC83"),
            client: Some(client(DANA, "Dana", "512-555-0188")),
            referring_client_id: Some(id(MARIA)),
            created_at: Some(eleven_am()),
        }));
        let synced = handle(
            &w.vouch,
            LINKS,
            &read_back(&w, "REQUEST_CREATE", "UmVxdWVzdC83"),
        )
        .await
        .unwrap();
        assert_eq!(synced, Synced::Delivered { duplicate: false });
        let referral = w.only_referral_of(MARIA);
        assert_eq!(referral.lead.customer_id.as_str(), DANA);

        let mut invoice = JobberInvoice {
            id: id("SW52b2ljZS85"),
            invoice_status: "awaiting_payment".into(),
            total_cents: 42_000,
            client: client(DANA, "Dana", "512-555-0188"),
            job_id: Some(id("Sm9iLzQ=")),
            updated_at: Some(eleven_am() + chrono::Duration::days(2)),
        };
        w.jobber.put(JobberRecord::Invoice(invoice.clone()));
        handle(
            &w.vouch,
            LINKS,
            &read_back(&w, "INVOICE_CREATE", "SW52b2ljZS85"),
        )
        .await
        .unwrap();
        invoice.invoice_status = "paid".into();
        invoice.updated_at = Some(eleven_am() + chrono::Duration::days(3));
        w.jobber.put(JobberRecord::Invoice(invoice));
        let paid = read_back(&w, "INVOICE_UPDATE", "SW52b2ljZS85");
        handle(&w.vouch, LINKS, &paid).await.unwrap();
        // Jobber sends the same webhook again: nothing new.
        assert_eq!(
            handle(&w.vouch, LINKS, &paid).await.unwrap(),
            Synced::Delivered { duplicate: true }
        );
        assert_eq!(w.only_referral_of(MARIA).status, Status::Qualified);
        w.run_issuer().await;
        let rewards = w.store.all_rewards();
        assert_eq!(rewards.len(), 1);
        assert_eq!(rewards[0].status, RewardStatus::Issued);
        assert_eq!(rewards[0].cents(), 2500);
    }

    #[tokio::test]
    async fn a_paid_invoice_counts_even_when_its_clients_number_does_not_read() {
        let w = connected_world(json!({})).await;
        w.enrol(MARIA, "Maria", "Garcia", "512-555-0123").await;
        w.jobber.put(JobberRecord::Request(JobberRequest {
            id: id("UmVxdWVzdC83"),
            client: Some(client(DANA, "Dana", "512-555-0188")),
            referring_client_id: Some(id(MARIA)),
            created_at: Some(eleven_am()),
        }));
        handle(
            &w.vouch,
            LINKS,
            &read_back(&w, "REQUEST_CREATE", "UmVxdWVzdC83"),
        )
        .await
        .unwrap();
        // Since then someone typed a note over Dana's number in Jobber.
        let unreadable = client(DANA, "Dana", "call the office first");
        let details = vouch_domain::model::contact::CustomerInput {
            id: DANA.into(),
            first_name: "Dana".into(),
            phone: Some("call the office first".into()),
            ..Default::default()
        };
        assert!(
            details
                .parse(
                    w.vouch
                        .business(&w.business)
                        .await
                        .unwrap()
                        .unwrap()
                        .settings
                        .country
                )
                .is_err()
        );
        w.jobber.put(JobberRecord::Invoice(JobberInvoice {
            id: id("SW52b2ljZS85"),
            invoice_status: "paid".into(),
            total_cents: 42_000,
            client: unreadable,
            job_id: Some(id("Sm9iLzQ=")),
            updated_at: Some(eleven_am() + chrono::Duration::days(3)),
        }));
        let synced = handle(
            &w.vouch,
            LINKS,
            &read_back(&w, "INVOICE_UPDATE", "SW52b2ljZS85"),
        )
        .await
        .unwrap();
        assert_eq!(synced, Synced::Delivered { duplicate: false });
        assert_eq!(w.only_referral_of(MARIA).status, Status::Qualified);
    }

    #[tokio::test]
    async fn throttling_is_worth_retrying_and_an_unmappable_client_is_not() {
        let w = connected_world(json!({})).await;
        w.jobber
            .put(JobberRecord::Client(client(DANA, "Dana", "not a phone")));
        w.jobber.throttle_next(1);
        let item = read_back(&w, "CLIENT_CREATE", DANA);
        assert!(matches!(
            handle(&w.vouch, LINKS, &item).await,
            Err(EventError::Retryable(_))
        ));
        assert!(matches!(
            handle(&w.vouch, LINKS, &item).await,
            Err(EventError::NonRetryable(_))
        ));
    }
}
