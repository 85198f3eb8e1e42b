//! Jobber's API: OAuth 2.0 (`{auth}/authorize`, `{auth}/token`, refresh tokens spent when used)
//! and the GraphQL endpoint Vouch reads clients, jobs, visits, invoices, payments and requests
//! back through. The URLs are `VOUCH_JOBBER_AUTH_URL` and `VOUCH_JOBBER_API_URL` (Jobber's own
//! by default; locally the stand-in). Rate limits: Jobber answers `THROTTLED` when a query costs
//! more points than are left (they come back at `restoreRate` a second) and 429 past its request
//! limit; both are [`JobberFailure::Throttled`] with how long to wait.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Method, Request, StatusCode, header};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{Value, json};
use vouch_domain::model::jobber::{
    JobberAccount, JobberClient, JobberEmail, JobberId, JobberInvoice, JobberItem, JobberJob,
    JobberPhone, JobberRecord, JobberRequest, JobberTokens, OAuthToken, cents,
};
use vouch_domain::model::settings::JobberApp;
use vouch_domain::ports::{JobberApi, JobberFailure, TokenGrant};

use crate::vendor::VendorClient;

pub const PRODUCTION_API: &str = "https://api.getjobber.com/api/graphql";
pub const PRODUCTION_AUTH: &str = "https://api.getjobber.com/api/oauth";

/// The schema version Vouch's queries are written against (`X-JOBBER-GRAPHQL-VERSION`).
pub const GRAPHQL_VERSION: &str = "2025-01-20";

/// Jobber's access tokens last an hour; used when a token does not say.
const ACCESS_TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(60);

const CLIENT_FIELDS: &str = "fragment ClientFields on Client { id firstName lastName companyName \
     phones { number primary smsAllowed } emails { address primary } updatedAt }";
const INVOICE_FIELDS: &str = "fragment InvoiceFields on Invoice { id invoiceStatus updatedAt \
     amounts { total } client { ...ClientFields } jobs(first: 1) { nodes { id } } }";
const JOB_FIELDS: &str = "fragment JobFields on Job { id jobStatus completedAt total updatedAt \
     client { ...ClientFields } }";

pub struct Jobber {
    api_url: String,
    auth_url: String,
    client: VendorClient,
}

