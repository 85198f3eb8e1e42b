//! Staff's referral routes (admin-api): the referral list, manual attribution, review and
//! deletion, and the customer search used to attribute a mention.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vouch_domain::app::Review;
use vouch_domain::model::referral::{Decision, Flag, Person, Referral, Source, Status};
use vouch_domain::model::search::SearchEntry;
use vouch_domain::ports::Page;
use vouch_domain::values::person::Phone;

use super::Admin;
use crate::dto::params::ReferralPath;
use crate::dto::rfc3339;
use crate::dto::schema::{self, DecisionSchema, PersonSchema};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryOf};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/referrals", get(list).post(attribute))
        .route("/api/admin/referrals/{referral_id}", delete(remove))
        .route("/api/admin/referrals/{referral_id}/approve", post(approve))
        .route("/api/admin/referrals/{referral_id}/reject", post(reject))
        .route("/api/admin/customers", get(customers))
}

/// The referred person as staff see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadView {
    pub customer_id: String,
    pub name: String,
    pub phone_masked: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralView {
    pub referral_id: String,
    pub lead: LeadView,
    /// `null` for a mention nobody confirmed yet.
    #[schema(value_type = Option<PersonSchema>)]
    pub referrer: Option<Person>,
    /// For a mention: enrolled customers whose name matches.
    #[schema(value_type = Vec<PersonSchema>)]
    pub candidates: Vec<Person>,
    #[schema(schema_with = schema::source)]
    pub source: Source,
    #[schema(schema_with = schema::referral_status)]
    pub status: Status,
    /// Why it was rejected or held, and what staff did.
    #[schema(schema_with = schema::flags)]
    pub flags: Vec<Flag>,
    /// What the lead named: a code or the free-text mention.
    pub named: Option<String>,
    pub created_at: String,
    pub qualified_at: Option<String>,
    pub job_id: Option<String>,
    pub invoice_total_cents: Option<i64>,
    /// Every decision with its reason.
    #[schema(value_type = Vec<DecisionSchema>)]
    pub history: Vec<Decision>,
}

