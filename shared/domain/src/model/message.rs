//! Text messages: purposes and statuses, templates, segment counts, quiet hours, keywords, and
//! the rules deciding whether a message may go now, later or never.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::settings::Settings;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::Phone;
use crate::values::segment::Segment;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Invitation,
    Acknowledgment,
    Progress,
    Reward,
    ThankYou,
    Vip,
    Reengagement,
    Help,
}

impl Purpose {
    /// Every value, in the order they are documented.
    pub const ALL: [Purpose; 8] = [
        Purpose::Invitation,
        Purpose::Acknowledgment,
        Purpose::Progress,
        Purpose::Reward,
        Purpose::ThankYou,
        Purpose::Vip,
        Purpose::Reengagement,
        Purpose::Help,
    ];
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Acknowledgment => "acknowledgment",
            Purpose::Progress => "progress",
            Purpose::Reward => "reward",
            Purpose::ThankYou => "thank_you",
            Purpose::Vip => "vip",
            Purpose::Reengagement => "reengagement",
            Purpose::Help => "help",
        }
    }

    /// The template for a customer of `segment`: the segment's own, else the business's.
    pub fn template_for<'a>(self, settings: &'a Settings, segment: Option<&Segment>) -> &'a str {
        let own = segment
            .and_then(|segment| settings.sms.segment_templates.get(segment))
            .and_then(|own| match self {
                Purpose::Invitation => own.invitation.as_deref(),
                Purpose::Acknowledgment => own.acknowledgment.as_deref(),
                Purpose::Progress => own.progress.as_deref(),
                Purpose::Reward => own.reward.as_deref(),
                Purpose::ThankYou => own.thank_you.as_deref(),
                Purpose::Vip => own.vip.as_deref(),
                Purpose::Reengagement => own.reengagement.as_deref(),
                Purpose::Help => None,
            });
        own.unwrap_or_else(|| self.template(settings))
    }

    /// The business's template for this purpose (HELP answers are fixed).
    pub fn template(self, settings: &Settings) -> &str {
        let templates = &settings.sms.templates;
        match self {
            Purpose::Invitation => &templates.invitation,
            Purpose::Acknowledgment => &templates.acknowledgment,
            Purpose::Progress => &templates.progress,
            Purpose::Reward => &templates.reward,
            Purpose::ThankYou => &templates.thank_you,
            Purpose::Vip => &templates.vip,
            Purpose::Reengagement => &templates.reengagement,
            Purpose::Help => HELP_TEMPLATE,
        }
    }
}

const HELP_TEMPLATE: &str = "{business_name} referral program: texts about your referral link and rewards. Reply STOP to opt out, START to opt back in.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Deferred,
    Sent,
    Failed,
    Suppressed,
}

impl Status {
    /// Every value, in the order they are documented.
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Deferred,
        Status::Sent,
        Status::Failed,
        Status::Suppressed,
    ];
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Deferred => "deferred",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Suppressed => "suppressed",
        }
    }

    /// Still waiting to go out.
    pub fn is_pending(self) -> bool {
        matches!(self, Status::Queued | Status::Deferred)
    }
}

/// Why a message is not (yet) sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    OptedOut,
    NoConsent,
    NoPhone,
    SmsDisabled,
    QuietHours,
    DailyCap,
    BusinessDailyCap,
    ProviderError,
    InvalidNumber,
}

impl Reason {
    /// Every value, in the order they are documented.
    pub const ALL: [Reason; 9] = [
        Reason::OptedOut,
        Reason::NoConsent,
        Reason::NoPhone,
        Reason::SmsDisabled,
        Reason::QuietHours,
        Reason::DailyCap,
        Reason::BusinessDailyCap,
        Reason::ProviderError,
        Reason::InvalidNumber,
    ];
}

