//! The admin-api function's routes: operator business creation and the staff API, each family
//! in its own file; [`Admin`] is how every staff route knows its business.

pub mod messages;
pub mod participants;
pub mod referrals;
pub mod reports;
pub mod rewards;
pub mod settings;
pub mod staff;

pub use messages::{MessagePage, MessageView};
pub use participants::{ParticipantDetail, ParticipantPage, ParticipantRow, ParticipantSummary};
pub use referrals::{
    ApproveRequest, AttributeRequest, CustomerPage, CustomerView, LeadView, ReferralPage,
    ReferralView,
};
pub use rewards::{OverrideRequest, RewardPage, RewardUpdate, RewardView};

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use vouch_domain::Error;
use vouch_domain::values::ids::BusinessId;

use crate::dto::settings as document;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, bearer};
use crate::state::AppState;

/// The operator and staff routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/operator/businesses", post(create_business))
        .route(
            "/api/admin/participants",
            get(participants::list).post(participants::enrol),
        )
        .route(
            "/api/admin/participants/{customer_id}",
            get(participants::one),
        )
        .route(
            "/api/admin/settings",
            get(settings::read).put(settings::replace),
        )
        .route("/api/admin/messages", get(messages::list))
        .merge(referrals::routes())
        .merge(rewards::routes())
        .merge(reports::routes())
        .merge(staff::routes())
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
    let operator = state.vouch.authorise_operator(operator_key)?;
    let (id, settings) = document::new_business(&doc).map_err(Error::Validation)?;
    let created = state.vouch.create_business(&operator, id, settings).await?;
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