impl From<Referral> for ReferralView {
    fn from(r: Referral) -> Self {
        Self {
            referral_id: r.referral_id,
            lead: LeadView {
                customer_id: r.lead.customer_id.to_string(),
                name: r.lead.name,
                phone_masked: r.lead.phone.as_ref().map(Phone::masked),
            },
            referrer: r.referrer,
            candidates: r.candidates,
            source: r.source,
            status: r.status,
            flags: r.flags,
            named: r.named,
            created_at: rfc3339(r.created_at),
            qualified_at: r.qualified_at.map(rfc3339),
            job_id: r.job_id,
            invoice_total_cents: r.invoice_total_cents.map(|m| m.cents()),
            history: r.history,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralPage {
    pub items: Vec<ReferralView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralQuery {
    #[param(schema_with = schema::referral_status)]
    pub status: Option<String>,
    #[param(schema_with = schema::page_size)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::id_cursor)]
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/admin/referrals", tag = "admin", security(("admin_key" = [])),
    params(ReferralQuery),
    responses((status = 200, body = ReferralPage), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody))
)]
pub async fn list(
    State(state): State<AppState>,
    Admin(business): Admin,
    QueryOf(query): QueryOf<ReferralQuery>,
) -> ApiResult<Json<ReferralPage>> {
    let Page {
        items,
        next: next_cursor,
    } = state
        .vouch
        .referrals(
            &business,
            query.status.as_deref(),
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(ReferralPage {
        items: items.into_iter().map(ReferralView::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttributeRequest {
    pub lead_customer_id: String,
    pub referrer_customer_id: String,
    /// Replace a standing attribution (the old one is reversed).
    #[serde(default, rename = "override")]
    pub replace: bool,
}

#[utoipa::path(
    post, path = "/api/admin/referrals", tag = "admin", security(("admin_key" = [])),
    request_body = AttributeRequest,
    responses(
        (status = 201, body = ReferralView),
        (status = 404, body = ErrorBody, description = "No such lead customer"),
        (status = 409, body = ErrorBody, description = "Already attributed; send override"),
        (status = 422, body = ErrorBody, description = "The referrer is not enrolled, or is the lead"),
    )
)]
pub async fn attribute(
    State(state): State<AppState>,
    Admin(business): Admin,
    JsonBody(request): JsonBody<AttributeRequest>,
) -> ApiResult<Response> {
    let referral = state
        .vouch
        .attribute(
            &business,
            &request.lead_customer_id,
            &request.referrer_customer_id,
            request.replace,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ReferralView::from(referral))).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ApproveRequest {
    /// Required for a mention: the participant who referred the lead.
    #[serde(default)]
    pub referrer_customer_id: Option<String>,
}

async fn reviewed(
    state: &AppState,
    business: &vouch_domain::values::ids::BusinessId,
    id: &str,
    review: Review,
) -> ApiResult<Json<ReferralView>> {
    let referral = state
        .vouch
        .review_referral(business, id, review)
        .await?
        .ok_or(vouch_domain::Error::NotFound("referral"))?;
    Ok(Json(ReferralView::from(referral)))
}

#[utoipa::path(
    post, path = "/api/admin/referrals/{referral_id}/approve", tag = "admin", security(("admin_key" = [])),
    params(ReferralPath), request_body = ApproveRequest,
    responses((status = 200, body = ReferralView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Not waiting for review"), (status = 422, body = ErrorBody))
)]
pub async fn approve(
    State(state): State<AppState>,
    Admin(business): Admin,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> ApiResult<Json<ReferralView>> {
    // The body is optional: empty approves with the referrer the referral already names.
    let bytes = crate::extract::read_body(body, crate::extract::JSON_LIMIT).await?;
    let request: ApproveRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        ApproveRequest::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|err| {
            vouch_domain::Error::BadRequest(format!("the body is not a valid approval: {err}"))
        })?
    };
    let referrer = request.referrer_customer_id;
    reviewed(&state, &business, &id, Review::Approve { referrer }).await
}

#[utoipa::path(
    post, path = "/api/admin/referrals/{referral_id}/reject", tag = "admin", security(("admin_key" = [])),
    params(ReferralPath),
    responses((status = 200, body = ReferralView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "Not waiting for review"))
)]
pub async fn reject(
    State(state): State<AppState>,
    Admin(business): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<ReferralView>> {
    reviewed(&state, &business, &id, Review::Reject).await
}

#[utoipa::path(
    delete, path = "/api/admin/referrals/{referral_id}", tag = "admin", security(("admin_key" = [])),
    params(ReferralPath),
    responses((status = 204, description = "The attribution is removed (status reversed; referral.reversed published)"),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "A rejected referral"))
)]
pub async fn remove(
    State(state): State<AppState>,
    Admin(business): Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .vouch
        .review_referral(&business, &id, Review::Delete)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub customer_id: String,
    pub name: String,
    pub phone_masked: Option<String>,
    /// Enrolled in the program (can be named as a referrer).
    pub participant: bool,
}

impl From<SearchEntry> for CustomerView {
    fn from(e: SearchEntry) -> Self {
        Self {
            customer_id: e.customer_id.to_string(),
            name: e.name,
            phone_masked: e.phone.as_ref().map(Phone::masked),
            participant: e.enrolled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    #[serde(default)]
    #[param(schema_with = schema::search)]
    pub q: String,
}

#[utoipa::path(
    get, path = "/api/admin/customers", tag = "admin", security(("admin_key" = [])),
    params(CustomerQuery),
    responses((status = 200, body = CustomerPage), (status = 422, body = ErrorBody))
)]
pub async fn customers(
    State(state): State<AppState>,
    Admin(business): Admin,
    QueryOf(query): QueryOf<CustomerQuery>,
) -> ApiResult<Json<CustomerPage>> {
    let found = state.vouch.search_customers(&business, &query.q).await?;
    Ok(Json(CustomerPage {
        items: found.into_iter().map(CustomerView::from).collect(),
    }))
}
