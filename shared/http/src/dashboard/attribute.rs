//! Manual attribution from customer search: the new customer and their referrer found by name
//! or phone, then the lead credited (replacing an earlier attribution only when asked).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_domain::Error;
use vouch_domain::model::search::SearchEntry;
use vouch_domain::model::staff::Actor;

use super::{Posted, Shell, Staffer, problem};
use crate::state::AppState;

pub struct Choice {
    pub id: String,
    pub name: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "admin/attribute.html")]
struct AttributePage {
    shell: Shell,
    lead_q: String,
    referrer_q: String,
    searched: bool,
    leads: Vec<Choice>,
    referrers: Vec<Choice>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub lead_q: Option<String>,
    pub referrer_q: Option<String>,
}

fn choice(entry: SearchEntry) -> Choice {
    Choice {
        id: entry.customer_id.to_string(),
        name: entry.name,
        phone: entry.phone.map(|p| p.masked()).unwrap_or_default(),
    }
}

async fn find(state: &AppState, actor: &Actor, q: &str) -> Result<Vec<SearchEntry>, Error> {
    if q.trim().chars().count() < 2 {
        return Ok(Vec::new());
    }
    match state.vouch.search_customers(&actor.business_id, q).await {
        Err(Error::Validation(_)) => Ok(Vec::new()),
        other => other,
    }
}

async fn render_page(
    state: &AppState,
    actor: &Actor,
    query: SearchQuery,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let lead_q = query.lead_q.unwrap_or_default().trim().to_owned();
    let referrer_q = query.referrer_q.unwrap_or_default().trim().to_owned();
    let (leads, referrers) = match (
        find(state, actor, &lead_q).await,
        find(state, actor, &referrer_q).await,
    ) {
        (Ok(leads), Ok(referrers)) => (leads, referrers),
        (Err(err), _) | (_, Err(err)) => return problem(err),
    };
    let page = AttributePage {
        shell: Shell::of(actor, "attribute"),
        searched: !lead_q.is_empty() || !referrer_q.is_empty(),
        lead_q,
        referrer_q,
        leads: leads.into_iter().map(choice).collect(),
        referrers: referrers
            .into_iter()
            .filter(|r| r.enrolled)
            .map(choice)
            .collect(),
        error,
    };
    super::show(&page, status)
}

/// `GET /admin/attribute?lead_q=&referrer_q=`.
pub async fn page(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query
        .and_then(|q| serde_urlencoded::from_str::<SearchQuery>(&q).ok())
        .unwrap_or_default();
    render_page(&state, &actor, query, None, StatusCode::OK).await
}

/// `POST /admin/attribute`: `lead_customer_id`, `referrer_customer_id`, `override`.
pub async fn attribute(State(state): State<AppState>, posted: Posted) -> Response {
    let acting = state.vouch.acting_as(&posted.actor.label());
    let result = acting
        .attribute(
            &posted.actor.business_id,
            posted.field("lead_customer_id"),
            posted.field("referrer_customer_id"),
            posted.field("override") == "yes",
        )
        .await;
    let refused = |text: String, status| async move {
        let query = SearchQuery::default();
        render_page(&state, &posted.actor, query, Some(text), status).await
    };
    match result {
        Ok(referral) => Redirect::to(&format!(
            "/admin/participants/{}",
            referral
                .referrer_id()
                .map(ToString::to_string)
                .unwrap_or_default()
        ))
        .into_response(),
        Err(Error::Validation(fields)) => {
            let reasons: Vec<_> = fields
                .iter()
                .map(|(f, r)| format!("{} {r}", f.replace('_', " ")))
                .collect();
            refused(
                format!("Not credited: {}.", reasons.join("; ")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(Error::Conflict { message, .. }) => {
            refused(
                format!(
                    "Not credited: {message}. Tick “Replace an earlier attribution” to change it."
                ),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(err) => problem(err),
    }
}
