//! Rewards: by status, each with the moves its state allows (approve, mark issued, mark
//! redeemed, cancel) and an optional note; the history shows who did what.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_domain::Error;
use vouch_domain::model::reward::{GiftCardOrder, OrderState, Recipient, Reward, RewardStatus};
use vouch_domain::model::staff::Actor;
use vouch_domain::values::money::Currency;

use super::{Posted, Shell, Staffer, Tab, problem};
use crate::state::AppState;

/// The tabs: `(key, label)`; `all` lists every status.
const TABS: [(&str, &str); 6] = [
    ("pending", "Waiting approval"),
    ("approved", "Approved"),
    ("issued", "Issued"),
    ("redeemed", "Redeemed"),
    ("canceled", "Canceled"),
    ("all", "All"),
];

pub struct Move {
    pub to: &'static str,
    pub label: &'static str,
}

pub struct RewardItem {
    pub id: String,
    pub value: String,
    pub status: &'static str,
    pub recipient: String,
    pub description: String,
    pub code: Option<String>,
    pub created: String,
    pub release: Option<String>,
    pub audit: Vec<String>,
    pub moves: Vec<Move>,
    /// Where a gift card ordered from the provider stands, in words; `alert` when it failed.
    pub order: Option<(String, bool)>,
}

/// A gift-card order, as staff read it.
fn order_line(order: &GiftCardOrder) -> (String, bool) {
    let id = order
        .order_id
        .as_ref()
        .map(|id| format!(" (order {id})"))
        .unwrap_or_default();
    match order.state {
        OrderState::Ordering => (
            format!("Gift card to be ordered by {}", when(order.next_at)),
            false,
        ),
        OrderState::Ordered => (
            format!(
                "Gift card ordered{id}; waiting for delivery. To cancel, cancel the order in \
                 the provider's account too; do not buy another card."
            ),
            false,
        ),
        OrderState::Delivered => (format!("Gift card delivered{id}"), false),
        // An order the provider holds (delivery failed, or the last look went unanswered).
        OrderState::Failed if order.order_id.is_some() => (
            format!(
                "Gift card order{id} needs attention: {}. Checked again at {}. It is paid for: \
                 resend or cancel it in the provider's account rather than buying another.",
                order.reason.as_deref().unwrap_or("no reason given"),
                when(order.next_at)
            ),
            true,
        ),
        OrderState::Failed => (
            format!(
                "Gift card order failed: {}. Tried again at {}.",
                order.reason.as_deref().unwrap_or("no reason given"),
                when(order.next_at)
            ),
            true,
        ),
    }
}

#[derive(Template)]
#[template(path = "admin/rewards.html")]
struct RewardsPage {
    shell: Shell,
    tabs: Vec<Tab>,
    current: String,
    items: Vec<RewardItem>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RewardsQuery {
    pub status: Option<String>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%b %-d, %H:%M UTC").to_string()
}

fn moves(status: RewardStatus) -> Vec<Move> {
    [
        (RewardStatus::Approved, "Approve"),
        (RewardStatus::Issued, "Mark issued"),
        (RewardStatus::Redeemed, "Mark redeemed"),
        (RewardStatus::Canceled, "Cancel"),
    ]
    .into_iter()
    .filter(|(to, _)| status.staff_may_move_to(*to))
    .map(|(to, label)| Move {
        to: to.as_str(),
        label,
    })
    .collect()
}

fn item(reward: &Reward, name: Option<&String>, currency: &Currency) -> RewardItem {
    let value = super::reward_value(reward, currency);
    let person = name
        .cloned()
        .unwrap_or_else(|| reward.customer_id.to_string());
    let recipient = match reward.recipient {
        Recipient::Referrer => person,
        Recipient::Referee => format!("{person} (the friend)"),
    };
    RewardItem {
        id: reward.reward_id.clone(),
        value,
        status: reward.status.as_str(),
        recipient,
        description: reward.description.clone(),
        code: reward.code.clone(),
        created: when(reward.created_at),
        release: reward.release_at.map(when),
        audit: reward
            .audit
            .iter()
            .map(|change| {
                let note = change
                    .note
                    .as_ref()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default();
                format!(
                    "{}: {} by {}{note}",
                    when(change.at),
                    change.status.as_str(),
                    change.by
                )
            })
            .collect(),
        moves: moves(reward.status),
        order: reward.order.as_ref().map(order_line),
    }
}

async fn render_page(
    state: &AppState,
    actor: &Actor,
    current: &str,
    error: Option<String>,
) -> Response {
    let current = TABS
        .iter()
        .find(|(key, _)| *key == current)
        .map_or("pending", |(key, _)| *key);
    let filter = (current != "all").then_some(current);
    let business = match state.vouch.business(&actor.business_id).await {
        Ok(Some(business)) => business,
        Ok(None) => return problem(Error::NotFound("business")),
        Err(err) => return problem(err),
    };
    let rewards = match state
        .vouch
        .rewards(&actor.business_id, filter, Some(100), None)
        .await
    {
        Ok(page) => page.items,
        Err(err) => return problem(err),
    };
    let ids: Vec<_> = rewards.iter().map(|r| r.customer_id.clone()).collect();
    let names = match state
        .vouch
        .participant_names(&actor.business_id, &ids)
        .await
    {
        Ok(names) => names,
        Err(err) => return problem(err),
    };
    let currency = &business.settings.currency;
    let status = if error.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let page = RewardsPage {
        shell: Shell::of(actor, "rewards"),
        tabs: TABS
            .iter()
            .map(|(key, label)| Tab {
                key,
                label,
                current: *key == current,
            })
            .collect(),
        current: current.to_owned(),
        items: rewards
            .iter()
            .map(|r| item(r, names.get(&r.customer_id), currency))
            .collect(),
        error,
    };
    super::show(&page, status)
}

/// `GET /admin/rewards?status=`.
pub async fn page(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let current = query
        .and_then(|q| serde_urlencoded::from_str::<RewardsQuery>(&q).ok())
        .and_then(|q| q.status)
        .unwrap_or_else(|| "pending".into());
    render_page(&state, &actor, &current, None).await
}

/// `POST /admin/rewards/{id}`: `status` (the move), `note`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let note = Some(posted.field("note").trim())
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let back = posted.field("back").to_owned();
    let acting = state.vouch.acting_as(&posted.actor.label());
    let link_base = state.link_base(&axum::http::HeaderMap::new());
    match acting
        .move_reward(
            &posted.actor.business_id,
            &id,
            posted.field("status"),
            note,
            &link_base,
        )
        .await
    {
        Ok(_) => {
            let back = TABS
                .iter()
                .find(|(key, _)| *key == back)
                .map_or("pending", |(key, _)| *key);
            Redirect::to(&format!("/admin/rewards?status={back}")).into_response()
        }
        Err(Error::Conflict { message, .. }) => {
            render_page(
                &state,
                &posted.actor,
                &back,
                Some(format!("Not changed: {message}.")),
            )
            .await
        }
        Err(Error::Validation(fields)) => {
            let reasons: Vec<_> = fields.iter().map(|(f, r)| format!("{f} {r}")).collect();
            let text = format!("Not changed: {}.", reasons.join("; "));
            render_page(&state, &posted.actor, &back, Some(text)).await
        }
        Err(err) => problem(err),
    }
}
