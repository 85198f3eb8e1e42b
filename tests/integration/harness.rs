//! `spawn_app()`: the real adapters against the emulator, a fresh table per test, and helpers
//! to send requests through the same router the functions serve.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vouch_aws::{Config, DynamoStore, RequestCounter, wiring};
use vouch_http::{AppState, Web};

pub const OPERATOR_KEY: &str = "test-operator-key";
pub const IP_HASH_KEY: &str = "test-ip-hash-key";

/// A business's first monthly report for tests that create businesses through the store: due
/// far ahead, out of every other test's way.
pub fn first_report() -> (
    vouch_domain::model::report::Month,
    chrono::DateTime<chrono::Utc>,
) {
    let month = vouch_domain::model::report::Month::parse("2100-01").expect("a month");
    let due = chrono::DateTime::parse_from_rfc3339("2100-02-01T09:00:00Z")
        .expect("a time")
        .to_utc();
    (month, due)
}

pub fn endpoint() -> String {
    std::env::var("VOUCH_TEST_ENDPOINT").expect(
        "VOUCH_TEST_ENDPOINT is not set: run the suite with `make test`, which starts the emulator",
    )
}

pub struct TestApp {
    pub store: DynamoStore,
    pub requests: RequestCounter,
    pub eventbridge_requests: RequestCounter,
    pub events: vouch_aws::messaging::EventBridgePublisher,
    pub bus: String,
    pub router: Router,
    /// What the router serves with: for calling non-HTTP handlers (the issuer) directly.
    pub state: AppState,
    pub table: String,
    /// The test's own Tremendous stand-in.
    pub tremendous: vouch_local::tremendous::Running,
    /// The test's own Jobber stand-in (its app is `JOBBER_CLIENT_ID` / `JOBBER_CLIENT_SECRET`),
    /// and the read-back queue its webhooks fill.
    pub jobber: vouch_local::jobber::Running,
    pub read_backs: (aws_sdk_sqs::Client, String),
    config: Config,
    web: Web,
}

/// A Tremendous stand-in of the test's own, accepting `GIFT_CARD_KEY`.
async fn tremendous_stand_in() -> vouch_local::tremendous::Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the stand-in");
    vouch_local::tremendous::spawn(listener, vouch_domain::testing::GIFT_CARD_KEY)
        .expect("the stand-in")
}

pub const JOBBER_CLIENT_ID: &str = "test-jobber-app";
pub const JOBBER_CLIENT_SECRET: &str = "test-jobber-client-secret";

/// A Jobber stand-in of the test's own; its webhooks go nowhere until a test serves Vouch.
async fn jobber_stand_in() -> vouch_local::jobber::Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the stand-in");
    vouch_local::jobber::spawn(
        listener,
        vouch_local::jobber::App {
            client_id: JOBBER_CLIENT_ID.into(),
            client_secret: JOBBER_CLIENT_SECRET.into(),
        },
        None,
    )
    .expect("the stand-in")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Web::default()).await
}

pub async fn spawn_app_with(web: Web) -> TestApp {
    let table = format!("t-{}", ulid::Ulid::new());
    let tremendous = tremendous_stand_in().await;
    let jobber = jobber_stand_in().await;
    let read_backs = vouch_local::read_backs::create_queue(&endpoint(), &format!("rb-{table}"))
        .await
        .expect("the read-back queue");
    let config = Config {
        table: table.clone(),
        aws_endpoint: Some(endpoint()),
        operator_key: Some(OPERATOR_KEY.into()),
        ip_hash_key: IP_HASH_KEY.as_bytes().to_vec(),
        fallback_url: None,
        public_base_url: Some("https://go.vouch.test".into()),
        event_bus: format!("bus-{table}"),
        sms_origination_number: Some("+15550100000".into()),
        sms_sender_id: None,
        housecallpro_signature_header: None,
        housecallpro_timestamp_header: None,
        tremendous_api_url: tremendous.base.clone(),
        jobber_api_url: jobber.api_url(),
        jobber_auth_url: jobber.auth_url(),
        jobber_queue_url: Some(read_backs.1.clone()),
    };
    let app = wiring::application(&config).await;
    vouch_local::provision(&app, &table, &config.event_bus)
        .await
        .expect("provisioning the emulator");
    app.dynamodb_requests.reset();
    let (vouch, store, requests) = (app.vouch, app.store, app.dynamodb_requests);
    let (eventbridge_requests, events) = (app.eventbridge_requests, app.events);
    let web = Web {
        public_base_url: config.public_base_url.clone(),
        ..web
    };
    let state = AppState::new(vouch.clone(), web.clone());
    let router = vouch_local::router(state.clone());
    TestApp {
        store,
        requests,
        eventbridge_requests,
        events,
        bus: config.event_bus.clone(),
        router,
        state,
        table,
        tremendous,
        jobber,
        read_backs,
        config,
        web,
    }
}

