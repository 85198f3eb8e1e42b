//! Rewards the referrer of a qualified referral: `referral.qualified` from the event bus.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use vouch_aws::{Config, telemetry, wiring};
use vouch_http::{AppState, Web, issuer};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let web = Web::new(
        config.fallback_url.as_deref(),
        config.public_base_url.clone(),
    )?;
    let state = AppState::new(wiring::application(&config).await.vouch, web);
    let state = &state;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
            issuer::handle(state, event.payload)
                .await
                .map(|_| ())
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
