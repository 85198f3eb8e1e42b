//! The Standard Webhooks body (`{type, timestamp, data}`): decoded with a reason per bad field,
//! then turned into the domain command it asks for.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use vouch_domain::decide::{Command, Named, NewLead};
use vouch_domain::model::contact::CustomerInput;
use vouch_domain::model::job::JobStatus;
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::error::prefixed;
use vouch_domain::values::ids::CustomerId;
use vouch_domain::values::money::Money;
use vouch_domain::values::person::Country;
use vouch_domain::{Error, FieldErrors, Result};

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

pub(crate) fn field_error(path: &str, err: impl std::fmt::Display) -> FieldErrors {
    FieldErrors::from([(path.to_owned(), err.to_string())])
}

pub(super) fn data<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, FieldErrors> {
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

pub(crate) fn timestamp(raw: &str, field: &str) -> Result<DateTime<Utc>, FieldErrors> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| field_error(field, "must be an RFC 3339 timestamp"))
}

/// The body as a JSON object: anything else is a malformed request (400), unlike an object
/// with a bad field (422).
pub fn json(body: &[u8]) -> Result<Value, Error> {
    match serde_json::from_slice(body) {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(_) => Err(Error::BadRequest("the body must be a JSON object".into())),
        Err(err) => Err(Error::BadRequest(format!(
            "the body is not valid JSON: {err}"
        ))),
    }
}

/// Decodes `{"type", "timestamp", "data"}`.
pub fn parse(body: &[u8]) -> Result<Envelope, Error> {
    envelope(json(body)?).map_err(Error::Validation)
}

fn envelope(body: Value) -> Result<Envelope, FieldErrors> {
    let raw: RawEnvelope = serde_path_to_error::deserialize(body).map_err(|err| {
        let path = err.path().to_string();
        field_error(if path == "." { "" } else { &path }, err.inner())
    })?;
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

/// A parsed delivery as a command; `None` for types this version ignores.
pub fn command_of(envelope: Envelope, country: Country) -> Result<Option<Command>> {
    let customer = |input: CustomerInput, path: &str| {
        input
            .parse(country)
            .map_err(|errors| Error::Validation(prefixed(path, errors)))
    };
    let id =
        |raw: &str, path: &str| CustomerId::parse(raw).map_err(|e| Error::field(path, e.reason()));
    let at = envelope.occurred_at;
    let command = match envelope.event {
        WebhookEvent::Unknown(kind) => {
            tracing::info!(%kind, "ignoring an unknown webhook type");
            return Ok(None);
        }
        WebhookEvent::CustomerUpserted { customer: input } => {
            Command::UpsertCustomer(customer(input, "data.customer")?)
        }
        WebhookEvent::LeadCreated {
            customer: input,
            referral_code,
            referrer_customer_id,
            referred_by,
        } => {
            let code = referral_code
                .filter(|c| !c.trim().is_empty())
                .map(|c| {
                    ReferralCode::parse(&c)
                        .map_err(|e| Error::field("data.referral_code", e.reason()))
                })
                .transpose()?;
            let referrer = referrer_customer_id
                .map(|c| id(&c, "data.referrer_customer_id"))
                .transpose()?;
            let mention = referred_by
                .map(|r| r.trim().chars().take(200).collect::<String>())
                .filter(|r| !r.is_empty());
            let named = match (code, referrer, mention) {
                (Some(code), _, _) => Named::Code {
                    code,
                    referrer: None,
                    click: None,
                },
                (None, Some(id), _) => Named::Customer(id),
                (None, None, Some(text)) => Named::Mention(text),
                (None, None, None) => Named::Nobody,
            };
            Command::Lead(NewLead {
                lead_id: ulid::Ulid::new().to_string(),
                customer: customer(input, "data.customer")?,
                named,
                web: None,
            })
        }
        WebhookEvent::JobStatusChanged {
            job,
            customer: input,
        } => {
            if job.id.is_empty() || job.id.len() > 128 {
                return Err(Error::field("data.job.id", "must be 1-128 characters"));
            }
            let customer_id = id(&job.customer_id, "data.job.customer_id")?;
            let details = input
                .map(|input| customer(input, "data.customer"))
                .transpose()?;
            if details
                .as_ref()
                .is_some_and(|d| d.customer_id != customer_id)
            {
                return Err(Error::field(
                    "data.customer.id",
                    "must match data.job.customer_id",
                ));
            }
            Command::Job {
                job_id: job.id,
                customer_id,
                customer: details,
                status: job.status,
                invoice_total_cents: job
                    .invoice_total_cents
                    .map(|c| {
                        Money::from_cents(c)
                            .map_err(|e| Error::field("data.job.invoice_total_cents", e.reason()))
                    })
                    .transpose()?,
                service_type: job.service_type.map(|s| s.chars().take(100).collect()),
                at,
            }
        }
        WebhookEvent::ReviewSubmitted {
            customer_id, score, ..
        } => Command::Review {
            customer_id: id(&customer_id, "data.customer_id")?,
            score,
            at,
        },
    };
    Ok(Some(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<Envelope, Error>) -> FieldErrors {
        match result {
            Err(Error::Validation(fields)) => fields,
            other => panic!("expected a validation error, got {other:?}"),
        }
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
        assert!(fields(parse(bad)).contains_key("data.job.status"));
        let score = br#"{"type":"review.submitted","timestamp":"2026-11-22T10:00:00Z","data":{"customer_id":"c","score":9}}"#;
        assert!(fields(parse(score)).contains_key("data.score"));
        assert!(matches!(parse(b"not json"), Err(Error::BadRequest(_))));
        assert!(matches!(parse(b"{\"type\": "), Err(Error::BadRequest(_))));
        assert!(fields(parse(br#"{"type":"x","timestamp":"noon"}"#)).contains_key("timestamp"));
        assert!(fields(parse(br#"{"timestamp":"2026-11-22T10:00:00Z"}"#)).contains_key(""));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in "\\PC{0,300}") {
            let _ = parse(&body);
            let _ = parse(text.as_bytes());
        }
    }
}
