//! The website's contact form: the business and code it names, the fields a person typed, the
//! origin it was posted from, and the lead decided from it.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Duration;
use serde::Deserialize;
use url::Url;

use super::Vouch;
use super::run::Ran;
use crate::decide::{Command, Named, NewLead, RateWindow, WebVisit};
use crate::model::business::Business;
use crate::model::contact::CustomerDetails;
use crate::model::lead::CounterKey;
use crate::ports::window;
use crate::values::code::ReferralCode;
use crate::values::error::{Error, FieldErrors, Result};
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::person::{Email, PersonName, Phone};
use crate::values::{local_day, next_local_midnight};

/// Longest free-text message a lead may leave.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// The form as sent: each field text or absent, and `sms_consent` a yes or no. The HTTP edge
/// reads JSON or a form post into it and notes in `invalid` any field it could not read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeadForm {
    pub business_id: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub message: Option<String>,
    /// The referral code (`ref`).
    #[serde(rename = "ref")]
    pub code: Option<String>,
    /// The click id a referral link carried to the landing page.
    pub vclid: Option<String>,
    /// A free-text "who referred you".
    pub referred_by: Option<String>,
    #[serde(default)]
    pub sms_consent: bool,
    /// The honeypot (`website`): people leave it empty, bots fill it.
    #[serde(rename = "website")]
    pub honeypot: Option<String>,
    /// Fields the edge could not read, with the reason.
    #[serde(skip)]
    pub invalid: FieldErrors,
}

/// What the website is told: the lead id and where a form post goes next. Never how the lead
/// was attributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadReceipt {
    pub lead_id: String,
    pub thank_you_url: Option<Url>,
}

/// The form's fields with a reason per bad one.
struct Fields {
    errors: FieldErrors,
}

impl Fields {
    /// A trimmed, non-empty field of at most `max_chars`.
    fn text(&mut self, name: &str, raw: &Option<String>, max_chars: usize) -> Option<String> {
        let trimmed = raw.as_deref()?.trim();
        if trimmed.chars().count() > max_chars {
            self.note(name, &format!("must be at most {max_chars} characters"));
            None
        } else {
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        }
    }

    /// Records a reason unless the field already has one.
    fn note(&mut self, name: &str, reason: &str) {
        self.errors
            .entry(name.into())
            .or_insert_with(|| reason.into());
    }
}

/// Splits "Maria de la Cruz" into a first name and the rest.
fn split_name(full: &str) -> std::result::Result<(PersonName, Option<PersonName>), String> {
    let mut words = full.split_whitespace();
    let first = words.next().unwrap_or_default();
    let rest = words.collect::<Vec<_>>().join(" ");
    let first = PersonName::parse(first).map_err(|e| e.reason().to_owned())?;
    let last = if rest.is_empty() {
        None
    } else {
        Some(PersonName::parse(&rest).map_err(|e| e.reason().to_owned())?)
    };
    Ok((first, last))
}

impl Vouch {
    /// The business a form names, and the participant its code belongs to there.
    async fn form_business(
        &self,
        business_id: Option<&str>,
        code: Option<&str>,
    ) -> Result<(Arc<Business>, Option<(ReferralCode, CustomerId)>)> {
        let named = match business_id {
            Some(raw) => {
                Some(BusinessId::parse(raw).map_err(|e| Error::field("business_id", e.reason()))?)
            }
            None => None,
        };
        let code = code.and_then(|c| ReferralCode::parse(c).ok());
        let (business, found) = match (&named, &code) {
            // Neither cached: one read for both.
            (Some(id), Some(code)) if !self.is_cached(id) => {
                let (business, found) = self.ports.businesses.get_with_referrer(id, code).await?;
                (business.map(|b| self.remember(b)), found)
            }
            (_, Some(code)) => (None, self.ports.participants.referrer(code).await?),
            (_, None) => (None, None),
        };
        let referrer = match (code, found) {
            (Some(code), Some(found))
                if named.as_ref().is_none_or(|id| *id == found.business_id) =>
            {
                Some((code, found))
            }
            _ => None,
        };
        let business_id = match (named, &referrer) {
            (Some(id), _) => id,
            (None, Some((_, found))) => found.business_id.clone(),
            (None, None) => return Err(Error::field("business_id", "is required")),
        };
        let business = match business {
            Some(business) => business,
            None => self
                .business(&business_id)
                .await?
                .ok_or_else(|| Error::field("business_id", "is not a known business"))?,
        };
        Ok((business, referrer.map(|(code, r)| (code, r.customer_id))))
    }

