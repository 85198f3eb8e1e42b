//! The review queue: referrals held for a person (a mention, velocity, a shared network, a
//! disposable email, a referrer not enrolled), approved — naming the referrer of a mention —
//! or rejected. Decisions are recorded with the person's name.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouch_domain::Error;
use vouch_domain::app::Review;
use vouch_domain::model::referral::{Flag, Referral};
use vouch_domain::model::staff::Actor;

use super::{Posted, Shell, Staffer, problem};
use crate::state::AppState;

pub struct Candidate {
    pub id: String,
    pub name: String,
}

pub struct HeldItem {
    pub id: String,
    pub lead_name: String,
    pub lead_phone: String,
    pub source: &'static str,
    pub created: String,
    pub named: Option<String>,
    pub referrer: Option<String>,
    pub flags: Vec<&'static str>,
    pub needs_referrer: bool,
    pub candidates: Vec<Candidate>,
}

#[derive(Template)]
#[template(path = "admin/review.html")]
struct ReviewPage {
    shell: Shell,
    items: Vec<HeldItem>,
    error: Option<String>,
}

/// What a flag means, in the office's words.
pub fn flag_text(flag: Flag) -> &'static str {
    match flag {
        Flag::SelfReferral => "referred themselves",
        Flag::ExistingCustomer => "already a customer",
        Flag::Duplicate => "already referred",
        Flag::Velocity => "many leads for this code today",
        Flag::SharedIp => "same network as the referrer",
        Flag::DisposableEmail => "disposable email address",
        Flag::Mention => "only a name was mentioned",
        Flag::NotParticipant => "named referrer isn't enrolled",
        Flag::ApprovedByStaff => "approved by staff",
        Flag::RejectedByStaff => "rejected by staff",
        Flag::Reattributed => "attributed to someone else",
        Flag::Deleted => "attribution removed",
        Flag::JobCanceled => "job canceled",
    }
}

fn item(referral: &Referral) -> HeldItem {
    HeldItem {
        id: referral.referral_id.clone(),
        lead_name: referral.lead.name.clone(),
        lead_phone: referral
            .lead
            .phone
            .as_ref()
            .map(|p| p.masked())
            .unwrap_or_default(),
        source: referral.source.as_str(),
        created: referral.created_at.format("%b %-d, %H:%M UTC").to_string(),
        named: referral.named.clone(),
        referrer: referral.referrer.as_ref().map(|p| p.name.clone()),
        flags: referral.flags.iter().map(|f| flag_text(*f)).collect(),
        needs_referrer: referral.referrer.is_none(),
        candidates: referral
            .candidates
            .iter()
            .map(|c| Candidate {
                id: c.customer_id.to_string(),
                name: c.name.clone(),
            })
            .collect(),
    }
}

async fn render_page(state: &AppState, actor: &Actor, error: Option<String>) -> Response {
    let held = match state
        .vouch
        .referrals(&actor.business_id, Some("needs_review"), Some(100), None)
        .await
    {
        Ok(page) => page.items,
        Err(err) => return problem(err),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ReviewPage {
        shell: Shell::of(actor, "review"),
        items: held.iter().map(item).collect(),
        error,
    };
    super::show(&page, status)
}

/// `GET /admin/review`.
pub async fn page(State(state): State<AppState>, Staffer(actor): Staffer) -> Response {
    render_page(&state, &actor, None).await
}

async fn decide(state: &AppState, id: &str, posted: &Posted, review: Review) -> Response {
    let acting = state.vouch.acting_as(&posted.actor.label());
    match acting
        .review_referral(&posted.actor.business_id, id, review)
        .await
    {
        Ok(_) => Redirect::to("/admin/review").into_response(),
        Err(Error::Validation(fields)) => {
            let reason = fields.into_values().next().unwrap_or_default();
            render_page(
                state,
                &posted.actor,
                Some(format!("Not approved: the referrer {reason}.")),
            )
            .await
        }
        Err(err) => problem(err),
    }
}

/// `POST /admin/review/{id}/approve` (`referrer_customer_id` for a mention).
pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let referrer = Some(posted.field("referrer_customer_id").trim())
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    decide(&state, &id, &posted, Review::Approve { referrer }).await
}

/// `POST /admin/review/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    decide(&state, &id, &posted, Review::Reject).await
}
