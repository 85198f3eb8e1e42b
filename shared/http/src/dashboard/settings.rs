//! Settings (owners): the program, its reward tiers, approval and hold, caps, texts and their
//! templates (with each one's segment count as a text would go out), quiet hours, the public
//! leaderboard and the lead limits. A refused save shows each field's reason beside it and
//! changes nothing.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};
use vouch_domain::Error;
use vouch_domain::model::message::{Encoding, encoding_and_segments, render as fill};
use vouch_domain::model::settings::Settings;
use vouch_domain::model::staff::Actor;

use super::{Posted, Shell, Staffer, problem, unless_owner};
use crate::dto::settings::complete;
use crate::state::AppState;

/// Tier rows shown: the program's, plus empty ones to add to, up to this many.
const TIER_ROWS: usize = 5;
const TEMPLATES: [(&str, &str); 7] = [
    ("invitation", "Invitation (after a happy job)"),
    ("acknowledgment", "Thank-you when a friend reaches out"),
    ("progress", "Progress (friend's job on its way or done)"),
    ("reward", "Reward earned"),
    ("thank_you", "Thank-you with the reward"),
    ("vip", "VIP (once, on reaching VIP)"),
    ("reengagement", "Re-engagement"),
];

pub struct TierRow {
    pub index: usize,
    pub from: String,
    pub amount: String,
    pub percent: String,
}

pub struct TemplateField {
    pub key: &'static str,
    pub label: &'static str,
    pub text: String,
    /// "1 segment · 132 characters as sent (GSM-7)".
    pub count: String,
}

/// The form's values as shown (as typed, after a refused save).
pub struct Values {
    pub fields: BTreeMap<String, String>,
    pub checked: BTreeMap<String, bool>,
    pub tiers: Vec<TierRow>,
    pub templates: Vec<TemplateField>,
}

impl Values {
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    pub fn on(&self, name: &str) -> bool {
        self.checked.get(name).copied().unwrap_or(false)
    }
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    shell: Shell,
    saved: bool,
    values: Values,
    errors: BTreeMap<String, String>,
    time_zone: String,
    integrations: IntegrationsCard,
}

/// The settings' integrations: whether Housecall Pro's signing secret is saved (never the
/// secret) and where Housecall Pro is told to send this business's deliveries; whether a
/// gift-card provider's API key is saved.
struct IntegrationsCard {
    connected: bool,
    url: String,
    gift_cards: bool,
    jobber: JobberCard,
}

/// Jobber on the settings page: whether the app's client id and secret are saved (never the
/// secret), the account connected with them, and the two URLs Jobber's Developer Center asks
/// for.
struct JobberCard {
    app_saved: bool,
    /// "Riverside Plumbing, by Olivia (owner) on 3 Dec 2026".
    connected: Option<String>,
    webhook_url: String,
    callback_url: String,
}

impl IntegrationsCard {
    async fn of(state: &AppState, headers: &HeaderMap, actor: &Actor, settings: &Settings) -> Self {
        let connection = match state.vouch.jobber_connection(&actor.business_id).await {
            Ok(connection) => connection,
            Err(err) => {
                tracing::warn!(error = %err, "reading the Jobber connection for the settings page");
                None
            }
        };
        let base = state.link_base(headers);
        Self {
            connected: settings.integrations.housecallpro.is_some(),
            gift_cards: settings.integrations.gift_cards.is_some(),
            url: format!("{base}/webhooks/{}/housecallpro", actor.business_id),
            jobber: JobberCard {
                app_saved: settings.integrations.jobber.is_some(),
                connected: connection.map(|c| {
                    format!(
                        "{}, by {} on {}",
                        c.account_name,
                        c.connected_by,
                        c.connected_at.format("%-d %b %Y")
                    )
                }),
                webhook_url: format!("{base}/webhooks/jobber"),
                callback_url: super::jobber::callback_url(state, headers),
            },
        }
    }
}

impl SettingsPage {
    fn err(&self, path: &str) -> Option<&String> {
        self.errors.get(path)
    }

    /// A tier row's reasons: (what, why).
    fn tier_errors(&self, index: &usize) -> Vec<(&'static str, &String)> {
        [
            ("from referral", "from_referral"),
            ("amount", "amount_cents"),
            ("percent", "percent"),
        ]
        .into_iter()
        .filter_map(|(label, part)| {
            self.errors
                .get(&format!("reward.tiers[{index}].{part}"))
                .map(|reason| (label, reason))
        })
        .collect()
    }

