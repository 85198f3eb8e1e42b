//! Staff's reports (admin-api): the summary of a range of days (JSON or CSV), the monthly
//! reports the scheduler keeps, and the leaderboard.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vouch_domain::Error;
use vouch_domain::app::Board;
use vouch_domain::model::report::{
    ChannelRow, Funnel, MonthRow, MonthlyReport, SourceRow, Summary, TopReferrer,
};

use super::Admin;
use crate::dto::{rfc3339, schema};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryOf;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/reports/summary", get(summary))
        .route("/api/admin/reports/monthly", get(months))
        .route("/api/admin/reports/monthly/{month}", get(monthly))
        .route("/api/admin/leaderboard", get(leaderboard))
}

/// The funnel: how many were invited, enrolled, clicked, came, were accepted, qualified and
/// were rewarded.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct FunnelView {
    pub invited: i64,
    pub participants: i64,
    pub clicks: i64,
    pub leads: i64,
    pub referrals: i64,
    pub qualified: i64,
    pub rewarded: i64,
}

impl From<Funnel> for FunnelView {
    fn from(f: Funnel) -> Self {
        Self {
            invited: f.invited,
            participants: f.participants,
            clicks: f.clicks,
            leads: f.leads,
            referrals: f.referrals,
            qualified: f.qualified,
            rewarded: f.rewarded,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversionView {
    /// Leads per click; `null` without clicks.
    pub click_to_lead: Option<f64>,
    /// Qualified referrals per lead; `null` without leads.
    pub lead_to_qualified: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    #[schema(schema_with = schema::source)]
    pub source: String,
    pub leads: i64,
    pub qualified: i64,
    pub revenue_cents: i64,
}

impl From<SourceRow> for SourceView {
    fn from(r: SourceRow) -> Self {
        Self {
            source: r.source.as_str().to_owned(),
            leads: r.leads,
            qualified: r.qualified,
            revenue_cents: r.revenue_cents,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Where the link was shared; `none` when no click was behind it (a typed code, a
    /// mention, a phone-in, staff).
    #[schema(schema_with = schema::report_channel)]
    pub channel: String,
    pub clicks: i64,
    pub leads: i64,
    pub qualified: i64,
}

impl From<ChannelRow> for ChannelView {
    fn from(r: ChannelRow) -> Self {
        Self {
            channel: r.channel.map_or("none", |c| c.as_str()).to_owned(),
            clicks: r.clicks,
            leads: r.leads,
            qualified: r.qualified,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonthView {
    /// `YYYY-MM`
    pub month: String,
    #[serde(flatten)]
    pub funnel: FunnelView,
    pub revenue_attributed_cents: i64,
    pub reward_cost_cents: i64,
}

impl From<MonthRow> for MonthView {
    fn from(r: MonthRow) -> Self {
        Self {
            month: r.month.to_string(),
            funnel: r.funnel.into(),
            revenue_attributed_cents: r.revenue_attributed_cents,
            reward_cost_cents: r.reward_cost_cents,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopReferrerView {
    pub customer_id: String,
    pub name: String,
    pub qualified: i64,
    pub revenue_cents: i64,
    pub rewards_cents: i64,
}

impl From<TopReferrer> for TopReferrerView {
    fn from(r: TopReferrer) -> Self {
        Self {
            customer_id: r.customer_id.to_string(),
            name: r.name,
            qualified: r.qualified,
            revenue_cents: r.revenue_cents,
            rewards_cents: r.rewards_cents,
        }
    }
}

/// What the program did over a range of days, in the business's time zone. Served from
/// counters kept when things happened.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    /// The first day, `YYYY-MM-DD`.
    pub from: String,
    /// The last day, inclusive.
    pub to: String,
    pub currency: String,
    pub funnel: FunnelView,
    pub conversion: ConversionView,
    /// Invoice totals of the referrals that qualified in the range.
    pub revenue_attributed_cents: i64,
    /// Revenue per qualified referral; `null` without one.
    pub average_job_cents: Option<i64>,
    /// Rewards given (amounts; a percent discount valued at the qualifying invoice).
    pub reward_cost_cents: i64,
    /// (revenue − reward cost) / reward cost; `null` when nothing was spent.
    pub roi: Option<f64>,
    pub by_source: Vec<SourceView>,
    pub by_channel: Vec<ChannelView>,
    pub by_month: Vec<MonthView>,
    pub top_referrers: Vec<TopReferrerView>,
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        Self {
            from: s.from.to_string(),
            to: s.to.to_string(),
            currency: s.currency,
            funnel: s.funnel.into(),
            conversion: ConversionView {
                click_to_lead: s.conversion.click_to_lead,
                lead_to_qualified: s.conversion.lead_to_qualified,
            },
            revenue_attributed_cents: s.revenue_attributed_cents,
            average_job_cents: s.average_job_cents,
            reward_cost_cents: s.reward_cost_cents,
            roi: s.roi,
            by_source: s.by_source.into_iter().map(Into::into).collect(),
            by_channel: s.by_channel.into_iter().map(Into::into).collect(),
            by_month: s.by_month.into_iter().map(Into::into).collect(),
            top_referrers: s.top_referrers.into_iter().map(Into::into).collect(),
        }
    }
}

/// A month's report as kept: the month's summary and what stands out in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthlyReportView {
    /// `YYYY-MM`
    pub month: String,
    pub generated_at: String,
    #[serde(flatten)]
    pub summary: SummaryView,
    /// Plain sentences computed from the figures: tiers that brought no repeat referrals,
    /// channels with clicks and no leads, falling conversion, dormant referrers, approvals
    /// and reviews waiting more than a week.
    pub findings: Vec<String>,
}

impl From<MonthlyReport> for MonthlyReportView {
    fn from(r: MonthlyReport) -> Self {
        Self {
            month: r.month.to_string(),
            generated_at: rfc3339(r.generated_at),
            summary: r.summary.into(),
            findings: r.findings,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportMonthView {
    /// `YYYY-MM`
    pub month: String,
    /// Where the report is.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportMonthsView {
    /// Newest first.
    pub items: Vec<ReportMonthView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderView {
    pub rank: u32,
    pub customer_id: String,
    pub name: String,
    /// Qualified referrals in the period.
    pub qualified: u32,
    /// Reward value earned in the period.
    pub rewards_earned_cents: i64,
    pub vip: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardView {
    #[schema(schema_with = schema::period)]
    pub period: String,
    /// Most qualified referrals first; ties: who reached the count first.
    pub items: Vec<LeaderView>,
}

impl From<Board> for LeaderboardView {
    fn from(board: Board) -> Self {
        Self {
            period: board.period.as_str().to_owned(),
            items: board
                .items
                .into_iter()
                .map(|ranked| LeaderView {
                    rank: ranked.rank,
                    customer_id: ranked.row.customer_id.to_string(),
                    name: vouch_domain::values::person::full_name(
                        &ranked.row.first_name,
                        ranked.row.last_name.as_ref(),
                    ),
                    qualified: ranked.row.qualified,
                    rewards_earned_cents: ranked.row.rewards_earned_cents,
                    vip: ranked.vip,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The first local day, `YYYY-MM-DD` (default: the 1st of this month).
    #[param(schema_with = schema::date)]
    pub from: Option<String>,
    /// The last local day, inclusive (default: the end of this month); at most 400 days after
    /// `from`.
    #[param(schema_with = schema::date)]
    pub to: Option<String>,
    /// `csv` for a spreadsheet (as does `Accept: text/csv`).
    #[param(schema_with = schema::report_format)]
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `csv` for a spreadsheet (as does `Accept: text/csv`).
    #[param(schema_with = schema::report_format)]
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// `all` (default), `year` or `month`: the current one, in the business's time zone.
    #[param(schema_with = schema::period)]
    pub period: Option<String>,
    /// How many rows (default 10, at most 100).
    #[param(schema_with = schema::board_size)]
    pub limit: Option<u32>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MonthPath {
    /// `YYYY-MM`
    #[param(schema_with = schema::month)]
    pub month: String,
}

/// Whether the caller asked for CSV: `format=csv`, or `Accept: text/csv`.
fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(Error::field("format", "must be json or csv").into()),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/csv"))),
    }
}

#[utoipa::path(
    get, path = "/api/admin/reports/summary", tag = "admin", security(("admin_key" = [])),
    params(SummaryQuery),
    responses(
        (status = 200, description = "The summary: JSON, or with `format=csv` / `Accept: text/csv` one CSV with a header row (a `section` column: total, month, source, channel, referrer)",
            content((SummaryView = "application/json"), (String = "text/csv"))),
        (status = 422, body = ErrorBody, description = "A bad date, `from` after `to`, or more than 400 days"),
    )
)]
pub async fn summary(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    QueryOf(query): QueryOf<SummaryQuery>,
) -> ApiResult<Response> {
    let csv = wants_csv(query.format.as_deref(), &headers)?;
    let summary = state
        .vouch
        .summary(&business, query.from.as_deref(), query.to.as_deref())
        .await?;
    if csv {
        let name = format!("vouch-summary-{}-{}.csv", summary.from, summary.to);
        return Ok(crate::dto::csv::response(
            &name,
            &crate::dto::csv::summary(&summary)?,
        ));
    }
    Ok(Json(SummaryView::from(summary)).into_response())
}

#[utoipa::path(
    get, path = "/api/admin/reports/monthly", tag = "admin", security(("admin_key" = [])),
    responses((status = 200, body = ReportMonthsView))
)]
pub async fn months(
    State(state): State<AppState>,
    Admin(business): Admin,
) -> ApiResult<Json<ReportMonthsView>> {
    let months = state.vouch.report_months(&business).await?;
    Ok(Json(ReportMonthsView {
        items: months
            .into_iter()
            .map(|m| ReportMonthView {
                url: format!("/api/admin/reports/monthly/{m}"),
                month: m.to_string(),
            })
            .collect(),
    }))
}

#[utoipa::path(
    get, path = "/api/admin/reports/monthly/{month}", tag = "admin", security(("admin_key" = [])),
    params(MonthPath, FormatQuery),
    responses(
        (status = 200, description = "The month's report: JSON, or CSV like the summary's with a `finding` section",
            content((MonthlyReportView = "application/json"), (String = "text/csv"))),
        (status = 404, body = ErrorBody, description = "No report was written for that month"),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn monthly(
    State(state): State<AppState>,
    Admin(business): Admin,
    headers: HeaderMap,
    Path(month): Path<String>,
    QueryOf(query): QueryOf<FormatQuery>,
) -> ApiResult<Response> {
    let csv = wants_csv(query.format.as_deref(), &headers)?;
    let report = state.vouch.monthly_report(&business, &month).await?;
    if csv {
        let name = format!("vouch-report-{}.csv", report.month);
        return Ok(crate::dto::csv::response(
            &name,
            &crate::dto::csv::monthly(&report)?,
        ));
    }
    Ok(Json(MonthlyReportView::from(report)).into_response())
}

#[utoipa::path(
    get, path = "/api/admin/leaderboard", tag = "admin", security(("admin_key" = [])),
    params(LeaderboardQuery),
    responses((status = 200, body = LeaderboardView), (status = 422, body = ErrorBody))
)]
pub async fn leaderboard(
    State(state): State<AppState>,
    Admin(business): Admin,
    QueryOf(query): QueryOf<LeaderboardQuery>,
) -> ApiResult<Json<LeaderboardView>> {
    let board = state
        .vouch
        .leaderboard(&business, query.period.as_deref(), query.limit)
        .await?;
    Ok(Json(board.into()))
}
