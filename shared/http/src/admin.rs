//! The admin-api function's routes: operator business creation and the staff API.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use vouch_domain::model::participant::{Participant, ParticipantSort};
use vouch_domain::model::settings::Settings;
use vouch_domain::services::EnrolRequest;
use vouch_domain::values::ids::BusinessId;

use crate::common;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryOf, bearer};
use crate::openapi;
use crate::state::AppState;

/// The admin-api function's whole router.
pub fn router(state: AppState) -> Router {
    common::finish(routes()).with_state(state)
}

/// Just this function's routes, for merging into the local runner's single router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/operator/businesses", post(create_business))
        .route(
            "/api/admin/participants",
            get(list_participants).post(enrol),
        )
        .route("/api/admin/participants/{customer_id}", get(participant))
        .route("/api/admin/settings", get(settings).put(replace_settings))
        .route("/api/admin/messages", get(messages))
        .merge(crate::referrals::routes())
        .merge(crate::rewards::routes())
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
}

/// The business an admin key belongs to; 401 without a valid key.
pub struct Admin(pub BusinessId);

impl FromRequestParts<AppState> for Admin {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Admin(state.vouch.authenticate_admin(bearer(parts)).await?))
    }
}

// ---------------------------------------------------------------- operator

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedBusinessView {
    pub business_id: String,
    /// Shown once; only its hash is stored.
    pub admin_api_key: String,
    /// Standard Webhooks secret for signing webhooks to this business.
    pub webhook_secret: String,
}

