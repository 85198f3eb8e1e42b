//! Signed deliveries: Standard Webhooks signatures (`v1,<base64 HMAC-SHA256>`) and the plain
//! hex HMAC-SHA256 some vendors use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::values::secrets::WebhookSecret;

/// Signatures older or newer than this are refused (replay protection, both ways).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

/// Why a delivery is not authentic. All of them answer 401 alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unauthentic {
    #[error("missing webhook-id, webhook-timestamp or webhook-signature")]
    MissingHeaders,
    #[error("webhook-timestamp is not a unix time")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance")]
    Expired,
    #[error("no signature matches")]
    NoMatch,
}

/// The headers and raw body of a Standard Webhooks delivery.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// HMAC-SHA256 keyed with `key`; HMAC accepts keys of any length, so this is always `Some`.
fn mac(key: &[u8]) -> Option<Hmac<Sha256>> {
    Hmac::<Sha256>::new_from_slice(key).ok()
}

/// Checks a Standard Webhooks delivery: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
/// any one of the space-separated signatures may match; the comparison is constant-time and
/// checks the length. Returns the delivery id.
pub fn verify<'a>(
    secret: &WebhookSecret,
    delivery: Delivery<'a>,
    now: DateTime<Utc>,
) -> Result<&'a str, Unauthentic> {
    let (Some(id), Some(timestamp), Some(signatures)) =
        (delivery.id, delivery.timestamp, delivery.signature)
    else {
        return Err(Unauthentic::MissingHeaders);
    };
    if id.is_empty() || id.len() > 256 {
        return Err(Unauthentic::MissingHeaders);
    }
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Unauthentic::BadTimestamp)?;
    if (now.timestamp() - seconds).abs() > TOLERANCE_SECONDS {
        return Err(Unauthentic::Expired);
    }
    let mut signed = mac(secret.key()).ok_or(Unauthentic::NoMatch)?;
    signed.update(id.as_bytes());
    signed.update(b".");
    signed.update(timestamp.trim().as_bytes());
    signed.update(b".");
    signed.update(delivery.body);
    for candidate in signatures.split(' ') {
        let Some(("v1", encoded)) = candidate.split_once(',') else {
            continue;
        };
        let Ok(bytes) = STANDARD.decode(encoded) else {
            continue;
        };
        // verify_slice compares in constant time and refuses a wrong length.
        if signed.clone().verify_slice(&bytes).is_ok() {
            return Ok(id);
        }
    }
    Err(Unauthentic::NoMatch)
}

/// The `webhook-signature` value a sender computes (for tests and local tools).
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let Some(mut signed) = mac(secret.key()) else {
        return String::new();
    };
    signed.update(format!("{id}.{timestamp}.").as_bytes());
    signed.update(body);
    format!("v1,{}", STANDARD.encode(signed.finalize().into_bytes()))
}

/// A vendor signature: lowercase or uppercase hex of HMAC-SHA256 of the raw body, optionally
/// prefixed `sha256=`.
pub fn verify_hex(secret: &[u8], header: Option<&str>, body: &[u8]) -> bool {
    let Some(header) = header else { return false };
    let encoded = header.trim().trim_start_matches("sha256=");
    let (Ok(bytes), Some(mut signed)) = (hex::decode(encoded), mac(secret)) else {
        return false;
    };
    signed.update(body);
    signed.verify_slice(&bytes).is_ok()
}

pub fn sign_hex(secret: &[u8], body: &[u8]) -> String {
    let Some(mut signed) = mac(secret) else {
        return String::new();
    };
    signed.update(body);
    hex::encode(signed.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The test vector published with the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    fn at(offset: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(TIMESTAMP + offset, 0).unwrap()
    }

    fn delivery<'a>(signature: &'a str, timestamp: &'a str, body: &'a [u8]) -> Delivery<'a> {
        Delivery {
            id: Some(ID),
            timestamp: Some(timestamp),
            signature: Some(signature),
            body,
        }
    }
    #[test]
    fn the_specification_vector_verifies() {
        assert_eq!(sign(&secret(), ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, "1614265330", BODY), at(0)),
            Ok(ID)
        );
    }

    #[test]
    fn edge_cases_are_refused() {
        let ts = "1614265330";
        let prefix = &SIGNATURE[..SIGNATURE.len() - 8];
        for bad in [
            "v1,",
            "v1",
            "",
            prefix,
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v1,!!!notbase64",
        ] {
            assert_eq!(
                verify(&secret(), delivery(bad, ts, BODY), at(0)),
                Err(Unauthentic::NoMatch),
                "{bad:?}"
            );
        }
        let other = WebhookSecret::generate();
        assert!(verify(&other, delivery(SIGNATURE, ts, BODY), at(0)).is_err());
        assert!(
            verify(
                &secret(),
                delivery(SIGNATURE, ts, br#"{"test": 2432232315}"#),
                at(0)
            )
            .is_err()
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, ts, BODY), at(301)),
            Err(Unauthentic::Expired)
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, ts, BODY), at(-301)),
            Err(Unauthentic::Expired)
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, ts, BODY), at(300)),
            Ok(ID)
        );
        assert_eq!(
            verify(&secret(), delivery(SIGNATURE, "yesterday", BODY), at(0)),
            Err(Unauthentic::BadTimestamp)
        );
        let missing = Delivery {
            id: None,
            timestamp: Some(ts),
            signature: Some(SIGNATURE),
            body: BODY,
        };
        assert_eq!(
            verify(&secret(), missing, at(0)),
            Err(Unauthentic::MissingHeaders)
        );
    }

    #[test]
    fn any_one_of_several_signatures_may_match() {
        let several = format!("v1,Zm9v v1a,xyz {SIGNATURE} v1,YmFy");
        assert_eq!(
            verify(&secret(), delivery(&several, "1614265330", BODY), at(0)),
            Ok(ID)
        );
    }

    #[test]
    fn vendor_hex_signatures_verify() {
        let signature = sign_hex(b"vendor-secret", b"{}");
        assert!(verify_hex(b"vendor-secret", Some(&signature), b"{}"));
        assert!(verify_hex(
            b"vendor-secret",
            Some(&format!("sha256={}", signature.to_uppercase())),
            b"{}"
        ));
        assert!(!verify_hex(b"vendor-secret", Some(&signature[..10]), b"{}"));
        assert!(!verify_hex(b"other", Some(&signature), b"{}"));
        assert!(!verify_hex(b"vendor-secret", None, b"{}"));
    }

    proptest::proptest! {
        #[test]
        fn verifiers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in "\\PC{0,300}") {
            let _ = verify_hex(b"k", Some(&text), &body);
            let delivery = Delivery { id: Some(&text), timestamp: Some(&text), signature: Some(&text), body: &body };
            let _ = verify(&secret(), delivery, at(0));
        }
    }
}
