//! Contact details: phone numbers in E.164, email addresses, names, countries.

use std::fmt;
use std::str::FromStr;

use phonenumber::PhoneNumber;
use phonenumber::metadata::Database;
use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

mod metadata;
#[cfg(test)]
mod phone_equivalence;

/// An ISO 3166-1 alpha-2 country the phone library knows; the default region for numbers
/// written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub const US: Country = Country(phonenumber::country::Id::US);

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        phonenumber::country::Id::from_str(&raw.to_ascii_uppercase())
            .map(Self)
            .map_err(|_| ParseError::new("must be an ISO 3166-1 alpha-2 country code"))
    }

    /// The international calling code (`1` for the US); 0 for a region without one (the
    /// metadata has one for every region the library names).
    pub fn calling_code(self) -> u16 {
        metadata::calling_code(self.0).unwrap_or(0)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

impl TryFrom<String> for Country {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Country> for String {
    fn from(country: Country) -> String {
        country.to_string()
    }
}

/// A valid phone number, kept in E.164 (`+15125550123`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a number as people write it; `default_region` applies when there is no `+`.
    ///
    /// The number is read with the metadata of the default region alone, then when that does
    /// not find it valid with its calling code's (`person/metadata.rs`), and with the whole
    /// world's when it leads elsewhere: the answer is the one the whole metadata gives, at a
    /// fraction of the first call's cost.
    pub fn parse(raw: &str, default_region: Country) -> Result<Self, ParseError> {
        if raw.len() > 40 {
            return Err(ParseError::new("is too long to be a phone number"));
        }
        let region = default_region.0;
        // A number written the usual way, `(512) 555-0123` or `+1 512-555-0123`, is read as
        // its digits alone (and its `+`): the parser strips the same punctuation, but on the
        // way builds its patterns for numbers in free text (every script's digits and
        // dashes), half the cost of a first number.
        let compact = compact(raw);
        let written = compact.as_deref().unwrap_or(raw);
        // A number in E.164 with the region's own code (`+15125550123`, as SMS gateways and job
        // software send them) is read as the region's national number: the same reading,
        // without the parser's international path and the patterns it compiles on first use;
        // kept only if it gives back the very number.
        let national = national_part(written, region).filter(|_| code_apart(raw, region));
        // A `+` number whose code is not the region's, or not written apart, is left as it is.
        let national_written = compact.as_deref().filter(|text| !text.starts_with('+'));
        let fast = national.or(national_written).unwrap_or(raw);
        if let Some(e164) = valid_in_region_alone(region, fast)
            && national.is_none_or(|_| e164 == written)
        {
            return Ok(Self(e164));
        }
        let e164 = metadata::for_number(raw, region)
            .and_then(|(code, database)| check_with(&database, code, region, raw))
            .unwrap_or_else(|| check_with_all(region, raw))?;
        Ok(Self(e164))
    }

    /// Whether a stored value has the form [`Phone::parse`] gives: `+`, then a calling code
    /// (1–3 digits, not starting with 0) and a national number of 2–17 digits, the most the
    /// phone library's parser accepts. Not E.164's 8–15 digits in all: numbers the metadata
    /// calls valid, such as `+989601` (Iran) or `+49301234567890123` (Germany), fall outside.
    fn has_e164_form(raw: &str) -> bool {
        raw.strip_prefix('+').is_some_and(|digits| {
            (3..=20).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0')
        })
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// For lists and logs: only the last four digits (`•••0123`).
    pub fn masked(&self) -> String {
        let digits: Vec<char> = self.0.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        format!("•••{tail}")
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What serde reads: only items read back from the table are deserialised into a `Phone`;
/// every number from outside (webhooks, forms, requests, inbound texts) arrives as a string and
/// goes through [`Phone::parse`]. A stored number was checked against the full metadata when
/// it was first written, so reading it back checks its form only: checking it again would load
/// phone metadata on every path that reads a contact, participant, referral or message.
impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        if !Self::has_e164_form(&raw) {
            return Err(ParseError::new("must be in E.164 form"));
        }
        Ok(Self(raw))
    }
}

/// The national number of `raw` when it is `+`, the region's calling code and digits only.
fn national_part(raw: &str, region: phonenumber::country::Id) -> Option<&str> {
    let digits = raw.strip_prefix('+')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code = metadata::calling_code(region)?.to_string();
    digits.strip_prefix(code.as_str()).filter(|n| !n.is_empty())
}

/// Whether `raw`, written with a `+`, gives the region's calling code as the parser reads one:
/// all its digits together, then punctuation or the end of the digits (`+1 512…`, `+1(512)…`,
/// `+15125550123`), not `+15(12)…`, which the parser refuses.
fn code_apart(raw: &str, region: phonenumber::country::Id) -> bool {
    let Some(code) = metadata::calling_code(region).map(|code| code.to_string()) else {
        return false;
    };
    let after_plus = raw
        .trim_start_matches(' ')
        .trim_start_matches('+')
        .trim_start_matches(' ');
    let Some(rest) = after_plus.strip_prefix(code.as_str()) else {
        return false;
    };
    rest.bytes().all(|b| b.is_ascii_digit()) || !rest.starts_with(|c: char| c.is_ascii_digit())
}

/// `raw` as its `+` (if it starts with one) and its digits, when it is only those with
/// spaces, parentheses, hyphens and dots between them (no letters, no extension, no other
/// script's digits): how people write a number. `None` for anything else, which the parser
/// reads as it is.
fn compact(raw: &str) -> Option<String> {
    let body = raw.trim_start_matches(' ');
    let (plus, body) = match body.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", body),
    };
    body.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'(' | b')' | b'-' | b'.'))
        .then(|| {
            plus.chars()
                .chain(body.chars().filter(char::is_ascii_digit))
                .collect()
        })
}