    fn template_error(&self, key: &str) -> Option<&String> {
        self.errors.get(&format!("sms.templates.{key}"))
    }
}

fn dollars(cents: i64) -> String {
    if cents % 100 == 0 {
        (cents / 100).to_string()
    } else {
        format!("{}.{:02}", cents / 100, cents % 100)
    }
}

/// How a template goes out: filled with typical values, its segments and characters.
fn count(template: &str, business_name: &str) -> String {
    let vars = BTreeMap::from([
        ("first_name", "Maria".to_owned()),
        ("friend_first_name", "Dana".to_owned()),
        ("business_name", business_name.to_owned()),
        ("link", "https://go.example.com/r/ABCD2345".to_owned()),
        ("code", "ABCD2345".to_owned()),
        ("reward", "$25 account credit".to_owned()),
        ("status", "complete".to_owned()),
    ]);
    let text = fill(template, &vars);
    let (encoding, segments) = encoding_and_segments(&text);
    let plural = if segments == 1 { "" } else { "s" };
    let encoding = match encoding {
        Encoding::Gsm7 => "GSM-7",
        Encoding::Ucs2 => "Unicode: 70 characters a segment",
    };
    format!(
        "{segments} segment{plural} · about {} characters as sent ({encoding})",
        text.chars().count()
    )
}

fn values_of(settings: &Settings) -> Values {
    let mut fields = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        fields.insert(k.to_owned(), v);
    };
    let gift_cards = settings.integrations.gift_cards.as_ref();
    put(
        "gc_funding_source",
        gift_cards.map_or("balance".into(), |g| g.funding_source_id.as_str().into()),
    );
    put(
        "gc_campaign",
        gift_cards
            .and_then(|g| g.campaign_id.as_ref())
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
    );
    put(
        "jb_client_id",
        settings
            .integrations
            .jobber
            .as_ref()
            .map(|j| j.client_id.as_str().to_owned())
            .unwrap_or_default(),
    );
    let as_text = |v: Value| v.as_str().map(str::to_owned).unwrap_or_default();
    put("name", settings.name.clone());
    put("landing_url", settings.landing_url.to_string());
    put(
        "satisfaction_threshold",
        settings.satisfaction_threshold.to_string(),
    );
    put(
        "qualifying_status",
        as_text(json!(settings.qualifying_status)),
    );
    put(
        "minimum_invoice",
        dollars(settings.minimum_invoice_cents.cents()),
    );
    put("reward_type", as_text(json!(settings.reward.kind)));
    put("reward_description", settings.reward.description.clone());
    put("approval", as_text(json!(settings.approval)));
    put("hold_days", settings.hold_days.to_string());
    put(
        "max_rewards_per_year",
        settings
            .max_rewards_per_year
            .map(|n| n.to_string())
            .unwrap_or_default(),
    );
    put("vip_after", settings.vip_after.to_string());
    put(
        "reengage_after_days",
        settings.reengage_after_days.to_string(),
    );
    put("reengage_per_day", settings.reengage_per_day.to_string());
    put(
        "vip_extra",
        settings
            .vip_reward
            .as_ref()
            .map(|vip| dollars(vip.extra_cents.cents()))
            .unwrap_or_default(),
    );
    put("quiet_start", as_text(json!(settings.sms.quiet_start)));
    put("quiet_end", as_text(json!(settings.sms.quiet_end)));
    put(
        "daily_cap_per_number",
        settings.sms.daily_cap_per_number.to_string(),
    );
    put(
        "daily_cap_per_business",
        settings.sms.daily_cap_per_business.to_string(),
    );
    let limits = &settings.limits;
    put(
        "leads_per_ip_per_hour",
        limits.leads_per_ip_per_hour.to_string(),
    );
    put(
        "leads_per_code_per_day",
        limits.leads_per_code_per_day.to_string(),
    );
    put(
        "review_over",
        limits.review_when_leads_per_code_per_day_over.to_string(),
    );
    let checked = BTreeMap::from([
        ("sms_enabled".to_owned(), settings.sms.enabled),
        (
            "send_acknowledgment".to_owned(),
            settings.sms.send_acknowledgment,
        ),
        ("send_progress".to_owned(), settings.sms.send_progress),
        ("public_leaderboard".to_owned(), settings.public_leaderboard),
    ]);
    let mut tiers: Vec<TierRow> = settings
        .reward
        .tiers
        .iter()
        .enumerate()
        .map(|(index, tier)| TierRow {
            index,
            from: tier.from_referral.to_string(),
            amount: tier
                .amount_cents
                .map(|m| dollars(m.cents()))
                .unwrap_or_default(),
            percent: tier.percent.map(|p| p.to_string()).unwrap_or_default(),
        })
        .collect();
    while tiers.len() < TIER_ROWS {
        tiers.push(TierRow {
            index: tiers.len(),
            from: String::new(),
            amount: String::new(),
            percent: String::new(),
        });
    }
    let templates = serde_json::to_value(&settings.sms.templates).unwrap_or(Value::Null);
    let templates = TEMPLATES
        .iter()
        .map(|(key, label)| {
            let text = templates[*key].as_str().unwrap_or_default().to_owned();
            TemplateField {
                key,
                label,
                count: count(&text, &settings.name),
                text,
            }
        })
        .collect();
    Values {
        fields,
        checked,
        tiers,
        templates,
    }
}