    /// `POST /api/leads`: the website's contact form, from `ip`, posted from the page at
    /// `origin` (the `Origin` header) when a browser says so.
    pub async fn submit_lead(
        &self,
        form: LeadForm,
        ip: Option<IpAddr>,
        origin: Option<&str>,
        link_base: &str,
    ) -> Result<LeadReceipt> {
        let mut fields = Fields {
            errors: form.invalid.clone(),
        };
        let business_id = fields.text("business_id", &form.business_id, 64);
        let code = fields.text("ref", &form.code, 32);
        let honeypot = fields.text("website", &form.honeypot, 2000);
        let (business, referrer) = match self
            .form_business(business_id.as_deref(), code.as_deref())
            .await
        {
            Ok(found) => found,
            Err(err) if honeypot.is_some() => {
                tracing::info!(error = %err, "honeypot filled; nothing stored");
                return Ok(LeadReceipt {
                    lead_id: ulid::Ulid::new().to_string(),
                    thank_you_url: None,
                });
            }
            Err(err) => return Err(err),
        };
        let thank_you_url = business
            .settings
            .thank_you_url
            .as_ref()
            .map(|u| u.url().clone());
        if honeypot.is_some() {
            tracing::info!(business_id = %business.id, "honeypot filled; nothing stored");
            return Ok(LeadReceipt {
                lead_id: ulid::Ulid::new().to_string(),
                thank_you_url,
            });
        }
        // `null` (a sandboxed frame, a local file) is no origin of the business's either.
        if let Some(origin) = origin
            && !business.settings.allows_origin(origin)
        {
            return Err(Error::Forbidden(
                "this origin may not post leads for the business".into(),
            ));
        }

        let country = business.settings.country;
        let name = fields.text("name", &form.name, 200);
        let phone_raw = fields.text("phone", &form.phone, 40);
        let email_raw = fields.text("email", &form.email, 254);
        let message = fields.text("message", &form.message, MAX_MESSAGE_CHARS);
        let vclid = fields.text("vclid", &form.vclid, 64);
        let referred_by = fields.text("referred_by", &form.referred_by, 200);
        let sms_consent = form.sms_consent;
        let names = match name {
            None => {
                fields.note("name", "is required");
                None
            }
            Some(raw) => split_name(&raw)
                .map_err(|reason| fields.note("name", &reason))
                .ok(),
        };
        let phone = phone_raw.as_deref().and_then(|raw| {
            Phone::parse(raw, country)
                .map_err(|e| fields.note("phone", e.reason()))
                .ok()
        });
        let email = email_raw.as_deref().and_then(|raw| {
            Email::parse(raw)
                .map_err(|e| fields.note("email", e.reason()))
                .ok()
        });
        if phone_raw.is_none() && email_raw.is_none() {
            fields.note("phone", "give a phone number or an email address");
            fields.note("email", "give a phone number or an email address");
        }
        let Fields { errors, .. } = fields;
        let (Some((first_name, last_name)), true) = (names, errors.is_empty()) else {
            return Err(Error::Validation(errors));
        };

        let now = self.now();
        let settings = &business.settings;
        let ip_hash = ip.map(|ip| self.ip_hasher().hash(ip));
        let ip_window = ip_hash.as_ref().map(|hash| {
            let (start, left) = window(now, 3600);
            RateWindow {
                key: CounterKey::FromAddress {
                    ip: hash.clone(),
                    hour: start,
                },
                limit: settings.limits.leads_per_ip_per_hour,
                retry_after_secs: left,
                expires_at: now + Duration::days(1),
            }
        });
        let click = vclid.as_deref().and_then(|raw| ClickId::parse(raw).ok());
        let (named, code_window) = match (referrer, referred_by, code) {
            (Some((code, customer)), _, _) => {
                let day = local_day(settings.time_zone, now);
                let next = next_local_midnight(settings.time_zone, now);
                let window = RateWindow {
                    key: CounterKey::ForCode {
                        code: code.clone(),
                        day,
                    },
                    limit: settings.limits.leads_per_code_per_day,
                    retry_after_secs: u64::try_from((next - now).num_seconds().max(1)).unwrap_or(1),
                    expires_at: now + Duration::days(2),
                };
                (
                    Named::Code {
                        code,
                        referrer: Some(customer),
                        click,
                    },
                    Some(window),
                )
            }
            (None, Some(text), _) => (Named::Mention(text), None),
            (None, None, Some(raw)) => match ReferralCode::parse(&raw) {
                Ok(code) => (
                    Named::Code {
                        code,
                        referrer: None,
                        click: None,
                    },
                    None,
                ),
                Err(_) => (Named::Nobody, None),
            },
            (None, None, None) => (Named::Nobody, None),
        };
        let lead = NewLead {
            lead_id: ulid::Ulid::new().to_string(),
            customer: CustomerDetails {
                customer_id: CustomerId::generate(),
                first_name,
                last_name,
                phone,
                email,
                sms_consent: None,
                segment: None,
                tags: Vec::new(),
            },
            named,
            web: Some(WebVisit {
                ip_hash,
                message,
                sms_consent,
                ip_window,
                code_window,
            }),
        };
        let lead_id = match self
            .run(&business, &Command::Lead(lead), None, link_base)
            .await?
        {
            Ran::Repeat { lead_id } => lead_id,
            Ran::Done {
                lead_id: Some(lead_id),
                ..
            } => lead_id,
            Ran::Done { .. } | Ran::Duplicate => {
                return Err(anyhow::anyhow!("a website lead was not recorded").into());
            }
        };
        Ok(LeadReceipt {
            lead_id,
            thank_you_url,
        })
    }

    /// Resolves a dispatcher's referral code to the participant holding it in this business.
    pub(crate) async fn resolve_named(&self, business: &Business, named: Named) -> Result<Named> {
        Ok(match named {
            Named::Code { code, click, .. } => {
                let referrer = self
                    .ports
                    .participants
                    .referrer(&code)
                    .await?
                    .filter(|r| r.business_id == business.id)
                    .map(|r| r.customer_id);
                Named::Code {
                    code,
                    referrer,
                    click,
                }
            }
            other => other,
        })
    }
}
