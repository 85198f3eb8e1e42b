//! Whether, when and how often a number may be texted: consent, the switch, quiet hours, the
//! daily caps, and the keywords people text back.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::model::message::{
    Draft, Message, Purpose, Reason, STUCK_AFTER, Status, render, segments,
};
use crate::model::settings::Settings;
use crate::values::{Phone, local_day};

/// Caps and the opt-out list, checked atomically with a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendGuard {
    pub message_id: String,
    pub phone: Phone,
    pub day: NaiveDate,
    pub per_number: u32,
    pub per_business: u32,
    /// Whether this send counts against the caps now (false for a resend of a text counted
    /// when it was queued).
    pub counts: bool,
}

impl SendGuard {
    /// The guard of a message about to go to `phone`: the business's caps for today in its zone.
    pub fn new(
        message: &Message,
        phone: &Phone,
        settings: &Settings,
        now: DateTime<Utc>,
        counts: bool,
    ) -> Self {
        Self {
            message_id: message.message_id.clone(),
            phone: phone.clone(),
            day: local_day(settings.time_zone, now),
            per_number: settings.sms.daily_cap_per_number,
            per_business: settings.sms.daily_cap_per_business,
            counts,
        }
    }
}

/// A new message, decided: suppressed, deferred to the quiet-hours window, or queued to go now.
pub fn compose(draft: Draft, settings: &Settings, now: DateTime<Utc>) -> Message {
    let body = render(
        draft.purpose.template_for(settings, draft.segment.as_ref()),
        &draft.vars,
    );
    let (status, reason, due_at) = when(&draft, settings, now);
    Message {
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

/// The message put off to the next day's sending window because a daily cap is reached.
pub fn capped(
    mut message: Message,
    reason: Reason,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Message {
    message.status = Status::Deferred;
    message.reason = Some(reason);
    message.due_at = Some(QuietHours::of(settings).next_day_open(now));
    message
}

/// Sends now are capped per number and per business per day (in the business's zone); HELP
/// answers are not.
pub fn counts_against_caps(message: &Message) -> bool {
    message.status == Status::Queued && message.purpose != Purpose::Help
}

/// Where a new message starts: suppressed (no number, texts switched off, no consent), deferred
/// to the end of quiet hours, or queued to go now. HELP answers need no consent and ignore quiet
/// hours: the person just texted us. Opt-outs and caps are checked when the message is committed
/// and again when it is sent.
pub fn when(
    draft: &Draft,
    settings: &Settings,
    now: DateTime<Utc>,
) -> (Status, Option<Reason>, Option<DateTime<Utc>>) {
    if draft.to.is_none() {
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
    }
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
    use std::collections::BTreeMap;

    use crate::values::{BusinessId, Phone};

    fn settings() -> Settings {
        crate::testing::acme_settings()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
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
            segment: None,
        };
        let day = utc("2026-11-23T17:00:00Z");
        let night = utc("2026-11-23T04:00:00Z");
        let sent = compose(draft(true), &settings, day);
        assert_eq!((sent.status, sent.reason), (Status::Queued, None));
        assert!(
            sent.body
                .starts_with("Thanks for choosing Acme Plumbing, Maria!"),
            "{}",
            sent.body
        );
        assert_eq!(sent.segments, 1);
        let no_consent = compose(draft(false), &settings, day);
        assert_eq!(
            (no_consent.status, no_consent.reason),
            (Status::Suppressed, Some(Reason::NoConsent))
        );
        let deferred = compose(draft(true), &settings, night);
        assert_eq!(
            (deferred.status, deferred.reason),
            (Status::Deferred, Some(Reason::QuietHours))
        );
        assert_eq!(deferred.due_at, Some(utc("2026-11-23T14:00:00Z")));
        let mut off = settings.clone();
        off.sms.enabled = false;
        let disabled = compose(draft(true), &off, day);
        assert_eq!(disabled.reason, Some(Reason::SmsDisabled));
        let mut nobody = draft(true);
        nobody.to = None;
        assert_eq!(
            compose(nobody, &settings, day).reason,
            Some(Reason::NoPhone)
        );
    }
}
