//! A local stand-in for Jobber (the field-service job software) that `make dev` and the tests
//! point the Jobber integration at. It speaks Jobber's real API shapes:
//!
//! - OAuth 2.0, authorization code grant: `GET /api/oauth/authorize` auto-approves as the admin
//!   of the stand-in's one account and redirects to `{redirect_uri}?code=..&state=..`;
//!   `POST /api/oauth/token` (form-encoded) exchanges a code or a refresh token for
//!   `{"access_token", "refresh_token"}` and nothing else (Jobber gives no `expires_in`: the
//!   access token is a JWT whose payload carries `exp`, an hour ahead). Refresh tokens rotate:
//!   a used one is refused afterwards, while the access token issued with it lives out its hour.
//! - GraphQL: `POST /api/graphql` with `Authorization: Bearer ..` and
//!   `X-JOBBER-GRAPHQL-VERSION`, against a real (parsed and validated) subset of Jobber's public
//!   schema: `account`, `client`, `job`, `invoice`, `request`, `visit` and `paymentRecord`, with
//!   Jobber's type, field and enum value names. A missing item is `null`, not an error. Every
//!   answer carries Jobber's `extensions.cost` with its throttle status.
//! - Webhooks: Jobber's JSON body `{"data":{"webHookEvent":{"topic","appId","accountId",
//!   "itemId","occurredAt"}}}` POSTed (plain HTTP, loopback only) to the app's webhook URL,
//!   signed in `X-Jobber-Hmac-SHA256` (base64 of HMAC-SHA256 over the raw body, keyed with the
//!   app's client secret).
//!
//! Ids are Jobber's EncodedIds: base64 (standard, padded) of `gid://Jobber/Client/123` and so on.
//!
//! Tests drive it through [`Running`] (`add_*` methods that change the data without firing
//! webhooks, `fire*` to deliver them, and faults: throttling, 503s, expired and revoked tokens).
//! A demo script drives it over HTTP: `POST /_standin/clients`, `/_standin/requests`,
//! `/_standin/jobs`, `/_standin/jobs/{id}/status`, `/_standin/visits`,
//! `/_standin/visits/{id}/complete`, `/_standin/invoices`, `/_standin/invoices/{id}/pay`,
//! `/_standin/faults` and `/_standin/disconnect`; those that change data fire the webhook Jobber
//! would and answer the status Vouch gave it as `webhook_status` (`null` without a webhook URL).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::Rng as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

use schema::{InvoiceStatus, JobStatus};

/// The OAuth client id of the app Vouch is registered as in `make dev`.
pub const DEV_CLIENT_ID: &str = "vouch-dev-jobber-app";
/// The OAuth client secret (and webhook signing key) of that app in `make dev` (not a secret).
pub const DEV_CLIENT_SECRET: &str = "vouch-dev-jobber-client-secret";

/// The account's name unless [`Running::set_account_name`] changes it.
pub const DEFAULT_ACCOUNT_NAME: &str = "Riverside Plumbing (stand-in)";

/// What an access token is good for: an hour, as Jobber's.
const ACCESS_TOKEN_LIFETIME_SECS: i64 = 60 * 60;
/// What an authorization code is good for.
const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Jobber's query cost leaky bucket, as its `throttleStatus` reports it.
const MAXIMUM_AVAILABLE: f64 = 10_000.0;
const RESTORE_RATE: f64 = 500.0;
/// Every query costs this much here (Jobber computes it from the query).
const QUERY_COST: f64 = 20.0;
/// How long a webhook delivery may take before the stand-in gives up on it.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The account's UTC offset, which webhooks' `occurredAt` is written in (as Jobber does, in the
/// account's time zone): US Central standard time.
const ACCOUNT_UTC_OFFSET_SECS: i32 = -6 * 60 * 60;
const THROTTLE_DOCS: &str =
    "https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits";
const DISCONNECTED: &str =
    "User has disconnected this app from their account. Please delete this token";

/// The Jobber app Vouch is registered as: its OAuth client credentials. The secret also signs
/// webhooks.
#[derive(Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: String,
}

impl App {
    /// The app `make dev` uses: [`DEV_CLIENT_ID`] and [`DEV_CLIENT_SECRET`].
    pub fn dev() -> Self {
        Self {
            client_id: DEV_CLIENT_ID.to_owned(),
            client_secret: DEV_CLIENT_SECRET.to_owned(),
        }
    }
}

/// Jobber's EncodedId of item `number` of `kind` (`Client`, `Job`...).
fn encoded_id(kind: &str, number: u64) -> String {
    STANDARD.encode(format!("gid://Jobber/{kind}/{number}"))
}

/// A random URL-safe token of `bytes` random bytes.
fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill(buffer.as_mut_slice());
    URL_SAFE_NO_PAD.encode(buffer)
}

fn cents_to_dollars(cents: i64) -> f64 {
    // Money is a Float in Jobber's schema; cents fit an f64 exactly at any realistic amount.
    #[allow(clippy::cast_precision_loss)]
    let cents = cents as f64;
    cents / 100.0
}

#[derive(Clone)]
struct ClientRec {
    id: String,
    first_name: String,
    last_name: String,
    company_name: Option<String>,
    phones: Vec<schema::ClientPhoneNumber>,
    emails: Vec<schema::Email>,
    updated_at: DateTime<Utc>,
}

#[derive(Clone)]
struct JobRec {
    id: String,
    number: i32,
    title: Option<String>,
    status: JobStatus,
    completed_at: Option<DateTime<Utc>>,
    total_cents: i64,
    client: String,
    updated_at: DateTime<Utc>,
}

#[derive(Clone)]
struct InvoiceRec {
    id: String,
    number: String,
    status: InvoiceStatus,
    total_cents: i64,
    paid_cents: i64,
    client: String,
    jobs: Vec<String>,
    updated_at: DateTime<Utc>,
}

#[derive(Clone)]
struct RequestRec {
    id: String,
    title: Option<String>,
    client: Option<String>,
    referring_client: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Clone)]
struct VisitRec {
    id: String,
    completed_at: Option<DateTime<Utc>>,
    job: String,
}

#[derive(Clone)]
struct PaymentRec {
    id: String,
    amount_cents: i64,
    invoice: Option<String>,
    entry_date: DateTime<Utc>,
}

/// An authorization code waiting to be exchanged.
struct Grant {
    client_id: String,
    redirect_uri: String,
    expires: Instant,
}

/// Everything the stand-in knows: the account's data, the OAuth state and the faults set.
struct Data {
    account_name: String,
    /// The last number given to each kind of item.
    numbers: HashMap<&'static str, u64>,
    clients: BTreeMap<String, ClientRec>,
    jobs: BTreeMap<String, JobRec>,
    invoices: BTreeMap<String, InvoiceRec>,
    requests: BTreeMap<String, RequestRec>,
    visits: BTreeMap<String, VisitRec>,
    payments: BTreeMap<String, PaymentRec>,
    codes: HashMap<String, Grant>,
    /// Valid access tokens and their `exp` (unix seconds).
    access_tokens: HashMap<String, i64>,
    /// Refresh tokens not used yet.
    refresh_tokens: HashSet<String>,
    /// Access tokens revoked by a disconnect.
    disconnected: HashSet<String>,
    webhook_url: Option<String>,
    /// The query cost bucket: what was available at `refilled`.
    available: f64,
    refilled: Instant,
    throttle_next: u32,
    fail_next: u32,
    graphql_calls: u32,
    token_grants: Vec<String>,
}

