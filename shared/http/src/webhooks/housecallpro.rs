//! Housecall Pro's deliveries: `{"event": "job.completed", "job": {…}}` with the whole object
//! (older envelopes put it under `data`, beside an `id` and `created_at`), money in integer
//! cents, mapped onto the same deliveries as the Standard Webhooks body. Housecall Pro's test
//! ping (`{"foo":"bar"}`: no `event`) is answered and does nothing.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use vouch_domain::Error;
use vouch_domain::FieldErrors;
use vouch_domain::model::contact::CustomerInput;
use vouch_domain::model::job::JobStatus;

use super::payload::{Envelope, JobInput, WebhookEvent, field_error, json, timestamp};

/// The headers Housecall Pro signs with, unless the deployment names others.
pub const DEFAULT_TIMESTAMP_HEADER: &str = "api-timestamp";
pub const DEFAULT_SIGNATURE_HEADER: &str = "api-signature";

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
    work_number: Option<String>,
    /// Whether the customer takes Housecall Pro's notifications: read as consent to texts.
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
            phone: self.mobile_number.or(self.home_number).or(self.work_number),
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
    #[serde(default)]
    customer: Option<HcpCustomer>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    work_status: Option<String>,
    /// Cents.
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
    status: Option<String>,
    /// Cents; older deliveries call it `total` or `total_amount`.
    #[serde(default, alias = "total", alias = "total_amount")]
    amount: Option<i64>,
}

/// A delivery read: its id (for de-duplication) and what it maps to; `None` for the test ping.
pub struct Parsed {
    pub id: String,
    pub envelope: Option<Envelope>,
}

/// Reads a delivery signed at `signed_at` (its `Api-Timestamp`, when the body has no time).
pub fn parse(body: &[u8], signed_at: DateTime<Utc>) -> Result<Parsed, Error> {
    let value = json(body)?;
    read(value, body, signed_at).map_err(Error::Validation)
}

/// `work_status` as Housecall Pro spells it (`complete unrated`, `Completed`, `in_progress`,
/// `needs scheduling`, `pro canceled`…), matched loosely: case, `_`, `-` and spacing aside.
pub fn work_status(raw: &str) -> Option<JobStatus> {
    let words = raw
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let status = match words.as_str() {
        w if w.contains("cancel") => JobStatus::Canceled,
        w if w.starts_with("complete") => JobStatus::Completed,
        "in progress" | "started" | "working" => JobStatus::InProgress,
        "on my way" | "dispatched" | "en route" => JobStatus::Dispatched,
        // Booked but not on the calendar yet: still a job the customer asked for.
        "scheduled" | "unscheduled" | "needs scheduling" | "rescheduled" => JobStatus::Scheduled,
        "invoiced" => JobStatus::Invoiced,
        "paid" | "paid in full" => JobStatus::Paid,
        _ => return None,
    };
    Some(status)
}

/// The delivery's id: `id` or `event_id`, each a string of 1-256 characters when present.
fn event_id(map: &serde_json::Map<String, Value>) -> Result<Option<String>, FieldErrors> {
    let mut found = None;
    for name in ["id", "event_id"] {
        match map.get(name) {
            None => {}
            Some(Value::String(id)) if !id.is_empty() && id.len() <= 256 => {
                found = found.or_else(|| Some(id.clone()));
            }
            Some(_) => return Err(field_error(name, "must be a string of 1-256 characters")),
        }
    }
    Ok(found)
}

