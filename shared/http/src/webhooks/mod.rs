//! The job-webhook function's routes: Standard Webhooks deliveries and vendor adapters. Each is
//! authenticated by the application, decoded here into a command, then delivered once.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;
use vouch_domain::app::JobberReceipt;
use vouch_domain::values::signature::Delivery;

use crate::dto::params::{BusinessPath, WebhookHeaders};
use crate::error::ApiResult;
use crate::extract::read_body;
use crate::state::AppState;

pub mod housecallpro;
pub mod jobber;
pub mod payload;

pub use payload::MAX_BODY;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{business_id}", post(standard))
        .route("/webhooks/{business_id}/housecallpro", post(housecall_pro))
        .route("/webhooks/jobber", post(jobber_app))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    pub received: bool,
    /// True when this `webhook-id` was seen before: nothing was done again.
    pub duplicate: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A Standard Webhooks delivery from field-service software.
#[utoipa::path(
    post, path = "/webhooks/{business_id}", tag = "webhooks",
    params(BusinessPath, WebhookHeaders),
    request_body(content = Object, description = "{type, timestamp, data}: customer.upserted, lead.created, job.status_changed, review.submitted"),
    responses(
        (status = 200, body = Received),
        (status = 400, body = crate::error::ErrorBody, description = "The body is not a JSON object"),
        (status = 401, body = crate::error::ErrorBody, description = "Bad or missing signature, stale timestamp, or unknown business"),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "A field is invalid; see fields"),
        (status = 503, body = crate::error::ErrorBody, description = "Busy; retry after Retry-After seconds"),
    )
)]
pub async fn standard(
    State(state): State<AppState>,
    Path(business_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Received>> {
    let body = read_body(body, MAX_BODY).await?;
    let delivery = Delivery {
        id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp"),
        signature: header(&headers, "webhook-signature"),
        body: &body,
    };
    let (business, delivery_id) = state
        .vouch
        .authenticate_webhook(&business_id, delivery)
        .await?;
    let envelope = payload::parse(&body)?;
    let command = payload::command_of(envelope, business.settings.country)?;
    let link_base = state.link_base(&headers);
    let receipt = state
        .vouch
        .deliver(&business, &delivery_id, command, &link_base)
        .await?;
    Ok(Json(Received {
        received: true,
        duplicate: receipt.duplicate,
    }))
}

/// Housecall Pro's deliveries, signed with the business's Housecall Pro signing secret.
#[utoipa::path(
    post, path = "/webhooks/{business_id}/housecallpro", tag = "webhooks",
    params(BusinessPath,
           ("api-timestamp" = String, Header, description = "Unix seconds of signing, within 5 minutes (the header name is configurable per deployment)"),
           ("api-signature" = String, Header, description = "Hex HMAC-SHA256 of \"{api-timestamp}.{raw body}\" keyed with the business's Housecall Pro signing secret (configurable name)")),
    request_body(content = Object, description = "{event, job|invoice|customer} (or {id, event, created_at, data}): job.*, invoice.paid, invoice.updated, customer.created, customer.updated; {\"foo\":\"bar\"} is Housecall Pro's test ping"),
    responses(
        (status = 200, body = Received),
        (status = 400, body = crate::error::ErrorBody, description = "The body is not a JSON object"),
        (status = 401, body = crate::error::ErrorBody, description = "Bad or missing signature, stale timestamp, no signing secret saved, or unknown business"),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "A field is invalid; see fields"),
        (status = 503, body = crate::error::ErrorBody, description = "Busy; retry after Retry-After seconds"),
    )
)]
pub async fn housecall_pro(
    State(state): State<AppState>,
    Path(business_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Received>> {
    let body = read_body(body, MAX_BODY).await?;
    let web = &state.web;
    let timestamp = header(
        &headers,
        web.housecallpro_timestamp_header
            .as_deref()
            .unwrap_or(housecallpro::DEFAULT_TIMESTAMP_HEADER),
    );
    let signature = header(
        &headers,
        web.housecallpro_header
            .as_deref()
            .unwrap_or(housecallpro::DEFAULT_SIGNATURE_HEADER),
    );
    let (business, signed_at) = state
        .vouch
        .authenticate_housecallpro(&business_id, timestamp, signature, &body)
        .await?;
    let parsed = housecallpro::parse(&body, signed_at)?;
    let Some(envelope) = parsed.envelope else {
        tracing::info!(business_id, "housecallpro test ping answered");
        return Ok(Json(Received {
            received: true,
            duplicate: false,
        }));
    };
    let command = payload::command_of(envelope, business.settings.country)?;
    let link_base = state.link_base(&headers);
    let receipt = state
        .vouch
        .deliver(
            &business,
            &format!("hcp:{}", parsed.id),
            command,
            &link_base,
        )
        .await?;
    Ok(Json(Received {
        received: true,
        duplicate: receipt.duplicate,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobberReceived {
    pub received: bool,
    /// `queued` (read back from Jobber shortly), `ignored` (a topic Vouch does not follow) or
    /// `disconnected` (APP_DISCONNECT: the account's tokens are forgotten).
    pub outcome: &'static str,
}

/// Jobber's webhooks, one URL for the app: the account is found by `accountId`, the raw body
/// checked against that business's Jobber client secret, and the item queued to be read back
/// through Jobber's API (the answer does not wait for it).
#[utoipa::path(
    post, path = "/webhooks/jobber", tag = "webhooks",
    params(("x-jobber-hmac-sha256" = String, Header, description = "Base64 HMAC-SHA256 of the raw body keyed with the Jobber app's client secret")),
    request_body(content = Object, description = "{\"data\": {\"webHookEvent\": {topic, appId, accountId, itemId, occurredAt}}} (or the older form-encoded fields)"),
    responses(
        (status = 200, body = JobberReceived),
        (status = 400, body = crate::error::ErrorBody, description = "The body is neither JSON nor a form"),
        (status = 401, body = crate::error::ErrorBody, description = "Bad or missing signature, or an account not connected to any business"),
        (status = 413, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "A field is invalid; see fields"),
        (status = 503, body = crate::error::ErrorBody, description = "The read-back queue is unavailable; Jobber sends it again"),
    )
)]
pub async fn jobber_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<JobberReceived>> {
    let body = read_body(body, MAX_BODY).await?;
    let event = jobber::parse(header(&headers, "content-type"), &body)?;
    let receipt = state
        .vouch
        .receive_jobber(&event, header(&headers, "x-jobber-hmac-sha256"), &body)
        .await?;
    let outcome = match receipt {
        JobberReceipt::Queued => "queued",
        JobberReceipt::Ignored => "ignored",
        JobberReceipt::Disconnected => "disconnected",
    };
    tracing::info!(topic = %event.topic, outcome, "jobber webhook answered");
    Ok(Json(JobberReceived {
        received: true,
        outcome,
    }))
}
