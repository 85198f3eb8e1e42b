//! The text outbox: what was sent, deferred or held back and why, with its segment count.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vouch_domain::model::message::{Message, Reason, Status};
use vouch_domain::ports::MessageFilter;

use super::{Shell, Staffer, Tab, problem};
use crate::state::AppState;

const TABS: [(&str, &str); 5] = [
    ("all", "All"),
    ("sent", "Sent"),
    ("deferred", "Waiting"),
    ("suppressed", "Not sent"),
    ("failed", "Failed"),
];

pub struct TextItem {
    pub purpose: &'static str,
    pub to: String,
    pub when: String,
    pub body: String,
    pub status: &'static str,
    pub problem: bool,
    pub reason: Option<&'static str>,
    pub segments: u32,
}

#[derive(Template)]
#[template(path = "admin/texts.html")]
struct TextsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    current: &'static str,
    items: Vec<TextItem>,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TextsQuery {
    pub status: Option<String>,
    pub cursor: Option<String>,
}

/// Why a text did not go, in the office's words.
pub fn reason_text(reason: Reason) -> &'static str {
    match reason {
        Reason::OptedOut => "they replied STOP",
        Reason::NoConsent => "no consent to texts",
        Reason::NoPhone => "no phone number",
        Reason::SmsDisabled => "texts are switched off",
        Reason::QuietHours => "waiting for the end of quiet hours",
        Reason::DailyCap => "their daily limit was reached",
        Reason::BusinessDailyCap => "the business's daily limit was reached",
        Reason::ProviderError => "the text provider refused it",
        Reason::InvalidNumber => "the number cannot receive texts",
    }
}

fn item(message: &Message) -> TextItem {
    TextItem {
        purpose: message.purpose.as_str(),
        to: message
            .to
            .as_ref()
            .map_or_else(|| "no number".to_owned(), |p| p.masked()),
        when: message
            .sent_at
            .unwrap_or(message.created_at)
            .format("%b %-d, %H:%M UTC")
            .to_string(),
        body: message.body.clone(),
        status: message.status.as_str(),
        problem: matches!(message.status, Status::Failed | Status::Suppressed),
        reason: message.reason.map(reason_text),
        segments: message.segments,
    }
}

/// `GET /admin/texts?status=&cursor=`.
pub async fn page(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query
        .and_then(|q| serde_urlencoded::from_str::<TextsQuery>(&q).ok())
        .unwrap_or_default();
    let current = TABS
        .iter()
        .find(|(key, _)| Some(*key) == query.status.as_deref())
        .map_or("all", |(key, _)| *key);
    let filter = MessageFilter {
        customer_id: None,
        status: Status::ALL.into_iter().find(|s| s.as_str() == current),
    };
    // A cursor this list did not issue starts from the newest.
    let cursor = query.cursor.filter(|c| ulid::Ulid::from_string(c).is_ok());
    let listed = state
        .vouch
        .messages(&actor.business_id, filter, Some(50), cursor.as_deref())
        .await;
    let page = match listed {
        Ok(page) => page,
        Err(err) => return problem(err),
    };
    let view = TextsPage {
        shell: Shell::of(&actor, "texts"),
        tabs: TABS
            .iter()
            .map(|(key, label)| Tab {
                key,
                label,
                current: *key == current,
            })
            .collect(),
        current,
        items: page.items.iter().map(item).collect(),
        next: page.next,
    };
    super::show(&view, StatusCode::OK)
}