/// `raw` in E.164 when the default region's own metadata reads it as a valid number of the
/// region's calling code (see [`metadata::region_alone`]); `None` says nothing.
fn valid_in_region_alone(region: phonenumber::country::Id, raw: &str) -> Option<String> {
    let database = metadata::region_alone(region)?;
    let number = phonenumber::parse_with(&database, Some(region), raw).ok()?;
    let own_code = number.code().value() == metadata::calling_code(region)?;
    (own_code && phonenumber::is_valid_with(&database, &number))
        .then(|| format!("+{}{}", number.code().value(), number.national()))
}

/// `raw` read and checked with `database`, a calling code's own (see [`metadata::for_number`]);
/// `None` when the number leads to another calling code, which `database` may lack (`011 44 …`
/// dialled from the US, `tel:…;phone-context=+44` …).
///
/// Otherwise the answer is the whole metadata's: with the default region and every territory
/// of the number's code present, the library looks up nothing else, and it refuses a code it
/// cannot find as `InvalidCountryCode` (`phone_equivalence` tests this on every territory).
fn check_with(
    database: &Database,
    code: u16,
    region: phonenumber::country::Id,
    raw: &str,
) -> Option<Result<String, ParseError>> {
    match phonenumber::parse_with(database, Some(region), raw) {
        Err(phonenumber::ParseError::InvalidCountryCode) => None,
        Err(_) => Some(Err(not_a_number())),
        Ok(number) if number.code().value() != code => None,
        Ok(number) => Some(valid_e164(database, &number)),
    }
}

/// `raw` read and checked with the whole world's metadata, loaded in full on first use.
fn check_with_all(region: phonenumber::country::Id, raw: &str) -> Result<String, ParseError> {
    let database = &phonenumber::metadata::DATABASE;
    let number =
        phonenumber::parse_with(database, Some(region), raw).map_err(|_| not_a_number())?;
    valid_e164(database, &number)
}

