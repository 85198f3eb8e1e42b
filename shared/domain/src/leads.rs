//! Leads and referrals: the website form, dispatchers' leads, staff attribution and review, and
//! the customer search staff use to attribute a mention.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Duration;
use serde_json::{Map, Value};
use url::Url;

use crate::decide::{Command, Named, NewLead, RateWindow, StaffAction, WebVisit};
use crate::flows::Ran;
use crate::model::business::Business;
use crate::model::contact::CustomerDetails;
use crate::model::lead::CounterKey;
use crate::model::referral::{Referral, Status};
use crate::model::search::SearchQuery;
use crate::model::search::{SearchEntry, search_text};
use crate::ports::window;
use crate::services::{MAX_PAGE, Vouch, page_args};
use crate::values::code::ReferralCode;
use crate::values::error::{Error, FieldErrors, Result};
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::person::{Email, PersonName, Phone};
use crate::values::{local_day, next_local_midnight};

/// Longest free-text message a lead may leave.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// One website-form submission: its fields as sent (JSON values, or strings from a form post),
/// the client's address and the `Origin` header.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub fields: Map<String, Value>,
    pub ip: Option<IpAddr>,
    pub origin: Option<String>,
}

/// What the website is told: the lead id and where a form post goes next. Never how the lead
/// was attributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadReceipt {
    pub lead_id: String,
    pub thank_you_url: Option<Url>,
}

/// Reads the form's fields with a reason per bad one.
struct Fields<'a> {
    fields: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    /// A trimmed, non-empty string field; anything but a string (or null) is an error.
    fn text(&mut self, name: &str, max_chars: usize) -> Option<String> {
        match self.fields.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(raw)) => {
                let trimmed = raw.trim();
                if trimmed.chars().count() > max_chars {
                    self.errors.insert(
                        name.into(),
                        format!("must be at most {max_chars} characters"),
                    );
                    None
                } else {
                    (!trimmed.is_empty()).then(|| trimmed.to_owned())
                }
            }
            Some(_) => {
                self.errors.insert(name.into(), "must be a string".into());
                None
            }
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.fields.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(raw)) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => true,
                "false" | "off" | "no" | "0" | "" => false,
                _ => {
                    self.errors
                        .insert(name.into(), "must be true or false".into());
                    false
                }
            },
            Some(_) => {
                self.errors
                    .insert(name.into(), "must be true or false".into());
                false
            }
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