#[utoipa::path(
    post, path = "/api/operator/businesses", tag = "operator",
    security(("operator_key" = [])),
    request_body(content = Object, description = "`business_id` plus a settings document; only name, time_zone and landing_url are required"),
    responses(
        (status = 201, body = CreatedBusinessView),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody, description = "The id exists"),
        (status = 422, body = ErrorBody, description = "A reason per field"),
    )
)]
pub async fn create_business(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(doc): JsonBody<Value>,
) -> ApiResult<Response> {
    let operator_key = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    let created = state.vouch.create_business(operator_key, &doc).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedBusinessView {
            business_id: created.business_id.to_string(),
            admin_api_key: created.admin_api_key,
            webhook_secret: created.webhook_secret,
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------- participants

/// What staff see of a participant in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantSummary {
    pub customer_id: String,
    pub name: String,
    pub phone_masked: Option<String>,
    pub code: String,
    pub link: String,
    pub qr_url: String,
    pub clicks: u64,
    /// Clicks per channel (`link`, `sms`, `qr`, `social`, `email`, `print`).
    pub clicks_by_channel: BTreeMap<String, u64>,
    pub closed: u64,
    pub rewards_earned_cents: i64,
    pub rewards_pending_cents: i64,
    pub vip: bool,
    pub enrolled_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantRow {
    #[serde(flatten)]
    pub summary: ParticipantSummary,
    /// Referrals attributed to this participant.
    pub referrals: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantDetail {
    #[serde(flatten)]
    pub summary: ParticipantSummary,
    /// How many referrals are attributed (the list's `referrals` count).
    pub referral_count: u64,
    /// The participant's referrals, newest first.
    pub referrals: Vec<crate::referrals::ReferralView>,
    /// The participant's rewards, newest first.
    pub rewards: Vec<crate::rewards::RewardView>,
    /// Service credit: the sum of the participant's ledger entries.
    pub credit_balance_cents: i64,
    /// The participant's own reward, when set.
    pub reward_override: Option<vouch_domain::model::reward::RewardOverride>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantPage {
    pub items: Vec<ParticipantRow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// 1–100, default 25.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `recent` (default) or `closed`.
    #[param(value_type = Option<String>)]
    pub sort: Option<ParticipantSort>,
}

impl AppState {
    async fn summary(
        &self,
        headers: &HeaderMap,
        participant: &Participant,
        vip_after: u32,
    ) -> ParticipantSummary {
        ParticipantSummary {
            customer_id: participant.customer_id.to_string(),
            name: participant.full_name(),
            phone_masked: participant.phone.as_ref().map(|p| p.masked()),
            code: participant.code.to_string(),
            link: self.link(headers, &participant.code),
            qr_url: self.qr_url(headers, &participant.code),
            clicks: participant.stats.clicks,
            clicks_by_channel: participant
                .stats
                .clicks_by_channel
                .iter()
                .map(|(channel, n)| (channel.as_str().to_owned(), *n))
                .collect(),
            closed: participant.stats.closed,
            rewards_earned_cents: participant.stats.rewards_earned_cents,
            rewards_pending_cents: participant.stats.rewards_pending_cents,
            vip: participant.is_vip(vip_after),
            enrolled_at: participant
                .enrolled_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }

    async fn vip_after(&self, business: &BusinessId) -> ApiResult<u32> {
        let business = self
            .vouch
            .business(business)
            .await?
            .ok_or(vouch_domain::Error::NotFound("business"))?;
        Ok(business.settings.vip_after)
    }
}

#[utoipa::path(
    get, path = "/api/admin/participants", tag = "admin", security(("admin_key" = [])),
    params(ListQuery),
    responses((status = 200, body = ParticipantPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list_participants(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    QueryOf(query): QueryOf<ListQuery>,
) -> ApiResult<Json<ParticipantPage>> {
    let (participants, next_cursor) = state
        .vouch
        .participants(
            &business,
            query.sort.unwrap_or_default(),
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    let vip_after = state.vip_after(&business).await?;
    let mut items = Vec::with_capacity(participants.len());
    for participant in &participants {
        items.push(ParticipantRow {
            summary: state.summary(&headers, participant, vip_after).await,
            referrals: participant.stats.referrals,
        });
    }
    Ok(Json(ParticipantPage { items, next_cursor }))
}

#[utoipa::path(
    post, path = "/api/admin/participants", tag = "admin", security(("admin_key" = [])),
    request_body = EnrolRequest,
    responses(
        (status = 201, body = ParticipantDetail, description = "Enrolled"),
        (status = 200, body = ParticipantDetail, description = "Already enrolled: the existing participant and code"),
        (status = 404, body = ErrorBody, description = "customer_id names no known customer"),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn enrol(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    JsonBody(request): JsonBody<EnrolRequest>,
) -> ApiResult<Response> {
    let link_base = state.link_base(&headers);
    let (participant, created) = state.vouch.enrol(&business, request, &link_base).await?;
    let detail = state.detail(&headers, &business, &participant).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(detail)).into_response())
}

impl AppState {
    pub(crate) async fn detail(
        &self,
        headers: &HeaderMap,
        business: &BusinessId,
        participant: &Participant,
    ) -> ApiResult<ParticipantDetail> {
        let vip_after = self.vip_after(business).await?;
        let referrals = self
            .vouch
            .referrals_by(business, &participant.customer_id)
            .await?;
        let rewards = self
            .vouch
            .rewards_of(business, &participant.customer_id)
            .await?;
        let (_, balance) = self
            .vouch
            .ledger(business, &participant.customer_id)
            .await?;
        Ok(ParticipantDetail {
            summary: self.summary(headers, participant, vip_after).await,
            referral_count: participant.stats.referrals,
            referrals: referrals.into_iter().map(Into::into).collect(),
            rewards: rewards.into_iter().map(Into::into).collect(),
            credit_balance_cents: balance,
            reward_override: participant.reward_override.clone(),
        })
    }
}

#[utoipa::path(
    get, path = "/api/admin/participants/{customer_id}", tag = "admin", security(("admin_key" = [])),
    params(("customer_id" = String, Path)),
    responses((status = 200, body = ParticipantDetail), (status = 404, body = ErrorBody))
)]
pub async fn participant(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
) -> ApiResult<Json<ParticipantDetail>> {
    let participant = state.vouch.participant(&business, &customer_id).await?;
    Ok(Json(state.detail(&headers, &business, &participant).await?))
}

// ---------------------------------------------------------------- settings

#[utoipa::path(
    get, path = "/api/admin/settings", tag = "admin", security(("admin_key" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody))
)]
pub async fn settings(
    State(state): State<AppState>,
    Admin(business): Admin,
) -> ApiResult<Json<Settings>> {
    Ok(Json(state.vouch.settings(&business).await?))
}

#[utoipa::path(
    put, path = "/api/admin/settings", tag = "admin", security(("admin_key" = [])),
    request_body(content = Object, description = "A settings document; missing fields keep their current values"),
    responses(
        (status = 200, body = Settings),
        (status = 409, body = ErrorBody, description = "Changed concurrently; read and retry"),
        (status = 422, body = ErrorBody, description = "A reason per field"),
    )
)]
pub async fn replace_settings(
    State(state): State<AppState>,
    Admin(business): Admin,
    JsonBody(doc): JsonBody<Value>,
) -> ApiResult<Json<Settings>> {
    Ok(Json(state.vouch.replace_settings(&business, &doc).await?))
}

// ---------------------------------------------------------------- messages

/// One text in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub message_id: String,
    pub customer_id: Option<String>,
    pub to_masked: Option<String>,
    pub purpose: vouch_domain::model::message::Purpose,
    pub body: String,
    pub segments: u32,
    pub status: vouch_domain::model::message::Status,
    /// Why it is suppressed, deferred or failed.
    pub reason: Option<vouch_domain::model::message::Reason>,
    pub created_at: String,
    /// When a deferred message is due.
    pub due_at: Option<String>,
    pub sent_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MessageQuery {
    pub customer_id: Option<String>,
    /// queued, deferred, sent, failed or suppressed
    #[param(value_type = Option<String>)]
    pub status: Option<vouch_domain::model::message::Status>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn rfc3339(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[utoipa::path(
    get, path = "/api/admin/messages", tag = "admin", security(("admin_key" = [])),
    params(MessageQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn messages(
    State(state): State<AppState>,
    Admin(business): Admin,
    QueryOf(query): QueryOf<MessageQuery>,
) -> ApiResult<Json<MessagePage>> {
    let customer_id = match query.customer_id.as_deref() {
        Some(raw) => Some(
            vouch_domain::values::ids::CustomerId::parse(raw)
                .map_err(|e| vouch_domain::Error::field("customer_id", e.reason()))?,
        ),
        None => None,
    };
    let filter = vouch_domain::ports::MessageFilter {
        customer_id,
        status: query.status,
    };
    let (items, next_cursor) = state
        .vouch
        .messages(&business, filter, query.limit, query.cursor.as_deref())
        .await?;
    let items = items
        .into_iter()
        .map(|m| MessageView {
            message_id: m.message_id,
            customer_id: m.customer_id.map(|c| c.to_string()),
            to_masked: m
                .to
                .as_ref()
                .map(vouch_domain::values::person::Phone::masked),
            purpose: m.purpose,
            body: m.body,
            segments: m.segments,
            status: m.status,
            reason: m.reason,
            created_at: rfc3339(m.created_at),
            due_at: m
                .due_at
                .filter(|_| m.status == vouch_domain::model::message::Status::Deferred)
                .map(rfc3339),
            sent_at: m.sent_at.map(rfc3339),
        })
        .collect();
    Ok(Json(MessagePage { items, next_cursor }))
}
