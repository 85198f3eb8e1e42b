//! Who gets credit, and what is suspicious: every attribution and fraud rule of the program.

use std::sync::LazyLock;

use regex_automata::Input;
use regex_automata::dfa::Automaton;
use regex_automata::dfa::dense::DFA;

use crate::model::contact::{Contact, CustomerDetails};
use crate::model::referral::{Flag, Status};
use crate::model::settings::Limits;
use crate::values::person::Email;

/// A link-preview bot, or no user agent at all (no browser omits it): neither is a person
/// clicking, so neither is counted.
pub fn is_link_preview_bot(user_agent: Option<&str>) -> bool {
    let Some(agent) = user_agent.map(str::trim).filter(|a| !a.is_empty()) else {
        return true;
    };
    preview_bots().is_some_and(|bots| {
        bots.try_search_fwd(&Input::new(agent).earliest(true))
            .is_ok_and(|found| found.is_some())
    })
}

/// One pass over the user agent for every fragment of `assets/preview-bots.txt` (the services
/// that fetch a link to draw its preview card), ignoring ASCII case, with no copy of the agent:
/// this runs on every click. The automaton is compiled by `build.rs` and only checked here, on
/// the first click (~15 µs): compiling it then cost 0.3–0.5 ms of CPU, paid by every cold
/// click. Should the check ever fail, it is logged once and every visit is counted as a
/// person's (a preview then counts as a click, which staff can see; no click is lost).
fn preview_bots() -> Option<&'static DFA<&'static [u32]>> {
    static BOTS: LazyLock<Option<DFA<&'static [u32]>>> = LazyLock::new(|| {
        DFA::from_bytes(&COMPILED.bytes)
            .map(|(dfa, _)| dfa)
            .inspect_err(|err| {
                tracing::error!(
                    "link-preview bots not recognised: the automaton is not valid: {err}"
                );
            })
            .ok()
    });
    BOTS.as_ref()
}

/// Bytes aligned as the automaton's `u32` words are.
#[repr(C)]
struct Aligned<Bytes: ?Sized> {
    _words: [u32; 0],
    bytes: Bytes,
}

/// The automaton `build.rs` compiled from `assets/preview-bots.txt`, in the target's byte order.
static COMPILED: &Aligned<[u8]> = &Aligned {
    _words: [],
    bytes: *include_bytes!(concat!(env!("OUT_DIR"), "/preview-bots.dfa")),
};

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

/// What is known about a lead when its attribution is decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// Only a free-text name was given: staff confirm, it is never paid automatically.
    pub mention: bool,
    /// The named code or customer belongs to nobody enrolled.
    pub not_participant: bool,
    /// The lead is the referrer ([`is_self`]).
    pub self_referral: bool,
    /// The lead was already a customer.
    pub existing_customer: bool,
    /// The lead already has a standing attribution (or, from the website, was already known).
    pub already_attributed: bool,
    /// Website leads for the code today, this one included.
    pub leads_for_code_today: Option<u32>,
    /// The lead came from an address the referrer used themselves.
    pub shared_ip: bool,
    /// The lead's email is at a disposable-mail domain.
    pub disposable_email: bool,
}

/// Every fraud and attribution rule in one place: the flags a lead's referral gets. Self-referral,
/// an existing customer and a duplicate reject (in that order of precedence); velocity above the
/// business's threshold, a shared address, a disposable email, a mention and a non-participant
/// hold it for staff. Address signals never reject on their own (offices and households share).
pub fn flags(facts: &Facts, limits: &Limits) -> Vec<Flag> {
    let mut flags = Vec::new();
    if facts.mention {
        flags.push(Flag::Mention);
    }
    if facts.not_participant {
        flags.push(Flag::NotParticipant);
    }
    if facts.self_referral {
        flags.push(Flag::SelfReferral);
    } else if facts.existing_customer {
        flags.push(Flag::ExistingCustomer);
    } else if facts.already_attributed {
        flags.push(Flag::Duplicate);
    }
    if facts
        .leads_for_code_today
        .is_some_and(|n| n > limits.review_when_leads_per_code_per_day_over)
    {
        flags.push(Flag::Velocity);
    }
    if facts.shared_ip {
        flags.push(Flag::SharedIp);
    }
    if facts.disposable_email {
        flags.push(Flag::DisposableEmail);
    }
    flags
}

/// Where a referral with these flags starts: rejected, held for review, or pending.
pub fn status(flags: &[Flag]) -> Status {
    if flags.iter().any(|f| f.rejects()) {
        Status::Rejected
    } else if flags.is_empty() {
        Status::Pending
    } else {
        Status::NeedsReview
    }
}