/// Origins a business's form may be posted from: its allowed origins and those of its own pages.
pub fn origin_allowed(business: &Business, origin: &str) -> bool {
    let settings = &business.settings;
    settings
        .allowed_origins
        .iter()
        .any(|o| o.as_str() == origin)
        || std::iter::once(&settings.landing_url)
            .chain(settings.thank_you_url.iter())
            .any(|page| page.url().origin().ascii_serialization() == origin)
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

    /// `POST /api/leads`: the website's contact form.
    pub async fn submit_lead(
        &self,
        submission: Submission,
        link_base: &str,
    ) -> Result<LeadReceipt> {
        let mut fields = Fields {
            fields: &submission.fields,
            errors: FieldErrors::new(),
        };
        let business_id = fields.text("business_id", 64);
        let code = fields.text("ref", 32);
        let honeypot = fields.text("website", 2000);
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
        if let Some(origin) = &submission.origin
            && !origin_allowed(&business, origin)
        {
            return Err(Error::Forbidden(
                "this origin may not post leads for the business".into(),
            ));
        }

        let country = business.settings.country;
        let name = fields.text("name", 200);
        let phone_raw = fields.text("phone", 40);
        let email_raw = fields.text("email", 254);
        let message = fields.text("message", MAX_MESSAGE_CHARS);
        let vclid = fields.text("vclid", 64);
        let referred_by = fields.text("referred_by", 200);
        let sms_consent = fields.flag("sms_consent");
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
        let ip_hash = submission.ip.map(|ip| self.ip_hasher().hash(ip));
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

    // ---------------------------------------------------------------- staff

    pub async fn referrals(
        &self,
        business_id: &BusinessId,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Referral>, Option<String>)> {
        let status = status
            .map(|raw| {
                Status::parse(raw).ok_or_else(|| {
                    Error::field(
                        "status",
                        "must be pending, needs_review, qualified, rewarded, rejected or reversed",
                    )
                })
            })
            .transpose()?;
        let limit = page_args(limit, cursor)?;
        Ok(self
            .ports
            .referrals
            .referrals(business_id, status, limit, cursor)
            .await?)
    }

    pub async fn referrals_by(
        &self,
        business_id: &BusinessId,
        referrer: &CustomerId,
    ) -> Result<Vec<Referral>> {
        Ok(self
            .ports
            .referrals
            .referrals_by(business_id, referrer, MAX_PAGE)
            .await?)
    }

    async fn staff_command(
        &self,
        business_id: &BusinessId,
        customer_id: CustomerId,
        action: StaffAction,
    ) -> Result<Option<Referral>> {
        let business = self.existing_business(business_id).await?;
        let command = Command::Staff {
            customer_id,
            action,
        };
        match self.run(&business, &command, None, "").await? {
            Ran::Done { contact, .. } => Ok(contact.and_then(|c| c.referral)),
            Ran::Duplicate | Ran::Repeat { .. } => {
                Err(anyhow::anyhow!("a staff action has no delivery id").into())
            }
        }
    }

    /// `POST /api/admin/referrals`: staff attribute a lead to a participant.
    pub async fn attribute(
        &self,
        business_id: &BusinessId,
        lead_customer_id: &str,
        referrer_customer_id: &str,
        replace: bool,
    ) -> Result<Referral> {
        let lead = CustomerId::parse(lead_customer_id)
            .map_err(|e| Error::field("lead_customer_id", e.reason()))?;
        let referrer = CustomerId::parse(referrer_customer_id)
            .map_err(|e| Error::field("referrer_customer_id", e.reason()))?;
        self.staff_command(
            business_id,
            lead,
            StaffAction::Attribute {
                referrer,
                replace,
                referral_id: ulid::Ulid::new().to_string(),
            },
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("an attribution left no referral").into())
    }

    async fn referral_named(&self, business_id: &BusinessId, id: &str) -> Result<Referral> {
        if ulid::Ulid::from_string(id).is_err() {
            return Err(Error::NotFound("referral"));
        }
        self.ports
            .referrals
            .referral(business_id, id)
            .await?
            .ok_or(Error::NotFound("referral"))
    }

    /// `/approve`, `/reject` and `DELETE` of a referral.
    pub async fn review_referral(
        &self,
        business_id: &BusinessId,
        referral_id: &str,
        decision: Review,
    ) -> Result<Option<Referral>> {
        let referral = self.referral_named(business_id, referral_id).await?;
        let referral_id = referral.referral_id.clone();
        let action = match decision {
            Review::Approve { referrer } => StaffAction::Approve {
                referral_id,
                referrer: referrer
                    .map(|raw| {
                        CustomerId::parse(&raw)
                            .map_err(|e| Error::field("referrer_customer_id", e.reason()))
                    })
                    .transpose()?,
            },
            Review::Reject => StaffAction::Reject { referral_id },
            Review::Delete => StaffAction::Delete { referral_id },
        };
        self.staff_command(business_id, referral.lead.customer_id, action)
            .await
    }

    /// `GET /api/admin/customers?q=`: by name (either order, prefix) or phone.
    pub async fn search_customers(
        &self,
        business_id: &BusinessId,
        query: &str,
    ) -> Result<Vec<SearchEntry>> {
        let query = query.trim();
        if query.chars().count() < 2 || query.chars().count() > 100 {
            return Err(Error::field("q", "must be 2-100 characters"));
        }
        let business = self.existing_business(business_id).await?;
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let looks_like_phone = query
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let prefix = if looks_like_phone && digits.len() >= 3 {
            match Phone::parse(query, business.settings.country) {
                Ok(phone) => SearchQuery::Phone(phone.as_e164().to_owned()),
                Err(_) if query.starts_with('+') => SearchQuery::Phone(format!("+{digits}")),
                Err(_) => SearchQuery::Phone(format!(
                    "+{}{digits}",
                    business.settings.country.calling_code()
                )),
            }
        } else {
            let text = search_text(query);
            if text.is_empty() {
                return Err(Error::field("q", "must contain letters or digits"));
            }
            SearchQuery::Name(text)
        };
        let mut found = self
            .ports
            .referrals
            .search(business_id, &prefix, 40)
            .await?;
        let mut seen = std::collections::HashSet::new();
        found.retain(|entry| seen.insert(entry.customer_id.clone()));
        found.truncate(20);
        Ok(found)
    }
}

/// A staff review of a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Approve { referrer: Option<String> },
    Reject,
    Delete,
}

#[cfg(test)]
pub(crate) mod tests;