impl Data {
    fn new(webhook_url: Option<String>) -> Self {
        Self {
            account_name: DEFAULT_ACCOUNT_NAME.to_owned(),
            numbers: HashMap::new(),
            clients: BTreeMap::new(),
            jobs: BTreeMap::new(),
            invoices: BTreeMap::new(),
            requests: BTreeMap::new(),
            visits: BTreeMap::new(),
            payments: BTreeMap::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            disconnected: HashSet::new(),
            webhook_url,
            available: MAXIMUM_AVAILABLE,
            refilled: Instant::now(),
            throttle_next: 0,
            fail_next: 0,
            graphql_calls: 0,
            token_grants: Vec::new(),
        }
    }

    /// The next number of a kind of item, and its EncodedId.
    fn next(&mut self, kind: &'static str) -> (u64, String) {
        let number = self.numbers.entry(kind).or_insert(0);
        *number += 1;
        (*number, encoded_id(kind, *number))
    }

    /// What the bucket holds now, refilled at the restore rate since it was last looked at.
    fn refill(&mut self) -> f64 {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.available = (self.available + elapsed * RESTORE_RATE).min(MAXIMUM_AVAILABLE);
        self.refilled = now;
        self.available
    }

    /// Issues a new access and refresh token pair.
    fn issue(&mut self, app: &App) -> (String, String) {
        let now = Utc::now().timestamp();
        let exp = now + ACCESS_TOKEN_LIFETIME_SECS;
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = json!({
            "sub": 1,
            "api_access_token": true,
            "app_id": app.client_id,
            "account_id": 1,
            "iat": now,
            "exp": exp,
            "jti": random_token(12),
        });
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        let access = format!("{header}.{payload}.{}", random_token(32));
        let refresh = random_token(32);
        self.access_tokens.insert(access.clone(), exp);
        self.refresh_tokens.insert(refresh.clone());
        (access, refresh)
    }
}

type Db = Arc<Mutex<Data>>;

/// The data, whoever held the lock before having panicked or not (it holds no invariants a
/// panic could break halfway).
fn lock(db: &Mutex<Data>) -> MutexGuard<'_, Data> {
    db.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The GraphQL schema subset, with Jobber's names.
mod schema {
    use async_graphql::{
        Context, EmptyMutation, EmptySubscription, Enum, InputValueError, InputValueResult, Object,
        Result, Scalar, ScalarType, Schema, SimpleObject, Value,
    };
    use chrono::{DateTime, SecondsFormat, Utc};

    use super::{
        ClientRec, Db, InvoiceRec, JobRec, PaymentRec, RequestRec, VisitRec, cents_to_dollars, lock,
    };

    pub(super) type JobberSchema = Schema<Query, EmptyMutation, EmptySubscription>;

    pub(super) fn build(db: Db) -> JobberSchema {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .data(db)
            .finish()
    }

    fn db<'a>(ctx: &'a Context<'_>) -> Result<&'a Db> {
        ctx.data::<Db>()
    }

    /// Jobber's opaque ids: base64 of a `gid://Jobber/...` URI.
    pub(super) struct EncodedId(pub(super) String);

    #[Scalar(name = "EncodedId")]
    impl ScalarType for EncodedId {
        fn parse(value: Value) -> InputValueResult<Self> {
            match value {
                Value::String(id) => Ok(Self(id)),
                other => Err(InputValueError::expected_type(other)),
            }
        }

        fn to_value(&self) -> Value {
            Value::String(self.0.clone())
        }
    }

    /// An RFC 3339 instant, as Jobber's `ISO8601DateTime`.
    pub(super) struct Iso8601DateTime(pub(super) DateTime<Utc>);

    #[Scalar(name = "ISO8601DateTime")]
    impl ScalarType for Iso8601DateTime {
        fn parse(value: Value) -> InputValueResult<Self> {
            match &value {
                Value::String(text) => DateTime::parse_from_rfc3339(text)
                    .map(|at| Self(at.with_timezone(&Utc)))
                    .map_err(|_| InputValueError::custom("not an ISO 8601 date and time")),
                _ => Err(InputValueError::expected_type(value)),
            }
        }

        fn to_value(&self) -> Value {
            Value::String(self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
        }
    }

    fn at(instant: DateTime<Utc>) -> Iso8601DateTime {
        Iso8601DateTime(instant)
    }

    #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
    #[graphql(name = "JobStatusTypeEnum", rename_items = "snake_case")]
    pub(super) enum JobStatus {
        RequiresInvoicing,
        Archived,
        Late,
        Today,
        Upcoming,
        ActionRequired,
        OnHold,
        Unscheduled,
        Active,
    }

    impl JobStatus {
        /// The status Jobber spells `name`.
        pub(super) fn from_name(name: &str) -> Option<Self> {
            Some(match name {
                "requires_invoicing" => Self::RequiresInvoicing,
                "archived" => Self::Archived,
                "late" => Self::Late,
                "today" => Self::Today,
                "upcoming" => Self::Upcoming,
                "action_required" => Self::ActionRequired,
                "on_hold" => Self::OnHold,
                "unscheduled" => Self::Unscheduled,
                "active" => Self::Active,
                _ => return None,
            })
        }
    }

    #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
    #[graphql(name = "InvoiceStatusTypeEnum", rename_items = "snake_case")]
    pub(super) enum InvoiceStatus {
        Draft,
        AwaitingPayment,
        Paid,
        PastDue,
        BadDebt,
    }

    pub(super) struct Query;

    #[Object]
    impl Query {
        async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
            let name = lock(db(ctx)?).account_name.clone();
            Ok(Account { name })
        }

        async fn client(&self, ctx: &Context<'_>, id: EncodedId) -> Result<Option<Client>> {
            Ok(lock(db(ctx)?).clients.get(&id.0).cloned().map(Client))
        }

        async fn job(&self, ctx: &Context<'_>, id: EncodedId) -> Result<Option<Job>> {
            Ok(lock(db(ctx)?).jobs.get(&id.0).cloned().map(Job))
        }

        async fn invoice(&self, ctx: &Context<'_>, id: EncodedId) -> Result<Option<Invoice>> {
            Ok(lock(db(ctx)?).invoices.get(&id.0).cloned().map(Invoice))
        }

        async fn request(&self, ctx: &Context<'_>, id: EncodedId) -> Result<Option<Request>> {
            Ok(lock(db(ctx)?).requests.get(&id.0).cloned().map(Request))
        }

        async fn visit(&self, ctx: &Context<'_>, id: EncodedId) -> Result<Option<Visit>> {
            Ok(lock(db(ctx)?).visits.get(&id.0).cloned().map(Visit))
        }

        async fn payment_record(
            &self,
            ctx: &Context<'_>,
            id: EncodedId,
        ) -> Result<Option<PaymentRecord>> {
            Ok(lock(db(ctx)?)
                .payments
                .get(&id.0)
                .cloned()
                .map(PaymentRecord))
        }
    }

    pub(super) struct Account {
        name: String,
    }

    #[Object]
    impl Account {
        async fn id(&self) -> EncodedId {
            EncodedId(super::encoded_id("Account", 1))
        }

        async fn name(&self) -> &str {
            &self.name
        }
    }

    #[derive(SimpleObject, Clone)]
    pub(super) struct ClientPhoneNumber {
        pub(super) number: String,
        pub(super) primary: bool,
        pub(super) sms_allowed: bool,
        pub(super) description: String,
    }

    #[derive(SimpleObject, Clone)]
    pub(super) struct Email {
        pub(super) address: String,
        pub(super) primary: bool,
        pub(super) description: String,
    }

    /// A client of the account, looked up by id (an error, as a broken non-null field, when the
    /// data points at one that does not exist).
    fn client_by_id(ctx: &Context<'_>, id: &str) -> Result<Client> {
        lock(db(ctx)?)
            .clients
            .get(id)
            .cloned()
            .map(Client)
            .ok_or_else(|| format!("Client {id} not found").into())
    }

    pub(super) struct Client(ClientRec);

