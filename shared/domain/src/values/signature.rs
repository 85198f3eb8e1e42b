//! Signed deliveries: Standard Webhooks signatures (`v1,<base64 HMAC-SHA256>`) and Housecall
//! Pro's timestamped hex HMAC-SHA256.

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
    #[error("missing signature headers")]
    MissingHeaders,
    #[error("the timestamp header is not a unix time")]
    BadTimestamp,
    #[error("the timestamp is outside the tolerance")]
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

/// Housecall Pro's scheme: the `Api-Timestamp` header (unix seconds, within the tolerance both
/// ways) and `Api-Signature`, hex HMAC-SHA256 of `"{timestamp}.{raw body}"` keyed with the
/// account's signing secret. Constant-time, with a length check. Returns the signed time.
pub fn verify_timestamped_hex(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Unauthentic> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Unauthentic::MissingHeaders);
    };
    let timestamp = timestamp.trim();
    let seconds: i64 = timestamp.parse().map_err(|_| Unauthentic::BadTimestamp)?;
    let signed_at = DateTime::from_timestamp(seconds, 0).ok_or(Unauthentic::BadTimestamp)?;
    if (now.timestamp() - seconds).abs() > TOLERANCE_SECONDS {
        return Err(Unauthentic::Expired);
    }
    let encoded = signature.trim().trim_start_matches("sha256=");
    let (Ok(bytes), Some(mut signed)) = (hex::decode(encoded), mac(secret)) else {
        return Err(Unauthentic::NoMatch);
    };
    signed.update(timestamp.as_bytes());
    signed.update(b".");
    signed.update(body);
    signed
        .verify_slice(&bytes)
        .map(|()| signed_at)
        .map_err(|_| Unauthentic::NoMatch)
}

/// The `Api-Signature` Housecall Pro computes (for tests and the local tools).
pub fn sign_timestamped_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Some(mut signed) = mac(secret) else {
        return String::new();
    };
    signed.update(format!("{timestamp}.").as_bytes());
    signed.update(body);
    hex::encode(signed.finalize().into_bytes())
}

/// Checks a Jobber delivery: `X-Jobber-Hmac-SHA256` is the base64 HMAC-SHA256 of the raw
/// body keyed with the app's client secret. Jobber signs no timestamp, so a replay is caught by
/// the delivery's own id (topic, item and time) instead.
pub fn verify_body_base64(
    secret: &[u8],
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), Unauthentic> {
    let signature = signature.ok_or(Unauthentic::MissingHeaders)?;
    let bytes = STANDARD
        .decode(signature.trim())
        .map_err(|_| Unauthentic::NoMatch)?;
    let mut signed = mac(secret).ok_or(Unauthentic::NoMatch)?;
    signed.update(body);
    signed
        .verify_slice(&bytes)
        .map_err(|_| Unauthentic::NoMatch)
}

/// The `X-Jobber-Hmac-SHA256` value for `body` (tests, the local stand-in's twin).
pub fn sign_body_base64(secret: &[u8], body: &[u8]) -> String {
    let Some(mut signed) = mac(secret) else {
        return String::new();
    };
    signed.update(body);
    STANDARD.encode(signed.finalize().into_bytes())
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
    /// Housecall Pro's scheme, against a signature computed independently (Python's hmac).
    #[test]
    fn housecall_pro_signatures_cover_the_timestamp_and_the_body() {
        let key = b"hcp-signing-secret-3f9a1c";
        let body = br#"{"foo":"bar"}"#;
        let good = "92b2b1a100a7d89980bbc2660fd8638f6652ccaa42d29e6ae535912c44535257";
        assert_eq!(sign_timestamped_hex(key, TIMESTAMP, body), good);
        let check = |key: &[u8], ts: Option<&str>, sig: Option<&str>, body: &[u8], now| {
            verify_timestamped_hex(key, ts, sig, body, now)
        };
        let ts = Some("1614265330");
        assert_eq!(check(key, ts, Some(good), body, at(0)), Ok(at(0)));
        assert_eq!(
            check(key, ts, Some(&good.to_uppercase()), body, at(-300)),
            Ok(at(0))
        );
        assert_eq!(
            check(key, ts, Some(good), br#"{"foo":"baz"}"#, at(0)),
            Err(Unauthentic::NoMatch)
        );
        assert_eq!(
            check(b"another-secret", ts, Some(good), body, at(0)),
            Err(Unauthentic::NoMatch)
        );
        assert_eq!(
            check(key, Some("1614265331"), Some(good), body, at(0)),
            Err(Unauthentic::NoMatch)
        );
        assert_eq!(
            check(key, ts, Some(&good[..62]), body, at(0)),
            Err(Unauthentic::NoMatch)
        );
        assert_eq!(
            check(key, ts, Some(good), body, at(301)),
            Err(Unauthentic::Expired)
        );
        assert_eq!(
            check(key, ts, Some(good), body, at(-301)),
            Err(Unauthentic::Expired)
        );
        assert_eq!(
            check(key, Some("soon"), Some(good), body, at(0)),
            Err(Unauthentic::BadTimestamp)
        );
        assert_eq!(
            check(key, None, Some(good), body, at(0)),
            Err(Unauthentic::MissingHeaders)
        );
        assert_eq!(
            check(key, ts, None, body, at(0)),
            Err(Unauthentic::MissingHeaders)
        );
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

    proptest::proptest! {
        #[test]
        fn verifiers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), text in "\\PC{0,300}") {
            let _ = verify_timestamped_hex(b"k", Some(&text), Some(&text), &body, at(0));
            let delivery = Delivery { id: Some(&text), timestamp: Some(&text), signature: Some(&text), body: &body };
            let _ = verify(&secret(), delivery, at(0));
        }
    }

    #[test]
    fn jobber_signature_is_base64_hmac_of_the_raw_body() {
        let body = br#"{"data":{"webHookEvent":{"topic":"CLIENT_CREATE"}}}"#;
        let signature = sign_body_base64(b"client-secret-1234", body);
        assert_eq!(
            verify_body_base64(b"client-secret-1234", Some(&signature), body),
            Ok(())
        );
        let tampered = br#"{"data":{"webHookEvent":{"topic":"CLIENT_UPDATE"}}}"#;
        assert_eq!(
            verify_body_base64(b"client-secret-1234", Some(&signature), tampered),
            Err(Unauthentic::NoMatch)
        );
        assert_eq!(
            verify_body_base64(b"another-secret-123", Some(&signature), body),
            Err(Unauthentic::NoMatch)
        );
        assert_eq!(
            verify_body_base64(b"client-secret-1234", None, body),
            Err(Unauthentic::MissingHeaders)
        );
        assert_eq!(
            verify_body_base64(b"client-secret-1234", Some("not base64!"), body),
            Err(Unauthentic::NoMatch)
        );
    }
}
