//! Money is integer cents in the business's currency.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

/// An ISO 4217 code (`USD`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let upper = raw.to_ascii_uppercase();
        if upper.len() == 3 && upper.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(upper))
        } else {
            Err(ParseError::new("must be an ISO 4217 code like USD"))
        }
    }

    pub fn usd() -> Self {
        Self("USD".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn symbol(&self) -> Option<&'static str> {
        match self.0.as_str() {
            "USD" | "CAD" | "AUD" | "NZD" | "MXN" => Some("$"),
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Currency {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.0
    }
}

/// A non-negative amount in cents. Amounts never go through floating point.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

impl Money {
    /// The largest amount accepted anywhere: ten million in major units.
    pub const MAX_CENTS: i64 = 1_000_000_000;

    pub fn from_cents(cents: i64) -> Result<Self, ParseError> {
        if (0..=Self::MAX_CENTS).contains(&cents) {
            Ok(Self(cents))
        } else {
            Err(ParseError::new("must be between 0 and 1000000000 cents"))
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// `$25` for whole amounts, `$25.50` otherwise; unknown symbols fall back to the code.
    pub fn display(self, currency: &Currency) -> String {
        let (major, minor) = (self.0 / 100, self.0 % 100);
        let amount = if minor == 0 {
            major.to_string()
        } else {
            format!("{major}.{minor:02}")
        };
        match currency.symbol() {
            Some(symbol) => format!("{symbol}{amount}"),
            None => format!("{amount} {currency}"),
        }
    }
}

impl TryFrom<i64> for Money {
    type Error = ParseError;
    fn try_from(cents: i64) -> Result<Self, Self::Error> {
        Self::from_cents(cents)
    }
}

impl From<Money> for i64 {
    fn from(money: Money) -> i64 {
        money.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_displays_without_floats() {
        let usd = Currency::usd();
        assert_eq!(
            Money::from_cents(2500)
                .map(|m| m.display(&usd))
                .ok()
                .as_deref(),
            Some("$25")
        );
        assert_eq!(
            Money::from_cents(2550)
                .map(|m| m.display(&usd))
                .ok()
                .as_deref(),
            Some("$25.50")
        );
        let chf = Currency::parse("chf").ok().unwrap_or_else(Currency::usd);
        assert_eq!(
            Money::from_cents(105)
                .map(|m| m.display(&chf))
                .ok()
                .as_deref(),
            Some("1.05 CHF")
        );
    }

    #[test]
    fn negative_and_huge_amounts_are_refused() {
        assert!(Money::from_cents(-1).is_err());
        assert!(Money::from_cents(Money::MAX_CENTS + 1).is_err());
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("U$D").is_err());
    }
}
