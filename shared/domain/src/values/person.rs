//! Contact details: phone numbers in E.164, email addresses, names, countries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

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

    /// The international calling code (`1` for the US).
    pub fn calling_code(self) -> u16 {
        phonenumber::metadata::DATABASE
            .by_id(self.0.as_ref())
            .map_or(0, |m| m.country_code())
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
    pub fn parse(raw: &str, default_region: Country) -> Result<Self, ParseError> {
        if raw.len() > 40 {
            return Err(ParseError::new("is too long to be a phone number"));
        }
        let number = phonenumber::parse(Some(default_region.0), raw)
            .map_err(|_| ParseError::new("is not a phone number"))?;
        if !phonenumber::is_valid(&number) {
            return Err(ParseError::new("is not a valid phone number"));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
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

impl TryFrom<String> for Phone {
    type Error = ParseError;
    /// Stored numbers are already E.164, so no default region is needed.
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        if !raw.starts_with('+') {
            return Err(ParseError::new("must be in E.164 form"));
        }
        Self::parse(&raw, Country::US)
    }
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