/// The number in E.164 if `database` says it is valid.
///
/// Written as the library's `Mode::E164` writes it (`+`, code, national number): its formatter
/// loads the whole metadata even when given another database (`unwrap_or(&DATABASE)` forces the
/// lazy static).
fn valid_e164(database: &Database, number: &PhoneNumber) -> Result<String, ParseError> {
    if !phonenumber::is_valid_with(database, number) {
        return Err(ParseError::new("is not a valid phone number"));
    }
    Ok(format!("+{}{}", number.code().value(), number.national()))
}

fn not_a_number() -> ParseError {
    ParseError::new("is not a phone number")
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

/// An email address, trimmed and lower-cased so that matching is exact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.len() > 254 {
            return Err(ParseError::new("is too long to be an email address"));
        }
        let parsed = email_address::EmailAddress::from_str(&normalised)
            .map_err(|_| ParseError::new("is not an email address"))?;
        if !parsed.domain().contains('.') {
            return Err(ParseError::new("needs a domain like example.com"));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// For lists and logs: `m•••@example.com`.
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}•••@{domain}")
            }
            None => "•••".to_owned(),
        }
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

/// A person's name as given; trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ParseError::new("must not be empty"));
        }
        if trimmed.chars().count() > 100 {
            return Err(ParseError::new("must be at most 100 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ParseError::new("must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> String {
        name.0
    }
}

/// "Maria Garcia": how staff see a person.
pub fn full_name(first: &PersonName, last: Option<&PersonName>) -> String {
    match last {
        Some(last) => format!("{} {}", first.as_str(), last.as_str()),
        None => first.as_str().to_owned(),
    }
}

/// "Maria G." from "Maria" and "Garcia": how a referrer is shown to strangers.
pub fn display_name(first: &PersonName, last: Option<&PersonName>) -> String {
    match last.and_then(|last| last.as_str().chars().next()) {
        Some(initial) => format!("{} {}.", first.as_str(), initial.to_uppercase()),
        None => first.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones_normalise_to_e164_with_the_default_region() {
        let us = Country::US;
        for raw in [
            "(512) 555-0123",
            "512-555-0123",
            "+1 512 555 0123",
            "5125550123",
        ] {
            assert_eq!(
                Phone::parse(raw, us).map(|p| p.to_string()).ok().as_deref(),
                Some("+15125550123"),
                "{raw}"
            );
        }
        let gb = Country::parse("gb").ok().unwrap_or(Country::US);
        assert_eq!(
            Phone::parse("020 7946 0018", gb)
                .map(|p| p.to_string())
                .ok()
                .as_deref(),
            Some("+442079460018")
        );
    }

    #[test]
    fn bad_phones_are_refused() {
        for raw in ["", "abc", "123", "+1 000 000 0000", &"9".repeat(50)] {
            assert!(Phone::parse(raw, Country::US).is_err(), "{raw}");
        }
    }

    #[test]
    fn phones_of_several_countries_in_national_and_international_form() {
        let country = |raw| Country::parse(raw).unwrap();
        let (us, ca, gb, au) = (Country::US, country("ca"), country("gb"), country("au"));
        for (raw, region, e164) in [
            ("(512) 555-0123", us, "+15125550123"),
            ("+1 512-555-0123", gb, "+15125550123"),
            ("(506) 234-5678", ca, "+15062345678"),
            ("+1 506 234 5678", ca, "+15062345678"),
            // Another NANP territory's number, from a US business: not valid in the US alone.
            ("(242) 345-6789", us, "+12423456789"),
            ("506 234 5678", us, "+15062345678"),
            ("+1 506 234 5678", au, "+15062345678"),
            ("020 7946 0018", gb, "+442079460018"),
            ("07400 123456", gb, "+447400123456"),
            ("+44 20 7946 0018", us, "+442079460018"),
            ("+44 7400 123456", au, "+447400123456"),
            ("02 1234 5678", au, "+61212345678"),
            ("0412 345 678", au, "+61412345678"),
            ("+61 412 345 678", us, "+61412345678"),
            ("\u{FF0B}61 2 1234 5678", gb, "+61212345678"),
            // International dialling prefixes lead to another calling code than the region's.
            ("011 44 20 7946 0018", us, "+442079460018"),
            ("00 1 512 555 0123", gb, "+15125550123"),
            ("0011 44 7400 123456", au, "+447400123456"),
            ("tel:+44-20-7946-0018", us, "+442079460018"),
        ] {
            let parsed = Phone::parse(raw, region).map(|p| p.to_string());
            assert_eq!(parsed.as_deref(), Ok(e164), "{raw} in {region}");
        }
    }

    #[test]
    fn invalid_numbers_of_several_countries_are_refused() {
        let gb = Country::parse("gb").unwrap();
        let au = Country::parse("au").unwrap();
        for (raw, region) in [
            ("+1 555 000 0000", Country::US),
            ("(212) 055-0123", Country::US),
            ("512 555 012", Country::US),
            ("+44 20 7946", Country::US),
            ("020 7946 001", gb),
            ("+61 2 1234", au),
            ("call me maybe", Country::US),
            ("+44 twenty", gb),
            ("+999 1234 5678", Country::US),
            ("011 999 1234 5678", Country::US),
        ] {
            assert!(Phone::parse(raw, region).is_err(), "{raw} in {region}");
        }
    }

    #[test]
    fn stored_numbers_are_read_back_by_form_alone() {
        let read = |raw: &str| serde_json::from_value::<Phone>(serde_json::json!(raw));
        let stored = Phone::parse("(512) 555-0123", Country::US).unwrap();
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(serde_json::from_value::<Phone>(json).unwrap(), stored);
        for good in [
            "+15125550123",
            "+442079460018",
            "+989601",
            "+49301234567890123",
        ] {
            assert_eq!(
                read(good).map(|p| p.to_string()).ok().as_deref(),
                Some(good)
            );
        }
        // Not re-validated: a number the metadata refuses still reads if it has the form.
        assert!(Phone::parse("+1 000 000 0000", Country::US).is_err());
        assert!(read("+10000000000").is_ok());
        for bad in [
            "",
            "+",
            "+1",
            "+12",
            "15125550123",
            "+0123",
            "+01125550123",
            "+1 512 555 0123",
            "+1512555012a",
            "+123456789012345678901",
            "\u{FF0B}15125550123",
            " +15125550123",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calling_codes_come_from_the_regions() {
        for (region, code) in [
            ("us", 1),
            ("ca", 1),
            ("ag", 1),
            ("gb", 44),
            ("au", 61),
            ("IN", 91),
        ] {
            let country = Country::parse(region).unwrap();
            assert_eq!(country.calling_code(), code, "{region}");
        }
    }

    #[test]
    fn phones_and_emails_mask() {
        let phone = Phone::parse("512-555-0123", Country::US).ok();
        assert_eq!(phone.map(|p| p.masked()).as_deref(), Some("•••0123"));
        let email = Email::parse(" Maria@Example.COM ").ok();
        assert_eq!(email.as_ref().map(Email::as_str), Some("maria@example.com"));
        assert_eq!(
            email.map(|e| e.masked()).as_deref(),
            Some("m•••@example.com")
        );
    }

    #[test]
    fn bad_emails_are_refused() {
        for raw in [
            "",
            "maria",
            "maria@",
            "@example.com",
            "maria@localhost",
            "a b@example.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn display_names_use_the_last_initial() {
        let first = PersonName::parse("Maria").ok();
        let last = PersonName::parse("garcia").ok();
        if let Some(first) = first {
            assert_eq!(display_name(&first, last.as_ref()), "Maria G.");
            assert_eq!(display_name(&first, None), "Maria");
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic(raw in "\\PC{0,60}") {
            let _ = Phone::parse(&raw, Country::US);
            let _ = Email::parse(&raw);
            let _ = PersonName::parse(&raw);
            let _ = Country::parse(&raw);
        }
    }
}