fn read(value: Value, body: &[u8], signed_at: DateTime<Utc>) -> Result<Parsed, FieldErrors> {
    let Value::Object(mut map) = value else {
        return Err(field_error("", "must be a JSON object"));
    };
    // Housecall Pro's own id of the event when it sends one; otherwise the body's digest, so a
    // delivery sent again (same body) is recognised.
    let id = match event_id(&map)? {
        Some(id) => id,
        None => format!("sha256:{}", hex::encode(Sha256::digest(body))),
    };
    let Some(event) = map.get("event").and_then(Value::as_str).map(str::to_owned) else {
        if map.contains_key("event") {
            return Err(field_error("event", "must be a string"));
        }
        // The test ping Housecall Pro sends when the webhook is saved.
        return Ok(Parsed { id, envelope: None });
    };
    let created_at = map.get("created_at").cloned();
    let noun = event.split('.').next().unwrap_or_default().to_owned();
    // The object: under `data` in older envelopes, under its own name (`job`, `invoice`,
    // `customer`) in current ones.
    let (field, object) = match map.remove("data") {
        Some(object @ Value::Object(_)) => ("data".to_owned(), object),
        _ => {
            let object = map.remove(&noun).unwrap_or(Value::Null);
            (noun.clone(), object)
        }
    };
    // When the change happened, for ordering: the envelope's `created_at`, else the object's
    // own `updated_at`, else the time Housecall Pro signed the delivery (a retry is signed
    // later, so that is the last resort).
    let occurred_at = match (created_at, object.get("updated_at")) {
        (Some(at), _) => time_at(&at, "created_at")?,
        (None, Some(at)) if !at.is_null() => time_at(at, &format!("{field}.updated_at"))?,
        (None, _) => signed_at,
    };
    let event = match event.as_str() {
        "customer.created" | "customer.updated" => WebhookEvent::CustomerUpserted {
            customer: object_at::<HcpCustomer>(&field, object)?.into_input(),
        },
        "invoice.paid" | "invoice.updated" | "invoice.created" => {
            let invoice: HcpInvoice = object_at(&field, object)?;
            let paid = event == "invoice.paid"
                || invoice.status.as_deref().and_then(work_status) == Some(JobStatus::Paid);
            if paid {
                invoice_paid(invoice, &field)?
            } else {
                WebhookEvent::Unknown(event.chars().take(64).collect())
            }
        }
        job if job.starts_with("job.") => {
            let named = match job {
                "job.completed" => Some(JobStatus::Completed),
                "job.paid" => Some(JobStatus::Paid),
                "job.canceled" | "job.deleted" => Some(JobStatus::Canceled),
                "job.started" => Some(JobStatus::InProgress),
                "job.on_my_way" => Some(JobStatus::Dispatched),
                "job.scheduled" => Some(JobStatus::Scheduled),
                _ => None,
            };
            let job: HcpJob = object_at(&field, object)?;
            let status = named
                .or_else(|| job.work_status.as_deref().and_then(work_status))
                .or((event == "job.created").then_some(JobStatus::Scheduled));
            match status {
                Some(status) => job_changed(job, status, &field)?,
                // A job change that says nothing about its progress (an edit of its notes).
                None => WebhookEvent::Unknown(event.chars().take(64).collect()),
            }
        }
        other => WebhookEvent::Unknown(other.chars().take(64).collect()),
    };
    Ok(Parsed {
        id,
        envelope: Some(Envelope { occurred_at, event }),
    })
}

fn time_at(value: &Value, field: &str) -> Result<DateTime<Utc>, FieldErrors> {
    match value {
        Value::String(raw) => timestamp(raw, field),
        _ => Err(field_error(field, "must be an RFC 3339 timestamp")),
    }
}

fn object_at<T: serde::de::DeserializeOwned>(field: &str, value: Value) -> Result<T, FieldErrors> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let at = if path == "." {
            field.to_owned()
        } else {
            format!("{field}.{path}")
        };
        field_error(&at, err.inner())
    })
}

fn job_changed(job: HcpJob, status: JobStatus, field: &str) -> Result<WebhookEvent, FieldErrors> {
    let customer = job.customer.map(HcpCustomer::into_input);
    let customer_id = customer
        .as_ref()
        .map(|c| c.id.clone())
        .or(job.customer_id)
        .ok_or_else(|| field_error(&format!("{field}.customer"), "is required"))?;
    Ok(WebhookEvent::JobStatusChanged {
        job: JobInput {
            id: job.id,
            customer_id,
            status,
            invoice_total_cents: job.total_amount,
            service_type: None,
        },
        customer,
    })
}

