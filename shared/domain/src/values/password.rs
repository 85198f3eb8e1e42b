//! Staff passwords: checked for length when set, stored only as an Argon2id hash (a PHC string
//! with its salt and parameters), verified in constant time by the argon2 crate.

use std::fmt;

use argon2::password_hash::{PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 200;

/// A password as typed when it is set: 12 to 200 characters. Never stored, never logged.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ParseError::new("must be at least 12 characters"));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ParseError::new("must be at most 200 characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Its Argon2id hash with a fresh random salt.
    pub fn hash(&self) -> anyhow::Result<PasswordHash> {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let phc = hasher()
            .hash_password(self.0.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
        Ok(PasswordHash(phc.to_string()))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// Argon2id with OWASP's first recommended set: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A stored password: the PHC string of its Argon2id hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Whether `presented` is the password (any length is tried: it is only compared).
    pub fn verify(&self, presented: &str) -> bool {
        let Ok(phc) = Phc::new(&self.0) else {
            return false;
        };
        hasher().verify_password(presented.as_bytes(), &phc).is_ok()
    }

    /// A hash no password matches, verified at the same cost: what an unknown email is
    /// checked against, so that its answer takes as long as a wrong password's.
    pub fn decoy() -> &'static PasswordHash {
        static DECOY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| {
            let mut random = [0u8; 24];
            rand::rng().fill_bytes(&mut random);
            Password(hex::encode(random))
                .hash()
                .unwrap_or_else(|_| PasswordHash(String::new()))
        })
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_passwords_are_refused_with_a_reason() {
        assert!(Password::parse("eleven char").is_err());
        assert!(Password::parse("twelve chars").is_ok());
        assert!(Password::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_is_argon2id_salted() {
        let password = Password::parse("correct horse battery").unwrap();
        let (one, two) = (password.hash().unwrap(), password.hash().unwrap());
        assert!(
            one.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            one.0
        );
        assert_ne!(one, two, "each hash has its own salt");
        assert!(one.verify("correct horse battery"));
        assert!(!one.verify("correct horse battery "));
        assert!(!PasswordHash::decoy().verify("correct horse battery"));
        assert!(!PasswordHash("not a phc string".into()).verify(""));
    }
}
