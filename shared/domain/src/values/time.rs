//! Time in the business's own zone: the zone itself, times of day, and local days.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

/// An IANA time zone (`America/Chicago`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        raw.parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| ParseError::new("must be an IANA time zone like America/Chicago"))
    }

    pub fn utc() -> Self {
        Self(chrono_tz::UTC)
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }
}

impl TryFrom<String> for TimeZone {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> String {
        zone.0.name().to_owned()
    }
}

/// A time of day `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(NaiveTime);

impl ClockTime {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        NaiveTime::parse_from_str(raw, "%H:%M")
            .map(Self)
            .map_err(|_| ParseError::new("must be a time HH:MM"))
    }

    /// `hour:minute`; an impossible time is midnight.
    pub fn at(hour: u32, minute: u32) -> Self {
        Self(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN))
    }

    pub fn time(self) -> NaiveTime {
        self.0
    }
}

impl TryFrom<String> for ClockTime {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ClockTime> for String {
    fn from(time: ClockTime) -> String {
        time.0.format("%H:%M").to_string()
    }
}

/// The business's local date, which daily caps and reports count by.
pub fn local_day(zone: TimeZone, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone.tz()).date_naive()
}

/// When the business's next local day starts.
pub fn next_local_midnight(zone: TimeZone, now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = local_day(zone, now) + Duration::days(1);
    tomorrow
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| zone.tz().from_local_datetime(&midnight).earliest())
        .map_or(now + Duration::days(1), |local| local.with_timezone(&Utc))
}