async fn render_page(
    actor: &Actor,
    values: Values,
    errors: BTreeMap<String, String>,
    saved: bool,
    time_zone: String,
    integrations: IntegrationsCard,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SettingsPage {
        shell: Shell::of(actor, "settings"),
        saved,
        values,
        errors,
        time_zone,
        integrations,
    };
    super::show(&page, status)
}

/// `GET /admin/settings` (`?saved` after a save).
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Staffer(actor): Staffer,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if let Some(refused) = unless_owner(&actor) {
        return refused;
    }
    let settings = match state.vouch.settings(&actor.business_id).await {
        Ok(settings) => settings,
        Err(err) => return problem(err),
    };
    let saved = query.is_some_and(|q| q.split('&').any(|p| p == "saved"));
    let zone = json!(settings.time_zone)
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let card = IntegrationsCard::of(&state, &headers, &actor, &settings).await;
    render_page(
        &actor,
        values_of(&settings),
        BTreeMap::new(),
        saved,
        zone,
        card,
    )
    .await
}

/// The posted form as a settings document; what cannot be read as a number is a reason under
/// its field's path instead.
fn whole(
    posted: &Posted,
    name: &str,
    path: &str,
    optional: bool,
    errors: &mut BTreeMap<String, String>,
) -> Value {
    let raw = posted.field(name).trim();
    if raw.is_empty() && optional {
        return Value::Null;
    }
    match raw.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => {
            errors.insert(path.to_owned(), "must be a whole number".into());
            Value::Null
        }
    }
}

/// Dollars as typed, in cents; blank is `null`.
fn cents(posted: &Posted, name: &str, path: &str, errors: &mut BTreeMap<String, String>) -> Value {
    let raw = posted.field(name).trim();
    if raw.is_empty() {
        return Value::Null;
    }
    match super::participants::cents(raw) {
        Some(c) => json!(c),
        None => {
            errors.insert(
                path.to_owned(),
                "must be an amount in dollars, like 25 or 25.50".into(),
            );
            Value::Null
        }
    }
}

fn tiers(posted: &Posted, errors: &mut BTreeMap<String, String>) -> Vec<Value> {
    let mut tiers = Vec::new();
    for i in 0..TIER_ROWS {
        if posted.field(&format!("tier{i}_from")).trim().is_empty() {
            continue;
        }
        let n = tiers.len();
        let path = |field: &str| format!("reward.tiers[{n}].{field}");
        let mut tier = Map::new();
        let from = whole(
            posted,
            &format!("tier{i}_from"),
            &path("from_referral"),
            false,
            errors,
        );
        tier.insert("from_referral".into(), from);
        let amount = cents(
            posted,
            &format!("tier{i}_amount"),
            &path("amount_cents"),
            errors,
        );
        if !amount.is_null() {
            tier.insert("amount_cents".into(), amount);
        }
        let percent = whole(
            posted,
            &format!("tier{i}_percent"),
            &path("percent"),
            true,
            errors,
        );
        if !percent.is_null() {
            tier.insert("percent".into(), percent);
        }
        tiers.push(Value::Object(tier));
    }
    tiers
}

