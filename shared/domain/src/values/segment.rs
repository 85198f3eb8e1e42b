//! Customer segments — `residential`, `property_manager`, `trade_partner`, `home_inspector` —
//! named by the business: a lowercase slug, from the software's `segment` or one of its tags.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

/// A segment's name: 1–40 of `a-z`, `0-9` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Segment(String);

impl Segment {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let ok = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError::new(
                "must be 1-40 lowercase letters, digits or underscores",
            ))
        }
    }

    /// A tag as the software shows it ("Property Manager", "trade-partner") as a segment name
    /// ("property_manager", "trade_partner"); `None` if nothing of it is left.
    pub fn from_tag(raw: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in raw.trim().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if (c.is_whitespace() || c == '-' || c == '_') && !slug.ends_with('_') {
                slug.push('_');
            }
        }
        Self::parse(slug.trim_matches('_')).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Segment {
    type Error = ParseError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Segment> for String {
    fn from(segment: Segment) -> Self {
        segment.0
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_segment_names() {
        let tag = |raw| Segment::from_tag(raw).map(|s| s.0);
        assert_eq!(tag("Property Manager").as_deref(), Some("property_manager"));
        assert_eq!(tag(" trade-partner ").as_deref(), Some("trade_partner"));
        assert_eq!(tag("Home  Inspector!").as_deref(), Some("home_inspector"));
        assert_eq!(tag("¡¿"), None);
        assert_eq!(tag(&"x".repeat(41)), None);
        assert!(Segment::parse("Residential").is_err());
        assert!(Segment::parse("residential").is_ok());
    }
}
