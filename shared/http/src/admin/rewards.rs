//! Staff's reward routes (admin-api): the reward list, moves along the state machine, and a
//! participant's own reward.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vouch_domain::model::reward::{
    GiftCardOrder, OrderState, Recipient, Reward, RewardChange, RewardOverride, RewardStatus,
};
use vouch_domain::model::settings::RewardType;

use super::Admin;
use crate::dto::params::{CustomerPath, RewardPath};
use crate::dto::rfc3339;
use crate::dto::schema::{self, RewardChangeSchema, RewardOverrideSchema};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryOf};
use crate::state::AppState;
use vouch_domain::ports::Page;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/rewards", get(list))
        .route("/api/admin/rewards/{reward_id}", patch(update))
        .route(
            "/api/admin/participants/{customer_id}/reward-override",
            axum::routing::put(set_override),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardView {
    pub reward_id: String,
    pub referral_id: String,
    /// Who is rewarded: the referrer, or (dual-sided programs) the referred friend.
    pub customer_id: String,
    #[schema(schema_with = schema::recipient)]
    pub recipient: Recipient,
    #[serde(rename = "type")]
    #[schema(schema_with = schema::reward_type)]
    pub kind: RewardType,
    pub amount_cents: Option<i64>,
    pub percent: Option<u8>,
    /// The discount code, for discount rewards.
    pub code: Option<String>,
    pub description: String,
    /// Which closed referral of the referrer this pays for (the tier's ordinal).
    pub ordinal: u32,
    #[schema(schema_with = schema::reward_status)]
    pub status: RewardStatus,
    pub created_at: String,
    pub issued_at: Option<String>,
    /// When the hold ends.
    pub release_at: Option<String>,
    /// For staff: `yearly_cap`, `redeemed_before_reversal`, `override`.
    pub flags: Vec<String>,
    /// Every change, who made it and why.
    #[schema(value_type = Vec<RewardChangeSchema>)]
    pub audit: Vec<RewardChange>,
    /// A gift card ordered from the business's provider: where the order stands.
    pub order: Option<OrderView>,
}

/// A gift-card order as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    /// `ordering` (to be placed), `ordered` (waiting for delivery), `failed` (retried at
    /// `next_at`) or `delivered`.
    #[schema(value_type = String, example = "ordered")]
    pub state: OrderState,
    /// The provider's order id, once it answered.
    pub order_id: Option<String>,
    /// Why the last attempt failed.
    pub reason: Option<String>,
    /// When the scheduler next places, follows or retries it; none once delivered.
    pub next_at: Option<String>,
    pub updated_at: String,
}

impl From<GiftCardOrder> for OrderView {
    fn from(o: GiftCardOrder) -> Self {
        Self {
            state: o.state,
            order_id: o.order_id,
            reason: o.reason,
            next_at: (o.state != OrderState::Delivered).then(|| rfc3339(o.next_at)),
            updated_at: rfc3339(o.at),
        }
    }
}

impl From<Reward> for RewardView {
    fn from(r: Reward) -> Self {
        Self {
            reward_id: r.reward_id,
            referral_id: r.referral_id,
            customer_id: r.customer_id.to_string(),
            recipient: r.recipient,
            kind: r.kind,
            amount_cents: r.amount_cents.map(|m| m.cents()),
            percent: r.percent,
            code: r.code,
            description: r.description,
            ordinal: r.ordinal,
            status: r.status,
            created_at: rfc3339(r.created_at),
            issued_at: r.issued_at.map(rfc3339),
            release_at: r.release_at.map(rfc3339),
            flags: r.flags,
            audit: r.audit,
            order: r.order.map(OrderView::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardPage {
    pub items: Vec<RewardView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RewardQuery {
    #[param(schema_with = schema::reward_status)]
    pub status: Option<String>,
    #[param(schema_with = schema::page_size)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::id_cursor)]
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/admin/rewards", tag = "admin", security(("admin_key" = [])),
    params(RewardQuery),
    responses((status = 200, body = RewardPage), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    Admin(business): Admin,
    QueryOf(query): QueryOf<RewardQuery>,
) -> ApiResult<Json<RewardPage>> {
    let Page {
        items,
        next: next_cursor,
    } = state
        .vouch
        .rewards(
            &business,
            query.status.as_deref(),
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(RewardPage {
        items: items.into_iter().map(RewardView::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RewardUpdate {
    /// approved, issued, redeemed or canceled
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[utoipa::path(
    patch, path = "/api/admin/rewards/{reward_id}", tag = "admin", security(("admin_key" = [])),
    params(RewardPath), request_body = RewardUpdate,
    responses(
        (status = 200, body = RewardView),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The state machine forbids this move (pending → approved/canceled, approved → issued/canceled, issued → redeemed)"),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    Path(reward_id): Path<String>,
    JsonBody(request): JsonBody<RewardUpdate>,
) -> ApiResult<Json<RewardView>> {
    let link_base = state.link_base(&headers);
    let reward = state
        .vouch
        .move_reward(
            &business,
            &reward_id,
            &request.status,
            request.note,
            &link_base,
        )
        .await?;
    Ok(Json(reward.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OverrideRequest {
    /// The participant's own reward; `null` returns them to the program's tiers.
    #[schema(value_type = Option<RewardOverrideSchema>)]
    pub reward_override: Option<RewardOverride>,
}

#[utoipa::path(
    put, path = "/api/admin/participants/{customer_id}/reward-override", tag = "admin",
    security(("admin_key" = [])), params(CustomerPath), request_body = OverrideRequest,
    responses((status = 200, body = crate::admin::ParticipantDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn set_override(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
    JsonBody(request): JsonBody<OverrideRequest>,
) -> ApiResult<Json<crate::admin::ParticipantDetail>> {
    let participant = state
        .vouch
        .set_reward_override(&business, &customer_id, request.reward_override)
        .await?;
    Ok(Json(state.detail(&headers, &business, &participant).await?))
}
