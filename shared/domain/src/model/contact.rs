//! Contacts: the people a business knows, keyed by the field-service software's customer id,
//! with what the program has learnt about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::job::QualifyingJob;
use crate::model::referral::Referral;
use crate::values::error::FieldErrors;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::{Country, Email, PersonName, Phone, full_name};
use crate::values::segment::Segment;

/// A person the business knows, keyed by the field-service software's customer id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub sms_consent: bool,
    pub updated_at: DateTime<Utc>,
    /// False for a placeholder made when a job or review arrived before the customer's details.
    #[serde(default = "known")]
    pub details_known: bool,
    /// Bumped by every change; writes are conditional on the version read.
    #[serde(default)]
    pub version: u64,
    /// When one of the customer's jobs first reached completed, invoiced or paid.
    #[serde(default)]
    pub job_done_at: Option<DateTime<Utc>>,
    /// The latest review score (by the sender's timestamp) and when it was given.
    #[serde(default)]
    pub review_score: Option<u8>,
    #[serde(default)]
    pub review_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enrolled: bool,
    #[serde(default)]
    pub origin: Origin,
    /// The referral that brought this person in (the current one; earlier rejected or reversed
    /// attributions are kept as their own records).
    #[serde(default)]
    pub referral: Option<Referral>,
    /// The first of the person's jobs that met the program's qualifying rule.
    #[serde(default)]
    pub qualifying_job: Option<QualifyingJob>,
    /// Hashed addresses the person used themselves (their own website lead), newest last.
    #[serde(default)]
    pub ip_hashes: Vec<String>,
    /// The person got their friend's reward (dual-sided programs): at most once.
    #[serde(default)]
    pub referee_rewarded: bool,
    /// Their segment (from the software's `segment` or tags): picks the business's templates
    /// for that segment, where it has them.
    #[serde(default)]
    pub segment: Option<Segment>,
}

/// Where a contact came from. Only contacts Vouch made itself (a website lead) are matched to
/// the software's customers by phone or email, and only until one customer claims them: two
/// customers of the software that share a phone (a household) stay two people.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Known to the field-service software under its own id.
    #[default]
    Software,
    /// Created by Vouch (a website lead) and not yet matched to a software customer.
    Vouch,
}

fn known() -> bool {
    true
}

impl Contact {
    /// A contact with no program history yet.
    pub fn new(
        business_id: BusinessId,
        customer_id: CustomerId,
        first_name: PersonName,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            business_id,
            customer_id,
            first_name,
            last_name: None,
            phone: None,
            email: None,
            sms_consent: false,
            updated_at: now,
            details_known: true,
            version: 0,
            job_done_at: None,
            review_score: None,
            review_at: None,
            enrolled: false,
            origin: Origin::Software,
            referral: None,
            qualifying_job: None,
            ip_hashes: Vec::new(),
            referee_rewarded: false,
            segment: None,
        }
    }

    pub fn full_name(&self) -> String {
        full_name(&self.first_name, self.last_name.as_ref())
    }
}

/// Customer details as parsed from a webhook or staff; `None` leaves a stored value alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetails {
    pub customer_id: CustomerId,
    pub first_name: PersonName,
    pub last_name: Option<PersonName>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub sms_consent: Option<bool>,
    /// The segment named outright, and the tags that may name one (in the software's order).
    pub segment: Option<Segment>,
    pub tags: Vec<Segment>,
}

impl CustomerDetails {
    /// The details of a customer with just these fields (no segment, no tags).
    pub fn new(
        customer_id: CustomerId,
        first_name: PersonName,
        last_name: Option<PersonName>,
        phone: Option<Phone>,
        email: Option<Email>,
        sms_consent: Option<bool>,
    ) -> Self {
        Self {
            customer_id,
            first_name,
            last_name,
            phone,
            email,
            sms_consent,
            segment: None,
            tags: Vec::new(),
        }
    }
}

/// A customer as the field-service software or staff describe them; parsed into a [`Contact`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomerInput {
    pub id: String,
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub sms_consent: Option<bool>,
    /// `residential`, `property_manager`…: 1-40 lowercase letters, digits or underscores.
    #[serde(default)]
    pub segment: Option<String>,
    /// The software's tags; one may name a segment ("Property Manager" is
    /// `property_manager`). Others are ignored.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl CustomerInput {
    /// The details, with a reason per bad field; phones without `+` use `country`.
    pub fn parse(self, country: Country) -> Result<CustomerDetails, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut note = |field: &str, reason: &str| {
            errors.insert(field.to_owned(), reason.to_owned());
        };
        let customer_id = CustomerId::parse(&self.id)
            .map_err(|e| note("id", e.reason()))
            .ok();
        let first_name = PersonName::parse(&self.first_name)
            .map_err(|e| note("first_name", e.reason()))
            .ok();
        let last_name = optional(self.last_name.as_deref(), PersonName::parse)
            .map_err(|e| note("last_name", e.reason()))
            .ok();
        let phone = optional(self.phone.as_deref(), |raw| Phone::parse(raw, country))
            .map_err(|e| note("phone", e.reason()))
            .ok();
        let email = optional(self.email.as_deref(), Email::parse)
            .map_err(|e| note("email", e.reason()))
            .ok();
        let segment = optional(self.segment.as_deref(), Segment::parse)
            .map_err(|e| note("segment", e.reason()))
            .ok()
            .flatten();
        if self.tags.len() > 50 || self.tags.iter().any(|tag| tag.chars().count() > 100) {
            note("tags", "at most 50 tags of at most 100 characters each");
        }
        let tags = self
            .tags
            .iter()
            .filter_map(|tag| Segment::from_tag(tag))
            .collect();
        match (customer_id, first_name, last_name, phone, email) {
            (Some(customer_id), Some(first_name), Some(last_name), Some(phone), Some(email))
                if errors.is_empty() =>
            {
                Ok(CustomerDetails {
                    customer_id,
                    first_name,
                    last_name,
                    phone,
                    email,
                    sms_consent: self.sms_consent,
                    segment,
                    tags,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Blank optional fields count as absent.
fn optional<T, E>(raw: Option<&str>, parse: impl Fn(&str) -> Result<T, E>) -> Result<Option<T>, E> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => parse(raw).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(segment: Option<&str>, tags: Vec<String>) -> CustomerInput {
        CustomerInput {
            id: "cus_1".into(),
            first_name: "Pat".into(),
            segment: segment.map(str::to_owned),
            tags,
            ..CustomerInput::default()
        }
    }

    #[test]
    fn a_segment_and_tags_are_read_or_refused_by_field() {
        let details = input(
            Some("residential"),
            vec!["Property Manager".into(), "¡¿".into()],
        )
        .parse(Country::US)
        .unwrap();
        assert_eq!(details.segment.unwrap().as_str(), "residential");
        assert_eq!(details.tags.len(), 1);
        let refused = |segment, tags| {
            input(segment, tags)
                .parse(Country::US)
                .unwrap_err()
                .into_keys()
                .collect::<Vec<_>>()
        };
        assert_eq!(refused(Some("Residential"), vec![]), ["segment"]);
        assert_eq!(refused(None, vec!["x".repeat(101)]), ["tags"]);
        assert_eq!(refused(None, vec!["x".into(); 51]), ["tags"]);
    }
}
