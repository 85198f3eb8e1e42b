//! Participants: the list (newest or most closed first), customer search, manual enrolment,
//! and one participant's page (link, QR, referrals, rewards, credit ledger, own reward).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vouch_domain::Error;
use vouch_domain::app::EnrolRequest;
use vouch_domain::model::contact::CustomerInput;
use vouch_domain::model::participant::{Participant, ParticipantSort};
use vouch_domain::model::reward::RewardOverride;
use vouch_domain::model::settings::RewardType;
use vouch_domain::model::staff::Actor;
use vouch_domain::values::money::{Currency, Money};

use super::{Posted, Shell, Staffer, money, problem, reward_value};
use crate::state::AppState;

pub struct Row {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub code: String,
    pub clicks: u64,
    pub closed: u64,
    pub vip: bool,
}

pub struct Found {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub enrolled: bool,
}

/// The manual enrolment form as typed, with a reason per field.
#[derive(Default)]
pub struct EnrolForm {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
    pub consent: bool,
    pub invite: bool,
    pub errors: BTreeMap<String, String>,
}

#[derive(Template)]
#[template(path = "admin/participants.html")]
struct ListPage {
    shell: Shell,
    q: String,
    results: Option<Vec<Found>>,
    sort: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
    form: EnrolForm,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub q: Option<String>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%b %-d, %Y").to_string()
}

async fn vip_after(state: &AppState, actor: &Actor) -> Result<(u32, Currency), Response> {
    match state.vouch.business(&actor.business_id).await {
        Ok(Some(b)) => Ok((b.settings.vip_after, b.settings.currency.clone())),
        Ok(None) => Err(problem(Error::NotFound("business"))),
        Err(err) => Err(problem(err)),
    }
}

async fn list_page(
    state: &AppState,
    actor: &Actor,
    query: ListQuery,
    form: EnrolForm,
    status: StatusCode,
) -> Response {
    let q = query.q.unwrap_or_default().trim().to_owned();
    let results = if q.is_empty() {
        None
    } else {
        match state.vouch.search_customers(&actor.business_id, &q).await {
            Ok(found) => Some(
                found
                    .into_iter()
                    .map(|f| Found {
                        id: f.customer_id.to_string(),
                        name: f.name,
                        phone: f.phone.map(|p| p.masked()).unwrap_or_default(),
                        enrolled: f.enrolled,
                    })
                    .collect(),
            ),
            Err(Error::Validation(_)) => Some(Vec::new()),
            Err(err) => return problem(err),
        }
    };
    let sort = match query.sort.as_deref() {
        Some("closed") => ParticipantSort::Closed,
        _ => ParticipantSort::Recent,
    };
    let (vip_after, _) = match vip_after(state, actor).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let (rows, next) = if results.is_some() {
        (Vec::new(), None)
    } else {
        let listed = state
            .vouch
            .participants(&actor.business_id, sort, Some(25), query.cursor.as_deref())
            .await;
        // A cursor this list did not issue starts from the top.
        let listed = match listed {
            Err(Error::BadRequest(_)) => {
                state
                    .vouch
                    .participants(&actor.business_id, sort, Some(25), None)
                    .await
            }
            other => other,
        };
        match listed {
            Ok((participants, next)) => (
                participants.iter().map(|p| row(p, vip_after)).collect(),
                next,
            ),
            Err(err) => return problem(err),
        }
    };
    let page = ListPage {
        shell: Shell::of(actor, "participants"),
        q,
        results,
        sort: match sort {
            ParticipantSort::Closed => "closed",
            ParticipantSort::Recent => "recent",
        },
        rows,
        next,
        form,
    };
    super::show(&page, status)
}

fn row(p: &Participant, vip_after: u32) -> Row {
    Row {
        id: p.customer_id.to_string(),
        name: p.full_name(),
        phone: p.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
        code: p.code.to_string(),
        clicks: p.stats.clicks,
        closed: p.stats.closed,
        vip: p.is_vip(vip_after),
    }
}

/// `GET /admin/participants?sort=&cursor=&q=`.
pub async fn list(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query
        .and_then(|q| serde_urlencoded::from_str::<ListQuery>(&q).ok())
        .unwrap_or_default();
    list_page(&state, &actor, query, EnrolForm::default(), StatusCode::OK).await
}

