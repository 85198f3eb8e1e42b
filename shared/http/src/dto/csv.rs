//! Reports as CSV for a spreadsheet: one file, one header row, a `section` column saying what
//! each row is (the range's total, a month, a source, a channel, a top referrer, a finding).
//! Cells a person typed (names) never start a formula.

use vouch_domain::model::report::{Funnel, MonthlyReport, Summary};

use crate::error::ApiError;

const HEADER: [&str; 17] = [
    "section",
    "key",
    "name",
    "invited",
    "participants",
    "clicks",
    "leads",
    "referrals",
    "qualified",
    "rewarded",
    "revenue_cents",
    "reward_cost_cents",
    "rewards_cents",
    "average_job_cents",
    "click_to_lead",
    "lead_to_qualified",
    "roi",
];

/// A spreadsheet would run `=…`, `+…`, `-…`, `@…` (and tab or carriage-return led cells) as a
/// formula: such text is kept as text with a leading apostrophe.
fn text(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

#[derive(Default)]
struct Row {
    cells: [String; 17],
}

impl Row {
    fn new(section: &str, key: &str) -> Self {
        let mut row = Self::default();
        row.cells[0] = section.to_owned();
        row.cells[1] = text(key);
        row
    }

    fn set(mut self, column: &str, value: impl ToString) -> Self {
        if let Some(i) = HEADER.iter().position(|c| *c == column) {
            self.cells[i] = value.to_string();
        }
        self
    }

    fn maybe(self, column: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.set(column, value),
            None => self,
        }
    }

    fn funnel(self, f: &Funnel) -> Self {
        self.set("invited", f.invited)
            .set("participants", f.participants)
            .set("clicks", f.clicks)
            .set("leads", f.leads)
            .set("referrals", f.referrals)
            .set("qualified", f.qualified)
            .set("rewarded", f.rewarded)
    }
}

fn rows(summary: &Summary) -> Vec<Row> {
    let mut rows = vec![
        Row::new("total", &format!("{}..{}", summary.from, summary.to))
            .funnel(&summary.funnel)
            .set("revenue_cents", summary.revenue_attributed_cents)
            .set("reward_cost_cents", summary.reward_cost_cents)
            .maybe("average_job_cents", summary.average_job_cents)
            .maybe("click_to_lead", summary.conversion.click_to_lead)
            .maybe("lead_to_qualified", summary.conversion.lead_to_qualified)
            .maybe("roi", summary.roi),
    ];
    for month in &summary.by_month {
        rows.push(
            Row::new("month", &month.month.to_string())
                .funnel(&month.funnel)
                .set("revenue_cents", month.revenue_attributed_cents)
                .set("reward_cost_cents", month.reward_cost_cents),
        );
    }
    for source in &summary.by_source {
        rows.push(
            Row::new("source", source.source.as_str())
                .set("leads", source.leads)
                .set("qualified", source.qualified)
                .set("revenue_cents", source.revenue_cents),
        );
    }
    for channel in &summary.by_channel {
        rows.push(
            Row::new("channel", channel.channel.map_or("none", |c| c.as_str()))
                .set("clicks", channel.clicks)
                .set("leads", channel.leads)
                .set("qualified", channel.qualified),
        );
    }
    for referrer in &summary.top_referrers {
        let mut row = Row::new("referrer", referrer.customer_id.as_str())
            .set("qualified", referrer.qualified)
            .set("revenue_cents", referrer.revenue_cents)
            .set("rewards_cents", referrer.rewards_cents);
        row.cells[2] = text(&referrer.name);
        rows.push(row);
    }
    rows
}

fn write(rows: &[Row]) -> Result<String, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |err: csv::Error| {
        ApiError::from(vouch_domain::Error::Unavailable(anyhow::anyhow!(
            "writing CSV: {err}"
        )))
    };
    writer.write_record(HEADER).map_err(failed)?;
    for row in rows {
        writer.write_record(&row.cells).map_err(failed)?;
    }
    let bytes = writer.into_inner().map_err(|err| {
        ApiError::from(vouch_domain::Error::Unavailable(anyhow::anyhow!(
            "writing CSV: {err}"
        )))
    })?;
    String::from_utf8(bytes).map_err(|err| {
        ApiError::from(vouch_domain::Error::Unavailable(anyhow::anyhow!(
            "CSV: {err}"
        )))
    })
}

pub fn summary(summary: &Summary) -> Result<String, ApiError> {
    write(&rows(summary))
}

/// A month's report: the summary's rows, then one row per finding (its text in `name`).
pub fn monthly(report: &MonthlyReport) -> Result<String, ApiError> {
    let mut rows = rows(&report.summary);
    for (i, finding) in report.findings.iter().enumerate() {
        let mut row = Row::new("finding", &(i + 1).to_string());
        row.cells[2] = text(finding);
        rows.push(row);
    }
    write(&rows)
}

/// A CSV download named `name`, never cached.
pub fn response(name: &str, body: &str) -> axum::response::Response {
    let mut response = axum::response::IntoResponse::into_response(body.to_owned());
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
