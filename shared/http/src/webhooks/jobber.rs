//! Jobber's webhooks and what their read-backs map to. A webhook is
//! `{"data": {"webHookEvent": {"topic", "appId", "accountId", "itemId", "occurredAt"}}}` (older
//! deliveries were form-encoded, and some spell `occuredAt`); it says only what changed, so the
//! item is read back through Jobber's API and mapped onto the same deliveries as every other
//! job software's.

use chrono::{DateTime, Utc};
use serde_json::Value;
use vouch_domain::app::JobberEvent;
use vouch_domain::model::contact::CustomerInput;
use vouch_domain::model::job::JobStatus;
use vouch_domain::model::jobber::{
    JobberClient, JobberId, JobberInvoice, JobberJob, JobberRecord, ReadBack,
};
use vouch_domain::{Error, FieldErrors};

use super::payload::{Envelope, JobInput, WebhookEvent, field_error, timestamp};

/// Reads a webhook body: JSON, or the older form-encoded body (flat fields, or
/// `data[webHookEvent][topic]=…`).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<JobberEvent, Error> {
    let form = content_type.is_some_and(|t| {
        t.trim_start()
            .starts_with("application/x-www-form-urlencoded")
    });
    let event = if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| Error::BadRequest("the body is not a form".into()))?;
        let mut map = serde_json::Map::new();
        for (name, value) in pairs {
            let name = name
                .trim_start_matches("data[webHookEvent][")
                .trim_end_matches(']')
                .to_owned();
            map.insert(name, Value::String(value));
        }
        Value::Object(map)
    } else {
        let value: Value = serde_json::from_slice(body)
            .map_err(|_| Error::BadRequest("the body is not JSON".into()))?;
        match value.pointer("/data/webHookEvent") {
            Some(event @ Value::Object(_)) => event.clone(),
            _ => {
                return Err(Error::field(
                    "data.webHookEvent",
                    "is required: {topic, accountId, itemId, occurredAt}",
                ));
            }
        }
    };
    read(&event).map_err(Error::Validation)
}

fn read(event: &Value) -> Result<JobberEvent, FieldErrors> {
    let text = |name: &str| -> Result<&str, FieldErrors> {
        event[name]
            .as_str()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| field_error(&format!("data.webHookEvent.{name}"), "is required"))
    };
    let id = |name: &str| -> Result<JobberId, FieldErrors> {
        JobberId::parse(text(name)?)
            .map_err(|e| field_error(&format!("data.webHookEvent.{name}"), e.reason()))
    };
    let topic = text("topic")?;
    if topic.len() > 64
        || !topic
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    {
        return Err(field_error(
            "data.webHookEvent.topic",
            "must be a Jobber topic (CLIENT_CREATE, INVOICE_UPDATE…)",
        ));
    }
    // Jobber's older deliveries spell it `occuredAt`.
    let at_field = if event.get("occurredAt").is_some() {
        "occurredAt"
    } else {
        "occuredAt"
    };
    let occurred_at = timestamp(text(at_field)?, &format!("data.webHookEvent.{at_field}"))?;
    Ok(JobberEvent {
        topic: topic.to_owned(),
        account_id: id("accountId")?,
        item_id: id("itemId")?,
        occurred_at,
    })
}

/// `jobStatus` as it bears on a referral: finished work, or work still to come.
pub fn job_status(raw: &str, completed: bool) -> Option<JobStatus> {
    Some(match raw {
        "requires_invoicing" => JobStatus::Completed,
        "archived" if completed => JobStatus::Completed,
        "active" | "today" | "upcoming" | "late" | "action_required" | "unscheduled"
        | "on_hold" => JobStatus::Scheduled,
        _ => return None,
    })
}

fn customer(client: JobberClient) -> CustomerInput {
    let (phone, sms_allowed) = match client.phone() {
        Some((number, allowed)) => (Some(number.to_owned()), Some(allowed)),
        None => (None, None),
    };
    let email = client.email().map(str::to_owned);
    let first_name = match (client.first_name.trim(), &client.company_name) {
        ("", Some(company)) => company.clone(),
        (first, _) => first.to_owned(),
    };
    CustomerInput {
        id: client.id.as_str().to_owned(),
        first_name,
        last_name: Some(client.last_name).filter(|l| !l.trim().is_empty()),
        phone,
        email,
        // Jobber's "allow texts" on the number is the consent to text it.
        sms_consent: sms_allowed,
        segment: None,
        tags: Vec::new(),
    }
}

fn job_event(job: JobberJob) -> WebhookEvent {
    match job_status(&job.job_status, job.completed_at.is_some()) {
        Some(status) => WebhookEvent::JobStatusChanged {
            job: JobInput {
                id: job.id.as_str().to_owned(),
                customer_id: job.client.id.as_str().to_owned(),
                status,
                invoice_total_cents: Some(job.total_cents),
                service_type: None,
            },
            customer: Some(customer(job.client)),
        },
        None => WebhookEvent::Unknown(format!("jobber job {}", job.job_status)),
    }
}