/// `POST /admin/participants`: a customer found by search (`customer_id`), or one typed in.
pub async fn enrol(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    let field = |name: &str| posted.field(name).trim().to_owned();
    let optional = |name: &str| Some(field(name)).filter(|v| !v.is_empty());
    let mut form = EnrolForm {
        id: field("id"),
        first_name: field("first_name"),
        last_name: field("last_name"),
        phone: field("phone"),
        email: field("email"),
        consent: posted.field("sms_consent") == "yes",
        invite: posted.field("send_invitation") == "yes",
        errors: BTreeMap::new(),
    };
    let request = match optional("customer_id") {
        Some(customer_id) => EnrolRequest {
            customer_id: Some(customer_id),
            ..EnrolRequest::default()
        },
        None => EnrolRequest {
            customer: Some(CustomerInput {
                id: form.id.clone(),
                first_name: form.first_name.clone(),
                last_name: optional("last_name"),
                phone: optional("phone"),
                email: optional("email"),
                sms_consent: Some(form.consent),
                ..CustomerInput::default()
            }),
            send_invitation: form.invite,
            ..EnrolRequest::default()
        },
    };
    let link_base = state.link_base(&headers);
    match state
        .vouch
        .enrol(&posted.actor.business_id, request, &link_base)
        .await
    {
        Ok((participant, _)) => {
            Redirect::to(&format!("/admin/participants/{}", participant.customer_id))
                .into_response()
        }
        Err(Error::Validation(errors)) => {
            form.errors = errors
                .into_iter()
                .map(|(field, reason)| {
                    let known = field.starts_with("customer.");
                    (if known { field } else { String::new() }, reason)
                })
                .collect();
            let query = ListQuery::default();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            list_page(&state, &posted.actor, query, form, status).await
        }
        Err(err) => problem(err),
    }
}

pub struct ReferralLine {
    pub lead: String,
    pub status: &'static str,
    pub source: &'static str,
    pub when: String,
}

pub struct RewardLine {
    pub value: String,
    pub status: &'static str,
    pub description: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "admin/participant.html")]
struct DetailPage {
    shell: Shell,
    id: String,
    name: String,
    phone: String,
    enrolled: String,
    vip: bool,
    code: String,
    link: String,
    status_url: String,
    clicks: u64,
    referral_count: u64,
    closed: u64,
    earned: String,
    pending: String,
    balance: String,
    referrals: Vec<ReferralLine>,
    rewards: Vec<RewardLine>,
    ledger: Vec<String>,
    own_reward: Option<String>,
    override_error: Option<String>,
}

async fn detail_page(
    state: &AppState,
    headers: &HeaderMap,
    actor: &Actor,
    customer: &str,
    override_error: Option<String>,
) -> Response {
    let business = &actor.business_id;
    let participant = match state.vouch.participant(business, customer).await {
        Ok(p) => p,
        Err(err) => return problem(err),
    };
    let known = match state.vouch.business(business).await {
        Ok(Some(known)) => known,
        Ok(None) => return problem(Error::NotFound("business")),
        Err(err) => return problem(err),
    };
    let (vip_after, currency) = (known.settings.vip_after, known.settings.currency.clone());
    let id = &participant.customer_id;
    let status_url = state
        .vouch
        .status_url(&known, id, &state.link_base(headers));
    let referrals = state.vouch.referrals_by(business, id).await;
    let rewards = state.vouch.rewards_of(business, id).await;
    let ledger = state.vouch.ledger(business, id).await;
    let (referrals, rewards, (ledger, balance)) = match (referrals, rewards, ledger) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(err), ..) | (_, Err(err), _) | (.., Err(err)) => return problem(err),
    };
    let own_reward = participant.reward_override.as_ref().map(|own| {
        let value = match (own.amount_cents, own.percent) {
            (Some(amount), _) => amount.display(&currency),
            (None, Some(percent)) => format!("{percent}% off"),
            (None, None) => String::new(),
        };
        format!("{value} {}", own.description).trim().to_owned()
    });
    let status = if override_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = DetailPage {
        shell: Shell::of(actor, "participants"),
        id: id.to_string(),
        name: participant.full_name(),
        phone: participant
            .phone
            .as_ref()
            .map(|p| p.masked())
            .unwrap_or_else(|| "no phone".into()),
        enrolled: when(participant.enrolled_at),
        vip: participant.is_vip(vip_after),
        code: participant.code.to_string(),
        link: state.link(headers, &participant.code),
        status_url,
        clicks: participant.stats.clicks,
        referral_count: participant.stats.referrals,
        closed: participant.stats.closed,
        earned: money(participant.stats.rewards_earned_cents, &currency),
        pending: money(participant.stats.rewards_pending_cents, &currency),
        balance: money(balance, &currency),
        referrals: referrals
            .iter()
            .map(|r| ReferralLine {
                lead: r.lead.name.clone(),
                status: r.status.as_str(),
                source: r.source.as_str(),
                when: when(r.created_at),
            })
            .collect(),
        rewards: rewards
            .iter()
            .map(|r| RewardLine {
                value: reward_value(r, &currency),
                status: r.status.as_str(),
                description: r.description.clone(),
                when: when(r.created_at),
            })
            .collect(),
        ledger: ledger
            .iter()
            .map(|e| {
                let sign = if e.amount_cents < 0 { "−" } else { "+" };
                format!(
                    "{}: {sign}{}",
                    when(e.at),
                    money(e.amount_cents.abs(), &currency)
                )
            })
            .collect(),
        own_reward,
        override_error,
    };
    super::show(&page, status)
}

