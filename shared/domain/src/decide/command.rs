//! Commands about one customer, and what the store must read to decide each.

use chrono::{DateTime, Utc};

use crate::model::contact::CustomerDetails;
use crate::model::job::JobStatus;
use crate::model::lead::{CounterKey, LeadKey};
use crate::values::code::ReferralCode;
use crate::values::ids::{ClickId, CustomerId};
use crate::values::money::Money;
use crate::values::person::{Email, Phone};
use crate::values::secrets::IpHash;

use super::reward::RewardAction;

/// Who a lead names as their referrer, resolved as far as can be before loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Nobody,
    /// A referral code, the participant it belongs to in this business (`None`: nobody's), and
    /// the click id a link carried.
    Code {
        code: ReferralCode,
        referrer: Option<CustomerId>,
        click: Option<ClickId>,
    },
    /// The software's id of the referrer.
    Customer(CustomerId),
    /// A free-text name.
    Mention(String),
}

/// A fixed-window counter a lead moves, with its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateWindow {
    pub key: CounterKey,
    pub limit: u32,
    pub retry_after_secs: u64,
    pub expires_at: DateTime<Utc>,
}

/// What the website form adds to a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebVisit {
    pub ip_hash: Option<IpHash>,
    pub message: Option<String>,
    pub sms_consent: bool,
    /// Leads from this address this hour.
    pub ip_window: Option<RateWindow>,
    /// Leads for the named code today.
    pub code_window: Option<RateWindow>,
}

/// A new lead: from the website (`web`) or a dispatcher.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub lead_id: String,
    pub customer: CustomerDetails,
    pub named: Named,
    pub web: Option<WebVisit>,
}

/// What staff do to a lead's referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAction {
    /// Attribute the lead to a participant; replacing a standing attribution needs `replace`.
    Attribute {
        referrer: CustomerId,
        replace: bool,
        /// The new referral's id, drawn once for the command.
        referral_id: String,
    },
    /// Accept a held referral, naming the referrer when it has none (a mention).
    Approve {
        referral_id: String,
        referrer: Option<CustomerId>,
    },
    Reject {
        referral_id: String,
    },
    /// Remove the attribution.
    Delete {
        referral_id: String,
    },
}

/// A command about one customer.
#[derive(Debug, Clone)]
pub enum Command {
    UpsertCustomer(CustomerDetails),
    Job {
        job_id: String,
        customer_id: CustomerId,
        customer: Option<CustomerDetails>,
        status: JobStatus,
        invoice_total_cents: Option<Money>,
        service_type: Option<String>,
        at: DateTime<Utc>,
    },
    Review {
        customer_id: CustomerId,
        score: u8,
        at: DateTime<Utc>,
    },
    Lead(NewLead),
    /// Staff act on the referral of the lead `customer_id`.
    Staff {
        customer_id: CustomerId,
        action: StaffAction,
        /// Who acted, for the referral's history: "Olivia (owner)", "admin key".
        by: String,
    },
    /// A reward of the referral of the lead `customer_id` (the issuer, the scheduler, staff).
    Reward {
        customer_id: CustomerId,
        action: RewardAction,
        /// The referrer, when the trigger names them (read with everything else).
        referrer: Option<CustomerId>,
    },
    /// Staff enrol a customer regardless of the satisfaction rule.
    Enrol {
        customer_id: CustomerId,
        customer: Option<CustomerDetails>,
        send_invitation: bool,
    },
}

impl Command {
    /// The customer the command is about, as the sender names them.
    pub fn customer_id(&self) -> &CustomerId {
        match self {
            Command::UpsertCustomer(details)
            | Command::Lead(NewLead {
                customer: details, ..
            }) => &details.customer_id,
            Command::Job { customer_id, .. }
            | Command::Review { customer_id, .. }
            | Command::Staff { customer_id, .. }
            | Command::Reward { customer_id, .. }
            | Command::Enrol { customer_id, .. } => customer_id,
        }
    }

    pub(super) fn details(&self) -> Option<&CustomerDetails> {
        match self {
            Command::UpsertCustomer(details)
            | Command::Lead(NewLead {
                customer: details, ..
            }) => Some(details),
            Command::Job { customer, .. } | Command::Enrol { customer, .. } => customer.as_ref(),
            Command::Review { .. } | Command::Staff { .. } | Command::Reward { .. } => None,
        }
    }

    /// What the store must read before deciding.
    pub fn keys(&self) -> LoadKeys {
        let details = self.details();
        let mut keys = LoadKeys {
            customer_id: self.customer_id().clone(),
            phone: details.and_then(|d| d.phone.clone()),
            email: details.and_then(|d| d.email.clone()),
            job_id: match self {
                Command::Job { job_id, .. } => Some(job_id.clone()),
                _ => None,
            },
            participant: matches!(self, Command::Enrol { .. }),
            referral_parties: matches!(
                self,
                Command::Job { .. } | Command::Staff { .. } | Command::Reward { .. }
            ),
            referrer: None,
            click: None,
            lead_keys: Vec::new(),
            counters: Vec::new(),
            mention: None,
        };
        match self {
            Command::Lead(lead) => {
                match &lead.named {
                    Named::Code {
                        referrer, click, ..
                    } => {
                        keys.referrer = referrer.clone();
                        keys.click = *click;
                    }
                    Named::Customer(id) => keys.referrer = Some(id.clone()),
                    Named::Mention(text) => {
                        // A mention with no letters or digits searches for nobody.
                        keys.mention = Some(text.clone())
                            .filter(|t| !crate::model::search::search_text(t).is_empty());
                    }
                    Named::Nobody => {}
                }
                if let Some(web) = &lead.web {
                    keys.lead_keys = lead_keys(&lead.customer);
                    keys.counters = [&web.ip_window, &web.code_window]
                        .into_iter()
                        .flatten()
                        .map(|w| w.key.clone())
                        .collect();
                }
            }
            Command::Staff {
                action:
                    StaffAction::Attribute { referrer, .. }
                    | StaffAction::Approve {
                        referrer: Some(referrer),
                        ..
                    },
                ..
            } => keys.referrer = Some(referrer.clone()),
            Command::Reward {
                referrer: Some(referrer),
                ..
            } => keys.referrer = Some(referrer.clone()),
            _ => {}
        }
        keys
    }
}

/// The keys that recognise a repeated website submission by the same person.
pub(super) fn lead_keys(details: &CustomerDetails) -> Vec<LeadKey> {
    let phone = details.phone.clone().map(LeadKey::Phone);
    let email = details.email.clone().map(LeadKey::Email);
    phone.into_iter().chain(email).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadKeys {
    pub customer_id: CustomerId,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub job_id: Option<String>,
    /// Also read the resolved contact's participant record.
    pub participant: bool,
    /// Also read the contact of the referrer of the resolved contact's referral.
    pub referral_parties: bool,
    /// A referrer to read (a contact id, possibly the software's alias of one).
    pub referrer: Option<CustomerId>,
    pub click: Option<ClickId>,
    /// Repeat-submission keys to read.
    pub lead_keys: Vec<LeadKey>,
    /// Rate counters to read.
    pub counters: Vec<CounterKey>,
    /// Search enrolled contacts by this name.
    pub mention: Option<String>,
}

impl LoadKeys {
    /// The contact alone (add what else to read with struct update syntax).
    pub fn contact(customer_id: CustomerId) -> Self {
        Self {
            customer_id,
            phone: None,
            email: None,
            job_id: None,
            participant: false,
            referral_parties: false,
            referrer: None,
            click: None,
            lead_keys: Vec::new(),
            counters: Vec::new(),
            mention: None,
        }
    }
}
