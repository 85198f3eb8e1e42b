//! Staff's participants: the list, one participant with their referrals and rewards, manual
//! enrolment and a participant's own reward.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Admin;
use crate::dto::params::CustomerPath;
use crate::dto::schema::{self, EnrolSchema, RewardOverrideSchema};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryOf};
use crate::state::AppState;
use vouch_domain::app::EnrolRequest;
use vouch_domain::model::participant::{Participant, ParticipantSort};
use vouch_domain::values::ids::BusinessId;

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
    pub referrals: Vec<super::referrals::ReferralView>,
    /// The participant's rewards, newest first.
    pub rewards: Vec<super::rewards::RewardView>,
    /// Service credit: the sum of the participant's ledger entries.
    pub credit_balance_cents: i64,
    /// The participant's own reward, when set.
    #[schema(value_type = Option<RewardOverrideSchema>)]
    pub reward_override: Option<vouch_domain::model::reward::RewardOverride>,
    /// The participant's own page (`/me/{token}`), for staff to send again.
    pub status_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantPage {
    pub items: Vec<ParticipantRow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(schema_with = schema::page_size)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::participant_cursor)]
    pub cursor: Option<String>,
    #[param(schema_with = schema::participant_sort)]
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
            enrolled_at: crate::dto::rfc3339(participant.enrolled_at),
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
pub async fn list(
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
    request_body = EnrolSchema,
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
        let known = self
            .vouch
            .business(business)
            .await?
            .ok_or(vouch_domain::Error::NotFound("business"))?;
        let vip_after = known.settings.vip_after;
        let status_url =
            self.vouch
                .status_url(&known, &participant.customer_id, &self.link_base(headers));
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
            status_url,
        })
    }
}

#[utoipa::path(
    get, path = "/api/admin/participants/{customer_id}", tag = "admin", security(("admin_key" = [])),
    params(CustomerPath),
    responses((status = 200, body = ParticipantDetail), (status = 404, body = ErrorBody))
)]
pub async fn one(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    Path(customer_id): Path<String>,
) -> ApiResult<Json<ParticipantDetail>> {
    let participant = state.vouch.participant(&business, &customer_id).await?;
    Ok(Json(state.detail(&headers, &business, &participant).await?))
}