    #[Object]
    impl Client {
        async fn id(&self) -> EncodedId {
            EncodedId(self.0.id.clone())
        }

        async fn first_name(&self) -> &str {
            &self.0.first_name
        }

        async fn last_name(&self) -> &str {
            &self.0.last_name
        }

        async fn company_name(&self) -> Option<&str> {
            self.0.company_name.as_deref()
        }

        async fn is_company(&self) -> bool {
            self.0.company_name.is_some()
        }

        async fn phones(&self) -> Vec<ClientPhoneNumber> {
            self.0.phones.clone()
        }

        async fn emails(&self) -> Vec<Email> {
            self.0.emails.clone()
        }

        async fn updated_at(&self) -> Iso8601DateTime {
            at(self.0.updated_at)
        }
    }

    pub(super) struct Job(JobRec);

    #[Object]
    impl Job {
        async fn id(&self) -> EncodedId {
            EncodedId(self.0.id.clone())
        }

        async fn job_number(&self) -> i32 {
            self.0.number
        }

        async fn title(&self) -> Option<&str> {
            self.0.title.as_deref()
        }

        async fn job_status(&self) -> JobStatus {
            self.0.status
        }

        async fn completed_at(&self) -> Option<Iso8601DateTime> {
            self.0.completed_at.map(at)
        }

        async fn total(&self) -> f64 {
            cents_to_dollars(self.0.total_cents)
        }

        async fn client(&self, ctx: &Context<'_>) -> Result<Client> {
            client_by_id(ctx, &self.0.client)
        }

        async fn updated_at(&self) -> Iso8601DateTime {
            at(self.0.updated_at)
        }
    }

    #[derive(SimpleObject)]
    pub(super) struct InvoiceAmounts {
        total: f64,
        invoice_balance: f64,
        payments_total: f64,
    }

    #[derive(SimpleObject)]
    pub(super) struct JobConnection {
        nodes: Vec<Job>,
        total_count: i32,
    }

    pub(super) struct Invoice(InvoiceRec);

    #[Object]
    impl Invoice {
        async fn id(&self) -> EncodedId {
            EncodedId(self.0.id.clone())
        }

        async fn invoice_number(&self) -> &str {
            &self.0.number
        }

        async fn invoice_status(&self) -> InvoiceStatus {
            self.0.status
        }

        async fn amounts(&self) -> InvoiceAmounts {
            InvoiceAmounts {
                total: cents_to_dollars(self.0.total_cents),
                invoice_balance: cents_to_dollars(self.0.total_cents - self.0.paid_cents),
                payments_total: cents_to_dollars(self.0.paid_cents),
            }
        }

        async fn client(&self, ctx: &Context<'_>) -> Result<Client> {
            client_by_id(ctx, &self.0.client)
        }

        async fn jobs(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<JobConnection> {
            let data = lock(db(ctx)?);
            let all: Vec<Job> = self
                .0
                .jobs
                .iter()
                .filter_map(|id| data.jobs.get(id).cloned().map(Job))
                .collect();
            let total_count = i32::try_from(all.len()).unwrap_or(i32::MAX);
            let take = first.map_or(all.len(), |n| usize::try_from(n).unwrap_or(0));
            Ok(JobConnection {
                nodes: all.into_iter().take(take).collect(),
                total_count,
            })
        }

        async fn updated_at(&self) -> Iso8601DateTime {
            at(self.0.updated_at)
        }
    }

    pub(super) struct Request(RequestRec);

    #[Object]
    impl Request {
        async fn id(&self) -> EncodedId {
            EncodedId(self.0.id.clone())
        }

        async fn title(&self) -> Option<&str> {
            self.0.title.as_deref()
        }

        async fn client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
            let data = lock(db(ctx)?);
            Ok(self
                .0
                .client
                .as_ref()
                .and_then(|id| data.clients.get(id).cloned().map(Client)))
        }

        async fn referring_client(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
            let data = lock(db(ctx)?);
            Ok(self
                .0
                .referring_client
                .as_ref()
                .and_then(|id| data.clients.get(id).cloned().map(Client)))
        }

        async fn created_at(&self) -> Iso8601DateTime {
            at(self.0.created_at)
        }

        async fn updated_at(&self) -> Iso8601DateTime {
            at(self.0.updated_at)
        }
    }

    pub(super) struct Visit(VisitRec);

    #[Object]
    impl Visit {
        async fn id(&self) -> EncodedId {
            EncodedId(self.0.id.clone())
        }

        async fn completed_at(&self) -> Option<Iso8601DateTime> {
            self.0.completed_at.map(at)
        }

        async fn job(&self, ctx: &Context<'_>) -> Result<Job> {
            let id = &self.0.job;
            lock(db(ctx)?)
                .jobs
                .get(id)
                .cloned()
                .map(Job)
                .ok_or_else(|| format!("Job {id} not found").into())
        }
    }

    pub(super) struct PaymentRecord(PaymentRec);

    #[Object]
    impl PaymentRecord {
        async fn id(&self) -> EncodedId {
            EncodedId(self.0.id.clone())
        }

        async fn amount(&self) -> f64 {
            cents_to_dollars(self.0.amount_cents)
        }

        async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Invoice>> {
            let data = lock(db(ctx)?);
            Ok(self
                .0
                .invoice
                .as_ref()
                .and_then(|id| data.invoices.get(id).cloned().map(Invoice)))
        }

        async fn entry_date(&self) -> Iso8601DateTime {
            at(self.0.entry_date)
        }
    }
}

struct Inner {
    app: App,
    db: Db,
    schema: schema::JobberSchema,
    http: HttpClient<HttpConnector, Full<Bytes>>,
}

/// A running stand-in: its base URL (`http://127.0.0.1:PORT`), and handles on its data and
/// faults for tests.
#[derive(Clone)]
pub struct Running {
    pub base: String,
    inner: Arc<Inner>,
}

/// Serves the stand-in on `listener` until the process ends, for `app`, delivering webhooks to
/// `webhook_url` (none until [`Running::set_webhook_url`] when `None`).
pub fn spawn(
    listener: TcpListener,
    app: App,
    webhook_url: Option<String>,
) -> anyhow::Result<Running> {
    let base = format!("http://{}", listener.local_addr()?);
    if let Some(url) = &webhook_url {
        loopback_uri(url)?;
    }
    let db: Db = Arc::new(Mutex::new(Data::new(webhook_url)));
    let running = Running {
        base,
        inner: Arc::new(Inner {
            app,
            schema: schema::build(db.clone()),
            db,
            http: HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new()),
        }),
    };
    let router = routes(running.clone());
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::warn!(error = %err, "the Jobber stand-in stopped");
        }
    });
    Ok(running)
}

fn routes(state: Running) -> Router {
    Router::new()
        .route("/api/oauth/authorize", get(authorize))
        .route("/api/oauth/token", post(token))
        .route("/api/graphql", post(graphql))
        .route("/_standin/clients", post(standin_client))
        .route("/_standin/requests", post(standin_request))
        .route("/_standin/jobs", post(standin_job))
        .route("/_standin/jobs/{id}/status", post(standin_job_status))
        .route("/_standin/visits", post(standin_visit))
        .route(
            "/_standin/visits/{id}/complete",
            post(standin_complete_visit),
        )
        .route("/_standin/invoices", post(standin_invoice))
        .route("/_standin/invoices/{id}/pay", post(standin_pay))
        .route("/_standin/faults", post(standin_faults))
        .route("/_standin/disconnect", post(standin_disconnect))
        .with_state(state)
}

/// `url` as a URI the stand-in may deliver to: plain HTTP to a loopback address.
fn loopback_uri(url: &str) -> anyhow::Result<hyper::Uri> {
    let uri: hyper::Uri = url
        .parse()
        .with_context(|| format!("the webhook URL {url:?} is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        bail!("the Jobber stand-in delivers webhooks over plain http only, not to {url}");
    }
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("the Jobber stand-in delivers webhooks to loopback addresses only, not to {url}");
    }
    Ok(uri)
}