fn invoice_paid(invoice: HcpInvoice, field: &str) -> Result<WebhookEvent, FieldErrors> {
    let customer = invoice.customer.map(HcpCustomer::into_input);
    let customer_id = invoice
        .customer_id
        .or_else(|| customer.as_ref().map(|c| c.id.clone()))
        .ok_or_else(|| field_error(&format!("{field}.customer_id"), "is required"))?;
    Ok(WebhookEvent::JobStatusChanged {
        job: JobInput {
            id: invoice.job_id,
            customer_id,
            status: JobStatus::Paid,
            invoice_total_cents: invoice.amount,
            service_type: None,
        },
        customer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB_COMPLETED: &str = include_str!("fixtures/housecallpro/job_completed.json");
    const INVOICE_PAID: &str = include_str!("fixtures/housecallpro/invoice_paid.json");
    const CUSTOMER_CREATED: &str = include_str!("fixtures/housecallpro/customer_created.json");
    const PING: &str = include_str!("fixtures/housecallpro/ping.json");
    const JOB_UPDATED: &str =
        include_str!("fixtures/housecallpro/job_updated_needs_scheduling.json");

    fn signed_at() -> DateTime<Utc> {
        "2026-11-20T16:48:07Z".parse().unwrap()
    }

    fn event(body: &str) -> (String, Envelope) {
        let parsed = parse(body.as_bytes(), signed_at()).unwrap();
        (parsed.id, parsed.envelope.expect("an event"))
    }

    #[test]
    fn a_completed_job_carries_its_customer_and_total_in_cents() {
        let (id, envelope) = event(JOB_COMPLETED);
        // No id in the body: the digest of the body stands for it.
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
        // No created_at: the job's own updated_at, not the later signing time.
        assert_eq!(
            envelope.occurred_at.to_rfc3339(),
            "2026-11-20T16:48:05+00:00"
        );
        let WebhookEvent::JobStatusChanged { job, customer } = envelope.event else {
            panic!("not a job change");
        };
        assert_eq!(job.id, "job_4f1c2a9e7b3d4e21");
        assert_eq!(job.status, JobStatus::Completed);
        assert_eq!(job.invoice_total_cents, Some(28500));
        let customer = customer.unwrap();
        assert_eq!(customer.id, job.customer_id);
        assert_eq!(customer.phone.as_deref(), Some("5125550143"));
        assert_eq!(customer.sms_consent, Some(true));
        assert_eq!(customer.tags, ["Maintenance plan"]);
    }

    #[test]
    fn a_paid_invoice_is_the_jobs_payment() {
        let (id, envelope) = event(INVOICE_PAID);
        assert_eq!(id, "evt_01JDQ3M8X2V7K9");
        assert_eq!(
            envelope.occurred_at.to_rfc3339(),
            "2026-11-21T09:14:52+00:00"
        );
        let WebhookEvent::JobStatusChanged { job, .. } = envelope.event else {
            panic!("not a job change");
        };
        assert_eq!(
            (job.id.as_str(), job.customer_id.as_str(), job.status),
            (
                "job_4f1c2a9e7b3d4e21",
                "cus_8d2e61b0c4a94f77",
                JobStatus::Paid
            )
        );
        assert_eq!(job.invoice_total_cents, Some(28500));
        // The same invoice as an update with status paid means the same; unpaid, nothing.
        let updated = INVOICE_PAID.replace("invoice.paid", "invoice.updated");
        assert!(
            matches!(event(&updated).1.event, WebhookEvent::JobStatusChanged { ref job, .. } if job.status == JobStatus::Paid)
        );
        let open = updated.replace("\"status\": \"paid\"", "\"status\": \"open\"");
        assert!(matches!(event(&open).1.event, WebhookEvent::Unknown(_)));
    }

    #[test]
    fn customers_map_with_their_consent() {
        let (_, envelope) = event(CUSTOMER_CREATED);
        let WebhookEvent::CustomerUpserted { customer } = envelope.event else {
            panic!("not a customer");
        };
        assert_eq!(customer.first_name, "Teodor");
        assert_eq!(customer.phone.as_deref(), Some("(512) 555-0178"));
        assert_eq!(customer.sms_consent, Some(false));
        assert_eq!(customer.email, None);
    }

    #[test]
    fn work_status_is_matched_loosely() {
        for (raw, status) in [
            ("complete unrated", Some(JobStatus::Completed)),
            ("complete rated", Some(JobStatus::Completed)),
            ("Completed", Some(JobStatus::Completed)),
            ("completed_unrated", Some(JobStatus::Completed)),
            ("needs scheduling", Some(JobStatus::Scheduled)),
            ("Needs_Scheduling", Some(JobStatus::Scheduled)),
            ("unscheduled", Some(JobStatus::Scheduled)),
            ("scheduled", Some(JobStatus::Scheduled)),
            ("in progress", Some(JobStatus::InProgress)),
            ("IN_PROGRESS", Some(JobStatus::InProgress)),
            ("  on-my-way ", Some(JobStatus::Dispatched)),
            ("user canceled", Some(JobStatus::Canceled)),
            ("pro cancelled", Some(JobStatus::Canceled)),
            ("paid", Some(JobStatus::Paid)),
            ("estimate sent", None),
            ("", None),
        ] {
            assert_eq!(work_status(raw), status, "{raw:?}");
        }
        let (_, envelope) = event(JOB_UPDATED);
        // No time in the body at all: the time it was signed.
        assert_eq!(envelope.occurred_at, signed_at());
        assert!(
            matches!(envelope.event, WebhookEvent::JobStatusChanged { ref job, .. } if job.status == JobStatus::Scheduled)
        );
        // An update that says nothing about progress is received and ignored.
        let vague = JOB_UPDATED.replace("Needs_Scheduling", "estimate sent");
        assert!(matches!(event(&vague).1.event, WebhookEvent::Unknown(_)));
    }

    #[test]
    fn the_test_ping_and_older_envelopes_are_understood() {
        let ping = parse(PING.as_bytes(), signed_at()).unwrap();
        assert!(ping.envelope.is_none());
        let older = br#"{"id":"evt_1","event":"job.paid","created_at":"2026-11-22T10:00:00Z","data":{"id":"job_9","customer":{"id":"cus_9","first_name":"Ana","mobile_number":"5125550199","notifications_enabled":true},"total_amount":30000}}"#;
        let (id, envelope) = event(std::str::from_utf8(older).unwrap());
        assert_eq!(id, "evt_1");
        assert!(
            matches!(envelope.event, WebhookEvent::JobStatusChanged { ref job, .. } if job.status == JobStatus::Paid && job.invoice_total_cents == Some(30000))
        );
        let other = br#"{"event":"estimate.created","estimate":{}}"#;
        assert!(matches!(
            parse(other, signed_at()).unwrap().envelope.unwrap().event,
            WebhookEvent::Unknown(_)
        ));
    }

    #[test]
    fn bad_fields_are_named() {
        let no_customer =
            br#"{"event":"job.completed","job":{"id":"job_1","work_status":"complete unrated"}}"#;
        let Err(Error::Validation(errors)) = parse(no_customer, signed_at()) else {
            panic!("accepted");
        };
        assert!(errors.contains_key("job.customer"), "{errors:?}");
        let cents = br#"{"event":"job.completed","job":{"id":"job_1","customer_id":"c","total_amount":"285.00"}}"#;
        let Err(Error::Validation(errors)) = parse(cents, signed_at()) else {
            panic!("accepted");
        };
        assert!(errors.contains_key("job.total_amount"), "{errors:?}");
        assert!(matches!(
            parse(b"[1]", signed_at()),
            Err(Error::BadRequest(_))
        ));
        for bad in [
            r#"{"event":7}"#,
            r#"{"event":"job.completed","id":null}"#,
            r#"{"event":"job.completed","id":""}"#,
            r#"{"id":"evt_1","event_id":5}"#,
            r#"{"event":"x","created_at":"yesterday"}"#,
            r#"{"event":"x","created_at":null}"#,
            r#"{"event":"job.completed","job":{"id":"j","customer_id":"c","updated_at":"soon"}}"#,
        ] {
            assert!(
                matches!(
                    parse(bad.as_bytes(), signed_at()),
                    Err(Error::Validation(_))
                ),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_parser_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in "\\PC{0,300}") {
            let _ = parse(&body, signed_at());
            let _ = parse(text.as_bytes(), signed_at());
        }
    }
}
