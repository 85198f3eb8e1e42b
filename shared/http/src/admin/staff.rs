//! `/api/admin/staff`: who can sign in to the dashboard. The admin key (integrations, and how
//! the first owner is invited) or an owner's session (with its CSRF token in `X-CSRF-Token`
//! on a change) manages them; a staff member's session is 403.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vouch_domain::Error;
use vouch_domain::model::staff::{Actor, StaffMember};
use vouch_domain::values::ids::BusinessId;

use crate::dashboard::staff::invite_url;
use crate::dashboard::{session_cookie, tokens_match};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, bearer};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/staff", get(list).post(add))
        .route("/api/admin/staff/{staff_id}", delete(remove))
}

/// Who manages staff: the business's admin key, or one of its owners signed in.
pub struct StaffManager {
    pub business: BusinessId,
    pub owner: Option<Actor>,
}

impl StaffManager {
    fn label(&self) -> String {
        self.owner
            .as_ref()
            .map_or_else(|| "admin key".to_owned(), Actor::label)
    }
}

impl FromRequestParts<AppState> for StaffManager {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(key) = bearer(parts) {
            let business = state.vouch.authenticate_admin(Some(key)).await?;
            return Ok(Self {
                business,
                owner: None,
            });
        }
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(Error::Unauthenticated.into());
        };
        let actor = state
            .vouch
            .actor(cookie)
            .await?
            .ok_or(Error::Unauthenticated)?;
        if parts.method != Method::GET {
            let presented = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !tokens_match(&actor.csrf, presented) {
                return Err(Error::Forbidden("a valid X-CSRF-Token is required".into()).into());
            }
        }
        if !actor.is_owner() {
            return Err(Error::Forbidden("only an owner manages staff".into()).into());
        }
        Ok(Self {
            business: actor.business_id.clone(),
            owner: Some(actor),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub staff_id: String,
    pub email: String,
    pub name: String,
    /// `owner` or `staff`.
    pub role: String,
    /// `active` (a password is set) or `invited`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub added_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_expires_at: Option<DateTime<Utc>>,
}

impl From<&StaffMember> for StaffView {
    fn from(member: &StaffMember) -> Self {
        Self {
            staff_id: member.id.to_string(),
            email: member.email.as_str().to_owned(),
            name: member.name.as_str().to_owned(),
            role: member.role.as_str().to_owned(),
            status: if member.password.is_some() {
                "active".into()
            } else {
                "invited".into()
            },
            created_at: member.created_at,
            added_by: member.added_by.clone(),
            invite_expires_at: member.invite.as_ref().map(|i| i.expires_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffPage {
    pub items: Vec<StaffView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitedView {
    #[serde(flatten)]
    pub member: StaffView,
    /// The one-time link that sets their password (valid 72 hours); shown only here.
    pub invite_url: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StaffRequest {
    pub email: String,
    pub name: String,
    /// `owner` or `staff`.
    pub role: String,
}

#[utoipa::path(
    get, path = "/api/admin/staff", tag = "admin", security(("admin_key" = [])),
    responses((status = 200, body = StaffPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    manager: StaffManager,
) -> ApiResult<Json<StaffPage>> {
    let members = state.vouch.staff_list(&manager.business).await?;
    Ok(Json(StaffPage {
        items: members.iter().map(StaffView::from).collect(),
    }))
}

#[utoipa::path(
    post, path = "/api/admin/staff", tag = "admin", security(("admin_key" = [])),
    request_body = StaffRequest,
    responses(
        (status = 201, body = InvitedView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The email already has a sign-in"),
        (status = 422, body = ErrorBody, description = "A reason per field"),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    manager: StaffManager,
    JsonBody(request): JsonBody<StaffRequest>,
) -> ApiResult<Response> {
    let invited = state
        .vouch
        .add_staff(
            &manager.business,
            &manager.label(),
            &request.email,
            &request.name,
            &request.role,
        )
        .await?;
    let view = InvitedView {
        member: StaffView::from(&invited.member),
        invite_url: invite_url(&headers, &invited.token),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(
    delete, path = "/api/admin/staff/{staff_id}", tag = "admin", security(("admin_key" = [])),
    params(("staff_id" = String, Path, pattern = r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")),
    responses(
        (status = 204, description = "Removed; their sessions have ended"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "An owner removing themselves"),
    )
)]
pub async fn remove(
    State(state): State<AppState>,
    manager: StaffManager,
    Path(staff_id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .vouch
        .remove_staff(&manager.business, &staff_id, manager.owner.as_ref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
