//! The referrer's own page (link-click): `GET /me/{token}` for the phone the text was sent to,
//! `GET /api/public/me/{token}` as JSON. The token is the whole credential: signed, checked
//! before anything is read, never cached by browsers or proxies. Friends appear as "Lead P."
//! with where they stand; never a phone, an email, a job amount or anyone else's data.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use utoipa::ToSchema;
use vouch_domain::Error;
use vouch_domain::app::ReferrerPage;

use crate::error::{ApiError, ErrorBody};
use crate::pages::{self, money};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/{token}", get(page))
        .route("/api/public/me/{token}", get(json))
}

/// Ready-made sharing links: each opens the app with the message filled in.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLinks {
    /// The message, with the link tagged `ch=sms`.
    pub text: String,
    /// `sms:?&body=…` — the form both iOS and Android read.
    pub sms: String,
    /// `https://wa.me/?text=…`
    pub whatsapp: String,
    /// `mailto:?subject=…&body=…`
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendView {
    /// "Lead P."
    pub name: String,
    /// `reached_out`, `job_booked`, `job_done` or `rewarded`.
    pub stage: String,
    /// When the friend reached out.
    pub since: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RewardTotalsView {
    pub earned_cents: i64,
    pub pending_cents: i64,
    pub redeemed_cents: i64,
    pub credit_balance_cents: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TierUpView {
    /// The friend (1st, 2nd, …) from whom the higher reward is paid.
    pub from_friend: u32,
    pub reward: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextRewardView {
    /// "One more friend and your next reward is $50 account credit."
    pub sentence: String,
    /// The next friend's reward, in words.
    pub next: String,
    pub tier_up: Option<TierUpView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VipView {
    pub vip: bool,
    /// Friends whose job is done that make a VIP.
    pub after: u32,
    /// Still to go (0 once VIP).
    pub to_go: u32,
}

/// A referrer's own page as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferrerPageView {
    pub business_name: String,
    pub first_name: String,
    pub code: String,
    pub link: String,
    pub qr_url: String,
    pub share: ShareLinks,
    /// Newest first; at most 100.
    pub friends: Vec<FriendView>,
    pub rewards: RewardTotalsView,
    pub next_reward: NextRewardView,
    pub vip: VipView,
    /// The promotion running now, in words ("Spring offer: $10 extra for every friend until
    /// Mar 31.").
    pub promotion: Option<String>,
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// The sharing links for `link` of a referrer of `business_name`.
pub fn share_links(business_name: &str, link: &str) -> ShareLinks {
    let message = |channel: &str| {
        format!("I recommend {business_name}! Book through my link: {link}?ch={channel}")
    };
    let text = message("sms");
    ShareLinks {
        sms: format!("sms:?&body={}", encode(&text)),
        whatsapp: format!("https://wa.me/?text={}", encode(&message("social"))),
        email: format!(
            "mailto:?subject={}&body={}",
            encode(&format!("I recommend {business_name}")),
            encode(&message("email"))
        ),
        text,
    }
}

impl ReferrerPageView {
    fn new(state: &AppState, headers: &HeaderMap, page: &ReferrerPage) -> Self {
        let participant = &page.participant;
        let settings = &page.business.settings;
        let link = state.link(headers, &participant.code);
        Self {
            business_name: settings.name.clone(),
            first_name: participant.first_name.as_str().to_owned(),
            code: participant.code.to_string(),
            share: share_links(&settings.name, &link),
            qr_url: state.qr_url(headers, &participant.code),
            link,
            friends: page
                .friends
                .iter()
                .map(|friend| FriendView {
                    name: friend.name.clone(),
                    stage: friend.stage.as_str().to_owned(),
                    since: crate::dto::rfc3339(friend.since),
                })
                .collect(),
            rewards: RewardTotalsView {
                earned_cents: page.totals.earned_cents,
                pending_cents: page.totals.pending_cents,
                redeemed_cents: page.totals.redeemed_cents,
                credit_balance_cents: page.totals.credit_balance_cents,
                currency: settings.currency.as_str().to_owned(),
            },
            next_reward: NextRewardView {
                sentence: page.next.sentence.clone(),
                next: page.next.next.clone(),
                tier_up: page
                    .next
                    .tier_up
                    .as_ref()
                    .map(|(from_friend, reward)| TierUpView {
                        from_friend: *from_friend,
                        reward: reward.clone(),
                    }),
            },
            vip: VipView {
                vip: page.vip,
                after: settings.vip_after,
                to_go: page.vip_to_go,
            },
            promotion: page.promotion.clone(),
        }
    }
}

fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

#[utoipa::path(
    get, path = "/api/public/me/{token}", tag = "public",
    params(("token" = String, Path, description = "The signed token of the referrer's page link")),
    responses(
        (status = 200, body = ReferrerPageView, description = "Never cached"),
        (status = 404, body = ErrorBody, description = "A token not signed here, revoked, or naming no participant"),
    )
)]
pub async fn json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let page = state.vouch.referrer_page(&token).await?;
    let view = ReferrerPageView::new(&state, &headers, &page);
    Ok(private(Json(view).into_response()))
}

struct Stat {
    label: &'static str,
    value: String,
}

struct FriendRow {
    name: String,
    label: &'static str,
    step: u8,
    since: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage<'a> {
    style: &'a str,
    script: &'a str,
    view: &'a ReferrerPageView,
    qr: String,
    stats: Vec<Stat>,
    friends: Vec<FriendRow>,
}

#[utoipa::path(
    get, path = "/me/{token}", tag = "public",
    params(("token" = String, Path, description = "The signed token of the referrer's page link")),
    responses(
        (status = 200, body = String, content_type = "text/html", description = "The referrer's page; never cached"),
        (status = 404, body = String, content_type = "text/html", description = "A token not signed here, revoked, or naming no participant"),
    )
)]
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let page = match state.vouch.referrer_page(&token).await {
        Ok(page) => page,
        Err(Error::NotFound(_)) => {
            return Ok(private(pages::not_found()?));
        }
        Err(err) => return Err(err.into()),
    };
    let view = ReferrerPageView::new(&state, &headers, &page);
    let currency = &page.business.settings.currency;
    let totals = &page.totals;
    let stats = vec![
        Stat {
            label: "Earned",
            value: money(totals.earned_cents, currency),
        },
        Stat {
            label: "On the way",
            value: money(totals.pending_cents, currency),
        },
        Stat {
            label: "Used",
            value: money(totals.redeemed_cents, currency),
        },
        Stat {
            label: "Credit to spend",
            value: money(totals.credit_balance_cents, currency),
        },
    ];
    let zone = page.business.settings.time_zone.tz();
    let friends = page
        .friends
        .iter()
        .map(|friend| FriendRow {
            name: friend.name.clone(),
            label: friend.stage.label(),
            step: friend.stage.step(),
            since: friend
                .since
                .with_timezone(&zone)
                .format("%b %-d")
                .to_string(),
        })
        .collect();
    let qr = pages::inline_qr_svg(&format!("{}?ch=qr", view.link))?;
    let body = pages::render(&MePage {
        style: pages::STYLE,
        script: pages::SCRIPT,
        view: &view,
        qr,
        stats,
        friends,
    })?;
    Ok(private(pages::html_with_script(
        StatusCode::OK,
        body,
        "private, no-store",
    )))
}
