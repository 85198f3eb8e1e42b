//! The scheduled sweep: deferred texts whose window opened, stuck sends, unpublished events.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use vouch_aws::{Config, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let vouch = wiring::application(&config).await.vouch;
    let vouch = &vouch;
    // Texts the sweep composes (rewards released from their hold) link to the public origin.
    let link_base = config.public_base_url.clone().unwrap_or_default();
    let link_base = link_base.as_str();
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let sweep = vouch
            .sweep(link_base)
            .await
            .map_err(|err| lambda_runtime::Error::from(err.to_string()))?;
        tracing::info!(?sweep, "sweep done");
        serde_json::to_value(sweep).map_err(lambda_runtime::Error::from)
    }))
    .await
}