/// One message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: String,
    pub business_id: BusinessId,
    pub customer_id: Option<CustomerId>,
    /// `None` when the customer has no phone number (the message is suppressed).
    pub to: Option<Phone>,
    pub purpose: Purpose,
    /// What the message is about (the invited customer, the referral …); with the purpose it
    /// makes the message unique: the same purpose and subject are never sent twice.
    pub subject: String,
    pub body: String,
    pub segments: u32,
    pub status: Status,
    pub reason: Option<Reason>,
    pub created_at: DateTime<Utc>,
    /// When a pending message is next due.
    pub due_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub provider_id: Option<String>,
}

impl Message {
    pub fn suppressed(mut self, reason: Reason) -> Self {
        self.status = Status::Suppressed;
        self.reason = Some(reason);
        self.due_at = None;
        self
    }
}

/// A queued message that was not confirmed sent within this long is picked up by the scheduler.
pub const STUCK_AFTER: Duration = Duration::minutes(2);

/// What a message is to say and to whom, before the rules decide its status.
#[derive(Debug, Clone)]
pub struct Draft {
    pub business_id: BusinessId,
    pub customer_id: Option<CustomerId>,
    pub to: Option<Phone>,
    pub consent: bool,
    pub purpose: Purpose,
    pub subject: String,
    pub vars: BTreeMap<&'static str, String>,
    /// The recipient's segment: its own template is used where the business set one.
    pub segment: Option<Segment>,
}

/// Fills `{placeholders}`; unknown ones were refused when the template was saved, missing
/// values become empty.
pub fn render(template: &str, vars: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                if let Some(value) = vars.get(&after[..close]) {
                    out.push_str(value);
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// GSM 03.38 basic character set.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table: each costs two septets.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How a text is encoded and how many SMS segments it takes (160/153 septets for GSM-7, 70/67
/// UTF-16 units for UCS-2).
pub fn encoding_and_segments(text: &str) -> (Encoding, u32) {
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (encoding, units, single, multi) = if gsm {
        (Encoding::Gsm7, septets, 160, 153)
    } else {
        (Encoding::Ucs2, text.encode_utf16().count(), 70, 67)
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    (encoding, u32::try_from(count).unwrap_or(u32::MAX))
}

pub fn segments(text: &str) -> u32 {
    encoding_and_segments(text).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_gsm7_and_ucs2_limits() {
        assert_eq!(encoding_and_segments(""), (Encoding::Gsm7, 1));
        assert_eq!(encoding_and_segments(&"a".repeat(160)), (Encoding::Gsm7, 1));
        assert_eq!(encoding_and_segments(&"a".repeat(161)), (Encoding::Gsm7, 2));
        assert_eq!(encoding_and_segments(&"a".repeat(306)), (Encoding::Gsm7, 2));
        assert_eq!(encoding_and_segments(&"a".repeat(307)), (Encoding::Gsm7, 3));
        // Extension characters take two septets.
        assert_eq!(encoding_and_segments(&"€".repeat(80)), (Encoding::Gsm7, 1));
        assert_eq!(encoding_and_segments(&"€".repeat(81)), (Encoding::Gsm7, 2));
        // One emoji turns the whole message into UCS-2; it is two UTF-16 units.
        assert_eq!(
            encoding_and_segments(&format!("{}😀", "a".repeat(68))),
            (Encoding::Ucs2, 1)
        );
        assert_eq!(
            encoding_and_segments(&format!("{}😀", "a".repeat(69))),
            (Encoding::Ucs2, 2)
        );
        assert_eq!(encoding_and_segments(&"é".repeat(160)), (Encoding::Gsm7, 1));
        assert_eq!(encoding_and_segments(&"ê".repeat(70)), (Encoding::Ucs2, 1));
    }

    #[test]
    fn templates_fill_known_placeholders() {
        let vars = BTreeMap::from([
            ("first_name", "Maria".to_owned()),
            ("link", "https://x/r/AB".to_owned()),
        ]);
        assert_eq!(
            render("Hi {first_name}: {link} {friend_first_name}!", &vars),
            "Hi Maria: https://x/r/AB !"
        );
        assert_eq!(render("no placeholders", &vars), "no placeholders");
        assert_eq!(render("broken {first_name", &vars), "broken {first_name");
    }
}
