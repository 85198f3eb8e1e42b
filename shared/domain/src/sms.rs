//! Text messages: purposes and statuses, templates, segment counts, quiet hours, keywords, and
//! the rules deciding whether a message may go now, later or never.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::settings::Settings;
use crate::values::ids::{BusinessId, CustomerId};
use crate::values::person::Phone;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Invitation,
    Acknowledgment,
    Progress,
    Reward,
    ThankYou,
    Reengagement,
    Help,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Acknowledgment => "acknowledgment",
            Purpose::Progress => "progress",
            Purpose::Reward => "reward",
            Purpose::ThankYou => "thank_you",
            Purpose::Reengagement => "reengagement",
            Purpose::Help => "help",
        }
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
            Purpose::Reengagement => &templates.reengagement,
            Purpose::Help => HELP_TEMPLATE,
        }
    }
}

const HELP_TEMPLATE: &str = "{business_name} referral program: texts about your referral link and rewards. Reply STOP to opt out, START to opt back in.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Deferred,
    Sent,
    Failed,
    Suppressed,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
    /// A new message, decided: suppressed, deferred to the quiet-hours window, or queued to go
    /// now. Opt-outs and caps are enforced when it is committed and again when it is sent.
    pub fn compose(draft: Draft, settings: &Settings, now: DateTime<Utc>) -> Self {
        let body = render(draft.purpose.template(settings), &draft.vars);
        let (status, reason, due_at) = if draft.to.is_none() {
            (Status::Suppressed, Some(Reason::NoPhone), None)
        } else if !settings.sms.enabled {
            (Status::Suppressed, Some(Reason::SmsDisabled), None)
        } else if !draft.consent && draft.purpose != Purpose::Help {
            (Status::Suppressed, Some(Reason::NoConsent), None)
        } else if draft.purpose != Purpose::Help && QuietHours::of(settings).is_quiet(now) {
            (
                Status::Deferred,
                Some(Reason::QuietHours),
                Some(QuietHours::of(settings).next_open(now)),
            )
        } else {
            (Status::Queued, None, Some(now + STUCK_AFTER))
        };
        Self {
            message_id: ulid::Ulid::new().to_string(),
            business_id: draft.business_id,
            customer_id: draft.customer_id,
            to: draft.to,
            purpose: draft.purpose,
            subject: draft.subject,
            segments: segments(&body),
            body,
            status,
            reason,
            created_at: now,
            due_at,
            sent_at: None,
            provider_id: None,
        }
    }

    /// Sends now are capped per number and per business per day (in the business's zone).
    pub fn counts_against_caps(&self) -> bool {
        self.status == Status::Queued && self.purpose != Purpose::Help
    }

    /// The message put off to the next day's sending window because a daily cap is reached.
    pub fn capped(mut self, reason: Reason, settings: &Settings, now: DateTime<Utc>) -> Self {
        let quiet = QuietHours::of(settings);
        let tomorrow = quiet.next_day_open(now);
        self.status = Status::Deferred;
        self.reason = Some(reason);
        self.due_at = Some(tomorrow);
        self
    }

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

/// The business's quiet hours in its own time zone.
#[derive(Debug, Clone, Copy)]
pub struct QuietHours {
    zone: chrono_tz::Tz,
    start: NaiveTime,
    end: NaiveTime,
}

impl QuietHours {
    pub fn of(settings: &Settings) -> Self {
        Self {
            zone: settings.time_zone.tz(),
            start: settings.sms.quiet_start.time(),
            end: settings.sms.quiet_end.time(),
        }
    }