/// `GET /admin/participants/{customer_id}`.
pub async fn detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Staffer(actor): Staffer,
    Path(customer): Path<String>,
) -> Response {
    detail_page(&state, &headers, &actor, &customer, None).await
}

/// Dollars as typed ("25", "25.50", "$1,200") in cents.
pub(crate) fn cents(raw: &str) -> Option<i64> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, '$' | ',' | ' '))
        .collect();
    if !cleaned.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 2 {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

/// `POST /admin/participants/{customer_id}/reward`: their own reward, or the program's tiers.
pub async fn set_reward(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(customer): Path<String>,
    posted: Posted,
) -> Response {
    let kind = posted.field("type");
    let own = if kind.is_empty() {
        None
    } else {
        let invalid = |text: &str| Some(text.to_owned());
        let Some(kind) = RewardType::ALL.into_iter().find(|t| {
            serde_json::to_value(t)
                .ok()
                .as_ref()
                .and_then(|v| v.as_str())
                == Some(kind)
        }) else {
            return detail_page(
                &state,
                &headers,
                &posted.actor,
                &customer,
                invalid("Choose a reward type."),
            )
            .await;
        };
        let amount = Some(posted.field("amount").trim()).filter(|a| !a.is_empty());
        let amount_cents = match amount.map(|a| cents(a).and_then(|c| Money::from_cents(c).ok())) {
            Some(None) => {
                return detail_page(
                    &state,
                    &headers,
                    &posted.actor,
                    &customer,
                    invalid("The amount should be in dollars, like 25 or 25.50."),
                )
                .await;
            }
            Some(Some(money)) => Some(money),
            None => None,
        };
        let percent = Some(posted.field("percent").trim()).filter(|p| !p.is_empty());
        let percent = match percent.map(str::parse::<u8>) {
            Some(Err(_)) => {
                return detail_page(
                    &state,
                    &headers,
                    &posted.actor,
                    &customer,
                    invalid("The percent should be a whole number."),
                )
                .await;
            }
            Some(Ok(p)) => Some(p),
            None => None,
        };
        Some(RewardOverride {
            kind,
            amount_cents,
            percent,
            description: posted.field("description").trim().to_owned(),
        })
    };
    match state
        .vouch
        .set_reward_override(&posted.actor.business_id, &customer, own)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/participants/{customer}")).into_response(),
        Err(Error::Validation(fields)) => {
            let reasons: Vec<_> = fields
                .iter()
                .map(|(f, r)| {
                    format!(
                        "{} {r}",
                        f.trim_start_matches("reward_override.").replace('_', " ")
                    )
                })
                .collect();
            let text = format!("Not saved: {}.", reasons.join("; "));
            detail_page(&state, &headers, &posted.actor, &customer, Some(text)).await
        }
        Err(err) => problem(err),
    }
}

#[cfg(test)]
mod tests {
    use super::cents;

    #[test]
    fn dollars_as_typed_become_cents() {
        assert_eq!(cents("25"), Some(2500));
        assert_eq!(cents("25.5"), Some(2550));
        assert_eq!(cents("$1,200.05"), Some(120_005));
        assert_eq!(cents(".75"), Some(75));
        for bad in ["", ".", "1.234", "abc", "-5", "1e3"] {
            assert_eq!(cents(bad), None, "{bad}");
        }
    }
}
