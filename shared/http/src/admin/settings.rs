//! The business's program settings: read, and replaced by a (partial) document.

use axum::Json;
use axum::extract::State;

use super::Admin;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::state::AppState;
use serde_json::Value;

use crate::dto::schema::SettingsSchema;
use crate::dto::settings::{complete, shown};

#[utoipa::path(
    get, path = "/api/admin/settings", tag = "admin", security(("admin_key" = [])),
    responses((status = 200, body = SettingsSchema), (status = 401, body = ErrorBody))
)]
pub async fn read(State(state): State<AppState>, Admin(business): Admin) -> ApiResult<Json<Value>> {
    Ok(Json(shown(&state.vouch.settings(&business).await?)))
}

#[utoipa::path(
    put, path = "/api/admin/settings", tag = "admin", security(("admin_key" = [])),
    request_body(content = Object, description = "A settings document; missing fields keep their current values. Integration secrets are write-only: the settings show `configured` in their place, and `null` removes an integration"),
    responses(
        (status = 200, body = SettingsSchema),
        (status = 409, body = ErrorBody, description = "Changed concurrently; read and retry"),
        (status = 422, body = ErrorBody, description = "A reason per field"),
    )
)]
pub async fn replace(
    State(state): State<AppState>,
    Admin(business): Admin,
    JsonBody(doc): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let settings = state
        .vouch
        .replace_settings(&business, |current| complete(&doc, Some(current)))
        .await?;
    Ok(Json(shown(&settings)))
}
