//! Routes every function serves, and the JSON fallbacks for unknown routes and methods.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Adds `/health` and the JSON fallbacks; call it once, after every route is in.
pub fn finish(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route("/health", get(health))
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