/// A lead is their own referrer when they share the customer id, a phone or an email with them
/// (the lead's stored ones or those the lead just gave).
pub fn is_self(referrer: &Contact, lead: &Contact, details: Option<&CustomerDetails>) -> bool {
    let phones = [lead.phone.as_ref(), details.and_then(|d| d.phone.as_ref())];
    let emails = [lead.email.as_ref(), details.and_then(|d| d.email.as_ref())];
    referrer.customer_id == lead.customer_id
        || referrer
            .phone
            .as_ref()
            .is_some_and(|p| phones.contains(&Some(p)))
        || referrer
            .email
            .as_ref()
            .is_some_and(|e| emails.contains(&Some(e)))
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

    /// The fragments of `assets/preview-bots.txt`, one per line after the comments.
    fn preview_bot_fragments() -> impl Iterator<Item = &'static str> {
        include_str!("../../assets/preview-bots.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
    }

    #[test]
    fn the_compiled_automaton_is_valid() {
        assert!(preview_bots().is_some());
    }

    #[test]
    fn case_is_folded_in_ascii_alone() {
        // U+212A KELVIN SIGN folds to "k" in Unicode; an agent is not read that way.
        assert!(preview_bot_fragments().any(|f| f.contains('k')));
        for fragment in preview_bot_fragments().filter(|f| f.contains('k')) {
            let kelvin = fragment.replace('k', "\u{212A}");
            let contains_another = preview_bot_fragments().any(|f| kelvin.contains(f));
            assert_eq!(
                is_link_preview_bot(Some(&kelvin)),
                contains_another,
                "{kelvin}"
            );
        }
    }

    #[test]
    fn every_listed_bot_is_found_anywhere_in_any_case() {
        let fragments: Vec<_> = preview_bot_fragments().collect();
        assert!(fragments.len() > 30, "{fragments:?}");
        for fragment in fragments {
            for agent in [
                fragment.to_owned(),
                fragment.to_ascii_uppercase(),
                format!("Mozilla/5.0 (compatible; {fragment}/1.0)"),
                format!("x{}y", fragment.to_ascii_uppercase()),
            ] {
                assert!(is_link_preview_bot(Some(&agent)), "{agent}");
            }
            // Not a prefix of it: the whole fragment must be there.
            let cut = &fragment[..fragment.len() - 1];
            let agent = format!("Mozilla/5.0 {cut} Safari");
            let contains_another =
                preview_bot_fragments().any(|f| agent.to_ascii_lowercase().contains(f));
            assert_eq!(
                is_link_preview_bot(Some(&agent)),
                contains_another,
                "{agent}"
            );
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

    fn limits() -> Limits {
        Limits {
            leads_per_ip_per_hour: 20,
            leads_per_code_per_day: 20,
            review_when_leads_per_code_per_day_over: 5,
        }
    }

    #[test]
    fn each_fact_gives_its_flag_and_rejections_take_precedence() {
        let cases = [
            (Facts::default(), vec![], Status::Pending),
            (
                Facts {
                    self_referral: true,
                    existing_customer: true,
                    already_attributed: true,
                    ..Facts::default()
                },
                vec![Flag::SelfReferral],
                Status::Rejected,
            ),
            (
                Facts {
                    existing_customer: true,
                    already_attributed: true,
                    ..Facts::default()
                },
                vec![Flag::ExistingCustomer],
                Status::Rejected,
            ),
            (
                Facts {
                    already_attributed: true,
                    ..Facts::default()
                },
                vec![Flag::Duplicate],
                Status::Rejected,
            ),
            (
                Facts {
                    leads_for_code_today: Some(5),
                    ..Facts::default()
                },
                vec![],
                Status::Pending,
            ),
            (
                Facts {
                    leads_for_code_today: Some(6),
                    ..Facts::default()
                },
                vec![Flag::Velocity],
                Status::NeedsReview,
            ),
            (
                Facts {
                    shared_ip: true,
                    disposable_email: true,
                    ..Facts::default()
                },
                vec![Flag::SharedIp, Flag::DisposableEmail],
                Status::NeedsReview,
            ),
            (
                Facts {
                    mention: true,
                    ..Facts::default()
                },
                vec![Flag::Mention],
                Status::NeedsReview,
            ),
            (
                Facts {
                    not_participant: true,
                    shared_ip: true,
                    already_attributed: true,
                    ..Facts::default()
                },
                vec![Flag::NotParticipant, Flag::Duplicate, Flag::SharedIp],
                Status::Rejected,
            ),
        ];
        for (facts, expected, status_expected) in cases {
            let got = flags(&facts, &limits());
            assert_eq!(got, expected, "{facts:?}");
            assert_eq!(status(&got), status_expected, "{facts:?}");
        }
    }
}
