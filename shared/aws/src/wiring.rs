//! Builds the application from configuration: one SDK config, counted clients, one store.

use std::sync::Arc;

use crate::clock::SystemClock;
use vouch_domain::app::{Ports, ServiceConfig, Vouch};
use vouch_domain::values::secrets::{IpHasher, PageKey};

use crate::jobber::Jobber;
use crate::messaging::{EventBridgePublisher, SnsSms, SqsReadBacks};
use crate::tremendous::Tremendous;
use crate::{Config, DynamoStore, RequestCounter};

/// The application, its adapters and the request counters of each AWS client.
pub struct Application {
    pub vouch: Vouch,
    pub store: DynamoStore,
    pub events: EventBridgePublisher,
    pub dynamodb_requests: RequestCounter,
    pub sns_requests: RequestCounter,
    pub eventbridge_requests: RequestCounter,
    pub sqs_requests: RequestCounter,
    /// The Jobber read-back queue, when configured.
    pub read_backs: Option<SqsReadBacks>,
}

/// Builds everything without touching the network.
pub async fn application(config: &Config) -> Application {
    let sdk = config.sdk_config().await;
    let (dynamodb_requests, sns_requests, eventbridge_requests, sqs_requests) = Default::default();
    let store = DynamoStore::new(
        DynamoStore::client(&sdk, &dynamodb_requests),
        config.table.clone(),
    );
    let sms = SnsSms::new(
        &sdk,
        &sns_requests,
        config.sms_origination_number.clone(),
        config.sms_sender_id.clone(),
    );
    let events = EventBridgePublisher::new(&sdk, &eventbridge_requests, config.event_bus.clone());
    let mut ports = Ports::new(
        Arc::new(store.clone()),
        Arc::new(sms),
        Arc::new(events.clone()),
        Arc::new(SystemClock),
    );
    ports.gift_cards = Arc::new(Tremendous::new(&config.tremendous_api_url));
    ports.jobber = Arc::new(Jobber::new(&config.jobber_api_url, &config.jobber_auth_url));
    let read_backs = config
        .jobber_queue_url
        .clone()
        .map(|url| SqsReadBacks::new(&sdk, &sqs_requests, url));
    if let Some(queue) = &read_backs {
        ports.read_backs = Arc::new(queue.clone());
    }
    let vouch = Vouch::new(
        ports,
        ServiceConfig {
            operator_key: config.operator_key.clone(),
            ip_hasher: IpHasher::new(&config.ip_hash_key),
            page_key: PageKey::derive(&config.ip_hash_key),
        },
    );
    Application {
        vouch,
        store,
        events,
        dynamodb_requests,
        sns_requests,
        eventbridge_requests,
        sqs_requests,
        read_backs,
    }
}
