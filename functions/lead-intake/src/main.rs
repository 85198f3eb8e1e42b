//! Takes the website contact form's leads: `POST /api/leads`.

use vouch_aws::{Config, telemetry, wiring};
use vouch_http::{AppState, Web, leads};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let web = Web::new(
        config.fallback_url.as_deref(),
        config.public_base_url.clone(),
    )?;
    let vouch = wiring::application(&config).await.vouch;
    lambda_http::run(leads::router(AppState::new(vouch, web))).await
}
