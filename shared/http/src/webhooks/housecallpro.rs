//! Housecall Pro's own envelopes (`{id, event, created_at, data}`), mapped onto the same
//! deliveries as the Standard Webhooks body.

use serde::Deserialize;
use serde_json::Value;
use vouch_domain::FieldErrors;
use vouch_domain::model::contact::CustomerInput;
use vouch_domain::model::job::JobStatus;

use vouch_domain::Error;

use super::payload::{Envelope, JobInput, WebhookEvent, data, field_error, json, timestamp};

/// The header carrying the signature unless the business configured another. Housecall Pro
/// account set-ups differ; confirm the header name with the account before relying on it.
pub const DEFAULT_SIGNATURE_HEADER: &str = "x-housecallpro-signature";

#[derive(Deserialize)]
struct Raw {
    id: String,
    event: String,
    created_at: String,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
struct HcpCustomer {
    id: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    mobile_number: Option<String>,
    #[serde(default)]
    home_number: Option<String>,
    #[serde(default)]
    notifications_enabled: Option<bool>,
    #[serde(default)]
    tags: Vec<String>,
}

impl HcpCustomer {
    fn into_input(self) -> CustomerInput {
        CustomerInput {
            id: self.id,
            first_name: self.first_name.unwrap_or_default(),
            last_name: self.last_name,
            phone: self.mobile_number.or(self.home_number),
            email: self.email,
            sms_consent: self.notifications_enabled,
            segment: None,
            // Housecall Pro's customer tags: one may name a segment.
            tags: self.tags,
        }
    }
}

#[derive(Deserialize)]
struct HcpJob {
    id: String,
    customer: HcpCustomer,
    #[serde(default)]
    total_amount: Option<i64>,
}

#[derive(Deserialize)]
struct HcpInvoice {
    job_id: String,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    customer: Option<HcpCustomer>,
    #[serde(default)]
    amount: Option<i64>,
}

/// The delivery id (for de-duplication) and the envelope it maps to.
pub fn parse(body: &[u8]) -> Result<(String, Envelope), Error> {
    envelope(json(body)?).map_err(Error::Validation)
}

fn envelope(body: Value) -> Result<(String, Envelope), FieldErrors> {
    let raw: Raw = serde_path_to_error::deserialize(body).map_err(|err| {
        let path = err.path().to_string();
        field_error(if path == "." { "" } else { &path }, err.inner())
    })?;
    if raw.id.is_empty() || raw.id.len() > 256 {
        return Err(field_error("id", "must be 1-256 characters"));
    }
    let occurred_at = timestamp(&raw.created_at, "created_at")?;
    let job_event = |job: HcpJob, status: JobStatus| {
        let customer = job.customer.into_input();
        WebhookEvent::JobStatusChanged {
            job: JobInput {
                id: job.id,
                customer_id: customer.id.clone(),
                status,
                invoice_total_cents: job.total_amount,
                service_type: None,
            },
            customer: Some(customer),
        }
    };
    let event = match raw.event.as_str() {
        "customer.created" | "customer.updated" => {
            let customer: HcpCustomer = data(raw.data)?;
            WebhookEvent::CustomerUpserted {
                customer: customer.into_input(),
            }
        }
        "job.completed" => job_event(data(raw.data)?, JobStatus::Completed),
        "job.paid" => job_event(data(raw.data)?, JobStatus::Paid),
        "invoice.paid" => {
            let invoice: HcpInvoice = data(raw.data)?;
            let customer = invoice.customer.map(HcpCustomer::into_input);
            let customer_id = invoice
                .customer_id
                .or_else(|| customer.as_ref().map(|c| c.id.clone()))
                .ok_or_else(|| field_error("data.customer_id", "is required"))?;
            WebhookEvent::JobStatusChanged {
                job: JobInput {
                    id: invoice.job_id,
                    customer_id,
                    status: JobStatus::Paid,
                    invoice_total_cents: invoice.amount,
                    service_type: None,
                },
                customer,
            }
        }
        other => WebhookEvent::Unknown(other.chars().take(64).collect()),
    };
    Ok((raw.id, Envelope { occurred_at, event }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn housecall_pro_envelopes_map_onto_the_same_events() {
        let job = br#"{"id":"evt_1","event":"job.completed","created_at":"2026-11-22T10:00:00Z","data":{"id":"job_9","customer":{"id":"cus_9","first_name":"Ana","mobile_number":"5125550199","notifications_enabled":true},"total_amount":30000}}"#;
        let (id, envelope) = parse(job).unwrap();
        assert_eq!(id, "evt_1");
        match envelope.event {
            WebhookEvent::JobStatusChanged { job, customer } => {
                assert_eq!(
                    (job.id.as_str(), job.status, job.invoice_total_cents),
                    ("job_9", JobStatus::Completed, Some(30000))
                );
                assert_eq!(customer.unwrap().phone.as_deref(), Some("5125550199"));
            }
            other => panic!("{other:?}"),
        }
        let invoice = br#"{"id":"evt_2","event":"invoice.paid","created_at":"2026-11-22T11:00:00Z","data":{"id":"inv_1","job_id":"job_9","customer_id":"cus_9","amount":30000}}"#;
        assert!(
            matches!(parse(invoice).unwrap().1.event, WebhookEvent::JobStatusChanged { ref job, .. } if job.status == JobStatus::Paid)
        );
        let other = br#"{"id":"evt_3","event":"estimate.created","created_at":"2026-11-22T11:00:00Z","data":{}}"#;
        assert!(matches!(
            parse(other).unwrap().1.event,
            WebhookEvent::Unknown(_)
        ));
    }

    proptest::proptest! {
        #[test]
        fn the_parser_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in "\\PC{0,300}") {
            let _ = parse(&body);
            let _ = parse(text.as_bytes());
        }
    }
}