impl Jobber {
    pub fn new(api_url: &str, auth_url: &str) -> Self {
        Self {
            api_url: api_url.to_owned(),
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            client: VendorClient::default(),
        }
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<(StatusCode, http::HeaderMap, Value), JobberFailure> {
        let (status, headers, body) = self
            .client
            .send(request)
            .await
            .map_err(|err| JobberFailure::Unavailable(format!("{err:#}")))?;
        Ok((
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ))
    }

    /// One GraphQL query; its `data`.
    async fn query(
        &self,
        token: &OAuthToken,
        name: &str,
        query: String,
        id: Option<&JobberId>,
    ) -> Result<Value, JobberFailure> {
        let body = json!({
            "operationName": name,
            "query": query,
            "variables": id.map_or(json!({}), |id| json!({"id": id.as_str()})),
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.api_url)
            .header(header::AUTHORIZATION, format!("Bearer {}", token.reveal()))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header("X-JOBBER-GRAPHQL-VERSION", GRAPHQL_VERSION)
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|err| JobberFailure::Unavailable(err.to_string()))?;
        let (status, headers, answer) = self.send(request).await?;
        graphql_answer(status, &headers, answer)
    }
}

/// Seconds from a `Retry-After` header, else `default`.
fn retry_after(headers: &http::HeaderMap, default: u64) -> Duration {
    let seconds = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(default);
    Duration::from_secs(seconds.clamp(1, 300))
}

fn message(answer: &Value) -> String {
    let text = answer["message"]
        .as_str()
        .or_else(|| answer["errors"][0]["message"].as_str())
        .or_else(|| answer["error_description"].as_str())
        .or_else(|| answer["error"].as_str())
        .unwrap_or("no reason given");
    text.chars().take(300).collect()
}

/// A GraphQL answer read: its `data`, or why there is none.
fn graphql_answer(
    status: StatusCode,
    headers: &http::HeaderMap,
    answer: Value,
) -> Result<Value, JobberFailure> {
    match status.as_u16() {
        200 => {}
        401 | 403 => {
            let text = message(&answer);
            return Err(if text.contains("disconnected") {
                JobberFailure::Disconnected
            } else {
                JobberFailure::Unauthorized(text)
            });
        }
        429 => {
            return Err(JobberFailure::Throttled {
                wait: retry_after(headers, 30),
            });
        }
        400..=499 => return Err(JobberFailure::Refused(message(&answer))),
        other => {
            return Err(JobberFailure::Unavailable(format!(
                "Jobber answered {other}: {}",
                message(&answer)
            )));
        }
    }
    if let Some(error) = answer["errors"].as_array().and_then(|e| e.first()) {
        if error["extensions"]["code"] == "THROTTLED" {
            return Err(JobberFailure::Throttled {
                wait: throttle_wait(&answer["extensions"]["cost"]),
            });
        }
        if answer["data"].is_null() {
            return Err(JobberFailure::Refused(message(&answer)));
        }
    }
    Ok(answer["data"].clone())
}

/// How long until the points a query needs are back: `(requested - available) / restoreRate`
/// seconds, at least one.
fn throttle_wait(cost: &Value) -> Duration {
    let requested = cost["requestedQueryCost"].as_f64().unwrap_or(1000.0);
    let available = cost["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap_or(0.0);
    let rate = cost["throttleStatus"]["restoreRate"]
        .as_f64()
        .filter(|r| *r > 0.0)
        .unwrap_or(500.0);
    let seconds = ((requested - available) / rate).ceil().clamp(1.0, 300.0);
    Duration::from_secs(seconds as u64)
}

/// When an access token lapses: its JWT `exp` when it has one, else an hour from now.
fn expires_at(token: &str) -> DateTime<Utc> {
    let exp = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|claims| claims["exp"].as_i64())
        .and_then(|exp| DateTime::from_timestamp(exp, 0));
    exp.unwrap_or_else(|| Utc::now() + ACCESS_TOKEN_LIFETIME)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPhone {
    number: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    sms_allowed: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEmail {
    address: String,
    #[serde(default)]
    primary: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawClient {
    id: JobberId,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    company_name: Option<String>,
    #[serde(default)]
    phones: Vec<RawPhone>,
    #[serde(default)]
    emails: Vec<RawEmail>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

impl From<RawClient> for JobberClient {
    fn from(raw: RawClient) -> Self {
        JobberClient {
            id: raw.id,
            first_name: raw.first_name.unwrap_or_default(),
            last_name: raw.last_name.unwrap_or_default(),
            company_name: raw.company_name.filter(|c| !c.is_empty()),
            phones: raw
                .phones
                .into_iter()
                .map(|p| JobberPhone {
                    number: p.number,
                    primary: p.primary,
                    sms_allowed: p.sms_allowed,
                })
                .collect(),
            emails: raw
                .emails
                .into_iter()
                .map(|e| JobberEmail {
                    address: e.address,
                    primary: e.primary,
                })
                .collect(),
            updated_at: raw.updated_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawJob {
    id: JobberId,
    job_status: String,
    #[serde(default)]
    completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    total: f64,
    client: RawClient,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct RawAmounts {
    total: f64,
}

#[derive(Deserialize)]
struct RawNode {
    id: JobberId,
}

#[derive(Deserialize)]
struct RawNodes {
    #[serde(default)]
    nodes: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInvoice {
    id: JobberId,
    invoice_status: String,
    amounts: RawAmounts,
    client: RawClient,
    #[serde(default)]
    jobs: Option<RawNodes>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequest {
    id: JobberId,
    #[serde(default)]
    client: Option<RawClient>,
    #[serde(default)]
    referring_client: Option<RawNode>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

fn money(dollars: f64, at: &str) -> Result<i64, JobberFailure> {
    cents(dollars).ok_or_else(|| JobberFailure::Refused(format!("{at} is not an amount")))
}

fn job(raw: RawJob) -> Result<JobberJob, JobberFailure> {
    Ok(JobberJob {
        total_cents: money(raw.total, "job.total")?,
        id: raw.id,
        job_status: raw.job_status,
        completed_at: raw.completed_at,
        client: raw.client.into(),
        updated_at: raw.updated_at,
    })
}

fn invoice(raw: RawInvoice) -> Result<JobberInvoice, JobberFailure> {
    Ok(JobberInvoice {
        total_cents: money(raw.amounts.total, "invoice.amounts.total")?,
        job_id: raw
            .jobs
            .and_then(|jobs| jobs.nodes.into_iter().next())
            .map(|n| n.id),
        id: raw.id,
        invoice_status: raw.invoice_status,
        client: raw.client.into(),
        updated_at: raw.updated_at,
    })
}

/// The object at `data[path...]` as `T`; `None` when Jobber answered `null` there.
fn at<T: serde::de::DeserializeOwned>(
    data: &Value,
    path: &[&str],
) -> Result<Option<T>, JobberFailure> {
    let mut value = data;
    for key in path {
        value = &value[*key];
    }
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|err| {
            JobberFailure::Refused(format!("Jobber's {} did not read: {err}", path.join(".")))
        })
}

/// The query that reads `item`: its operation name and text.
fn query_for(item: &JobberItem) -> (&'static str, String) {
    match item {
        JobberItem::Client(_) => (
            "VouchClient",
            format!(
                "query VouchClient($id: EncodedId!) {{ client(id: $id) {{ ...ClientFields }} }} {CLIENT_FIELDS}"
            ),
        ),
        JobberItem::Job(_) => (
            "VouchJob",
            format!(
                "query VouchJob($id: EncodedId!) {{ job(id: $id) {{ ...JobFields }} }} {JOB_FIELDS} {CLIENT_FIELDS}"
            ),
        ),
        JobberItem::Visit(_) => (
            "VouchVisit",
            format!(
                "query VouchVisit($id: EncodedId!) {{ visit(id: $id) {{ job {{ ...JobFields }} }} }} {JOB_FIELDS} {CLIENT_FIELDS}"
            ),
        ),
        JobberItem::Invoice(_) => (
            "VouchInvoice",
            format!(
                "query VouchInvoice($id: EncodedId!) {{ invoice(id: $id) {{ ...InvoiceFields }} }} {INVOICE_FIELDS} {CLIENT_FIELDS}"
            ),
        ),
        JobberItem::Payment(_) => (
            "VouchPayment",
            format!(
                "query VouchPayment($id: EncodedId!) {{ paymentRecord(id: $id) {{ invoice {{ ...InvoiceFields }} }} }} {INVOICE_FIELDS} {CLIENT_FIELDS}"
            ),
        ),
        JobberItem::Request(_) => (
            "VouchRequest",
            format!(
                "query VouchRequest($id: EncodedId!) {{ request(id: $id) {{ id createdAt client {{ ...ClientFields }} referringClient {{ id }} }} }} {CLIENT_FIELDS}"
            ),
        ),
    }
}

/// What a read's `data` holds.
fn record(item: &JobberItem, data: &Value) -> Result<Option<JobberRecord>, JobberFailure> {
    Ok(match item {
        JobberItem::Client(_) => {
            at::<RawClient>(data, &["client"])?.map(|c| JobberRecord::Client(c.into()))
        }
        JobberItem::Job(_) => at::<RawJob>(data, &["job"])?
            .map(job)
            .transpose()?
            .map(JobberRecord::Job),
        JobberItem::Visit(_) => at::<RawJob>(data, &["visit", "job"])?
            .map(job)
            .transpose()?
            .map(JobberRecord::Job),
        JobberItem::Invoice(_) => at::<RawInvoice>(data, &["invoice"])?
            .map(invoice)
            .transpose()?
            .map(JobberRecord::Invoice),
        JobberItem::Payment(_) => at::<RawInvoice>(data, &["paymentRecord", "invoice"])?
            .map(invoice)
            .transpose()?
            .map(JobberRecord::Invoice),
        JobberItem::Request(_) => at::<RawRequest>(data, &["request"])?.map(|r| {
            JobberRecord::Request(JobberRequest {
                id: r.id,
                client: r.client.map(Into::into),
                referring_client_id: r.referring_client.map(|c| c.id),
                created_at: r.created_at,
            })
        }),
    })
}

#[async_trait]
impl JobberApi for Jobber {
    fn authorize_url(&self, app: &JobberApp, redirect_uri: &str, state: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ])
        .unwrap_or_default();
        format!("{}/authorize?{query}", self.auth_url)
    }

    async fn grant(
        &self,
        app: &JobberApp,
        grant: TokenGrant<'_>,
    ) -> Result<JobberTokens, JobberFailure> {
        let mut form = vec![
            ("client_id", app.client_id.as_str()),
            ("client_secret", app.client_secret.reveal()),
        ];
        match grant {
            TokenGrant::Code { code, redirect_uri } => form.extend([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ]),
            TokenGrant::Refresh(token) => form.extend([
                ("grant_type", "refresh_token"),
                ("refresh_token", token.reveal()),
            ]),
        }
        let body = serde_urlencoded::to_string(&form)
            .map_err(|err| JobberFailure::Unavailable(err.to_string()))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/token", self.auth_url))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| JobberFailure::Unavailable(err.to_string()))?;
        let (status, headers, answer) = self.send(request).await?;
        match status.as_u16() {
            200 | 201 => {}
            429 => {
                return Err(JobberFailure::Throttled {
                    wait: retry_after(&headers, 30),
                });
            }
            400..=499 => return Err(JobberFailure::Refused(message(&answer))),
            other => {
                return Err(JobberFailure::Unavailable(format!(
                    "Jobber's token endpoint answered {other}"
                )));
            }
        }
        let token = |name: &str| {
            answer[name]
                .as_str()
                .and_then(|t| OAuthToken::parse(t).ok())
                .ok_or_else(|| {
                    JobberFailure::Unavailable(format!("the token answer has no {name}"))
                })
        };
        let access_token = token("access_token")?;
        Ok(JobberTokens {
            expires_at: expires_at(access_token.reveal()),
            access_token,
            refresh_token: token("refresh_token")?,
        })
    }

    async fn account(&self, token: &OAuthToken) -> Result<JobberAccount, JobberFailure> {
        let data = self
            .query(
                token,
                "VouchAccount",
                "query VouchAccount { account { id name } }".into(),
                None,
            )
            .await?;
        let id = data["account"]["id"]
            .as_str()
            .and_then(|id| JobberId::parse(id).ok())
            .ok_or_else(|| JobberFailure::Refused("Jobber named no account".into()))?;
        Ok(JobberAccount {
            id,
            name: data["account"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    async fn read(
        &self,
        token: &OAuthToken,
        item: &JobberItem,
    ) -> Result<Option<JobberRecord>, JobberFailure> {
        let (name, query) = query_for(item);
        let data = self.query(token, name, query, Some(item.id())).await?;
        record(item, &data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_waits_for_the_points_to_come_back() {
        let cost = json!({"requestedQueryCost": 1500, "throttleStatus":
                          {"maximumAvailable": 10000, "currentlyAvailable": 0, "restoreRate": 500}});
        assert_eq!(throttle_wait(&cost), Duration::from_secs(3));
        assert_eq!(throttle_wait(&json!({})), Duration::from_secs(2));
        let throttled = json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                               "extensions": {"cost": cost}});
        assert!(matches!(
            graphql_answer(StatusCode::OK, &http::HeaderMap::new(), throttled),
            Err(JobberFailure::Throttled { .. })
        ));
    }

    #[test]
    fn refused_tokens_and_disconnections_are_told_apart() {
        let answer = |status: u16, body: Value| {
            graphql_answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                &http::HeaderMap::new(),
                body,
            )
        };
        assert!(matches!(
            answer(401, json!({"message": "Unauthorized"})),
            Err(JobberFailure::Unauthorized(_))
        ));
        assert!(matches!(
            answer(
                401,
                json!({"message": "User has disconnected this app from their account. Please delete this token"})
            ),
            Err(JobberFailure::Disconnected)
        ));
        assert!(matches!(
            answer(503, json!({})),
            Err(JobberFailure::Unavailable(_))
        ));
        assert!(matches!(
            answer(429, json!({})),
            Err(JobberFailure::Throttled { .. })
        ));
        assert_eq!(
            answer(200, json!({"data": {"client": null}})).ok(),
            Some(json!({"client": null}))
        );
    }

    #[test]
    fn a_paid_invoice_reads_with_its_total_in_cents_and_its_job() {
        let data = json!({"invoice": {"id": "SW52b2ljZS85", "invoiceStatus": "paid",
            "updatedAt": "2026-12-03T10:00:00Z", "amounts": {"total": 350.25},
            "client": {"id": "Q2xpZW50LzE=", "firstName": "Ana", "lastName": "Diaz",
                       "companyName": null,
                       "phones": [{"number": "512-555-0100", "primary": true, "smsAllowed": true}],
                       "emails": [{"address": "ana@example.com", "primary": true}]},
            "jobs": {"nodes": [{"id": "Sm9iLzQ="}]}}});
        let item =
            JobberItem::Invoice(JobberId::parse("SW52b2ljZS85").unwrap_or_else(|_| unreachable!()));
        let Ok(Some(JobberRecord::Invoice(invoice))) = record(&item, &data) else {
            unreachable!("the invoice reads");
        };
        assert_eq!(invoice.total_cents, 35_025);
        assert_eq!(invoice.invoice_status, "paid");
        assert_eq!(
            invoice.job_id.as_ref().map(JobberId::as_str),
            Some("Sm9iLzQ=")
        );
        assert_eq!(invoice.client.phone(), Some(("512-555-0100", true)));
        assert_eq!(record(&item, &json!({"invoice": null})).ok(), Some(None));
    }

    #[test]
    fn a_visit_reads_as_its_job_and_a_payment_as_its_invoice() {
        let client = json!({"id": "Q2xpZW50LzE=", "firstName": "Ana", "lastName": "Diaz",
                            "phones": [], "emails": []});
        let job = json!({"id": "Sm9iLzQ=", "jobStatus": "requires_invoicing",
                         "completedAt": "2026-12-03T10:00:00Z", "total": 120.5, "client": client});
        let visit =
            JobberItem::Visit(JobberId::parse("VmlzaXQvMg==").unwrap_or_else(|_| unreachable!()));
        let Ok(Some(JobberRecord::Job(read))) = record(&visit, &json!({"visit": {"job": job}}))
        else {
            unreachable!("the visit's job reads");
        };
        assert_eq!(
            (read.job_status.as_str(), read.total_cents),
            ("requires_invoicing", 12_050)
        );
        let payment =
            JobberItem::Payment(JobberId::parse("UGF5LzM=").unwrap_or_else(|_| unreachable!()));
        let invoice = json!({"id": "SW52b2ljZS85", "invoiceStatus": "paid",
                             "amounts": {"total": 120.5}, "client": client, "jobs": {"nodes": []}});
        let Ok(Some(JobberRecord::Invoice(read))) =
            record(&payment, &json!({"paymentRecord": {"invoice": invoice}}))
        else {
            unreachable!("the payment's invoice reads");
        };
        assert_eq!(read.job_id, None);
        assert_eq!(read.total_cents, 12_050);
        // A payment recorded against no invoice: nothing to apply.
        assert_eq!(
            record(&payment, &json!({"paymentRecord": {"invoice": null}})).ok(),
            Some(None)
        );
        // A shape that does not read is refused, not guessed.
        assert!(matches!(
            record(&payment, &json!({"paymentRecord": {"invoice": {"id": 5}}})),
            Err(JobberFailure::Refused(_))
        ));
    }

    #[test]
    fn an_access_token_lapses_at_its_exp() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"exp":1796300000,"account_id":1}"#);
        let token = format!("eyJhbGciOiJIUzI1NiJ9.{claims}.c2ln");
        assert_eq!(expires_at(&token).timestamp(), 1_796_300_000);
        assert!(expires_at("opaque") > Utc::now());
    }
}
