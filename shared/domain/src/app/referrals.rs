//! Staff's referral work: the lists, manual attribution, review of held referrals, deletion,
//! and the customer search used to attribute a mention.

use super::run::Ran;
use super::{MAX_PAGE, Vouch, page_args};
use crate::decide::{Command, StaffAction};
use crate::model::referral::{Referral, Status};
use crate::model::search::{SearchEntry, SearchQuery, search_text};
use crate::ports::Page;
use crate::values::error::{Error, Result};
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::Phone;

/// How long a customer search may be, in characters.
pub const SEARCH_CHARS: std::ops::RangeInclusive<usize> = 2..=100;

/// A staff review of a referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Approve { referrer: Option<String> },
    Reject,
    Delete,
}

impl Vouch {
    pub async fn referrals(
        &self,
        business_id: &BusinessId,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Referral>> {
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
            by: self.acting.to_string(),
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
        if !SEARCH_CHARS.contains(&query.chars().count()) {
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
