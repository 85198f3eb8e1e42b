//! Link clicks: channels, link-preview bots, the redirect target and the click record.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::values::WebUrl;
use crate::values::code::ReferralCode;
use crate::values::ids::{BusinessId, ClickId, CustomerId};
use crate::values::secrets::IpHash;

/// How long a raw click record is kept (a lead can cite its `vclid` for this long).
pub const CLICK_RETENTION: Duration = Duration::days(90);

/// Where a link was shared, from `?ch=`; anything unknown counts as a plain link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Link,
    Sms,
    Qr,
    Social,
    Email,
    Print,
}

impl Channel {
    /// Every value, in the order they are documented.
    pub const ALL: [Channel; 6] = [
        Channel::Link,
        Channel::Sms,
        Channel::Qr,
        Channel::Social,
        Channel::Email,
        Channel::Print,
    ];
}

impl Channel {
    pub fn from_query(raw: Option<&str>) -> Self {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            Some("sms") => Channel::Sms,
            Some("qr") => Channel::Qr,
            Some("social") => Channel::Social,
            Some("email") => Channel::Email,
            Some("print") => Channel::Print,
            _ => Channel::Link,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Link => "link",
            Channel::Sms => "sms",
            Channel::Qr => "qr",
            Channel::Social => "social",
            Channel::Email => "email",
            Channel::Print => "print",
        }
    }
}

/// Parameters Vouch sets on the landing URL; a landing URL's own parameters of the same names are
/// replaced, every other parameter it has is kept.
const OWN_PARAMETERS: &[&str] = &["ref", "vclid", "utm_source", "utm_medium", "utm_campaign"];

/// The business's landing URL with the referral parameters added, as the `Location` to send.
/// Only the business's configured URL decides the host: nothing from the request is copied into
/// it.
///
/// Written once into one string (this runs on every click): the landing URL up to its query, its
/// own parameters but ours form-encoded again, ours, and its fragment. Our values need no
/// encoding (a code is 2-9 and capital letters, a click id Crockford base32, the rest fixed
/// words), and the result is what `Url::set_query` would give without parsing it again.
pub fn landing_redirect(
    landing: &WebUrl,
    code: &ReferralCode,
    click: Option<ClickId>,
    channel: Channel,
) -> String {
    let url = landing.url();
    let mut location = String::with_capacity(url.as_str().len() + 128);
    location.push_str(&url[..url::Position::AfterPath]);
    location.push('?');
    if let Some(existing) = url.query() {
        let start = location.len();
        let mut kept = url::form_urlencoded::Serializer::for_suffix(location, start);
        kept.extend_pairs(
            url::form_urlencoded::parse(existing.as_bytes())
                .filter(|(key, _)| !OWN_PARAMETERS.contains(&key.as_ref())),
        );
        location = kept.finish();
        if location.len() > start {
            location.push('&');
        }
    }
    location.push_str("ref=");
    location.push_str(code.as_str());
    if let Some(click) = click {
        location.push_str("&vclid=");
        click.write_to(&mut location);
    }
    location.push_str("&utm_source=referral&utm_medium=");
    location.push_str(channel.as_str());
    location.push_str("&utm_campaign=referral-program");
    if let Some(fragment) = url.fragment() {
        location.push('#');
        location.push_str(fragment);
    }
    location
}

/// One counted click, kept for [`CLICK_RETENTION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub id: ClickId,
    pub business_id: BusinessId,
    pub customer_id: CustomerId,
    pub code: ReferralCode,
    pub channel: Channel,
    pub ip_hash: Option<IpHash>,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;

    /// The redirect as it was built before: the landing URL's query set through `url`.
    fn with_set_query(
        landing: &WebUrl,
        code: &ReferralCode,
        click: Option<ClickId>,
        channel: Channel,
    ) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(existing) = landing.url().query() {
            query.extend_pairs(
                url::form_urlencoded::parse(existing.as_bytes())
                    .filter(|(key, _)| !OWN_PARAMETERS.contains(&key.as_ref())),
            );
        }
        query.append_pair("ref", code.as_str());
        if let Some(click) = click {
            query.append_pair("vclid", &click.to_string());
        }
        query.append_pair("utm_source", "referral");
        query.append_pair("utm_medium", channel.as_str());
        query.append_pair("utm_campaign", "referral-program");
        let mut url = landing.url().clone();
        url.set_query(Some(&query.finish()));
        url.into()
    }

    #[test]
    fn the_redirect_is_what_setting_the_query_gives() {
        let code = ReferralCode::parse("ABCD2345").unwrap();
        for landing in [
            "https://acme.example",
            "https://acme.example/",
            "https://acme.example/refer",
            "https://acme.example/refer?",
            "https://acme.example/refer?lang=es&utm_source=old",
            "https://acme.example/refer?ref=old&vclid=x",
            "https://acme.example/refer?q=a+b%20c&x=%C3%A9t%C3%A9&flag",
            "https://acme.example/refer?a=1#book",
            "https://acme.example/refer#book",
            "https://acme.example:8443/a%20b/c?x=[1]&y=\"quoted\"",
            "https://xn--caf-dma.example/menu?item=cr%C3%AApe",
        ] {
            let landing = WebUrl::parse(landing).unwrap();
            for click in [None, Some(ClickId::generate())] {
                for channel in Channel::ALL {
                    assert_eq!(
                        landing_redirect(&landing, &code, click, channel),
                        with_set_query(&landing, &code, click, channel),
                        "{landing:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_redirect_keeps_the_landing_query_and_adds_ours() {
        let landing = WebUrl::parse("https://acme.example/refer?lang=es&utm_source=old").unwrap();
        let code = ReferralCode::parse("ABCD2345").unwrap();
        let click = ClickId::generate();
        let url = Url::parse(&landing_redirect(
            &landing,
            &code,
            Some(click),
            Channel::Sms,
        ))
        .unwrap();
        assert_eq!(url.host_str(), Some("acme.example"));
        assert_eq!(url.path(), "/refer");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let expected = vec![
            ("lang".to_owned(), "es".to_owned()),
            ("ref".to_owned(), "ABCD2345".to_owned()),
            ("vclid".to_owned(), click.to_string()),
            ("utm_source".to_owned(), "referral".to_owned()),
            ("utm_medium".to_owned(), "sms".to_owned()),
            ("utm_campaign".to_owned(), "referral-program".to_owned()),
        ];
        assert_eq!(pairs, expected);
    }

    #[test]
    fn uncounted_visits_carry_no_click_id() {
        let landing = WebUrl::parse("https://acme.example/").unwrap();
        let code = ReferralCode::parse("ABCD2345").unwrap();
        let url = Url::parse(&landing_redirect(&landing, &code, None, Channel::Link)).unwrap();
        assert!(url.query_pairs().all(|(k, _)| k != "vclid"));
        assert!(url.as_str().contains("utm_medium=link"));
    }

    #[test]
    fn channels_parse_leniently() {
        assert_eq!(Channel::from_query(Some("QR")), Channel::Qr);
        assert_eq!(Channel::from_query(Some("carrier-pigeon")), Channel::Link);
        assert_eq!(Channel::from_query(None), Channel::Link);
    }
}
