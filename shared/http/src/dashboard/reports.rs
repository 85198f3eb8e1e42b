//! The leaderboard and the reports: a range's summary with its chart and tables (each date's
//! reason beside it when the range is refused), its CSV, and the last monthly report's findings.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vouch_domain::Error;
use vouch_domain::model::report::{PeriodKind, Summary};
use vouch_domain::model::staff::Actor;
use vouch_domain::values::money::Currency;

use super::{Shell, Staffer, Tab, home, money, problem};
use crate::state::AppState;

fn page(template: &impl Template, status: StatusCode) -> Response {
    super::show(template, status)
}

async fn currency_of(state: &AppState, actor: &Actor) -> Result<(Currency, bool), Response> {
    match state.vouch.business(&actor.business_id).await {
        Ok(Some(b)) => Ok((b.settings.currency.clone(), b.settings.public_leaderboard)),
        Ok(None) => Err(problem(Error::NotFound("business"))),
        Err(err) => Err(problem(err)),
    }
}

pub struct BoardLine {
    pub rank: u32,
    pub id: String,
    pub name: String,
    pub qualified: u32,
    pub earned: String,
    pub vip: bool,
}

#[derive(Template)]
#[template(path = "admin/leaderboard.html")]
struct LeaderboardPage {
    shell: Shell,
    business_id: String,
    public: bool,
    tabs: Vec<Tab>,
    rows: Vec<BoardLine>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    pub period: Option<String>,
}

/// `GET /admin/leaderboard?period=all|year|month`.
pub async fn leaderboard(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query
        .and_then(|q| serde_urlencoded::from_str::<PeriodQuery>(&q).ok())
        .unwrap_or_default();
    let period = query
        .period
        .as_deref()
        .and_then(PeriodKind::parse)
        .unwrap_or(PeriodKind::All);
    let (currency, public) = match currency_of(&state, &actor).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let board = match state
        .vouch
        .leaderboard(&actor.business_id, Some(period.as_str()), Some(50))
        .await
    {
        Ok(board) => board,
        Err(err) => return problem(err),
    };
    let tabs = [
        (PeriodKind::All, "All time"),
        (PeriodKind::Year, "This year"),
        (PeriodKind::Month, "This month"),
    ];
    let view = LeaderboardPage {
        shell: Shell::of(&actor, "leaderboard"),
        business_id: actor.business_id.to_string(),
        public,
        tabs: tabs
            .iter()
            .map(|(kind, label)| Tab {
                key: kind.as_str(),
                label,
                current: *kind == period,
            })
            .collect(),
        rows: board
            .items
            .iter()
            .map(|r| BoardLine {
                rank: r.rank,
                id: r.row.customer_id.to_string(),
                name: vouch_domain::values::person::full_name(
                    &r.row.first_name,
                    r.row.last_name.as_ref(),
                ),
                qualified: r.row.qualified,
                earned: money(r.row.rewards_earned_cents, &currency),
                vip: r.vip,
            })
            .collect(),
    };
    page(&view, StatusCode::OK)
}

