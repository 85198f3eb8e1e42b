//! Identifiers: tenant slugs, the field-service software's customer ids, ULIDs of our own.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::values::error::ParseError;

/// Ids no business may take: they are paths of their own.
const RESERVED: &[&str] = &["jobber"];

/// A business (tenant) id: a slug `[a-z0-9-]{3,40}` that neither starts nor ends with `-`.
/// Shared, not copied, when cloned (every record of the business carries it), as is a
/// [`CustomerId`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BusinessId(Arc<str>);

impl BusinessId {
    /// What [`BusinessId::parse`] accepts, as a regular expression (for the API document).
    pub const PATTERN: &'static str = "^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok_len = (3..=40).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = !raw.starts_with('-') && !raw.ends_with('-');
        // `/webhooks/jobber` is the Jobber app's one webhook URL, beside `/webhooks/{business}`.
        if RESERVED.contains(&raw) {
            return Err(ParseError::new("is reserved; choose another id"));
        }
        if ok_len && ok_chars && ok_ends {
            Ok(Self(raw.into()))
        } else {
            Err(ParseError::new(
                "must be 3-40 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer id as the field-service software gives it (for example `cus_8f2k`), or a ULID for
/// contacts Vouch creates itself. Printable ASCII without spaces, 1–128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerId(Arc<str>);

impl CustomerId {
    /// What [`CustomerId::parse`] accepts, as a regular expression (for the API document).
    pub const PATTERN: &'static str = "^[!-~]{1,128}$";

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok_len = (1..=128).contains(&raw.len());
        let ok_chars = raw.bytes().all(|b| b.is_ascii_graphic());
        if ok_len && ok_chars {
            Ok(Self(raw.into()))
        } else {
            Err(ParseError::new(
                "must be 1-128 printable characters without spaces",
            ))
        }
    }

    /// A new id for a contact Vouch creates itself (a website lead, say).
    pub fn generate() -> Self {
        Self(Ulid::new().to_string().into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifies one counted click; carried to the landing page as `vclid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClickId(Ulid);

/// A ULID as text (Crockford base32, any case), as a regular expression.
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$";

impl ClickId {
    pub fn generate() -> Self {
        Self(Ulid::new())
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Ulid::from_string(raw)
            .map(Self)
            .map_err(|_| ParseError::new("must be a ULID"))
    }
    /// Appends the id as text (as `Display` writes it) without a string of its own.
    pub fn write_to(&self, out: &mut String) {
        out.push_str(self.0.array_to_str(&mut [0; ulid::ULID_LEN]));
    }
}

/// A staff member of a business (a ULID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StaffId(Ulid);

impl StaffId {
    /// The lowest and highest ids, bounds of a range over every id.
    pub const MIN: Self = Self(Ulid(0));
    pub const MAX: Self = Self(Ulid(u128::MAX));

    pub fn generate() -> Self {
        Self(Ulid::new())
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Ulid::from_string(raw)
            .map(Self)
            .map_err(|_| ParseError::new("must be a ULID"))
    }
}

macro_rules! string_newtype_impls {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = ParseError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.to_string()
            }
        }
    )*};
}

string_newtype_impls!(BusinessId, CustomerId, ClickId, StaffId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_ids_are_slugs() {
        for ok in ["acme", "acme-plumbing", "a1b", &"x".repeat(40)] {
            assert!(BusinessId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ab",
            "Acme",
            "acme_plumbing",
            "-acme",
            "acme-",
            "ac me",
            &"x".repeat(41),
            "jobber",
            "acmé",
        ] {
            assert!(BusinessId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn customer_ids_accept_vendor_shapes_and_refuse_whitespace() {
        for ok in ["cus_8f2k", "Z2lkOi8vSm9iYmVyL0NsaWVudC8xMjM=", "12345"] {
            assert!(CustomerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "tab\there", &"x".repeat(129), "ünï"] {
            assert!(CustomerId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn click_ids_round_trip() {
        let id = ClickId::generate();
        assert_eq!(ClickId::parse(&id.to_string()).ok(), Some(id));
        assert!(ClickId::parse("not-a-ulid").is_err());
    }
}