/// `HH:MM` in UTC, `hours` from now.
fn quiet(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .format("%H:%M")
        .to_string()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through `router` as a client at 203.0.113.9 would.
pub async fn send(router: &Router, request: Request<Body>) -> Reply {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 9], 50_000))));
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("reading the body")
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub fn request(
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "go.vouch.test");
    if let Some(key) = bearer {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .expect("a valid request")
}

impl TestApp {
    /// Hands one bus event to the reward issuer's handler, as the Lambda function would.
    pub async fn issue(
        &self,
        event: aws_lambda_events::event::eventbridge::EventBridgeEvent<Value>,
    ) -> Result<vouch_domain::app::Issued, vouch_http::events::EventError> {
        let link_base = self.state.link_base(&HeaderMap::new());
        vouch_http::events::issuer::handle(&self.state.vouch, &link_base, event).await
    }

    /// Another instance over the same table, as a freshly started Lambda would be: own client,
    /// own request counter, empty caches.
    pub async fn new_instance(&self) -> TestApp {
        let app = wiring::application(&self.config).await;
        let (vouch, store, requests) = (app.vouch, app.store, app.dynamodb_requests);
        let (eventbridge_requests, events) = (app.eventbridge_requests, app.events);
        let state = AppState::new(vouch.clone(), self.web.clone());
        let router = vouch_local::router(state.clone());
        TestApp {
            store,
            requests,
            eventbridge_requests,
            events,
            bus: self.bus.clone(),
            router,
            state,
            table: self.table.clone(),
            tremendous: self.tremendous.clone(),
            jobber: self.jobber.clone(),
            read_backs: self.read_backs.clone(),
            config: self.config.clone(),
            web: self.web.clone(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        send(&self.router, request(method, path, bearer, body)).await
    }

    /// Creates a business through the operator API; returns (admin key, webhook secret).
    pub async fn create_business(&self, id: &str) -> (String, String) {
        let reply = self
            .call(
                Method::POST,
                "/api/operator/businesses",
                Some(OPERATOR_KEY),
                Some(json!({
                    "business_id": id, "name": format!("{id} Plumbing"),
                    "time_zone": "Etc/UTC", "landing_url": "https://acme.example/refer?lang=en",
                    // Quiet hours well away from now, so texts go at once whenever the suite runs.
                    "sms": {"quiet_start": quiet(6), "quiet_end": quiet(7)}
                })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        let body = reply.json();
        (
            body["admin_api_key"].as_str().unwrap().to_owned(),
            body["webhook_secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Enrols a customer through the admin API; returns the participant document.
    pub async fn enrol(
        &self,
        admin_key: &str,
        customer_id: &str,
        first: &str,
        last: &str,
    ) -> Value {
        let reply = self
            .call(
                Method::POST,
                "/api/admin/participants",
                Some(admin_key),
                Some(json!({"customer": {"id": customer_id, "first_name": first, "last_name": last, "phone": "(512) 555-0123"}})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()
    }
}

/// A JSON document the emulator serves (`/moto-api/data.json` lists the texts SNS "sent").
pub async fn emulator_json(path: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connecting to the emulator");
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writing");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("reading");
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Texts the emulator's SNS accepted whose body contains `needle`.
pub async fn texts_containing(needle: &str) -> Vec<(String, String)> {
    let data = emulator_json("/moto-api/data.json").await;
    data["sns"]["SMS"]
        .as_array()
        .map(|texts| {
            texts
                .iter()
                .filter(|t| t["message"].as_str().is_some_and(|m| m.contains(needle)))
                .map(|t| {
                    (
                        t["phone_number"].as_str().unwrap_or_default().to_owned(),
                        t["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