/// The posted form as a settings document; what cannot be read as a number is a reason under
/// its field's path instead.
fn document(
    posted: &Posted,
    gift_cards_saved: bool,
    jobber_saved: bool,
    errors: &mut BTreeMap<String, String>,
) -> Value {
    let text = |name: &str| posted.field(name).trim().to_owned();
    let mut number = |name: &str, path: &str| whole(posted, name, path, false, errors);
    let satisfaction = number("satisfaction_threshold", "satisfaction_threshold");
    let hold_days = number("hold_days", "hold_days");
    let vip_after = number("vip_after", "vip_after");
    // Fields a page opened before they existed did not post stay as they are.
    let mut later = Map::new();
    for name in ["reengage_after_days", "reengage_per_day"] {
        if posted.given(name).is_some() {
            later.insert(name.into(), number(name, name));
        }
    }
    let cap_number = number("daily_cap_per_number", "sms.daily_cap_per_number");
    let cap_business = number("daily_cap_per_business", "sms.daily_cap_per_business");
    let per_ip = number("leads_per_ip_per_hour", "limits.leads_per_ip_per_hour");
    let per_code = number("leads_per_code_per_day", "limits.leads_per_code_per_day");
    let review_over = number(
        "review_over",
        "limits.review_when_leads_per_code_per_day_over",
    );
    let max_rewards = whole(
        posted,
        "max_rewards_per_year",
        "max_rewards_per_year",
        true,
        errors,
    );
    let minimum = cents(posted, "minimum_invoice", "minimum_invoice_cents", errors);
    let vip_extra = cents(posted, "vip_extra", "vip_reward.extra_cents", errors);
    let tiers = tiers(posted, errors);
    // A template the form did not post (a page opened before that template existed) stays as
    // it is.
    let mut templates = Map::new();
    for (key, _) in TEMPLATES {
        if let Some(text) = posted.given(&format!("template_{key}")) {
            templates.insert(key.into(), json!(text));
        }
    }
    let on = |name: &str| posted.field(name) == "on";
    let mut doc = json!({
        "name": text("name"),
        "landing_url": text("landing_url"),
        "satisfaction_threshold": satisfaction,
        "qualifying_status": text("qualifying_status"),
        "minimum_invoice_cents": if minimum.is_null() { json!(0) } else { minimum },
        "reward": {"type": text("reward_type"), "description": text("reward_description"), "tiers": tiers},
        "approval": text("approval"),
        "hold_days": hold_days,
        "max_rewards_per_year": max_rewards,
        "vip_after": vip_after,
        "sms": {
            "enabled": on("sms_enabled"),
            "quiet_start": text("quiet_start"),
            "quiet_end": text("quiet_end"),
            "daily_cap_per_number": cap_number,
            "daily_cap_per_business": cap_business,
            "send_acknowledgment": on("send_acknowledgment"),
            "send_progress": on("send_progress"),
            "templates": templates,
        },
        "public_leaderboard": on("public_leaderboard"),
        "limits": {
            "leads_per_ip_per_hour": per_ip,
            "leads_per_code_per_day": per_code,
            "review_when_leads_per_code_per_day_over": review_over,
        },
    });
    for (name, value) in later {
        doc[name.as_str()] = value;
    }
    // The Housecall Pro signing secret: replaced when one is typed, removed when asked, kept
    // otherwise (the page never shows it).
    let mut integrations = Map::new();
    let secret = text("hcp_signing_secret");
    if posted.field("hcp_remove") == "on" {
        integrations.insert("housecallpro".into(), Value::Null);
    } else if !secret.is_empty() {
        integrations.insert("housecallpro".into(), json!({"signing_secret": secret}));
    }
    // Gift cards from Tremendous: the API key likewise; the funding source and campaign are
    // saved with it, or on their own once a key is saved (a form without the fields, as an
    // older page, leaves them be).
    if posted.field("gc_remove") == "on" {
        integrations.insert("gift_cards".into(), Value::Null);
    } else if let Some(funding) = posted.given("gc_funding_source") {
        let key = text("gc_api_key");
        if !key.is_empty() || gift_cards_saved {
            let campaign = text("gc_campaign");
            let mut account = json!({
                "provider": "tremendous",
                "funding_source_id": funding.trim(),
                "campaign_id": if campaign.is_empty() { Value::Null } else { json!(campaign) },
            });
            if !key.is_empty() {
                account["api_key"] = json!(key);
            }
            integrations.insert("gift_cards".into(), account);
        }
    }
    // The Jobber app: its client id with the secret typed, or on its own once one is saved.
    if posted.field("jb_remove") == "on" {
        integrations.insert("jobber".into(), Value::Null);
    } else if let Some(client_id) = posted.given("jb_client_id") {
        let secret = text("jb_client_secret");
        if !secret.is_empty() || (jobber_saved && !client_id.trim().is_empty()) {
            let mut app = json!({"client_id": client_id.trim()});
            if !secret.is_empty() {
                app["client_secret"] = json!(secret);
            }
            integrations.insert("jobber".into(), app);
        }
    }
    if !integrations.is_empty() {
        doc["integrations"] = Value::Object(integrations);
    }
    // Blank: no VIP extra; not posted at all: as it is.
    if posted.given("vip_extra").is_some() {
        doc["vip_reward"] = if vip_extra.is_null() {
            Value::Null
        } else {
            json!({"extra_cents": vip_extra})
        };
    }
    doc
}