impl Running {
    fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.inner.db)
    }

    /// The GraphQL endpoint: `{base}/api/graphql`.
    pub fn api_url(&self) -> String {
        format!("{}/api/graphql", self.base)
    }

    /// The OAuth base: `{base}/api/oauth` (`/authorize` and `/token` below it).
    pub fn auth_url(&self) -> String {
        format!("{}/api/oauth", self.base)
    }

    /// The EncodedId of the stand-in's one account (`gid://Jobber/Account/1`).
    pub fn account_id(&self) -> String {
        encoded_id("Account", 1)
    }

    /// Renames the account (its `name` in GraphQL).
    pub fn set_account_name(&self, name: &str) {
        name.clone_into(&mut self.data().account_name);
    }

    /// Where webhooks go from now on.
    pub fn set_webhook_url(&self, url: &str) {
        self.data().webhook_url = Some(url.to_owned());
    }

    /// Adds a client (an individual, not a company), with the phone number (primary, described
    /// `Main`) and email address given, and returns its id. Fires nothing.
    pub fn add_client(
        &self,
        first: &str,
        last: &str,
        phone: Option<&str>,
        sms_allowed: bool,
        email: Option<&str>,
    ) -> String {
        let mut data = self.data();
        let (_, id) = data.next("Client");
        let client = ClientRec {
            id: id.clone(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            company_name: None,
            phones: phone
                .map(|number| schema::ClientPhoneNumber {
                    number: number.to_owned(),
                    primary: true,
                    sms_allowed,
                    description: "Main".to_owned(),
                })
                .into_iter()
                .collect(),
            emails: email
                .map(|address| schema::Email {
                    address: address.to_owned(),
                    primary: true,
                    description: "Main".to_owned(),
                })
                .into_iter()
                .collect(),
            updated_at: Utc::now(),
        };
        data.clients.insert(id.clone(), client);
        id
    }

    /// Adds a request from client `client_id`, naming `referring_client_id` as who referred
    /// them, and returns its id. Fires nothing.
    pub fn add_request(&self, client_id: &str, referring_client_id: Option<&str>) -> String {
        let mut data = self.data();
        let (_, id) = data.next("Request");
        let now = Utc::now();
        let request = RequestRec {
            id: id.clone(),
            title: Some("Service request".to_owned()),
            client: Some(client_id.to_owned()),
            referring_client: referring_client_id.map(str::to_owned),
            created_at: now,
            updated_at: now,
        };
        data.requests.insert(id.clone(), request);
        id
    }

    /// Adds an `upcoming` job for client `client_id` worth `total_cents`, and returns its id.
    /// Fires nothing.
    pub fn add_job(&self, client_id: &str, total_cents: i64) -> String {
        let mut data = self.data();
        let (number, id) = data.next("Job");
        let number = i32::try_from(number).unwrap_or(i32::MAX);
        let job = JobRec {
            id: id.clone(),
            number,
            title: Some(format!("Job #{number}")),
            status: JobStatus::Upcoming,
            completed_at: None,
            total_cents,
            client: client_id.to_owned(),
            updated_at: Utc::now(),
        };
        data.jobs.insert(id.clone(), job);
        id
    }

    /// Sets a job's status (as Jobber spells it: `requires_invoicing`, `archived`, `active`...).
    /// A job that becomes `requires_invoicing` or `archived` is completed now (unless it was
    /// already); any other status clears `completedAt`. An unknown job or status is ignored.
    /// Fires nothing.
    pub fn set_job_status(&self, job_id: &str, status: &str) {
        let Some(status) = JobStatus::from_name(status) else {
            tracing::warn!(status, "the Jobber stand-in knows no such job status");
            return;
        };
        let mut data = self.data();
        let Some(job) = data.jobs.get_mut(job_id) else {
            return;
        };
        let now = Utc::now();
        job.status = status;
        job.completed_at = match status {
            JobStatus::RequiresInvoicing | JobStatus::Archived => {
                Some(job.completed_at.unwrap_or(now))
            }
            _ => None,
        };
        job.updated_at = now;
    }

    /// Adds a visit (not completed) to job `job_id`, and returns its id. Fires nothing.
    pub fn add_visit(&self, job_id: &str) -> String {
        let mut data = self.data();
        let (_, id) = data.next("Visit");
        let visit = VisitRec {
            id: id.clone(),
            completed_at: None,
            job: job_id.to_owned(),
        };
        data.visits.insert(id.clone(), visit);
        id
    }

    /// Completes a visit now. Fires nothing.
    pub fn complete_visit(&self, visit_id: &str) {
        if let Some(visit) = self.data().visits.get_mut(visit_id) {
            visit.completed_at = Some(Utc::now());
        }
    }

    /// Adds an invoice (`awaiting_payment`) for job `job_id`, of the job's total, to the job's
    /// client, and returns its id. Fires nothing.
    pub fn add_invoice(&self, job_id: &str) -> String {
        let mut data = self.data();
        let (number, id) = data.next("Invoice");
        let (total_cents, client) = data
            .jobs
            .get(job_id)
            .map(|job| (job.total_cents, job.client.clone()))
            .unwrap_or_default();
        let invoice = InvoiceRec {
            id: id.clone(),
            number: number.to_string(),
            status: InvoiceStatus::AwaitingPayment,
            total_cents,
            paid_cents: 0,
            client,
            jobs: vec![job_id.to_owned()],
            updated_at: Utc::now(),
        };
        data.invoices.insert(id.clone(), invoice);
        id
    }

    /// Pays an invoice's balance in full: it becomes `paid`, with a payment record of the
    /// balance, whose id is returned (empty for an unknown invoice). Fires nothing.
    pub fn pay_invoice(&self, invoice_id: &str) -> String {
        let mut data = self.data();
        let now = Utc::now();
        let Some(invoice) = data.invoices.get_mut(invoice_id) else {
            return String::new();
        };
        let balance = invoice.total_cents - invoice.paid_cents;
        invoice.paid_cents = invoice.total_cents;
        invoice.status = InvoiceStatus::Paid;
        invoice.updated_at = now;
        let (_, id) = data.next("PaymentRecord");
        let payment = PaymentRec {
            id: id.clone(),
            amount_cents: balance,
            invoice: Some(invoice_id.to_owned()),
            entry_date: now,
        };
        data.payments.insert(id.clone(), payment);
        id
    }

    /// Delivers a `topic` webhook about `item_id`, occurred now, and answers the status Vouch
    /// answered it with.
    pub async fn fire(&self, topic: &str, item_id: &str) -> anyhow::Result<u16> {
        let offset = FixedOffset::east_opt(ACCOUNT_UTC_OFFSET_SECS)
            .ok_or_else(|| anyhow!("the account's UTC offset is out of range"))?;
        self.fire_at(topic, item_id, Utc::now().with_timezone(&offset))
            .await
    }

    /// Delivers a `topic` webhook about `item_id` that occurred at `occurred_at`.
    pub async fn fire_at(
        &self,
        topic: &str,
        item_id: &str,
        occurred_at: DateTime<FixedOffset>,
    ) -> anyhow::Result<u16> {
        let body = webhook_body(
            topic,
            &self.inner.app.client_id,
            &self.account_id(),
            item_id,
            occurred_at,
        );
        self.fire_raw("application/json", body.into_bytes()).await
    }

    /// Signs `body` as it is and POSTs it to the webhook URL with `content_type`: for bodies
    /// shaped by the test (older or malformed forms).
    pub async fn fire_raw(&self, content_type: &str, body: Vec<u8>) -> anyhow::Result<u16> {
        let url = self
            .data()
            .webhook_url
            .clone()
            .ok_or_else(|| anyhow!("the Jobber stand-in has no webhook URL"))?;
        let uri = loopback_uri(&url)?;
        let signature = self.sign(&body);
        let request = hyper::Request::post(uri)
            .header(header::CONTENT_TYPE, content_type)
            .header("X-Jobber-Hmac-SHA256", signature)
            .body(Full::new(Bytes::from(body)))
            .context("building the webhook request")?;
        let (status, _, _) = send(&self.inner.http, request)
            .await
            .with_context(|| format!("delivering a webhook to {url}"))?;
        Ok(status.as_u16())
    }

    /// The `X-Jobber-Hmac-SHA256` value for `body`: base64 of its HMAC-SHA256 keyed with the
    /// app's client secret.
    pub fn sign(&self, body: &[u8]) -> String {
        sign(&self.inner.app.client_secret, body)
    }

    /// The next `n` GraphQL calls are throttled (HTTP 200, a `THROTTLED` error, no data).
    pub fn throttle_next(&self, n: u32) {
        self.data().throttle_next = n;
    }

    /// The next `n` GraphQL calls answer 503.
    pub fn fail_next(&self, n: u32) {
        self.data().fail_next = n;
    }

    /// Every access token issued so far expires now, as if an hour had passed: the app must
    /// refresh.
    pub fn expire_access_tokens(&self) {
        let past = Utc::now().timestamp() - 1;
        for exp in self.data().access_tokens.values_mut() {
            *exp = (*exp).min(past);
        }
    }

    /// The account disconnects the app: every token is revoked (GraphQL answers 401 saying
    /// so; refresh tokens are refused) and `APP_DISCONNECT` is fired about the account.
    pub async fn disconnect(&self) -> anyhow::Result<u16> {
        self.revoke();
        self.fire("APP_DISCONNECT", &self.account_id()).await
    }

    fn revoke(&self) {
        let mut data = self.data();
        let revoked: Vec<String> = data.access_tokens.drain().map(|(token, _)| token).collect();
        data.disconnected.extend(revoked);
        data.refresh_tokens.clear();
        data.codes.clear();
    }

    /// How many GraphQL calls have been made (whatever they were answered).
    pub fn graphql_calls(&self) -> u32 {
        self.data().graphql_calls
    }

    /// The `grant_type` of each successful token call, in order.
    pub fn token_grants(&self) -> Vec<String> {
        self.data().token_grants.clone()
    }

    /// Fires `topic` about `item_id` if a webhook URL is set, recording the outcome in `out` as
    /// `{key}` (the status, or null) and, on a failed delivery, `{key}_error`.
    async fn deliver(&self, topic: &str, item_id: &str, out: &mut Map<String, Value>, key: &str) {
        if self.data().webhook_url.is_none() {
            out.insert(key.to_owned(), Value::Null);
            return;
        }
        match self.fire(topic, item_id).await {
            Ok(status) => {
                out.insert(key.to_owned(), json!(status));
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), topic, "a Jobber stand-in webhook failed");
                out.insert(key.to_owned(), Value::Null);
                out.insert(format!("{key}_error"), json!(format!("{err:#}")));
            }
        }
    }
}

