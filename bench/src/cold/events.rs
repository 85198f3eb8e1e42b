//! A business seeded on the emulator, and for each function the event a real first visitor
//! brings: a click, a website lead, a signed webhook with a phone number, a staff list, a
//! qualified referral, a sweep, an inbound text, a Jobber read-back. Each call varies the source address, number
//! and delivery id so that every request does the work a new one does.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use serde_json::{Value, json};
use vouch_domain::app::EnrolRequest;
use vouch_domain::model::contact::CustomerInput;
use vouch_domain::values::ids::BusinessId;
use vouch_domain::values::secrets::WebhookSecret;
use vouch_domain::values::signature;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1";

pub struct Fixture {
    business: String,
    code: String,
    admin_key: String,
    secret: WebhookSecret,
    run: String,
    count: AtomicU32,
}

impl Fixture {
    /// A business with one enrolled referrer in `app`'s table.
    pub async fn seed(
        app: &vouch_aws::wiring::Application,
        operator_key: &str,
    ) -> anyhow::Result<Self> {
        let operator = app.vouch.authorise_operator(Some(operator_key))?;
        let business = BusinessId::parse("bench")?;
        let created = app
            .vouch
            .create_business(
                &operator,
                business.clone(),
                vouch_domain::testing::acme_settings(),
            )
            .await?;
        let request = EnrolRequest {
            customer: Some(CustomerInput {
                id: "cus_maria".into(),
                first_name: "Maria".into(),
                last_name: Some("Garcia".into()),
                phone: Some("512-555-0123".into()),
                sms_consent: Some(true),
                ..CustomerInput::default()
            }),
            customer_id: None,
            send_invitation: false,
        };
        let (maria, _) = app
            .vouch
            .enrol(&business, request, "https://go.bench.example")
            .await?;
        Ok(Self {
            business: business.to_string(),
            code: maria.code.to_string(),
            admin_key: created.admin_api_key,
            secret: WebhookSecret::parse(&created.webhook_secret).context("webhook secret")?,
            run: ulid::Ulid::new().to_string(),
            count: AtomicU32::new(0),
        })
    }

    /// The next event for the function `name` (anything for the bare handler).
    pub fn event(&self, name: &str) -> String {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        let ip = format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255);
        let event = match name {
            "link-click" => http(
                "GET",
                &format!("/r/{}", self.code),
                &[("user-agent", IPHONE), ("accept", "text/html")],
                None,
                &ip,
            ),
            "lead-intake" => {
                let body = format!(
                    "business_id={}&name=Dana+Reyes&phone=%28512%29+555-01{:02}&ref={}&referred_by=&website=",
                    self.business,
                    n % 100,
                    self.code
                );
                http(
                    "POST",
                    "/api/leads",
                    &[
                        ("content-type", "application/x-www-form-urlencoded"),
                        ("origin", "https://acme.example"),
                        ("user-agent", IPHONE),
                    ],
                    Some(body),
                    &ip,
                )
            }
            "job-webhook" => {
                let body = json!({
                    "type": "customer.upserted",
                    "timestamp": chrono::Utc::now().to_rfc3339(),
                    "data": {"customer": {
                        "id": format!("cus_{}", n % 20), "first_name": "Dana", "last_name": "Reyes",
                        "phone": format!("+1512555{:04}", 100 + n % 20), "sms_consent": true
                    }}
                })
                .to_string();
                let id = format!("msg_{}_{n}", self.run);
                let timestamp = chrono::Utc::now().timestamp();
                let signed = signature::sign(&self.secret, &id, timestamp, body.as_bytes());
                http(
                    "POST",
                    &format!("/webhooks/{}", self.business),
                    &[
                        ("content-type", "application/json"),
                        ("webhook-id", &id),
                        ("webhook-timestamp", &timestamp.to_string()),
                        ("webhook-signature", &signed),
                    ],
                    Some(body),
                    &ip,
                )
            }
            "admin-api" => http(
                "GET",
                "/api/admin/participants",
                &[("authorization", &format!("Bearer {}", self.admin_key))],
                None,
                &ip,
            ),
            "reward-issuer" => json!({
                "version": "0", "id": format!("evt-{}-{n}", self.run),
                "detail-type": "referral.qualified", "source": "vouch",
                "account": "123456789012", "time": chrono::Utc::now().to_rfc3339(),
                "region": "us-east-1", "resources": [],
                "detail": {
                    "event_id": format!("evt_{}_{n}", self.run),
                    "business_id": self.business,
                    "referral_id": ulid::Ulid::new().to_string(),
                    "lead_customer_id": format!("cus_{n}"),
                }
            }),
            "sms-inbound" => {
                let message = json!({
                    "originationNumber": format!("+1512555{:04}", 100 + n % 100),
                    "destinationNumber": "+15550100000",
                    "messageKeyword": "KEYWORD_123456789012",
                    "messageBody": "HELP",
                    "inboundMessageId": ulid::Ulid::new().to_string(),
                });
                json!({"Records": [{
                    "EventSource": "aws:sns", "EventVersion": "1.0",
                    "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:inbound:1",
                    "Sns": {
                        "Type": "Notification", "MessageId": ulid::Ulid::new().to_string(),
                        "TopicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
                        "Subject": null, "Message": message.to_string(),
                        "Timestamp": chrono::Utc::now().to_rfc3339(),
                        "SignatureVersion": "1", "Signature": "EXAMPLE",
                        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                        "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsubscribe",
                        "MessageAttributes": {}
                    }
                }]})
            }
            // A read-back queued by the Jobber webhook, for an account the business has not
            // connected: the function reads the connection and lets the message go, without
            // reaching Jobber (a local stand-in would not speak HTTPS as Jobber does).
            "jobber-sync" => {
                let read_back = json!({
                    "business_id": self.business,
                    "account_id": "Z2lkOi8vSm9iYmVyL0FjY291bnQvMQ==",
                    "topic": "CLIENT_UPDATE",
                    "item_id": format!("Z2lkOi8vSm9iYmVyL0NsaWVudC8{n}"),
                    "occurred_at": chrono::Utc::now().to_rfc3339(),
                });
                json!({"Records": [{
                    "messageId": ulid::Ulid::new().to_string(),
                    "receiptHandle": format!("bench-{n}"),
                    "body": read_back.to_string(),
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": chrono::Utc::now().timestamp_millis().to_string(),
                        "SenderId": "AIDAEXAMPLE",
                        "ApproximateFirstReceiveTimestamp":
                            chrono::Utc::now().timestamp_millis().to_string()
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:JobberReadBacks",
                    "awsRegion": "us-east-1"
                }]})
            }
            // The scheduler's EventBridge Scheduler payload, and the bare handler's anything.
            _ => json!({}),
        };
        event.to_string()
    }
}

/// An API Gateway HTTP API (payload 2.0) event.
fn http(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
    ip: &str,
) -> Value {
    let mut all: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    all.insert("host".into(), "go.bench.example".into());
    all.insert("x-forwarded-for".into(), ip.into());
    all.insert("x-forwarded-proto".into(), "https".into());
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench",
            "domainName": "go.bench.example", "domainPrefix": "go",
            "http": {
                "method": method, "path": path, "protocol": "HTTP/1.1",
                "sourceIp": ip, "userAgent": IPHONE
            },
            "requestId": ulid::Ulid::new().to_string(), "routeKey": "$default",
            "stage": "$default", "time": "02/Dec/2026:12:00:00 +0000",
            "timeEpoch": chrono::Utc::now().timestamp_millis()
        },
        "isBase64Encoded": false,
        "body": body,
    })
}
