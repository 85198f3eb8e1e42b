//! Keys and secrets: admin API keys (stored only as hashes), Standard Webhooks secrets, the
//! operator key check, keyed hashing of IP addresses, and the signed tokens of referrers' pages.

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

/// A vendor's own secret (Housecall Pro's webhook signing secret): kept to verify that vendor's
/// deliveries, never shown again once saved (settings show `"configured": true`), never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VendorSecret(String);

impl VendorSecret {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        let length = raw.chars().count();
        if !(16..=256).contains(&length) {
            return Err(ParseError::new("must be 16-256 characters"));
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ParseError::new(
                "must be printable ASCII without spaces, as the vendor shows it",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VendorSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VendorSecret(…)")
    }
}

impl TryFrom<String> for VendorSecret {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<VendorSecret> for String {
    fn from(secret: VendorSecret) -> String {
        secret.0
    }
}

/// A vendor's id for something in the business's own account there (a Tremendous funding
/// source or campaign): 1–64 letters, digits, `_` or `-`, as the vendor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VendorId(String);

impl VendorId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 64 {
            return Err(ParseError::new("must be 1-64 characters"));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ParseError::new(
                "must be letters, digits, _ or -, as the vendor shows it",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VendorId {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<VendorId> for String {
    fn from(id: VendorId) -> String {
        id.0
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

/// The key of referrers' page tokens: a token names a business, a customer and the business's
/// key version, and carries a 128-bit HMAC-SHA256 over them, so it is checked without reading
/// anything. A business revokes all its tokens by moving its version on.
#[derive(Clone)]
pub struct PageKey {
    key: Vec<u8>,
}

/// A page token's fields, once its MAC is checked (ids still to be parsed by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageClaim {
    pub business: String,
    pub customer: String,
    pub version: u32,
}

const PAGE_LABEL: &[u8] = b"vouch referrer page v1\n";
const PAGE_MAC_BYTES: usize = 16;

impl PageKey {
    /// A page key of its own, derived from a deployment secret with a label no other use of
    /// that secret shares.
    pub fn derive(secret: &[u8]) -> Self {
        let key = Hmac::<Sha256>::new_from_slice(secret)
            .map(|mut mac| {
                mac.update(PAGE_LABEL);
                mac.finalize().into_bytes().to_vec()
            })
            .unwrap_or_default();
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(PAGE_LABEL);
        mac.update(payload);
        Some(mac)
    }

    /// `{base64url(version \n business \n customer)}.{base64url(MAC)}`.
    pub fn token(&self, business: &str, customer: &str, version: u32) -> String {
        let payload = format!("{version}\n{business}\n{customer}");
        let tag = self
            .mac(payload.as_bytes())
            .map(|mac| mac.finalize().into_bytes()[..PAGE_MAC_BYTES].to_vec())
            .unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The claim of a token this key made; `None` for anything else (compared in constant time).
    pub fn open(&self, token: &str) -> Option<PageClaim> {
        if token.len() > 512 {
            return None;
        }
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != PAGE_MAC_BYTES {
            return None;
        }
        self.mac(&payload)?.verify_truncated_left(&tag).ok()?;
        let payload = String::from_utf8(payload).ok()?;
        let mut fields = payload.splitn(3, '\n');
        let version = fields.next()?.parse().ok()?;
        let business = fields.next()?.to_owned();
        let customer = fields.next()?.to_owned();
        Some(PageClaim {
            business,
            customer,
            version,
        })
    }
}

impl fmt::Debug for PageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PageKey(…)")
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

    #[test]
    fn page_tokens_open_only_as_made_with_the_same_key() {
        let key = PageKey::derive(b"secret");
        let token = key.token("acme", "cus_maria", 1);
        assert_eq!(
            key.open(&token),
            Some(PageClaim {
                business: "acme".into(),
                customer: "cus_maria".into(),
                version: 1
            })
        );
        // Another key, a changed payload, a changed or truncated MAC: nothing.
        assert_eq!(PageKey::derive(b"other").open(&token), None);
        let (payload, tag) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode("1\nacme\ncus_other");
        assert_eq!(key.open(&format!("{forged}.{tag}")), None);
        let mut flipped = URL_SAFE_NO_PAD.decode(tag).unwrap();
        flipped[0] ^= 1;
        let flipped = URL_SAFE_NO_PAD.encode(flipped);
        assert_eq!(key.open(&format!("{payload}.{flipped}")), None);
        assert_eq!(key.open(&format!("{payload}.{}", &tag[..10])), None);
        for junk in ["", ".", "x.y", "%%.%%", &"a".repeat(600)] {
            assert_eq!(key.open(junk), None);
        }
        // The page key is not the secret it came from, nor the IP hash made with it.
        assert_ne!(key.key, b"secret".to_vec());
        assert_ne!(key.token("acme", "cus_maria", 2), token);
    }
}
