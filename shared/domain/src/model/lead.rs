//! Leads: people who reached out, as received, with who they named.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::{Email, Phone};
use crate::values::secrets::IpHash;

/// Recognises a repeated website submission by the same person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeadKey {
    Phone(Phone),
    Email(Email),
}

/// A counter of website leads in a fixed window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CounterKey {
    /// Leads from one (hashed) address in the hour starting at `hour` (epoch seconds).
    FromAddress { ip: IpHash, hour: i64 },
    /// Leads naming one code on one day of the business.
    ForCode { code: ReferralCode, day: NaiveDate },
    /// Re-engagement texts of the business on one of its days.
    Reengagements { day: NaiveDate },
}

/// How long a repeated submission by the same person gets the same lead id.
pub const LEAD_REPEAT_WINDOW: Duration = Duration::hours(24);

/// Where a lead came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadChannel {
    /// The business's website form.
    Website,
    /// A dispatcher, through the field-service software.
    Dispatcher,
}

/// A lead as received: who they are, who they named and how they came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub lead_id: String,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    pub channel: LeadChannel,
    pub referral_code: Option<ReferralCode>,
    pub referrer_customer_id: Option<CustomerId>,
    pub referred_by: Option<String>,
    pub message: Option<String>,
    pub ip_hash: Option<String>,
    /// What the form said; a number typed into a public form is never texted on its strength.
    pub sms_consent: bool,
    pub referral_id: Option<String>,
    pub created_at: DateTime<Utc>,
}
