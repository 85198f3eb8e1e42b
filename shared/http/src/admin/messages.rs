//! The text outbox as staff read it.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vouch_domain::model::message::{Purpose, Reason, Status};
use vouch_domain::ports::Page;

use super::Admin;
use crate::dto::rfc3339;
use crate::dto::schema;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::QueryOf;
use crate::state::AppState;

/// One text in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub message_id: String,
    pub customer_id: Option<String>,
    pub to_masked: Option<String>,
    #[schema(schema_with = schema::purpose)]
    pub purpose: Purpose,
    pub body: String,
    pub segments: u32,
    #[schema(schema_with = schema::message_status)]
    pub status: Status,
    /// Why it is suppressed, deferred or failed.
    #[schema(schema_with = schema::reason)]
    pub reason: Option<Reason>,
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
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    #[param(schema_with = schema::customer_id)]
    pub customer_id: Option<String>,
    #[param(schema_with = schema::message_status)]
    pub status: Option<Status>,
    #[param(schema_with = schema::page_size)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::id_cursor)]
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/admin/messages", tag = "admin", security(("admin_key" = [])),
    params(MessageQuery),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody))
)]
pub async fn list(
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
    let Page {
        items,
        next: next_cursor,
    } = state
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
                .filter(|_| m.status == Status::Deferred)
                .map(rfc3339),
            sent_at: m.sent_at.map(rfc3339),
        })
        .collect();
    Ok(Json(MessagePage { items, next_cursor }))
}
