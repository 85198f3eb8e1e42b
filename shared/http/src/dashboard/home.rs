//! The dashboard's home: this month against last (invited, clicks, leads, qualified, rewards,
//! revenue) and a chart of the last six months, from the report figures (one Query).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use plotters::prelude::{
    BLACK, ChartBuilder, Color, IntoDrawingArea, RGBColor, Rectangle, SVGBackend, WHITE,
};
use vouch_domain::model::report::{Funnel, MonthRow};
use vouch_domain::values::money::Currency;

use super::{Shell, Staffer, problem};
use crate::state::AppState;

/// Months charted on the home page.
const CHARTED_MONTHS: u32 = 6;
const LEADS: RGBColor = RGBColor(0x9e, 0xc5, 0xee);
const QUALIFIED: RGBColor = RGBColor(0x0b, 0x6b, 0xcb);

pub struct StatCard {
    pub label: &'static str,
    pub now: String,
    pub before: String,
    /// `up`, `down` or `same`: the class of the comparison.
    pub trend: &'static str,
}

pub struct MonthColumn {
    pub label: String,
    pub leads: i64,
    pub qualified: i64,
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    shell: Shell,
    business_name: String,
    this_month: String,
    last_month: String,
    last_month_short: String,
    cards: Vec<StatCard>,
    months: Vec<MonthColumn>,
    /// The SVG drawn here from numbers only (nothing user-supplied in it).
    chart: String,
}

pub async fn page(State(state): State<AppState>, Staffer(actor): Staffer) -> Response {
    let business = match state.vouch.business(&actor.business_id).await {
        Ok(Some(business)) => business,
        Ok(None) => return problem(vouch_domain::Error::NotFound("business")),
        Err(err) => return problem(err),
    };
    let summary = match state
        .vouch
        .recent_months(&actor.business_id, CHARTED_MONTHS)
        .await
    {
        Ok(summary) => summary,
        Err(err) => return problem(err),
    };
    let rows = &summary.by_month;
    let empty = MonthRow {
        month: vouch_domain::model::report::Month { year: 0, month: 1 },
        funnel: Funnel::default(),
        revenue_attributed_cents: 0,
        reward_cost_cents: 0,
    };
    let now = rows.last().unwrap_or(&empty);
    let before = rows
        .len()
        .checked_sub(2)
        .and_then(|i| rows.get(i))
        .unwrap_or(&empty);
    let currency = &business.settings.currency;
    let page = HomePage {
        shell: Shell::of(&actor, "home"),
        business_name: business.settings.name.clone(),
        this_month: month_name(now, true),
        last_month: month_name(before, true),
        last_month_short: month_name(before, false),
        cards: cards(now, before, currency),
        months: rows
            .iter()
            .map(|row| MonthColumn {
                label: month_name(row, false),
                leads: row.funnel.leads,
                qualified: row.funnel.qualified,
            })
            .collect(),
        chart: chart(rows),
    };
    super::show(&page, StatusCode::OK)
}

fn month_name(row: &MonthRow, long: bool) -> String {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let index = usize::try_from(row.month.month.saturating_sub(1)).unwrap_or(0);
    let name = NAMES.get(index).copied().unwrap_or("");
    if long {
        format!("{name} {}", row.month.year)
    } else {
        name.chars().take(3).collect()
    }
}

fn cards(now: &MonthRow, before: &MonthRow, currency: &Currency) -> Vec<StatCard> {
    let money = |cents: i64| super::money(cents, currency);
    let count = |label, now: i64, before: i64| StatCard {
        label,
        now: now.to_string(),
        before: before.to_string(),
        trend: trend(now, before),
    };
    let (a, b) = (&now.funnel, &before.funnel);
    vec![
        count("Invited", a.invited, b.invited),
        count("Link clicks", a.clicks, b.clicks),
        count("Leads", a.leads, b.leads),
        count("Qualified", a.qualified, b.qualified),
        count("Rewards", a.rewarded, b.rewarded),
        StatCard {
            label: "Revenue",
            now: money(now.revenue_attributed_cents),
            before: money(before.revenue_attributed_cents),
            trend: trend(
                now.revenue_attributed_cents,
                before.revenue_attributed_cents,
            ),
        },
    ]
}

fn trend(now: i64, before: i64) -> &'static str {
    match now.cmp(&before) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "same",
    }
}

/// Leads and qualified referrals per month as paired bars, scaled to the busiest month. The
/// labels are the table under it (HTML), so the drawing needs no fonts.
pub(crate) fn chart(rows: &[MonthRow]) -> String {
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (600, 220)).into_drawing_area();
        root.fill(&WHITE)?;
        let highest = rows
            .iter()
            .map(|r| r.funnel.leads.max(r.funnel.qualified))
            .max()
            .unwrap_or(0)
            .max(1);
        let columns = rows.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .build_cartesian_2d(0f64..columns as f64, 0f64..highest as f64 * 1.05)?;
        let bar = |column: usize, left: f64, value: i64, color: RGBColor| {
            let x = column as f64;
            Rectangle::new(
                [(x + left, 0.0), (x + left + 0.36, value as f64)],
                color.filled(),
            )
        };
        chart.draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, row)| bar(i, 0.12, row.funnel.leads, LEADS)),
        )?;
        chart.draw_series(
            rows.iter()
                .enumerate()
                .map(|(i, row)| bar(i, 0.52, row.funnel.qualified, QUALIFIED)),
        )?;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (columns as f64, 0.0)],
            BLACK.stroke_width(1),
        )))?;
        root.present()?;
        Ok(())
    })();
    if let Err(err) = drawn {
        tracing::warn!(error = %err, "drawing the home chart");
        return String::new();
    }
    // Scale with the page: a viewBox instead of a fixed size.
    svg.replacen(
        "width=\"600\" height=\"220\"",
        "viewBox=\"0 0 600 220\" role=\"img\" aria-label=\"Leads and qualified referrals by month\"",
        1,
    )
}
