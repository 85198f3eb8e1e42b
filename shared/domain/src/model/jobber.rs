//! Jobber: a business's connected Jobber account (its OAuth tokens, kept server-side), what a
//! Jobber webhook asks Vouch to read back, and the records read back through Jobber's GraphQL
//! API. Jobber's webhooks carry only a topic and an item id; everything else is read.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;
use crate::values::ids::BusinessId;

/// Tokens are refreshed when they have less than this left, so a read-back never starts with
/// a token about to lapse.
pub const REFRESH_BEFORE: Duration = Duration::minutes(5);

/// A Jobber id (`EncodedId`: base64 of `gid://Jobber/Client/123`), as Jobber sends it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobberId(String);

impl JobberId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 128 {
            return Err(ParseError::new("must be 1-128 characters"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-'))
        {
            return Err(ParseError::new("must be a Jobber id (base64)"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JobberId {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<JobberId> for String {
    fn from(id: JobberId) -> String {
        id.0
    }
}

impl fmt::Display for JobberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OAuth token (access or refresh): never shown, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OAuthToken(String);

impl OAuthToken {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > 8192 || !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ParseError::new("is not an OAuth token"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OAuthToken(…)")
    }
}

impl TryFrom<String> for OAuthToken {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<OAuthToken> for String {
    fn from(token: OAuthToken) -> String {
        token.0
    }
}

/// What Jobber's token endpoint gives: an access token (an hour) and a refresh token that is
/// replaced at every refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobberTokens {
    pub access_token: OAuthToken,
    pub refresh_token: OAuthToken,
    pub expires_at: DateTime<Utc>,
}

impl JobberTokens {
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - now < REFRESH_BEFORE
    }
}

/// A business's connected Jobber account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberConnection {
    pub business_id: BusinessId,
    pub account_id: JobberId,
    pub account_name: String,
    pub tokens: JobberTokens,
    pub connected_at: DateTime<Utc>,
    /// Who connected it ("Olivia (owner)").
    pub connected_by: String,
}

/// The account behind a set of tokens (`query { account { id name } }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberAccount {
    pub id: JobberId,
    pub name: String,
}

/// What a Jobber webhook asks to be read back, queued between the webhook and the read-back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadBack {
    pub business_id: BusinessId,
    pub account_id: JobberId,
    pub topic: String,
    pub item_id: JobberId,
    pub occurred_at: DateTime<Utc>,
}

impl ReadBack {
    /// The delivery's id: Jobber sends a webhook again with the same topic, item and time.
    pub fn delivery_id(&self) -> String {
        format!(
            "jobber:{}:{}:{}",
            self.topic,
            self.item_id,
            self.occurred_at.timestamp_millis()
        )
    }

    /// What the topic asks to read; `None` for topics Vouch does not follow.
    pub fn item(&self) -> Option<JobberItem> {
        let id = self.item_id.clone();
        Some(match self.topic.as_str() {
            "CLIENT_CREATE" | "CLIENT_UPDATE" => JobberItem::Client(id),
            "JOB_CREATE" | "JOB_UPDATE" | "JOB_CLOSED" => JobberItem::Job(id),
            "VISIT_COMPLETE" => JobberItem::Visit(id),
            "INVOICE_CREATE" | "INVOICE_UPDATE" => JobberItem::Invoice(id),
            "PAYMENT_CREATE" => JobberItem::Payment(id),
            "REQUEST_CREATE" => JobberItem::Request(id),
            _ => return None,
        })
    }
}

/// One thing to read through Jobber's GraphQL API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobberItem {
    Client(JobberId),
    Job(JobberId),
    /// A visit is read as its job.
    Visit(JobberId),
    Invoice(JobberId),
    /// A payment record is read as the invoice it pays.
    Payment(JobberId),
    Request(JobberId),
}

impl JobberItem {
    pub fn id(&self) -> &JobberId {
        match self {
            JobberItem::Client(id)
            | JobberItem::Job(id)
            | JobberItem::Visit(id)
            | JobberItem::Invoice(id)
            | JobberItem::Payment(id)
            | JobberItem::Request(id) => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberPhone {
    pub number: String,
    pub primary: bool,
    pub sms_allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberEmail {
    pub address: String,
    pub primary: bool,
}

/// `Client{id firstName lastName companyName phones{…} emails{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberClient {
    pub id: JobberId,
    pub first_name: String,
    pub last_name: String,
    pub company_name: Option<String>,
    pub phones: Vec<JobberPhone>,
    pub emails: Vec<JobberEmail>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl JobberClient {
    /// The number to text: the primary one allowing texts, else any allowing texts, else the
    /// primary; with whether the client allows texts on it.
    pub fn phone(&self) -> Option<(&str, bool)> {
        let texting = self.phones.iter().filter(|p| p.sms_allowed);
        let pick = texting
            .clone()
            .find(|p| p.primary)
            .or_else(|| texting.clone().next())
            .or_else(|| self.phones.iter().find(|p| p.primary))
            .or_else(|| self.phones.first())?;
        Some((pick.number.as_str(), pick.sms_allowed))
    }

    pub fn email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary)
            .or_else(|| self.emails.first())
            .map(|e| e.address.as_str())
    }
}

/// `Job{id jobStatus completedAt total client{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberJob {
    pub id: JobberId,
    /// `JobStatusTypeEnum` as Jobber spells it (`requires_invoicing`, `archived`, `upcoming`…).
    pub job_status: String,
    pub completed_at: Option<DateTime<Utc>>,
    pub total_cents: i64,
    pub client: JobberClient,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `Invoice{id invoiceStatus amounts{total} client{…} jobs{nodes{id}}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberInvoice {
    pub id: JobberId,
    /// `InvoiceStatusTypeEnum` (`draft`, `awaiting_payment`, `paid`, `past_due`, `bad_debt`).
    pub invoice_status: String,
    pub total_cents: i64,
    pub client: JobberClient,
    /// The job it bills (the first one); the invoice itself when it bills none.
    pub job_id: Option<JobberId>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `Request{id client{…} referringClient{id}}`: a new customer asking for work, maybe naming who
/// sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobberRequest {
    pub id: JobberId,
    pub client: Option<JobberClient>,
    pub referring_client_id: Option<JobberId>,
    pub created_at: Option<DateTime<Utc>>,
}

/// What reading an item back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobberRecord {
    Client(JobberClient),
    Job(JobberJob),
    Invoice(JobberInvoice),
    Request(JobberRequest),
}

/// Dollars as Jobber's `Float` money fields carry them, in cents (rounded to the cent).
pub fn cents(dollars: f64) -> Option<i64> {
    let cents = (dollars * 100.0).round();
    (cents.is_finite() && cents.abs() < 1e15).then_some(cents as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_base64_as_jobber_sends_them() {
        assert!(JobberId::parse("Z2lkOi8vSm9iYmVyL0NsaWVudC8xMjM=").is_ok());
        assert!(JobberId::parse("").is_err());
        assert!(JobberId::parse("a b").is_err());
        assert!(JobberId::parse("<script>").is_err());
        assert!(JobberId::parse(&"A".repeat(129)).is_err());
    }

    #[test]
    fn money_is_rounded_to_the_cent() {
        assert_eq!(cents(350.0), Some(35_000));
        assert_eq!(cents(19.99), Some(1_999));
        assert_eq!(cents(0.1 + 0.2), Some(30));
        assert_eq!(cents(f64::NAN), None);
    }

    #[test]
    fn the_texting_number_is_preferred() {
        let phone = |number: &str, primary, sms_allowed| JobberPhone {
            number: number.into(),
            primary,
            sms_allowed,
        };
        let mut client = JobberClient {
            id: JobberId::parse("Yw==").unwrap_or_else(|_| unreachable!()),
            first_name: "Ana".into(),
            last_name: "Diaz".into(),
            company_name: None,
            phones: vec![
                phone("+15125550100", true, false),
                phone("+15125550101", false, true),
            ],
            emails: vec![],
            updated_at: None,
        };
        assert_eq!(client.phone(), Some(("+15125550101", true)));
        client.phones[1].sms_allowed = false;
        assert_eq!(client.phone(), Some(("+15125550100", false)));
        client.phones.clear();
        assert_eq!(client.phone(), None);
    }

    #[test]
    fn topics_name_what_to_read() {
        let read = |topic: &str| ReadBack {
            business_id: BusinessId::parse("riverside").unwrap_or_else(|_| unreachable!()),
            account_id: JobberId::parse("YQ==").unwrap_or_else(|_| unreachable!()),
            topic: topic.into(),
            item_id: JobberId::parse("Yg==").unwrap_or_else(|_| unreachable!()),
            occurred_at: DateTime::<Utc>::UNIX_EPOCH,
        };
        assert!(matches!(
            read("INVOICE_UPDATE").item(),
            Some(JobberItem::Invoice(_))
        ));
        assert!(matches!(
            read("PAYMENT_CREATE").item(),
            Some(JobberItem::Payment(_))
        ));
        assert!(matches!(
            read("VISIT_COMPLETE").item(),
            Some(JobberItem::Visit(_))
        ));
        assert!(matches!(
            read("REQUEST_CREATE").item(),
            Some(JobberItem::Request(_))
        ));
        assert_eq!(read("QUOTE_CREATE").item(), None);
    }
}