fn invoice_event(invoice: JobberInvoice) -> WebhookEvent {
    let status = match invoice.invoice_status.as_str() {
        "paid" => JobStatus::Paid,
        "awaiting_payment" | "past_due" => JobStatus::Invoiced,
        other => return WebhookEvent::Unknown(format!("jobber invoice {other}")),
    };
    // The job it bills; an invoice for no job stands for its own work.
    let job_id = invoice.job_id.as_ref().unwrap_or(&invoice.id);
    WebhookEvent::JobStatusChanged {
        job: JobInput {
            id: job_id.as_str().to_owned(),
            customer_id: invoice.client.id.as_str().to_owned(),
            status,
            invoice_total_cents: Some(invoice.total_cents),
            service_type: None,
        },
        customer: Some(customer(invoice.client)),
    }
}

/// What a read-back record asks for, and as of when (the record's own `updatedAt` when it has
/// one: the read shows the item as it is now, not as it was when the webhook was sent).
pub fn envelope_of(read_back: &ReadBack, record: JobberRecord) -> Envelope {
    let as_of = |at: Option<DateTime<Utc>>| at.unwrap_or(read_back.occurred_at);
    let (occurred_at, event) = match record {
        JobberRecord::Client(client) => (
            as_of(client.updated_at),
            WebhookEvent::CustomerUpserted {
                customer: customer(client),
            },
        ),
        JobberRecord::Job(job) => (as_of(job.updated_at), job_event(job)),
        JobberRecord::Invoice(invoice) => (as_of(invoice.updated_at), invoice_event(invoice)),
        JobberRecord::Request(request) => {
            let at = as_of(request.created_at);
            match request.client {
                Some(client) => (
                    at,
                    WebhookEvent::LeadCreated {
                        customer: customer(client),
                        referral_code: None,
                        // The client the office recorded as the referrer: a dispatcher's
                        // attribution.
                        referrer_customer_id: request
                            .referring_client_id
                            .map(|id| id.as_str().to_owned()),
                        referred_by: None,
                    },
                ),
                None => (
                    at,
                    WebhookEvent::Unknown("jobber request without a client".into()),
                ),
            }
        }
    };
    Envelope { occurred_at, event }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ACCOUNT: &str = "Z2lkOi8vSm9iYmVyL0FjY291bnQvMQ==";

    #[test]
    fn the_json_body_and_the_older_spellings_read_alike() {
        let json_body = json!({"data": {"webHookEvent": {"topic": "INVOICE_UPDATE",
            "appId": "app", "accountId": ACCOUNT, "itemId": "SW52b2ljZS85",
            "occurredAt": "2026-12-03T10:31:36-06:00"}}});
        let event = parse(Some("application/json"), json_body.to_string().as_bytes())
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(event.topic, "INVOICE_UPDATE");
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-12-03T16:31:36+00:00");
        let misspelt = json!({"data": {"webHookEvent": {"topic": "INVOICE_UPDATE",
            "accountId": ACCOUNT, "itemId": "SW52b2ljZS85",
            "occuredAt": "2026-12-03T10:31:36-06:00"}}});
        assert_eq!(
            parse(None, misspelt.to_string().as_bytes()).ok(),
            Some(event.clone())
        );
        let nested = serde_urlencoded::to_string([
            ("data[webHookEvent][topic]", "INVOICE_UPDATE"),
            ("data[webHookEvent][accountId]", ACCOUNT),
            ("data[webHookEvent][itemId]", "SW52b2ljZS85"),
            ("data[webHookEvent][occuredAt]", "2026-12-03T10:31:36-06:00"),
        ])
        .unwrap_or_default();
        assert_eq!(
            parse(Some("application/x-www-form-urlencoded"), nested.as_bytes()).ok(),
            Some(event)
        );
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let field = |body: Value| match parse(None, body.to_string().as_bytes()) {
            Err(Error::Validation(fields)) => fields.keys().cloned().collect::<Vec<_>>(),
            other => vec![format!("{other:?}")],
        };
        assert_eq!(field(json!({"data": {}})), ["data.webHookEvent"]);
        assert_eq!(
            field(
                json!({"data": {"webHookEvent": {"topic": "<b>", "accountId": ACCOUNT,
                "itemId": "x", "occurredAt": "2026-12-03T10:31:36Z"}}})
            ),
            ["data.webHookEvent.topic"]
        );
        assert_eq!(
            field(
                json!({"data": {"webHookEvent": {"topic": "CLIENT_CREATE", "accountId": ACCOUNT,
                "itemId": "x", "occurredAt": "yesterday"}}})
            ),
            ["data.webHookEvent.occurredAt"]
        );
        assert!(matches!(
            parse(None, b"not json"),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn job_statuses_map_to_finished_or_coming_work() {
        assert_eq!(
            job_status("requires_invoicing", true),
            Some(JobStatus::Completed)
        );
        assert_eq!(job_status("archived", true), Some(JobStatus::Completed));
        assert_eq!(job_status("archived", false), None);
        assert_eq!(job_status("upcoming", false), Some(JobStatus::Scheduled));
        assert_eq!(job_status("something_new", false), None);
    }
}