    pub fn is_quiet(&self, now: DateTime<Utc>) -> bool {
        let t = now.with_timezone(&self.zone).time();
        if self.start < self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// The first instant at or after `now` outside quiet hours.
    pub fn next_open(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if !self.is_quiet(now) {
            return now;
        }
        let local = now.with_timezone(&self.zone);
        let today = local.date_naive();
        let end_today = self.at(today, self.end);
        if end_today > now {
            end_today
        } else {
            self.at(today + Duration::days(1), self.end)
        }
    }

    /// When tomorrow's sending window opens (for messages over a daily cap).
    pub fn next_day_open(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tomorrow = now.with_timezone(&self.zone).date_naive() + Duration::days(1);
        self.next_open(self.at(tomorrow, NaiveTime::MIN))
    }

    /// A local wall-clock time as UTC; a time skipped by a DST change moves an hour later.
    fn at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        self.zone
            .from_local_datetime(&naive)
            .earliest()
            .or_else(|| {
                self.zone
                    .from_local_datetime(&(naive + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| naive.and_utc(), |local| local.with_timezone(&Utc))
    }
}

/// What an inbound text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

impl Keyword {
    /// The first word, case-insensitive, punctuation ignored (`Stop.` is STOP).
    pub fn parse(body: &str) -> Option<Self> {
        let word: String = body
            .split_whitespace()
            .next()?
            .chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE"
            | "OPTOUT" => Some(Keyword::OptOut),
            "START" | "UNSTOP" | "YES" => Some(Keyword::OptIn),
            "HELP" | "INFO" => Some(Keyword::Help),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> Settings {
        Settings::complete(
            &json!({"name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example"}),
            None,
        )
        .unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

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

    #[test]
    fn quiet_hours_wrap_midnight_in_the_business_zone() {
        let quiet = QuietHours::of(&settings());
        // 02:00 UTC is 20:00 in Chicago (CST, UTC-6): not quiet.
        assert!(!quiet.is_quiet(utc("2026-11-23T02:00:00Z")));
        // 03:30 UTC is 21:30: quiet until 08:00 local = 14:00 UTC.
        assert!(quiet.is_quiet(utc("2026-11-23T03:30:00Z")));
        assert_eq!(
            quiet.next_open(utc("2026-11-23T03:30:00Z")),
            utc("2026-11-23T14:00:00Z")
        );
        // 13:00 UTC is 07:00 local: opens in an hour, same day.
        assert_eq!(
            quiet.next_open(utc("2026-11-23T13:00:00Z")),
            utc("2026-11-23T14:00:00Z")
        );
        assert_eq!(
            quiet.next_open(utc("2026-11-23T15:00:00Z")),
            utc("2026-11-23T15:00:00Z")
        );
        // Tomorrow's window for capped messages.
        assert_eq!(
            quiet.next_day_open(utc("2026-11-23T15:00:00Z")),
            utc("2026-11-24T14:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_survive_dst_changes() {
        let quiet = QuietHours::of(&settings());
        // The night clocks spring forward (8 March 2026): 08:00 CDT is 13:00 UTC.
        assert_eq!(
            quiet.next_open(utc("2026-03-08T05:00:00Z")),
            utc("2026-03-08T13:00:00Z")
        );
    }

    #[test]
    fn keywords_are_recognised_loosely() {
        for (body, keyword) in [
            ("STOP", Some(Keyword::OptOut)),
            (" stop. ", Some(Keyword::OptOut)),
            ("Unsubscribe me", Some(Keyword::OptOut)),
            ("STOPALL", Some(Keyword::OptOut)),
            ("quit", Some(Keyword::OptOut)),
            ("start", Some(Keyword::OptIn)),
            ("UNSTOP", Some(Keyword::OptIn)),
            ("Yes", Some(Keyword::OptIn)),
            ("help?", Some(Keyword::Help)),
            ("thanks!", None),
            ("", None),
            ("please stop", None),
        ] {
            assert_eq!(Keyword::parse(body), keyword, "{body:?}");
        }
    }

    #[test]
    fn composing_applies_consent_switch_and_quiet_hours() {
        let settings = settings();
        let draft = |consent: bool| Draft {
            business_id: BusinessId::parse("acme").unwrap(),
            customer_id: None,
            to: Phone::parse("+15125550123", crate::values::person::Country::US).ok(),
            consent,
            purpose: Purpose::Invitation,
            subject: "cus_1".into(),
            vars: BTreeMap::from([
                ("first_name", "Maria".to_owned()),
                ("business_name", "Acme Plumbing".to_owned()),
                ("reward", "$25 account credit".to_owned()),
                ("link", "https://go.acme.example/r/ABCD2345".to_owned()),
            ]),
        };
        let day = utc("2026-11-23T17:00:00Z");
        let night = utc("2026-11-23T04:00:00Z");
        let sent = Message::compose(draft(true), &settings, day);
        assert_eq!((sent.status, sent.reason), (Status::Queued, None));
        assert!(
            sent.body
                .starts_with("Thanks for choosing Acme Plumbing, Maria!"),
            "{}",
            sent.body
        );
        assert_eq!(sent.segments, 1);
        let no_consent = Message::compose(draft(false), &settings, day);
        assert_eq!(
            (no_consent.status, no_consent.reason),
            (Status::Suppressed, Some(Reason::NoConsent))
        );
        let deferred = Message::compose(draft(true), &settings, night);
        assert_eq!(
            (deferred.status, deferred.reason),
            (Status::Deferred, Some(Reason::QuietHours))
        );
        assert_eq!(deferred.due_at, Some(utc("2026-11-23T14:00:00Z")));
        let mut off = settings.clone();
        off.sms.enabled = false;
        let disabled = Message::compose(draft(true), &off, day);
        assert_eq!(disabled.reason, Some(Reason::SmsDisabled));
        let mut nobody = draft(true);
        nobody.to = None;
        assert_eq!(
            Message::compose(nobody, &settings, day).reason,
            Some(Reason::NoPhone)
        );
    }
}