/// A summary laid out for the page.
pub struct ReportView {
    pub cards: Vec<(&'static str, String)>,
    pub chart: String,
    pub months: Vec<(String, i64, i64, i64, String)>,
    pub sources: Vec<(&'static str, i64, i64, String)>,
    pub channels: Vec<(&'static str, i64, i64, i64)>,
    pub top: Vec<(String, i64, String)>,
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

fn view(summary: &Summary, currency: &Currency) -> ReportView {
    let f = &summary.funnel;
    ReportView {
        cards: vec![
            ("Invited", f.invited.to_string()),
            ("Link clicks", f.clicks.to_string()),
            ("Leads", f.leads.to_string()),
            ("Qualified", f.qualified.to_string()),
            ("Click → lead", percent(summary.conversion.click_to_lead)),
            ("Lead → job", percent(summary.conversion.lead_to_qualified)),
            ("Revenue", money(summary.revenue_attributed_cents, currency)),
            (
                "Average job",
                summary
                    .average_job_cents
                    .map_or_else(|| "—".into(), |c| money(c, currency)),
            ),
            ("Reward cost", money(summary.reward_cost_cents, currency)),
            (
                "Return",
                summary
                    .roi
                    .map_or_else(|| "—".into(), |r| format!("{r:.1}×")),
            ),
        ],
        chart: home::chart(&summary.by_month),
        months: summary
            .by_month
            .iter()
            .map(|m| {
                (
                    m.month.to_string(),
                    m.funnel.clicks,
                    m.funnel.leads,
                    m.funnel.qualified,
                    money(m.revenue_attributed_cents, currency),
                )
            })
            .collect(),
        sources: summary
            .by_source
            .iter()
            .map(|s| {
                (
                    s.source.as_str(),
                    s.leads,
                    s.qualified,
                    money(s.revenue_cents, currency),
                )
            })
            .collect(),
        channels: summary
            .by_channel
            .iter()
            .map(|c| {
                (
                    c.channel.map_or("none", |c| c.as_str()),
                    c.clicks,
                    c.leads,
                    c.qualified,
                )
            })
            .collect(),
        top: summary
            .top_referrers
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.qualified,
                    money(t.revenue_cents, currency),
                )
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportsPage {
    shell: Shell,
    from: String,
    to: String,
    errors: BTreeMap<String, String>,
    report: Option<ReportView>,
    findings_month: String,
    findings: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn range(query: Option<String>) -> RangeQuery {
    let query = query
        .and_then(|q| serde_urlencoded::from_str::<RangeQuery>(&q).ok())
        .unwrap_or_default();
    let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    RangeQuery {
        from: given(query.from),
        to: given(query.to),
    }
}

/// `GET /admin/reports?from=&to=` (this month by default).
pub async fn reports(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let query = range(query);
    let (currency, _) = match currency_of(&state, &actor).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let summary = state
        .vouch
        .summary(
            &actor.business_id,
            query.from.as_deref(),
            query.to.as_deref(),
        )
        .await;
    let (report, errors, from, to, status) = match summary {
        Ok(summary) => (
            Some(view(&summary, &currency)),
            BTreeMap::new(),
            summary.from.to_string(),
            summary.to.to_string(),
            StatusCode::OK,
        ),
        Err(Error::Validation(errors)) => (
            None,
            errors,
            query.from.unwrap_or_default(),
            query.to.unwrap_or_default(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(err) => return problem(err),
    };
    let (findings_month, findings) = match latest_findings(&state, &actor).await {
        Ok(found) => found,
        Err(err) => return problem(err),
    };
    let view = ReportsPage {
        shell: Shell::of(&actor, "reports"),
        from,
        to,
        errors,
        report,
        findings_month,
        findings,
    };
    page(&view, status)
}

/// The last monthly report's findings, if one was written.
async fn latest_findings(state: &AppState, actor: &Actor) -> Result<(String, Vec<String>), Error> {
    let months = state.vouch.report_months(&actor.business_id).await?;
    let Some(latest) = months.first() else {
        return Ok((String::new(), Vec::new()));
    };
    let report = state
        .vouch
        .monthly_report(&actor.business_id, &latest.to_string())
        .await?;
    Ok((latest.to_string(), report.findings))
}

/// `GET /admin/reports.csv?from=&to=`: the same summary as CSV.
pub async fn reports_csv(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let query = range(query);
    match state
        .vouch
        .summary(
            &actor.business_id,
            query.from.as_deref(),
            query.to.as_deref(),
        )
        .await
    {
        Ok(summary) => match crate::dto::csv::summary(&summary) {
            Ok(body) => crate::dto::csv::response(
                &format!("vouch-summary-{}-to-{}.csv", summary.from, summary.to),
                &body,
            ),
            Err(err) => err.into_response(),
        },
        Err(err) => problem(err),
    }
}
