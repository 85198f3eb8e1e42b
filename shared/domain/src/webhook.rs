//! Inbound webhooks from field-service software: Standard Webhooks signatures, the vendor HMAC,
//! and the payloads mapped onto domain commands.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::model::job::JobStatus;
use crate::services::CustomerInput;
use crate::values::error::FieldErrors;

/// Largest body accepted.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, Clone, Deserialize)]
pub struct JobInput {
    pub id: String,
    pub customer_id: String,
    pub status: JobStatus,
    #[serde(default)]
    pub invoice_total_cents: Option<i64>,
    #[serde(default)]
    pub service_type: Option<String>,
}

/// What a delivery asks for, still unparsed at the field level.
#[derive(Debug, Clone)]
pub enum WebhookEvent {
    CustomerUpserted {
        customer: CustomerInput,
    },
    LeadCreated {
        customer: CustomerInput,
        referral_code: Option<String>,
        referrer_customer_id: Option<String>,
        referred_by: Option<String>,
    },
    JobStatusChanged {
        job: JobInput,
        customer: Option<CustomerInput>,
    },
    ReviewSubmitted {
        customer_id: String,
        job_id: Option<String>,
        score: u8,
    },
    /// A type this version does not know: acknowledged and ignored.
    Unknown(String),
}

/// A parsed delivery: its type's payload and when it happened in the sender's system.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub occurred_at: DateTime<Utc>,
    pub event: WebhookEvent,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "type")]
    kind: String,
    timestamp: String,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
struct CustomerData {
    customer: CustomerInput,
}

#[derive(Deserialize)]
struct LeadData {
    customer: CustomerInput,
    #[serde(default)]
    referral_code: Option<String>,
    #[serde(default)]
    referrer_customer_id: Option<String>,
    #[serde(default)]
    referred_by: Option<String>,
}

#[derive(Deserialize)]
struct JobData {
    job: JobInput,
    #[serde(default)]
    customer: Option<CustomerInput>,
}

#[derive(Deserialize)]
struct ReviewData {
    customer_id: String,
    #[serde(default)]
    job_id: Option<String>,
    score: u8,
}

fn field_error(path: &str, err: impl std::fmt::Display) -> FieldErrors {
    FieldErrors::from([(path.to_owned(), err.to_string())])
}

fn data<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, FieldErrors> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." {
            "data".to_owned()
        } else {
            format!("data.{path}")
        };
        field_error(&field, err.inner())
    })
}

fn timestamp(raw: &str, field: &str) -> Result<DateTime<Utc>, FieldErrors> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| field_error(field, "must be an RFC 3339 timestamp"))
}

/// Parses `{"type", "timestamp", "data"}`.
pub fn parse(body: &[u8]) -> Result<Envelope, FieldErrors> {
    let raw: RawEnvelope = serde_json::from_slice(body).map_err(|err| field_error("", err))?;
    let occurred_at = timestamp(&raw.timestamp, "timestamp")?;
    let event = match raw.kind.as_str() {
        "customer.upserted" => {
            let d: CustomerData = data(raw.data)?;
            WebhookEvent::CustomerUpserted {
                customer: d.customer,
            }
        }
        "lead.created" => {
            let d: LeadData = data(raw.data)?;
            WebhookEvent::LeadCreated {
                customer: d.customer,
                referral_code: d.referral_code,
                referrer_customer_id: d.referrer_customer_id,
                referred_by: d.referred_by,
            }
        }
        "job.status_changed" => {
            let d: JobData = data(raw.data)?;
            WebhookEvent::JobStatusChanged {
                job: d.job,
                customer: d.customer,
            }
        }
        "review.submitted" => {
            let d: ReviewData = data(raw.data)?;
            if !(1..=5).contains(&d.score) {
                return Err(field_error("data.score", "must be between 1 and 5"));
            }
            WebhookEvent::ReviewSubmitted {
                customer_id: d.customer_id,
                job_id: d.job_id,
                score: d.score,
            }
        }
        other => WebhookEvent::Unknown(other.chars().take(64).collect()),
    };
    Ok(Envelope { occurred_at, event })
}

/// Housecall Pro's own webhook shape: `{id, event, created_at, data}`.
pub mod housecallpro {
    use super::{
        CustomerInput, Deserialize, Envelope, FieldErrors, JobInput, JobStatus, Value,
        WebhookEvent, data, field_error, timestamp,
    };

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
    pub fn parse(body: &[u8]) -> Result<(String, Envelope), FieldErrors> {
        let raw: Raw = serde_json::from_slice(body).map_err(|err| field_error("", err))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_and_unknown_types_pass() {
        let job = br#"{"type":"job.status_changed","timestamp":"2026-11-22T10:00:00Z","data":{"job":{"id":"job_1","customer_id":"cus_1","status":"completed","invoice_total_cents":45000}}}"#;
        let envelope = parse(job).unwrap();
        assert!(
            matches!(envelope.event, WebhookEvent::JobStatusChanged { ref job, .. } if job.status == JobStatus::Completed)
        );
        let unknown = br#"{"type":"estimate.sent","timestamp":"2026-11-22T10:00:00Z","data":{}}"#;
        assert!(matches!(
            parse(unknown).unwrap().event,
            WebhookEvent::Unknown(_)
        ));
        let bad = br#"{"type":"job.status_changed","timestamp":"2026-11-22T10:00:00Z","data":{"job":{"id":"j","customer_id":"c","status":"exploded"}}}"#;
        assert!(parse(bad).unwrap_err().contains_key("data.job.status"));
        let score = br#"{"type":"review.submitted","timestamp":"2026-11-22T10:00:00Z","data":{"customer_id":"c","score":9}}"#;
        assert!(parse(score).unwrap_err().contains_key("data.score"));
        assert!(parse(b"not json").is_err());
        assert!(
            parse(br#"{"type":"x","timestamp":"noon"}"#)
                .unwrap_err()
                .contains_key("timestamp")
        );
    }

    #[test]
    fn housecall_pro_envelopes_map_onto_the_same_events() {
        let job = br#"{"id":"evt_1","event":"job.completed","created_at":"2026-11-22T10:00:00Z","data":{"id":"job_9","customer":{"id":"cus_9","first_name":"Ana","mobile_number":"5125550199","notifications_enabled":true},"total_amount":30000}}"#;
        let (id, envelope) = housecallpro::parse(job).unwrap();
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
            matches!(housecallpro::parse(invoice).unwrap().1.event, WebhookEvent::JobStatusChanged { ref job, .. } if job.status == JobStatus::Paid)
        );
        let other = br#"{"id":"evt_3","event":"estimate.created","created_at":"2026-11-22T11:00:00Z","data":{}}"#;
        assert!(matches!(
            housecallpro::parse(other).unwrap().1.event,
            WebhookEvent::Unknown(_)
        ));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in "\\PC{0,300}") {
            let _ = parse(&body);
            let _ = housecallpro::parse(&body);
            let _ = parse(text.as_bytes());
            let _ = housecallpro::parse(text.as_bytes());
        }
    }
}
