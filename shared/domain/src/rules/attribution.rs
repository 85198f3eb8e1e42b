//! Who gets credit, and what is suspicious: every attribution and fraud rule of the program.

use crate::values::person::Email;

/// User-agent fragments of the services that fetch a link to draw its preview card (iMessage
/// announces itself as facebookexternalhit + Twitterbot). Matched case-insensitively.
const PREVIEW_BOTS: &[&str] = &[
    "facebookexternalhit",
    "facebot",
    "facebookcatalog",
    "twitterbot",
    "slackbot",
    "slack-imgproxy",
    "whatsapp",
    "telegrambot",
    "discordbot",
    "linkedinbot",
    "googlebot",
    "google-pagerenderer",
    "googleother",
    "adsbot-google",
    "mediapartners-google",
    "apis-google",
    "feedfetcher-google",
    "bingbot",
    "bingpreview",
    "applebot",
    "skypeuripreview",
    "microsoftpreview",
    "pinterestbot",
    "redditbot",
    "embedly",
    "vkshare",
    "viber",
    "mastodon",
    "bluesky",
    "iframely",
    "outbrain",
    "yandexbot",
    "duckduckbot",
];

/// A link-preview bot, or no user agent at all (no browser omits it): neither is a person
/// clicking, so neither is counted.
pub fn is_link_preview_bot(user_agent: Option<&str>) -> bool {
    let Some(agent) = user_agent.map(str::trim).filter(|a| !a.is_empty()) else {
        return true;
    };
    let agent = agent.to_ascii_lowercase();
    PREVIEW_BOTS.iter().any(|bot| agent.contains(bot))
}

/// Domains of throwaway mailboxes; a lead from one is held for staff, never rejected.
const DISPOSABLE_DOMAINS: &[&str] = &[
    "10minutemail.com",
    "33mail.com",
    "dispostable.com",
    "fakeinbox.com",
    "getnada.com",
    "guerrillamail.com",
    "guerrillamail.net",
    "mailinator.com",
    "maildrop.cc",
    "mailnesia.com",
    "mintemail.com",
    "mohmal.com",
    "sharklasers.com",
    "spamgourmet.com",
    "temp-mail.org",
    "tempmail.com",
    "tempmailo.com",
    "throwawaymail.com",
    "trashmail.com",
    "yopmail.com",
];

pub fn is_disposable(email: &Email) -> bool {
    let domain = email.domain().to_ascii_lowercase();
    DISPOSABLE_DOMAINS
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_bots_and_missing_agents_are_not_people() {
        for bot in [
            "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
            "WhatsApp/2.23.20.0",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "TelegramBot (like TwitterBot)",
            "",
            "   ",
        ] {
            assert!(is_link_preview_bot(Some(bot)), "{bot}");
        }
        assert!(is_link_preview_bot(None));
        for person in [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
            "curl/8.5.0",
        ] {
            assert!(!is_link_preview_bot(Some(person)), "{person}");
        }
    }

    #[test]
    fn disposable_domains_and_their_subdomains_are_recognised() {
        let email = |raw: &str| Email::parse(raw).unwrap();
        assert!(is_disposable(&email("x@mailinator.com")));
        assert!(is_disposable(&email("x@eu.yopmail.com")));
        assert!(!is_disposable(&email("x@gmail.com")));
        assert!(!is_disposable(&email("x@notmailinator.com")));
    }
}
