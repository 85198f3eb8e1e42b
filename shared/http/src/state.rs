//! What every router shares: the application and how its links look from outside.

use std::ops::Deref;
use std::sync::Arc;

use axum::http::HeaderMap;
use url::Url;
use vouch_domain::app::Vouch;
use vouch_domain::values::code::ReferralCode;

use crate::extract::request_origin;

/// Cloned for every request a router handles (axum's `State`), so it is one reference count,
/// not the application's fifteen ports and its settings.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] refers to.
pub struct Shared {
    pub vouch: Vouch,
    pub web: Web,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Deployment-level web settings.
#[derive(Debug, Clone, Default)]
pub struct Web {
    /// Where visitors with an unknown code go; a 404 page when `None`.
    pub fallback_url: Option<Url>,
    /// Public origin of `/r/{code}` links; the request's host when `None`.
    pub public_base_url: Option<String>,
    /// The header Housecall Pro puts its signature in, when not the default.
    pub housecallpro_header: Option<String>,
    /// The header of Housecall Pro's signed time, when not the default.
    pub housecallpro_timestamp_header: Option<String>,
}

impl AppState {
    pub fn new(vouch: Vouch, web: Web) -> Self {
        Self(Arc::new(Shared { vouch, web }))
    }

    /// The public origin referral links are built on.
    pub fn link_base(&self, headers: &HeaderMap) -> String {
        self.base_url(headers)
    }

    fn base_url(&self, headers: &HeaderMap) -> String {
        self.web
            .public_base_url
            .clone()
            .or_else(|| request_origin(headers))
            .unwrap_or_default()
    }

    /// The permanent referral link of a code.
    pub fn link(&self, headers: &HeaderMap, code: &ReferralCode) -> String {
        format!("{}/r/{code}", self.base_url(headers))
    }

    pub fn qr_url(&self, headers: &HeaderMap, code: &ReferralCode) -> String {
        format!("{}/r/{code}/qr.svg", self.base_url(headers))
    }
}

impl Web {
    /// From the deployment's configuration; a malformed fallback URL stops start-up.
    pub fn new(
        fallback_url: Option<&str>,
        public_base_url: Option<String>,
    ) -> anyhow::Result<Self> {
        let fallback_url = fallback_url
            .map(|raw| vouch_domain::values::WebUrl::parse(raw).map(|url| url.url().clone()))
            .transpose()
            .map_err(|err| anyhow::anyhow!("VOUCH_FALLBACK_URL {err}"))?;
        Ok(Self {
            fallback_url,
            public_base_url,
            housecallpro_header: None,
            housecallpro_timestamp_header: None,
        })
    }
}
