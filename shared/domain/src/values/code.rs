//! Referral codes: permanent, unique across every business, case-insensitive and easy to read
//! aloud. The alphabet leaves out 0/O, 1/I/L so a code said on the phone or copied from a van
//! door survives; eight symbols of 31 give 31^8 ≈ 8.5 × 10^11 codes (≈ 39.6 bits), so with a
//! million codes issued a random guess hits one with probability ≈ 1 in 850,000, and guessing
//! is further slowed by the unknown-code rate limit.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

/// Symbols used in codes: digits 2–9 and letters without I, L and O.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a generated code.
pub const LENGTH: usize = 8;

/// Whether each byte is in [`ALPHABET`].
const IN_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = true;
        i += 1;
    }
    table
};

/// Kept as its eight bytes: a click reads, copies and compares one without allocating.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReferralCode([u8; LENGTH]);

impl fmt::Debug for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReferralCode").field(&self.as_str()).finish()
    }
}

impl ReferralCode {
    /// Parses what a person typed or a link carried: case-insensitive, spaces and dashes
    /// ignored (`abcd-2345` is `ABCD2345`).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() > 32 {
            return Err(ParseError::new("is too long to be a referral code"));
        }
        // Byte by byte: no byte of a multi-byte character is a dash or a space, and none is in
        // the alphabet, so this reads a code as the characters would. Every link click runs it.
        let kept = || raw.bytes().filter(|b| !matches!(b, b'-' | b' '));
        if kept().count() != LENGTH {
            return Err(ParseError::new("must be 8 characters"));
        }
        if !kept().all(|b| IN_ALPHABET[usize::from(b.to_ascii_uppercase())]) {
            return Err(ParseError::new(
                "may only contain 2-9 and letters other than I, L and O",
            ));
        }
        let mut code = [0; LENGTH];
        for (to, b) in code.iter_mut().zip(kept()) {
            *to = b.to_ascii_uppercase();
        }
        Ok(Self(code))
    }

    /// A fresh random code. Uniqueness is not checked here: the store claims the code with a
    /// conditional write and the caller draws again on a collision.
    pub fn generate(rng: &mut impl Rng) -> Self {
        Self(std::array::from_fn(|_| {
            ALPHABET[rng.random_range(0..ALPHABET.len())]
        }))
    }

    pub fn as_str(&self) -> &str {
        // Only alphabet bytes are ever stored, so this is never the empty fallback.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReferralCode {
    type Err = ParseError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for ReferralCode {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ReferralCode> for String {
    fn from(code: ReferralCode) -> String {
        code.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parsing as it was first written, character by character.
    fn by_characters(raw: &str) -> Result<ReferralCode, ParseError> {
        if raw.len() > 32 {
            return Err(ParseError::new("is too long to be a referral code"));
        }
        let code: String = raw
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.len() != LENGTH {
            return Err(ParseError::new("must be 8 characters"));
        }
        if !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(ParseError::new(
                "may only contain 2-9 and letters other than I, L and O",
            ));
        }
        let bytes: [u8; LENGTH] = code.as_bytes().try_into().expect("eight bytes, checked");
        Ok(ReferralCode(bytes))
    }

    #[test]
    fn alphabet_has_no_lookalikes() {
        for c in b"01OIL" {
            assert!(!ALPHABET.contains(c));
        }
        assert_eq!(ALPHABET.len(), 31);
    }

    #[test]
    fn parsing_is_case_insensitive_and_ignores_dashes() {
        let code = ReferralCode::parse("abcd-2345").ok();
        assert_eq!(code.as_ref().map(ReferralCode::as_str), Some("ABCD2345"));
        assert_eq!(ReferralCode::parse("ABCD2345").ok(), code);
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "ABC",
            "ABCD23450",
            "ABCD2O45",
            "ABCD1345",
            "ABCDI345",
            "ABCD%345",
            "ÄBCD2345",
            &"A".repeat(1000),
        ] {
            assert!(ReferralCode::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn generated_codes_parse_to_themselves(seed in any::<u64>()) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let code = ReferralCode::generate(&mut rng);
            prop_assert_eq!(ReferralCode::parse(code.as_str()).ok(), Some(code.clone()));
            prop_assert_eq!(ReferralCode::parse(&code.as_str().to_lowercase()).ok(), Some(code));
        }

        #[test]
        fn parse_never_panics(raw in "\\PC*") {
            let _ = ReferralCode::parse(&raw);
        }

        /// Byte by byte, parsing answers what reading the characters did, errors included.
        #[test]
        fn parse_reads_bytes_as_the_characters_would(raw in "[2-9a-zA-Z01 \\-ÄéИ😀%]{0,12}") {
            prop_assert_eq!(ReferralCode::parse(&raw), by_characters(&raw));
        }
    }
}
