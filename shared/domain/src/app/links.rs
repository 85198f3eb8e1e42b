//! Referral links: the redirect and its click, the QR code's and landing page's view of a code,
//! and the guess limit on unknown codes.

use std::net::IpAddr;
use std::sync::Arc;

use super::Vouch;
use crate::model::business::Business;
use crate::model::click::{CLICK_RETENTION, Channel, Click, landing_redirect};
use crate::model::participant::Referrer;
use crate::ports::{Rate, RateKey, Written};
use crate::rules::figures;

use super::run::Backoff;
use crate::rules::attribution::is_link_preview_bot;
use crate::values::code::ReferralCode;
use crate::values::error::{Error, Result};
use crate::values::ids::ClickId;
use crate::values::time::TimeZone;

/// How many times a click is written before it is let go uncounted (the redirect never waits
/// long).
const CLICK_ATTEMPTS: u32 = 4;

/// Unknown codes one address may try per window before being told to wait.
pub const UNKNOWN_CODES_PER_WINDOW: u32 = 30;
pub const UNKNOWN_CODE_WINDOW_SECS: u64 = 600;

/// One visit to `/r/{code}`.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    pub code: &'a str,
    pub channel: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// False for `HEAD`: only a `GET` can be a person clicking.
    pub countable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickOutcome {
    Redirect { location: String, counted: bool },
    UnknownCode,
}

#[derive(Debug, Clone)]
pub struct ReferralCard {
    pub referrer: Referrer,
    pub business_name: String,
    pub offer_text: String,
}

impl Vouch {
    /// `GET`/`HEAD /r/{code}`: where to send the visitor, counting the click when a person made it.
    pub async fn click(&self, visit: Visit<'_>) -> Result<ClickOutcome> {
        let Some((code, referrer, business)) = self.resolve_code(visit.code, visit.ip).await?
        else {
            return Ok(ClickOutcome::UnknownCode);
        };
        let channel = Channel::from_query(visit.channel);
        let counted = visit.countable && !is_link_preview_bot(visit.user_agent);
        let click_id = counted.then(ClickId::generate);
        let location = landing_redirect(&business.settings.landing_url, &code, click_id, channel);
        if let Some(id) = click_id {
            // The referrer and code are this click's from here on: moved, not copied.
            let now = self.now();
            let click = Click {
                id,
                business_id: referrer.business_id,
                customer_id: referrer.customer_id,
                code,
                channel,
                ip_hash: visit.ip.map(|ip| self.config.ip_hasher.hash(ip)),
                at: now,
                expires_at: now + CLICK_RETENTION,
            };
            self.count_click(&click, business.settings.time_zone)
                .await?;
        }
        Ok(ClickOutcome::Redirect { location, counted })
    }

    /// Stores a click and its figures, a few times under contention; past that it is let go
    /// uncounted, as the visitor is never kept waiting long for a count.
    async fn count_click(&self, click: &Click, zone: TimeZone) -> Result<()> {
        let tally = figures::of_click(click, zone);
        let mut backoff = Backoff::default();
        loop {
            if self.ports.clicks.record(click, &tally).await? == Written::Applied {
                return Ok(());
            }
            // A simultaneous click on the same link or in the same business: a moment later.
            match backoff.next().filter(|_| backoff.retries <= CLICK_ATTEMPTS) {
                Some(pause) => self.ports.clock.pause(pause).await,
                None => {
                    tracing::warn!(code = %click.code, "a click could not be counted for contention");
                    return Ok(());
                }
            }
        }
    }

    /// The referrer behind a code, for QR codes and landing-page greetings.
    pub async fn referral_card(&self, raw_code: &str, ip: Option<IpAddr>) -> Result<ReferralCard> {
        let (_, referrer, business) = self
            .resolve_code(raw_code, ip)
            .await?
            .ok_or(Error::NotFound("referral code"))?;
        let offer_text = business.settings.offer_text().unwrap_or_else(|| {
            format!(
                "{} recommends {}",
                referrer.display_name, business.settings.name
            )
        });
        Ok(ReferralCard {
            business_name: business.settings.name.clone(),
            offer_text,
            referrer,
        })
    }

    /// A code's referrer and business. Every miss counts against the client's address, so codes
    /// cannot be enumerated: past [`UNKNOWN_CODES_PER_WINDOW`] misses in a window, `RateLimited`.
    async fn resolve_code(
        &self,
        raw: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<(ReferralCode, Referrer, Arc<Business>)>> {
        if let Ok(code) = ReferralCode::parse(raw)
            && let Some(referrer) = self.ports.participants.referrer(&code).await?
            && let Some(business) = self.business(&referrer.business_id).await?
        {
            return Ok(Some((code, referrer, business)));
        }
        if let Some(ip) = ip {
            let key = RateKey::UnknownCode(self.config.ip_hasher.hash(ip));
            if let Rate::Limited { retry_after_secs } = self
                .ports
                .rates
                .hit(
                    &key,
                    UNKNOWN_CODE_WINDOW_SECS,
                    UNKNOWN_CODES_PER_WINDOW,
                    self.now(),
                )
                .await?
            {
                return Err(Error::RateLimited { retry_after_secs });
            }
        }
        Ok(None)
    }
}
