//! Inbound webhooks from field-service software: Standard Webhooks signatures, the vendor HMAC,
//! and the payloads mapped onto domain commands.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use crate::error::FieldErrors;
use crate::secrets::WebhookSecret;
use crate::services::CustomerInput;

/// Signatures older or newer than this are refused (replay protection, both ways).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;
/// Largest body accepted.
pub const MAX_BODY: usize = 256 * 1024;
/// How long a delivery id is remembered for de-duplication (at least three days).
pub const DEDUPE_DAYS: i64 = 7;

/// Why a delivery is not authentic. All of them answer 401 alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unauthentic {
    #[error("missing webhook-id, webhook-timestamp or webhook-signature")]
    MissingHeaders,
    #[error("webhook-timestamp is not a unix time")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance")]
    Expired,
    #[error("no signature matches")]
    NoMatch,
}

/// The headers and raw body of a Standard Webhooks delivery.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// HMAC-SHA256 keyed with `key`; HMAC accepts keys of any length, so this is always `Some`.
fn mac(key: &[u8]) -> Option<Hmac<Sha256>> {
    Hmac::<Sha256>::new_from_slice(key).ok()
}

/// Checks a Standard Webhooks delivery: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
/// any one of the space-separated signatures may match; the comparison is constant-time and
/// checks the length. Returns the delivery id.
pub fn verify<'a>(
    secret: &WebhookSecret,
    delivery: Delivery<'a>,
    now: DateTime<Utc>,
) -> Result<&'a str, Unauthentic> {
    let (Some(id), Some(timestamp), Some(signatures)) =
        (delivery.id, delivery.timestamp, delivery.signature)
    else {
        return Err(Unauthentic::MissingHeaders);
    };
    if id.is_empty() || id.len() > 256 {
        return Err(Unauthentic::MissingHeaders);
    }
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Unauthentic::BadTimestamp)?;
    if (now.timestamp() - seconds).abs() > TOLERANCE_SECONDS {
        return Err(Unauthentic::Expired);
    }
    let mut signed = mac(secret.key()).ok_or(Unauthentic::NoMatch)?;
    signed.update(id.as_bytes());
    signed.update(b".");
    signed.update(timestamp.trim().as_bytes());
    signed.update(b".");
    signed.update(delivery.body);
    for candidate in signatures.split(' ') {
        let Some(("v1", encoded)) = candidate.split_once(',') else {
            continue;
        };
        let Ok(bytes) = STANDARD.decode(encoded) else {
            continue;
        };
        // verify_slice compares in constant time and refuses a wrong length.
        if signed.clone().verify_slice(&bytes).is_ok() {
            return Ok(id);
        }
    }
    Err(Unauthentic::NoMatch)
}

/// The `webhook-signature` value a sender computes (for tests and local tools).
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let Some(mut signed) = mac(secret.key()) else {
        return String::new();
    };
    signed.update(format!("{id}.{timestamp}.").as_bytes());
    signed.update(body);
    format!("v1,{}", STANDARD.encode(signed.finalize().into_bytes()))
}

/// A vendor signature: lowercase or uppercase hex of HMAC-SHA256 of the raw body, optionally
/// prefixed `sha256=`.
pub fn verify_hex(secret: &[u8], header: Option<&str>, body: &[u8]) -> bool {
    let Some(header) = header else { return false };
    let encoded = header.trim().trim_start_matches("sha256=");
    let (Ok(bytes), Some(mut signed)) = (hex::decode(encoded), mac(secret)) else {
        return false;
    };
    signed.update(body);
    signed.verify_slice(&bytes).is_ok()
}

pub fn sign_hex(secret: &[u8], body: &[u8]) -> String {
    let Some(mut signed) = mac(secret) else {
        return String::new();
    };
    signed.update(body);
    hex::encode(signed.finalize().into_bytes())
}

/// A job's status in the field-service software.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Scheduled,
    Dispatched,
    InProgress,
    Completed,
    Invoiced,
    Paid,
    Canceled,
}

