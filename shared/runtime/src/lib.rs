//! What every function's `main` calls: the configuration read once from the environment, the
//! clients and the application built once, and the function's handler run by the Lambda
//! runtime. Nothing here touches the network before the first invocation.
//!
//! Every function's `main` runs on tokio's current-thread runtime: an instance handles one
//! event at a time on a fraction of a vCPU, so worker threads would only add to start-up (the
//! threads themselves, and the cgroup reads that size the pool).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use axum::Router;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vouch_aws::{Config, telemetry, wiring};
use vouch_http::events::{EventError, answer, inbound, issuer, jobber, sweep};
use vouch_http::{AppState, Web};

/// The web settings of a deployment; a malformed fallback URL stops start-up.
pub fn web(config: &Config) -> anyhow::Result<Web> {
    let mut web = Web::new(
        config.fallback_url.as_deref(),
        config.public_base_url.clone(),
    )?;
    web.housecallpro_header = config.housecallpro_signature_header.clone();
    web.housecallpro_timestamp_header = config.housecallpro_timestamp_header.clone();
    Ok(web)
}

/// An HTTP function: `router` is the function's router from `vouch_http::routers`.
pub async fn http(router: fn(AppState) -> Router) -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let web = web(&config)?;
    let app = wiring::application(&config).await;
    lambda_http::run(router(AppState::new(app.vouch, web))).await
}

/// The reward issuer: `referral.qualified` events from the bus.
pub async fn reward_issuer() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let link_base = config.public_base_url.clone().unwrap_or_default();
    let vouch = wiring::application(&config).await.vouch;
    let (vouch, link_base) = (&vouch, link_base.as_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
            answer(issuer::handle(vouch, link_base, event.payload).await)
        },
    ))
    .await
}

/// Inbound texts: SNS notifications of the number's inbound messages.
pub async fn sms_inbound() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let vouch = wiring::application(&config).await.vouch;
    let vouch = &vouch;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SnsEvent>| async move {
        answer(inbound::handle_sns(vouch, event.payload).await)
    }))
    .await
}

/// The scheduler: one sweep per scheduled invocation.
pub async fn scheduler() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    // Texts the sweep composes (rewards released from their hold) link to the public origin.
    let link_base = config.public_base_url.clone().unwrap_or_default();
    let vouch = wiring::application(&config).await.vouch;
    let (vouch, link_base) = (&vouch, link_base.as_str());
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        answer(sweep::handle(vouch, link_base).await)
    }))
    .await
}

/// Jobber read-backs from the SQS queue the webhook fills. A read-back worth retrying (Jobber
/// throttling or down, the store busy) is reported as a batch item failure and hidden for a
/// growing while; past the queue's receive limit it goes to the dead-letter queue.
pub async fn jobber_sync() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let link_base = config.public_base_url.clone().unwrap_or_default();
    let app = wiring::application(&config).await;
    let queue = app.read_backs.clone();
    let (vouch, link_base, queue) = (&app.vouch, link_base.as_str(), &queue);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let mut response = SqsBatchResponse::default();
        for message in event.payload.records {
            let id = message.message_id.clone().unwrap_or_default();
            let read_back = serde_json::from_str(message.body.as_deref().unwrap_or_default());
            let result = match read_back {
                Ok(read_back) => jobber::handle(vouch, link_base, &read_back).await,
                Err(err) => Err(EventError::NonRetryable(format!("not a read-back: {err}"))),
            };
            if answer(result).is_err() {
                let receives = message
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                if let (Some(queue), Some(receipt)) = (queue, message.receipt_handle.as_deref())
                    && let Err(err) = queue
                        .retry_later(receipt, vouch_aws::messaging::backoff(receives))
                        .await
                {
                    tracing::warn!(error = %err, "could not put a read-back off");
                }
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        Ok::<_, Error>(response)
    }))
    .await
}
