//! Signed webhooks from field-service software: customers, leads, jobs, reviews.

use vouch_aws::{Config, telemetry, wiring};
use vouch_http::{AppState, Web, webhooks};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let mut web = Web::new(
        config.fallback_url.as_deref(),
        config.public_base_url.clone(),
    )?;
    web.housecallpro_header = std::env::var("VOUCH_HOUSECALLPRO_SIGNATURE_HEADER")
        .ok()
        .filter(|h| !h.is_empty());
    let app = wiring::application(&config).await;
    lambda_http::run(webhooks::router(AppState::new(app.vouch, web))).await
}