impl JobStatus {
    /// Orders statuses that arrive with the same timestamp.
    pub fn rank(self) -> u8 {
        match self {
            JobStatus::Scheduled => 1,
            JobStatus::Dispatched => 2,
            JobStatus::InProgress => 3,
            JobStatus::Completed => 4,
            JobStatus::Invoiced => 5,
            JobStatus::Paid => 6,
            JobStatus::Canceled => 7,
        }
    }

    /// The work is done: enough for the satisfaction question.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Invoiced | JobStatus::Paid
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Scheduled => "scheduled",
            JobStatus::Dispatched => "dispatched",
            JobStatus::InProgress => "in_progress",
            JobStatus::Completed => "completed",
            JobStatus::Invoiced => "invoiced",
            JobStatus::Paid => "paid",
            JobStatus::Canceled => "canceled",
        }
    }
}

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
    use super::*;

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
    use chrono::TimeZone;

    /// The test vector published with the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    fn at(offset: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(TIMESTAMP + offset, 0).unwrap()
    }

    fn delivery<'a>(signature: &'a str, timestamp: &'a str, body: &'a [u8]) -> Delivery<'a> {
        Delivery {
            id: Some(ID),
            timestamp: Some(timestamp),
            signature: Some(signature),
            body,
        }
    }

    #[test]
    fn the_specification_vector_verifies() {
        assert_eq!(sign(&secret(), ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, "1614265330", BODY), at(0)),
            Ok(ID)
        );
    }

    #[test]
    fn edge_cases_are_refused() {
        let ts = "1614265330";
        let prefix = &SIGNATURE[..SIGNATURE.len() - 8];
        for bad in [
            "v1,",
            "v1",
            "",
            prefix,
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v1,!!!notbase64",
        ] {
            assert_eq!(
                verify(&secret(), delivery(bad, ts, BODY), at(0)),
                Err(Unauthentic::NoMatch),
                "{bad:?}"
            );
        }
        let other = WebhookSecret::generate();
        assert!(verify(&other, delivery(SIGNATURE, ts, BODY), at(0)).is_err());
        assert!(
            verify(
                &secret(),
                delivery(SIGNATURE, ts, br#"{"test": 2432232315}"#),
                at(0)
            )
            .is_err()
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, ts, BODY), at(301)),
            Err(Unauthentic::Expired)
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, ts, BODY), at(-301)),
            Err(Unauthentic::Expired)
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, ts, BODY), at(300)),
            Ok(ID)
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, "yesterday", BODY), at(0)),
            Err(Unauthentic::BadTimestamp)
        );
        let missing = Delivery {
            id: None,
            timestamp: Some(ts),
            signature: Some(SIGNATURE),
            body: BODY,
        };
        assert_eq!(
            verify(&secret(), missing, at(0)),
            Err(Unauthentic::MissingHeaders)
        );
    }

    #[test]
    fn any_one_of_several_signatures_may_match() {
        let several = format!("v1,Zm9v v1a,xyz {SIGNATURE} v1,YmFy");
        assert_eq!(
            verify(&secret(), delivery(&several, "1614265330", BODY), at(0)),
            Ok(ID)
        );
    }

    #[test]
    fn vendor_hex_signatures_verify() {
        let signature = sign_hex(b"vendor-secret", b"{}");
        assert!(verify_hex(b"vendor-secret", Some(&signature), b"{}"));
        assert!(verify_hex(
            b"vendor-secret",
            Some(&format!("sha256={}", signature.to_uppercase())),
            b"{}"
        ));
        assert!(!verify_hex(b"vendor-secret", Some(&signature[..10]), b"{}"));
        assert!(!verify_hex(b"other", Some(&signature), b"{}"));
        assert!(!verify_hex(b"vendor-secret", None, b"{}"));
    }

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
            let _ = verify_hex(b"k", Some(&text), &body);
            let delivery = Delivery { id: Some(&text), timestamp: Some(&text), signature: Some(&text), body: &body };
            let _ = verify(&secret(), delivery, at(0));
        }
    }
}
