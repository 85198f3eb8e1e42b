//! Keys and secrets: admin API keys (stored only as hashes), Standard Webhooks secrets, the
//! operator key check, and keyed hashing of IP addresses.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::values::error::ParseError;

const ADMIN_KEY_PREFIX: &str = "vouch_ak_";
const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A business's admin API key in the clear: shown once at creation, never stored.
pub struct AdminKey(String);

impl AdminKey {
    pub fn generate() -> Self {
        Self(format!(
            "{ADMIN_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random_bytes::<32>())
        ))
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }
}

impl fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKey(…)")
    }
}

/// A random token of 256 bits (URL-safe): invite links, session ids, CSRF tokens. Only its
/// [`KeyHash`] is stored where the token itself is a credential.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// SHA-256 of a high-entropy key, hex. Keys are 256 random bits, so a fast hash is enough: there
/// is nothing to brute-force.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn of(key: &str) -> Self {
        Self(hex::encode(Sha256::digest(key.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Compares a presented key with the expected one in constant time. Both sides are hashed first
/// so that neither their lengths nor their contents leak through timing.
pub fn keys_match(expected: &str, presented: &str) -> bool {
    let expected = Sha256::digest(expected.as_bytes());
    let presented = Sha256::digest(presented.as_bytes());
    expected.ct_eq(&presented).into()
}

/// A Standard Webhooks signing secret, `whsec_<base64 key>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookSecret {
    text: String,
    key: Vec<u8>,
}

impl WebhookSecret {
    pub fn generate() -> Self {
        let key = random_bytes::<24>().to_vec();
        Self {
            text: format!("{WEBHOOK_SECRET_PREFIX}{}", STANDARD.encode(&key)),
            key,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let encoded = raw
            .strip_prefix(WEBHOOK_SECRET_PREFIX)
            .ok_or_else(|| ParseError::new("must start with whsec_"))?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| ParseError::new("must be base64 after whsec_"))?;
        if key.len() < 16 {
            return Err(ParseError::new("must hold at least 16 bytes"));
        }
        Ok(Self {
            text: raw.to_owned(),
            key,
        })
    }

    /// The HMAC key: the decoded part after `whsec_`.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn reveal(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl TryFrom<String> for WebhookSecret {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WebhookSecret> for String {
    fn from(secret: WebhookSecret) -> String {
        secret.text
    }
}

/// A keyed hash of a client IP address: lets fraud rules compare addresses without storing them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpHash(String);

impl IpHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes IP addresses with the deployment's secret key (HMAC-SHA256, first 16 bytes, hex).
#[derive(Clone)]
pub struct IpHasher {
    key: Vec<u8>,
}

impl IpHasher {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    pub fn hash(&self, ip: std::net::IpAddr) -> IpHash {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return IpHash(String::new());
        };
        mac.update(ip.to_string().as_bytes());
        IpHash(hex::encode(&mac.finalize().into_bytes()[..16]))
    }
}

impl fmt::Debug for IpHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IpHasher(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_keys_are_random_and_hash_stably() {
        let (a, b) = (AdminKey::generate(), AdminKey::generate());
        assert_ne!(a.reveal(), b.reveal());
        assert!(a.reveal().starts_with("vouch_ak_"));
        assert_eq!(a.hash(), KeyHash::of(a.reveal()));
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(!format!("{a:?}").contains(a.reveal()));
    }

    #[test]
    fn key_comparison_needs_the_exact_key() {
        assert!(keys_match("operator-secret", "operator-secret"));
        assert!(!keys_match("operator-secret", "operator-secreT"));
        assert!(!keys_match("operator-secret", "operator-secret "));
        assert!(!keys_match("operator-secret", ""));
    }

    #[test]
    fn webhook_secrets_round_trip() {
        let secret = WebhookSecret::generate();
        assert!(secret.reveal().starts_with("whsec_"));
        let parsed = WebhookSecret::parse(secret.reveal()).unwrap();
        assert_eq!(parsed.key(), secret.key());
        assert_eq!(parsed.key().len(), 24);
        assert!(WebhookSecret::parse("whsec_!!!").is_err());
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
    }

    #[test]
    fn ip_hashes_depend_on_the_key_and_hide_the_address() {
        let ip: std::net::IpAddr = "203.0.113.7".parse().unwrap();
        let one = IpHasher::new(b"key-one").hash(ip);
        assert_eq!(one, IpHasher::new(b"key-one").hash(ip));
        assert_ne!(one, IpHasher::new(b"key-two").hash(ip));
        assert_eq!(one.as_str().len(), 32);
        assert!(!one.as_str().contains("203"));
    }
}