/// Jobber's webhook body, keys in Jobber's order.
fn webhook_body(
    topic: &str,
    app_id: &str,
    account_id: &str,
    item_id: &str,
    occurred_at: DateTime<FixedOffset>,
) -> String {
    let text = |value: &str| Value::String(value.to_owned()).to_string();
    format!(
        r#"{{"data":{{"webHookEvent":{{"topic":{},"appId":{},"accountId":{},"itemId":{},"occurredAt":{}}}}}}}"#,
        text(topic),
        text(app_id),
        text(account_id),
        text(item_id),
        text(&occurred_at.to_rfc3339_opts(SecondsFormat::Secs, false)),
    )
}

fn sign(secret: &str, body: &[u8]) -> String {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map(|mut mac| {
            mac.update(body);
            STANDARD.encode(mac.finalize().into_bytes())
        })
        .unwrap_or_default()
}

/// Sends `request`, and answers the status, headers and whole body.
async fn send(
    client: &HttpClient<HttpConnector, Full<Bytes>>,
    request: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, HeaderMap, Bytes)> {
    let response = tokio::time::timeout(DELIVERY_TIMEOUT, client.request(request))
        .await
        .context("no answer in time")??;
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(DELIVERY_TIMEOUT, body.collect())
        .await
        .context("no whole answer in time")??
        .to_bytes();
    Ok((parts.status, parts.headers, body))
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// `GET /api/oauth/authorize`: the account's admin approves at once.
async fn authorize(State(state): State<Running>, RawQuery(query): RawQuery) -> Response {
    let params: HashMap<String, String> =
        match serde_urlencoded::from_str(query.as_deref().unwrap_or_default()) {
            Ok(params) => params,
            Err(err) => return bad_request(format!("The query string is malformed: {err}")),
        };
    let param = |name: &str| params.get(name).filter(|v| !v.is_empty()).cloned();
    let (Some(response_type), Some(client_id), Some(redirect_uri), Some(state_param)) = (
        param("response_type"),
        param("client_id"),
        param("redirect_uri"),
        param("state"),
    ) else {
        return bad_request(
            "Missing parameters: response_type, client_id, redirect_uri and state are required"
                .to_owned(),
        );
    };
    if response_type != "code" {
        return bad_request(format!(
            "Unsupported response_type {response_type:?}: only \"code\" is supported"
        ));
    }
    if client_id != state.inner.app.client_id {
        return bad_request(format!("Unknown client_id {client_id:?}: no such app"));
    }
    let mut location = match url::Url::parse(&redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.fragment().is_none() => url,
        _ => {
            return bad_request(format!(
                "The redirect_uri {redirect_uri:?} is not an absolute http(s) URL without a fragment"
            ));
        }
    };
    let code = random_token(24);
    state.data().codes.insert(
        code.clone(),
        Grant {
            client_id,
            redirect_uri,
            expires: Instant::now() + CODE_LIFETIME,
        },
    );
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state_param);
    match HeaderValue::from_str(location.as_str()) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => bad_request("The redirect_uri cannot be redirected to".to_owned()),
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

/// `POST /api/oauth/token`: a code or a refresh token for a new token pair.
async fn token(State(state): State<Running>, body: Bytes) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let app = &state.inner.app;
    if field("client_id") != app.client_id || field("client_secret") != app.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let grant_type = field("grant_type");
    let mut data = state.data();
    match grant_type {
        "authorization_code" => {
            let Some(grant) = data.codes.remove(field("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            if grant.expires < Instant::now()
                || grant.client_id != app.client_id
                || grant.redirect_uri != field("redirect_uri")
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
        }
        "refresh_token" => {
            if !data.refresh_tokens.remove(field("refresh_token")) {
                return oauth_error(StatusCode::UNAUTHORIZED, "invalid_grant");
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let (access_token, refresh_token) = data.issue(app);
    data.token_grants.push(grant_type.to_owned());
    Json(json!({"access_token": access_token, "refresh_token": refresh_token})).into_response()
}

fn message(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message}))).into_response()
}

/// Jobber's `extensions.cost` (in whole points, as Jobber writes them), with `available` left in
/// the bucket.
fn cost(actual: f64, available: f64) -> Value {
    let points = |value: f64| {
        // Points are small, non-negative and whole once floored: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        let points = value.max(0.0).floor() as i64;
        points
    };
    json!({
        "requestedQueryCost": points(QUERY_COST),
        "actualQueryCost": points(actual),
        "throttleStatus": {
            "maximumAvailable": points(MAXIMUM_AVAILABLE),
            "currentlyAvailable": points(available),
            "restoreRate": points(RESTORE_RATE),
        },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlBody {
    query: String,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    operation_name: Option<String>,
}

/// `POST /api/graphql`.
async fn graphql(State(state): State<Running>, headers: HeaderMap, body: Bytes) -> Response {
    let available = {
        let mut data = state.data();
        data.graphql_calls += 1;
        if data.fail_next > 0 {
            data.fail_next -= 1;
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable",
            );
        }
        let versioned = headers
            .get("x-jobber-graphql-version")
            .is_some_and(|v| !v.as_bytes().is_empty());
        if !versioned {
            return message(
                StatusCode::BAD_REQUEST,
                "X-JOBBER-GRAPHQL-VERSION header is required",
            );
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if data.disconnected.contains(bearer) {
            return message(StatusCode::UNAUTHORIZED, DISCONNECTED);
        }
        let now = Utc::now().timestamp();
        if data.access_tokens.get(bearer).is_none_or(|exp| *exp <= now) {
            return message(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let available = data.refill();
        if data.throttle_next > 0 || available < QUERY_COST {
            data.throttle_next = data.throttle_next.saturating_sub(1);
            return Json(json!({
                "errors": [{
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation_url": THROTTLE_DOCS},
                }],
                "extensions": {"cost": cost(0.0, 0.0)},
            }))
            .into_response();
        }
        data.available -= QUERY_COST;
        data.available
    };
    let body: GraphqlBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => {
            return message(
                StatusCode::BAD_REQUEST,
                &format!("The body is not a GraphQL request: {err}"),
            );
        }
    };
    let mut request = async_graphql::Request::new(body.query).variables(
        async_graphql::Variables::from_json(body.variables.unwrap_or(Value::Null)),
    );
    if let Some(name) = body.operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    let response = state.inner.schema.execute(request).await;
    let mut answer = match serde_json::to_value(&response) {
        Ok(Value::Object(answer)) => answer,
        _ => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    answer.insert(
        "extensions".to_owned(),
        json!({"cost": cost(QUERY_COST, available)}),
    );
    Json(Value::Object(answer)).into_response()
}

fn not_found(what: &str, id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"message": format!("No {what} {id}")})),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewClient {
    first_name: String,
    last_name: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    sms_allowed: bool,
    #[serde(default)]
    email: Option<String>,
}

async fn standin_client(State(state): State<Running>, Json(body): Json<NewClient>) -> Response {
    let id = state.add_client(
        &body.first_name,
        &body.last_name,
        body.phone.as_deref(),
        body.sms_allowed,
        body.email.as_deref(),
    );
    let mut out = Map::new();
    out.insert("id".to_owned(), json!(id));
    state
        .deliver("CLIENT_CREATE", &id, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewRequest {
    client_id: String,
    #[serde(default)]
    referring_client_id: Option<String>,
}

async fn standin_request(State(state): State<Running>, Json(body): Json<NewRequest>) -> Response {
    for id in std::iter::once(&body.client_id).chain(&body.referring_client_id) {
        if !state.data().clients.contains_key(id) {
            return not_found("client", id);
        }
    }
    let id = state.add_request(&body.client_id, body.referring_client_id.as_deref());
    let mut out = Map::new();
    out.insert("id".to_owned(), json!(id));
    state
        .deliver("REQUEST_CREATE", &id, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewJob {
    client_id: String,
    total_cents: i64,
}

async fn standin_job(State(state): State<Running>, Json(body): Json<NewJob>) -> Response {
    if !state.data().clients.contains_key(&body.client_id) {
        return not_found("client", &body.client_id);
    }
    let id = state.add_job(&body.client_id, body.total_cents);
    let mut out = Map::new();
    out.insert("id".to_owned(), json!(id));
    state
        .deliver("JOB_CREATE", &id, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

#[derive(Deserialize)]
struct NewStatus {
    status: String,
}

async fn standin_job_status(
    State(state): State<Running>,
    Path(id): Path<String>,
    Json(body): Json<NewStatus>,
) -> Response {
    if !state.data().jobs.contains_key(&id) {
        return not_found("job", &id);
    }
    if JobStatus::from_name(&body.status).is_none() {
        return message(
            StatusCode::BAD_REQUEST,
            &format!("No job status {:?}", body.status),
        );
    }
    state.set_job_status(&id, &body.status);
    let mut out = Map::new();
    out.insert("id".to_owned(), json!(id));
    state
        .deliver("JOB_UPDATE", &id, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewVisit {
    job_id: String,
}

async fn standin_visit(State(state): State<Running>, Json(body): Json<NewVisit>) -> Response {
    if !state.data().jobs.contains_key(&body.job_id) {
        return not_found("job", &body.job_id);
    }
    let id = state.add_visit(&body.job_id);
    Json(json!({"id": id})).into_response()
}

async fn standin_complete_visit(State(state): State<Running>, Path(id): Path<String>) -> Response {
    if !state.data().visits.contains_key(&id) {
        return not_found("visit", &id);
    }
    state.complete_visit(&id);
    let mut out = Map::new();
    out.insert("id".to_owned(), json!(id));
    state
        .deliver("VISIT_COMPLETE", &id, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewInvoice {
    job_id: String,
}

async fn standin_invoice(State(state): State<Running>, Json(body): Json<NewInvoice>) -> Response {
    if !state.data().jobs.contains_key(&body.job_id) {
        return not_found("job", &body.job_id);
    }
    let id = state.add_invoice(&body.job_id);
    let mut out = Map::new();
    out.insert("id".to_owned(), json!(id));
    state
        .deliver("INVOICE_CREATE", &id, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

async fn standin_pay(State(state): State<Running>, Path(id): Path<String>) -> Response {
    match state.data().invoices.get(&id).map(|invoice| invoice.status) {
        None => return not_found("invoice", &id),
        Some(InvoiceStatus::Paid) => {
            return message(
                StatusCode::CONFLICT,
                &format!("Invoice {id} is paid already"),
            );
        }
        Some(_) => {}
    }
    let payment = state.pay_invoice(&id);
    let mut out = Map::new();
    out.insert("paymentId".to_owned(), json!(payment));
    state
        .deliver("INVOICE_UPDATE", &id, &mut out, "webhook_status")
        .await;
    state
        .deliver(
            "PAYMENT_CREATE",
            &payment,
            &mut out,
            "payment_webhook_status",
        )
        .await;
    Json(out).into_response()
}

#[derive(Deserialize)]
struct Faults {
    #[serde(default)]
    throttle_next: Option<u32>,
    #[serde(default)]
    fail_next: Option<u32>,
    #[serde(default)]
    expire_access_tokens: bool,
}

async fn standin_faults(State(state): State<Running>, Json(body): Json<Faults>) -> Response {
    if let Some(n) = body.throttle_next {
        state.throttle_next(n);
    }
    if let Some(n) = body.fail_next {
        state.fail_next(n);
    }
    if body.expire_access_tokens {
        state.expire_access_tokens();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn standin_disconnect(State(state): State<Running>) -> Response {
    state.revoke();
    let mut out = Map::new();
    let account = state.account_id();
    state
        .deliver("APP_DISCONNECT", &account, &mut out, "webhook_status")
        .await;
    Json(out).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const REDIRECT: &str = "http://127.0.0.1:9/jobber/callback?from=settings";

    async fn stand_in(webhook_url: Option<String>) -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        spawn(listener, App::dev(), webhook_url).unwrap()
    }

    /// A request to the stand-in: status, headers and body.
    async fn call(
        running: &Running,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut request = hyper::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        send(&running.inner.http, request).await.unwrap()
    }

    fn json_of(body: &Bytes) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    async fn authorize_code(running: &Running, state: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", DEV_CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("state", state),
        ])
        .unwrap();
        let url = format!("{}/authorize?{query}", running.auth_url());
        let (status, headers, _) = call(running, "GET", &url, &[], "").await;
        assert_eq!(status, StatusCode::FOUND);
        let location = url::Url::parse(headers[header::LOCATION].to_str().unwrap()).unwrap();
        assert!(
            location
                .as_str()
                .starts_with("http://127.0.0.1:9/jobber/callback?")
        );
        let pairs: HashMap<String, String> = location.query_pairs().into_owned().collect();
        assert_eq!(pairs["from"], "settings");
        assert_eq!(pairs["state"], state);
        pairs["code"].clone()
    }

    async fn token_call(running: &Running, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = serde_urlencoded::to_string(form).unwrap();
        let url = format!("{}/token", running.auth_url());
        let content_type = [("content-type", "application/x-www-form-urlencoded")];
        let (status, _, body) = call(running, "POST", &url, &content_type, &body).await;
        (status, json_of(&body))
    }

    async fn exchange(running: &Running, code: &str) -> (StatusCode, Value) {
        token_call(
            running,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await
    }

    async fn refresh(running: &Running, refresh_token: &str) -> (StatusCode, Value) {
        token_call(
            running,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", DEV_CLIENT_SECRET),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Connects the app: the access and refresh tokens.
    async fn connect(running: &Running) -> (String, String) {
        let code = authorize_code(running, "s").await;
        let (status, tokens) = exchange(running, &code).await;
        assert_eq!(status, StatusCode::OK);
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            tokens["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn query(running: &Running, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("authorization", bearer.as_str()),
            ("x-jobber-graphql-version", "2025-01-20"),
            ("content-type", "application/json"),
        ];
        let body = json!({"query": query, "variables": variables}).to_string();
        let (status, _, body) = call(running, "POST", &running.api_url(), &headers, &body).await;
        (status.as_u16(), json_of(&body))
    }

    #[tokio::test]
    async fn the_oauth_dance_issues_jwt_tokens_and_rotates_refresh_tokens() {
        let running = stand_in(None).await;
        let code = authorize_code(&running, "csrf token/+=").await;

        let (status, tokens) = exchange(&running, &code).await;
        assert_eq!(status, StatusCode::OK);
        let keys: Vec<&String> = tokens.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["access_token", "refresh_token"]);
        let access = tokens["access_token"].as_str().unwrap();
        let parts: Vec<&str> = access.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let in_an_hour = Utc::now().timestamp() + 3600;
        assert!((payload["exp"].as_i64().unwrap() - in_an_hour).abs() < 5);
        assert!(payload.get("account_id").is_some());

        // A code is good once.
        let (status, again) = exchange(&running, &code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(again["error"], "invalid_grant");

        let old_refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, rotated) = refresh(&running, old_refresh).await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
        assert_ne!(rotated["access_token"], tokens["access_token"]);
        let (status, refused) = refresh(&running, old_refresh).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused["error"], "invalid_grant");

        // The old access token lives out its hour.
        let (status, _) = query(&running, access, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 200);

        let (status, wrong) = token_call(
            &running,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", DEV_CLIENT_ID),
                ("client_secret", "not-the-secret"),
                ("refresh_token", rotated["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong["error"], "invalid_client");
        assert_eq!(
            running.token_grants(),
            ["authorization_code", "refresh_token"]
        );
    }

    #[tokio::test]
    async fn authorize_refuses_unknown_apps_and_missing_parameters() {
        let running = stand_in(None).await;
        let url = format!(
            "{}/authorize?response_type=code&client_id=someone-else&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&state=s",
            running.auth_url()
        );
        let (status, _, body) = call(&running, "GET", &url, &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&body).contains("client_id"));
        let url = format!(
            "{}/authorize?response_type=code&client_id={DEV_CLIENT_ID}",
            running.auth_url()
        );
        let (status, _, _) = call(&running, "GET", &url, &[], "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn graphql_answers_in_jobbers_shapes() {
        let running = stand_in(None).await;
        let (access, _) = connect(&running).await;
        let client = running.add_client(
            "Dana",
            "Reyes",
            Some("+15555550123"),
            true,
            Some("dana@example.com"),
        );
        let job = running.add_job(&client, 125_050);
        running.set_job_status(&job, "requires_invoicing");
        let invoice = running.add_invoice(&job);

        let (status, answer) = query(
            &running,
            &access,
            "query Lookup($id: EncodedId!, $job: EncodedId!, $invoice: EncodedId!) {
               account { id name }
               client(id: $id) {
                 id firstName lastName companyName isCompany updatedAt
                 phones { number primary smsAllowed description }
                 emails { address primary description }
               }
               job(id: $job) { jobNumber jobStatus completedAt total client { id } }
               invoice(id: $invoice) {
                 invoiceNumber invoiceStatus
                 amounts { total invoiceBalance paymentsTotal }
                 jobs(first: 5) { totalCount nodes { id } }
               }
             }",
            json!({"id": client, "job": job, "invoice": invoice}),
        )
        .await;
        assert_eq!(status, 200);
        assert!(answer.get("errors").is_none(), "{answer}");
        let data = &answer["data"];
        assert_eq!(
            data["account"]["id"],
            STANDARD.encode("gid://Jobber/Account/1")
        );
        assert_eq!(data["account"]["name"], DEFAULT_ACCOUNT_NAME);
        assert_eq!(client, STANDARD.encode("gid://Jobber/Client/1"));
        assert_eq!(data["client"]["firstName"], "Dana");
        assert_eq!(data["client"]["companyName"], Value::Null);
        assert_eq!(data["client"]["isCompany"], false);
        assert_eq!(
            data["client"]["phones"],
            json!([{"number": "+15555550123", "primary": true, "smsAllowed": true, "description": "Main"}])
        );
        assert_eq!(
            data["client"]["emails"],
            json!([{"address": "dana@example.com", "primary": true, "description": "Main"}])
        );
        assert!(
            DateTime::parse_from_rfc3339(data["client"]["updatedAt"].as_str().unwrap()).is_ok()
        );
        assert_eq!(data["job"]["jobStatus"], "requires_invoicing");
        assert!(data["job"]["completedAt"].is_string());
        assert_eq!(data["job"]["total"], 1250.5);
        assert_eq!(data["job"]["client"]["id"], client.as_str());
        assert_eq!(data["invoice"]["invoiceStatus"], "awaiting_payment");
        assert_eq!(data["invoice"]["amounts"]["invoiceBalance"], 1250.5);
        assert_eq!(data["invoice"]["jobs"]["totalCount"], 1);
        assert_eq!(data["invoice"]["jobs"]["nodes"][0]["id"], job.as_str());
        let cost = &answer["extensions"]["cost"];
        assert_eq!(cost["requestedQueryCost"], 20);
        assert_eq!(cost["actualQueryCost"], 20);
        assert_eq!(cost["throttleStatus"]["maximumAvailable"], 10_000);
        assert_eq!(cost["throttleStatus"]["restoreRate"], 500);
        let available = cost["throttleStatus"]["currentlyAvailable"].as_i64();
        assert!(available.unwrap() <= 9_980);

        let payment = running.pay_invoice(&invoice);
        let (_, answer) = query(
            &running,
            &access,
            "query($id: EncodedId!) { paymentRecord(id: $id) { amount invoice { invoiceStatus } } }",
            json!({"id": payment}),
        )
        .await;
        assert_eq!(answer["data"]["paymentRecord"]["amount"], 1250.5);
        assert_eq!(
            answer["data"]["paymentRecord"]["invoice"]["invoiceStatus"],
            "paid"
        );
    }

    #[test]
    fn the_schema_has_jobbers_names() {
        let sdl = schema::build(Arc::new(Mutex::new(Data::new(None)))).sdl();
        for line in [
            "paymentRecord(id: EncodedId!): PaymentRecord",
            "jobs(first: Int): JobConnection!",
            "jobStatus: JobStatusTypeEnum!",
            "\trequires_invoicing\n",
            "\tawaiting_payment\n",
            "scalar ISO8601DateTime",
            "phones: [ClientPhoneNumber!]!",
        ] {
            assert!(sdl.contains(line), "{line} is not in\n{sdl}");
        }
    }

    #[tokio::test]
    async fn graphql_answers_null_for_unknown_ids_and_validates_queries() {
        let running = stand_in(None).await;
        let (access, _) = connect(&running).await;
        let unknown = STANDARD.encode("gid://Jobber/Client/999");
        let (status, answer) = query(
            &running,
            &access,
            "query($id: EncodedId!) { client(id: $id) { id } request(id: $id) { id } }",
            json!({"id": unknown}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(answer["data"], json!({"client": null, "request": null}));
        assert!(answer.get("errors").is_none());

        let (status, answer) =
            query(&running, &access, "{ client { nickname } }", Value::Null).await;
        assert_eq!(status, 200);
        assert!(!answer["errors"].as_array().unwrap().is_empty());
    }

    #[tokio::test]
    async fn graphql_refuses_calls_without_a_version_or_a_live_token() {
        let running = stand_in(None).await;
        let (access, refresh_token) = connect(&running).await;
        let bearer = format!("Bearer {access}");
        let body = json!({"query": "{ account { id } }"}).to_string();
        let (status, _, answer) = call(
            &running,
            "POST",
            &running.api_url(),
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            &body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            json_of(&answer)["message"],
            "X-JOBBER-GRAPHQL-VERSION header is required"
        );

        running.expire_access_tokens();
        let (status, answer) = query(&running, &access, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 401);
        assert_eq!(answer["message"], "Unauthorized");
        let (status, fresh) = refresh(&running, &refresh_token).await;
        assert_eq!(status, StatusCode::OK);
        let fresh = fresh["access_token"].as_str().unwrap();
        let (status, _) = query(&running, fresh, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 200);

        let (status, answer) = query(&running, "made-up", "{ account { id } }", Value::Null).await;
        assert_eq!(status, 401);
        assert_eq!(answer["message"], "Unauthorized");
    }

    #[tokio::test]
    async fn faults_throttle_and_fail_the_next_calls() {
        let running = stand_in(None).await;
        let (access, _) = connect(&running).await;
        running.throttle_next(1);
        let (status, answer) = query(&running, &access, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 200);
        assert!(answer.get("data").is_none());
        assert_eq!(answer["errors"][0]["message"], "Throttled");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "THROTTLED");
        assert_eq!(
            answer["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"],
            0
        );

        running.fail_next(1);
        let (status, answer) = query(&running, &access, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 503);
        assert_eq!(answer["message"], "Service temporarily unavailable");

        let (status, answer) = query(&running, &access, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 200);
        assert!(answer["data"]["account"]["id"].is_string());
        assert_eq!(running.graphql_calls(), 3);
    }

    /// Records what webhooks reach it.
    async fn receiver() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
        let seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
        let record = seen.clone();
        let app = Router::new().route(
            "/webhooks/jobber",
            post(move |headers: HeaderMap, body: Bytes| {
                let record = record.clone();
                async move {
                    record.lock().unwrap().push((headers, body));
                    StatusCode::ACCEPTED
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/jobber", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    #[tokio::test]
    async fn webhooks_are_signed_with_the_client_secret() {
        let (url, seen) = receiver().await;
        let running = stand_in(None).await;
        let invoice = running.add_invoice("nothing");
        assert!(running.fire("INVOICE_UPDATE", &invoice).await.is_err());
        running.set_webhook_url(&url);
        assert_eq!(running.fire("INVOICE_UPDATE", &invoice).await.unwrap(), 202);

        let (headers, body) = seen.lock().unwrap()[0].clone();
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let signature = STANDARD
            .decode(headers["x-jobber-hmac-sha256"].as_bytes())
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(DEV_CLIENT_SECRET.as_bytes()).unwrap();
        mac.update(&body);
        mac.verify_slice(&signature).unwrap();

        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.starts_with(r#"{"data":{"webHookEvent":{"topic":"INVOICE_UPDATE","appId":"#));
        let event = &json_of(&body)["data"]["webHookEvent"];
        assert_eq!(event["appId"], DEV_CLIENT_ID);
        assert_eq!(event["accountId"], running.account_id());
        assert_eq!(event["itemId"], invoice.as_str());
        let occurred = event["occurredAt"].as_str().unwrap();
        assert!(occurred.ends_with("-06:00"), "{occurred}");
        assert!(DateTime::parse_from_rfc3339(occurred).is_ok());

        let form = b"payload=%7B%7D".to_vec();
        let status = running
            .fire_raw("application/x-www-form-urlencoded", form.clone())
            .await
            .unwrap();
        assert_eq!(status, 202);
        let (headers, body) = seen.lock().unwrap()[1].clone();
        assert_eq!(body.as_ref(), form.as_slice());
        assert_eq!(
            headers["x-jobber-hmac-sha256"],
            running.sign(&form).as_str()
        );
    }

    #[tokio::test]
    async fn disconnecting_revokes_tokens_and_tells_vouch() {
        let (url, seen) = receiver().await;
        let running = stand_in(Some(url)).await;
        let (access, refresh_token) = connect(&running).await;
        assert_eq!(running.disconnect().await.unwrap(), 202);
        let (status, answer) = query(&running, &access, "{ account { id } }", Value::Null).await;
        assert_eq!(status, 401);
        assert_eq!(answer["message"], DISCONNECTED);
        let (status, _) = refresh(&running, &refresh_token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (_, body) = seen.lock().unwrap()[0].clone();
        let event = &json_of(&body)["data"]["webHookEvent"];
        assert_eq!(event["topic"], "APP_DISCONNECT");
        assert_eq!(event["itemId"], running.account_id());
    }

    #[tokio::test]
    async fn the_demo_routes_change_data_and_fire() {
        let (url, seen) = receiver().await;
        let running = stand_in(Some(url)).await;
        let post = |path: &str, body: Value| {
            let running = running.clone();
            let url = format!("{}{path}", running.base);
            async move {
                let (status, _, body) = call(
                    &running,
                    "POST",
                    &url,
                    &[("content-type", "application/json")],
                    &body.to_string(),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
                json_of(&body)
            }
        };
        let client = post(
            "/_standin/clients",
            json!({"firstName": "Ana", "lastName": "Ng", "phone": "+15555550100", "smsAllowed": true}),
        )
        .await;
        assert_eq!(client["webhook_status"], 202);
        let client = client["id"].as_str().unwrap().to_owned();
        let job = post(
            "/_standin/jobs",
            json!({"clientId": client, "totalCents": 20_000}),
        )
        .await;
        let job = job["id"].as_str().unwrap().to_owned();
        post(
            &format!("/_standin/jobs/{job}/status"),
            json!({"status": "requires_invoicing"}),
        )
        .await;
        let invoice = post("/_standin/invoices", json!({"jobId": job})).await;
        let invoice = invoice["id"].as_str().unwrap().to_owned();
        let paid = post(&format!("/_standin/invoices/{invoice}/pay"), json!({})).await;
        assert_eq!(paid["webhook_status"], 202);
        assert_eq!(paid["payment_webhook_status"], 202);
        let topics: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| {
                json_of(body)["data"]["webHookEvent"]["topic"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            topics,
            [
                "CLIENT_CREATE",
                "JOB_CREATE",
                "JOB_UPDATE",
                "INVOICE_CREATE",
                "INVOICE_UPDATE",
                "PAYMENT_CREATE"
            ]
        );
    }
}
