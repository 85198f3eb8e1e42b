//! The public leaderboard (link-click): JSON for the business's own site and a page of its
//! own, when the business turned it on. Names are masked ("Maria G."); no ids, no money.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::cors::{Any, CorsLayer};
use utoipa::{IntoParams, ToSchema};
use vouch_domain::Error;
use vouch_domain::app::Board;
use vouch_domain::model::report::PeriodKind;

use crate::dto::params::BusinessPath;
use crate::dto::schema;
use crate::error::{ApiError, ErrorBody};
use crate::extract::QueryOf;
use crate::pages;
use crate::state::AppState;

/// How long browsers and caches may reuse a public leaderboard.
const CACHE: &str = "public, max-age=60";

pub fn routes() -> Router<AppState> {
    let open_cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET]);
    Router::new()
        .route(
            "/api/public/leaderboard/{business_id}",
            get(json).layer(open_cors),
        )
        .route("/leaderboard/{business_id}", get(page))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicLeaderView {
    pub rank: u32,
    /// "Maria G."
    pub name: String,
    pub qualified: u32,
    pub vip: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicLeaderboardView {
    pub business_name: String,
    #[schema(schema_with = schema::period)]
    pub period: String,
    pub items: Vec<PublicLeaderView>,
}

impl From<Board> for PublicLeaderboardView {
    fn from(board: Board) -> Self {
        Self {
            business_name: board.business_name.clone(),
            period: board.period.as_str().to_owned(),
            items: board
                .items
                .iter()
                .map(|ranked| PublicLeaderView {
                    rank: ranked.rank,
                    name: ranked.masked_name(),
                    qualified: ranked.row.qualified,
                    vip: ranked.vip,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// `all` (default), `year` or `month`.
    #[param(schema_with = schema::period)]
    pub period: Option<String>,
}

#[utoipa::path(
    get, path = "/api/public/leaderboard/{business_id}", tag = "public",
    params(BusinessPath, PeriodQuery),
    responses(
        (status = 200, body = PublicLeaderboardView, description = "CORS open to any origin; cached for a minute"),
        (status = 404, body = ErrorBody, description = "Unknown business, or its leaderboard is not public"),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn json(
    State(state): State<AppState>,
    Path(business_id): Path<String>,
    QueryOf(query): QueryOf<PeriodQuery>,
) -> Result<Response, ApiError> {
    let board = state
        .vouch
        .public_leaderboard(&business_id, query.period.as_deref())
        .await?;
    let mut response = Json(PublicLeaderboardView::from(board)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    Ok(response)
}

/// The page's period: people follow links by hand, so anything but `year` or `month` shows all
/// time rather than an error.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagePeriodQuery {
    /// `year` or `month`; anything else (or nothing) shows all time.
    pub period: Option<String>,
}

struct Tab {
    key: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "leaderboard.html")]
struct LeaderboardPage<'a> {
    style: &'a str,
    business_name: &'a str,
    period_text: &'a str,
    empty_text: &'a str,
    tabs: Vec<Tab>,
    rows: Vec<PublicLeaderView>,
}

#[utoipa::path(
    get, path = "/leaderboard/{business_id}", tag = "public",
    params(BusinessPath, PagePeriodQuery),
    responses(
        (status = 200, body = String, content_type = "text/html", description = "The leaderboard as a page; cached for a minute"),
        (status = 404, body = String, content_type = "text/html", description = "Unknown business, or its leaderboard is not public"),
    )
)]
pub async fn page(
    State(state): State<AppState>,
    Path(business_id): Path<String>,
    QueryOf(query): QueryOf<PagePeriodQuery>,
) -> Result<Response, ApiError> {
    let kind = query
        .period
        .as_deref()
        .and_then(PeriodKind::parse)
        .unwrap_or_default();
    let board = match state
        .vouch
        .public_leaderboard(&business_id, Some(kind.as_str()))
        .await
    {
        Ok(board) => board,
        Err(Error::NotFound(_)) => {
            return pages::not_found();
        }
        Err(err) => return Err(err.into()),
    };
    let (period_text, empty_text) = match kind {
        PeriodKind::All => ("Friends referred since the program began", "so far"),
        PeriodKind::Year => ("Friends referred this year", "this year"),
        PeriodKind::Month => ("Friends referred this month", "this month"),
    };
    let tabs = [
        (PeriodKind::All, "All time"),
        (PeriodKind::Year, "This year"),
        (PeriodKind::Month, "This month"),
    ]
    .into_iter()
    .map(|(k, label)| Tab {
        key: k.as_str(),
        label,
        current: k == kind,
    })
    .collect();
    let view = PublicLeaderboardView::from(board);
    let body = pages::render(&LeaderboardPage {
        style: pages::STYLE,
        business_name: &view.business_name,
        period_text,
        empty_text,
        tabs,
        rows: view.items,
    })?;
    Ok(pages::html(StatusCode::OK, body, CACHE))
}
