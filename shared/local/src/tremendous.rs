//! A local stand-in for Tremendous's orders API (`make dev` and the tests point
//! `VOUCH_TREMENDOUS_API_URL` at it): `POST /api/v2/orders` and `GET /api/v2/orders/{id}` with
//! Tremendous's shapes — a bearer API key, `external_id` idempotency (the same key answers the
//! order placed before, with 201, and places nothing), `{"order": {...}}` answers, errors as
//! `{"errors": {"message", "payload"}}`. A new order is `EXECUTED` with its reward's delivery
//! `PENDING`; the card counts as delivered (`SUCCEEDED`) by the time it is looked up.
//!
//! For tests, `POST /_standin/faults` sets faults (`{"lose_answers": n}`: the next n orders
//! are placed but answered 504, as a timeout would; `{"refuse_next": "reason"}`: the next
//! order is refused with 422) and `GET /_standin/orders` lists every order placed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Default)]
struct Book {
    /// Orders by `external_id`.
    orders: BTreeMap<String, Value>,
    lose_answers: u32,
    refuse_next: Option<String>,
}

#[derive(Clone)]
struct StandIn {
    api_key: Arc<str>,
    book: Arc<Mutex<Book>>,
}

/// The API key the stand-in accepts in `make dev` (a sandbox-style key, not a secret).
pub const DEV_API_KEY: &str = "TEST_vouch-gift-cards-key";

fn routes(state: StandIn) -> Router {
    Router::new()
        .route("/api/v2/orders", post(create))
        .route("/api/v2/orders/{id}", get(show))
        .route("/_standin/faults", post(faults))
        .route("/_standin/orders", get(list))
        .with_state(state)
}

/// A running stand-in: its API base URL, and its order book for tests.
#[derive(Clone)]
pub struct Running {
    pub base: String,
    book: Arc<Mutex<Book>>,
}

impl Running {
    /// Every order placed, as the API shows them.
    pub fn orders(&self) -> Vec<Value> {
        self.book
            .lock()
            .map(|b| b.orders.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The next `n` orders are placed and answered 504.
    pub fn lose_answers(&self, n: u32) {
        if let Ok(mut book) = self.book.lock() {
            book.lose_answers = n;
        }
    }

    /// The next order is refused with 422 and this reason.
    pub fn refuse_next(&self, reason: &str) {
        if let Ok(mut book) = self.book.lock() {
            book.refuse_next = Some(reason.to_owned());
        }
    }
}

/// Serves the stand-in on `listener` until the process ends.
pub fn spawn(listener: TcpListener, api_key: &str) -> anyhow::Result<Running> {
    let base = format!("http://{}/api/v2", listener.local_addr()?);
    let state = StandIn {
        api_key: api_key.into(),
        book: Arc::default(),
    };
    let running = Running {
        base,
        book: state.book.clone(),
    };
    let app = routes(state);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::warn!(error = %err, "the Tremendous stand-in stopped");
        }
    });
    Ok(running)
}

fn error(status: StatusCode, message: &str, payload: Value) -> Response {
    (
        status,
        Json(json!({"errors": {"message": message, "payload": payload}})),
    )
        .into_response()
}

impl StandIn {
    /// The 401 for a request without the stand-in's key.
    fn refused(&self, headers: &HeaderMap) -> Option<Response> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        (bearer != Some(&*self.api_key)).then(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized: the API key is not valid",
                Value::Null,
            )
        })
    }
}

/// What a create-order body is missing, Tremendous-style.
fn invalid(body: &Value) -> Option<(&'static str, Value)> {
    let reward = &body["reward"];
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.trim().is_empty());
    if !text(&body["payment"]["funding_source_id"]) {
        return Some((
            "funding_source_id is missing",
            json!({"payment": {"funding_source_id": ["is missing"]}}),
        ));
    }
    if !body["external_id"].is_null() && !text(&body["external_id"]) {
        return Some((
            "external_id must be a string",
            json!({"external_id": ["is invalid"]}),
        ));
    }
    if !reward["value"]["denomination"]
        .as_f64()
        .is_some_and(|d| d > 0.0)
    {
        return Some((
            "denomination must be positive",
            json!({"reward": {"value": {"denomination": ["must be greater than 0"]}}}),
        ));
    }
    if !text(&reward["value"]["currency_code"]) || !text(&reward["recipient"]["name"]) {
        return Some((
            "currency_code and recipient name are required",
            json!({"reward": ["is invalid"]}),
        ));
    }
    let needs = match reward["delivery"]["method"].as_str() {
        Some("EMAIL") => "email",
        Some("PHONE") => "phone",
        Some("LINK") => "name",
        _ => {
            return Some((
                "delivery method must be EMAIL, LINK or PHONE",
                json!({"reward": {"delivery": {"method": ["is invalid"]}}}),
            ));
        }
    };
    if !text(&reward["recipient"][needs]) {
        return Some((
            "the recipient cannot be reached by that delivery method",
            json!({"reward": {"recipient": {needs: ["is missing"]}}}),
        ));
    }
    None
}

async fn create(
    State(state): State<StandIn>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = state.refused(&headers) {
        return refused;
    }
    if let Some((message, payload)) = invalid(&body) {
        return error(StatusCode::BAD_REQUEST, message, payload);
    }
    let Ok(mut book) = state.book.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(reason) = book.refuse_next.take() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &reason, Value::Null);
    }
    let external_id = body["external_id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    let number = book.orders.len() + 1;
    let order = book
        .orders
        .entry(external_id.clone())
        .or_insert_with(|| {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let reward = &body["reward"];
            json!({
                "id": format!("ORD{number:09}"),
                "external_id": external_id,
                "created_at": now,
                "status": "EXECUTED",
                "channel": "API",
                "payment": {"funding_source_id": body["payment"]["funding_source_id"]},
                "rewards": [{
                    "id": format!("REW{number:09}"),
                    "order_id": format!("ORD{number:09}"),
                    "created_at": now,
                    "value": reward["value"],
                    "recipient": reward["recipient"],
                    "delivery": {"method": reward["delivery"]["method"], "status": "PENDING"},
                    "campaign_id": reward["campaign_id"],
                }],
            })
        })
        .clone();
    if book.lose_answers > 0 {
        book.lose_answers -= 1;
        return error(StatusCode::GATEWAY_TIMEOUT, "upstream timeout", Value::Null);
    }
    (StatusCode::CREATED, Json(json!({"order": order}))).into_response()
}

async fn show(
    State(state): State<StandIn>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = state.refused(&headers) {
        return refused;
    }
    let Ok(mut book) = state.book.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let found = book
        .orders
        .values_mut()
        .find(|o| o["id"] == id.as_str() || o["external_id"] == id.as_str());
    let Some(order) = found else {
        return error(StatusCode::NOT_FOUND, "Order not found", Value::Null);
    };
    order["rewards"][0]["delivery"]["status"] = json!("SUCCEEDED");
    (StatusCode::OK, Json(json!({"order": order.clone()}))).into_response()
}

async fn faults(State(state): State<StandIn>, Json(body): Json<Value>) -> Response {
    let Ok(mut book) = state.book.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(n) = body["lose_answers"].as_u64() {
        book.lose_answers = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(reason) = body["refuse_next"].as_str() {
        book.refuse_next = Some(reason.to_owned());
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn list(State(state): State<StandIn>) -> Response {
    let Ok(book) = state.book.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let orders: Vec<&Value> = book.orders.values().collect();
    Json(json!({"orders": orders})).into_response()
}