/// The form as typed, to show again beside the reasons.
fn values_typed(posted: &Posted, business_name: &str) -> Values {
    let mut fields = BTreeMap::new();
    for (name, value) in &posted.fields {
        // A secret typed is never shown back, even beside a reason.
        if ![
            "csrf",
            "hcp_signing_secret",
            "gc_api_key",
            "jb_client_secret",
        ]
        .contains(&name.as_str())
        {
            fields.insert(name.clone(), value.clone());
        }
    }
    let checked = [
        "sms_enabled",
        "send_acknowledgment",
        "send_progress",
        "public_leaderboard",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), posted.field(k) == "on"))
    .collect();
    let tiers = (0..TIER_ROWS)
        .map(|index| TierRow {
            index,
            from: posted.field(&format!("tier{index}_from")).to_owned(),
            amount: posted.field(&format!("tier{index}_amount")).to_owned(),
            percent: posted.field(&format!("tier{index}_percent")).to_owned(),
        })
        .collect();
    let templates = TEMPLATES
        .iter()
        .map(|(key, label)| {
            let text = posted.field(&format!("template_{key}")).to_owned();
            TemplateField {
                key,
                label,
                count: count(&text, business_name),
                text,
            }
        })
        .collect();
    Values {
        fields,
        checked,
        tiers,
        templates,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct SegmentsQuery {
    pub text: Option<String>,
}

/// `GET /admin/settings/segments?text=`: a template's count as it would go out (plain text),
/// for the settings page's script.
pub async fn segments(
    State(state): State<AppState>,
    Staffer(actor): Staffer,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let text = query
        .and_then(|q| serde_urlencoded::from_str::<SegmentsQuery>(&q).ok())
        .and_then(|q| q.text)
        .unwrap_or_default();
    let text: String = text.chars().take(2000).collect();
    let name = match state.vouch.business(&actor.business_id).await {
        Ok(Some(business)) => business.settings.name.clone(),
        Ok(None) => return problem(Error::NotFound("business")),
        Err(err) => return problem(err),
    };
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        count(&text, &name),
    )
        .into_response()
}

/// `POST /admin/settings`.
pub async fn save(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    if let Some(refused) = unless_owner(&posted.actor) {
        return refused;
    }
    let current = match state.vouch.settings(&posted.actor.business_id).await {
        Ok(settings) => settings,
        Err(err) => return problem(err),
    };
    let mut errors = BTreeMap::new();
    let doc = document(
        &posted,
        current.integrations.gift_cards.is_some(),
        current.integrations.jobber.is_some(),
        &mut errors,
    );
    let zone = json!(current.time_zone)
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if errors.is_empty() {
        match state
            .vouch
            .replace_settings(&posted.actor.business_id, |now| complete(&doc, Some(now)))
            .await
        {
            Ok(_) => return Redirect::to("/admin/settings?saved").into_response(),
            Err(Error::Validation(found)) => errors = found,
            Err(err) => return problem(err),
        }
    }
    let values = values_typed(&posted, &current.name);
    let card = IntegrationsCard::of(&state, &headers, &posted.actor, &current).await;
    render_page(&posted.actor, values, errors, false, zone, card).await
}
