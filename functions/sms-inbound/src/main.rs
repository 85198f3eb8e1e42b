//! Inbound texts from SNS: STOP, START and HELP.

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use vouch_aws::{Config, telemetry, wiring};
use vouch_http::{AppState, Web, inbound};

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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        inbound::handle_sns(state, event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
